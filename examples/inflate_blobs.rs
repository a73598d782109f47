//! Benchmark helper for scripts/bench-layers.sh: inflate gzip blobs into a sink with the same
//! decompressor imgopt uses (flate2 with the zlib-rs backend), one thread per blob, at most as
//! many at once as `imgopt layers` reads by default. This is the floor a full analysis of a
//! gzip OCI layout is compared with.
//!
//! ```text
//! cargo run --release --example inflate_blobs -- BLOB...
//! ```
#![allow(clippy::print_stdout)]

use std::io::{self, BufReader, Read};

fn inflate(path: &str) -> io::Result<u64> {
    let f = std::fs::File::open(path)?;
    let mut d = flate2::bufread::MultiGzDecoder::new(BufReader::with_capacity(256 * 1024, f));
    let mut buf = vec![0u8; 256 * 1024];
    let mut n = 0u64;
    loop {
        let k = d.read(&mut buf)?;
        if k == 0 {
            return Ok(n);
        }
        n += k as u64;
    }
}

fn main() -> io::Result<()> {
    let blobs: Vec<String> = std::env::args().skip(1).collect();
    let jobs = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
    let mut total = 0;
    for chunk in blobs.chunks(jobs) {
        let handles: Vec<_> = chunk
            .iter()
            .cloned()
            .map(|b| std::thread::spawn(move || inflate(&b)))
            .collect();
        for h in handles {
            total += h.join().map_err(|_| io::Error::other("inflate thread panicked"))??;
        }
    }
    println!("{total}");
    Ok(())
}

//! Reads every layer of an image through `imgopt::source` (decompressed, digests and diff_ids
//! verified) into a sink, and prints per-layer sizes and the time taken.
//!
//! ```text
//! cargo run --release --example read_blobs -- oci:path/to/layout [--no-verify] [--platform linux/arm64]
//! ```
#![allow(clippy::print_stdout)]

use std::time::Instant;

use imgopt::source::ImageSource;
use imgopt::source::blob::{LayerReadOptions, open_layer};
use imgopt::source::spec::{SourceOptions, SourceSpec, open};

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let image = args
        .next()
        .ok_or_else(|| anyhow::anyhow!("usage: read_blobs IMAGE [--no-verify] [--platform P]"))?;
    let mut opts = SourceOptions::default();
    while let Some(a) = args.next() {
        match a.as_str() {
            "--no-verify" => opts.verify = false,
            "--platform" => opts.platform = Some(args.next().unwrap_or_default().parse()?),
            other => anyhow::bail!("unknown flag {other}"),
        }
    }
    let rt = tokio::runtime::Runtime::new()?;
    let started = Instant::now();
    let src = open(&SourceSpec::parse(&image)?, &opts)?;
    let manifest = rt.block_on(src.manifest())?;
    let config = rt.block_on(src.config(&manifest))?;
    println!(
        "{} manifest {} ({} layers)",
        src.describe(),
        manifest.digest,
        manifest.layers.len()
    );
    let lro = LayerReadOptions {
        verify: opts.verify,
        ..LayerReadOptions::default()
    };
    for (i, desc) in manifest.layers.iter().enumerate() {
        let t = Instant::now();
        let blob = rt.block_on(src.blob(desc))?;
        let mut layer = open_layer(blob, desc, config.diff_ids.get(i), &lro, rt.handle())?;
        std::io::copy(&mut layer, &mut std::io::sink())?;
        let s = layer.finish()?;
        println!(
            "layer {i}: {} {} -> {} bytes, verified {}, {:.2}s",
            s.compression,
            s.compressed_bytes,
            s.tar_bytes,
            s.verified,
            t.elapsed().as_secs_f64()
        );
    }
    println!("total {:.2}s", started.elapsed().as_secs_f64());
    Ok(())
}

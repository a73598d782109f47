//! A layer of a million tiny files: the analysis must stay well under 1 GiB of memory (issue 4,
//! "Bad input and faults"). Runs in its own test binary so the process's peak RSS is its own.
//! The tar stream is generated on the fly and never held in memory.
#![allow(clippy::unwrap_used, clippy::print_stderr)]

use std::io::Read;

use imgopt::digest::Digest;
use imgopt::layers::{scan::scan, Analysis, AnalysisOptions, ImageMeta, LayerMeta, ScanOptions};

/// `n` one-byte files in 1000 directories, as a tar stream produced while it is read.
struct ManyFiles {
    n: u64,
    i: u64,
    buf: Vec<u8>,
    pos: usize,
}

impl Read for ManyFiles {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if self.pos == self.buf.len() {
            self.buf.clear();
            self.pos = 0;
            if self.i < self.n {
                let mut h = tar::Header::new_gnu();
                h.set_path(format!("srv/data/d{:04}/file-{:07}.txt", self.i % 1000, self.i)).unwrap();
                h.set_size(1);
                h.set_mode(0o644);
                h.set_entry_type(tar::EntryType::Regular);
                h.set_cksum();
                self.buf.extend_from_slice(h.as_bytes());
                let mut data = [0u8; 512];
                data[0] = b'x';
                self.buf.extend_from_slice(&data);
                self.i += 1;
            } else if self.i == self.n {
                self.buf.extend_from_slice(&[0u8; 1024]);
                self.i += 1;
            } else {
                return Ok(0);
            }
        }
        let k = out.len().min(self.buf.len() - self.pos);
        out[..k].copy_from_slice(&self.buf[self.pos..self.pos + k]);
        self.pos += k;
        Ok(k)
    }
}

/// Peak resident set size of this process, from /proc (Linux), in bytes.
fn peak_rss() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

#[test]
fn a_million_files_stay_well_under_a_gibibyte() {
    const N: u64 = 1_000_000;
    let s = scan(&mut ManyFiles { n: N, i: 0, buf: Vec::new(), pos: 0 }, &ScanOptions::default()).unwrap();
    assert_eq!(s.entries.len() as u64, N);
    let mut a = Analysis::new(AnalysisOptions { top: 10, dedupe: true });
    let d = Digest::sha256_of(b"million");
    let meta = LayerMeta {
        digest: d.clone(),
        diff_id: Some(d),
        media_type: "application/vnd.oci.image.layer.v1.tar".into(),
        compression: "tar".into(),
        compressed_bytes: N * 1024 + 1024,
        tar_bytes: N * 1024 + 1024,
        verified: true,
    };
    a.push(meta, s);
    let r = a.finish(ImageMeta::default());
    assert_eq!(r.totals.final_files, N);
    assert_eq!(r.totals.content_bytes.0, N);
    // Every file holds "x": all but one are duplicates.
    assert_eq!(r.waste_by_kind.duplicate_content.unwrap().0, N - 1);
    let peak = peak_rss().expect("/proc/self/status");
    eprintln!("peak RSS for {N} files: {} MiB", peak / (1024 * 1024));
    assert!(peak < 1024 * 1024 * 1024, "peak RSS {peak} bytes");
}

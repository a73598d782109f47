//! A layer of a million tiny files: the analysis must stay well under 1 GiB of memory (issue 4,
//! "Bad input and faults"). Runs in its own test binary so the process's peak RSS is its own.
//! The tar stream is generated on the fly and never held in memory.
#![allow(clippy::unwrap_used, clippy::print_stderr)]

use crate::support;

use support::many_files::ManyFiles;

use imgopt::digest::Digest;
use imgopt::layers::{Analysis, AnalysisOptions, ImageMeta, LayerMeta, ScanOptions, scan::scan};

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
    let s = scan(
        // 1,000 files in each of 1,000 directories.
        &mut ManyFiles::new(N, |i| format!("srv/data/d{:04}/file-{:07}.txt", i % 1000, i)),
        &ScanOptions::default(),
    )
    .unwrap();
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

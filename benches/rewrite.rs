//! `imgopt rewrite` (parse + stage model + rewrite, `--to auto`, no build context) over the
//! Dockerfile corpus, beside the parse alone as the baseline, and on the largest corpus files
//! one at a time (the per-file bound). Run with `cargo bench --bench rewrite`; the corpus path
//! comes from `IMGOPT_CORPUS` (default `../shared/corpus/dockerfiles`).

#![allow(clippy::print_stderr)]

use std::path::PathBuf;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use imgopt::rewrite::{Options, rewrite_str};

fn corpus() -> Vec<(String, String)> {
    let root = std::env::var_os("IMGOPT_CORPUS").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/dockerfiles"),
        PathBuf::from,
    );
    let mut out = Vec::new();
    let mut stack = vec![root.clone()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.file_name().is_some_and(|n| n == "Dockerfile")
                && let Ok(b) = std::fs::read(&p)
            {
                let name = p.strip_prefix(&root).unwrap_or(&p).display().to_string();
                out.push((name, imgopt::analyze::text_same_offsets(&b)));
            }
        }
    }
    out.sort();
    out
}

fn bench(c: &mut Criterion) {
    let files = corpus();
    if files.is_empty() {
        eprintln!("*** SKIPPED: no corpus (set IMGOPT_CORPUS) ***");
        return;
    }
    let opts = Options::default();
    let mut g = c.benchmark_group("rewrite");
    g.measurement_time(Duration::from_secs(5));
    g.throughput(Throughput::Elements(files.len() as u64));
    g.bench_function(format!("parse_corpus_{}_files", files.len()), |b| {
        b.iter(|| {
            files
                .iter()
                .filter(|(_, s)| imgopt::dockerfile::parse_str(s).is_ok())
                .count()
        });
    });
    g.bench_function(format!("rewrite_corpus_{}_files", files.len()), |b| {
        b.iter(|| {
            files
                .iter()
                .filter_map(|(n, s)| rewrite_str(n, s, &opts).ok())
                .filter(|r| !r.unchanged)
                .count()
        });
    });
    g.finish();
    // The per-file bound: the three largest files, one at a time.
    let mut largest: Vec<&(String, String)> = files.iter().collect();
    largest.sort_by_key(|(_, s)| std::cmp::Reverse(s.len()));
    let mut g = c.benchmark_group("rewrite_one");
    g.measurement_time(Duration::from_secs(3));
    for (name, src) in largest.into_iter().take(3) {
        g.bench_function(format!("{name} ({} bytes)", src.len()), |b| {
            b.iter(|| rewrite_str(name, src, &opts).map_or(0, |r| r.dockerfile.len()));
        });
    }
    let go = include_str!("../examples/rewrite/go-single-stage/Dockerfile");
    g.bench_function("examples/rewrite/go-single-stage", |b| {
        b.iter(|| rewrite_str("Dockerfile", go, &opts).map_or(0, |r| r.dockerfile.len()));
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

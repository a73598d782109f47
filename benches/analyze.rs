//! `imgopt analyze` over the whole Dockerfile corpus (parse + stage model + every rule), no
//! build context. Run with `cargo bench --bench analyze`; the corpus path comes from
//! `IMGOPT_CORPUS` (default `../shared/corpus/dockerfiles`).

#![allow(clippy::print_stderr)]

use std::path::{Path, PathBuf};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use imgopt::analyze::{Input, Options, analyze};

fn corpus() -> Vec<(String, Vec<u8>)> {
    let root = std::env::var_os("IMGOPT_CORPUS").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/dockerfiles"),
        PathBuf::from,
    );
    let mut out = Vec::new();
    let mut stack = vec![root];
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
                out.push((p.display().to_string(), b));
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
    let opts = Options {
        no_context: true,
        ..Options::default()
    };
    let mut g = c.benchmark_group("analyze");
    g.throughput(Throughput::Elements(files.len() as u64));
    g.bench_function(format!("corpus_{}_files", files.len()), |b| {
        b.iter(|| {
            let mut findings = 0;
            for (name, bytes) in &files {
                // Files BuildKit rejects are part of the corpus; they error quickly.
                if let Ok((r, _)) = analyze(
                    &[Input {
                        name: name.clone(),
                        bytes: bytes.clone(),
                        path: Some(Path::new(name).to_path_buf()),
                    }],
                    &opts,
                ) {
                    findings += r.findings.len();
                }
            }
            findings
        });
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

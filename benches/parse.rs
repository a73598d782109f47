//! Parser speed: imgopt's parser against the `parse-dockerfile` crate over every corpus
//! Dockerfile both accept (`IMGOPT_CORPUS`, default `../shared/corpus/dockerfiles`).
//!
//! Run with `cargo bench --bench parse`. Besides criterion's statistics it prints one line
//! with the ratio of the two medians (imgopt time / parse-dockerfile time; below 1 means
//! imgopt is faster).
#![allow(clippy::print_stderr)]

use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

fn corpus() -> Vec<String> {
    let root = std::env::var_os("IMGOPT_CORPUS").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/dockerfiles"),
        PathBuf::from,
    );
    let mut files = Vec::new();
    let mut todo = vec![root.clone()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                todo.push(p);
            } else if p.file_name().is_some_and(|n| n == "Dockerfile") {
                files.push(p);
            }
        }
    }
    files.sort();
    let texts: Vec<String> = files
        .iter()
        .filter_map(|p| std::fs::read(p).ok())
        .filter_map(|b| String::from_utf8(b).ok())
        .filter(|t| imgopt::dockerfile::parse(t.as_bytes()).is_ok() && parse_dockerfile::parse(t).is_ok())
        .collect();
    assert!(!texts.is_empty(), "no corpus files under {} (set IMGOPT_CORPUS)", root.display());
    eprintln!("{} of {} corpus files accepted by both parsers", texts.len(), files.len());
    texts
}

fn imgopt_all(texts: &[String]) -> usize {
    texts.iter().map(|t| imgopt::dockerfile::parse(black_box(t.as_bytes())).map_or(0, |d| d.instructions.len())).sum()
}

fn other_all(texts: &[String]) -> usize {
    texts.iter().map(|t| parse_dockerfile::parse(black_box(t)).map_or(0, |d| d.instructions.len())).sum()
}

fn median_time(f: impl Fn() -> usize, rounds: usize) -> Duration {
    let mut times: Vec<Duration> = (0..rounds)
        .map(|_| {
            let s = Instant::now();
            black_box(f());
            s.elapsed()
        })
        .collect();
    times.sort();
    times[rounds / 2]
}

/// The pathological shapes of `tests/parser_props.rs` (`pathological_inputs_finish`): inputs
/// that make naive parsers quadratic or overflow the stack. Their cost per byte should stay
/// in the same range as the corpus's (criterion reports the throughput of each).
fn pathological() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("continuations-200k", [b"FROM a\nRUN ".as_slice(), &b"\\\n".repeat(200_000), b"x\n"].concat()),
        ("json-brackets-100k", [b"FROM a\nCMD ".as_slice(), &b"[".repeat(100_000)].concat()),
        ("onbuild-5k", [b"FROM a\n".as_slice(), &b"ONBUILD ".repeat(5_000), b"RUN x\n"].concat()),
        ("heredoc-substitutions-20k", [b"FROM a\nRUN <<EOF ".as_slice(), &b"${a:-".repeat(20_000), b"\nEOF\n"].concat()),
        (
            "heredocs-10k",
            [b"FROM a\nRUN ".as_slice(), &b"<<EOF ".repeat(10_000), b"\n", &b"EOF\n".repeat(10_000)].concat(),
        ),
        ("env-pairs-100k", [b"FROM a\nENV ".as_slice(), &b"a=b \\\n".repeat(100_000), b"\n"].concat()),
        ("long-line-70k", [b"FROM a\nRUN x".as_slice(), &b"y".repeat(70_000), b"\n"].concat()),
        ("nul-100k", vec![0u8; 100_000]),
        ("invalid-utf8-lines-10k", b"\xff\xfe\xfd\n".repeat(10_000)),
    ]
}

fn bench_pathological(c: &mut Criterion) {
    let mut g = c.benchmark_group("pathological");
    g.sample_size(20);
    for (name, input) in pathological() {
        g.throughput(Throughput::Bytes(input.len() as u64));
        g.bench_function(name, |b| b.iter(|| imgopt::dockerfile::parse(black_box(&input)).map_or(0, |d| d.instructions.len())));
    }
    // The stage graph of a file with 20 000 stages that copy from an earlier named one
    // (name lookups and `stage_of` were once linear scans, so this was quadratic).
    let many = b"FROM a AS b\nCOPY --from=b x y\n".repeat(20_000);
    let df = imgopt::dockerfile::parse(&many).expect("valid Dockerfile");
    g.throughput(Throughput::Bytes(many.len() as u64));
    g.bench_function("stages-20k", |b| {
        b.iter(|| {
            let s = imgopt::dockerfile::Stages::build(black_box(&df), &imgopt::dockerfile::StageOptions::default());
            s.map_or(0, |s| (0..df.instructions.len()).filter_map(|i| s.stage_of(i)).count())
        });
    });
    g.finish();
}

fn bench(c: &mut Criterion) {
    let texts = corpus();
    let bytes: usize = texts.iter().map(String::len).sum();
    let mut g = c.benchmark_group("corpus");
    g.throughput(Throughput::Bytes(bytes as u64));
    g.bench_function("imgopt", |b| b.iter(|| imgopt_all(&texts)));
    g.bench_function("parse-dockerfile", |b| b.iter(|| other_all(&texts)));
    g.finish();
    let ours = median_time(|| imgopt_all(&texts), 201);
    let theirs = median_time(|| other_all(&texts), 201);
    eprintln!(
        "ratio imgopt/parse-dockerfile = {:.2} (medians {:?} vs {:?} for {} files, {} bytes)",
        ours.as_secs_f64() / theirs.as_secs_f64(),
        ours,
        theirs,
        texts.len(),
        bytes
    );
}

criterion_group!(benches, bench, bench_pathological);
criterion_main!(benches);

//! Parser speed: imgopt's parser against the `parse-dockerfile` crate over every corpus
//! Dockerfile both accept (`IMGOPT_CORPUS`, default `../shared/corpus/dockerfiles`).
//!
//! Run with `cargo bench --bench parse`. Besides criterion's statistics it prints one line
//! with the ratio of imgopt's time to parse-dockerfile's (the median over 401 rounds that run
//! the two alternately; below 1 means imgopt is faster), and a second ratio for files parsed
//! many times in a row (warm).
#![allow(clippy::print_stderr)]

use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

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
    assert!(
        !texts.is_empty(),
        "no corpus files under {} (set IMGOPT_CORPUS)",
        root.display()
    );
    eprintln!(
        "{} of {} corpus files accepted by both parsers",
        texts.len(),
        files.len()
    );
    texts
}

fn imgopt_one(t: &str) -> usize {
    // `parse_str`, as `parse_dockerfile::parse` also takes text already known to be UTF-8.
    imgopt::dockerfile::parse_str(black_box(t)).map_or(0, |d| d.instructions.len())
}

fn other_one(t: &str) -> usize {
    parse_dockerfile::parse(black_box(t)).map_or(0, |d| d.instructions.len())
}

fn imgopt_all(texts: &[String]) -> usize {
    texts.iter().map(|t| imgopt_one(t)).sum()
}

fn other_all(texts: &[String]) -> usize {
    texts.iter().map(|t| other_one(t)).sum()
}

/// The time of one run of `f`, averaged over `reps` runs in a row.
fn time_of(f: &dyn Fn() -> usize, reps: u32) -> Duration {
    let s = Instant::now();
    for _ in 0..reps {
        black_box(f());
    }
    s.elapsed() / reps
}

/// The ratio of `ours` to `theirs`, robust to a noisy machine: the two run alternately, one
/// pass each per round, so that load changes hit both alike; the result is the median of the
/// per-round ratios, with the medians of the two times.
fn paired_ratio(ours: impl Fn() -> usize, theirs: impl Fn() -> usize, rounds: usize) -> (f64, Duration, Duration) {
    let time = |f: &dyn Fn() -> usize| time_of(f, 1);
    let mut ratios = Vec::with_capacity(rounds);
    let (mut a, mut b) = (Vec::with_capacity(rounds), Vec::with_capacity(rounds));
    for round in 0..rounds {
        // Alternate which goes first, so neither always runs on a warmer cache.
        let (x, y) = if round % 2 == 0 {
            let x = time(&ours);
            (x, time(&theirs))
        } else {
            let y = time(&theirs);
            (time(&ours), y)
        };
        ratios.push(x.as_secs_f64() / y.as_secs_f64());
        a.push(x);
        b.push(y);
    }
    ratios.sort_by(f64::total_cmp);
    a.sort();
    b.sort();
    (ratios[rounds / 2], a[rounds / 2], b[rounds / 2])
}

/// The pathological shapes of `tests/corpus/parser_props.rs` (`pathological_inputs_finish`): inputs
/// that make naive parsers quadratic or overflow the stack. Their cost per byte should stay
/// in the same range as the corpus's (criterion reports the throughput of each).
fn pathological() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        (
            "continuations-200k",
            [b"FROM a\nRUN ".as_slice(), &b"\\\n".repeat(200_000), b"x\n"].concat(),
        ),
        (
            "json-brackets-100k",
            [b"FROM a\nCMD ".as_slice(), &b"[".repeat(100_000)].concat(),
        ),
        (
            "onbuild-5k",
            [b"FROM a\n".as_slice(), &b"ONBUILD ".repeat(5_000), b"RUN x\n"].concat(),
        ),
        (
            "heredoc-substitutions-20k",
            [b"FROM a\nRUN <<EOF ".as_slice(), &b"${a:-".repeat(20_000), b"\nEOF\n"].concat(),
        ),
        (
            "heredocs-10k",
            [
                b"FROM a\nRUN ".as_slice(),
                &b"<<EOF ".repeat(10_000),
                b"\n",
                &b"EOF\n".repeat(10_000),
            ]
            .concat(),
        ),
        (
            "env-pairs-100k",
            [b"FROM a\nENV ".as_slice(), &b"a=b \\\n".repeat(100_000), b"\n"].concat(),
        ),
        (
            "long-line-70k",
            [b"FROM a\nRUN x".as_slice(), &b"y".repeat(70_000), b"\n"].concat(),
        ),
        ("nul-100k", vec![0u8; 100_000]),
        ("invalid-utf8-lines-10k", b"\xff\xfe\xfd\n".repeat(10_000)),
    ]
}

fn bench_pathological(c: &mut Criterion) {
    let mut g = c.benchmark_group("pathological");
    g.sample_size(20);
    for (name, input) in pathological() {
        g.throughput(Throughput::Bytes(input.len() as u64));
        g.bench_function(name, |b| {
            b.iter(|| imgopt::dockerfile::parse(black_box(&input)).map_or(0, |d| d.instructions.len()));
        });
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
    let (ratio, ours, theirs) = paired_ratio(|| imgopt_all(&texts), || other_all(&texts), 401);
    eprintln!(
        "ratio imgopt/parse-dockerfile = {ratio:.2} (median of 401 paired rounds; medians {ours:?} vs {theirs:?} for {} files, {} bytes)",
        texts.len(),
        bytes
    );
    let (warm, ours, theirs) = warm_per_file(&texts);
    eprintln!(
        "warm ratio imgopt/parse-dockerfile = {warm:.2} (each file parsed 200 times in a row, fastest of 5 tries per file, summed: {ours:?} vs {theirs:?})"
    );
}

/// The ratio when each file is parsed many times in a row (a language server re-parsing the
/// file being edited), where the processor has learnt the file's branches: the sum over files
/// of each parser's fastest per-parse time. Compare with the corpus pass, where every file is
/// new to the branch predictor.
fn warm_per_file(texts: &[String]) -> (f64, Duration, Duration) {
    const REPS: u32 = 200;
    let (mut ours, mut theirs) = (Duration::ZERO, Duration::ZERO);
    for t in texts {
        let (mut a, mut b) = (Duration::MAX, Duration::MAX);
        for _ in 0..5 {
            a = a.min(time_of(&|| imgopt_one(t), REPS));
            b = b.min(time_of(&|| other_one(t), REPS));
        }
        ours += a;
        theirs += b;
    }
    (ours.as_secs_f64() / theirs.as_secs_f64(), ours, theirs)
}

criterion_group!(benches, bench, bench_pathological);
criterion_main!(benches);

//! `imgopt analyze` over the whole Dockerfile corpus (parse + stage model + every rule), no
//! build context. Run with `cargo bench --bench analyze`; the corpus path comes from
//! `IMGOPT_CORPUS` (default `../shared/corpus/dockerfiles`).
//!
//! The `analyze_scaling` group analyses generated files of each shape that used to be
//! superlinear at size n and 2n (`RUN`s in one stage, chained `FROM` stages, independent
//! stages copying from each other, `COPY` and `RUN rm`/`chown -R` pairs): linear analysis
//! shows as a 2n/n time ratio near 2. `big_10mb` is a 10 MB file of realistic multi-stage
//! blocks (the whole analysis should stay under 2 s).

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

/// A generated Dockerfile of shape `shape` with `n` repetitions.
fn generated(shape: &str, n: usize) -> String {
    let mut s = String::new();
    match shape {
        "runs" => {
            s.push_str("FROM debian:12\n");
            for i in 0..n {
                s.push_str(&format!("RUN echo {i} && rm -rf /tmp/x{i}\n"));
            }
        }
        "chained_stages" => {
            s.push_str("FROM debian:12 AS s0\nRUN apt-get update && apt-get install -y gcc\n");
            for i in 0..n {
                s.push_str(&format!(
                    "FROM s{i} AS s{}\nRUN echo {i}\nWORKDIR w{i}\nENV A{i}=1\n",
                    i + 1
                ));
            }
        }
        "stages" => {
            for i in 0..n {
                s.push_str(&format!(
                    "FROM alpine:3 AS s{i}\nRUN apk add gcc && go build -o /x .\nCOPY --from=s{} /x /y\n",
                    i.saturating_sub(1)
                ));
            }
        }
        "copy_rm" => {
            s.push_str("FROM debian:12\n");
            for i in 0..n {
                s.push_str(&format!(
                    "COPY f{i} /app/f{i}\nRUN rm -rf /app/f{i}/x /app/g{i} && chown -R app /app/h{i}\n"
                ));
            }
        }
        _ => {
            let mut i = 0;
            while s.len() < n {
                s.push_str(&format!(
                    "FROM golang:1.22 AS build{i}\nWORKDIR /src\nCOPY go.mod go.sum ./\nRUN go mod download\n\
                     COPY . .\nRUN CGO_ENABLED=0 go build -o /out/app{i} ./cmd/app\nFROM debian:12 AS run{i}\n\
                     RUN apt-get update && apt-get install -y curl ca-certificates && rm -rf /tmp/x\n\
                     COPY --from=build{i} /out/app{i} /usr/local/bin/app\n\
                     RUN chown -R nobody /usr/local/bin && rm -f /usr/local/bin/app.bak\n\
                     ENV PATH=/usr/local/bin:$PATH\nUSER nobody\nCMD [\"app\"]\n"
                ));
                i += 1;
            }
        }
    }
    s.push_str("CMD [\"x\"]\n");
    s
}

fn scaling(c: &mut Criterion) {
    let opts = Options {
        no_context: true,
        ..Options::default()
    };
    let mut g = c.benchmark_group("analyze_scaling");
    g.sample_size(10);
    let cases = [
        ("runs", 10_000),
        ("runs", 20_000),
        ("chained_stages", 2_500),
        ("chained_stages", 5_000),
        ("stages", 5_000),
        ("stages", 10_000),
        ("copy_rm", 5_000),
        ("copy_rm", 10_000),
        ("big_10mb", 10_000_000),
    ];
    for (shape, n) in cases {
        let text = generated(shape, n).into_bytes();
        g.bench_function(format!("{shape}_{n}"), |b| {
            b.iter(|| {
                let input = Input {
                    name: shape.to_string(),
                    bytes: text.clone(),
                    path: None,
                };
                analyze(&[input], &opts).map_or(0, |(r, _)| r.findings.len())
            });
        });
    }
    g.finish();
}

criterion_group!(benches, bench, scaling);
criterion_main!(benches);

//! `imgopt rewrite` over the shared corpus and generated Dockerfiles: it never panics, every
//! output parses as BuildKit parses it, and the rewrite of a rewrite is unchanged.

#![allow(clippy::print_stderr)]

use crate::support;

use std::path::{Path, PathBuf};

use imgopt::rewrite::{self, Options, Target};
use proptest::prelude::*;

const TARGETS: [Target; 6] = [
    Target::Auto,
    Target::MultiStage,
    Target::Slim,
    Target::Alpine,
    Target::Distroless,
    Target::Scratch,
];

fn dockerfiles(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![root.to_path_buf()];
    while let Some(dir) = todo.pop() {
        let Ok(rd) = std::fs::read_dir(&dir) else { continue };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                todo.push(p);
            } else if p.file_name().is_some_and(|n| n == "Dockerfile") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Rewrites `src` for `target`; checks the output parses and that rewriting it again changes
/// nothing. Returns whether the first rewrite changed the file, or a problem.
fn check(name: &str, src: &str, target: Target, context: Option<PathBuf>) -> Result<bool, String> {
    let opts = Options { target, context };
    let Ok(first) = rewrite::rewrite_str(name, src, &opts) else {
        return Ok(false); // BuildKit rejects the input; nothing to rewrite.
    };
    if first.unchanged {
        if first.dockerfile != src || first.estimate.is_some() || !first.changes.is_empty() {
            return Err(format!("{name} --to {}: unchanged but not the input", target.as_str()));
        }
        if first.notes.is_empty() {
            return Err(format!("{name} --to {}: unchanged without a note", target.as_str()));
        }
        return Ok(false);
    }
    if first.estimate.is_none() || first.changes.is_empty() || first.runtime_base.is_none() {
        return Err(format!(
            "{name} --to {}: a rewrite without estimate or changes",
            target.as_str()
        ));
    }
    let second = rewrite::rewrite_str(name, &first.dockerfile, &opts).map_err(|e| {
        format!(
            "{name} --to {}: the rewrite does not parse: {e}\n{}",
            target.as_str(),
            first.dockerfile
        )
    })?;
    if !second.unchanged || second.dockerfile != first.dockerfile {
        return Err(format!(
            "{name} --to {}: not idempotent\n--- first\n{}\n--- second\n{}",
            target.as_str(),
            first.dockerfile,
            second.dockerfile
        ));
    }
    Ok(true)
}

#[test]
fn every_corpus_file_rewrites_to_a_parseable_idempotent_file() {
    let Some(root) = support::corpus_dir() else { return };
    let files = dockerfiles(&root);
    assert!(files.len() > 100, "the corpus looks empty: {} files", files.len());
    let mut problems = Vec::new();
    let mut rewritten = 0;
    for path in &files {
        let bytes = std::fs::read(path).expect("readable");
        let src = imgopt::analyze::text_same_offsets(&bytes);
        let name = path.strip_prefix(&root).unwrap_or(path).display().to_string();
        for target in TARGETS {
            match check(&name, &src, target, path.parent().map(Path::to_path_buf)) {
                Ok(true) => rewritten += 1,
                Ok(false) => {}
                Err(p) => problems.push(p),
            }
        }
    }
    eprintln!(
        "rewrite corpus: {} files x {} targets, {rewritten} rewrites",
        files.len(),
        TARGETS.len()
    );
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n\n")
    );
    assert!(rewritten > 0, "no corpus file was rewritten");
}

/// Parts a generated single-stage Dockerfile is made of.
fn generated() -> impl Strategy<Value = String> {
    let base = prop::sample::select(vec![
        "debian:bookworm",
        "ubuntu:24.04",
        "golang:1.22",
        "golang:1.22-alpine",
        "rust:1",
        "node:22",
        "node:20-alpine",
        "python:3.12",
        "python:3.11-alpine",
        "maven:3.9-eclipse-temurin-21",
        "mcr.microsoft.com/dotnet/sdk:8.0",
        "alpine:3.20",
    ]);
    let install = prop::sample::select(vec![
        "",
        "RUN apt-get update && apt-get install -y golang-go ca-certificates\n",
        "RUN apt-get update && apt-get install -y build-essential libpq-dev libfoo-dev tzdata\n",
        "RUN apk add --no-cache build-base openssl-dev curl\n",
        "RUN apt-get update && apt-get install -y ffmpeg\n",
    ]);
    let workdir = prop::sample::select(vec![
        "",
        "WORKDIR /app\n",
        "WORKDIR /src\nWORKDIR app\n",
        "WORKDIR $HOME\n",
    ]);
    let build = prop::sample::select(vec![
        "RUN go build -o /app/server .\n",
        "RUN CGO_ENABLED=0 go build -o server ./cmd/server\n",
        "RUN go install ./...\n",
        "RUN cargo build --release\n",
        "RUN cargo build --release --target x86_64-unknown-linux-musl\n",
        "RUN make && gcc -o hello hello.c\n",
        "RUN g++ -O2 -o hello hello.cpp\n",
        "RUN npm ci\nRUN npm run build\n",
        "RUN yarn install --frozen-lockfile\n",
        "RUN pip install --no-cache-dir -r requirements.txt\n",
        "RUN poetry install\n",
        "RUN mvn -B package\n",
        "RUN ./gradlew build\n",
        "RUN dotnet publish -c Release -o /app/publish\n",
        "RUN echo nothing to build\n",
    ]);
    let extra = prop::sample::select(vec![
        "",
        "ENV PORT=8080\n",
        "ARG VERSION=1\nENV VERSION=$VERSION\n",
        "EXPOSE 8080\nLABEL org.opencontainers.image.title=x\n",
        "HEALTHCHECK CMD curl -f http://localhost:8080/ || exit 1\n",
        "USER 1000\n",
        "RUN useradd -r app\nUSER app\n",
        "USER node\n",
    ]);
    let start = prop::sample::select(vec![
        "",
        "CMD [\"/app/server\"]\n",
        "CMD [\"server\"]\n",
        "CMD ./server --port $PORT\n",
        "ENTRYPOINT [\"./entrypoint.sh\"]\nCMD [\"serve\"]\n",
        "CMD [\"node\", \"dist/index.js\"]\n",
        "CMD [\"python\", \"app.py\"]\n",
        "CMD [\"java\", \"-jar\", \"target/app.jar\"]\n",
        "ENTRYPOINT [\"dotnet\", \"App.dll\"]\n",
        "CMD [\"hello\"]\n",
    ]);
    let name = prop::sample::select(vec!["", " AS app"]);
    (base, name, install, workdir, build, extra, start)
        .prop_map(|(b, n, i, w, bu, x, s)| format!("# generated\nFROM {b}{n}\n{i}{w}COPY . .\n{bu}{x}{s}"))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    #[test]
    fn rewrite_of_a_rewrite_is_unchanged(src in generated(), t in 0usize..TARGETS.len()) {
        let r = check("generated", &src, TARGETS[t], None);
        prop_assert!(r.is_ok(), "{}\n--- input\n{src}", r.err().unwrap_or_default());
    }
}

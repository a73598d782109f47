#!/usr/bin/env bash
# scripts/bench-parse-ab.sh - is a change to the parser faster? imgopt's parser as in the
# working tree (B) against the same parser at a git revision (A, default HEAD), both in one
# process, with parse-dockerfile beside them as a fixed reference.
#
# Why: a change worth keeping is often 1-3 %, while two separate benchmark runs on this kind
# of shared machine differ by more than that, and so do two builds of the same code (code
# layout). Here the two versions are two crates in one binary, run alternately over the
# corpus (the order rotates every round), and the figure is the median of the per-round
# ratios B/A; the binary is linked LAYOUTS times (default 6) with its functions in a
# different random order (lld's --shuffle-sections) and the mean over layouts is reported
# with its standard error. Repeated runs agree to about 0.5 %.
#
# The parser is src/dockerfile/{ast,goish,heredoc,json_args,parse}.rs; each version's files
# are copied into a crate of its own in a scratch workspace (with a stand-in for mod.rs), so
# a change to that list or to mod.rs's `Error` needs this script changed too.
#
# Needs: the rust toolchain's own lld, the crates below (from the registry or its cache) and
# the corpus (IMGOPT_CORPUS, default ../shared/corpus/dockerfiles). Env: LAYOUTS, ROUNDS.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BASE=${1:-HEAD}
LAYOUTS=${LAYOUTS:-6}
ROUNDS=${ROUNDS:-301}
CORPUS=${IMGOPT_CORPUS:-$ROOT/../shared/corpus/dockerfiles}
FILES="ast goish heredoc json_args parse"

# shellcheck source=scripts/shuffled-links.sh
. "$ROOT/scripts/shuffled-links.sh"
[ -d "$CORPUS" ] || { echo "no corpus at $CORPUS (set IMGOPT_CORPUS)" >&2; exit 2; }
git -C "$ROOT" rev-parse --verify --quiet "$BASE^{commit}" >/dev/null || { echo "no revision $BASE" >&2; exit 2; }

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

mkdir -p "$TMP/pa/src/dockerfile" "$TMP/pb/src/dockerfile" "$TMP/bench/src"
for f in $FILES; do
    git -C "$ROOT" show "$BASE:src/dockerfile/$f.rs" >"$TMP/pa/src/dockerfile/$f.rs"
    cp "$ROOT/src/dockerfile/$f.rs" "$TMP/pb/src/dockerfile/$f.rs"
done

cat >"$TMP/Cargo.toml" <<'EOF'
[workspace]
members = ["pa", "pb", "bench"]
resolver = "2"
EOF

for v in pa pb; do
    cat >"$TMP/$v/Cargo.toml" <<EOF
[package]
name = "$v"
version = "0.0.0"
edition = "2024"
publish = false

[dependencies]
memchr = "2"
smallvec = { version = "1.13", features = ["union", "const_generics"] }
thiserror = "2"
serde = { version = "1", features = ["derive"] }
EOF
    cat >"$TMP/$v/src/lib.rs" <<'EOF'
#![allow(dead_code, unused_imports)]
pub mod dockerfile {
    pub mod ast;
    mod goish;
    mod heredoc;
    mod json_args;
    mod parse;
    pub use ast::{Arg, Args, Directive, Directives, Dockerfile, Flag, Flags, Heredoc, Instruction, Keyword, ParseWarning, Span, Text};
    pub use parse::parse_str;
    /// (As in src/dockerfile/mod.rs.)
    #[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
    #[error("{line}:{column}: {message}")]
    pub struct Error {
        pub message: String,
        pub line: usize,
        pub column: usize,
        pub span: Span,
    }
}
EOF
done

cat >"$TMP/bench/Cargo.toml" <<'EOF'
[package]
name = "bench"
version = "0.0.0"
edition = "2024"
publish = false

[dependencies]
pa = { path = "../pa" }
pb = { path = "../pb" }
parse-dockerfile = "0.1.9"
EOF

cat >"$TMP/bench/src/main.rs" <<'EOF'
use std::hint::black_box;
use std::time::Instant;

/// Usage: bench FILE-LIST [ROUNDS], FILE-LIST naming one Dockerfile per line.
fn main() {
    let mut args = std::env::args().skip(1);
    let list = std::fs::read_to_string(args.next().expect("file list")).expect("readable file list");
    let rounds: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(301);
    let files: Vec<&str> = list.lines().collect();
    // The files both of imgopt's versions and parse-dockerfile accept, as in benches/parse.rs;
    // the two versions must agree on every one of them.
    let texts: Vec<String> = files
        .iter()
        .filter_map(|p| String::from_utf8(std::fs::read(p).ok()?).ok())
        .filter(|t| pa::dockerfile::parse_str(t).is_ok() && pb::dockerfile::parse_str(t).is_ok() && parse_dockerfile::parse(t).is_ok())
        .collect();
    assert!(!texts.is_empty(), "no corpus files");
    for t in &texts {
        let (a, b) = (pa::dockerfile::parse_str(t).ok(), pb::dockerfile::parse_str(t).ok());
        assert_eq!(a.map(|d| d.instructions.len()), b.map(|d| d.instructions.len()), "the versions differ on a corpus file");
    }
    let pass = |f: &dyn Fn(&str) -> usize| {
        let s = Instant::now();
        let n: usize = texts.iter().map(|t| f(black_box(t))).sum();
        black_box(n);
        s.elapsed().as_secs_f64()
    };
    let a = |t: &str| pa::dockerfile::parse_str(t).map_or(0, |d| d.instructions.len());
    let b = |t: &str| pb::dockerfile::parse_str(t).map_or(0, |d| d.instructions.len());
    let o = |t: &str| parse_dockerfile::parse(t).map_or(0, |d| d.instructions.len());
    let parsers: [&dyn Fn(&str) -> usize; 3] = [&a, &b, &o];
    let mut times = [vec![], vec![], vec![]];
    let (mut ba, mut bo) = (vec![], vec![]);
    for round in 0..rounds {
        // Every order of the three in turn, so that none always runs first or after another.
        const ORDERS: [[usize; 3]; 6] = [[0, 1, 2], [1, 2, 0], [2, 0, 1], [1, 0, 2], [0, 2, 1], [2, 1, 0]];
        let mut t = [0.0; 3];
        for k in ORDERS[round % 6] {
            t[k] = pass(parsers[k]);
        }
        for k in 0..3 {
            times[k].push(t[k]);
        }
        ba.push(t[1] / t[0]);
        bo.push(t[1] / t[2]);
    }
    let med = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let [ta, tb, to] = &mut times;
    println!(
        "B/A {:.4} B/parse-dockerfile {:.4} | medians A {:.1}us B {:.1}us parse-dockerfile {:.1}us ({} files)",
        med(&mut ba),
        med(&mut bo),
        med(ta) * 1e6,
        med(tb) * 1e6,
        med(to) * 1e6,
        texts.len()
    );
}
EOF

echo "building A ($BASE) and B (working tree)..." >&2
cd "$TMP"
cargo build --release --quiet -p bench 2>&1 | grep -E '^(error|warning: unused)' -A5 >&2 || true
cargo rustc --release --quiet -p bench -- --print link-args -C save-temps >"$TMP/link" 2>/dev/null || true
shuffled_links "$TMP/link" "$TMP/ab-" "$LAYOUTS"

# The corpus files, in byte order (as benches/parse.rs sorts them).
find "$CORPUS" -type f -name Dockerfile | LC_ALL=C sort >"$TMP/files"

for seed in $(seq 1 "$LAYOUTS"); do
    echo "layout $seed: $("$TMP/ab-$seed" "$TMP/files" "$ROUNDS")"
done | tee "$TMP/ratios"

awk '{ r = $4; n++; s += r; q += r * r }
     END { if (n > 1) { m = s / n; se = sqrt((q - n * m * m) / (n - 1) / n); printf "over %d layouts: B/A %.4f +- %.4f (below 1: the working tree is faster)\n", n, m, se } }' "$TMP/ratios"

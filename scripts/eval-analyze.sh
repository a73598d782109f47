#!/usr/bin/env bash
# scripts/eval-analyze.sh - precision and recall of `imgopt analyze` on the labelled
# evaluation set (eval/), overall and per rule, with the list of missed problems and of
# false positives.
#
# Builds imgopt (release), then runs `imgopt analyze --format json --no-context FILE` on
# each eval/files/*/Dockerfile and matches the findings to eval/labels.toml. The matching
# and the table live in one place, tests/corpus/eval.rs, which this script runs with
# IMGOPT_EVAL_BIN pointing at the release binary (without it, the test calls the library).
# The matching rule and the labelling guidelines are in eval/README.md; docs/eval.md records
# the last figures.
#
# Exit status: 0 when the figures reach the floors in eval/thresholds.toml, non-zero when
# they do not (the table is printed either way).
# Env: CARGO_TARGET_DIR (default ./target), IMGOPT_EVAL_BIN (skip the build, use this binary).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}

if [ -z "${IMGOPT_EVAL_BIN:-}" ]; then
    cargo build --release --quiet --bin imgopt
    IMGOPT_EVAL_BIN=$TARGET/release/imgopt
fi
export IMGOPT_EVAL_BIN

cargo test --quiet --test corpus eval::analyze_meets_the_evaluation_floors -- --nocapture

#!/usr/bin/env bash
# scripts/eval-analyze.sh - precision and recall of `imgopt analyze` on the labelled
# evaluation set (eval/) and, separately, on the held-out set (eval/holdout/), overall and
# per rule, with the list of missed problems and of false positives.
#
# Builds imgopt (release), then runs `imgopt analyze --format json --no-context FILE` on
# each eval/files/*/Dockerfile and matches the findings to eval/labels.toml; then the same
# for eval/holdout/files/*/Dockerfile against eval/holdout/labels.toml (its own table). The
# two sets are never pooled: eval/ is what the rules were developed against, eval/holdout/
# was labelled blind and is never tuned on. The matching
# and the table live in one place, tests/corpus/eval.rs, which this script runs with
# IMGOPT_EVAL_BIN pointing at the release binary (without it, the test calls the library).
# The matching rule and the labelling guidelines are in eval/README.md; docs/eval.md records
# the last figures.
#
# Exit status: 0 when both sets reach their floors (eval/thresholds.toml and
# eval/holdout/thresholds.toml), non-zero when either does not (both tables are printed).
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

status=0
cargo test --quiet --test corpus eval::analyze_meets_the_evaluation_floors -- --nocapture || status=$?
cargo test --quiet --test corpus eval::analyze_meets_the_holdout_floors -- --nocapture || status=$?
exit "$status"

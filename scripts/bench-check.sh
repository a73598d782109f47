#!/usr/bin/env bash
# scripts/bench-check.sh - `imgopt check` against the `imgopt layers` run it needs, on the same
# docker-archive of py-fat (issue 14, "Speed": a check adds nothing measurable, at most 1.05x).
#
# Both commands run RUNS times (default 5), interleaved (layers, check, layers, check, ...) so
# that a change in the machine's load hits both alike; the median wall times and their ratio
# are reported, with the load average before and after (2 cores: above 2 means other jobs took
# CPU time, and the figures are noisier).
# The check uses policies/strict.toml, which sets every [image] key (it fails on py-fat: exit 1
# is expected and not an error).
# Env: IMGOPT_FIXTURES (default ~/.cache/imgopt-fixtures), RUNS (default 5).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
FX=${IMGOPT_FIXTURES:-$HOME/.cache/imgopt-fixtures}
RUNS=${RUNS:-5}
ARCHIVE=$FX/archives/py-fat.tar
[ -f "$ARCHIVE" ] || { echo "$ARCHIVE missing (run ../shared/fixtures/make-images.sh)" >&2; exit 2; }

cd "$ROOT"
echo "building the release binary..." >&2
cargo build --release --quiet --bin imgopt
IMGOPT=$ROOT/target/release/imgopt
SPEC=docker-archive:$ARCHIVE

# run_once CMD...: prints the wall seconds of one run (exit 0 or 1 accepted).
run_once() {
    local start end rc=0
    start=$(date +%s.%N)
    "$@" >/dev/null 2>&1 || rc=$?
    end=$(date +%s.%N)
    [ "$rc" -le 1 ] || { echo "failed ($rc): $*" >&2; "$@" >/dev/null; exit 1; }
    echo "$end - $start" | bc -l
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

echo "load before: $(uptime)" >&2
# One warm-up run of each, so that both read the archive from the page cache.
run_once "$IMGOPT" layers "$SPEC" --format json -q >/dev/null
run_once "$IMGOPT" check --policy policies/strict.toml --format json -q "$SPEC" >/dev/null
L=() C=()
for ((i = 0; i < RUNS; i++)); do
    L+=("$(run_once "$IMGOPT" layers "$SPEC" --format json -q)")
    C+=("$(run_once "$IMGOPT" check --policy policies/strict.toml --format json -q "$SPEC")")
done
echo "load after:  $(uptime)" >&2
ml=$(printf '%s\n' "${L[@]}" | median)
mc=$(printf '%s\n' "${C[@]}" | median)
printf 'imgopt layers  (median of %d): %.3f s   runs: %s\n' "$RUNS" "$ml" "${L[*]}"
printf 'imgopt check   (median of %d): %.3f s   runs: %s\n' "$RUNS" "$mc" "${C[*]}"
printf 'check / layers: %.3f (target: at most 1.05)\n' "$(echo "$mc / $ml" | bc -l)"

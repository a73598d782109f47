#!/usr/bin/env bash
# scripts/bench-check.sh - `imgopt check` against the `imgopt layers` run it needs, on the same
# docker-archive of py-fat (issue 14, "Speed": a check adds nothing measurable, at most 1.05x).
#
# Both commands run RUNS times (default 5), interleaved (layers, check, layers, check, ...) so
# that a change in the machine's load hits both alike; the median times and their ratios
# (wall and CPU) are reported, with the load average before and after (2 cores: above 2 means
# other jobs took CPU time, and the wall figures are noisier).
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
[ -x /usr/bin/time ] || { echo "/usr/bin/time is needed (apt-get install time)" >&2; exit 2; }
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# run_once CMD...: prints "WALL CPU" seconds of one run (CPU = user + system; exit 0 or 1
# accepted). On a loaded machine the CPU time is the steadier figure.
run_once() {
    local rc=0
    /usr/bin/time -f '%e %U %S' -o "$TMP/t" "$@" >/dev/null 2>&1 || rc=$?
    [ "$rc" -le 1 ] || { echo "failed ($rc): $*" >&2; "$@" >/dev/null; exit 1; }
    tail -n 1 "$TMP/t" | awk '{printf "%s %.2f\n", $1, $2 + $3}'
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

echo "load before: $(uptime)" >&2
# One warm-up run of each, so that both read the archive from the page cache.
run_once "$IMGOPT" layers "$SPEC" --format json -q >/dev/null
run_once "$IMGOPT" check --policy policies/strict.toml --format json -q "$SPEC" >/dev/null
: > "$TMP/layers"; : > "$TMP/check"
for ((i = 0; i < RUNS; i++)); do
    run_once "$IMGOPT" layers "$SPEC" --format json -q >> "$TMP/layers"
    run_once "$IMGOPT" check --policy policies/strict.toml --format json -q "$SPEC" >> "$TMP/check"
done
echo "load after:  $(uptime)" >&2
lw=$(cut -d' ' -f1 "$TMP/layers" | median); lc=$(cut -d' ' -f2 "$TMP/layers" | median)
cw=$(cut -d' ' -f1 "$TMP/check" | median); cc=$(cut -d' ' -f2 "$TMP/check" | median)
printf 'imgopt layers (median of %d): wall %.2f s, CPU %.2f s\n' "$RUNS" "$lw" "$lc"
printf 'imgopt check  (median of %d): wall %.2f s, CPU %.2f s\n' "$RUNS" "$cw" "$cc"
printf 'check / layers: wall %.3f, CPU %.3f (target: at most 1.05)\n' "$(echo "$cw / $lw" | bc -l)" "$(echo "$cc / $lc" | bc -l)"

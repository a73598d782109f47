#!/usr/bin/env bash
# scripts/bench-parse-layouts.sh - the parser ratio (imgopt / parse-dockerfile) over several
# code layouts of the same benchmark binary.
#
# Why: in one build, the paired corpus ratio of `cargo bench --bench parse` also measures
# where the linker happened to place each parser's functions; parse-dockerfile's own time was
# seen to move by 10-15 % between builds in which none of its code changed. This script builds
# the benchmark once, links it LAYOUTS times (default 8) with the functions in a different
# random order each time (lld's --shuffle-sections, seeds 1..LAYOUTS), runs the paired
# measurement of each, and reports every ratio and their mean: a figure that belongs to the
# parsers, not to one layout. It knows nothing of the parser's files: it relinks whatever
# `cargo rustc --bench parse` links.
#
# Needs: the rust toolchain's own lld (rustup ships it as gcc-ld/ld.lld) and the corpus
# (IMGOPT_CORPUS, default ../shared/corpus/dockerfiles). Env: LAYOUTS.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
LAYOUTS=${LAYOUTS:-8}
cd "$ROOT"

GCCLD=$(rustc --print sysroot)/lib/rustlib/$(rustc -vV | sed -n 's/^host: //p')/bin/gcc-ld
[ -x "$GCCLD/ld.lld" ] || { echo "no lld in the toolchain ($GCCLD/ld.lld)" >&2; exit 2; }

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

echo "building the parse benchmark..." >&2
# `--print link-args` gives the link command; `-C save-temps` keeps the objects it names.
touch benches/parse.rs
cargo rustc --release --quiet --bench parse -- --print link-args -C save-temps >"$TMP/link" 2>/dev/null || true
grep -q '"-o"' "$TMP/link" || { echo "could not read the link command" >&2; exit 2; }

# The same link command, LAYOUTS times, through lld with the sections in a shuffled order.
for seed in $(seq 1 "$LAYOUTS"); do
    cmd=$(grep '"-o"' "$TMP/link" | sed -E "s#\"-o\" \"[^\"]*\"#\"-o\" \"$TMP/parse-$seed\" \"-fuse-ld=lld\" \"-B$GCCLD\" \"-Wl,--shuffle-sections=.text*=$seed\"#")
    (eval "$cmd") || { echo "relinking with seed $seed failed" >&2; exit 2; }
done

# A filter that matches no criterion benchmark: only the paired ratios are measured.
for seed in $(seq 1 "$LAYOUTS"); do
    line=$("$TMP/parse-$seed" --bench no-criterion-benchmark 2>&1 | grep '^ratio imgopt/parse-dockerfile')
    echo "layout $seed: $line"
done | tee "$TMP/ratios"

awk '{ for (i = 1; i <= NF; i++) if ($i == "=") { r = $(i + 1); n++; s += r; if (n == 1 || r < lo) lo = r; if (n == 1 || r > hi) hi = r } }
     END { if (n) printf "over %d layouts: mean ratio %.3f, from %.2f to %.2f\n", n, s / n, lo, hi }' "$TMP/ratios"

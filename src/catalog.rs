//! The embedded, dated base-image catalog: compressed and uncompressed sizes of common base
//! images, with libc, shell, package manager and non-root user, each figure with its source
//! and date, from docker-library/repo-info (<https://github.com/docker-library/repo-info>) and
//! the issue threads named per entry (figures as of 2026-09; tags move, so every figure
//! carries its date).
//!
//! Owns: [`ImageRef`] parsing (`registry/repo:tag@digest`), classifying a tag into a
//! [`Family`] and [`Variant`], and looking figures up ([`lookup`]).
//! Does not: talk to a registry (the layers analysis measures real images).

use serde::Serialize;

use crate::estimate::{Basis, Estimate, MB};

/// A parsed image reference.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ImageRef {
    /// Registry host, if written (`ghcr.io`); `None` means Docker Hub.
    pub registry: Option<String>,
    /// Repository path without the registry; Docker Hub's `library/` prefix removed.
    pub repo: String,
    /// Tag, if written.
    pub tag: Option<String>,
    /// Digest, if written (`sha256:...`).
    pub digest: Option<String>,
}

impl ImageRef {
    /// Parses `[registry/]repo[:tag][@digest]`. Returns `None` for an empty string or one with
    /// unexpanded variables.
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        if s.is_empty() || s.contains('$') || s.contains(char::is_whitespace) {
            return None;
        }
        let (rest, digest) = match s.split_once('@') {
            Some((r, d)) => (r, Some(d.to_string())),
            None => (s, None),
        };
        let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match rest[last_slash..].rfind(':') {
            Some(i) => (&rest[..last_slash + i], Some(rest[last_slash + i + 1..].to_string())),
            None => (rest, None),
        };
        let mut parts: Vec<&str> = name.split('/').collect();
        let registry =
            if parts.len() > 1 && (parts[0].contains('.') || parts[0].contains(':') || parts[0] == "localhost") {
                Some(parts.remove(0).to_ascii_lowercase())
            } else {
                None
            };
        let registry =
            registry.filter(|r| !matches!(r.as_str(), "docker.io" | "index.docker.io" | "registry-1.docker.io"));
        if registry.is_none() && parts.len() == 2 && parts[0] == "library" {
            parts.remove(0);
        }
        Some(Self {
            registry,
            repo: parts.join("/"),
            tag,
            digest,
        })
    }

    /// The repository as users write it, with the registry (`gcr.io/distroless/static`).
    #[must_use]
    pub fn full_repo(&self) -> String {
        match &self.registry {
            Some(r) => format!("{r}/{}", self.repo),
            None => self.repo.clone(),
        }
    }

    /// `scratch`, the empty image.
    #[must_use]
    pub fn is_scratch(&self) -> bool {
        self.registry.is_none() && self.repo == "scratch"
    }
}

/// An image family the catalog knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
#[allow(missing_docs)]
pub enum Family {
    Python,
    Node,
    Debian,
    Golang,
    Rust,
    EclipseTemurin,
    Alpine,
    Ubuntu,
    DistrolessStatic,
    DistrolessBase,
    DistrolessCc,
    Scratch,
    Nginx,
    Php,
    Busybox,
}

/// Which flavour of an image a tag selects.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Variant {
    /// The default Debian-based tag with build tools (buildpack-deps) for language images;
    /// the full rootfs for `debian`.
    Full,
    /// `-slim`.
    Slim,
    /// `-alpine`.
    Alpine,
    /// A JDK (eclipse-temurin `-jdk` or no suffix).
    Jdk,
    /// A JRE.
    Jre,
    /// Windows, distroless and everything else: no smaller variant suggested.
    Other,
}

/// The Docker Hub official image a reference names: on Docker Hub itself, or through a mirror
/// of it that keeps the official name (`mirror.gcr.io/library/debian`,
/// `public.ecr.aws/docker/library/debian`, a registry's pull-through cache
/// `psdockercache.azurecr.io/debian` or `harbor.example.com/library/debian`).
fn official_name(r: &ImageRef) -> Option<&str> {
    let Some(registry) = r.registry.as_deref() else {
        return Some(&r.repo);
    };
    if registry == "public.ecr.aws" {
        return r.repo.strip_prefix("docker/library/");
    }
    // Registries whose one-part names are their own images, not Docker Hub's.
    if matches!(
        registry,
        "gcr.io" | "mcr.microsoft.com" | "quay.io" | "ghcr.io" | "registry.access.redhat.com"
    ) {
        return None;
    }
    match r.repo.strip_prefix("library/") {
        Some(name) if !name.contains('/') => Some(name),
        _ if !r.repo.contains('/') => Some(&r.repo),
        _ => None,
    }
}

/// Classifies a Docker Hub image by tag (also through a mirror, see [`official_name`]). `None` when the family is not in the catalog.
#[must_use]
pub fn classify(r: &ImageRef) -> Option<(Family, Variant)> {
    if r.is_scratch() {
        return Some((Family::Scratch, Variant::Other));
    }
    if r.registry.as_deref() == Some("gcr.io") {
        let fam = match r.repo.split('-').next()? {
            "distroless/static" => Family::DistrolessStatic,
            "distroless/base" | "distroless/base-nossl" => Family::DistrolessBase,
            "distroless/cc" => Family::DistrolessCc,
            _ => return None,
        };
        return Some((fam, Variant::Other));
    }
    let repo = official_name(r)?;
    let tag = r.tag.as_deref().unwrap_or("latest").to_ascii_lowercase();
    let has = |w: &str| tag.split(['-', '.']).any(|p| p == w) || tag.contains(&format!("-{w}"));
    let windows = has("windowsservercore") || has("nanoserver") || tag.contains("windows");
    let family = match repo {
        "python" => Family::Python,
        "node" => Family::Node,
        "debian" => Family::Debian,
        "golang" => Family::Golang,
        "rust" => Family::Rust,
        "eclipse-temurin" => Family::EclipseTemurin,
        "alpine" => Family::Alpine,
        "ubuntu" => Family::Ubuntu,
        "nginx" => Family::Nginx,
        "php" => Family::Php,
        "busybox" => Family::Busybox,
        _ => return None,
    };
    let variant = if windows {
        Variant::Other
    } else if family == Family::EclipseTemurin {
        if tag.contains("jre") {
            Variant::Jre
        } else {
            Variant::Jdk
        }
    } else if tag.contains("slim") {
        Variant::Slim
    } else if tag.contains("alpine") {
        Variant::Alpine
    } else {
        Variant::Full
    };
    Some((family, variant))
}

/// Catalog figures for one image flavour.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Entry {
    /// The family.
    pub family: Family,
    /// The flavour.
    pub variant: Variant,
    /// The tag the figures were taken from, as users write it.
    pub example: &'static str,
    /// Compressed (registry) size range in bytes, when published.
    pub compressed: Option<(u64, u64)>,
    /// Uncompressed (on-disk) size range in bytes, when published.
    pub uncompressed: Option<(u64, u64)>,
    /// When the figures were taken.
    pub date: &'static str,
    /// Where they come from.
    pub source: &'static str,
    /// C library (`glibc`, `musl`, `none`).
    pub libc: &'static str,
    /// Whether a shell is present.
    pub shell: bool,
    /// Package manager (`apt`, `apk`, `none`).
    pub package_manager: &'static str,
    /// A ready-made non-root user, if any.
    pub nonroot_user: Option<&'static str>,
}

impl Entry {
    /// Uncompressed range: the published one, else derived from compressed at 2.6–2.8×
    /// (the ratio of repo-info's `local/` to `remote/` sizes for Debian-based images).
    #[must_use]
    pub fn uncompressed_or_derived(&self) -> Option<(u64, u64)> {
        self.uncompressed
            .or_else(|| self.compressed.map(|(l, h)| (l * 26 / 10, h * 28 / 10)))
    }
}

const fn m(tenths: u64) -> u64 {
    tenths * MB / 10
}

/// The catalog (amd64). Sources: docker-library/repo-info `remote/` (compressed) and
/// `local/` (uncompressed) files (<https://github.com/docker-library/repo-info>) and the issue
/// threads named per entry.
pub const CATALOG: &[Entry] = &[
    Entry {
        family: Family::Scratch,
        variant: Variant::Other,
        example: "scratch",
        compressed: Some((0, 0)),
        uncompressed: Some((0, 0)),
        date: "-",
        source: "Docker reserved name",
        libc: "none",
        shell: false,
        package_manager: "none",
        nonroot_user: None,
    },
    Entry {
        family: Family::Busybox,
        variant: Variant::Full,
        example: "busybox:latest",
        compressed: Some((m(22), m(22))),
        uncompressed: None,
        date: "2026-05",
        source: "docker-library/repo-info:repos/busybox/remote/latest.md",
        libc: "glibc",
        shell: true,
        package_manager: "none",
        nonroot_user: None,
    },
    Entry {
        family: Family::Alpine,
        variant: Variant::Full,
        example: "alpine:3.24",
        compressed: Some((m(38), m(38))),
        uncompressed: Some((m(70), m(80))),
        date: "2026-09-17",
        source: "docker-library/repo-info:repos/alpine/remote/latest.md",
        libc: "musl",
        shell: true,
        package_manager: "apk",
        nonroot_user: None,
    },
    Entry {
        family: Family::Debian,
        variant: Variant::Full,
        example: "debian:bookworm",
        compressed: Some((m(485), m(485))),
        uncompressed: Some((130_000_000, 130_000_000)),
        date: "2026-08-03",
        source: "docker-library/repo-info:repos/debian/remote/bookworm.md; GoogleContainerTools/distroless:README.md (124 MiB)",
        libc: "glibc",
        shell: true,
        package_manager: "apt",
        nonroot_user: None,
    },
    Entry {
        family: Family::Debian,
        variant: Variant::Slim,
        example: "debian:bookworm-slim",
        compressed: Some((m(282), m(282))),
        uncompressed: Some((74_830_000, 74_830_000)),
        date: "2026-09-18",
        source: "docker-library/repo-info:repos/debian/remote/bookworm-slim.md, local/bookworm-slim.md",
        libc: "glibc",
        shell: true,
        package_manager: "apt",
        nonroot_user: None,
    },
    Entry {
        family: Family::Ubuntu,
        variant: Variant::Full,
        example: "ubuntu:24.04",
        compressed: Some((m(297), m(298))),
        uncompressed: Some((m(770), m(770))),
        date: "2026-09-11",
        source: "docker-library/repo-info:repos/ubuntu/remote/22.04.md, 24.04.md",
        libc: "glibc",
        shell: true,
        package_manager: "apt",
        nonroot_user: None,
    },
    Entry {
        family: Family::DistrolessStatic,
        variant: Variant::Other,
        example: "gcr.io/distroless/static-debian12",
        compressed: None,
        uncompressed: Some((1_810_000, 2_430_000)),
        date: "2023-03",
        source: "GoogleContainerTools/distroless:README.md; keptn/lifecycle-toolkit#1087",
        libc: "none",
        shell: false,
        package_manager: "none",
        nonroot_user: Some("nonroot (65532)"),
    },
    Entry {
        family: Family::DistrolessBase,
        variant: Variant::Other,
        example: "gcr.io/distroless/base-debian12",
        compressed: None,
        uncompressed: Some((16_900_000, 20_400_000)),
        date: "2023-03",
        source: "GoogleContainerTools/distroless:base/README.md; keptn/lifecycle-toolkit#1087",
        libc: "glibc",
        shell: false,
        package_manager: "none",
        nonroot_user: Some("nonroot (65532)"),
    },
    Entry {
        family: Family::DistrolessCc,
        variant: Variant::Other,
        example: "gcr.io/distroless/cc-debian12",
        compressed: None,
        uncompressed: Some((22_600_000, 22_600_000)),
        date: "2022-07",
        source: "GoogleContainerTools/distroless:cc/README.md; cosmos/gaia#1621",
        libc: "glibc",
        shell: false,
        package_manager: "none",
        nonroot_user: Some("nonroot (65532)"),
    },
    Entry {
        family: Family::Python,
        variant: Variant::Full,
        example: "python:3.12",
        compressed: None,
        uncompressed: Some((1_000_000_000, 1_100_000_000)),
        date: "2024-10",
        source: "cuchi/jinja2-action#19; perfectly-preserved-pie/larentals#50",
        libc: "glibc",
        shell: true,
        package_manager: "apt",
        nonroot_user: None,
    },
    Entry {
        family: Family::Python,
        variant: Variant::Slim,
        example: "python:3.12-slim",
        compressed: Some((m(432), m(432))),
        uncompressed: Some((m(1192), m(1192))),
        date: "2026-08-05",
        source: "docker-library/repo-info:repos/python/remote/3.12-slim.md, local/3.12-slim.md",
        libc: "glibc",
        shell: true,
        package_manager: "apt",
        nonroot_user: None,
    },
    Entry {
        family: Family::Python,
        variant: Variant::Alpine,
        example: "python:3.12-alpine",
        compressed: Some((m(180), m(180))),
        uncompressed: None,
        date: "2026-09-17",
        source: "docker-library/repo-info:repos/python/remote/3.12-alpine.md",
        libc: "musl",
        shell: true,
        package_manager: "apk",
        nonroot_user: None,
    },
    Entry {
        family: Family::Node,
        variant: Variant::Full,
        example: "node:22",
        compressed: Some((m(4085), m(4085))),
        uncompressed: Some((1_100_000_000, 1_200_000_000)),
        date: "2026-09-19",
        source: "docker-library/repo-info:repos/node/remote/22.md; bluewave-labs/Checkmate#598",
        libc: "glibc",
        shell: true,
        package_manager: "apt",
        nonroot_user: Some("node (1000)"),
    },
    Entry {
        family: Family::Node,
        variant: Variant::Slim,
        example: "node:22-slim",
        compressed: Some((m(799), m(799))),
        uncompressed: None,
        date: "2026-09-19",
        source: "docker-library/repo-info:repos/node/remote/22-slim.md",
        libc: "glibc",
        shell: true,
        package_manager: "apt",
        nonroot_user: Some("node (1000)"),
    },
    Entry {
        family: Family::Node,
        variant: Variant::Alpine,
        example: "node:22-alpine",
        compressed: Some((m(607), m(607))),
        uncompressed: Some((135_000_000, 135_000_000)),
        date: "2026-09-23",
        source: "docker-library/repo-info:repos/node/remote/22-alpine.md; GoogleContainerTools/distroless#1482",
        libc: "musl",
        shell: true,
        package_manager: "apk",
        nonroot_user: Some("node (1000)"),
    },
    Entry {
        family: Family::Golang,
        variant: Variant::Full,
        example: "golang:1.25-bookworm",
        compressed: Some((m(2897), m(2897))),
        uncompressed: None,
        date: "2026-07-14",
        source: "docker-library/repo-info:repos/golang/remote/1.25-bookworm.md",
        libc: "glibc",
        shell: true,
        package_manager: "apt",
        nonroot_user: None,
    },
    Entry {
        family: Family::Golang,
        variant: Variant::Alpine,
        example: "golang:1.25-alpine",
        compressed: Some((m(644), m(644))),
        uncompressed: None,
        date: "2026-08-13",
        source: "docker-library/repo-info:repos/golang/remote/1.25-alpine.md",
        libc: "musl",
        shell: true,
        package_manager: "apk",
        nonroot_user: None,
    },
    Entry {
        family: Family::Rust,
        variant: Variant::Full,
        example: "rust:1",
        compressed: Some((430_000_000, 477_000_000)),
        uncompressed: None,
        date: "2018-2021",
        source: "CosmWasm/optimizer#35; rust-lang/docker-rust#19",
        libc: "glibc",
        shell: true,
        package_manager: "apt",
        nonroot_user: None,
    },
    Entry {
        family: Family::Rust,
        variant: Variant::Slim,
        example: "rust:1-slim",
        compressed: Some((m(3191), m(3191))),
        uncompressed: None,
        date: "2026-09-19",
        source: "docker-library/repo-info:repos/rust/remote/1-slim.md",
        libc: "glibc",
        shell: true,
        package_manager: "apt",
        nonroot_user: None,
    },
    Entry {
        family: Family::Rust,
        variant: Variant::Alpine,
        example: "rust:1-alpine",
        compressed: Some((m(3491), m(3491))),
        uncompressed: None,
        date: "2026-08-20",
        source: "docker-library/repo-info:repos/rust/remote/1-alpine.md",
        libc: "musl",
        shell: true,
        package_manager: "apk",
        nonroot_user: None,
    },
    Entry {
        family: Family::EclipseTemurin,
        variant: Variant::Jdk,
        example: "eclipse-temurin:21-jdk",
        compressed: Some((m(2301), m(2301))),
        uncompressed: None,
        date: "2026-09-09",
        source: "docker-library/repo-info:repos/eclipse-temurin/remote/21-jdk.md",
        libc: "glibc",
        shell: true,
        package_manager: "apt",
        nonroot_user: None,
    },
    Entry {
        family: Family::EclipseTemurin,
        variant: Variant::Jre,
        example: "eclipse-temurin:21-jre",
        compressed: Some((m(1211), m(1211))),
        uncompressed: None,
        date: "2026-09-09",
        source: "docker-library/repo-info:repos/eclipse-temurin/remote/21-jre.md",
        libc: "glibc",
        shell: true,
        package_manager: "apt",
        nonroot_user: None,
    },
    Entry {
        family: Family::Nginx,
        variant: Variant::Alpine,
        example: "nginx:alpine",
        compressed: Some((m(263), m(263))),
        uncompressed: None,
        date: "2026-09-22",
        source: "docker-library/repo-info:repos/nginx/remote/alpine.md",
        libc: "musl",
        shell: true,
        package_manager: "apk",
        nonroot_user: Some("nginx (101)"),
    },
    Entry {
        family: Family::Php,
        variant: Variant::Alpine,
        example: "php:8.3-fpm-alpine",
        compressed: Some((m(335), m(335))),
        uncompressed: None,
        date: "2026-09-17",
        source: "docker-library/repo-info:repos/php/remote/8.3-fpm-alpine.md",
        libc: "musl",
        shell: true,
        package_manager: "apk",
        nonroot_user: Some("www-data (82)"),
    },
];

/// The catalog entry for a family and variant.
#[must_use]
pub fn lookup(family: Family, variant: Variant) -> Option<&'static Entry> {
    CATALOG.iter().find(|e| e.family == family && e.variant == variant)
}

/// The catalog estimate of moving from `from` to `to`: compressed where both are published
/// (a missing compressed figure for `to` is bounded by its uncompressed size), uncompressed
/// from published or derived figures. `None` when the catalog cannot say.
#[must_use]
pub fn swap_saving(from: &Entry, to: &Entry) -> Option<Estimate> {
    let (fl, fh) = from.uncompressed_or_derived()?;
    let (tl, th) = to.uncompressed_or_derived()?;
    let mut e = Estimate::uncompressed(fl.saturating_sub(th), fh.saturating_sub(tl), Basis::Catalog);
    if let Some((cl, ch)) = from.compressed {
        let to_c = to.compressed.or(to.uncompressed);
        if let Some((tcl, tch)) = to_c {
            let low = cl.saturating_sub(tch);
            let high = ch.saturating_sub(if to.compressed.is_some() { tcl } else { 0 });
            e = e.with_compressed(low, high);
        }
    }
    Some(e)
}

/// A one-line citation of an entry: `node:22 408.5 MB compressed (docker-library/repo-info..., 2026-09-19)`.
#[must_use]
pub fn cite(e: &Entry) -> String {
    #[allow(clippy::cast_precision_loss)]
    let mb = |(l, h): (u64, u64), what: &str| {
        let (l, h) = (l as f64 / MB as f64, h as f64 / MB as f64);
        if (l - h).abs() < f64::EPSILON {
            format!("{l:.1} MB {what}")
        } else {
            format!("{l:.0}–{h:.0} MB {what}")
        }
    };
    let mut parts = Vec::new();
    if let Some(c) = e.compressed {
        parts.push(mb(c, "compressed"));
    }
    if let Some(u) = e.uncompressed {
        parts.push(mb(u, "uncompressed"));
    }
    if parts.is_empty() {
        parts.push("no published size".to_string());
    }
    format!("{} {} ({}, {})", e.example, parts.join(", "), e.source, e.date)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_references() {
        let r = ImageRef::parse("docker.io/library/python:3.12-slim@sha256:abc").unwrap();
        assert_eq!(
            (r.registry, r.repo.as_str(), r.tag.as_deref(), r.digest.as_deref()),
            (None, "python", Some("3.12-slim"), Some("sha256:abc"))
        );
        let r = ImageRef::parse("localhost:5000/app").unwrap();
        assert_eq!(
            (r.registry.as_deref(), r.repo.as_str(), r.tag),
            (Some("localhost:5000"), "app", None)
        );
        let r = ImageRef::parse("gcr.io/distroless/static-debian12:nonroot").unwrap();
        assert_eq!(classify(&r), Some((Family::DistrolessStatic, Variant::Other)));
        assert!(ImageRef::parse("python:${V}").is_none());
    }

    #[test]
    fn classifies_tags() {
        let c = |s: &str| classify(&ImageRef::parse(s).unwrap());
        assert_eq!(c("python:3.12"), Some((Family::Python, Variant::Full)));
        assert_eq!(c("python:3.12-slim-bookworm"), Some((Family::Python, Variant::Slim)));
        assert_eq!(c("node:22-alpine3.20"), Some((Family::Node, Variant::Alpine)));
        assert_eq!(c("eclipse-temurin:21"), Some((Family::EclipseTemurin, Variant::Jdk)));
        assert_eq!(
            c("eclipse-temurin:21-jre-alpine"),
            Some((Family::EclipseTemurin, Variant::Jre))
        );
        assert_eq!(
            c("python:3.12-windowsservercore-ltsc2022"),
            Some((Family::Python, Variant::Other))
        );
        assert_eq!(c("myorg/python:3.12"), None);
    }

    #[test]
    fn swap_savings_subtract_published_figures() {
        // node:22 408.5 MB -> node:22-slim 79.9 MB compressed (repo-info): 328.6 MB.
        let e = swap_saving(
            lookup(Family::Node, Variant::Full).unwrap(),
            lookup(Family::Node, Variant::Slim).unwrap(),
        )
        .unwrap();
        assert_eq!(e.compressed_low_bytes.unwrap().0, 328_600_000);
        assert_eq!(e.compressed_high_bytes.unwrap().0, 328_600_000);
        // python:3.12 1.0-1.1 GB -> 3.12-slim 119.2 MB uncompressed.
        let e = swap_saving(
            lookup(Family::Python, Variant::Full).unwrap(),
            lookup(Family::Python, Variant::Slim).unwrap(),
        )
        .unwrap();
        assert_eq!((e.low_bytes.0, e.high_bytes.0), (880_800_000, 980_800_000));
        assert_eq!(e.compressed_low_bytes, None);
        // temurin 21 JDK 230.1 -> JRE 121.1 MB compressed: 109 MB.
        let e = swap_saving(
            lookup(Family::EclipseTemurin, Variant::Jdk).unwrap(),
            lookup(Family::EclipseTemurin, Variant::Jre).unwrap(),
        )
        .unwrap();
        assert_eq!(e.compressed_low_bytes.unwrap().0, 109_000_000);
    }
}

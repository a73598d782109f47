//! The runtime base: which image the runtime stage starts from, chosen by what the artefact
//! needs (a C library or none, a shell, a package manager), keeping the original's major
//! versions and Debian release.
//!
//! Sources for the choices (facts, not copied code):
//! - static Go on `gcr.io/distroless/static` or `scratch`, cgo on `distroless/base`:
//!   https://github.com/GoogleContainerTools/distroless/blob/main/examples/go/Dockerfile and
//!   https://github.com/GoogleContainerTools/distroless/blob/main/base/README.md
//! - Rust and C on `distroless/cc` (glibc + libgcc), builder and runtime on the same Debian
//!   release (`GLIBC_2.3x not found` otherwise): distroless `cc/README.md`,
//!   https://github.com/apollographql/router/issues/8450, https://github.com/rust-lang/docker-rust/pull/246
//! - Node on `node:<major>-slim` (uid 1000 `node` user):
//!   https://github.com/nodejs/docker-node/blob/main/docs/BestPractices.md
//! - Python on `python:<minor>-slim`, Java on `eclipse-temurin:<major>-jre`, .NET on
//!   `mcr.microsoft.com/dotnet/aspnet` or `runtime`: docker-library/repo-info and
//!   https://learn.microsoft.com/dotnet/core/docker/build-container
//!
//! Owns: [`choose`] and the version helpers. Does not: write text.

use super::Target;
use super::detect::Ecosystem;
use crate::catalog::ImageRef;

/// The package manager a runtime base has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pm {
    /// `apt-get` (Debian, Ubuntu).
    Apt,
    /// `apk` (Alpine).
    Apk,
    /// None (distroless, scratch).
    None,
}

/// A runtime base.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Runtime {
    /// The image reference written after `FROM`.
    pub image: String,
    /// Its package manager.
    pub pm: Pm,
    /// It has `/bin/sh`.
    pub shell: bool,
    /// Its C library: `glibc`, `musl` or `none`.
    pub libc: &'static str,
    /// A ready non-root user to run as.
    pub user: Option<&'static str>,
    /// Why this base.
    pub why: String,
}

/// What the artefact needs from its runtime base.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Needs {
    /// A shell (shell-form start, a start script, a shell HEALTHCHECK).
    pub shell: bool,
    /// Packages must be installed at run time.
    pub packages: bool,
    /// The artefact is a static binary (no C library needed).
    pub static_binary: bool,
}

/// The Debian release a base image is built on: `bookworm` unless its tag names another one
/// (`rust:1` and `python:3.X-slim` moved to trixie in 2025; docker-library/repo-info).
#[must_use]
pub fn debian_release(base: &ImageRef) -> &'static str {
    let tag = base.tag.as_deref().unwrap_or("latest");
    for r in ["trixie", "bookworm", "bullseye", "buster"] {
        if tag.contains(r) {
            return r;
        }
    }
    match (base.repo.as_str(), tag) {
        ("debian", "13" | "stable" | "latest" | "stable-slim") => "trixie",
        ("debian", "11") => "bullseye",
        ("rust", t) if !t.contains("alpine") => "trixie",
        _ => "bookworm",
    }
}

/// `bookworm` → `12`, for distroless tags.
fn debian_number(release: &str) -> &'static str {
    match release {
        "trixie" => "13",
        "bullseye" => "11",
        _ => "12",
    }
}

/// The leading version of a tag (`3.12` of `3.12.4-bookworm`, `22` of `22-alpine`), with at
/// most `parts` dot-separated numbers.
#[must_use]
pub fn tag_version(tag: &str, parts: usize) -> Option<String> {
    let v: String = tag.chars().take_while(|c| c.is_ascii_digit() || *c == '.').collect();
    let nums: Vec<&str> = v.split('.').filter(|p| !p.is_empty()).take(parts).collect();
    if nums.is_empty() { None } else { Some(nums.join(".")) }
}

/// The Java major version of a JDK/build image tag (`21` of `eclipse-temurin:21-jdk`,
/// `maven:3.9-eclipse-temurin-21`, `gradle:8.5-jdk17`, `openjdk:17-slim`).
#[must_use]
pub fn java_major(base: &ImageRef) -> Option<String> {
    let tag = base.tag.as_deref()?;
    match base.repo.as_str() {
        "eclipse-temurin"
        | "openjdk"
        | "amazoncorretto"
        | "ibmjava"
        | "sapmachine"
        | "bellsoft/liberica-openjdk-debian" => tag_version(tag, 1),
        _ => {
            for key in ["temurin-", "jdk-", "jdk", "openjdk-", "corretto-"] {
                if let Some(i) = tag.find(key) {
                    let v = tag_version(&tag[i + key.len()..], 1);
                    if v.is_some() {
                        return v;
                    }
                }
            }
            None
        }
    }
}

fn is_alpine(base: &ImageRef) -> bool {
    base.repo == "alpine" || base.tag.as_deref().is_some_and(|t| t.contains("alpine"))
}

fn debian_slim(base: &ImageRef, why: &str) -> Runtime {
    let rel = debian_release(base);
    Runtime {
        image: format!("debian:{rel}-slim"),
        pm: Pm::Apt,
        shell: true,
        libc: "glibc",
        user: None,
        why: format!("debian:{rel}-slim: the builder's Debian release ({rel}), with a shell and apt; {why}"),
    }
}

fn alpine(why: &str) -> Runtime {
    Runtime {
        image: "alpine:3".to_string(),
        pm: Pm::Apk,
        shell: true,
        libc: "musl",
        user: None,
        why: format!("alpine:3: {why}"),
    }
}

fn distroless(kind: &str, base: &ImageRef, why: &str) -> Runtime {
    let n = debian_number(debian_release(base));
    Runtime {
        image: format!("gcr.io/distroless/{kind}-debian{n}"),
        pm: Pm::None,
        shell: false,
        libc: if kind == "static" { "none" } else { "glibc" },
        user: None,
        why: format!("gcr.io/distroless/{kind}-debian{n}: {why}"),
    }
}

/// The original base when it is a plain OS image (kept by `--to multi-stage`).
fn os_base(base: &ImageRef, raw: &str) -> Option<Runtime> {
    let pm = match base.repo.as_str() {
        "debian" | "ubuntu" => Pm::Apt,
        "alpine" => Pm::Apk,
        _ => return None,
    };
    Some(Runtime {
        image: raw.to_string(),
        pm,
        shell: true,
        libc: if pm == Pm::Apk { "musl" } else { "glibc" },
        user: None,
        why: format!("{raw}: the original base, kept by --to multi-stage"),
    })
}

/// Images whose OS and package names the rewrite knows (Debian-based official images, Alpine,
/// Ubuntu); any other base is kept as the runtime base, so its packages stay installable.
fn known_os(base: &ImageRef) -> bool {
    if base.registry.as_deref() == Some("mcr.microsoft.com") {
        return base.repo.starts_with("dotnet/");
    }
    base.registry.is_none()
        && matches!(
            base.repo.as_str(),
            "debian"
                | "ubuntu"
                | "alpine"
                | "golang"
                | "rust"
                | "gcc"
                | "buildpack-deps"
                | "node"
                | "python"
                | "eclipse-temurin"
                | "maven"
                | "gradle"
                | "openjdk"
                | "amazoncorretto"
        )
}

/// `-bookworm` when the tag names a Debian release, so the runtime keeps the builder's glibc.
fn release_suffix(base: &ImageRef) -> String {
    let tag = base.tag.as_deref().unwrap_or("");
    ["trixie", "bookworm", "bullseye"]
        .iter()
        .find(|r| tag.contains(*r))
        .map_or(String::new(), |r| format!("-{r}"))
}

/// Chooses the runtime base for `eco` built on `base` (written `raw`), or says why `target`
/// cannot be offered. `cxx`: C++ (needs libstdc++).
pub fn choose(eco: Ecosystem, target: Target, base: &ImageRef, raw: &str, needs: Needs) -> Result<Runtime, String> {
    let alpine_in = is_alpine(base);
    let conservative = matches!(target, Target::MultiStage | Target::Slim);
    if !known_os(base) && (eco.is_native() || needs.packages || needs.shell) {
        if !matches!(target, Target::Auto | Target::MultiStage | Target::Slim) {
            return Err(format!(
                "{raw} is not an image whose OS the rewrite knows, so it cannot tell what the app needs from it"
            ));
        }
        return Ok(Runtime {
            image: raw.to_string(),
            pm: if alpine_in { Pm::Apk } else { Pm::Apt },
            shell: true,
            libc: if alpine_in { "musl" } else { "glibc" },
            user: None,
            why: format!("{raw}: the original base, kept because its OS and packages are not known to the rewrite"),
        });
    }
    if target == Target::MultiStage
        && let Some(r) = os_base(base, raw)
    {
        return Ok(r);
    }
    match eco {
        Ecosystem::Go | Ecosystem::Rust | Ecosystem::C | Ecosystem::Cpp => {
            let glibc_kind = match eco {
                Ecosystem::Go => "base",
                _ => "cc",
            };
            match target {
                Target::Scratch if !needs.static_binary => Err(
                    "scratch has no C library and the binary links one; build it static (CGO_ENABLED=0, a musl target) or use --to distroless"
                        .to_string(),
                ),
                Target::Scratch => Ok(Runtime {
                    image: "scratch".to_string(),
                    pm: Pm::None,
                    shell: false,
                    libc: "none",
                    user: None,
                    why: "scratch: the binary is static and needs nothing else".to_string(),
                }),
                Target::Alpine => Ok(alpine(if needs.static_binary {
                    "a static binary runs on any C library"
                } else {
                    "asked for with --to alpine"
                })),
                Target::Distroless if needs.static_binary => {
                    Ok(distroless("static", base, "the binary is static; CA certificates, tzdata and a nonroot user included"))
                }
                Target::Distroless => Ok(distroless(glibc_kind, base, "glibc of the builder's Debian release")),
                Target::MultiStage | Target::Slim => Ok(if alpine_in {
                    alpine("the builder is Alpine (musl), so the runtime is too")
                } else {
                    debian_slim(base, "the same C library as the build")
                }),
                Target::Auto if alpine_in => {
                    if needs.static_binary && !needs.shell && !needs.packages {
                        Ok(distroless("static", base, "the binary is static"))
                    } else {
                        Ok(alpine("the builder is Alpine (musl), so the runtime is too"))
                    }
                }
                Target::Auto if needs.shell || needs.packages => Ok(debian_slim(
                    base,
                    "the start command or run-time packages need a shell and a package manager",
                )),
                Target::Auto if needs.static_binary => Ok(distroless(
                    "static",
                    base,
                    "the binary is static; CA certificates, tzdata and a nonroot user included",
                )),
                Target::Auto if eco == Ecosystem::Cpp => Ok(debian_slim(base, "C++ needs libstdc++, which it ships")),
                Target::Auto => Ok(distroless(glibc_kind, base, "glibc of the builder's Debian release, no shell")),
            }
        }
        Ecosystem::Node => {
            if base.repo != "node" || base.registry.is_some() {
                return Err(format!(
                    "Node comes from {raw}, not an official node image, so its version cannot be matched"
                ));
            }
            let major = base
                .tag
                .as_deref()
                .and_then(|t| tag_version(t, 1))
                .ok_or_else(|| format!("{raw} does not name a Node major version"))?;
            let user = Some("node");
            match target {
                Target::Scratch | Target::Distroless => Err(
                    "the Node runtime needs node and usually npm; distroless nodejs runs `node` as its entrypoint, so this rewrite does not offer it"
                        .to_string(),
                ),
                Target::Alpine => Ok(Runtime {
                    image: format!("node:{major}-alpine"),
                    pm: Pm::Apk,
                    shell: true,
                    libc: "musl",
                    user,
                    why: format!("node:{major}-alpine: the same Node major on Alpine"),
                }),
                _ if alpine_in => Ok(Runtime {
                    image: format!("node:{major}-alpine"),
                    pm: Pm::Apk,
                    shell: true,
                    libc: "musl",
                    user,
                    why: format!("node:{major}-alpine: the same Node major and C library as the build"),
                }),
                _ => {
                    let rel = release_suffix(base);
                    Ok(Runtime {
                        image: format!("node:{major}{rel}-slim"),
                        pm: Pm::Apt,
                        shell: true,
                        libc: "glibc",
                        user,
                        why: format!("node:{major}{rel}-slim: the same Node major without compilers and -dev libraries"),
                    })
                }
            }
        }
        Ecosystem::Python => {
            if base.repo != "python" || base.registry.is_some() {
                return Err(format!(
                    "Python comes from {raw}, not an official python image, so site-packages cannot be carried to a matching slim image"
                ));
            }
            let minor = base
                .tag
                .as_deref()
                .and_then(|t| tag_version(t, 2))
                .filter(|v| v.contains('.'))
                .ok_or_else(|| format!("{raw} does not name a Python minor version (3.X)"))?;
            match target {
                Target::Scratch | Target::Distroless => Err(
                    "distroless python uses Debian's /usr/bin/python, not the python:3.X build; this rewrite does not offer it"
                        .to_string(),
                ),
                Target::Alpine => Ok(Runtime {
                    image: format!("python:{minor}-alpine"),
                    pm: Pm::Apk,
                    shell: true,
                    libc: "musl",
                    user: None,
                    why: format!("python:{minor}-alpine: the same Python minor on Alpine"),
                }),
                _ if alpine_in => Ok(Runtime {
                    image: format!("python:{minor}-alpine"),
                    pm: Pm::Apk,
                    shell: true,
                    libc: "musl",
                    user: None,
                    why: format!("python:{minor}-alpine: the same Python minor and C library as the build"),
                }),
                _ => {
                    let rel = release_suffix(base);
                    Ok(Runtime {
                        image: format!("python:{minor}-slim{rel}"),
                        pm: Pm::Apt,
                        shell: true,
                        libc: "glibc",
                        user: None,
                        why: format!(
                            "python:{minor}-slim{rel}: the same Python minor and installation layout, without compilers"
                        ),
                    })
                }
            }
        }
        Ecosystem::Java => {
            let major = java_major(base).ok_or_else(|| format!("{raw} does not name a Java major version"))?;
            match target {
                Target::Scratch | Target::Distroless => Err(
                    "distroless java runs `java -jar` as its entrypoint; this rewrite does not offer it".to_string(),
                ),
                Target::Alpine => Ok(Runtime {
                    image: format!("eclipse-temurin:{major}-jre-alpine"),
                    pm: Pm::Apk,
                    shell: true,
                    libc: "musl",
                    user: None,
                    why: format!("eclipse-temurin:{major}-jre-alpine: a JRE of the same major on Alpine"),
                }),
                _ => Ok(Runtime {
                    image: format!("eclipse-temurin:{major}-jre"),
                    pm: Pm::Apt,
                    shell: true,
                    libc: "glibc",
                    user: None,
                    why: format!(
                        "eclipse-temurin:{major}-jre: a JRE of the same major; the JDK and build tool stay behind"
                    ),
                }),
            }
        }
        Ecosystem::Dotnet => {
            let version = base
                .tag
                .as_deref()
                .and_then(|t| tag_version(t, 2))
                .ok_or_else(|| format!("{raw} does not name a .NET version"))?;
            if !base.repo.starts_with("dotnet/") {
                return Err(format!("{raw} is not a dotnet/sdk image"));
            }
            let _ = conservative;
            match target {
                Target::Scratch | Target::Distroless => Err(
                    "the .NET runtime needs the dotnet host; this rewrite offers dotnet/aspnet or dotnet/runtime"
                        .to_string(),
                ),
                _ => {
                    let suffix = if target == Target::Alpine || alpine_in {
                        "-alpine"
                    } else {
                        ""
                    };
                    Ok(Runtime {
                        image: format!("mcr.microsoft.com/dotnet/{{kind}}:{version}{suffix}"),
                        pm: if suffix.is_empty() { Pm::Apt } else { Pm::Apk },
                        shell: true,
                        libc: if suffix.is_empty() { "glibc" } else { "musl" },
                        user: None,
                        why: format!(
                            "mcr.microsoft.com/dotnet/{{kind}}:{version}{suffix}: the same .NET version without the SDK"
                        ),
                    })
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(s: &str) -> ImageRef {
        ImageRef::parse(s).expect("ref")
    }

    #[test]
    fn versions_and_releases() {
        assert_eq!(tag_version("3.12.4-bookworm", 2).as_deref(), Some("3.12"));
        assert_eq!(tag_version("22-alpine", 1).as_deref(), Some("22"));
        assert_eq!(tag_version("latest", 1), None);
        assert_eq!(java_major(&r("maven:3.9-eclipse-temurin-21")).as_deref(), Some("21"));
        assert_eq!(java_major(&r("gradle:8.5-jdk17")).as_deref(), Some("17"));
        assert_eq!(java_major(&r("eclipse-temurin:21-jdk")).as_deref(), Some("21"));
        assert_eq!(debian_release(&r("rust:1")), "trixie");
        assert_eq!(debian_release(&r("golang:1.22")), "bookworm");
    }

    #[test]
    fn static_go_goes_distroless_unless_it_needs_a_shell() {
        let base = r("debian:bookworm");
        let needs = Needs {
            static_binary: true,
            ..Needs::default()
        };
        let rt = choose(Ecosystem::Go, Target::Auto, &base, "debian:bookworm", needs).unwrap();
        assert_eq!(rt.image, "gcr.io/distroless/static-debian12");
        let shell = Needs { shell: true, ..needs };
        let rt = choose(Ecosystem::Go, Target::Auto, &base, "debian:bookworm", shell).unwrap();
        assert_eq!(rt.image, "debian:bookworm-slim");
        let dynamic = Needs::default();
        assert!(choose(Ecosystem::Rust, Target::Scratch, &r("rust:1"), "rust:1", dynamic).is_err());
        let rt = choose(Ecosystem::Rust, Target::Auto, &r("rust:1"), "rust:1", dynamic).unwrap();
        assert_eq!(rt.image, "gcr.io/distroless/cc-debian13");
        let rt = choose(Ecosystem::Go, Target::MultiStage, &base, "debian:bookworm", needs).unwrap();
        assert_eq!(rt.image, "debian:bookworm");
    }

    #[test]
    fn interpreted_runtimes_keep_versions() {
        let n = Needs::default();
        let rt = choose(Ecosystem::Node, Target::Auto, &r("node:20"), "node:20", n).unwrap();
        assert_eq!(rt.image, "node:20-slim");
        let rt = choose(Ecosystem::Python, Target::Auto, &r("python:3.11.9"), "python:3.11.9", n).unwrap();
        assert_eq!(rt.image, "python:3.11-slim");
        assert!(choose(Ecosystem::Python, Target::Auto, &r("python:3"), "python:3", n).is_err());
        let rt = choose(Ecosystem::Java, Target::Auto, &r("maven:3-eclipse-temurin-17"), "x", n).unwrap();
        assert_eq!(rt.image, "eclipse-temurin:17-jre");
    }
}

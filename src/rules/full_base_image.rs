//! Rule DF103 full-base-image: one rule, documented by its `///` doc below (the user manual; `imgopt explain`).

use super::{Finding, Rule, RuleContext};
use crate::catalog::{self, Family, Variant};
use crate::diag::Severity;
use crate::dockerfile::Keyword;
use crate::fix::{Edit, Fix};

crate::declare_rule! {
    /// ## What it does
    /// Checks the base of the final image for a full-fat variant where a smaller variant of
    /// the same image exists: `python:3.X` → `python:3.X-slim`, `node:N` → `node:N-slim`,
    /// `debian:R` → `debian:R-slim` (a JDK where a JRE would do is DF107). When the image's
    /// own commands (`CMD`, `ENTRYPOINT`, `HEALTHCHECK`, `RUN` after the `FROM`) use a tool the
    /// slim variant leaves out (`curl`, `wget`, `git`, `ps`, ...) and the file does not install
    /// it, the help names the packages to add. The estimate comes from the catalog entry of the
    /// same family; when the catalog's version differs from the tag's, a note says so.
    /// Ubuntu has no smaller official variant (its base already leaves out docs), so `ubuntu`
    /// bases are not reported.
    ///
    /// Beyond the catalog's families, the other official images whose tag names a full
    /// Debian image with a published slim counterpart are checked: `ruby:3.3` →
    /// `ruby:3.3-slim`, `openjdk:8-jre` → `openjdk:8-jre-slim` (a digest after the tag does
    /// not change what the tag names). These get no estimate (the catalog has no figures).
    ///
    /// Only images that run something are checked: the target's stage chain has `CMD` or
    /// `ENTRYPOINT`, or it is built on an official node, python or ruby image (whose own `CMD`
    /// runs the interpreter) and sets a non-root `USER` to run it as, or it declares a
    /// production environment (`ENV RAILS_ENV=production`, `NODE_ENV=production`); the target
    /// is not a development stage (`dev`, `build`, `test`, `validate`, ...).
    ///
    /// Development environments are not checked either: images whose stage chain gives a user
    /// `sudo` (`useradd -G sudo`, a `NOPASSWD: ALL` sudoers line), single-stage files that set
    /// `RAILS_ENV`, `NODE_ENV` (or `RACK_ENV`, `APP_ENV`, `FLASK_ENV`, `MIX_ENV`) to
    /// `development` or `test`, images whose `CMD` or `ENTRYPOINT` runs a development server
    /// or watcher (`grunt dev`, `npm run dev`, `nodemon`, `flask run --debug`, `manage.py
    /// runserver`, `cargo watch`), Go or Rust toolchain images that copy the source and never
    /// build it (it is built when the container starts), images that install a browser
    /// driver only test suites use (`phantomjs`, `chromedriver`, `geckodriver`), and images
    /// that run a checkout mounted at run time (the command runs a program under the
    /// `WORKDIR`, or a runner such as `bundle exec` or `npm start` there, or the `WORKDIR` is a
    /// `VOLUME`, and the file puts nothing there but dependency manifests).
    ///
    /// ## Why is this bad?
    /// The full Python and Node images are built on `buildpack-deps`, which carries compilers,
    /// `-dev` libraries and version-control tools the application does not need at runtime.
    /// From the embedded catalog (docker-library/repo-info, 2026): `node:22` is 408.5 MB
    /// compressed, `node:22-slim` 79.9 MB; `python:3.12` is 1.0–1.1 GB on disk,
    /// `python:3.12-slim` 119.2 MB; `debian:bookworm` 48.5 MB, `-slim` 28.2 MB; temurin 21
    /// JDK 230.1 MB, JRE 121.1 MB. If the image compiles native extensions, do that in a
    /// builder stage and copy the result into the slim runtime.
    ///
    /// ## Example
    /// ```dockerfile
    /// FROM node:22
    /// COPY . /app
    /// CMD ["node", "/app/index.js"]
    /// ```
    ///
    /// Use instead:
    /// ```dockerfile
    /// FROM node:22-slim
    /// COPY . /app
    /// CMD ["node", "/app/index.js"]
    /// ```
    ///
    /// ## Fix safety
    /// Unsafe (`--fix --unsafe-fixes`): the tag becomes the `-slim` tag of the same version
    /// and Debian release (`python:3.12` → `python:3.12-slim`, `node:20-bookworm` →
    /// `node:20-bookworm-slim`, `debian:bookworm` → `debian:bookworm-slim`). The image loses
    /// the compilers, `-dev` libraries and tools of the full variant, so a `RUN` that builds
    /// native code or calls `git` may fail. No fix is offered for a base pinned by digest
    /// (the digest names the full image), a base written with ARGs, a tag shape without a
    /// published slim counterpart, an image whose own commands use a tool the slim variant
    /// leaves out, or a base that a builder stage also builds on.
    ///
    /// ## References
    /// - docker-library/official-images tag lists, `library/{python,node,debian}`
    ///   (<https://github.com/docker-library/official-images/tree/master/library>)
    /// - docker-library/repo-info `repos/{python,node,debian,eclipse-temurin}/remote/*.md`
    ///   (<https://github.com/docker-library/repo-info>)
    pub FullBaseImage, DF103, "full-base-image", Severity::Warning
}

/// The smaller tag for a full one.
pub(super) fn smaller_tag(family: Family, tag: Option<&str>) -> Option<String> {
    let tag = tag.unwrap_or("latest");
    Some(match family {
        Family::Python | Family::Node => {
            if let Some(t) = slim_tag(family, tag) {
                t
            } else if tag == "latest" {
                "slim".to_string()
            } else if let Some((v, rel)) = tag.split_once('-') {
                if family == Family::Node {
                    format!("{v}-{rel}-slim")
                } else {
                    format!("{v}-slim-{rel}")
                }
            } else {
                format!("{tag}-slim")
            }
        }
        Family::Debian => {
            if tag == "latest" {
                "stable-slim".to_string()
            } else if tag.contains('-') {
                // dated tags such as bookworm-20240101: suggest the release's slim tag
                format!("{}-slim", tag.split('-').next()?)
            } else {
                format!("{tag}-slim")
            }
        }
        Family::EclipseTemurin => {
            if tag.contains("jdk") {
                tag.replacen("jdk", "jre", 1)
            } else if tag == "latest" {
                "jre".to_string()
            } else {
                match tag.split_once('-') {
                    Some((v, rest)) => format!("{v}-jre-{rest}"),
                    None => format!("{tag}-jre"),
                }
            }
        }
        _ => return None,
    })
}

/// What the rules know about an official image whose tag selects a full Debian image (every
/// package installed on it keeps its docs, man pages and locales, and a `-slim` counterpart may
/// leave out the build tools too).
pub(super) struct FullDebian {
    /// The `-slim` tag of the same version and release, when the image publishes one and DF103
    /// owns the swap (JDK tags are DF107's; toolchain images are DF104's).
    pub slim: Option<String>,
}

/// Official images (Docker Hub `library/`) whose tag names a full Debian image, beyond the
/// catalog's families (python, node, debian, golang, rust), from their Dockerfiles in
/// docker-library (<https://github.com/docker-library>):
/// - `ruby:3`, `ruby:3.3-bookworm` are `FROM buildpack-deps:*` (docker-library/ruby); `-slim`
///   tags (`3.3-slim`, `3.3-slim-bookworm`) are `FROM debian:*-slim`.
/// - `openjdk:8-jre`, `openjdk:11` and the other tags up to 16 without `slim`, `alpine`,
///   `oraclelinux` or a Windows name, and any tag naming a Debian release (`17-bullseye`), are
///   `FROM buildpack-deps:*-curl` (JRE) or `*-scm` (JDK) (docker-library/openjdk); from 17 on
///   the plain tags are Oracle Linux. JRE tags have `-slim` counterparts (`8-jre-slim`).
/// - `maven:3-jdk-11` and `maven:3-openjdk-11` (JDK 16 and older) are `FROM openjdk:N-jdk`
///   (carlossg/docker-maven).
/// - `perl:5.40`, `gcc:14`, `erlang:27` and `elixir:1.17` are `FROM buildpack-deps:*`.
///   `buildpack-deps` itself is left out: what is built on it directly is a language base
///   image (the official python, ruby, golang images), not an application.
///
/// Not full: the `php`, `httpd`, `nginx`, `postgres` and `redis` images are `FROM
/// debian:*-slim`, whose dpkg configuration already leaves docs, man pages and locales out
/// (docker-library/php `7.3/buster/apache/Dockerfile`; debuerreotype
/// `scripts/.slimify-excludes`, <https://github.com/debuerreotype/debuerreotype>).
pub(super) fn full_debian_base(r: &catalog::ImageRef) -> Option<FullDebian> {
    if let Some((family, Variant::Full)) = catalog::classify(r) {
        return matches!(
            family,
            Family::Debian | Family::Python | Family::Node | Family::Golang | Family::Rust
        )
        .then(|| FullDebian {
            slim: matches!(family, Family::Python | Family::Node | Family::Debian)
                .then(|| smaller_tag(family, r.tag.as_deref()))
                .flatten(),
        });
    }
    if r.registry.is_some() {
        return None;
    }
    let tag = r.tag.as_deref().unwrap_or("latest").to_ascii_lowercase();
    let parts: Vec<&str> = tag.split('-').collect();
    let other = [
        "slim",
        "alpine",
        "windowsservercore",
        "nanoserver",
        "oraclelinux7",
        "oraclelinux8",
        "oraclelinux9",
    ];
    if parts.iter().any(|p| {
        other.contains(p)
            || p.starts_with("alpine")
            || p.starts_with("oraclelinux")
            || p.starts_with("windowsservercore")
            || p.starts_with("nanoserver")
            || p.starts_with("ltsc")
    }) {
        return None;
    }
    let suite = parts.iter().copied().find(|p| SUITES.contains(p) || *p == "jessie");
    let major = |v: &str| v.split(['.', 'u']).next().and_then(|m| m.parse::<u32>().ok());
    match r.repo.as_str() {
        "ruby" => {
            let version_ok = tag == "latest"
                || parts.first().is_some_and(|v| {
                    v.split('.')
                        .all(|x| !x.is_empty() && x.bytes().all(|b| b.is_ascii_digit()))
                })
                || (parts.len() == 1 && suite.is_some());
            if !version_ok || parts.len() > 2 || (parts.len() == 2 && suite.is_none()) {
                return None;
            }
            let slim = match (parts.as_slice(), suite) {
                (["latest"], _) => "slim".to_string(),
                ([s], Some(_)) => format!("slim-{s}"),
                ([v], None) => format!("{v}-slim"),
                ([v, s], Some(_)) => format!("{v}-slim-{s}"),
                _ => return None,
            };
            Some(FullDebian { slim: Some(slim) })
        }
        "openjdk" => {
            let v = major(parts.first()?)?;
            if v > 16 && suite.is_none() {
                return None;
            }
            // `8-jre` → `8-jre-slim`; `8-jre-stretch` → `8-jre-slim-stretch`.
            let slim = match parts.as_slice() {
                [v, "jre"] => Some(format!("{v}-jre-slim")),
                [v, "jre", s] if suite == Some(*s) => Some(format!("{v}-jre-slim-{s}")),
                _ => None,
            };
            Some(FullDebian { slim })
        }
        "maven" => {
            let jdk = parts
                .windows(2)
                .find(|w| w[0] == "jdk" || w[0] == "openjdk")
                .and_then(|w| major(w[1]))?;
            (jdk <= 16 || suite.is_some()).then_some(FullDebian { slim: None })
        }
        "perl" | "gcc" | "erlang" | "elixir" => Some(FullDebian { slim: None }),
        _ => None,
    }
}

/// Debian releases the official images publish tags for (`python:3.12-bookworm`,
/// `node:20-bullseye`, `debian:trixie`).
const SUITES: &[&str] = &["stretch", "buster", "bullseye", "bookworm", "trixie", "forky"];

/// Node.js release lines' code names, which the `node` image uses as tags (`node:iron`).
const NODE_CODENAMES: &[&str] = &[
    "argon", "boron", "carbon", "dubnium", "erbium", "fermium", "gallium", "hydrogen", "iron", "jod", "krypton",
];

/// The `-slim` tag of the same version and Debian release, for tag shapes whose slim
/// counterpart the official images publish; `None` for any other shape (release candidates,
/// Windows and vendor tags), which get no automatic swap.
///
/// The naming differs per image: `python:3.12-bookworm` → `python:3.12-slim-bookworm`
/// (docker-library/python), `node:20-bookworm` → `node:20-bookworm-slim` (nodejs/docker-node),
/// `debian:bookworm-20240101` → `debian:bookworm-20240101-slim` (docker-library/debian): see
/// the tag lists in <https://github.com/docker-library/official-images/tree/master/library>
/// (`python`, `node`, `debian`).
pub(super) fn slim_tag(family: Family, tag: &str) -> Option<String> {
    let numeric = |v: &str| {
        !v.is_empty()
            && v.split('.')
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
    };
    let version = |v: &str| match family {
        Family::Python => numeric(v),
        Family::Node => numeric(v) || matches!(v, "lts" | "current") || NODE_CODENAMES.contains(&v),
        _ => false,
    };
    match family {
        Family::Python | Family::Node => {
            let (v, suite) = match tag.split_once('-') {
                Some((v, s)) => (v, Some(s)),
                None => (tag, None),
            };
            if let Some(s) = suite
                && !SUITES.contains(&s)
            {
                return None;
            }
            if v == "latest" && suite.is_none() {
                return Some("slim".to_string());
            }
            let v_ok = version(v) || (suite.is_none() && SUITES.contains(&v));
            if !v_ok {
                return None;
            }
            Some(match (family, suite) {
                (_, None) if SUITES.contains(&v) => {
                    if family == Family::Node {
                        format!("{v}-slim")
                    } else {
                        format!("slim-{v}")
                    }
                }
                (_, None) => format!("{v}-slim"),
                (Family::Node, Some(s)) => format!("{v}-{s}-slim"),
                (_, Some(s)) => format!("{v}-slim-{s}"),
            })
        }
        Family::Debian => {
            let release = |r: &str| {
                SUITES.contains(&r)
                    || matches!(r, "stable" | "oldstable" | "testing" | "unstable" | "sid")
                    || numeric(r)
            };
            let ok = match tag.split_once('-') {
                None => tag == "latest" || release(tag),
                Some((r, date)) => release(r) && date.len() == 8 && date.bytes().all(|b| b.is_ascii_digit()),
            };
            if !ok {
                None
            } else if tag == "latest" {
                Some("stable-slim".to_string())
            } else {
                Some(format!("{tag}-slim"))
            }
        }
        _ => None,
    }
}

/// The unsafe fix of a finding on stage `st`'s `FROM`: the image word with its tag replaced by
/// [`slim_tag`]. None when the base is pinned by digest (the digest names the full image),
/// written with variables, has a tag shape without a known slim counterpart, when the image's
/// own commands use tools the slim variant lacks, or when a stage that does not ship is built
/// `FROM` this one (a builder may need the compilers the full image carries).
fn swap_fix(ctx: &RuleContext<'_>, st: &crate::dockerfile::stages::Stage, missing_tools: bool) -> Option<Fix> {
    if missing_tools {
        return None;
    }
    let (i, span) = ctx.from_span(st);
    let inst = &ctx.dockerfile.instructions[i];
    let word = inst.args.first()?;
    let written = ctx.text(word.span);
    if written.contains(['$', '@', '"', '\'', '\\']) || written != st.base_expanded {
        return None;
    }
    let r = super::context::base_image(st)?;
    if r.digest.is_some() {
        return None;
    }
    let new_tag = match catalog::classify(&r) {
        Some((family, _)) => slim_tag(family, r.tag.as_deref().unwrap_or("latest"))?,
        None => full_debian_base(&r)?.slim?,
    };
    // A non-shipping stage built on this one (a builder `FROM base`) would lose its compilers.
    let inherited_by_builder = ctx
        .stages
        .iter()
        .any(|o| !o.ships && ctx.chain(o.index).contains(&st.index) && o.reaches_target);
    if inherited_by_builder {
        return None;
    }
    let name_end = written.rfind('/').map_or(0, |p| p + 1);
    let repo_part = match written[name_end..].rfind(':') {
        Some(c) => &written[..name_end + c],
        None => written,
    };
    let new = format!("{repo_part}:{new_tag}");
    Some(Fix::unsafe_(
        format!("use `{new}` (compilers, `-dev` libraries and tools of the full image are gone)"),
        vec![Edit::replace(span, new)],
    ))
}

/// Tools the image's own commands run that slim Debian-based images do not have, and the
/// Debian package that provides each (Debian package search, <https://packages.debian.org>).
const SLIM_LACKS: &[(&str, &str)] = &[
    ("curl", "curl"),
    ("wget", "wget"),
    ("git", "git"),
    ("ps", "procps"),
    ("pgrep", "procps"),
    ("pkill", "procps"),
    ("nc", "netcat-openbsd"),
    ("gcc", "gcc"),
    ("make", "make"),
    ("unzip", "unzip"),
    ("jq", "jq"),
    ("ssh", "openssh-client"),
];

/// Tools from [`SLIM_LACKS`] that the shipping stages run (in `CMD`, `ENTRYPOINT`,
/// `HEALTHCHECK` or `RUN`) without installing them, with their packages.
fn tools_slim_lacks(ctx: &RuleContext<'_>) -> Vec<(&'static str, &'static str)> {
    let mut used: Vec<(&'static str, &'static str)> = Vec::new();
    let mut installed: Vec<String> = Vec::new();
    for st in ctx.stages.iter().filter(|s| s.ships) {
        for (i, inst) in ctx.stage_instructions(st.index) {
            let words: Vec<String> = match inst.keyword {
                Keyword::Run => {
                    for x in super::pkg::installs(&ctx.commands[i]) {
                        installed.extend(x.packages.iter().map(|w| super::pkg::package_name(&w.text).to_string()));
                    }
                    ctx.commands[i]
                        .iter()
                        .filter_map(|c| c.name().map(str::to_string))
                        .collect()
                }
                Keyword::Cmd | Keyword::Entrypoint | Keyword::Healthcheck => inst
                    .values()
                    .iter()
                    .flat_map(|v| {
                        v.split(|c: char| c.is_whitespace() || matches!(c, ';' | '&' | '|' | '(' | ')' | '"' | '\''))
                            .map(str::to_string)
                            .collect::<Vec<_>>()
                    })
                    .collect(),
                _ => continue,
            };
            for w in words {
                let base = w.rsplit('/').next().unwrap_or(&w);
                if let Some(&(t, p)) = SLIM_LACKS.iter().find(|(t, _)| *t == base)
                    && !used.contains(&(t, p))
                {
                    used.push((t, p));
                }
            }
        }
    }
    used.retain(|(_, p)| !installed.iter().any(|x| x == p));
    used
}

impl Rule for FullBaseImage {
    fn check(&self, ctx: &RuleContext<'_>, out: &mut Vec<Finding>) {
        if !ctx.runs_application() || ctx.development_environment() {
            return;
        }
        for st in ctx.shipping_stages() {
            let Some(r) = super::context::base_image(st) else {
                continue;
            };
            // Catalog families (with size figures), then the other official images whose tag
            // names a full Debian image with a slim counterpart (`ruby:3`, `openjdk:8-jre`).
            let catalogued = match catalog::classify(&r) {
                Some((family @ (Family::Python | Family::Node | Family::Debian), Variant::Full)) => {
                    smaller_tag(family, r.tag.as_deref()).map(|t| (Some(family), t))
                }
                Some(_) => None,
                None => full_debian_base(&r).and_then(|f| f.slim).map(|t| (None, t)),
            };
            let Some((family, new_tag)) = catalogued else {
                continue;
            };
            let suggestion = format!("{}:{new_tag}", r.full_repo());
            let (i, span) = ctx.from_span(st);
            let (from, to) = family.map_or((None, None), |family| {
                (
                    catalog::lookup(family, Variant::Full),
                    catalog::lookup(family, Variant::Slim),
                )
            });
            let mut f = Finding::new(
                &Self::META,
                ctx,
                i,
                span,
                format!(
                    "the final image is built on the full `{}` image; a smaller variant exists",
                    st.base_expanded
                ),
                format!("use `{suggestion}`; build native extensions in a builder stage and copy the result"),
            );
            let missing = tools_slim_lacks(ctx);
            if let Some(fix) = swap_fix(ctx, st, !missing.is_empty()) {
                f = f.fix(fix);
            }
            if !missing.is_empty() {
                let pkgs: Vec<&str> = missing.iter().map(|(_, p)| *p).collect();
                let tools: Vec<String> = missing.iter().map(|(t, _)| format!("`{t}`")).collect();
                f.help = format!(
                    "use `{suggestion}` and install what the image's own commands use ({}), which the slim variant leaves out: `RUN apt-get update && apt-get install -y --no-install-recommends {} && rm -rf /var/lib/apt/lists/*`",
                    tools.join(", "),
                    pkgs.join(" ")
                );
            }
            if let (Some(from), Some(to)) = (from, to) {
                f = f.estimate(catalog::swap_saving(from, to)).note(format!(
                    "catalog: {}; {}",
                    catalog::cite(from),
                    catalog::cite(to)
                ));
                let version = |t: &str| t.split(['-', '.']).next().unwrap_or("").to_string();
                let tag = r.tag.as_deref().unwrap_or("latest");
                let entry_tag = from.example.rsplit(':').next().unwrap_or("");
                if version(tag) != version(entry_tag) {
                    f = f.note(format!(
                        "the catalog has figures for `{}` and `{}`, not for `{}`: sizes of other versions differ",
                        from.example, to.example, st.base_expanded
                    ));
                }
            } else if family.is_none() {
                let scale = if r.repo == "ruby" {
                    "; for scale, `ruby:2.6` was 868 MB and `ruby:2.6-slim` 126 MB uncompressed (docker-library/ruby#264, 2019)"
                } else {
                    ""
                };
                f = f.note(format!(
                    "no estimate: the catalog has no figures for `{}`{scale}",
                    r.full_repo()
                ));
            }
            out.push(f);
        }
    }
}

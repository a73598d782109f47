//! Rule DF103 full-base-image: one rule, documented by its `///` doc below (the user manual; `imgopt explain`).

use super::{Finding, Rule, RuleContext};
use crate::catalog::{self, Family, Variant};
use crate::diag::Severity;
use crate::dockerfile::Keyword;

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
    /// Only images that run something are checked: the target's stage chain has `CMD` or
    /// `ENTRYPOINT` and the target is not a development stage (`dev`, `build`, `test`,
    /// `validate`, ...).
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
    /// ## References
    /// - docker-library/repo-info `repos/{python,node,debian,eclipse-temurin}/remote/*.md`
    ///   (<https://github.com/docker-library/repo-info>)
    pub FullBaseImage, DF103, "full-base-image", Severity::Warning
}

/// The smaller tag for a full one.
pub(super) fn smaller_tag(family: Family, tag: Option<&str>) -> Option<String> {
    let tag = tag.unwrap_or("latest");
    Some(match family {
        Family::Python | Family::Node => {
            if tag == "latest" {
                "slim".to_string()
            } else if let Some((v, rel)) = tag.split_once('-') {
                format!("{v}-slim-{rel}")
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
        if !ctx.runtime {
            return;
        }
        for st in ctx.shipping_stages() {
            let Some(r) = super::context::base_image(st) else {
                continue;
            };
            let Some((family, variant)) = catalog::classify(&r) else {
                continue;
            };
            let target_variant = match (family, variant) {
                (Family::Python | Family::Node | Family::Debian, Variant::Full) => Variant::Slim,
                _ => continue,
            };
            let Some(new_tag) = smaller_tag(family, r.tag.as_deref()) else {
                continue;
            };
            let suggestion = format!("{}:{new_tag}", r.full_repo());
            let (i, span) = ctx.from_span(st);
            let (from, to) = (
                catalog::lookup(family, variant),
                catalog::lookup(family, target_variant),
            );
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
            }
            out.push(f);
        }
    }
}

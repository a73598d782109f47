//! Rule DF103 full-base-image: one rule, documented by its `///` doc below (the user manual; `imgopt explain`).

use super::{Finding, Rule, RuleContext};
use crate::catalog::{self, Family, Variant};
use crate::diag::Severity;
use crate::dockerfile::Keyword;

crate::declare_rule! {
    /// ## What it does
    /// Checks the base of the final image for a full-fat variant where a smaller variant of
    /// the same image exists: `python:3.X` → `python:3.X-slim`, `node:N` → `node:N-slim`,
    /// `debian:R` → `debian:R-slim`, `eclipse-temurin:N-jdk` → `eclipse-temurin:N-jre`. A JDK
    /// base is not reported when the image itself runs `javac`, `mvn`, `gradle` or `jlink`.
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
fn smaller_tag(family: Family, tag: Option<&str>) -> Option<String> {
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
                (Family::EclipseTemurin, Variant::Jdk) => Variant::Jre,
                _ => continue,
            };
            if family == Family::EclipseTemurin {
                let builds = ctx
                    .stages
                    .iter()
                    .filter(|s| s.ships)
                    .flat_map(|s| ctx.stage_instructions(s.index))
                    .filter(|(_, inst)| inst.keyword == Keyword::Run)
                    .any(|(i, _)| {
                        ctx.commands[i].iter().any(|c| {
                            matches!(
                                c.name(),
                                Some(
                                    "javac" | "mvn" | "mvnw" | "gradle" | "gradlew" | "jlink" | "jar" | "native-image"
                                )
                            )
                        })
                    });
                if builds {
                    continue;
                }
            }
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
                if family == Family::EclipseTemurin {
                    format!("run on `{suggestion}` (a JRE); compile in a builder stage")
                } else {
                    format!("use `{suggestion}`; build native extensions in a builder stage and copy the result")
                },
            );
            if let (Some(from), Some(to)) = (from, to) {
                f = f.estimate(catalog::swap_saving(from, to)).note(format!(
                    "catalog: {}; {}",
                    catalog::cite(from),
                    catalog::cite(to)
                ));
            }
            out.push(f);
        }
    }
}

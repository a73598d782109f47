//! Rule DF207 docs-kept: one rule, documented by its `///` doc below (the user manual; `imgopt explain`).

use super::pkg::{self, Pm};
use super::{Finding, Rule, RuleContext};
use crate::catalog::{self, Family, ImageRef, Variant};
use crate::diag::Severity;
use crate::estimate::heuristics;

crate::declare_rule! {
    /// ## What it does
    /// Checks for `apt-get install` in a shipping stage whose base is a full (non-slim)
    /// Debian-based image (`debian:bookworm`, `python:3.12`, `node:22`, `golang`, `rust`), when
    /// the Dockerfile does not configure dpkg `path-exclude` and the same `RUN` does not delete
    /// `/usr/share/doc` or `/usr/share/man`. Reported once per stage.
    ///
    /// Only images that run something are checked: the target's stage chain has `CMD` or
    /// `ENTRYPOINT` and the target is not a development stage (`dev`, `build`, `test`,
    /// `validate`, ...).
    ///
    /// ## Why is this bad?
    /// Full Debian images install documentation, man pages and locales with every package;
    /// the `-slim` variants exclude them through dpkg (Ubuntu images already do,
    /// tianon/docker-brew-ubuntu-core#126). On a Debian rootfs they took 125.1 → 83.2 MB
    /// (tianon/docker-brew-debian#50): doc 11 MB, locale 34 MB, man 6.3 MB
    /// (balena-io-library/resin-rpi-raspbian#7). For a few packages the saving is smaller.
    /// Deleting them in a later `RUN` saves nothing (coala/docker-coala-base#102).
    ///
    /// ## Example
    /// ```dockerfile
    /// FROM debian:bookworm
    /// RUN apt-get update && apt-get install -y --no-install-recommends curl && rm -rf /var/lib/apt/lists/*
    /// ```
    ///
    /// Use instead:
    /// ```dockerfile
    /// FROM debian:bookworm-slim
    /// RUN apt-get update && apt-get install -y --no-install-recommends curl && rm -rf /var/lib/apt/lists/*
    /// ```
    /// or keep the base and exclude the paths before installing:
    /// ```dockerfile
    /// RUN printf 'path-exclude /usr/share/doc/*\npath-include /usr/share/doc/*/copyright\npath-exclude /usr/share/man/*\npath-exclude /usr/share/locale/*\n' > /etc/dpkg/dpkg.cfg.d/docker-nodoc
    /// ```
    ///
    /// ## References
    /// - tianon/docker-brew-debian#50 (<https://github.com/tianon/docker-brew-debian/issues/50>)
    /// - dpkg(1), `--path-exclude` (<https://manpages.debian.org/dpkg.1>)
    pub DocsKept, DF207, "docs-kept", Severity::Info
}

impl Rule for DocsKept {
    fn check(&self, ctx: &RuleContext<'_>, out: &mut Vec<Finding>) {
        if !ctx.runtime {
            return;
        }
        if ctx.src.contains("path-exclude") {
            return;
        }
        for st in ctx.shipping_stages() {
            // Report in the stage that starts from the external base only.
            if st.base_stage.is_some() && st.index != ctx.target {
                continue;
            }
            let Some(r) = ImageRef::parse(ctx.root_base(st.index)) else {
                continue;
            };
            let full_debian = matches!(
                catalog::classify(&r),
                Some((
                    Family::Debian | Family::Python | Family::Node | Family::Golang | Family::Rust,
                    Variant::Full
                ))
            );
            if !full_debian {
                continue;
            }
            let mut in_chain = vec![false; ctx.stages.len()];
            for c in ctx.chain(st.index) {
                in_chain[c] = true;
            }
            let first = pkg::shipping_runs(ctx)
                .into_iter()
                .filter(|(s, _, _)| in_chain[*s])
                .find_map(|(_, i, cmds)| {
                    let inst = pkg::installs(cmds)
                        .into_iter()
                        .find(|x| x.pm == Pm::Apt && !x.packages.is_empty())?;
                    let cleaned = pkg::removes(cmds, "/usr/share/doc") || pkg::removes(cmds, "/usr/share/man");
                    (!cleaned).then(|| (i, inst.head_span()))
                });
            if let Some((i, span)) = first {
                out.push(
                    Finding::new(&Self::META, ctx, i, span, format!("packages installed on the full `{}` image keep their docs, man pages and locales", r.full_repo()), "use the `-slim` variant of the base, or add a dpkg `path-exclude` file for /usr/share/{doc,man,locale} before installing")
                        .estimate(Some(heuristics::docs())),
                );
            }
        }
    }
}

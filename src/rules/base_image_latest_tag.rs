//! Rule DF101 base-image-latest-tag: one rule, documented by its `///` doc below (the user manual; `imgopt explain`).

use super::{Finding, Rule, RuleContext};
use crate::diag::Severity;

crate::declare_rule! {
    /// ## What it does
    /// Checks for a `FROM` of an external image (not a stage, not `scratch`) in a stage the
    /// target needs, written without a tag or with `:latest`, and without a digest. A base
    /// written with variables (`FROM golang:${GO_VERSION}`) is reported only when the `ARG`'s
    /// default makes it `:latest`; without a default, or with a default that has no tag, the
    /// build supplies the version.
    ///
    /// ## Why is this bad?
    /// `latest` moves: the same Dockerfile builds a different, often larger, image tomorrow,
    /// and size budgets drift without a code change (by 2026 several default tags changed their
    /// Debian release: docker-library/repo-info, <https://github.com/docker-library/repo-info>). No size
    /// estimate: the effect is drift, not bytes.
    ///
    /// ## Example
    /// ```dockerfile
    /// FROM python
    /// ```
    ///
    /// Use instead:
    /// ```dockerfile
    /// FROM python:3.12-slim-bookworm
    /// ```
    ///
    /// ## References
    /// - hadolint DL3006, DL3007
    pub BaseImageLatestTag, DF101, "base-image-latest-tag", Severity::Warning
}

impl Rule for BaseImageLatestTag {
    fn check(&self, ctx: &RuleContext<'_>, out: &mut Vec<Finding>) {
        for st in ctx.needed_stages() {
            let Some(r) = super::context::base_image(st) else {
                continue;
            };
            if r.is_scratch() || r.digest.is_some() {
                continue;
            }
            let (i, span) = ctx.from_span(st);
            if st.base.contains('$') {
                // A base chosen by an ARG: only its default's own `latest` is the file's choice
                // (a default without a tag, or no default, leaves it to the build).
                if r.tag.as_deref() == Some("latest") && !st.base_expanded.contains('$') {
                    out.push(Finding::new(
                        &Self::META,
                        ctx,
                        i,
                        span,
                        format!(
                            "`{}` is `{}` unless the build says otherwise: the default follows the moving `latest` tag",
                            st.base, st.base_expanded
                        ),
                        "give the ARG a version tag as its default (e.g. `1.22`), and a digest for reproducible builds",
                    ));
                }
                continue;
            }
            match r.tag.as_deref() {
                None => out.push(Finding::new(
                    &Self::META,
                    ctx,
                    i,
                    span,
                    format!("`{}` has no tag, so it means `latest`", st.base),
                    "pin a version tag (e.g. `name:1.2-slim`), and a digest for reproducible builds",
                )),
                Some("latest") => out.push(Finding::new(
                    &Self::META,
                    ctx,
                    i,
                    span,
                    format!("`{}` follows the moving `latest` tag", st.base),
                    "pin a version tag (e.g. `name:1.2-slim`), and a digest for reproducible builds",
                )),
                _ => {}
            }
        }
    }
}

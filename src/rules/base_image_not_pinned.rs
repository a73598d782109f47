//! Rule DF102 base-image-not-pinned: one rule, documented by its `///` doc below (the user manual; `imgopt explain`).

use super::{Finding, Rule, RuleContext};
use crate::diag::Severity;

crate::declare_rule! {
    /// ## What it does
    /// Checks for a `FROM` of an external image without a `@sha256:` digest. Opt-in: it runs
    /// only when selected (`--select DF102`).
    ///
    /// ## Why is this bad?
    /// Even a version tag is re-pushed with every rebuild of the base (security updates, a new
    /// Debian point release), so the image and its size change under a fixed Dockerfile. A
    /// digest makes the base exact; a bot (Renovate, Dependabot) can keep it current. It is off
    /// by default because pinning has a maintenance cost (hadolint/hadolint#884). No size
    /// estimate.
    ///
    /// ## Example
    /// ```dockerfile
    /// FROM python:3.12-slim
    /// ```
    ///
    /// Use instead:
    /// ```dockerfile
    /// FROM python:3.12-slim@sha256:<digest>
    /// ```
    ///
    /// ## References
    /// - Docker docs, "Pin base image versions"
    ///   (<https://docs.docker.com/build/building/best-practices/#pin-base-image-versions>)
    pub BaseImageNotPinned, DF102, "base-image-not-pinned", Severity::Info, default_enabled = false
}

impl Rule for BaseImageNotPinned {
    fn check(&self, ctx: &RuleContext<'_>, out: &mut Vec<Finding>) {
        for st in ctx.needed_stages() {
            let Some(r) = super::context::base_image(st) else {
                continue;
            };
            if r.is_scratch() || r.digest.is_some() {
                continue;
            }
            let (i, span) = ctx.from_span(st);
            out.push(Finding::new(
                &Self::META,
                ctx,
                i,
                span,
                format!("`{}` is not pinned by digest", st.base),
                "append `@sha256:...` (the digest of the tag you test with) and let a bot update it",
            ));
        }
    }
}

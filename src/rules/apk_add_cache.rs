//! Rule DF203 apk-add-cache: one rule, documented by its `///` doc below (the user manual; `imgopt explain`).

use super::Measured;
use super::pkg::{self, Pm};
use super::{Finding, Rule, RuleContext};
use crate::diag::Severity;
use crate::estimate::heuristics;
use crate::fix::{Edit, Fix};
use crate::layers::waste::CacheKind;

crate::declare_rule! {
    /// ## What it does
    /// Checks for `apk add`, `apk update` or `apk upgrade` without `--no-cache` in a stage
    /// that ships in the final image, when the same `RUN` neither removes `/var/cache/apk` nor
    /// mounts a cache on it.
    ///
    /// ## Why is this bad?
    /// apk keeps the downloaded package index (`APKINDEX.*.tar.gz`) in `/var/cache/apk`, which
    /// is then committed into the layer: 1–2 MB per image (resyst-it/docker-bind9#11 ~1.8 MB;
    /// NLnetLabs/routinator#262 ~1.4 MB; govuk-pay/pay-adminusers#258 ~1 MB), a large share of
    /// a small Alpine image.
    ///
    /// ## Example
    /// ```dockerfile
    /// RUN apk update && apk add curl
    /// ```
    ///
    /// Use instead:
    /// ```dockerfile
    /// RUN apk add --no-cache curl
    /// ```
    ///
    /// ## References
    /// - hadolint DL3019 (<https://github.com/hadolint/hadolint/wiki/DL3019>); Trivy DS-0025; Dockle DKL-DI-0004
    /// - Alpine wiki, "Alpine Package Keeper" (<https://wiki.alpinelinux.org/wiki/Alpine_Package_Keeper>)
    pub ApkAddCache, DF203, "apk-add-cache", Severity::Warning, measured = Measured::Caches(&[CacheKind::Apk])
}

impl Rule for ApkAddCache {
    fn check(&self, ctx: &RuleContext<'_>, out: &mut Vec<Finding>) {
        for (_, i, cmds) in pkg::shipping_runs(ctx) {
            if pkg::removes(cmds, "/var/cache/apk") || ctx.has_cache_mount(i, &["/var/cache/apk", "/etc/apk/cache"]) {
                continue;
            }
            let offending = cmds.iter().find(|c| match pkg::pm_of(c) {
                Some((Pm::Apk, "add" | "update" | "upgrade")) => {
                    !c.has_flag("--no-cache") && !c.has_flag("--no-network")
                }
                _ => false,
            });
            if let Some(c) = offending {
                let sub = c.subcommand().map_or("add", |w| w.text.as_str()).to_string();
                // Only `apk add`s write the cache: `--no-cache` on each; else remove the cache
                // at the end of the RUN.
                let writers: Vec<&crate::dockerfile::shell::Command> = cmds
                    .iter()
                    .filter(|c| matches!(pkg::pm_of(c), Some((Pm::Apk, "add" | "update" | "upgrade"))))
                    .filter(|c| !c.has_flag("--no-cache") && !c.has_flag("--no-network"))
                    .collect();
                let fix = if writers.iter().all(|c| matches!(pkg::pm_of(c), Some((Pm::Apk, "add")))) {
                    let edits: Option<Vec<Edit>> = writers
                        .iter()
                        .map(|c| c.subcommand().map(|w| Edit::insert(w.span.end(), " --no-cache")))
                        .collect();
                    edits.map(|e| Fix::safe("add `--no-cache` to `apk add`", e))
                } else {
                    pkg::append_to_run(ctx, i, "rm -rf /var/cache/apk/*")
                        .map(|e| Fix::safe("remove /var/cache/apk in the same RUN", vec![e]))
                };
                let mut f = Finding::new(
                    &Self::META,
                    ctx,
                    i,
                    c.span_through(1).unwrap_or_default(),
                    format!("`apk {sub}` without `--no-cache` keeps the package index in /var/cache/apk"),
                    "use `apk add --no-cache ...` (it needs no `apk update`)",
                )
                .estimate(Some(heuristics::apk_cache()));
                if let Some(fix) = fix {
                    f = f.fix(fix);
                }
                out.push(f);
            }
        }
    }
}

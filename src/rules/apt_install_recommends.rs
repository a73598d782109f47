//! Rule DF202 apt-install-recommends: one rule, documented by its `///` doc below (the user manual; `imgopt explain`).

use super::pkg::{self, Pm};
use super::{Finding, Rule, RuleContext};
use crate::diag::Severity;
use crate::estimate::heuristics;
use crate::fix::{Edit, Fix};

crate::declare_rule! {
    /// ## What it does
    /// Checks for `apt-get install` (or `apt install`) without `--no-install-recommends` in a
    /// stage that ships in the final image, unless the Dockerfile configures
    /// `APT::Install-Recommends` itself. An install whose packages the same `RUN` removes
    /// again with an auto-remove (`apt-get remove -y git && apt-get autoremove -y`) is not
    /// reported: their recommended packages go with them.
    ///
    /// ## Why is this bad?
    /// By default apt also installs every "recommended" package, which the application rarely
    /// needs. One report measured ~40 MB (RPi-Distro/pi-gen#383); recommends can even pull in
    /// a compiler (docker-library/buildpack-deps#20). The saving depends on the packages, from
    /// nothing to tens of megabytes.
    ///
    /// ## Example
    /// ```dockerfile
    /// RUN apt-get update && apt-get install -y curl && rm -rf /var/lib/apt/lists/*
    /// ```
    ///
    /// Use instead:
    /// ```dockerfile
    /// RUN apt-get update && apt-get install -y --no-install-recommends curl \
    ///  && rm -rf /var/lib/apt/lists/*
    /// ```
    ///
    /// ## Fix safety
    /// Unsafe (`--fix --unsafe-fixes`): inserts `--no-install-recommends` after each
    /// `install` that lacks it. What is installed changes: a program that relied on a
    /// recommended package (a CA bundle, a locale, a helper binary) must list it explicitly.
    ///
    /// ## References
    /// - hadolint DL3015 (<https://github.com/hadolint/hadolint/wiki/DL3015>); Trivy DS-0029
    /// - RPi-Distro/pi-gen#383 (<https://github.com/RPi-Distro/pi-gen/issues/383>)
    pub AptInstallRecommends, DF202, "apt-install-recommends", Severity::Warning
}

impl Rule for AptInstallRecommends {
    fn check(&self, ctx: &RuleContext<'_>, out: &mut Vec<Finding>) {
        if ctx.src.contains("Install-Recommends") {
            return;
        }
        for (_, i, cmds) in pkg::shipping_runs(ctx) {
            let removed = pkg::removes_packages(cmds);
            // `apt-get autoremove` (or `remove --auto-remove`) takes the recommended packages
            // of what was removed with it.
            let autoremoves = cmds.iter().any(|c| {
                pkg::pm_of(c).is_some_and(|(pm, sub)| {
                    pm == Pm::Apt && (sub == "autoremove" || c.has_flag("--auto-remove") || c.has_flag("--autoremove"))
                })
            });
            for inst in pkg::installs(cmds) {
                if inst.pm != Pm::Apt || inst.packages.is_empty() || inst.cmd.has_flag("--no-install-recommends") {
                    continue;
                }
                // Build-time packages removed again in the same `RUN`, recommends and all.
                if autoremoves
                    && inst
                        .packages
                        .iter()
                        .all(|w| removed.iter().any(|r| r == "*" || r == pkg::package_name(&w.text)))
                {
                    continue;
                }
                let mut f = Finding::new(
                    &Self::META,
                    ctx,
                    i,
                    inst.head_span(),
                    "`apt-get install` without `--no-install-recommends` also installs recommended packages",
                    "add `--no-install-recommends` and list any recommended package you really need",
                )
                .estimate(Some(heuristics::apt_recommends()));
                // Right after the `install` word, so options and packages stay as written.
                if let Some(sub) = inst.cmd.subcommand() {
                    f = f.fix(Fix::unsafe_(
                        "add `--no-install-recommends` (recommended packages are no longer installed)",
                        vec![Edit::insert(sub.span.end(), " --no-install-recommends")],
                    ));
                }
                out.push(f);
            }
        }
    }
}

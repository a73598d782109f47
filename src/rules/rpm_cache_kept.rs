//! Rule DF206 rpm-cache-kept: one rule, documented by its `///` doc below (the user manual; `imgopt explain`).

use super::Measured;
use super::pkg::{self, Pm};
use super::{Finding, Rule, RuleContext};
use crate::diag::Severity;
use crate::estimate::heuristics;
use crate::layers::waste::CacheKind;

crate::declare_rule! {
    /// ## What it does
    /// Checks for `yum`, `dnf`, `microdnf` or `zypper` installs and updates in a stage that
    /// ships in the final image when the same `RUN` neither runs `clean all` (`zypper clean`)
    /// nor deletes the cache directory, and no cache is mounted on it.
    ///
    /// ## Why is this bad?
    /// These package managers keep repository metadata (and sometimes packages) under
    /// `/var/cache/{yum,dnf,libdnf5,zypp}`, committed into the layer. Measured: 18 MB, 395 →
    /// 377 MB (geerlingguy/docker-centos8-ansible#9); 195 MB, 659 → 464 MB
    /// (carlossg/docker-maven#161); 700 MB, 2.34 → 1.63 GB (ome/omero-server-docker#66).
    ///
    /// ## Example
    /// ```dockerfile
    /// RUN dnf install -y httpd
    /// ```
    ///
    /// Use instead:
    /// ```dockerfile
    /// RUN dnf install -y httpd && dnf clean all && rm -rf /var/cache/dnf
    /// ```
    ///
    /// ## References
    /// - hadolint DL3032, DL3036, DL3040 (<https://github.com/hadolint/hadolint/wiki/DL3032>, <https://github.com/hadolint/hadolint/wiki/DL3036>, <https://github.com/hadolint/hadolint/wiki/DL3040>)
    pub RpmCacheKept, DF206, "rpm-cache-kept", Severity::Warning, measured = Measured::Caches(&[CacheKind::Yum, CacheKind::Dnf, CacheKind::Zypper])
}

impl Rule for RpmCacheKept {
    fn check(&self, ctx: &RuleContext<'_>, out: &mut Vec<Finding>) {
        for (_, i, cmds) in pkg::shipping_runs(ctx) {
            let cleaned = cmds.iter().any(|c| {
                matches!(
                    pkg::pm_of(c),
                    Some((Pm::Yum | Pm::Dnf | Pm::Microdnf | Pm::Zypper, "clean" | "cc"))
                )
            }) || [
                "/var/cache/yum",
                "/var/cache/dnf",
                "/var/cache/libdnf5",
                "/var/cache/zypp",
            ]
            .iter()
            .any(|d| pkg::removes(cmds, d))
                || ctx.has_cache_mount(
                    i,
                    &[
                        "/var/cache/yum",
                        "/var/cache/dnf",
                        "/var/cache/libdnf5",
                        "/var/cache/zypp",
                    ],
                );
            if cleaned {
                continue;
            }
            let offending = cmds.iter().find(|c| match pkg::pm_of(c) {
                Some((Pm::Yum | Pm::Dnf | Pm::Microdnf, sub)) => {
                    matches!(sub, "install" | "groupinstall" | "reinstall" | "update" | "upgrade")
                        && !c.has_flag("--installroot")
                }
                Some((Pm::Zypper, sub)) => matches!(
                    sub,
                    "install" | "in" | "update" | "up" | "refresh" | "ref" | "dist-upgrade" | "dup"
                ),
                _ => false,
            });
            if let Some(c) = offending {
                let tool = c.name().unwrap_or("dnf").to_string();
                let clean = if tool == "zypper" {
                    "zypper clean --all".to_string()
                } else {
                    format!("{tool} clean all")
                };
                out.push(
                    Finding::new(
                        &Self::META,
                        ctx,
                        i,
                        c.span_through(1).unwrap_or_default(),
                        format!("`{tool}` leaves its metadata and package cache in this layer"),
                        format!("end this RUN with `&& {clean}`"),
                    )
                    .estimate(Some(heuristics::rpm_cache())),
                );
            }
        }
    }
}

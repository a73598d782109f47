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
    /// ships in the final image when the same `RUN` neither runs `clean all` (`zypper clean
    /// --all`) nor deletes the cache directory, and no cache is mounted on it. A clean of one
    /// cache only does not count: `dnf clean packages` keeps the repository metadata, `dnf
    /// clean metadata` the packages, and `zypper clean` without `--all` keeps the metadata.
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
    /// - dnf(8), "Clean Command" (<https://dnf.readthedocs.io/en/latest/command_ref.html#clean-command>);
    ///   zypper(8), `clean` (<https://en.opensuse.org/SDB:Zypper_manual>)
    /// - hadolint DL3032, DL3036, DL3040 (<https://github.com/hadolint/hadolint/wiki/DL3032>, <https://github.com/hadolint/hadolint/wiki/DL3036>, <https://github.com/hadolint/hadolint/wiki/DL3040>)
    pub RpmCacheKept, DF206, "rpm-cache-kept", Severity::Warning, measured = Measured::Caches(&[CacheKind::Yum, CacheKind::Dnf, CacheKind::Zypper])
}

impl Rule for RpmCacheKept {
    fn check(&self, ctx: &RuleContext<'_>, out: &mut Vec<Finding>) {
        for (_, i, cmds) in pkg::shipping_runs(ctx) {
            // A `clean` of one cache only (`dnf clean packages`, `dnf clean metadata`, `zypper
            // clean` without `--all`) leaves the other.
            let partial = cmds.iter().find(|c| {
                matches!(
                    pkg::pm_of(c),
                    Some((Pm::Yum | Pm::Dnf | Pm::Microdnf | Pm::Zypper, "clean" | "cc"))
                ) && !cleans_all(c)
            });
            let cleaned = cmds.iter().any(|c| {
                matches!(
                    pkg::pm_of(c),
                    Some((Pm::Yum | Pm::Dnf | Pm::Microdnf | Pm::Zypper, "clean" | "cc"))
                ) && cleans_all(c)
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
                let (message, help) = match partial {
                    Some(p) => {
                        let text = ctx.text(p.span().unwrap_or_default());
                        (
                            format!("`{tool}` leaves its cache in this layer: `{text}` clears only part of it"),
                            format!("use `{clean}` instead of `{text}`"),
                        )
                    }
                    None => (
                        format!("`{tool}` leaves its metadata and package cache in this layer"),
                        format!("end this RUN with `&& {clean}`"),
                    ),
                };
                out.push(
                    Finding::new(
                        &Self::META,
                        ctx,
                        i,
                        c.span_through(1).unwrap_or_default(),
                        message,
                        help,
                    )
                    .estimate(Some(heuristics::rpm_cache())),
                );
            }
        }
    }
}

/// Whether a `clean` command clears every cache: `yum`/`dnf`/`microdnf clean all` (or both
/// `packages` and `metadata`, with `dbcache` where yum keeps it), `zypper clean --all` (`-a`).
/// `dnf clean packages` keeps the repository metadata and `dnf clean metadata` the packages
/// (dnf(8), "Clean Command"); `zypper clean` without options removes only the packages
/// (zypper(8), `clean`).
fn cleans_all(c: &crate::dockerfile::shell::Command) -> bool {
    let args: Vec<&str> = c.args().iter().map(|w| w.text.as_str()).collect();
    if c.name() == Some("zypper") {
        return args
            .iter()
            .any(|a| *a == "--all" || (a.starts_with('-') && !a.starts_with("--") && a.contains('a')));
    }
    let kinds: Vec<&str> = args.iter().copied().filter(|a| !a.starts_with('-')).skip(1).collect();
    kinds.contains(&"all") || kinds.contains(&"packages") && kinds.contains(&"metadata")
}

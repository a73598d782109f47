//! Rule DF201 apt-lists-not-removed: one rule, documented by its `///` doc below (the user manual; `imgopt explain`).

use super::Measured;
use super::pkg::{self, Pm};
use super::{Finding, Rule, RuleContext};
use crate::diag::Severity;
use crate::estimate::heuristics;
use crate::fix::Fix;
use crate::layers::waste::CacheKind;

crate::declare_rule! {
    /// ## What it does
    /// Checks for `apt-get update` (or `apt update`) in a `RUN` of a stage that ships in the
    /// final image when the same `RUN` does not remove `/var/lib/apt/lists` and does not mount a
    /// cache on it. A removal kept in a variable and run with `eval` counts
    /// (`CLEANUP="rm -rf /var/lib/apt/lists/*"; ... eval "$CLEANUP"`).
    ///
    /// ## Why is this bad?
    /// The package index downloaded by `apt-get update` is committed into the layer and shipped
    /// with every pull, although nothing at runtime needs it. It is typically 10–40 MB
    /// uncompressed (rocker-org/rocker#45; progrium/cedarish#13; over 80 MB with many sources,
    /// phusion/baseimage-docker#41). Removing it in a later `RUN` saves nothing: the bytes stay
    /// in the earlier layer. Stages that are only copied from are not reported: their lists
    /// never reach the image. `apt-get clean` is not needed on official Debian and Ubuntu
    /// images, which clean `/var/cache/apt` automatically.
    ///
    /// ## Example
    /// ```dockerfile
    /// RUN apt-get update && apt-get install -y --no-install-recommends curl
    /// ```
    ///
    /// Use instead:
    /// ```dockerfile
    /// RUN apt-get update \
    ///  && apt-get install -y --no-install-recommends curl \
    ///  && rm -rf /var/lib/apt/lists/*
    /// ```
    /// or, with BuildKit, keep the lists out of the image entirely:
    /// ```dockerfile
    /// RUN --mount=type=cache,target=/var/lib/apt/lists,sharing=locked \
    ///     apt-get update && apt-get install -y --no-install-recommends curl
    /// ```
    ///
    /// ## References
    /// - hadolint DL3009 (<https://github.com/hadolint/hadolint/wiki/DL3009>)
    /// - Docker docs, "Building best practices", apt-get
    ///   (<https://docs.docker.com/build/building/best-practices/#apt-get>)
    pub AptListsNotRemoved, DF201, "apt-lists-not-removed", Severity::Warning, measured = Measured::Caches(&[CacheKind::AptLists])
}

/// A vendor's repository setup script fetched to be piped into a shell, which adds the
/// repository and runs `apt-get update` itself: NodeSource's `setup_N.x`
/// (<https://github.com/nodesource/distributions>, "the script ... runs apt-get update") and
/// packagecloud's `script.deb.sh` (<https://packagecloud.io/docs#os_distro_version>).
fn runs_repo_setup_script(c: &crate::dockerfile::shell::Command) -> bool {
    matches!(c.name(), Some("curl" | "wget"))
        && c.args().iter().any(|w| {
            let t = w.text.as_str();
            (t.contains("deb.nodesource.com/setup_") || t.contains("packagecloud.io/install/repositories/"))
                && !t.contains("rpm")
        })
}

impl Rule for AptListsNotRemoved {
    fn check(&self, ctx: &RuleContext<'_>, out: &mut Vec<Finding>) {
        for (_, i, cmds) in pkg::shipping_runs(ctx) {
            let Some(update) = cmds
                .iter()
                .find(|c| matches!(pkg::pm_of(c), Some((Pm::Apt, "update"))) || runs_repo_setup_script(c))
            else {
                continue;
            };
            if pkg::removes(cmds, "/var/lib/apt/lists")
                || pkg::removes(&pkg::evaluated(cmds), "/var/lib/apt/lists")
                || ctx.has_cache_mount(i, &["/var/lib/apt/lists"])
                || cmds
                    .iter()
                    .any(|c| matches!(pkg::pm_of(c), Some((Pm::Apt, "dist-clean"))))
            {
                continue;
            }
            let span = update.span_through(1).unwrap_or(ctx.dockerfile.instructions[i].span);
            let installs = !pkg::installs(cmds).is_empty();
            let via_script = !matches!(pkg::pm_of(update), Some((Pm::Apt, "update")));
            let (msg, help) = if via_script {
                (
                    "the repository setup script piped into a shell runs `apt-get update`, which leaves the package lists in this layer",
                    "end this RUN with `&& rm -rf /var/lib/apt/lists/*`",
                )
            } else if installs {
                (
                    "`apt-get update` leaves the package lists in this layer",
                    "end this RUN with `&& rm -rf /var/lib/apt/lists/*`, or mount a cache: `RUN --mount=type=cache,target=/var/lib/apt/lists,sharing=locked ...`",
                )
            } else {
                (
                    "`apt-get update` in a RUN of its own: the lists stay in this layer and go stale in the build cache",
                    "run `apt-get update`, the install and `rm -rf /var/lib/apt/lists/*` in one RUN",
                )
            };
            let mut f = Finding::new(&Self::META, ctx, i, span, msg, help).estimate(Some(heuristics::apt_lists()));
            if installs && let Some(e) = pkg::append_to_run(ctx, i, "rm -rf /var/lib/apt/lists/*") {
                f = f.fix(Fix::safe("remove the apt lists at the end of the same RUN", vec![e]));
            }
            out.push(f);
        }
    }
}

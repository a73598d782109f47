//! Rule DF403 useradd-without-no-log-init: one rule, documented by its `///` doc below (the user manual; `imgopt explain`).

use super::pkg;
use super::{Finding, Rule, RuleContext};
use crate::diag::Severity;
use crate::estimate::heuristics;

crate::declare_rule! {
    /// ## What it does
    /// Checks for `useradd` with a UID of 100000 or more (`-u`, `--uid`) and without `-l`
    /// (`--no-log-init`) in a stage that ships in the final image. A UID given as an ARG or ENV
    /// with a default is resolved; an unknown one is not reported.
    ///
    /// ## Why is this bad?
    /// `useradd` writes the user's record into `/var/log/lastlog` and `/var/log/faillog` at an
    /// offset proportional to the UID. On disk those files are sparse, but image layers store
    /// them in full (Go's archive/tar has no sparse support, moby/moby#5419): 292 bytes × UID
    /// for lastlog plus 32 bytes × UID for faillog. Reports range from a few MB to 1.23 TB
    /// (ucam-department-of-psychiatry/crate#183; jenkinsci/docker#1373). The estimate follows
    /// from the UID.
    ///
    /// ## Example
    /// ```dockerfile
    /// RUN useradd -u 1000000 app
    /// ```
    ///
    /// Use instead:
    /// ```dockerfile
    /// RUN useradd -l -u 1000000 app
    /// ```
    ///
    /// ## References
    /// - hadolint DL3046 (<https://github.com/hadolint/hadolint/wiki/DL3046>)
    /// - moby/moby#5419, sparse files in layers (<https://github.com/moby/moby/issues/5419>)
    pub UseraddWithoutNoLogInit, DF403, "useradd-without-no-log-init", Severity::Error
}

const THRESHOLD: u64 = 100_000;

impl Rule for UseraddWithoutNoLogInit {
    fn check(&self, ctx: &RuleContext<'_>, out: &mut Vec<Finding>) {
        for (s, i, cmds) in pkg::shipping_runs(ctx) {
            for c in cmds {
                if c.name() != Some("useradd") || c.has_short_or_long('l', &["--no-log-init"]) {
                    continue;
                }
                let Some(raw) = pkg::option_value(c, Some("-u"), &["--uid"]) else {
                    continue;
                };
                let resolved = if raw.contains('$') {
                    let name = raw
                        .trim_start_matches('$')
                        .trim_start_matches('{')
                        .trim_end_matches('}');
                    match ctx.env_at(s, i, name) {
                        Some(v) => v,
                        None => continue,
                    }
                } else {
                    raw.to_string()
                };
                let Ok(uid) = resolved.parse::<u64>() else {
                    continue;
                };
                if uid < THRESHOLD {
                    continue;
                }
                out.push(
                    Finding::new(
                        &Self::META,
                        ctx,
                        i,
                        c.span_through(0).unwrap_or_else(|| c.span().unwrap_or_default()),
                        format!(
                            "`useradd` with UID {uid} and no `-l` writes about {} of lastlog/faillog into the layer",
                            crate::units::ByteSize(uid.saturating_mul(292))
                        ),
                        "add `-l` (`--no-log-init`)",
                    )
                    .estimate(Some(heuristics::lastlog(uid))),
                );
            }
        }
    }
}

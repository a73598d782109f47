//! Rule DF404 consecutive-package-installs: one rule, documented by its `///` doc below (the user manual; `imgopt explain`).

use super::pkg;
use super::{Finding, Rule, RuleContext};
use crate::diag::Severity;
use crate::dockerfile::Keyword;

crate::declare_rule! {
    /// ## What it does
    /// Checks for two consecutive `RUN` instructions with the same flags in a stage that ships
    /// in the final image that both install packages with the same system package manager
    /// (apt, apk, dnf, yum, microdnf, zypper). Only this case is reported: merging them saves a
    /// layer of real waste. Consecutive `RUN`s in general are fine (they help the build
    /// cache).
    ///
    /// ## Why is this bad?
    /// Every install rewrites the package database (`/var/lib/dpkg/status`, apt's
    /// `extended_states`, `/lib/apk/db/installed`, the rpm database) and logs, so each layer
    /// stores its own full copy of them, and cleanup in one `RUN` cannot remove what the other
    /// left. The size depends on how many packages the base has, so no estimate is given.
    ///
    /// ## Example
    /// ```dockerfile
    /// RUN apk add --no-cache curl
    /// RUN apk add --no-cache jq
    /// ```
    ///
    /// Use instead:
    /// ```dockerfile
    /// RUN apk add --no-cache curl jq
    /// ```
    ///
    /// ## Fix safety
    /// Merging changes which steps the build cache reuses; imgopt does not merge by itself.
    ///
    /// ## References
    /// - hadolint DL3059 (consecutive RUN, info); Slim ID.20019
    pub ConsecutivePackageInstalls, DF404, "consecutive-package-installs", Severity::Info
}

impl Rule for ConsecutivePackageInstalls {
    fn check(&self, ctx: &RuleContext<'_>, out: &mut Vec<Finding>) {
        for st in ctx.shipping_stages() {
            let ins: Vec<(usize, &crate::dockerfile::Instruction)> = ctx.stage_instructions(st.index).collect();
            for pair in ins.windows(2) {
                let ((a, ia), (b, ib)) = (pair[0], pair[1]);
                if ia.keyword != Keyword::Run || ib.keyword != Keyword::Run {
                    continue;
                }
                let fa: Vec<&str> = ia.flags.iter().map(|f| &*f.text).collect();
                let fb: Vec<&str> = ib.flags.iter().map(|f| &*f.text).collect();
                if fa != fb {
                    continue;
                }
                let pa = pkg::installs(&ctx.commands[a])
                    .into_iter()
                    .filter(|x| !x.packages.is_empty())
                    .map(|x| x.pm)
                    .collect::<Vec<_>>();
                let Some(second) = pkg::installs(&ctx.commands[b])
                    .into_iter()
                    .find(|x| !x.packages.is_empty() && pa.contains(&x.pm))
                else {
                    continue;
                };
                let tool = second.cmd.name().unwrap_or("").to_string();
                out.push(
                    Finding::new(&Self::META, ctx, b, second.head_span(), format!("a second consecutive `RUN` installs packages with `{tool}`; each layer keeps its own copy of the package database"), format!("merge this install into the RUN on line {}", ia.start_line))
                        .related(ia.span, "previous install"),
                );
            }
        }
    }
}

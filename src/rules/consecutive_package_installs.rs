//! Rule DF404 consecutive-package-installs: one rule, documented by its `///` doc below (the user manual; `imgopt explain`).

use super::pkg::{self, Pm};
use super::{Finding, Rule, RuleContext};
use crate::diag::Severity;
use crate::dockerfile::Keyword;
use crate::dockerfile::shell::Command;

crate::declare_rule! {
    /// ## What it does
    /// Checks for two `RUN` instructions in a row (instructions that only set metadata, such
    /// as `ARG`, `ENV` or `LABEL`, may stand between them) with the same flags in a stage that
    /// ships in the final image, that both install packages with the same system package
    /// manager (apt, apk, dnf, yum, microdnf, zypper), where at least one of them leaves the
    /// package manager's waste in its layer: apt lists after `apt-get update` (without
    /// `apt-get dist-clean`), apk's index without `--no-cache` (or `--no-network`), or a
    /// dnf/yum/zypper cache without `clean all`. Merging such a pair
    /// lets one cleanup cover both installs. Pairs that each clean up after themselves are not
    /// reported (merging them saves only a copy of the package database), nor are installs
    /// that run only under a condition (`if [ "$X" = 1 ]; then apk add ...; fi`). Consecutive
    /// `RUN`s in general are fine (they help the build cache).
    ///
    /// ## Why is this bad?
    /// Every install rewrites the package database (`/var/lib/dpkg/status`, apt's
    /// `extended_states`, `/lib/apk/db/installed`, the rpm database) and logs, so each layer
    /// stores its own full copy of them, and cleanup in one `RUN` cannot remove what the other
    /// left: the index or cache one of them keeps stays in its layer. The size depends on the
    /// base and the repositories (apt lists are 10–76 MiB, see DF201), so no estimate is given
    /// here; the cache rules (DF201, DF203, DF207) estimate the cache itself.
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

/// Whether `cmds` leave `pm`'s index or cache in the layer of instruction `at`.
fn leaves_waste(ctx: &RuleContext<'_>, at: usize, cmds: &[Command], pm: Pm) -> bool {
    let runs = |sub: &[&str]| {
        cmds.iter()
            .any(|c| pkg::pm_of(c).is_some_and(|(p, s)| p == pm && sub.contains(&s)))
    };
    let kept = |dir: &str| !pkg::removes(cmds, dir) && !ctx.has_cache_mount(at, &[dir]);
    match pm {
        // `apt-get dist-clean` (apt 2.7) removes the lists too.
        Pm::Apt => runs(&["update"]) && !runs(&["dist-clean"]) && kept("/var/lib/apt/lists"),
        Pm::Apk => {
            let caches = pkg::installs(cmds)
                .iter()
                .any(|x| x.pm == Pm::Apk && !x.cmd.has_flag("--no-cache") && !x.cmd.has_flag("--no-network"))
                || runs(&["update"]);
            caches && kept("/var/cache/apk")
        }
        Pm::Yum | Pm::Dnf | Pm::Microdnf => {
            !runs(&["clean"]) && kept("/var/cache/yum") && kept("/var/cache/dnf") && kept("/var/cache/libdnf5")
        }
        Pm::Zypper => !runs(&["clean", "cc"]) && kept("/var/cache/zypp"),
    }
}

/// The unconditional installs of `RUN` `i` (stage `s`) that name packages.
fn installs<'c>(ctx: &'c RuleContext<'_>, s: usize, i: usize) -> Vec<pkg::Install<'c>> {
    let cmds = &ctx.commands[i];
    let cond = pkg::conditional_at(ctx, s, i);
    pkg::installs(cmds)
        .into_iter()
        .filter(|x| {
            !x.packages.is_empty()
                && cmds
                    .iter()
                    .position(|c| std::ptr::eq(c, x.cmd))
                    .is_some_and(|k| !cond[k])
        })
        .collect()
}

/// Instructions that only set metadata: a pair of `RUN`s around them is still "in a row".
fn metadata_only(k: Keyword) -> bool {
    matches!(
        k,
        Keyword::Arg
            | Keyword::Env
            | Keyword::Label
            | Keyword::Expose
            | Keyword::Maintainer
            | Keyword::Stopsignal
            | Keyword::Healthcheck
            | Keyword::Cmd
            | Keyword::Entrypoint
    )
}

impl Rule for ConsecutivePackageInstalls {
    fn check(&self, ctx: &RuleContext<'_>, out: &mut Vec<Finding>) {
        for st in ctx.shipping_stages() {
            let ins: Vec<(usize, &crate::dockerfile::Instruction)> = ctx
                .stage_instructions(st.index)
                .filter(|(_, inst)| !metadata_only(inst.keyword))
                .collect();
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
                let pa = installs(ctx, st.index, a).into_iter().map(|x| x.pm).collect::<Vec<_>>();
                let Some(second) = installs(ctx, st.index, b).into_iter().find(|x| {
                    pa.contains(&x.pm)
                        && (leaves_waste(ctx, a, &ctx.commands[a], x.pm)
                            || leaves_waste(ctx, b, &ctx.commands[b], x.pm))
                }) else {
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

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
    /// ships in the final image, that both install or upgrade packages with the same system
    /// package manager (apt, apk, dnf, yum, microdnf, zypper; `apt-get upgrade` in one and
    /// `apt-get install` in the next counts), where at least one of them leaves the
    /// package manager's waste in its layer: an apt `RUN` that removes neither the lists
    /// (`rm -rf /var/lib/apt/lists/*`, `apt-get dist-clean`) nor the archives (`apt-get
    /// clean`), also when the lists come from an earlier `apt-get update`, apk's index without `--no-cache` (or `--no-network`), or a
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
        // An install that cleans nothing (the lists an earlier `apt-get update` left are
        // still there) stores the package database again, as the one next to it does.
        Pm::Apt => !runs(&["dist-clean"]) && kept("/var/lib/apt/lists") && !runs(&["clean"]),
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

/// The unconditional commands of `RUN` `i` (stage `s`) that change the installed packages:
/// installs that name packages, and upgrades of them all (`apt-get upgrade`, `apk upgrade`,
/// `dnf update`), which rewrite the same database and leave the same index.
fn changes<'c>(ctx: &'c RuleContext<'_>, s: usize, i: usize) -> Vec<(Pm, &'c Command)> {
    let cmds = &ctx.commands[i];
    let cond = pkg::conditional_at(ctx, s, i);
    let unconditional = |c: &Command| cmds.iter().position(|x| std::ptr::eq(x, c)).is_some_and(|k| !cond[k]);
    let mut out: Vec<(Pm, &Command)> = pkg::installs(cmds)
        .into_iter()
        .filter(|x| !x.packages.is_empty() && unconditional(x.cmd))
        .map(|x| (x.pm, x.cmd))
        .collect();
    for c in cmds {
        if let Some((pm, sub)) = pkg::pm_of(c)
            && is_upgrade(pm, sub)
            && unconditional(c)
            && !out.iter().any(|(_, x)| std::ptr::eq(*x, c))
        {
            out.push((pm, c));
        }
    }
    out
}

/// Whether `sub` of `pm` upgrades the installed packages.
fn is_upgrade(pm: Pm, sub: &str) -> bool {
    match pm {
        Pm::Apt => matches!(sub, "upgrade" | "dist-upgrade" | "full-upgrade"),
        Pm::Apk => sub == "upgrade",
        Pm::Yum | Pm::Dnf | Pm::Microdnf => matches!(sub, "update" | "upgrade" | "distro-sync"),
        Pm::Zypper => matches!(sub, "update" | "up" | "dist-upgrade" | "dup"),
    }
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
                let pa = changes(ctx, st.index, a)
                    .into_iter()
                    .map(|(pm, _)| pm)
                    .collect::<Vec<_>>();
                let Some((_, second)) = changes(ctx, st.index, b).into_iter().find(|&(pm, _)| {
                    pa.contains(&pm)
                        && (leaves_waste(ctx, a, &ctx.commands[a], pm) || leaves_waste(ctx, b, &ctx.commands[b], pm))
                }) else {
                    continue;
                };
                let tool = second.name().unwrap_or("").to_string();
                let upgrade = |c: &Command| pkg::pm_of(c).is_some_and(|(pm, sub)| is_upgrade(pm, sub));
                let (verb, span) = if upgrade(second) {
                    ("upgrades", second.span_through(1).unwrap_or_default())
                } else {
                    let install = pkg::installs(std::slice::from_ref(second));
                    (
                        "installs",
                        install.first().map(pkg::Install::head_span).unwrap_or_default(),
                    )
                };
                let previous = if changes(ctx, st.index, a).iter().all(|(_, c)| upgrade(c)) {
                    "previous upgrade"
                } else {
                    "previous install"
                };
                out.push(
                    Finding::new(&Self::META, ctx, b, span, format!("a second consecutive `RUN` {verb} packages with `{tool}`; each layer keeps its own copy of the package database"), format!("merge this {} into the RUN on line {}", if verb == "upgrades" { "upgrade" } else { "install" }, ia.start_line))
                        .related(ia.span, previous),
                );
            }
        }
    }
}

//! Packages removed in a later layer than the one that installed them, for DF401
//! (deleted-in-later-layer): `apt-get remove gcc` (or `purge`, `apk del`, `dnf remove`, an apk
//! `--virtual` group by its name) in a `RUN` of the target image after another `RUN` of it
//! installed the package by name. The removal writes whiteouts; the package's files stay in the
//! installing layer and are pulled with every image.
//!
//! Owns: [`check`]. Does not: files deleted with `rm` (see `deleted_in_later_layer`).

use std::collections::BTreeMap;

use super::and_list;
use super::pkg::{self, Pm};
use super::{Finding, RuleContext, RuleMeta};

/// Reports each later-layer removal of packages an earlier `RUN` of the target installed.
pub(super) fn check(ctx: &RuleContext<'_>, meta: &'static RuleMeta, out: &mut Vec<Finding>) {
    // Package (or apk virtual group) name -> (package manager, installing instruction).
    let mut installed: BTreeMap<String, (Pm, usize)> = BTreeMap::new();
    for (s, i) in ctx.target_runs() {
        let cmds = &ctx.commands[i];
        let cond = pkg::conditional_at(ctx, s, i);
        for (k, c) in cmds.iter().enumerate() {
            if cond[k] {
                continue;
            }
            let Some((pm, _)) = pkg::pm_of(c) else { continue };
            let names: Vec<String> = pkg::removes_packages(std::slice::from_ref(c))
                .into_iter()
                .filter(|n| n != "*")
                .collect();
            let earlier: Vec<(&str, usize)> = names
                .iter()
                .filter_map(|n| {
                    installed
                        .get(n)
                        .filter(|&&(p, at)| p == pm && at < i)
                        .map(|&(_, at)| (n.as_str(), at))
                })
                .collect();
            let Some(&(_, at)) = earlier.first() else {
                continue;
            };
            let list: Vec<String> = earlier.iter().map(|(n, _)| format!("`{n}`")).collect();
            let tool = c
                .span_through(1)
                .map_or_else(String::new, |sp| ctx.text(sp).to_string());
            let inst = &ctx.dockerfile.instructions[at];
            out.push(
                Finding::new(
                    meta,
                    ctx,
                    i,
                    c.span_through(1).unwrap_or_default(),
                    format!(
                        "`{tool}` removes {}, which the RUN on line {} installed: {} files stay in that layer",
                        and_list(&list),
                        inst.start_line,
                        if list.len() == 1 { "its" } else { "their" }
                    ),
                    "install, use and remove build-only packages in the same RUN (or build in another stage and `COPY --from` the result)",
                )
                .related(inst.span, "installed here")
                .note("no estimate: the installed size of the packages is not known from the Dockerfile"),
            );
        }
        for x in pkg::installs(cmds) {
            let k = cmds.iter().position(|c| std::ptr::eq(c, x.cmd));
            if k.is_some_and(|k| cond[k]) {
                continue;
            }
            for w in &x.packages {
                installed.insert(pkg::package_name(&w.text).to_string(), (x.pm, i));
            }
            if let Some(v) = pkg::apk_virtual(x.cmd) {
                installed.insert(v.to_string(), (x.pm, i));
            }
        }
    }
}

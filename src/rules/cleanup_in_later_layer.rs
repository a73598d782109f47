//! A cleanup `RUN` of its own, for DF401 (deleted-in-later-layer): `RUN rm -rf /usr/share/doc
//! /var/lib/apt/lists/* /root/.cache` after earlier `RUN`s of the image installed packages.
//! What those installs wrote (docs, man pages, package lists, download caches) is in their
//! layers; deleting it in a new layer only adds whiteouts, so the image is no smaller.
//!
//! Owns: [`check`]. Does not: files from `COPY`, downloads and clones (see
//! `deleted_in_later_layer`), or packages removed later (see `packages_removed_later`).

use super::and_list;
use super::pkg::{self, Pm};
use super::{Finding, RuleContext, RuleMeta};
use crate::dockerfile::shell::Command;

/// What writes where: the folders an install of each kind fills as a side effect.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Writer {
    /// apt and dpkg: documentation, manuals, the package lists and archives.
    Apt,
    /// apk's index cache.
    Apk,
    /// dnf and yum caches.
    Rpm,
    /// pip's download and wheel cache.
    Pip,
    /// npm's and yarn's caches.
    Js,
}

/// The folders each writer fills (Debian's package layout, pip's and npm's documented cache
/// folders for root: <https://pip.pypa.io/en/stable/topics/caching/>,
/// <https://docs.npmjs.com/cli/v10/configuring-npm/folders#cache>).
const LOCATIONS: &[(Writer, &str)] = &[
    (Writer::Apt, "/usr/share/doc"),
    (Writer::Apt, "/usr/share/man"),
    (Writer::Apt, "/usr/share/info"),
    (Writer::Apt, "/var/lib/apt/lists"),
    (Writer::Apt, "/var/cache/apt"),
    (Writer::Apt, "/var/cache/debconf"),
    (Writer::Apt, "/var/log/apt"),
    (Writer::Apk, "/var/cache/apk"),
    (Writer::Rpm, "/var/cache/dnf"),
    (Writer::Rpm, "/var/cache/yum"),
    (Writer::Pip, "/root/.cache/pip"),
    (Writer::Pip, "/root/.cache"),
    (Writer::Js, "/root/.npm"),
    (Writer::Js, "/usr/local/share/.cache/yarn"),
    (Writer::Js, "/root/.cache/yarn"),
];

/// The writers a `RUN`'s commands are.
fn writers(cmds: &[Command]) -> Vec<Writer> {
    let mut out = Vec::new();
    for c in cmds {
        let w = match pkg::pm_of(c) {
            Some((Pm::Apt, "install" | "update" | "upgrade" | "dist-upgrade")) => Some(Writer::Apt),
            Some((Pm::Apk, "add" | "update" | "upgrade")) => Some(Writer::Apk),
            Some((Pm::Dnf | Pm::Yum | Pm::Microdnf, "install" | "update" | "upgrade")) => Some(Writer::Rpm),
            _ if pkg::pip_args(c).is_some_and(|a| a.first().is_some_and(|w| w.text == "install")) => Some(Writer::Pip),
            _ if matches!(c.name(), Some("npm" | "yarn" | "pnpm"))
                && c.subcommand()
                    .is_none_or(|w| matches!(w.text.as_str(), "install" | "i" | "ci" | "add")) =>
            {
                Some(Writer::Js)
            }
            _ => None,
        };
        if let Some(w) = w
            && !out.contains(&w)
        {
            out.push(w);
        }
    }
    out
}

/// Reports each `RUN` of the target image that deletes what earlier `RUN`s' installs wrote
/// (and installs nothing of that kind itself), once per `RUN`. `reported` are the
/// instructions DF401 already has a finding on.
pub(super) fn check(ctx: &RuleContext<'_>, meta: &'static RuleMeta, reported: &[usize], out: &mut Vec<Finding>) {
    // Each location, the latest RUN that wrote it and left it in its layer (a RUN that
    // installs and cleans up after itself leaves nothing there to delete later).
    let mut left: Vec<(&'static str, usize)> = Vec::new();
    for (s, i) in ctx.target_runs() {
        let cmds = &ctx.commands[i];
        let own = writers(cmds);
        if !reported.contains(&i) {
            let wd = super::deleted_in_later_layer::workdir(ctx, s, i);
            let mut hits: Vec<(&crate::dockerfile::shell::Word, usize)> = Vec::new();
            for (w, p) in pkg::resolved_rm_paths(cmds, &wd) {
                let Some(p) = p else { continue };
                let by = LOCATIONS.iter().find_map(|&(kind, loc)| {
                    (pkg::path_overlaps(&p, loc) && !own.contains(&kind))
                        .then(|| left.iter().find(|(l, _)| *l == loc).map(|&(_, at)| at))
                        .flatten()
                });
                if let Some(at) = by {
                    hits.push((w, at));
                }
            }
            if let Some(&(first, _)) = hits.first() {
                let words: Vec<String> = hits.iter().map(|(w, _)| format!("`{}`", w.text)).collect();
                let mut lines: Vec<usize> = hits
                    .iter()
                    .map(|&(_, at)| ctx.dockerfile.instructions[at].start_line)
                    .collect();
                lines.sort_unstable();
                lines.dedup();
                let lines: Vec<String> = lines.iter().map(ToString::to_string).collect();
                let at = hits[0].1;
                out.push(
                    Finding::new(
                        meta,
                        ctx,
                        i,
                        first.span,
                        format!(
                            "this RUN deletes {} in a layer of its own: what the {} on {} {} wrote there stays in {}",
                            and_list(&words),
                            if lines.len() == 1 { "install" } else { "installs" },
                            if lines.len() == 1 { "line" } else { "lines" },
                            and_list(&lines),
                            if lines.len() == 1 { "its layer" } else { "their layers" }
                        ),
                        "delete caches, lists and docs in the same RUN that writes them (`&& rm -rf /var/lib/apt/lists/*`, `--no-cache-dir`), or use a cache mount",
                    )
                    .related(ctx.dockerfile.instructions[at].span, "written here")
                    .note("no estimate: the cache rules (DF201, DF203, DF204, DF205) estimate what the installs leave"),
                );
            }
        }
        for &(kind, loc) in LOCATIONS {
            if !own.contains(&kind) {
                continue;
            }
            left.retain(|(l, _)| *l != loc);
            if !pkg::removes(cmds, loc) && !ctx.has_cache_mount(i, &[loc]) {
                left.push((loc, i));
            }
        }
    }
}

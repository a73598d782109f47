//! Rule DF402 recursive-chown-in-separate-layer: one rule, documented by its `///` doc below (the user manual; `imgopt explain`).

use super::Measured;
use super::deleted_in_later_layer::{
    CreatedIndex, MAX_CANDIDATES, MAX_SCAN, at_or_below, base_filled, bytes_under, created_items, relation,
    resolve_word, workdir, written_between,
};
use super::pkg;
use super::{Finding, Rule, RuleContext};
use crate::diag::Severity;
use crate::dockerfile::Keyword;
use crate::dockerfile::shell::Command;
use crate::estimate::Estimate;
use crate::fix::{Edit, Fix};
use crate::layers::waste::WasteKind;

crate::declare_rule! {
    /// ## What it does
    /// Checks for `chown -R`, `chgrp -R` or `chmod -R` in a `RUN` of a stage that ships in the
    /// final image over files an earlier `COPY`/`ADD`, `COPY --from`, a stage the image is built
    /// `FROM`, a download, a clone, an extracted archive or an `mv` of them wrote (DF401 lists
    /// them). Which paths below a copied folder count is the
    /// same as for DF401: the context has them, the folder is one of its own, or the
    /// `COPY --from` stage is seen writing them; variables, quotes and a glob in the last part
    /// are followed (`ADD sh/ ${BASE}/scripts/` then `chmod -R +x ${BASE}/scripts/*.sh`). A
    /// folder a `RUN` made (`mkdir -p logs &&
    /// chown -R app logs`), a volume filled at run time, a tree the same `RUN` deletes
    /// after re-owning it (its layer keeps no second copy) or deleted before (an unpacked
    /// tarball removed ahead of the `chown`; DF401 reports that delete) are not reported, and
    /// neither is a `chmod` of one file without `-R`.
    ///
    /// ## Why is this bad?
    /// Changing ownership or mode is a change to every file: the new layer stores a second
    /// full copy of the whole tree, and the first copy stays below it. Measured: 84 MB → 422 B
    /// for the fixed layer (scionproto/scion#2457), an 882 MB duplicate layer
    /// (sneezymud/sneezymud#461), 5.4 → 1.6 GiB (stackabletech/docker-images#961). The estimate
    /// is exact when the files come from the build context: the bytes the `chown` copies.
    ///
    /// ## Example
    /// ```dockerfile
    /// COPY . /app
    /// RUN chown -R app:app /app
    /// ```
    ///
    /// Use instead:
    /// ```dockerfile
    /// COPY --chown=app:app . /app
    /// ```
    /// (create the user before the `COPY`), and `COPY --chmod=755` for modes.
    ///
    /// ## Fix safety
    /// Unsafe (`--fix --unsafe-fixes`), for `chown -R USER:GROUP PATH` only: `--chown=USER:GROUP`
    /// is added to the `COPY`/`ADD` of the same stage whose destination is `PATH`, and the
    /// `chown` goes (the whole `RUN`, or its part of an `&&` chain). Offered only when that
    /// gives the same owners as far as the Dockerfile shows: that `COPY` is the only thing in
    /// the image's stages that writes or names `PATH` before the `chown`, no user or group is
    /// created between them (the `COPY` must resolve the names), `PATH` is not a folder a base
    /// image fills, and owner and group are both given (`--chown=app` would also set the
    /// group). When a `WORKDIR PATH` made the folder before the `COPY`, `COPY --chown` leaves
    /// that folder itself to root (moby/buildkit#790), so a non-recursive `chown USER:GROUP
    /// PATH` stays. A base image that already has files at `PATH` is the risk left to check.
    ///
    /// ## References
    /// - moby/buildkit#790 (`COPY --chown` leaves existing folders alone,
    ///   <https://github.com/moby/buildkit/issues/790>)
    /// - Dockerfile reference, `COPY --chown` and `--chmod`
    ///   (<https://docs.docker.com/reference/dockerfile/#copy---chown---chmod>)
    pub RecursiveChownInSeparateLayer, DF402, "recursive-chown-in-separate-layer", Severity::Warning, measured = Measured::Waste(WasteKind::MetadataOnly)
}

impl Rule for RecursiveChownInSeparateLayer {
    fn check(&self, ctx: &RuleContext<'_>, out: &mut Vec<Finding>) {
        if !ctx.product {
            return;
        }
        let created = created_items(ctx);
        if created.is_empty() {
            return;
        }
        let index = CreatedIndex::new(&created);
        for (s, i) in ctx.target_runs() {
            let wd = workdir(ctx, s, i);
            let cmds = &ctx.commands[i];
            // What the RUN removes, with the command that removes it: a re-owned tree that
            // the same RUN deletes afterwards leaves no second copy in its layer.
            let removed: Vec<(usize, String)> = pkg::resolved_rm_paths(cmds, &wd)
                .into_iter()
                .filter_map(|(w, p)| {
                    let k = cmds.iter().position(|c| c.words.iter().any(|cw| cw.span == w.span))?;
                    Some((k, p.or_else(|| resolve_word(ctx, s, i, &wd, &w.text))?))
                })
                .collect();
            for (k, (c, cwd)) in cmds.iter().zip(pkg::cwds(cmds, &wd)).enumerate() {
                let Some(tool @ ("chown" | "chmod" | "chgrp")) = c.name() else {
                    continue;
                };
                if !c.has_short_or_long('R', &["--recursive"]) {
                    continue;
                }
                let targets: Vec<_> = c.args().iter().filter(|w| !w.text.starts_with('-')).skip(1).collect();
                let mut total: Option<u64> = Some(0);
                let mut hit: Option<(&super::deleted_in_later_layer::Created, &crate::dockerfile::shell::Word)> = None;
                for w in &targets {
                    // `chown -R app $APP_HOME/data`: variables the Dockerfile sets are known.
                    let Some(path) = resolve_word(ctx, s, i, &cwd, &w.text) else {
                        continue;
                    };
                    let near = index.candidates(&path);
                    let mut made_by_run: Option<bool> = None;
                    // Latest first: a COPY into a copied tree is the one re-owned.
                    for cr in near
                        .iter()
                        .rev()
                        .map(|&n| &created[n])
                        .filter(|cr| cr.instr < i && cr.cache.is_none())
                        .take(MAX_CANDIDATES)
                    {
                        if let Some(sub) = relation(&path, cr) {
                            // The re-owned part of the item: all of it, or the path below it.
                            let region = if sub.is_empty() {
                                cr.path.as_str()
                            } else {
                                path.as_str()
                            };
                            if removed
                                .iter()
                                .any(|(j, r)| *j > k && at_or_below(region, r.strip_suffix("/*").unwrap_or(r)))
                            {
                                continue;
                            }
                            // The item was deleted earlier in this RUN (`rm -f x.tar.gz` after
                            // unpacking it): the chown no longer finds it (DF401 reports the
                            // delete).
                            if removed.iter().any(|(j, r)| {
                                *j < k && (cr.path == *r || at_or_below(&cr.path, r.strip_suffix("/*").unwrap_or(r)))
                            }) {
                                continue;
                            }
                            // Below a copied folder, but made there by a RUN (`mkdir -p logs`):
                            // decided once per target, at the latest copy it relates to.
                            if !sub.is_empty()
                                && cr.files.is_none()
                                && !cr.archive
                                && *made_by_run
                                    .get_or_insert_with(|| written_between(ctx, cr.instr, i, Some(k), &path, &cr.path))
                            {
                                continue;
                            }
                            hit.get_or_insert((cr, *w));
                            total = match (&cr.files, total) {
                                (Some(f), Some(t)) => Some(t + bytes_under(f, &sub)),
                                _ => None,
                            };
                        }
                    }
                }
                let Some((cr, w)) = hit else { continue };
                // A RUN in between that works inside the tree (`npm install` in /app) adds
                // files imgopt cannot size: then the context bytes are only part of it.
                let target_path = resolve_word(ctx, s, i, &cwd, &w.text).unwrap_or_else(|| pkg::join(&cwd, &w.text));
                let grown = (cr.instr + 1..i).find(|&k| {
                    ctx.dockerfile.instructions[k].keyword == Keyword::Run
                        && ctx.stage_of[k].is_some_and(|ks| {
                            let kwd = pkg::workdir_at(ctx, ks, k);
                            pkg::path_overlaps(&kwd, &target_path)
                        })
                });
                if grown.is_some() {
                    total = None;
                }
                let cinst = &ctx.dockerfile.instructions[cr.instr];
                let flag = if tool == "chmod" { "--chmod" } else { "--chown" };
                let mut f = Finding::new(
                    &Self::META,
                    ctx,
                    i,
                    c.span_through(1).map_or(w.span, |s| crate::dockerfile::Span::new(s.start(), w.span.end().max(s.end()))),
                    format!("`{tool} -R` in its own layer copies every file {} wrote (line {}) a second time", cr.what, cinst.start_line),
                    format!("set ownership or mode while copying: `{} {flag}=...` (create the user before it), and drop this `{tool} -R`", cinst.cmd.to_ascii_uppercase()),
                )
                .related(cinst.span, "files written here")
                .estimate(total.filter(|t| *t > 0).map(Estimate::exact));
                if let Some(k) = grown {
                    f = f.note(format!(
                        "no estimate: the RUN on line {} may add files under {target_path} that are copied too",
                        ctx.dockerfile.instructions[k].start_line
                    ));
                } else if total.is_none_or(|t| t == 0) {
                    f = f.note(
                        "no estimate: the size of the copied files is not known (give --context to measure them)",
                    );
                }
                if tool == "chown"
                    && let Some(fix) = chown_fix(ctx, s, i, k, &cwd)
                {
                    f = f.fix(fix);
                }
                out.push(f);
            }
        }
    }
}

/// Commands that create users or groups: a `COPY --chown` before them could not resolve the name.
fn creates_users(c: &Command) -> bool {
    matches!(
        c.name(),
        Some("useradd" | "adduser" | "groupadd" | "addgroup" | "usermod")
    )
}

/// Whether a command's words or working directory touch `p` (a path at, above or below it).
fn touches(c: &Command, cwd: &str, p: &str) -> bool {
    if cwd.starts_with('\u{0}') || pkg::path_overlaps(cwd, p) && cwd.len() >= p.len() {
        return true;
    }
    // Every other word may be a path relative to the working directory, except the names
    // `useradd app` and the like take.
    let users = creates_users(c);
    c.args().iter().any(|w| {
        let t = w.text.as_str();
        !t.starts_with('-')
            && !t.contains('$')
            && (t.contains('/') || !users)
            && pkg::path_overlaps(&pkg::join(cwd, t), p)
    })
}

/// The unsafe fix for `chown -R U:G PATH` (command `k` of `RUN` `i` in stage `s`): add
/// `--chown=U:G` to the one `COPY`/`ADD` of the same stage that wrote `PATH`, and drop the
/// command (the `RUN`, or its part of an `&&` chain). Offered only when that is the same
/// result as far as the Dockerfile shows: `PATH` is the `COPY`'s destination, nothing else in
/// the image's stages writes or names `PATH` before the `chown`, no user or group is created
/// between the `COPY` and the `chown`, and `PATH` is not a folder a base image fills. When a
/// `WORKDIR PATH` made the folder before the `COPY`, that folder keeps root as owner under
/// `COPY --chown` (moby/buildkit#790), so `chown U:G PATH` (not recursive) stays.
fn chown_fix(ctx: &RuleContext<'_>, s: usize, i: usize, k: usize, cwd: &str) -> Option<Fix> {
    let c = &ctx.commands[i][k];
    let args = c.args();
    let (opts, operands): (Vec<_>, Vec<_>) = args.iter().partition(|w| w.text.starts_with('-'));
    let opts_ok = opts.iter().all(|w| {
        matches!(w.text.as_str(), "--recursive" | "--verbose" | "--silent" | "--quiet")
            || (!w.text.starts_with("--") && w.text[1..].chars().all(|ch| matches!(ch, 'R' | 'v' | 'f')))
    });
    let [owner, target] = operands.as_slice() else {
        return None;
    };
    let (u, g) = owner.text.split_once(':')?;
    let name_ok = |x: &str| {
        !x.is_empty()
            && x.chars()
                .all(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '_' | '-' | '.'))
    };
    if !opts_ok || !name_ok(u) || !name_ok(g) {
        return None;
    }
    let t = target.text.as_str();
    if t.contains(['$', '*', '?', '[', '`', '~']) || cwd.starts_with('\u{0}') && !t.starts_with('/') {
        return None;
    }
    let p = pkg::join(cwd, t);
    let p = p.trim_end_matches('/').to_string();
    if p.contains("/./") || p.contains("/../") || p.ends_with("/..") || p.ends_with("/.") || base_filled(&p) {
        return None;
    }
    let numeric = u.bytes().all(|b| b.is_ascii_digit()) && g.bytes().all(|b| b.is_ascii_digit());
    let mut chain = ctx.chain(s);
    chain.reverse();
    let before: usize = chain.iter().map(|&st| ctx.stages[st].instructions.len()).sum();
    if before > MAX_SCAN {
        return None;
    }
    let mut copy: Option<usize> = None;
    let mut workdir_made = false;
    for st in chain {
        for (j, inst) in ctx.stage_instructions(st) {
            if j >= i {
                break;
            }
            let wd = pkg::workdir_at(ctx, st, j);
            match inst.keyword {
                Keyword::Copy | Keyword::Add => {
                    let v = inst.values();
                    let dest = v.last()?;
                    let dest = pkg::join(&wd, &ctx.expand_at(st, j, dest));
                    let dest = dest.trim_end_matches('/');
                    if dest.contains('$') || !pkg::path_overlaps(dest, &p) {
                        continue;
                    }
                    if dest != p || copy.is_some() || st != s {
                        return None;
                    }
                    copy = Some(j);
                }
                Keyword::Workdir => {
                    let v = ctx.expand_at(st, j, inst.values().first()?);
                    let w = pkg::join(&wd, &v);
                    let w = w.trim_end_matches('/');
                    if w == p && copy.is_none() {
                        workdir_made = true;
                    } else if pkg::path_overlaps(w, &p) && w.len() > p.len() || w.contains('$') {
                        return None;
                    }
                }
                Keyword::Volume
                    if inst
                        .values()
                        .iter()
                        .any(|v| pkg::path_overlaps(v.trim_matches(['[', ']', '"']), &p)) =>
                {
                    return None;
                }
                Keyword::Run => {
                    let cmds = &ctx.commands[j];
                    if cmds.is_empty() && !inst.args.is_empty() {
                        return None; // exec form or a shell imgopt does not read
                    }
                    for (x, xcwd) in cmds.iter().zip(pkg::cwds(cmds, &wd)) {
                        if touches(x, &xcwd, &p) || (copy.is_some() && !numeric && creates_users(x)) {
                            return None;
                        }
                    }
                }
                _ => {}
            }
        }
    }
    let j = copy?;
    // Commands of this RUN before the chown run on the copied files too.
    let cmds = &ctx.commands[i];
    let wd = pkg::workdir_at(ctx, s, i);
    for (x, xcwd) in cmds.iter().zip(pkg::cwds(cmds, &wd)).take(k) {
        if touches(x, &xcwd, &p) || (!numeric && creates_users(x)) {
            return None;
        }
    }
    let cinst = &ctx.dockerfile.instructions[j];
    if cinst.json || !cinst.heredocs.is_empty() || cinst.flag("chown").is_some() {
        return None;
    }
    if cinst.keyword == Keyword::Add {
        let srcs = cinst.values();
        let archive = |x: &str| {
            [
                ".tar", ".tgz", ".tbz", ".tbz2", ".txz", ".tar.gz", ".tar.bz2", ".tar.xz", ".tar.zst",
            ]
            .iter()
            .any(|e| x.ends_with(e))
        };
        if srcs[..srcs.len() - 1]
            .iter()
            .any(|x| x.contains("://") || x.contains('@') || archive(x))
        {
            return None;
        }
    }
    let first = cinst.args.first()?;
    let mut edits = vec![Edit::insert(first.span.start(), format!("--chown={u}:{g} "))];
    let run_edit = if workdir_made {
        Edit::replace(c.span()?, format!("chown {u}:{g} {t}"))
    } else if pkg::sole_command(ctx, i, k) {
        pkg::delete_instruction(ctx, i)
    } else {
        pkg::remove_from_and_chain(ctx, i, k)?
    };
    edits.push(run_edit);
    let msg = if workdir_made {
        format!(
            "set the owner in the COPY on line {} (`--chown={u}:{g}`) and keep only the folder's own `chown`",
            cinst.start_line
        )
    } else {
        format!(
            "set the owner in the COPY on line {} (`--chown={u}:{g}`) and drop the `chown -R`",
            cinst.start_line
        )
    };
    Some(Fix::unsafe_(msg, edits))
}

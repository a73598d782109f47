//! Rule DF402 recursive-chown-in-separate-layer: one rule, documented by its `///` doc below (the user manual; `imgopt explain`).

use super::Measured;
use super::deleted_in_later_layer::{CreatedIndex, bytes_under, created_items, relation};
use super::pkg;
use super::{Finding, Rule, RuleContext};
use crate::diag::Severity;
use crate::dockerfile::Keyword;
use crate::estimate::Estimate;
use crate::layers::waste::WasteKind;

crate::declare_rule! {
    /// ## What it does
    /// Checks for `chown -R` or `chmod -R` in a `RUN` of a stage that ships in the final image
    /// over files an earlier `COPY`/`ADD` (or download, or clone) wrote.
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
    /// ## References
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
            let wd = pkg::workdir_at(ctx, s, i);
            let cmds = &ctx.commands[i];
            for (c, cwd) in cmds.iter().zip(pkg::cwds(cmds, &wd)) {
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
                    if w.text.contains('$') || (cwd.starts_with('\u{0}') && !w.text.starts_with('/')) {
                        continue;
                    }
                    let path = pkg::join(&cwd, &w.text);
                    let near = index.candidates(&path);
                    for cr in near
                        .iter()
                        .map(|&n| &created[n])
                        .filter(|cr| cr.instr < i && cr.cache.is_none())
                    {
                        if let Some(sub) = relation(&path, cr) {
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
                let target_path = pkg::join(&cwd, &w.text);
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
                out.push(f);
            }
        }
    }
}

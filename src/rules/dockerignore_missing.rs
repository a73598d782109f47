//! Rule DF303 dockerignore-missing: one rule, documented by its `///` doc below (the user manual; `imgopt explain`).

use super::copy_all_before_dependency_install::copies_whole_context;
use super::{Finding, Rule, RuleContext};
use crate::diag::Severity;
use crate::estimate::Estimate;

crate::declare_rule! {
    /// ## What it does
    /// Checks, when the build context is known (a Dockerfile on disk, or `--context DIR`),
    /// that a `COPY .`/`ADD .` of the whole context is protected by a `.dockerignore` (or
    /// `<Dockerfile>.dockerignore`) that leaves out entries which look accidental: `.git`,
    /// `node_modules`, `.venv`, a top-level `target/`, `__pycache__`, `*.log` and `.env`. It
    /// reports a missing ignore file or one that lets such entries through, but only when such
    /// entries are actually in the context (a clean context needs no ignore file).
    ///
    /// ## Why is this bad?
    /// Everything in the context is sent to the builder on every build, and a wholesale `COPY`
    /// puts it in the image: repository history, local dependency folders, build output,
    /// logs, and secrets in `.env`. It also busts the build cache whenever any of those files
    /// changes. The estimate is exact: the bytes of the accidental entries that the `COPY`
    /// would put into the image (none when the copying stage does not ship).
    ///
    /// ## Example
    /// ```dockerfile
    /// COPY . /app
    /// ```
    /// with no `.dockerignore` next to a `.git` folder.
    ///
    /// Use instead: a `.dockerignore` such as
    /// ```text
    /// .git
    /// **/node_modules
    /// **/__pycache__
    /// **/*.log
    /// .env
    /// ```
    ///
    /// ## References
    /// - Docker docs, ".dockerignore files" (<https://docs.docker.com/build/concepts/context/#dockerignore-files>)
    /// - BuildKit build check `CopyIgnoredFile` (<https://docs.docker.com/reference/build-checks/copy-ignored-file/>)
    pub DockerignoreMissing, DF303, "dockerignore-missing", Severity::Warning
}

impl Rule for DockerignoreMissing {
    fn check(&self, ctx: &RuleContext<'_>, out: &mut Vec<Finding>) {
        let Some(bc) = ctx.build_context else { return };
        // The first wholesale copy, preferring one in a shipping stage.
        let mut copies: Vec<(usize, bool)> = Vec::new();
        for st in ctx.needed_stages() {
            for (i, _) in ctx.stage_instructions(st.index) {
                if copies_whole_context(ctx, st.index, i) {
                    copies.push((i, st.ships));
                }
            }
        }
        let Some(&(i, ships)) = copies.iter().find(|(_, s)| *s).or(copies.first()) else {
            return;
        };
        let acc = bc.accidental();
        let inst = &ctx.dockerfile.instructions[i];
        let listed: Vec<String> = acc
            .iter()
            .take(5)
            .map(|a| format!("{} ({})", a.path, a.bytes))
            .collect();
        let bytes: u64 = acc.iter().map(|a| a.bytes.0).sum();
        let estimate = (ships && bytes > 0).then(|| Estimate::exact(bytes));
        match (&bc.ignore_file, acc.is_empty()) {
            (None, false) => {
                let msg = format!(
                    "the whole build context is copied and there is no .dockerignore; it includes {}",
                    listed.join(", ")
                );
                let mut f = Finding::new(
                    &Self::META,
                    ctx,
                    i,
                    inst.span,
                    msg,
                    "add a .dockerignore that leaves out .git, dependency folders, build output, logs and .env",
                )
                .estimate(estimate);
                if !ships {
                    f = f.note(
                        "this stage does not ship, so the entries cost build time and cache hits, not image size",
                    );
                }
                out.push(f);
            }
            (Some(path), false) => {
                let name = path
                    .file_name()
                    .map_or_else(|| ".dockerignore".to_string(), |n| n.to_string_lossy().to_string());
                let mut f = Finding::new(
                    &Self::META,
                    ctx,
                    i,
                    inst.span,
                    format!(
                        "{name} lets accidental entries into a wholesale copy: {}",
                        listed.join(", ")
                    ),
                    format!("add them to {name}"),
                )
                .estimate(estimate);
                if !ships {
                    f = f.note(
                        "this stage does not ship, so the entries cost build time and cache hits, not image size",
                    );
                }
                out.push(f);
            }
            (_, true) => {}
        }
    }
}

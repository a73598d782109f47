//! Rule DF304 broad-copy-from-build-stage: one rule, documented by its `///` doc below (the user manual; `imgopt explain`).

use super::{Finding, Rule, RuleContext, pkg};
use crate::diag::Severity;
use crate::dockerfile::Keyword;

crate::declare_rule! {
    /// ## What it does
    /// Checks for `COPY --from=STAGE DIR ...` into a stage that ships, where `DIR` is a folder
    /// into which `STAGE` copied the whole build context (`COPY . .` in its `WORKDIR`) and then
    /// ran a build tool (`go`, `cargo`, `npm`, `make`, `mvn`, `dotnet`, ...) there: the copy takes the sources, build-tool caches and intermediates along with the
    /// artefact. Copies of a file or a subfolder (`/app/dist`, `/app/node_modules`), copies
    /// from stages that did not copy the context there, and copies of a folder the stage
    /// cleaned after building (a later `rm` of three or more of its entries: `rm -rf src build
    /// .yarn`) are not reported. Ruby and PHP
    /// builds (`bundle`, `composer`) do not count: those applications run from their source.
    ///
    /// Also reported: a copy of a folder, or of everything in it (`COPY --from=build
    /// /extensions/* /opt/extensions`), where the stage downloaded an archive (`curl -o
    /// sqlean.tar.gz`, `wget URL.tgz`) that nothing removed: the archive and the source tree
    /// unpacked beside it ship with the built files.
    ///
    /// Also reported: a copy of a whole Next.js `.next` folder from a stage that built it
    /// (`next build`, `npm run build`) and did not remove `.next/cache`, Next.js's build
    /// cache, which the server does not read.
    ///
    /// ## Why is this bad?
    /// The point of a builder stage is that only the build output reaches the image. Copying
    /// the builder's working folder back ships the source tree, `.git` leftovers the
    /// `.dockerignore` let through, dependency caches and object files, which is often most of
    /// the builder's size. There is no estimate: the size depends on the project.
    ///
    /// ## Example
    /// ```dockerfile
    /// FROM node:22 AS build
    /// WORKDIR /app
    /// COPY . .
    /// RUN npm ci && npm run build
    /// FROM node:22-slim
    /// COPY --from=build /app /app
    /// ```
    ///
    /// Use instead:
    /// ```dockerfile
    /// COPY --from=build /app/dist /app/dist
    /// ```
    ///
    /// ## References
    /// - Docker docs, "Multi-stage builds" (<https://docs.docker.com/build/building/multi-stage/>)
    pub BroadCopyFromBuildStage, DF304, "broad-copy-from-build-stage", Severity::Warning
}

/// Programs that build in the folder they run in (compilers, bundlers, dependency installers).
/// Not `bundle` or `composer`: a Ruby or PHP application ships its source, so building assets
/// in its folder (`bundle exec rails assets:precompile`) does not make the folder broad.
const BUILDERS: &[&str] = &[
    "go",
    "cargo",
    "npm",
    "yarn",
    "pnpm",
    "npx",
    "make",
    "cmake",
    "mvn",
    "mvnw",
    "./mvnw",
    "gradle",
    "gradlew",
    "./gradlew",
    "dotnet",
    "tsc",
    "gcc",
    "g++",
    "mix",
    "stack",
    "cabal",
];

/// How many of a folder's entries a later `rm` must delete for the folder to count as cleaned
/// of its sources and intermediates.
const CLEANED: usize = 3;

/// Folders into which stage `s` (or its `FROM` chain) copied the whole build context and then
/// built there (a `RUN` of a build tool with that folder as its WORKDIR).
fn context_dirs(ctx: &RuleContext<'_>, s: usize) -> Vec<String> {
    let mut copied: Vec<(String, usize)> = Vec::new();
    let mut chain = ctx.chain(s);
    chain.reverse();
    let mut out = Vec::new();
    // Folders cleaned of their sources, and the instruction that did it.
    let mut cleaned: Vec<(String, usize)> = Vec::new();
    for st in chain {
        for (i, inst) in ctx.stage_instructions(st) {
            let wd = ctx.workdir_at(st, i);
            let srcs = super::context::context_sources(inst);
            if srcs.iter().any(|x| super::context::whole_context(x)) {
                let v = inst.values();
                if let Some(dest) = v.last() {
                    copied.push((pkg::join(wd, dest).trim_end_matches('/').to_string(), i));
                }
            }
            if inst.keyword == Keyword::Run
                && ctx.commands[i]
                    .iter()
                    .any(|c| c.name().is_some_and(|n| BUILDERS.contains(&n)))
            {
                let wd = wd.trim_end_matches('/');
                for (d, at) in &copied {
                    // A folder cleaned after an earlier build holds the sources again only
                    // when a later whole-context copy put them back.
                    let cleaned_after = cleaned.iter().any(|(c, when)| c == d && when > at);
                    if *at < i && d == wd && !out.contains(d) && !cleaned_after {
                        out.push(d.clone());
                    }
                }
            }
            // A builder that deletes its sources and intermediates after building (`rm -rf
            // src build .yarn`) leaves what the copy should take.
            if inst.keyword == Keyword::Run {
                let removed: Vec<String> = pkg::resolved_rm_paths(&ctx.commands[i], wd)
                    .into_iter()
                    .filter_map(|(_, p)| p)
                    .collect();
                out.retain(|d: &String| {
                    let keep = removed.iter().filter(|p| p.starts_with(&format!("{d}/"))).count() < CLEANED;
                    if !keep {
                        cleaned.push((d.clone(), i));
                    }
                    keep
                });
            }
        }
    }
    out
}

/// How many kept downloads [`kept_downloads`] follows per stage.
const MAX_DOWNLOADS: usize = 64;

/// Archives a `RUN` of stage `s` (or its `FROM` chain) downloaded (`curl -o x.tar.gz`, `wget`)
/// and nothing removed afterwards, with the line of the download: they lie where the stage
/// unpacked and built them, next to the sources they held.
fn kept_downloads(ctx: &RuleContext<'_>, s: usize) -> Vec<(String, usize)> {
    const ARCHIVES: &[&str] = &[
        ".tar.gz", ".tgz", ".tar.xz", ".txz", ".tar.bz2", ".tbz2", ".tar.zst", ".zip", ".tar",
    ];
    let mut chain = ctx.chain(s);
    chain.reverse();
    let mut out: Vec<(String, usize)> = Vec::new();
    for st in chain {
        for (i, inst) in ctx.stage_instructions(st).take(super::deleted_in_later_layer::MAX_SCAN) {
            if inst.keyword != Keyword::Run {
                continue;
            }
            let cmds = &ctx.commands[i];
            let wd = ctx.workdir_at(st, i);
            for (k, cwd) in pkg::cwds(cmds, wd).iter().enumerate() {
                for (p, ..) in super::deleted_in_later_layer::run_creates(cmds, k, cwd) {
                    // At most MAX_DOWNLOADS (each later RUN's deletes are checked against all).
                    if ARCHIVES.iter().any(|e| p.ends_with(e)) && !p.contains('$') && out.len() < MAX_DOWNLOADS {
                        out.push((p, i));
                    }
                }
            }
            let removed: Vec<String> = pkg::resolved_rm_paths(cmds, wd)
                .into_iter()
                .filter_map(|(_, p)| p)
                .collect();
            out.retain(|(p, _)| !removed.iter().any(|r| super::deleted_in_later_layer::at_or_below(p, r)));
        }
    }
    out
}

/// Whether stage `s` (or its `FROM` chain) ran a Next.js build (`next build`, or a `build`
/// script through npm, yarn or pnpm) and did not remove `next_dir/cache` afterwards.
fn keeps_next_cache(ctx: &RuleContext<'_>, s: usize, next_dir: &str) -> bool {
    let mut built = false;
    let cache = format!("{next_dir}/cache");
    let mut chain = ctx.chain(s);
    chain.reverse();
    for st in chain {
        for (i, inst) in ctx.stage_instructions(st) {
            if inst.keyword != Keyword::Run {
                continue;
            }
            let cmds = &ctx.commands[i];
            let builds = cmds.iter().any(|c| {
                let words: Vec<&str> = c.effective().iter().map(|w| w.text.as_str()).collect();
                matches!(
                    words.as_slice(),
                    ["next" | "npx" | "yarn" | "pnpm", "build", ..]
                        | ["npx", "next", "build", ..]
                        | ["npm" | "pnpm" | "yarn", "run", "build", ..]
                )
            });
            built |= builds;
            let wd = ctx.workdir_at(st, i);
            if built
                && pkg::resolved_rm_paths(cmds, wd)
                    .iter()
                    .any(|(_, p)| p.as_deref().is_some_and(|p| pkg::path_overlaps(p, &cache)))
            {
                return false;
            }
        }
    }
    built
}

impl Rule for BroadCopyFromBuildStage {
    fn check(&self, ctx: &RuleContext<'_>, out: &mut Vec<Finding>) {
        if !ctx.runtime {
            return;
        }
        // Per source stage, computed once (many copies from one stage stay linear).
        let mut memo: std::collections::BTreeMap<usize, Vec<String>> = std::collections::BTreeMap::new();
        let mut downloads: std::collections::BTreeMap<usize, Vec<(String, usize)>> = std::collections::BTreeMap::new();
        for st in ctx.shipping_stages() {
            for (i, inst) in ctx.stage_instructions(st.index) {
                if inst.keyword != Keyword::Copy {
                    continue;
                }
                let Some(from) = inst.flag("from").and_then(|f| f.value()) else {
                    continue;
                };
                let lower = from.to_ascii_lowercase();
                let Some(src) = ctx
                    .stages
                    .iter()
                    .take(st.index)
                    .find(|s| s.name.as_deref() == Some(lower.as_str()) || s.index.to_string() == lower)
                else {
                    continue;
                };
                let end_wd = ctx.workdir_at(src.index, src.instructions.end).to_string();
                let n = inst.args.len();
                for a in inst.args.iter().take(n.saturating_sub(1)) {
                    let text = a.value.text();
                    let path = pkg::join(&end_wd, &text);
                    let path = path.trim_end_matches('/').trim_end_matches("/.");
                    if path.rsplit('/').next() == Some(".next") && keeps_next_cache(ctx, src.index, path) {
                        out.push(
                            Finding::new(
                                &Self::META,
                                ctx,
                                i,
                                a.span,
                                format!("`COPY --from={from} {text}` copies the whole `.next` folder, with Next.js's build cache `.next/cache`"),
                                "copy `.next/standalone` and `.next/static` (`output: 'standalone'`), or `rm -rf .next/cache` after `next build` in the builder",
                            )
                            .note("no estimate: the build cache grows with the pages and images the build processed"),
                        );
                        continue;
                    }
                    // A folder (or all of it, `DIR/*`) where the stage downloaded an archive
                    // it kept: the copy takes the archive and what it unpacked.
                    let folder = path.strip_suffix("/*").unwrap_or(path);
                    if !folder.is_empty() && !super::deleted_in_later_layer::base_filled(folder) {
                        let kept = downloads
                            .entry(src.index)
                            .or_insert_with(|| kept_downloads(ctx, src.index));
                        if let Some((archive, at)) = kept.iter().find(|(p, _)| p.starts_with(&format!("{folder}/"))) {
                            let line = ctx.dockerfile.instructions[*at].start_line;
                            let name = archive.rsplit('/').next().unwrap_or(archive);
                            out.push(
                                Finding::new(
                                    &Self::META,
                                    ctx,
                                    i,
                                    a.span,
                                    format!("`COPY --from={from} {text}` copies the folder where `{from}` downloaded `{name}` (line {line}), with the archive and anything unpacked next to it"),
                                    "copy only the built files (`COPY --from=STAGE DIR/dist/ ...`), or download and unpack outside the folder you copy",
                                )
                                .note("no estimate: the size of the downloads is not known from the Dockerfile"),
                            );
                            continue;
                        }
                    }
                    let dirs = memo.entry(src.index).or_insert_with(|| context_dirs(ctx, src.index));
                    if path.is_empty() || path == "/" || !dirs.iter().any(|d| d == path) {
                        continue;
                    }
                    out.push(
                        Finding::new(
                            &Self::META,
                            ctx,
                            i,
                            a.span,
                            format!("`COPY --from={from} {text}` copies the whole folder `{from}` built in: sources, caches and intermediates, not just the artefact"),
                            "copy only what the image runs (the binary, `dist/`, production `node_modules`)",
                        )
                        .note("no estimate: the size depends on the project"),
                    );
                }
            }
        }
    }
}

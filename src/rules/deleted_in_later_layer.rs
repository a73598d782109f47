//! Rule DF401 deleted-in-later-layer: one rule, documented by its `///` doc below (the user manual; `imgopt explain`).

use super::Measured;
use std::collections::BTreeMap;
use std::ops::Bound;

use super::add_remote_archive::is_remote_archive;
use super::pkg;
use super::{Finding, Rule, RuleContext};
use crate::diag::Severity;
use crate::dockerfile::Keyword;
use crate::dockerfile::shell::Command;
use crate::estimate::Estimate;
use crate::layers::waste::WasteKind;

crate::declare_rule! {
    /// ## What it does
    /// Checks for a `RUN rm` in a stage that ships in the final image
    /// that deletes something an earlier instruction of the image created: files from
    /// `COPY`/`ADD` (including a local archive `ADD` extracted and then removed), downloads
    /// (`curl -o`, `wget -O`, `git clone`). Only what imgopt can see being created is matched;
    /// deleting files of the base image is not reported, and package-manager caches removed
    /// in a later `RUN` are reported by their own rules (DF201, DF203) at the `RUN` that
    /// creates them.
    ///
    /// ## Why is this bad?
    /// Layers are additive: a later layer only hides a file with a whiteout, the bytes stay in
    /// the earlier layer and are pulled with every image. Measured: 84 → 75.2 MB
    /// (schickling/dockerfiles#96), 162 → 145 MB (sdebruyn/docker-debian-git#1), a ~70 MiB
    /// archive (tuxgasy/docker-dolibarr#58), 1.58 GB → 909 MB (quay/quay#1675). The estimate
    /// is exact when the deleted files come from the build context (their size is known) and
    /// absent for downloads.
    ///
    /// ## Example
    /// ```dockerfile
    /// COPY app.tar.gz /tmp/
    /// RUN tar -xzf /tmp/app.tar.gz -C /opt
    /// RUN rm /tmp/app.tar.gz
    /// ```
    ///
    /// Use instead:
    /// ```dockerfile
    /// RUN --mount=type=bind,source=app.tar.gz,target=/tmp/app.tar.gz tar -xzf /tmp/app.tar.gz -C /opt
    /// ```
    /// or create and delete in the same `RUN`, or build in a separate stage and `COPY --from`
    /// only what the image needs.
    ///
    /// ## References
    /// - hadolint DL3059 (related, <https://github.com/hadolint/hadolint/wiki/DL3059>)
    /// - Docker docs, "Multi-stage builds" (<https://docs.docker.com/build/building/multi-stage/>)
    pub DeletedInLaterLayer, DF401, "deleted-in-later-layer", Severity::Warning, measured = Measured::Waste(WasteKind::Deleted)
}

/// What an earlier instruction created.
pub(super) struct Created {
    pub path: String,
    pub instr: usize,
    /// Bytes per context file under `path`, with their path relative to `path` (COPY/ADD from
    /// the context only).
    pub files: Option<Vec<(String, u64)>>,
    /// The path holds the contents of a copied directory (so a subpath may be from the base).
    pub dir_contents: bool,
    /// A local archive `ADD` extracted into `path`: anything later deleted below `path` (a
    /// dedicated folder, not `/usr` and the like) came from it.
    pub archive: bool,
    pub cache: Option<Estimate>,
    pub what: String,
}

/// Everything the shipping chain creates, in build order.
pub(super) fn created_items(ctx: &RuleContext<'_>) -> Vec<Created> {
    let mut out = Vec::new();
    let mut chain = ctx.chain(ctx.target);
    chain.reverse();
    for s in chain {
        for (i, inst) in ctx.stage_instructions(s) {
            let wd = pkg::workdir_at(ctx, s, i);
            match inst.keyword {
                Keyword::Copy | Keyword::Add if inst.heredocs.is_empty() => {
                    let v = inst.values();
                    let Some((dest, srcs)) = v.split_last() else {
                        continue;
                    };
                    let dest_abs = pkg::join(&wd, &crate::rules::context::expand(dest, &ctx.global_args));
                    let dest_is_dir = dest.ends_with('/') || srcs.len() > 1;
                    let from_context = inst.flag("from").is_none();
                    for src in srcs {
                        let remote = src.contains("://");
                        let base = src.trim_end_matches('/').rsplit('/').next().unwrap_or(src).to_string();
                        let local_archive = inst.keyword == Keyword::Add
                            && !remote
                            && [".tar", ".tar.gz", ".tgz", ".tar.xz", ".tar.bz2"]
                                .iter()
                                .any(|e| src.ends_with(e));
                        let mut files = None;
                        let mut is_dir_src = matches!(&**src, "." | "./" | "*" | "./*") || src.ends_with('/');
                        if from_context
                            && !remote
                            && let Some(bc) = ctx.build_context
                        {
                            let m = bc.matching(src);
                            let cleaned = crate::context::dockerignore::clean(src.trim_start_matches('/'));
                            let single_file = m.len() == 1 && m[0].path == cleaned;
                            is_dir_src = !single_file && !src.contains('*');
                            let strip = if cleaned == "." {
                                String::new()
                            } else {
                                format!("{cleaned}/")
                            };
                            files = Some(
                                m.iter()
                                    .map(|e| {
                                        (
                                            if single_file {
                                                String::new()
                                            } else {
                                                e.path.strip_prefix(&strip).unwrap_or(&e.path).to_string()
                                            },
                                            e.bytes.0,
                                        )
                                    })
                                    .collect(),
                            );
                        }
                        let (path, dir_contents) = if local_archive || is_dir_src {
                            (dest_abs.trim_end_matches('/').to_string(), true)
                        } else if dest_is_dir {
                            (format!("{}/{base}", dest_abs.trim_end_matches('/')), false)
                        } else {
                            (dest_abs.clone(), false)
                        };
                        let what = if local_archive {
                            format!("`ADD {src}` (extracted)")
                        } else if remote && is_remote_archive(src) {
                            format!("`ADD {src}`")
                        } else {
                            format!("`{} {src}`", inst.cmd.to_ascii_uppercase())
                        };
                        let archive = local_archive && !SHARED_DIRS.contains(&path.as_str());
                        out.push(Created {
                            path,
                            instr: i,
                            files,
                            dir_contents,
                            archive,
                            cache: None,
                            what,
                        });
                    }
                }
                Keyword::Run => {
                    let cmds = &ctx.commands[i];
                    let removed: Vec<String> = pkg::resolved_rm_paths(cmds, &wd)
                        .into_iter()
                        .filter_map(|(_, p)| p)
                        .collect();
                    for (c, cwd) in cmds.iter().zip(pkg::cwds(cmds, &wd)) {
                        if cwd.starts_with('\u{0}') {
                            continue;
                        }
                        for (path, what) in run_creates(c, &cwd) {
                            if !removed.iter().any(|r| pkg::path_overlaps(r, &path)) {
                                out.push(Created {
                                    path,
                                    instr: i,
                                    files: None,
                                    dir_contents: false,
                                    archive: false,
                                    cache: None,
                                    what,
                                });
                            }
                        }
                    }
                }
                _ => {}
            }
        }
    }
    out
}

/// The created items by path, so a delete or `chown` finds what it may touch without trying
/// every item (files with thousands of `COPY`s and `RUN rm`s stay linear).
pub(super) struct CreatedIndex {
    by_path: BTreeMap<String, Vec<usize>>,
}

impl CreatedIndex {
    pub(super) fn new(created: &[Created]) -> Self {
        let mut by_path: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (n, c) in created.iter().enumerate() {
            by_path
                .entry(c.path.trim_end_matches('/').to_string())
                .or_default()
                .push(n);
        }
        Self { by_path }
    }

    /// Indices, in build order, of the items [`relation`] may relate `path` to (a superset):
    /// items at or below the path (or its glob prefix), and items that are a parent of it.
    pub(super) fn candidates(&self, path: &str) -> Vec<usize> {
        let p = pkg::normalize_home(path);
        let p = p.trim_end_matches('/');
        let base = p.strip_suffix("/*").or_else(|| p.strip_suffix("/.*")).unwrap_or(p);
        let base = base.trim_end_matches('/');
        let prefix = base.trim_end_matches('*');
        if base.is_empty() || prefix.is_empty() {
            return Vec::new();
        }
        let mut out: Vec<usize> = self
            .by_path
            .range::<str, _>((Bound::Included(prefix), Bound::Unbounded))
            .take_while(|(k, _)| k.starts_with(prefix))
            .flat_map(|(_, v)| v.iter().copied())
            .collect();
        for (pos, _) in base.match_indices('/').filter(|(pos, _)| *pos > 0) {
            if let Some(v) = self.by_path.get(&base[..pos]) {
                out.extend(v);
            }
        }
        out.sort_unstable();
        out.dedup();
        out
    }
}

/// Folders the base image also fills: an archive extracted there does not own what is below.
const SHARED_DIRS: &[&str] = &[
    "/",
    "/usr",
    "/usr/local",
    "/usr/share",
    "/etc",
    "/var",
    "/opt",
    "/home",
    "/root",
    "/srv",
    "/tmp",
    "/bin",
    "/lib",
    "/sbin",
];

/// Paths a command writes that imgopt can name: downloads and clones.
fn run_creates(c: &Command, wd: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let url_base = |c: &Command| {
        c.args().iter().find(|w| w.text.contains("://")).map(|w| {
            w.text
                .split(['?', '#'])
                .next()
                .unwrap_or("")
                .trim_end_matches('/')
                .rsplit('/')
                .next()
                .unwrap_or("")
                .to_string()
        })
    };
    match c.name() {
        Some("wget") => {
            if let Some(o) = pkg::option_value(c, Some("-O"), &["--output-document"]) {
                if o != "-" && !o.is_empty() && !o.contains('$') {
                    out.push((pkg::join(wd, o), format!("`wget -O {o}`")));
                }
            } else if let Some(b) = url_base(c).filter(|b| !b.is_empty() && !b.contains('$'))
                && !c.args().iter().any(|w| {
                    w.text == "-P" || w.text.starts_with("--directory-prefix") || w.text == "-qO-" || w.text == "-O-"
                })
            {
                out.push((pkg::join(wd, &b), format!("`wget` of {b}")));
            }
        }
        Some("curl") => {
            if let Some(o) = pkg::option_value(c, Some("-o"), &["--output"]) {
                if o != "-" && !o.is_empty() && !o.contains('$') {
                    out.push((pkg::join(wd, o), format!("`curl -o {o}`")));
                }
            } else if c.has_short_or_long('O', &["--remote-name"])
                && let Some(b) = url_base(c).filter(|b| !b.is_empty() && !b.contains('$'))
            {
                out.push((pkg::join(wd, &b), format!("`curl -O` of {b}")));
            }
        }
        Some("git") if c.subcommand().is_some_and(|w| w.text == "clone") => {
            let pos: Vec<&str> = c
                .args()
                .iter()
                .filter(|w| !w.text.starts_with('-'))
                .map(|w| w.text.as_str())
                .collect();
            // clone URL [DIR]; options with values (-b x, --depth 1) make positional parsing
            // unreliable, so take the word after the URL only when it is not a number.
            if let Some(ui) = pos.iter().position(|p| p.contains("://") || p.contains('@')) {
                let dir = pos
                    .get(ui + 1)
                    .filter(|d| !d.chars().all(|ch| ch.is_ascii_digit()))
                    .map_or_else(
                        || {
                            pos[ui]
                                .trim_end_matches('/')
                                .trim_end_matches(".git")
                                .rsplit(['/', ':'])
                                .next()
                                .unwrap_or("")
                                .to_string()
                        },
                        |d| (*d).to_string(),
                    );
                if !dir.is_empty() && !dir.contains('$') {
                    out.push((pkg::join(wd, &dir), format!("`git clone` into {dir}")));
                }
            }
        }
        _ => {}
    }
    out
}

/// Bytes of `files` (relative to the created path) under `sub` (relative; empty for all).
pub(super) fn bytes_under(files: &[(String, u64)], sub: &str) -> u64 {
    files
        .iter()
        .filter(|(p, _)| sub.is_empty() || p == sub || p.starts_with(&format!("{sub}/")))
        .map(|(_, b)| *b)
        .sum()
}

/// How `path` (maybe a glob ending) relates to `created`: the removed sub-path relative to
/// the created item (`Some("")` for all of it), or `None`.
pub(super) fn relation(path: &str, c: &Created) -> Option<String> {
    let p = pkg::normalize_home(path);
    let p = p.trim_end_matches('/');
    let whole = p.strip_suffix("/*").or_else(|| p.strip_suffix("/.*"));
    let base = whole.unwrap_or(p).trim_end_matches('/');
    if base.is_empty() {
        return None;
    }
    let cp = c.path.trim_end_matches('/');
    if base == cp
        || cp.starts_with(&format!("{base}/"))
        || (base.ends_with('*')
            && cp.starts_with(base.trim_end_matches('*'))
            && !base.trim_end_matches('*').is_empty()
            && base.trim_end_matches('*').contains('/'))
    {
        return Some(String::new());
    }
    if let Some(sub) = base.strip_prefix(&format!("{cp}/")) {
        if sub.contains('*') || sub.contains('$') {
            return None;
        }
        if c.archive {
            return Some(sub.to_string());
        }
        // A subpath of copied directory contents: only when the context shows it was copied.
        if c.dir_contents {
            let files = c.files.as_ref()?;
            return (bytes_under(files, sub) > 0
                || files.iter().any(|(f, _)| f == sub || f.starts_with(&format!("{sub}/"))))
            .then(|| sub.to_string());
        }
        return None;
    }
    None
}

impl Rule for DeletedInLaterLayer {
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
            // What this RUN itself downloads: removing that is cleanup, not waste.
            let own: Vec<String> = cmds
                .iter()
                .zip(pkg::cwds(cmds, &wd))
                .flat_map(|(c, cwd)| run_creates(c, &cwd))
                .map(|(p, _)| p)
                .collect();
            for (w, path) in pkg::resolved_rm_paths(cmds, &wd) {
                let Some(path) = path else { continue };
                if own.iter().any(|o| pkg::path_overlaps(&path, o)) {
                    continue;
                }
                let Some((c, sub)) = index
                    .candidates(&path)
                    .into_iter()
                    .map(|n| &created[n])
                    .filter(|c| c.instr < i)
                    .find_map(|c| relation(&path, c).map(|sub| (c, sub)))
                else {
                    continue;
                };
                let estimate = if let Some(e) = c.cache {
                    Some(e)
                } else if c.archive {
                    // The extracted size is not known (only the archive's).
                    None
                } else {
                    c.files
                        .as_ref()
                        .map(|f| Estimate::exact(bytes_under(f, &sub)))
                        .filter(|e| e.high_bytes.0 > 0)
                };
                let cinst = &ctx.dockerfile.instructions[c.instr];
                let line = cinst.start_line;
                let mut f = Finding::new(
                    &Self::META,
                    ctx,
                    i,
                    w.span,
                    format!("`{}` deletes what {} added in an earlier layer (line {line}); the bytes stay in that layer", w.text, c.what),
                    if c.cache.is_some() { "delete it in the same RUN that creates it".to_string() } else { "create and delete it in the same RUN, use `RUN --mount=type=bind` for files needed only during the build, or build in another stage and `COPY --from` what the image needs".to_string() },
                )
                .related(cinst.span, "added here")
                .estimate(estimate);
                if estimate.is_none() {
                    f = f.note("no estimate: the size of what was added is not known from the Dockerfile");
                }
                out.push(f);
            }
        }
    }
}

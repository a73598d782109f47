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
use crate::fix::{Edit, Fix};
use crate::layers::waste::WasteKind;

crate::declare_rule! {
    /// ## What it does
    /// Checks for a `RUN rm` (or `mv`) in a stage that ships in the final image
    /// that deletes (or moves) something an earlier instruction of the image created: files from
    /// `COPY`/`ADD` (an archive copied in, extracted and deleted later included; a local
    /// archive `ADD` extracted and then removed), from `COPY --from`, from a stage the image is
    /// built `FROM`, downloads (`curl -o`, `wget -O`, `wget -P DIR`), clones (`git clone`, a
    /// tree of its own), archives extracted by `tar -x` or `unzip` (into the folder named for
    /// the archive, `lib-1.2.tar.gz` into `lib-1.2/`, or into `-C DIR` with
    /// `--strip-components` when no base image fills `DIR`), what an `mv` put in place of
    /// them, packages a later `RUN` removes (`apt-get remove gcc`, `apk del .build-deps`)
    /// after an earlier `RUN` installed them by name, and what a known installer
    /// piped into an interpreter writes in its home (`curl -sSL https://install.python-poetry.org
    /// | python3 -` writes `$POETRY_HOME/venv`; rustup, Bun and Deno likewise). Only what imgopt can
    /// see being created is matched: below a copied folder, a path counts when the build
    /// context has it, when the folder is one of its own (`/app`, `/srv/x`, not `/etc` or
    /// `/usr` that the base image fills), or when the `COPY --from` stage is seen writing
    /// there; not when a `RUN` in between made it (`mkdir -p /app/logs`) or a build step of
    /// the same `RUN` filled it (`rake assets:precompile && rm -rf tmp/*`). Paths written with
    /// ENV or ARG variables (`rm $APP_HOME/app.tgz`), in quotes on either side (`COPY
    /// "$DIST_NAME.tar.gz" /` then `rm -rf "$DIST_NAME.tar.gz"`) or with a glob in their last
    /// part (`rm /tmp/*.tgz`) are followed, and a `cd` inside a subshell (`(cd lib-1.2 &&
    /// make)`) ends with the subshell, so a `RUN` that extracts, builds and deletes its own
    /// folder is not blamed on a copy it also built in; deleting a folder that holds an
    /// earlier layer's files besides the `RUN`'s own download is reported. An `mv` of an
    /// earlier layer's files (`RUN mv /var/www/app /var/www/html` after a clone) stores
    /// them again in its layer and leaves them in theirs: reported the same way. Deleting files of the base
    /// image is not reported, and package-manager caches removed in a later `RUN` are reported
    /// by their own rules (DF201, DF203) at the `RUN` that creates them.
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
    /// ## Fix safety
    /// Safe (`--fix`) in one shape: the `rm` deletes exactly what one earlier `RUN` of the same
    /// stage downloaded or cloned, and nothing in between may read or write it (the
    /// instructions between are `ENV`, `LABEL`, `COPY` elsewhere, or `RUN`s that install
    /// packages, add users or make folders without naming it). The `rm` then moves to the end
    /// of the creating `RUN` (`&& rm -rf PATH`) and leaves the later one (the whole `RUN` when it
    /// did nothing else, or its part of an `&&` chain). The image has the same files, without
    /// the deleted bytes in a lower layer. Heredoc and exec-form `RUN`s get no fix; files from
    /// `COPY`/`ADD` get none either (the fix is a `RUN --mount=type=bind` or a stage, which
    /// changes the build).
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
    /// A directory copied whole into a folder of its own (not one a base image fills) when the
    /// build context is not read: whatever is later deleted or re-owned below `path` came from
    /// it.
    pub trusted: bool,
    /// `COPY --from=STAGE` of a directory: paths below `path` that the source stage is seen
    /// writing (a `COPY`, a `mkdir`, a `mv` there), mapped into this image; a sub-path at,
    /// above or below one of them came from the copy.
    pub evidence: Vec<String>,
    /// File names (`app.tgz`) the source stage of a `COPY --from` names in its `RUN`s.
    pub leaves: Vec<String>,
    /// An `ADD` of a folder or an archive whose names are not known (`ADD $dist /opt`): a
    /// path below it that a later `RUN` copies elsewhere and then deletes came from it.
    pub unknown_contents: bool,
}

/// The WORKDIR at instruction `at` of stage `s`, with `$VAR`s from ENV and ARG expanded
/// (`WORKDIR $APP_HOME`).
pub(super) fn workdir(ctx: &RuleContext<'_>, s: usize, at: usize) -> String {
    let w = pkg::workdir_at(ctx, s, at);
    if !w.contains('$') || w.starts_with('\u{0}') {
        return w;
    }
    let mut e = ctx.expand_at(s, at, &w);
    while e.contains("//") {
        e = e.replace("//", "/");
    }
    e
}

/// A source or destination word of a `COPY`/`ADD` as BuildKit reads it: ENV and ARG
/// variables expanded and quotes removed (`COPY "$DIST_NAME.tar.gz" /`; BuildKit runs the
/// words through its shell-word processor, moby/buildkit `frontend/dockerfile/shell`).
pub(super) fn copy_word(ctx: &RuleContext<'_>, s: usize, at: usize, word: &str) -> String {
    ctx.expand_at(s, at, &unquote_word(word))
}

/// A `COPY`/`ADD` word with its shell quotes removed (variables left as written).
fn unquote_word(word: &str) -> String {
    // Balanced quotes only: a JSON-form value (`COPY ["it's.txt", "/x/"]`) is already plain.
    let balanced = word.matches('"').count().is_multiple_of(2) && word.matches('\'').count().is_multiple_of(2);
    if word.contains(['"', '\'']) && balanced {
        crate::dockerfile::shell::split(
            word,
            crate::dockerfile::Span::new(0, word.len()),
            crate::dockerfile::shell::Mode::Script,
        )
        .first()
        .and_then(|c| c.words.first())
        .map_or_else(|| word.to_string(), |w| w.text.clone())
    } else {
        word.to_string()
    }
}

/// A word of a `RUN` as an absolute path: variables expanded from ENV and ARG, joined to
/// `cwd`; `None` when it still depends on the shell (`$(..)`, `$1`, an unknown directory). A
/// variable without a value in the Dockerfile (`ARG ZIP` given at build time) stays as
/// `${ZIP}`, the way a `COPY` of `$ZIP` is read: the same build argument names the same file
/// on both sides (`ADD ./dist/$ZIP .` then `RUN rm $ZIP`).
pub(super) fn resolve_word(ctx: &RuleContext<'_>, s: usize, at: usize, cwd: &str, text: &str) -> Option<String> {
    if text.contains('`') || text.contains("$(") {
        return None;
    }
    let t = if text.contains('$') {
        ctx.expand_at(s, at, text)
    } else {
        text.to_string()
    };
    if !only_named_variables(&t) || t.is_empty() || (!t.starts_with('/') && cwd.starts_with('\u{0}')) {
        return None;
    }
    let t = if t.starts_with('~') { pkg::normalize_home(&t) } else { t };
    Some(pkg::join(cwd, &t))
}

/// Whether every `$` left in `t` starts a `${NAME}` (a build argument without a value), not a
/// shell parameter (`$1`, `$$`) or an expansion with an operator.
fn only_named_variables(t: &str) -> bool {
    let mut rest = t;
    while let Some(p) = rest.find('$') {
        let Some(body) = rest[p + 1..].strip_prefix('{') else {
            return false;
        };
        let Some(end) = body.find('}') else {
            return false;
        };
        let name = &body[..end];
        if name.is_empty()
            || name.starts_with(|c: char| c.is_ascii_digit())
            || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return false;
        }
        rest = &body[end + 1..];
    }
    true
}

/// Folders every Linux base image has (the Filesystem Hierarchy Standard's, as Debian, Alpine
/// and the distroless images lay them out): `COPY app /usr/bin` writes `/usr/bin/app`, since
/// the destination is an existing folder.
const BASE_DIRS: &[&str] = &[
    "/bin",
    "/sbin",
    "/etc",
    "/opt",
    "/srv",
    "/tmp",
    "/root",
    "/home",
    "/usr/bin",
    "/usr/sbin",
    "/usr/lib",
    "/usr/share",
    "/usr/src",
    "/usr/local",
    "/usr/local/bin",
    "/usr/local/sbin",
    "/usr/local/lib",
    "/usr/local/share",
    "/var",
    "/var/lib",
    "/var/tmp",
];

/// Top-level folders a base image fills (and `/home/USER`, which `useradd -m` makes without
/// naming it): a copy there shares its folder with the base image's files.
pub(super) fn base_filled(p: &str) -> bool {
    let parts: Vec<&str> = p.trim_start_matches('/').split('/').filter(|x| !x.is_empty()).collect();
    match parts.first() {
        None => true,
        Some(
            &("etc" | "usr" | "var" | "lib" | "lib32" | "lib64" | "bin" | "sbin" | "root" | "tmp" | "run" | "proc"
            | "sys" | "dev" | "boot" | "mnt" | "media" | "opt"),
        ) => parts.len() < 2 || (parts[0] != "opt"),
        Some(&"home") => parts.len() <= 2,
        _ => false,
    }
}

/// How many instructions the look-backs of these rules read at most (a source stage's
/// writes, what lies between a copy and a delete, the fixes' checks): files with thousands of
/// instructions stay linear, and past the bound the rules assume the worst (no finding, no fix).
pub(super) const MAX_SCAN: usize = 256;

/// How many instructions may lie between a copy and the `RUN` that deletes or re-owns a path
/// below it for the rules to tell that no `RUN` in between made the path (past it, they assume
/// one did).
const MAX_BETWEEN: usize = 64;

/// How many earlier items at or above a path the rules try (the latest first).
pub(super) const MAX_CANDIDATES: usize = 64;

/// How many evidence paths and names one `COPY --from` keeps.
const MAX_EVIDENCE: usize = 64;

/// What the stage chain of `stage` is seen writing: `COPY`/`ADD` destinations (with whether
/// the copy is a whole directory of the build context) and every path-like word of its `RUN`s
/// (`mkdir -p rootfs/etc/app`, `mv x /opt/app`), plus the file names its `RUN`s name.
struct Writes {
    paths: Vec<(String, bool)>,
    leaves: Vec<String>,
}

fn stage_writes(ctx: &RuleContext<'_>, stage: usize) -> Writes {
    let mut w = Writes {
        paths: Vec::new(),
        leaves: Vec::new(),
    };
    // The source stage's own instructions first, latest first: a long chain below it adds
    // little, and at most MAX_SCAN instructions are read.
    let mut insts: Vec<(usize, usize)> = Vec::new();
    let mut cur = Some(stage);
    while let Some(st) = cur
        && insts.len() < MAX_SCAN
    {
        let r = ctx.stages[st].instructions.clone();
        insts.extend(r.rev().take(MAX_SCAN - insts.len()).map(|i| (st, i)));
        cur = ctx.stages[st].base_stage;
    }
    for &(s, i) in &insts {
        let inst = &ctx.dockerfile.instructions[i];
        {
            let wd = workdir(ctx, s, i);
            match inst.keyword {
                Keyword::Copy | Keyword::Add if inst.heredocs.is_empty() => {
                    let v = inst.values();
                    let Some((dest, srcs)) = v.split_last() else { continue };
                    let dest = pkg::join(&wd, &copy_word(ctx, s, i, dest));
                    let whole = inst.flag("from").is_none()
                        && srcs.iter().any(|x| matches!(&**x, "." | "./") || x.ends_with('/'));
                    w.paths.push((dest.trim_end_matches('/').to_string(), whole));
                }
                Keyword::Run => {
                    let cmds = &ctx.commands[i];
                    // What its downloads, clones and extractions make (`tar xzf docker.tgz`
                    // makes `docker/` in the working folder).
                    for (k, cwd) in pkg::cwds(cmds, &wd).iter().enumerate() {
                        for (p, ..) in run_creates(cmds, k, cwd) {
                            if !p.starts_with('\0') && !p.contains('$') {
                                w.paths.push((p.trim_end_matches('/').to_string(), false));
                            }
                        }
                    }
                    for (c, cwd) in cmds.iter().zip(pkg::cwds(cmds, &wd)) {
                        let Some(name) = c.name() else { continue };
                        // What a command removes or re-owns is no sign that the stage made it.
                        if matches!(name, "rm" | "rmdir" | "unlink" | "chown" | "chmod" | "chgrp") {
                            continue;
                        }
                        for a in c.args().iter().filter(|a| !a.text.starts_with('-')) {
                            if a.text.contains('/') {
                                if let Some(p) = resolve_word(ctx, s, i, &cwd, &a.text) {
                                    w.paths.push((p.trim_end_matches('/').to_string(), false));
                                }
                            } else if !a.text.contains('/') && a.text.contains('.') && !a.text.contains(['$', '*', '='])
                            {
                                w.leaves.push(a.text.clone());
                            }
                        }
                    }
                }
                _ => {}
            }
        }
    }
    w
}

/// Everything the shipping chain creates, in build order.
pub(super) fn created_items(ctx: &RuleContext<'_>) -> Vec<Created> {
    let mut out = Vec::new();
    let mut chain = ctx.chain(ctx.target);
    chain.reverse();
    let mut writes: BTreeMap<usize, Writes> = BTreeMap::new();
    for s in chain {
        for (i, inst) in ctx.stage_instructions(s) {
            let wd = workdir(ctx, s, i);
            match inst.keyword {
                Keyword::Copy | Keyword::Add if inst.heredocs.is_empty() => {
                    let v = inst.values();
                    let Some((dest, srcs)) = v.split_last() else {
                        continue;
                    };
                    let dest_abs = pkg::join(&wd, &copy_word(ctx, s, i, dest));
                    // `.` and the WORKDIR itself are folders that exist: `COPY x .` writes `./x`.
                    let dest_is_dir = dest.ends_with('/')
                        || srcs.len() > 1
                        || matches!(&**dest, "." | "..")
                        || dest.ends_with("/.")
                        || dest_abs.trim_end_matches('/') == wd.trim_end_matches('/')
                        || BASE_DIRS.contains(&dest_abs.trim_end_matches('/'));
                    let from_context = inst.flag("from").is_none();
                    // The stage a `COPY --from` reads (not an image).
                    let from_stage = inst.flag("from").and_then(|f| f.value()).and_then(|name| {
                        ctx.stages.iter().find(|st| {
                            st.index < s
                                && (st.name.as_deref().is_some_and(|n| n.eq_ignore_ascii_case(name))
                                    || st.index.to_string() == name)
                        })
                    });
                    for src in srcs {
                        let src = unquote_word(src);
                        let src: &str = &src;
                        let raw = src.to_string();
                        let expanded_src = ctx.expand_at(s, i, src);
                        let unknown_src = src.contains('$') && (expanded_src.contains('$') || expanded_src.is_empty());
                        // A build argument without a value stays as `${NAME}`, the way a `RUN`'s
                        // word naming it is read (`ADD ./dist/$ZIP .` then `RUN rm $ZIP`).
                        let src_text = if src.contains('$') && !expanded_src.is_empty() {
                            expanded_src
                        } else {
                            src.to_string()
                        };
                        let src: &str = &src_text;
                        // As the user reads it: expanded when the Dockerfile gives the values.
                        let written = if src.contains('$') {
                            raw.clone()
                        } else {
                            src.to_string()
                        };
                        let remote = src.contains("://");
                        let base = src.trim_end_matches('/').rsplit('/').next().unwrap_or(src).to_string();
                        let local_archive = inst.keyword == Keyword::Add
                            && !remote
                            && [".tar", ".tar.gz", ".tgz", ".tar.xz", ".tar.bz2"]
                                .iter()
                                .any(|e| src.ends_with(e));
                        let mut files = None;
                        let mut is_dir_src = super::context::whole_context(src)
                            || src.ends_with('/')
                            || (unknown_src && !dest_is_dir)
                            // A stage's `/out` or `/rails` is a folder; `/out/app.tgz` a file.
                            || (from_stage.is_some() && !src.contains(['*', '?', '[']) && !base.contains('.'));
                        // `ADD` of a local name without an extension is a folder or an archive
                        // it extracts (`ADD $dist /opt`, "a directory or a tarball"): contents
                        // of any name, either way.
                        let folder_or_archive = inst.keyword == Keyword::Add
                            && inst.flag("from").is_none()
                            && !remote
                            && !local_archive
                            && !src.contains(['*', '?', '[', '$'])
                            && !base.contains('.')
                            && ctx.build_context.is_none();
                        is_dir_src |= folder_or_archive;
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
                        // A build argument's default is a placeholder the build replaces
                        // (`ARG dist=NOT_SET`): name the source as written.
                        let written = if folder_or_archive && raw.contains('$') {
                            raw
                        } else {
                            written
                        };
                        let what = if local_archive {
                            format!("`ADD {written}` (extracted)")
                        } else if remote && is_remote_archive(src) {
                            format!("`ADD {written}`")
                        } else {
                            format!("`{} {written}`", inst.cmd.to_ascii_uppercase())
                        };
                        let archive = (local_archive || folder_or_archive) && !SHARED_DIRS.contains(&path.as_str());
                        let unknown_contents = folder_or_archive;
                        let trusted = dir_contents
                            && files.is_none()
                            && from_context
                            && !remote
                            && !local_archive
                            && !path.contains('$')
                            && !base_filled(&path);
                        let (mut evidence, mut leaves) = (Vec::new(), Vec::new());
                        if let Some(st) = from_stage
                            && dir_contents
                        {
                            let sw = writes.entry(st.index).or_insert_with(|| stage_writes(ctx, st.index));
                            let s_abs = pkg::join("/", src);
                            let s_abs = s_abs.trim_end_matches('/');
                            for (m, _) in &sw.paths {
                                if let Some(rest) = m.strip_prefix(s_abs).filter(|r| r.starts_with('/')) {
                                    evidence.push(format!("{}{rest}", path.trim_end_matches('/')));
                                }
                            }
                            leaves.clone_from(&sw.leaves);
                            // The source stage copied a whole context folder to exactly this place
                            // (not into `/` or a folder a base image fills, where it says nothing
                            // of which files below came from it).
                            if sw.paths.iter().any(|(m, whole)| *whole && m == s_abs)
                                && !path.contains('$')
                                && !base_filled(&path)
                            {
                                evidence.push(path.trim_end_matches('/').to_string());
                            }
                            evidence.sort();
                            evidence.dedup();
                            evidence.truncate(MAX_EVIDENCE);
                            leaves.sort();
                            leaves.dedup();
                            leaves.truncate(MAX_EVIDENCE);
                        }
                        out.push(Created {
                            path,
                            instr: i,
                            files,
                            dir_contents,
                            archive,
                            cache: None,
                            what,
                            trusted,
                            evidence,
                            leaves,
                            unknown_contents,
                        });
                    }
                }
                Keyword::Run => {
                    let cmds = &ctx.commands[i];
                    // Each removed path with the command that removes it: what a command
                    // writes is gone when a later command of the RUN removes it.
                    let mut removed: Vec<(usize, String)> = pkg::resolved_rm_paths(cmds, &wd)
                        .into_iter()
                        .filter_map(|(w, p)| {
                            let k = cmds.iter().position(|c| c.words.iter().any(|cw| cw.span == w.span))?;
                            Some((k, p?))
                        })
                        .collect();
                    // What an `mv` moves away is gone from where it was.
                    for (k, (c, cwd)) in cmds.iter().zip(pkg::cwds(cmds, &wd)).enumerate() {
                        if let Some((srcs, ..)) = mv_operands(ctx, s, i, c, &cwd) {
                            removed.extend(srcs.into_iter().filter_map(|(_, p)| Some((k, p?))));
                        }
                    }
                    for (path, what) in installer_writes(ctx, s, i) {
                        out.push(Created {
                            path,
                            instr: i,
                            files: None,
                            dir_contents: true,
                            archive: false,
                            cache: None,
                            what,
                            trusted: true,
                            evidence: Vec::new(),
                            leaves: Vec::new(),
                            unknown_contents: false,
                        });
                    }
                    for (k, (c, cwd)) in cmds.iter().zip(pkg::cwds(cmds, &wd)).enumerate() {
                        if cwd.starts_with('\u{0}') {
                            continue;
                        }
                        let mut writes = run_creates(cmds, k, &cwd);
                        writes.extend(moved_into(ctx, s, i, c, &cwd, &out));
                        for (path, what, tree) in writes {
                            if !removed.iter().any(|(j, r)| *j > k && pkg::path_overlaps(r, &path)) {
                                out.push(Created {
                                    path,
                                    instr: i,
                                    files: None,
                                    dir_contents: tree,
                                    archive: false,
                                    cache: None,
                                    what,
                                    trusted: tree,
                                    evidence: Vec::new(),
                                    leaves: Vec::new(),
                                    unknown_contents: false,
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
        // Up to the first glob character (`/tmp/*.tgz` looks at everything in `/tmp/`).
        let prefix = &base[..base.find(['*', '?', '[']).unwrap_or(base.len())];
        if base.is_empty() || prefix.is_empty() {
            return Vec::new();
        }
        let mut out: Vec<usize> = self
            .by_path
            .range::<str, _>((Bound::Included(prefix), Bound::Unbounded))
            .take_while(|(k, _)| k.starts_with(prefix))
            .flat_map(|(_, v)| v.iter().copied())
            .collect();
        for (pos, _) in base.match_indices('/') {
            // `pos == 0`: a copy into `/` itself (kept under the empty key).
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

/// Installers run from a download piped into an interpreter (`curl -sSL URL | python3 -`):
/// the URL they come from, the variable that moves their home and its default for root, and
/// the folders below the home that the installer itself writes (not the caches the installed
/// tool fills later).
/// - Poetry, <https://python-poetry.org/docs/#installing-with-the-official-installer>:
///   `$POETRY_HOME` (`~/.local/share/pypoetry`), `venv` and `bin`.
/// - rustup, <https://rust-lang.github.io/rustup/installation/index.html>: `$RUSTUP_HOME`
///   (`~/.rustup`) whole, and `$CARGO_HOME` (`~/.cargo`) `bin` and `env`.
/// - Bun (`$BUN_INSTALL`, `~/.bun`) and Deno (`$DENO_INSTALL`, `~/.deno`): `bin`.
const INSTALLERS: &[(&str, &str, &str, &[&str])] = &[
    (
        "install.python-poetry.org",
        "POETRY_HOME",
        "/root/.local/share/pypoetry",
        &["venv", "bin"],
    ),
    ("sh.rustup.rs", "RUSTUP_HOME", "/root/.rustup", &[""]),
    ("sh.rustup.rs", "CARGO_HOME", "/root/.cargo", &["bin", "env"]),
    ("bun.sh/install", "BUN_INSTALL", "/root/.bun", &["bin"]),
    ("deno.land/install.sh", "DENO_INSTALL", "/root/.deno", &["bin"]),
];

/// What the piped installers of `RUN` `i` (stage `s`) write: (path, what).
fn installer_writes(ctx: &RuleContext<'_>, s: usize, i: usize) -> Vec<(String, String)> {
    let cmds = &ctx.commands[i];
    let mut out = Vec::new();
    for pair in cmds.windows(2) {
        let (dl, run) = (&pair[0], &pair[1]);
        let interpreter = run.separator == crate::dockerfile::shell::Separator::Pipe
            && run
                .name()
                .is_some_and(|n| matches!(n, "sh" | "bash" | "ash" | "dash" | "zsh") || n.starts_with("python"));
        if !interpreter || !matches!(dl.name(), Some("curl" | "wget")) {
            continue;
        }
        let Some(url) = dl.args().iter().find(|w| w.text.contains("://")) else {
            continue;
        };
        for &(site, var, default, subs) in INSTALLERS.iter().filter(|(site, ..)| url.text.contains(site)) {
            // The variable set on the interpreter (`| POETRY_HOME=/opt/poetry python3 -`),
            // else by ENV/ARG, else the default.
            let inline = run
                .words
                .iter()
                .find_map(|w| w.text.strip_prefix(&format!("{var}=")).map(str::to_string));
            let home = inline
                .or_else(|| ctx.env_at(s, i, var))
                .map_or_else(|| default.to_string(), |h| ctx.expand_at(s, i, &h));
            if home.contains('$') || !home.starts_with('/') {
                continue;
            }
            let home = home.trim_end_matches('/');
            for sub in subs {
                let path = if sub.is_empty() {
                    home.to_string()
                } else {
                    format!("{home}/{sub}")
                };
                out.push((path, format!("the installer piped from `{site}`")));
            }
        }
    }
    out
}

/// An `mv`'s sources (each word with its resolved path), its destination, and whether it
/// moves into the destination folder.
type MvOperands<'c> = (Vec<(&'c crate::dockerfile::shell::Word, Option<String>)>, String, bool);

/// The sources of an `mv` (every operand but the last) and its destination, resolved
/// against `cwd` with ENV and ARG values: `None` for a source or destination that still
/// depends on the shell (`$(which tar)~`, a glob).
fn mv_operands<'c>(ctx: &RuleContext<'_>, s: usize, i: usize, c: &'c Command, cwd: &str) -> Option<MvOperands<'c>> {
    if c.name() != Some("mv") {
        return None;
    }
    let ops: Vec<&crate::dockerfile::shell::Word> = c.args().iter().filter(|w| !w.text.starts_with('-')).collect();
    let (dest, srcs) = ops.split_last()?;
    if srcs.is_empty() || c.has_short_or_long('t', &["--target-directory"]) {
        return None;
    }
    let into = dest.text.ends_with('/') || srcs.len() > 1;
    let dest = resolve_word(ctx, s, i, cwd, &dest.text).filter(|d| !is_glob(d))?;
    let srcs = srcs
        .iter()
        .map(|w| (*w, resolve_word(ctx, s, i, cwd, &w.text).filter(|p| !is_glob(p))))
        .collect();
    Some((srcs, dest.trim_end_matches('/').to_string(), into))
}

/// What an `mv` writes: its destination (`DEST/NAME` when it moves into a folder), a tree of
/// its own when what it moves is one (a clone, an extracted archive, a copied folder the
/// image owns).
fn moved_into(ctx: &RuleContext<'_>, s: usize, i: usize, c: &Command, cwd: &str, before: &[Created]) -> Vec<RunWrite> {
    let Some((srcs, dest, into)) = mv_operands(ctx, s, i, c, cwd) else {
        return Vec::new();
    };
    srcs.into_iter()
        .filter_map(|(_, p)| p)
        .map(|src| {
            let leaf = src.trim_end_matches('/').rsplit('/').next().unwrap_or("").to_string();
            let target = if into { format!("{dest}/{leaf}") } else { dest.clone() };
            let tree = before.iter().rev().take(MAX_CANDIDATES).any(|o| {
                o.dir_contents
                    && (o.trusted || o.files.is_some() || o.archive)
                    && (o.path == src || src.starts_with(&format!("{}/", o.path.trim_end_matches('/'))))
            });
            (target, format!("`mv` into {dest}"), tree)
        })
        .collect()
}

/// A path a `RUN` command writes: (path, what wrote it, whether it is a tree of its own whose
/// sub-paths all came from it).
pub(super) type RunWrite = (String, String, bool);

/// Paths command `k` of `cmds` (running in `wd`) writes that imgopt can name: downloads
/// (`curl -o`, `wget -O`, `wget -P DIR`), clones (a tree of their own: `git clone` refuses a
/// destination that is not empty), and archives extracted (`tar -x`, `unzip`): into `DIR`
/// with `--strip-components` (a tree of its own unless a base image fills `DIR`), else into
/// the folder named for the archive (`lib-1.2.tar.gz` makes `lib-1.2/`, the usual layout).
pub(super) fn run_creates(cmds: &[Command], k: usize, wd: &str) -> Vec<RunWrite> {
    let c = &cmds[k];
    let mut out: Vec<RunWrite> = Vec::new();
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
                    out.push((pkg::join(wd, o), format!("`wget -O {o}`"), false));
                }
            } else if let Some(b) = url_base(c).filter(|b| !b.is_empty() && !b.contains('$'))
                && !c.args().iter().any(|w| w.text == "-qO-" || w.text == "-O-")
            {
                let dir = pkg::option_value(c, Some("-P"), &["--directory-prefix"]).unwrap_or(".");
                if !dir.contains('$') {
                    out.push((pkg::join(&pkg::join(wd, dir), &b), format!("`wget` of {b}"), false));
                }
            }
        }
        Some("curl") => {
            if let Some(o) = pkg::option_value(c, Some("-o"), &["--output"]) {
                if o != "-" && !o.is_empty() && !o.contains('$') {
                    out.push((pkg::join(wd, o), format!("`curl -o {o}`"), false));
                }
            } else if c.has_short_or_long('O', &["--remote-name"])
                && let Some(b) = url_base(c).filter(|b| !b.is_empty() && !b.contains('$'))
            {
                out.push((pkg::join(wd, &b), format!("`curl -O` of {b}"), false));
            }
        }
        Some("git") if c.subcommand().is_some_and(|w| w.text == "clone") => {
            // The operands, without the values of git clone's options that take one (`-b
            // master`, `--depth 1`; git-clone(1)).
            let mut skip = false;
            let pos: Vec<&str> = c
                .args()
                .iter()
                .filter(|w| {
                    let t = w.text.as_str();
                    if std::mem::take(&mut skip) {
                        return false;
                    }
                    if t.starts_with('-') {
                        skip = matches!(
                            t,
                            "-b" | "--branch"
                                | "--depth"
                                | "-o"
                                | "--origin"
                                | "-c"
                                | "--config"
                                | "--reference"
                                | "--reference-if-able"
                                | "--separate-git-dir"
                                | "-u"
                                | "--upload-pack"
                                | "--template"
                                | "--shallow-since"
                                | "--shallow-exclude"
                                | "--filter"
                                | "-j"
                                | "--jobs"
                                | "--server-option"
                        );
                        return false;
                    }
                    true
                })
                .map(|w| w.text.as_str())
                .collect();
            // clone URL [DIR]; a number after the URL is still read as an option's value.
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
                    out.push((pkg::join(wd, &dir), format!("`git clone` into {dir}"), true));
                }
            }
        }
        Some("tar") => {
            if let Some((archive, dir, strip)) = tar_extract(c) {
                // `curl -L URL | tar -xz`: the archive is the download's.
                let archive = archive.filter(|a| *a != "-").map(str::to_string).or_else(|| {
                    (c.separator == crate::dockerfile::shell::Separator::Pipe && k > 0)
                        .then(|| url_base(&cmds[k - 1]))
                        .flatten()
                });
                extracted(&mut out, wd, dir.unwrap_or("."), archive.as_deref(), strip, "tar -x");
            }
        }
        Some("unzip") => {
            let pos: Vec<&str> = c
                .args()
                .iter()
                .map(|w| w.text.as_str())
                .filter(|t| !t.starts_with('-'))
                .collect();
            let dir = pkg::option_value(c, Some("-d"), &[]).unwrap_or(".");
            if let Some(zip) = pos.iter().find(|p| p.ends_with(".zip")) {
                extracted(&mut out, wd, dir, Some(zip), false, "unzip");
            }
        }
        _ => {}
    }
    out
}

/// What an extraction writes: `dir` itself as a tree of its own when the archive's top folder
/// is stripped (and no base image fills `dir`), else the folder named for the archive.
fn extracted(out: &mut Vec<RunWrite>, wd: &str, dir: &str, archive: Option<&str>, strip: bool, tool: &str) {
    if dir.contains('$') || dir.contains('`') {
        return;
    }
    let dir = pkg::join(wd, dir);
    if strip {
        if !base_filled(&dir) && !dir.starts_with('\u{0}') {
            out.push((dir.clone(), format!("`{tool}` into {dir}"), true));
        }
        return;
    }
    let Some(name) = archive.map(|a| a.rsplit('/').next().unwrap_or(a)) else {
        return;
    };
    let stem = [
        ".tar.gz", ".tgz", ".tar.xz", ".txz", ".tar.bz2", ".tbz2", ".tbz", ".tar.zst", ".tar", ".zip",
    ]
    .iter()
    .find_map(|e| name.strip_suffix(e));
    if let Some(stem) = stem.filter(|t| !t.is_empty() && !t.contains(['$', '*', '?', '['])) {
        let path = pkg::join(&dir, stem);
        if !path.starts_with('\u{0}') {
            out.push((path, format!("`{tool}` of {name}"), true));
        }
    }
}

/// A `tar` command that extracts: (the archive, `-f`; the folder, `-C`; whether
/// `--strip-components` drops the archive's top folder).
fn tar_extract(c: &Command) -> Option<(Option<&str>, Option<&str>, bool)> {
    let args = c.args();
    // Bundled letters: `-xzf`, or `xzf` as the first word (the old style).
    let bundled = |n: usize, t: &str| {
        let b = t.strip_prefix('-').unwrap_or(t);
        !t.starts_with("--")
            && (t.starts_with('-') || n == 0)
            && !b.is_empty()
            && b.chars().all(|ch| ch.is_ascii_alphabetic())
    };
    let extract = args
        .iter()
        .enumerate()
        .any(|(n, w)| matches!(w.text.as_str(), "--extract" | "--get") || bundled(n, &w.text) && w.text.contains('x'));
    if !extract {
        return None;
    }
    let mut archive = None;
    for (n, w) in args.iter().enumerate() {
        let t = w.text.as_str();
        if let Some(v) = t.strip_prefix("--file=") {
            archive = Some(v);
        } else if t == "--file" || bundled(n, t) && t.ends_with('f') {
            archive = args.get(n + 1).map(|x| x.text.as_str());
        }
    }
    let dir = pkg::option_value(c, Some("-C"), &["--directory"]);
    let strip = args
        .iter()
        .any(|w| w.text.starts_with("--strip-components") && !w.text.ends_with("=0"))
        || args
            .windows(2)
            .any(|p| p[0].text == "--strip-components" && p[1].text != "0");
    Some((archive, dir, strip))
}

/// Bytes of `files` (relative to the created path) under `sub` (relative; empty for all).
pub(super) fn bytes_under(files: &[(String, u64)], sub: &str) -> u64 {
    let glob = is_glob(sub) && !sub.contains('/');
    files
        .iter()
        .filter(|(p, _)| {
            sub.is_empty()
                || p == sub
                || p.starts_with(&format!("{sub}/"))
                || glob && !p.contains('/') && glob_matches(sub, p)
        })
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
    // A glob in the last part (`rm /tmp/*.tar.gz`, `chmod -R +x $DIR/scripts/*.sh`) naming
    // the copied item itself.
    if let Some((dir, pat)) = base.rsplit_once('/')
        && is_glob(pat)
        && !is_glob(dir)
        && cp
            .rsplit_once('/')
            .is_some_and(|(cdir, leaf)| cdir == dir && glob_matches(pat, leaf))
    {
        return Some(String::new());
    }
    if let Some(sub) = base.strip_prefix(&format!("{cp}/")) {
        if sub.contains('$') {
            return None;
        }
        if is_glob(sub) {
            // Files directly in a copied folder (`$DIR/scripts/*.sh` after `ADD sh/
            // $DIR/scripts/`): from the copy when the context has such a file, or when the folder
            // is the copy's own.
            if sub.contains('/') || !c.dir_contents {
                return None;
            }
            let from_copy = match c.files.as_ref() {
                Some(files) => files.iter().any(|(f, _)| !f.contains('/') && glob_matches(sub, f)),
                None => c.trusted || c.archive,
            };
            return from_copy.then(|| sub.to_string());
        }
        if c.archive {
            return Some(sub.to_string());
        }
        // A subpath of copied directory contents: when the context shows it was copied, the
        // copy is of a folder of its own, or the source stage is seen writing there.
        if c.dir_contents {
            if let Some(files) = c.files.as_ref() {
                return (bytes_under(files, sub) > 0
                    || files.iter().any(|(f, _)| f == sub || f.starts_with(&format!("{sub}/"))))
                .then(|| sub.to_string());
            }
            let leaf = base.rsplit('/').next().unwrap_or(base);
            // At, above or below a path the source stage wrote (both plain absolute paths).
            let near = |e: &str| {
                e == base
                    || (base.len() > e.len() && base.starts_with(e) && base.as_bytes()[e.len()] == b'/')
                    || (e.len() > base.len() && e.starts_with(base) && e.as_bytes()[base.len()] == b'/')
            };
            let seen = c.trusted
                || c.evidence.iter().any(|e| near(e))
                || (leaf.contains('.') && c.leaves.iter().any(|l| l == leaf));
            return seen.then(|| sub.to_string());
        }
        return None;
    }
    None
}

/// Whether `path` (maybe ending in `/*`, or with a glob in its last part) is `dir` or below
/// it: `rm -rf lib-1.2*` after a download of `lib-1.2.tgz` removes that download only.
pub(super) fn at_or_below(path: &str, dir: &str) -> bool {
    let p = path.trim_end_matches('/');
    let p = p.strip_suffix("/*").unwrap_or(p);
    let d = dir.trim_end_matches('/');
    if d.is_empty() {
        return false;
    }
    let glob_names = || {
        p.rsplit_once('/')
            .zip(d.rsplit_once('/'))
            .is_some_and(|((pdir, pat), (ddir, leaf))| {
                pdir == ddir && is_glob(pat) && !is_glob(pdir) && glob_matches(pat, leaf)
            })
    };
    p == d || p.starts_with(&format!("{d}/")) || glob_names()
}

/// Whether a path part holds a glob (`*`, `?`, `[`).
fn is_glob(p: &str) -> bool {
    p.contains(['*', '?', '['])
}

/// Whether one path part matches a glob part (Go's `filepath.Match`, as BuildKit matches).
fn glob_matches(pat: &str, name: &str) -> bool {
    crate::context::dockerignore::glob(pat.as_bytes(), name.as_bytes())
}

impl Rule for DeletedInLaterLayer {
    fn check(&self, ctx: &RuleContext<'_>, out: &mut Vec<Finding>) {
        if !ctx.product {
            return;
        }
        super::packages_removed_later::check(ctx, &Self::META, out);
        let start = out.len();
        Self::check_created(ctx, out);
        let reported: Vec<usize> = out[start..].iter().map(|f| f.instruction).collect();
        super::cleanup_in_later_layer::check(ctx, &Self::META, &reported, out);
    }
}

impl DeletedInLaterLayer {
    /// Deletes and moves of what earlier instructions created (`COPY`, downloads, clones).
    fn check_created(ctx: &RuleContext<'_>, out: &mut Vec<Finding>) {
        let created = created_items(ctx);
        if created.is_empty() {
            return;
        }
        let index = CreatedIndex::new(&created);
        let any_unknown = created.iter().any(|c| c.unknown_contents);
        for (s, i) in ctx.target_runs() {
            let wd = workdir(ctx, s, i);
            let cmds = &ctx.commands[i];
            // What this RUN itself downloads: removing that (or something in it) is cleanup,
            // not waste; removing a folder that also holds an earlier layer's files is not.
            let own: Vec<String> = pkg::cwds(cmds, &wd)
                .iter()
                .enumerate()
                .flat_map(|(k, cwd)| run_creates(cmds, k, cwd))
                .map(|(p, ..)| p)
                .collect();
            // `rm` operands, and the sources of an `mv` (moved files are stored again in this
            // layer, and stay in theirs).
            let mut targets: Vec<(&crate::dockerfile::shell::Word, Option<String>, bool)> =
                pkg::resolved_rm_paths(cmds, &wd)
                    .into_iter()
                    .map(|(w, p)| (w, p, false))
                    .collect();
            for (c, cwd) in cmds.iter().zip(pkg::cwds(cmds, &wd)) {
                if let Some((srcs, ..)) = mv_operands(ctx, s, i, c, &cwd) {
                    targets.extend(srcs.into_iter().filter(|(_, p)| p.is_some()).map(|(w, p)| (w, p, true)));
                }
            }
            // What a `cp` of this RUN reads (a copy to the final place, then the delete); only
            // looked at when an `ADD` of unknown contents came before.
            let copied_from: Vec<String> = if any_unknown {
                cmds.iter()
                    .zip(pkg::cwds(cmds, &wd))
                    .filter(|(c, _)| c.name() == Some("cp"))
                    .flat_map(|(c, cwd)| {
                        let ops: Vec<&str> = c
                            .args()
                            .iter()
                            .filter(|w| !w.text.starts_with('-'))
                            .map(|w| w.text.as_str())
                            .collect();
                        let n = ops.len().saturating_sub(1);
                        ops.into_iter()
                            .take(n)
                            .filter_map(|o| resolve_word(ctx, s, i, &cwd, o))
                            .collect::<Vec<_>>()
                    })
                    .collect()
            } else {
                Vec::new()
            };
            for (w, path, moved) in targets {
                // `rm $APP_HOME/x.tgz`: variables the Dockerfile sets are known.
                let Some(path) = path.or_else(|| resolve_word(ctx, s, i, &wd, &w.text)) else {
                    continue;
                };
                if own.iter().any(|o| at_or_below(&path, o)) {
                    continue;
                }
                // The latest item it relates to (a COPY into a copied tree is the one deleted).
                let Some((c, sub)) = index
                    .candidates(&path)
                    .into_iter()
                    .rev()
                    .map(|n| &created[n])
                    .filter(|c| c.instr < i)
                    .take(MAX_CANDIDATES)
                    .find_map(|c| {
                        relation(&path, c)
                            .or_else(|| {
                                // Copied to its place and deleted: the contents of an `ADD` of
                                // unknown names relocated by hand.
                                let sub = path.strip_prefix(&format!("{}/", c.path.trim_end_matches('/')))?;
                                (c.unknown_contents && !sub.contains('$') && copied_from.iter().any(|p| p == &path))
                                    .then(|| sub.to_string())
                            })
                            .map(|sub| (c, sub))
                    })
                else {
                    continue;
                };
                let k = cmds.iter().position(|cmd| cmd.words.iter().any(|cw| cw.span == w.span));
                if !sub.is_empty()
                    && c.files.is_none()
                    && !c.archive
                    && written_between(ctx, c.instr, i, k, &path, &c.path)
                {
                    continue;
                }
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
                let message = if moved {
                    format!(
                        "`mv {}` moves what {} added in an earlier layer (line {line}): this layer stores it again, and the bytes stay in that layer",
                        w.text, c.what
                    )
                } else {
                    format!(
                        "`{}` deletes what {} added in an earlier layer (line {line}); the bytes stay in that layer",
                        w.text, c.what
                    )
                };
                let mut f = Finding::new(
                    &Self::META,
                    ctx,
                    i,
                    w.span,
                    message,
                    if c.cache.is_some() { "delete it in the same RUN that creates it".to_string() } else { "create and delete it in the same RUN, use `RUN --mount=type=bind` for files needed only during the build, or build in another stage and `COPY --from` what the image needs".to_string() },
                )
                .related(cinst.span, "added here")
                .estimate(estimate);
                if estimate.is_none() {
                    f = f.note("no estimate: the size of what was added is not known from the Dockerfile");
                }
                if sub.is_empty()
                    && !moved
                    && let Some(fix) = merge_fix(ctx, s, i, w, &path, c, &created, &index)
                {
                    f = f.fix(fix);
                }
                out.push(f);
            }
        }
    }
}

/// Commands that make files at the paths they name (`mkdir -p logs`, `cp x dir/`).
const WRITERS: &[&str] = &[
    "mkdir", "touch", "cp", "mv", "ln", "install", "tar", "unzip", "git", "wget", "curl", "rsync", "chown", "chmod",
];

/// Whether what is deleted or re-owned at `path`, below the copied folder `tree`, may have been
/// made there rather than copied: a `RUN` after instruction `from` and before `i` (in the
/// target's stages), or a command of `RUN` `i` before command `k`, makes files at, above or
/// below `path` (`mkdir -p /app/logs`); or a command of `RUN` `i` before `k` runs a build tool
/// inside `tree` without naming `path` (`rake assets:precompile && rm -rf tmp/*`: the build
/// filled it; `npm install -g ./x.tgz && rm x.tgz` names what it reads).
pub(super) fn written_between(
    ctx: &RuleContext<'_>,
    from: usize,
    i: usize,
    k: Option<usize>,
    path: &str,
    tree: &str,
) -> bool {
    let check = |j: usize, upto: usize, same_run: bool| {
        let Some(s) = ctx.stage_of[j] else { return false };
        let wd = workdir(ctx, s, j);
        let cmds = &ctx.commands[j];
        // (writes it, reads it by name, runs a build tool inside the tree)
        let (mut writes, mut reads, mut builds) = (false, false, false);
        for (c, cwd) in cmds.iter().zip(pkg::cwds(cmds, &wd)).take(upto) {
            let Some(name) = c.name() else { continue };
            let operands: Vec<&crate::dockerfile::shell::Word> =
                c.args().iter().filter(|a| !a.text.starts_with('-')).collect();
            let overlaps = |a: &crate::dockerfile::shell::Word| {
                resolve_word(ctx, s, j, &cwd, &a.text).is_some_and(|p| pkg::path_overlaps(&p, path))
            };
            let names = operands.iter().any(|a| overlaps(a));
            let writer = WRITERS.contains(&name);
            // `cp`, `install`, `mv`, `rsync` and `ln` write their last operand and read the
            // others (`install -m 755 docker/* /usr/bin/` reads `docker/`); `install -d` makes
            // every folder it names.
            let copies = matches!(name, "cp" | "install" | "mv" | "rsync" | "ln") && !c.has_flag("-d");
            let (written, read) = if copies && operands.len() > 1 {
                let (last, srcs) = operands.split_last().map_or((false, false), |(l, rest)| {
                    // Into a folder above `path` (`cp build/*.whl /code` with `/code/onnxruntime`
                    // deleted later), only what lands there by its name can be `path`.
                    let dest = resolve_word(ctx, s, j, &cwd, &l.text);
                    let written = match dest {
                        Some(d) if path.starts_with(&format!("{}/", d.trim_end_matches('/'))) => rest.iter().any(|a| {
                            let name = a.text.trim_end_matches('/').rsplit('/').next().unwrap_or("");
                            !name.is_empty() && pkg::path_overlaps(&pkg::join(&d, name), path)
                        }),
                        _ => overlaps(l),
                    };
                    (written, rest.iter().any(|a| overlaps(a)))
                });
                (last, srcs)
            } else {
                (names && writer, names && !writer)
            };
            writes |= written;
            reads |= read && (copies || !NON_READING.contains(&name));
            builds |= !names
                && !writer
                && !NON_READING.contains(&name)
                && (cwd.starts_with('\u{0}') || pkg::path_overlaps(&cwd, tree) && cwd.len() >= tree.len());
        }
        writes || (same_run && builds && !reads)
    };
    if i.saturating_sub(from) > MAX_BETWEEN {
        return true;
    }
    (from + 1..i).any(|j| {
        ctx.dockerfile.instructions[j].keyword == Keyword::Run
            && ctx.stage_of[j].is_some_and(|s| ctx.stages[s].ships)
            && check(j, usize::MAX, false)
    }) || k.is_some_and(|k| check(i, k, true))
}

/// Commands that only install packages, manage users or make links and folders: they read no
/// file of the build by themselves, so an `rm` may move from after them to before them.
const NON_READING: &[&str] = &[
    "apt-get", "apt", "apk", "yum", "dnf", "microdnf", "zypper", "useradd", "adduser", "groupadd", "addgroup",
    "usermod", "mkdir", "ln", "echo", "printf", "true", "set", "export", "touch", "rm",
];

/// Whether the commands in `cmds` (running in `wd`) may read `x`: one that runs a program of its
/// own (a script, `make`, `tar`), or names `x` (or a path at, above or below it), or works
/// inside it.
fn may_read(cmds: &[Command], wd: &str, x: &str) -> bool {
    let leaf = x.rsplit('/').next().unwrap_or(x);
    cmds.iter().zip(pkg::cwds(cmds, wd)).any(|(c, cwd)| {
        let Some(name) = c.name() else { return false };
        !NON_READING.contains(&name)
            || cwd.starts_with('\u{0}')
            || (pkg::path_overlaps(&cwd, x) && cwd.len() >= x.len())
            || c.words.iter().any(|w| {
                w.text.contains('$')
                    || w.text.contains(leaf)
                    || (w.text.contains('/') && pkg::path_overlaps(&pkg::join(&cwd, &w.text), x))
            })
    })
}

/// The safe fix for an `rm` (command of `RUN` `i`, word `w`, absolute `path`) of exactly what
/// one earlier `RUN` of the same stage created: the `rm` moves to the end of that `RUN`
/// (` && rm -rf PATH`) and leaves this one (the whole `RUN` when it is alone, or its part of an
/// `&&` chain). Offered only when nothing between the two may read or write the path:
/// instructions in between are `ENV`, `LABEL` and the like, `COPY`/`ADD` elsewhere, and `RUN`s
/// of package installs, users and folders that do not name it; the commands of this `RUN`
/// before the `rm` likewise. Shell form only: heredocs and exec form get no fix.
#[allow(clippy::too_many_arguments)]
fn merge_fix(
    ctx: &RuleContext<'_>,
    s: usize,
    i: usize,
    w: &crate::dockerfile::shell::Word,
    path: &str,
    c: &Created,
    created: &[Created],
    index: &CreatedIndex,
) -> Option<Fix> {
    let x = path.trim_end_matches('/');
    let safe_chars = |t: &str| {
        t.chars()
            .all(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '/' | '.' | '_' | '-' | '+' | '@' | ':' | ','))
    };
    if x != c.path.trim_end_matches('/') || !safe_chars(x) || x.is_empty() || x == "/" {
        return None;
    }
    let creator = &ctx.dockerfile.instructions[c.instr];
    if creator.keyword != Keyword::Run || ctx.stage_of[c.instr] != Some(s) || i - c.instr > MAX_SCAN {
        return None;
    }
    // Only that RUN made anything at, above or below the path.
    if index
        .candidates(x)
        .into_iter()
        .map(|n| &created[n])
        .any(|o| o.instr != c.instr && o.instr < i && pkg::path_overlaps(&o.path, x))
    {
        return None;
    }
    let cmds = &ctx.commands[i];
    let k = cmds
        .iter()
        .position(|cmd| cmd.words.iter().any(|cw| cw.span == w.span))?;
    let rm = &cmds[k];
    let (opts, operands): (Vec<_>, Vec<_>) = rm.args().iter().partition(|a| a.text.starts_with('-'));
    let opts_ok = opts.iter().all(|o| {
        matches!(o.text.as_str(), "--recursive" | "--force" | "--verbose")
            || (!o.text.starts_with("--") && o.text[1..].chars().all(|ch| matches!(ch, 'r' | 'R' | 'f' | 'v')))
    });
    if rm.name() != Some("rm") || !opts_ok || operands.len() != 1 || rm.effective().len() != rm.words.len() {
        return None;
    }
    // Nothing between the two RUNs may read or write the path.
    for j in c.instr + 1..i {
        let inst = &ctx.dockerfile.instructions[j];
        let wd = pkg::workdir_at(ctx, s, j);
        let blocked = match inst.keyword {
            Keyword::Run => ctx.commands[j].is_empty() || may_read(&ctx.commands[j], &wd, x),
            Keyword::Copy | Keyword::Add => inst
                .values()
                .last()
                .is_none_or(|d| pkg::path_overlaps(&pkg::join(&wd, &ctx.expand_at(s, j, d)), x)),
            Keyword::Workdir | Keyword::Volume => inst.values().iter().any(|v| {
                let v = ctx.expand_at(s, j, v.trim_matches(['[', ']', '"']));
                v.contains('$') || pkg::path_overlaps(&pkg::join(&wd, &v), x)
            }),
            Keyword::Onbuild => true,
            _ => false,
        };
        if blocked {
            return None;
        }
    }
    let wd = pkg::workdir_at(ctx, s, i);
    if may_read(&cmds[..k], &wd, x) {
        return None;
    }
    let remove = if pkg::sole_command(ctx, i, k) {
        pkg::delete_instruction(ctx, i)
    } else {
        pkg::remove_from_and_chain(ctx, i, k)?
    };
    let opts: Vec<&str> = opts.iter().map(|o| o.text.as_str()).collect();
    let moved = if opts.is_empty() {
        format!("rm {x}")
    } else {
        format!("rm {} {x}", opts.join(" "))
    };
    let append = pkg::append_to_run(ctx, c.instr, &moved)?;
    let edits: Vec<Edit> = vec![append, remove];
    Some(Fix::safe(
        format!(
            "delete {x} at the end of the RUN on line {} that creates it",
            creator.start_line
        ),
        edits,
    ))
}

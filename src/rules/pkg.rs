//! Shared helpers for rules: package-manager commands, `rm` targets, path handling and the
//! iteration over the `RUN`s of shipping stages.

use crate::dockerfile::shell::{Command, Separator, Word};
use crate::dockerfile::{Keyword, Span};

use super::context::RuleContext;

/// A system package manager.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pm {
    /// apt-get / apt
    Apt,
    /// apk
    Apk,
    /// yum
    Yum,
    /// dnf
    Dnf,
    /// microdnf
    Microdnf,
    /// zypper
    Zypper,
}

/// A package install command.
pub struct Install<'a> {
    /// The package manager.
    pub pm: Pm,
    /// The command.
    pub cmd: &'a Command,
    /// Package words (arguments after the subcommand that are not options).
    pub packages: Vec<&'a Word>,
}

impl Install<'_> {
    /// Span of `apt-get install` (program through subcommand).
    pub fn head_span(&self) -> Span {
        let e = self.cmd.effective();
        let sub = self.cmd.subcommand().map_or(e[0].span.end(), |w| w.span.end());
        Span::new(e[0].span.start(), sub)
    }
}

/// The package manager a command runs and its subcommand.
pub fn pm_of(cmd: &Command) -> Option<(Pm, &str)> {
    let pm = match cmd.name()? {
        "apt-get" | "apt" => Pm::Apt,
        "apk" => Pm::Apk,
        "yum" => Pm::Yum,
        "dnf" | "dnf5" => Pm::Dnf,
        "microdnf" => Pm::Microdnf,
        "zypper" => Pm::Zypper,
        _ => return None,
    };
    Some((pm, operands(pm, cmd.args()).next().map_or("", |w| w.text.as_str())))
}

/// The words of a package-manager command line that are not options or option values.
fn operands(pm: Pm, args: &[Word]) -> impl Iterator<Item = &Word> {
    let mut skip = false;
    args.iter().filter(move |w| {
        if std::mem::take(&mut skip) {
            return false;
        }
        if w.text.starts_with('-') {
            skip = !w.text.contains('=') && option_takes_value(pm, &w.text);
            return false;
        }
        true
    })
}

/// Options that take a separate value word (so the value is not a package).
fn option_takes_value(pm: Pm, opt: &str) -> bool {
    match pm {
        Pm::Apt => matches!(opt, "-o" | "-t" | "-c" | "--target-release" | "--option"),
        Pm::Apk => matches!(
            opt,
            "-t" | "--virtual" | "-X" | "--repository" | "--root" | "-p" | "--arch"
        ),
        Pm::Yum | Pm::Dnf | Pm::Microdnf => matches!(
            opt,
            "--setopt"
                | "--enablerepo"
                | "--disablerepo"
                | "--installroot"
                | "--releasever"
                | "-x"
                | "--exclude"
                | "--repo"
        ),
        Pm::Zypper => matches!(opt, "-r" | "--repo" | "--root"),
    }
}

/// The install commands among `cmds`.
pub fn installs(cmds: &[Command]) -> Vec<Install<'_>> {
    let mut out = Vec::new();
    for c in cmds {
        let Some((pm, sub)) = pm_of(c) else { continue };
        let is_install = match pm {
            Pm::Apt => sub == "install",
            Pm::Apk => sub == "add",
            Pm::Yum | Pm::Dnf | Pm::Microdnf => {
                matches!(sub, "install" | "groupinstall" | "reinstall")
            }
            Pm::Zypper => matches!(sub, "install" | "in"),
        };
        if !is_install
            || c.has_short_or_long('s', &["--simulate", "--dry-run", "--just-print", "--no-act", "--recon"])
                && pm == Pm::Apt
        {
            continue;
        }
        // The first operand is the subcommand; the rest are packages.
        let packages = operands(pm, c.args()).skip(1).collect();
        out.push(Install { pm, cmd: c, packages });
    }
    out
}

/// A package name without version or arch (`gcc=4:12` → `gcc`, `curl~1` → `curl`).
pub fn package_name(word: &str) -> &str {
    let end = word.find(['=', ':', '~', '<', '>']).unwrap_or(word.len());
    let w = &word[..end];
    // rpm-style `curl-7.1` is ambiguous; leave it. An rpm architecture suffix
    // (`java-1.8.0-openjdk-devel.x86_64`) is not part of the name.
    [".x86_64", ".noarch", ".aarch64", ".i686", ".ppc64le", ".s390x"]
        .iter()
        .find_map(|a| w.strip_suffix(a))
        .unwrap_or(w)
}

/// The working directory each command runs in: `wd` (the WORKDIR), changed by `cd DIR`
/// for the commands after it; a `cd` inside a subshell (`(cd dir && make)`) ends with it.
pub fn cwds(cmds: &[Command], wd: &str) -> Vec<String> {
    let mut cur = wd.to_string();
    let mut out = Vec::with_capacity(cmds.len());
    // The directory outside each open subshell.
    let mut outer: Vec<String> = Vec::new();
    for c in cmds {
        for _ in 0..c.opens {
            outer.push(cur.clone());
        }
        out.push(cur.clone());
        if c.name() == Some("cd") {
            match c.args().iter().find(|w| !w.text.starts_with('-')) {
                Some(d) if !d.text.contains('$') && !d.text.contains('`') => cur = join(&cur, &d.text),
                Some(_) => cur = "\u{0}unknown".to_string(),
                None => cur = "/root".to_string(),
            }
        }
        for _ in 0..c.closes {
            if let Some(o) = outer.pop() {
                cur = o;
            }
        }
    }
    out
}

/// `rm` arguments with the absolute path each names (`None` when it depends on a variable
/// or an unknown directory).
pub fn resolved_rm_paths<'c>(cmds: &'c [Command], wd: &str) -> Vec<(&'c Word, Option<String>)> {
    let cw = cwds(cmds, wd);
    let mut out = Vec::new();
    for (c, cwd) in cmds.iter().zip(&cw) {
        if !matches!(c.name(), Some("rm" | "rmdir" | "unlink")) {
            continue;
        }
        for w in c.args().iter().filter(|w| !w.text.starts_with('-')) {
            let t = &w.text;
            let path = if t.starts_with('~') || t.starts_with("$HOME") || t.starts_with("${HOME}") {
                Some(normalize_home(t))
            } else if t.contains('$') || t.contains('`') || (!t.starts_with('/') && cwd.starts_with('\u{0}')) {
                None
            } else {
                Some(join(cwd, t))
            };
            out.push((w, path));
        }
    }
    out
}

/// Every `rm` argument in `cmds`, and the roots of `find PATH ... -delete` (or `-exec rm`):
/// a generous reading, for deciding that a cache *was* cleaned.
pub fn removed_paths(cmds: &[Command]) -> Vec<&Word> {
    let mut out = Vec::new();
    for c in cmds {
        match c.name() {
            Some("rm" | "rmdir" | "unlink") => out.extend(c.args().iter().filter(|w| !w.text.starts_with('-'))),
            Some("find")
                if c.args().iter().any(|w| w.text == "-delete")
                    || c.args()
                        .windows(2)
                        .any(|p| p[0].text.starts_with("-exec") && p[1].text == "rm") =>
            {
                out.extend(c.args().iter().take_while(|w| !w.text.starts_with('-')));
            }
            _ => {}
        }
    }
    out
}

/// Whether any `rm`/`find -delete` in `cmds` removes `dir` or something directly inside it
/// (`dir/*`), or a parent of it.
pub fn removes(cmds: &[Command], dir: &str) -> bool {
    removed_paths(cmds).iter().any(|w| path_overlaps(&w.text, dir))
}

/// Whether path (maybe with globs or `~`/`$HOME`) names `dir`, a parent of it, or `dir/*`.
pub fn path_overlaps(path: &str, dir: &str) -> bool {
    let p = normalize_home(path);
    let p = p.trim_end_matches('/');
    let p = p.strip_suffix("/*").unwrap_or(p);
    let p = p.strip_suffix("/.*").unwrap_or(p);
    let p = p.trim_end_matches('/');
    if p.is_empty() {
        return false;
    }
    p == dir || dir.starts_with(&format!("{p}/")) || p.starts_with(&format!("{dir}/")) || glob_prefix_match(p, dir)
}

fn glob_prefix_match(p: &str, dir: &str) -> bool {
    // `/var/cache/apk/*` handled above; `/var/lib/apt/lists*` style
    p.ends_with('*') && dir.starts_with(p.trim_end_matches('*'))
}

/// `~` and `$HOME` become `/root` (rules only use this for the root user's caches).
pub fn normalize_home(p: &str) -> String {
    for pre in ["~/", "$HOME/", "${HOME}/"] {
        if let Some(rest) = p.strip_prefix(pre) {
            return format!("/root/{rest}");
        }
    }
    if p == "~" || p == "$HOME" || p == "${HOME}" {
        return "/root".to_string();
    }
    p.to_string()
}

/// The `RUN` instructions of shipping stages: (stage, instruction index, commands).
pub fn shipping_runs<'c>(ctx: &'c RuleContext<'_>) -> Vec<(usize, usize, &'c [Command])> {
    let mut out = Vec::new();
    for s in ctx.shipping_stages() {
        for i in s.instructions.clone() {
            if ctx.dockerfile.instructions[i].keyword == Keyword::Run {
                out.push((s.index, i, ctx.commands[i].as_slice()));
            }
        }
    }
    out
}

/// The packages the package-manager removals in these commands name (`apt-get purge`, `apk
/// del`, `dnf remove`; an `apk --virtual` group by its name), and `*` when one names them
/// through a variable (`apt-get purge -y $buildDeps`), which may remove any of them. A bare
/// `autoremove` removes only packages installed as dependencies, never one installed by name,
/// so it names nothing, unless the same commands mark every package as a dependency first
/// (`apt-mark auto '.*'`, the docker-library pattern), when it may remove any of them.
pub fn removes_packages(cmds: &[Command]) -> Vec<String> {
    let mut out = Vec::new();
    let marks_auto = cmds.iter().any(|c| {
        c.words
            .windows(2)
            .any(|p| p[0].text.ends_with("apt-mark") && p[1].text == "auto")
    });
    for c in cmds {
        let Some((pm, sub)) = pm_of(c) else { continue };
        let removing = match pm {
            Pm::Apt => matches!(sub, "purge" | "remove" | "autoremove"),
            Pm::Apk => sub == "del",
            Pm::Yum | Pm::Dnf | Pm::Microdnf => matches!(sub, "remove" | "erase" | "autoremove"),
            Pm::Zypper => matches!(sub, "remove" | "rm"),
        };
        if removing {
            let operands: Vec<&Word> = c.args().iter().filter(|w| !w.text.starts_with('-')).skip(1).collect();
            if operands.iter().any(|w| w.text.contains('$')) || marks_auto {
                out.push(String::from("*"));
            }
            out.extend(operands.iter().map(|w| package_name(&w.text).to_string()));
        }
    }
    out
}

/// The words after `pip` of a pip command, from its subcommand on: `pip3 install x` and
/// `python3 -m pip install x` alike (`pip` run as a module of the interpreter it installs for).
pub fn pip_args(c: &Command) -> Option<&[Word]> {
    let name = c.name()?;
    let args = c.args();
    let rest = if name.starts_with("pip") && name[3..].chars().all(|ch| ch.is_ascii_digit() || ch == '.') {
        args
    } else if name.starts_with("python") && args.len() > 1 && args[0].text == "-m" && args[1].text == "pip" {
        &args[2..]
    } else {
        return None;
    };
    let sub = rest.iter().position(|w| !w.text.starts_with('-'))?;
    Some(&rest[sub..])
}

/// Whether a `pip install` option takes its value as the next word (`-r FILE`, `-i URL`,
/// `--target DIR`; pip's install options), so that word is not an operand.
pub fn pip_option_takes_value(t: &str) -> bool {
    matches!(
        t,
        "-r" | "--requirement"
            | "-c"
            | "--constraint"
            | "-i"
            | "--index-url"
            | "--extra-index-url"
            | "-f"
            | "--find-links"
            | "-t"
            | "--target"
            | "--prefix"
            | "--root"
            | "--platform"
            | "--python-version"
            | "--implementation"
            | "--abi"
            | "--trusted-host"
            | "--progress-bar"
    )
}

/// The requirements files a `pip install` reads (`-r FILE`, `--requirement=FILE`, `-rFILE`),
/// unquoted; empty for another pip command.
pub fn pip_requirement_files(c: &Command) -> Vec<&str> {
    let Some(args) = pip_args(c) else {
        return Vec::new();
    };
    if args.first().is_none_or(|w| w.text != "install") {
        return Vec::new();
    }
    let mut files = Vec::new();
    for (k, w) in args.iter().enumerate() {
        let t = w.text.as_str();
        if t == "-r" || t == "--requirement" {
            files.extend(args.get(k + 1).map(|v| v.text.as_str()));
        } else if let Some(v) = t
            .strip_prefix("--requirement=")
            .or_else(|| t.strip_prefix("-r").filter(|v| !v.is_empty()))
        {
            files.push(v);
        }
    }
    files.into_iter().map(|f| f.trim_matches(['"', '\''])).collect()
}

/// Whether a word names development or test material: one of its alphanumeric parts is
/// `dev`, `develop`, `development`, `test`, `tests` or `testing` (`requirements-dev`,
/// `requirements/test`, `.[dev]`).
pub fn dev_named(t: &str) -> bool {
    t.split(|ch: char| !ch.is_ascii_alphanumeric())
        .any(|p| matches!(p, "dev" | "develop" | "development" | "test" | "tests" | "testing"))
}

/// Whether a requirements file's name says it lists development or test requirements
/// (`requirements-dev.txt`, `requirements/test.txt`, `dev-requirements.in`); not one named
/// through a variable.
pub fn dev_requirements_file(name: &str) -> bool {
    let stem = name
        .strip_suffix(".txt")
        .or_else(|| name.strip_suffix(".in"))
        .unwrap_or(name);
    !name.contains('$') && dev_named(stem)
}

/// Whether a requirements file's name says it lists what the application runs with
/// (`requirements.txt`, `requirements/base.txt`, `prod.txt`, `default.txt`), and not
/// development or test material ([`dev_requirements_file`] wins: `test-ci-default.txt` is a
/// test file). Files named for neither (`docs.txt`, `pkgutils.txt`) are neither.
pub fn production_requirements_file(name: &str) -> bool {
    if dev_requirements_file(name) || name.contains('$') {
        return false;
    }
    let leaf = name.rsplit('/').next().unwrap_or(name);
    let stem = leaf
        .strip_suffix(".txt")
        .or_else(|| leaf.strip_suffix(".in"))
        .unwrap_or(leaf)
        .to_ascii_lowercase();
    stem == "requirements"
        || stem.split(|ch: char| !ch.is_ascii_alphanumeric()).any(|p| {
            matches!(
                p,
                "base" | "prod" | "production" | "default" | "main" | "common" | "runtime" | "deploy" | "app" | "core"
            )
        })
}

/// The subcommand of a Composer run, however it is started: `composer install`, the PHAR run
/// directly (`./composer.phar install`, `/app/composer.phar install`), or through the
/// interpreter (`php composer.phar install`, `php /usr/bin/composer install`).
pub fn composer_command(c: &Command) -> Option<&str> {
    let mut words = c.args().iter().filter(|w| !w.text.starts_with('-'));
    match c.name()? {
        "composer" | "composer.phar" => words.next().map(|w| w.text.as_str()),
        "php" => {
            let prog = words.next()?;
            (prog.text.ends_with("composer.phar") || prog.text.ends_with("/composer") || prog.text == "composer")
                .then_some(())?;
            words.next().map(|w| w.text.as_str())
        }
        _ => None,
    }
}

/// The `--virtual NAME` group of an `apk add`, if any.
pub fn apk_virtual(cmd: &Command) -> Option<&str> {
    let args = cmd.args();
    for (i, w) in args.iter().enumerate() {
        if w.text == "--virtual" || w.text == "-t" {
            return args.get(i + 1).map(|w| w.text.as_str());
        }
        if let Some(v) = w.text.strip_prefix("--virtual=") {
            return Some(v);
        }
    }
    None
}

/// Whether a command is `NAME SUB...` (e.g. `npm ci`).
pub fn is(cmd: &Command, name: &str, subs: &[&str]) -> bool {
    cmd.name() == Some(name) && (subs.is_empty() || cmd.subcommand().is_some_and(|w| subs.contains(&w.text.as_str())))
}

/// The yarn command a `yarn ...` line runs: `install` for bare `yarn` (with only options),
/// else its first positional word; option values (`--network-timeout 600000`) are skipped.
pub fn yarn_command(cmd: &Command) -> Option<&str> {
    if cmd.name() != Some("yarn") {
        return None;
    }
    let args = cmd.args();
    let mut skip = false;
    for w in args {
        if skip {
            skip = false;
            continue;
        }
        let t = w.text.as_str();
        if matches!(t, "--version" | "-v" | "--help" | "-h") {
            return Some("version");
        }
        if t.starts_with('-') {
            skip = !t.contains('=')
                && matches!(
                    t,
                    "--network-timeout"
                        | "--cache-folder"
                        | "--modules-folder"
                        | "--mutex"
                        | "--registry"
                        | "--network-concurrency"
                        | "--cwd"
                        | "--global-folder"
                );
            continue;
        }
        return Some(t);
    }
    Some("install")
}

/// Joins a path onto a WORKDIR (`/` when unknown).
pub fn join(workdir: &str, p: &str) -> String {
    if p.starts_with('/') {
        p.to_string()
    } else {
        let p = p.strip_prefix("./").unwrap_or(p);
        if p == "." || p.is_empty() {
            workdir.to_string()
        } else {
            format!("{}/{}", workdir.trim_end_matches('/'), p)
        }
    }
}

/// An edit that runs `cmd` at the end of the shell-form `RUN` `i` (` && cmd` after its last
/// command), for fixes that clean up in the layer that made the mess. `None` for exec form,
/// heredocs and `RUN`s imgopt did not split.
pub fn append_to_run(ctx: &RuleContext<'_>, i: usize, cmd: &str) -> Option<crate::fix::Edit> {
    let inst = &ctx.dockerfile.instructions[i];
    if inst.json || !inst.heredocs.is_empty() {
        return None;
    }
    let end = ctx.commands[i].iter().filter_map(Command::span).map(Span::end).max()?;
    Some(crate::fix::Edit::insert(end, format!(" && {cmd}")))
}

/// An edit that deletes instruction `i` whole: from the start of its line (when only blanks
/// precede it there) through its line break, so no empty line is left behind.
pub fn delete_instruction(ctx: &RuleContext<'_>, i: usize) -> crate::fix::Edit {
    let span = ctx.dockerfile.instructions[i].span;
    let src = ctx.src.as_bytes();
    let line_start = ctx.src[..span.start()].rfind('\n').map_or(0, |p| p + 1);
    let start = if ctx.src[line_start..span.start()]
        .bytes()
        .all(|b| b == b' ' || b == b'\t')
    {
        line_start
    } else {
        span.start()
    };
    let mut end = span.end();
    while end < src.len() && (src[end] == b' ' || src[end] == b'\t' || src[end] == b'\r') {
        end += 1;
    }
    if end < src.len() && src[end] == b'\n' {
        end += 1;
    } else {
        end = span.end();
    }
    crate::fix::Edit::delete(Span::new(start, end))
}

/// An edit that removes command `k` of the shell-form `RUN` `i` when it is a clean part of an
/// `&&` chain: ` && cmd` after an earlier command (or `cmd && ` before the next one) goes, with
/// the line continuations between them. `None` when the `RUN` is exec form, has heredocs, is
/// the command alone (delete the instruction instead), joins it by another operator (`;`,
/// `||`, `|`, a subshell, a keyword such as `then`), or has redirections or a comment next to
/// it that would be left dangling.
pub fn remove_from_and_chain(ctx: &RuleContext<'_>, i: usize, k: usize) -> Option<crate::fix::Edit> {
    let inst = &ctx.dockerfile.instructions[i];
    let cmds = &ctx.commands[i];
    if inst.json || !inst.heredocs.is_empty() || cmds.len() < 2 || k >= cmds.len() {
        return None;
    }
    let span_of = |n: usize| cmds[n].span();
    // Only blanks, `&&` and line continuations between two commands.
    let joiner_only = |from: usize, to: usize| {
        let gap = ctx.src.get(from..to).unwrap_or("#");
        if gap.matches("&&").count() != 1 {
            return false;
        }
        let rest = gap.replace("&&", "");
        let esc = ctx.dockerfile.escape;
        let mut chars = rest.chars().peekable();
        while let Some(c) = chars.next() {
            if c == esc {
                // escape, blanks, line break
                while chars.peek().is_some_and(|c| *c == ' ' || *c == '\t' || *c == '\r') {
                    chars.next();
                }
                if chars.next() != Some('\n') {
                    return false;
                }
            } else if !matches!(c, ' ' | '\t') {
                return false;
            }
        }
        true
    };
    let cur = span_of(k)?;
    if k > 0 {
        let prev = span_of(k - 1)?;
        let next_ok = k + 1 == cmds.len() || cmds[k + 1].separator == Separator::And;
        if cmds[k].separator == Separator::And && next_ok && joiner_only(prev.end(), cur.start()) {
            // Nothing but blanks may follow the last command up to the end of the RUN text.
            let tail_end = if k + 1 < cmds.len() {
                span_of(k + 1)?.start()
            } else {
                inst.args_span.end()
            };
            let tail = ctx.src.get(cur.end()..tail_end).unwrap_or("#");
            let tail_ok = if k + 1 < cmds.len() {
                joiner_only(cur.end(), tail_end)
            } else {
                tail.trim().is_empty()
            };
            if tail_ok {
                return Some(crate::fix::Edit::delete(Span::new(prev.end(), cur.end())));
            }
        }
        return None;
    }
    let next = span_of(1)?;
    (cmds[1].separator == Separator::And && joiner_only(cur.end(), next.start()))
        .then(|| crate::fix::Edit::delete(Span::new(cur.start(), next.start())))
}

/// Whether command `k` of `RUN` `i` is the only command of a shell-form `RUN` without heredocs
/// (so removing it means removing the instruction).
pub fn sole_command(ctx: &RuleContext<'_>, i: usize, k: usize) -> bool {
    let inst = &ctx.dockerfile.instructions[i];
    !inst.json && inst.heredocs.is_empty() && ctx.commands[i].len() == 1 && k == 0
}

/// The WORKDIR in effect at instruction `at` of stage `s` (following the FROM chain).
pub fn workdir_at(ctx: &RuleContext<'_>, s: usize, at: usize) -> String {
    ctx.workdir_at(s, at).to_string()
}

/// Values of a flag-like option: `-o X`, `-oX`, `--out X`, `--out=X`.
pub fn option_value<'a>(cmd: &'a Command, short: Option<&str>, long: &[&str]) -> Option<&'a str> {
    let args = cmd.args();
    for (i, w) in args.iter().enumerate() {
        let t = w.text.as_str();
        if short == Some(t) || long.contains(&t) {
            return args.get(i + 1).map(|w| w.text.as_str());
        }
        for l in long {
            if let Some(v) = t.strip_prefix(&format!("{l}=")) {
                return Some(v);
            }
        }
        if let Some(s) = short
            && t.len() > s.len()
            && t.starts_with(s)
            && !t.starts_with("--")
        {
            return Some(&t[s.len()..]);
        }
    }
    None
}

/// For each command, whether it lies in an `if` (one level deep, with an `else`) each of
/// whose branches has a command of the same tag: `if [ cross ]; then cargo build --target x;
/// else cargo build; fi` builds either way. `tags[k]` is command `k`'s tag, if any.
pub fn in_every_branch<T: PartialEq + Copy>(cmds: &[Command], tags: &[Option<T>]) -> Vec<bool> {
    let mut out = vec![false; cmds.len()];
    // The open `if`s: per branch, the tags of its commands; and the commands inside it.
    let mut frames: Vec<(Vec<Vec<T>>, bool, Vec<usize>)> = Vec::new();
    for (k, c) in cmds.iter().enumerate() {
        let mut closes = 0usize;
        for w in &c.words {
            match w.text.as_str() {
                "if" | "case" => frames.push((vec![Vec::new()], false, Vec::new())),
                "fi" | "esac" => closes += 1,
                "else" | "elif" => {
                    if let Some(f) = frames.last_mut() {
                        f.0.push(Vec::new());
                        f.1 |= w.text == "else";
                    }
                }
                "then" | "do" | "done" | "!" | "{" | "}" => {}
                _ => break,
            }
        }
        if frames.len() == 1
            && let Some(f) = frames.last_mut()
        {
            if let (Some(t), Some(branch)) = (tags.get(k).copied().flatten(), f.0.last_mut()) {
                branch.push(t);
            }
            f.2.push(k);
        }
        for _ in 0..closes {
            let Some((branches, has_else, members)) = frames.pop() else {
                break;
            };
            if !has_else {
                continue;
            }
            for m in members {
                if let Some(t) = tags.get(m).copied().flatten()
                    && branches.iter().all(|b| b.contains(&t))
                {
                    out[m] = true;
                }
            }
        }
    }
    out
}

/// For each command, whether it runs only under a condition: inside `if ... fi` or
/// `case ... esac`, or after `[ ... ] &&` / `test ... ||`. Rules use this where a command that
/// may not run must not be reported (an install that only a build argument turns on).
/// `truth` decides a test command (`[ "$X" = 1 ]`) when it can: the branch a known test takes
/// is not conditional, the one it skips is.
pub fn conditional(cmds: &[Command], truth: impl Fn(&Command) -> Option<bool>) -> Vec<bool> {
    // One frame per open `if`/`case`: whether its current branch surely runs.
    let mut frames: Vec<Option<bool>> = Vec::new();
    let mut prev_test: Option<Option<bool>> = None;
    let mut out = Vec::with_capacity(cmds.len());
    for c in cmds {
        let mut closes = 0usize;
        let mut is_if = false;
        for w in &c.words {
            match w.text.as_str() {
                "if" => is_if = true,
                "case" => frames.push(None),
                "fi" | "esac" => closes += 1,
                "else" => {
                    if let Some(f) = frames.last_mut() {
                        *f = f.map(|t| !t);
                    }
                }
                "elif" => {
                    if let Some(f) = frames.last_mut() {
                        *f = None;
                    }
                }
                "then" | "do" | "done" | "!" | "{" | "}" => {}
                _ => break,
            }
        }
        if is_if {
            frames.push(truth(c));
        }
        let after_test = match (prev_test, c.separator) {
            (Some(t), crate::dockerfile::shell::Separator::And) => t != Some(true),
            (Some(t), crate::dockerfile::shell::Separator::Or) => t != Some(false),
            _ => false,
        };
        out.push(after_test || frames.iter().any(|f| *f != Some(true)));
        for _ in 0..closes {
            frames.pop();
        }
        prev_test = matches!(c.name(), Some("[" | "[[" | "test")).then(|| truth(c));
    }
    out
}

/// The commands that `eval "$NAME"` runs in `cmds`, where the same `RUN` set
/// `NAME="..."` (a cleanup kept in a variable: `CLEANUP="rm -rf /var/lib/apt/lists/*"; ...
/// eval "$CLEANUP"`), split as shell. Their spans index the assigned text, not the file:
/// callers use them to see what was removed, never to point at.
pub fn evaluated(cmds: &[Command]) -> Vec<Command> {
    let mut vars: Vec<(&str, &str)> = Vec::new();
    let mut out = Vec::new();
    for c in cmds {
        for w in &c.words {
            if let Some((k, v)) = w.text.split_once('=')
                && !k.is_empty()
                && k.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '_')
            {
                vars.push((k, v));
            }
        }
        if c.name() != Some("eval") {
            continue;
        }
        for a in c.args() {
            let name = a
                .text
                .trim_start_matches('$')
                .trim_start_matches('{')
                .trim_end_matches('}');
            if !a.text.starts_with('$') {
                continue;
            }
            // Every value the variable was given (the branches of an `if` may set it
            // differently; each branch's cleanup goes with its own install).
            for (_, v) in vars.iter().filter(|(k, _)| *k == name) {
                out.extend(crate::dockerfile::shell::split(
                    v,
                    Span::new(0, v.len()),
                    crate::dockerfile::shell::Mode::Script,
                ));
            }
        }
    }
    out
}

/// [`conditional`] for the commands of `RUN` `i` in stage `s`, with tests decided from the
/// ARG and ENV values in scope (`ARG BUILD_JS=0` makes `if [ "$BUILD_JS" = 1 ]` false).
pub fn conditional_at(ctx: &RuleContext<'_>, s: usize, i: usize) -> Vec<bool> {
    conditional(&ctx.commands[i], |c| test_truth(c, |t| ctx.expand_at(s, i, t)))
}

/// The value of a simple test (`[ "$X" = v ]`, `!=`, `==`, `[ -n "$X" ]`, `[ -z "$X" ]`)
/// once `expand` has replaced the variables it knows; `None` when a word still holds a `$`
/// or the test has another shape.
pub fn test_truth(cmd: &Command, expand: impl Fn(&str) -> String) -> Option<bool> {
    let words: Vec<String> = cmd
        .effective()
        .iter()
        .map(|w| expand(&w.text))
        .filter(|w| w != "]" && w != "]]")
        .collect();
    if words.iter().any(|w| w.contains('$') || w.contains('`')) {
        return None;
    }
    match words.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["[" | "[[" | "test", a, "=" | "==", b] => Some(a == b),
        ["[" | "[[" | "test", a, "!=", b] => Some(a != b),
        ["[" | "[[" | "test", "-n", a] => Some(!a.is_empty()),
        ["[" | "[[" | "test", "-z", a] => Some(a.is_empty()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dockerfile::shell::{Mode, split};

    fn cmds(s: &str) -> Vec<Command> {
        split(s, Span::new(0, s.len()), Mode::Script)
    }

    #[test]
    fn finds_installs_and_packages() {
        let c = cmds(
            "apt-get -o Dpkg::Options::=--force-confold install -y --no-install-recommends gcc curl=7.1 && apk add --virtual .b musl-dev",
        );
        let i = installs(&c);
        assert_eq!(i.len(), 2);
        assert_eq!(
            i[0].packages.iter().map(|w| package_name(&w.text)).collect::<Vec<_>>(),
            ["gcc", "curl"]
        );
        assert_eq!(
            i[1].packages.iter().map(|w| w.text.as_str()).collect::<Vec<_>>(),
            ["musl-dev"]
        );
        assert_eq!(apk_virtual(i[1].cmd), Some(".b"));
    }

    #[test]
    fn conditional_commands() {
        let c = cmds(
            "apk add a; if [ \"$X\" = 1 ]; then apk add b; fi; apk add c && [ -n \"$Y\" ] && apk add d; \
             if [ \"$Z\" = true ]; then apk add e; else apk add f; fi",
        );
        // $Z is known to be `true`; $X and $Y are unknown.
        let expand = |t: &str| t.replace("$Z", "true");
        let names: Vec<(String, bool)> = c
            .iter()
            .zip(conditional(&c, |t| test_truth(t, expand)))
            .filter(|(c, _)| c.name() == Some("apk"))
            .map(|(c, k)| (c.args()[1].text.clone(), k))
            .collect();
        assert_eq!(
            names,
            [
                ("a".into(), false),
                ("b".into(), true),
                ("c".into(), false),
                ("d".into(), true),
                ("e".into(), false),
                ("f".into(), true)
            ]
        );
    }

    #[test]
    fn eval_of_a_cleanup_variable() {
        let c = cmds(
            "apt-get update && CLEANUP=\"apt-get purge -y unzip && rm -rf /var/lib/apt/lists/*\"; eval \"$CLEANUP\"",
        );
        assert!(!removes(&c, "/var/lib/apt/lists"));
        assert!(removes(&evaluated(&c), "/var/lib/apt/lists"));
        let unused = cmds("apt-get update && CLEANUP=\"rm -rf /var/lib/apt/lists/*\"; echo done");
        assert!(evaluated(&unused).is_empty());
    }

    #[test]
    fn cd_in_a_subshell_ends_with_it() {
        let c = cmds(
            "tar xf a.tgz && (cd a-1 && make) && (cd /app && make) && rm -rf a-1; (cd b && (cd c && x) && y) && z",
        );
        let at = |name: &str, n: usize| {
            let w = cwds(&c, "/src");
            c.iter()
                .zip(w)
                .filter(|(c, _)| c.name() == Some(name))
                .nth(n)
                .map(|(_, w)| w)
                .unwrap()
        };
        assert_eq!(at("make", 0), "/src/a-1");
        assert_eq!(at("make", 1), "/app");
        assert_eq!(at("rm", 0), "/src");
        assert_eq!(at("x", 0), "/src/b/c");
        assert_eq!(at("y", 0), "/src/b");
        assert_eq!(at("z", 0), "/src");
    }

    #[test]
    fn removal_matching() {
        let c = cmds("apt-get update && rm -rf /var/lib/apt/lists/*");
        assert!(removes(&c, "/var/lib/apt/lists"));
        assert!(!removes(&c, "/var/cache/apk"));
        assert!(path_overlaps("~/.cache/pip", "/root/.cache/pip"));
        assert!(path_overlaps("/root/.cache", "/root/.cache/pip"));
        assert!(path_overlaps("/tmp/*", "/tmp/x.tar.gz"));
        assert!(!path_overlaps("/tmp/y", "/tmp/x.tar.gz"));
    }
}

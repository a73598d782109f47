//! Rule DF204 pip-cache-kept: one rule, documented by its `///` doc below (the user manual; `imgopt explain`).

use super::Measured;
use super::pkg;
use super::{Finding, Rule, RuleContext};
use crate::diag::Severity;
use crate::dockerfile::shell::Command;
use crate::estimate::{Basis, Estimate, heuristics};
use crate::fix::{Edit, Fix};
use crate::layers::waste::CacheKind;

crate::declare_rule! {
    /// ## What it does
    /// Checks for `pip install` (`pip`, `pip3`, `python -m pip`) in a stage that ships in the
    /// final image without `--no-cache-dir`, when `PIP_NO_CACHE_DIR` is not set, no cache is
    /// mounted on pip's cache directory and the same `RUN` does not delete it. Offline
    /// installs (`RUN --network=none`, `--no-index`) download nothing and are not reported.
    ///
    /// ## Why is this bad?
    /// pip keeps every downloaded wheel and HTTP response in `~/.cache/pip`, which is then
    /// committed into the layer. Measured: 10–17 MB per image (caronc/apprise#939) and 78 MB,
    /// 581 → 503 MB (robusta-dev/krr#334). A `RUN` that installs only `pip`, `setuptools`
    /// or `wheel` (`pip install --upgrade pip`) is reported with a smaller estimate, 1–4 MB:
    /// the cache keeps the wheels it downloaded, 1.8 MB for pip 24.2, 1.2 MB for setuptools
    /// 75.1 and 0.07 MB for wheel 0.44 on PyPI, and their HTTP cache entries. An install that
    /// names its packages gets 0.1–10 MB a package named (`pip install flask requests`: 0.2–20
    /// MB; their wheels and dependencies are about 3 MB on PyPI), so a short list is not given
    /// the floor of a whole requirements file.
    ///
    /// uv's installs (`uv sync`, `uv pip install`, `uv add`, `uv tool install`) are checked the
    /// same way: uv keeps the wheels it downloads and unpacks in `~/.cache/uv` unless it runs
    /// with `--no-cache`, `UV_NO_CACHE` is set, a cache is mounted on it (or on `~/.cache`, or
    /// on `UV_CACHE_DIR`), or the `RUN` cleans it (`uv cache clean`, `rm -rf ~/.cache/uv`)
    /// (<https://docs.astral.sh/uv/concepts/cache/>).
    ///
    /// ## Example
    /// ```dockerfile
    /// RUN pip install -r requirements.txt
    /// ```
    ///
    /// Use instead:
    /// ```dockerfile
    /// RUN pip install --no-cache-dir -r requirements.txt
    /// ```
    /// or keep the cache between builds but out of the image (do not combine with
    /// `--no-cache-dir`, which defeats the mount, NVIDIA/TensorRT-LLM#13510):
    /// ```dockerfile
    /// RUN --mount=type=cache,target=/root/.cache/pip pip install -r requirements.txt
    /// ```
    ///
    /// ## References
    /// - hadolint DL3042 (<https://github.com/hadolint/hadolint/wiki/DL3042>)
    /// - pip docs, "Caching" (<https://pip.pypa.io/en/stable/topics/caching/>)
    pub PipCacheKept, DF204, "pip-cache-kept", Severity::Warning, measured = Measured::Caches(&[CacheKind::Pip])
}

/// For a `pip install` (`pip3 install`, `python3 -m pip install`), the index in the command's
/// effective words of the word before `install`: the words after `install` are its arguments.
fn is_pip_install(c: &Command) -> Option<usize> {
    let sub = pkg::pip_args(c)?.first().filter(|w| w.text == "install")?;
    let at = c.effective().iter().position(|w| std::ptr::eq(w, sub))?;
    Some(at - 1)
}

/// The first uv install in `cmds` that keeps uv's cache in the layer of `RUN` `i`, if any.
fn uv_install_keeping_cache<'c>(ctx: &RuleContext<'_>, s: usize, i: usize, cmds: &'c [Command]) -> Option<&'c Command> {
    if ctx.env_at(s, i, "UV_NO_CACHE").is_some() {
        return None;
    }
    let uv_cache_dir = ctx.env_at(s, i, "UV_CACHE_DIR");
    let mounted = ctx.cache_mount_targets(s, i).iter().any(|t| {
        t.contains(".cache/uv")
            || t.trim_end_matches('/').ends_with(".cache")
            || t.contains("UV_CACHE_DIR")
            || uv_cache_dir
                .as_deref()
                .is_some_and(|d| pkg::path_overlaps(t, d.trim_end_matches('/')))
    });
    let cleaned = pkg::removed_paths(cmds).iter().any(|w| {
        let p = pkg::normalize_home(&w.text);
        p.contains(".cache/uv") || p.contains("UV_CACHE_DIR") || p.trim_end_matches(['/', '*']).ends_with(".cache")
    }) || cmds.iter().any(|c| pkg::is(c, "uv", &["cache"]));
    if mounted || cleaned {
        return None;
    }
    cmds.iter().find(|c| {
        let installs = pkg::is(c, "uv", &["sync", "add"])
            || c.name() == Some("uv")
                && c.args()
                    .windows(2)
                    .any(|p| matches!(p[0].text.as_str(), "pip" | "tool") && p[1].text == "install");
        installs
            && !c.has_flag("--no-cache")
            && !c.has_flag("-n")
            && !c.has_flag("--offline")
            && !c.words.iter().any(|w| w.text.starts_with("UV_NO_CACHE="))
    })
}

impl Rule for PipCacheKept {
    fn check(&self, ctx: &RuleContext<'_>, out: &mut Vec<Finding>) {
        for (s, i, cmds) in pkg::shipping_runs(ctx) {
            if let Some(c) = uv_install_keeping_cache(ctx, s, i, cmds)
                && let Some(sub) = c.subcommand()
            {
                let span = c.span_through(1).unwrap_or_default();
                out.push(
                    Finding::new(&Self::META, ctx, i, span, format!("`{}` keeps uv's cache (~/.cache/uv) in this layer", ctx.text(span)), "add `--no-cache`, set `ENV UV_NO_CACHE=1`, or use `RUN --mount=type=cache,target=/root/.cache/uv`")
                        .estimate(Some(heuristics::pip_cache()))
                        .fix(Fix::safe("add `--no-cache` to the uv command", vec![Edit::insert(sub.span.end(), " --no-cache")])),
                );
            }
            let offline = ctx.dockerfile.instructions[i]
                .flag("network")
                .is_some_and(|f| f.value() == Some("none"));
            if offline
                || ctx.env_at(s, i, "PIP_NO_CACHE_DIR").is_some()
                || ctx.has_cache_mount(i, &["/root/.cache/pip"])
            {
                continue;
            }
            // A cache mount on pip's cache wherever it is: `~/.cache`, a `.cache/pip`, or the
            // folder `PIP_CACHE_DIR` names (also when the target is written `$PIP_CACHE_DIR`).
            let pip_cache_dir = ctx.env_at(s, i, "PIP_CACHE_DIR");
            let targets = ctx.cache_mount_targets(s, i);
            let mounted_elsewhere = targets.iter().any(|t| {
                t.contains(".cache/pip")
                    || t.ends_with(".cache")
                    || t.contains("PIP_CACHE_DIR")
                    || pip_cache_dir
                        .as_deref()
                        .is_some_and(|d| pkg::path_overlaps(t, d.trim_end_matches('/')))
            });
            if mounted_elsewhere {
                continue;
            }
            let cleaned = pkg::removed_paths(cmds).iter().any(|w| {
                let p = pkg::normalize_home(&w.text);
                p.contains(".cache/pip")
                    || p.contains("PIP_CACHE_DIR")
                    || p.contains("pip cache dir")
                    || p.trim_end_matches('/').ends_with(".cache")
                    || p.trim_end_matches("/*").ends_with(".cache")
            }) || cmds.iter().any(|c| {
                c.name().is_some_and(|n| n.starts_with("pip"))
                    && c.args().iter().any(|w| w.text == "cache")
                    && c.args().iter().any(|w| w.text == "purge")
            });
            if cleaned {
                continue;
            }
            let mut found = None;
            let mut fallback = None;
            for c in cmds {
                let Some(at) = is_pip_install(c) else {
                    continue;
                };
                if c.has_flag("--no-cache-dir") || c.has_flag("--no-cache") || c.has_flag("--no-index") {
                    continue;
                }
                // `PIP_CACHE_DIR=$CACHE pip install` with a cache mount on `$CACHE`.
                let inline_cache = c.words.iter().any(|w| {
                    w.text.strip_prefix("PIP_CACHE_DIR=").is_some_and(|v| {
                        let v = ctx.expand_at(s, i, v.trim_matches(['"', '\'']));
                        targets.iter().any(|t| pkg::path_overlaps(t, v.trim_end_matches('/')))
                    })
                });
                if inline_cache {
                    continue;
                }
                let e = c.effective();
                let pkgs: Vec<&str> = e[at + 2..]
                    .iter()
                    .filter(|w| !w.text.starts_with('-'))
                    .map(|w| w.text.as_str())
                    .collect();
                let has_req = c.args().iter().any(|w| {
                    w.text == "-r"
                        || w.text.starts_with("--requirement")
                        || w.text.starts_with("-r")
                        || w.text == "-e"
                        || w.text == "."
                });
                // `pip install --upgrade pip setuptools wheel`: only pip's own tooling, a
                // small cache (see the doc); reported when nothing bigger is.
                let self_upgrade = !has_req
                    && pkgs.iter().all(|p| {
                        matches!(
                            pkg::package_name(&p.to_ascii_lowercase())
                                .trim_end_matches(|ch: char| !ch.is_alphanumeric()),
                            "pip" | "setuptools" | "wheel"
                        )
                    });
                if self_upgrade && fallback.is_none() {
                    fallback = Some((c, at));
                }
                if self_upgrade {
                    continue;
                }
                found = Some((c, at));
                break;
            }
            let (c, at, estimate) = match (found, fallback) {
                (Some((c, at)), _) => (c, at, named_packages_cache(c, at).unwrap_or_else(heuristics::pip_cache)),
                (None, Some((c, at))) => (c, at, self_upgrade_cache()),
                (None, None) => continue,
            };
            let e = c.effective();
            let span = e[..=at + 1].last().map_or_else(
                || c.span().unwrap_or_default(),
                |last| crate::dockerfile::Span::new(e[0].span.start(), last.span.end()),
            );
            let install = e[at + 1..].iter().find(|w| w.text == "install").unwrap_or(&e[at + 1]);
            out.push(
                Finding::new(&Self::META, ctx, i, span, "`pip install` keeps its download cache (~/.cache/pip) in this layer", "add `--no-cache-dir`, set `ENV PIP_NO_CACHE_DIR=1`, or use `RUN --mount=type=cache,target=/root/.cache/pip`")
                    .estimate(Some(estimate))
                    .fix(Fix::safe("add `--no-cache-dir` to `pip install`", vec![Edit::insert(install.span.end(), " --no-cache-dir")])),
            );
        }
    }
}

/// The cache of an install that names its packages (no requirements file, no local project):
/// the wheels of those packages and their dependencies, 0.1–10 MB a named package (a pure-Python
/// package with a few dependencies, such as `flask`, brings about 1.5 MB of wheels from PyPI;
/// a scientific one, such as `numpy`, about 18 MB, with several such in a 78 MB cache,
/// robusta-dev/krr#334), so a short list is not given the 10 MB floor of a whole requirements
/// file. `None` when the install reads a requirements file, a local path or a project.
fn named_packages_cache(c: &Command, at: usize) -> Option<Estimate> {
    const MB: u64 = 1_000_000;
    let e = c.effective();
    let args = &e[at + 2..];
    let mut named = 0u64;
    let mut skip_value = false;
    for w in args {
        let t = w.text.as_str();
        if skip_value {
            skip_value = false;
            continue;
        }
        if t.starts_with('-') {
            if t == "-r"
                || t.starts_with("--requirement")
                || t.starts_with("-r")
                || t == "-e"
                || t.starts_with("--editable")
            {
                return None;
            }
            // Options that take a value as the next word.
            skip_value = pkg::pip_option_takes_value(t);
            continue;
        }
        // A path, a URL or a variable is not a package name whose size can be guessed.
        if t.contains('/') || t.contains('$') || t == "." || t.ends_with(".whl") || t.ends_with(".tar.gz") {
            return None;
        }
        named += 1;
    }
    (named > 0).then(|| Estimate::uncompressed(named * MB / 10, named * 10 * MB, Basis::Heuristic))
}

/// The cache of `pip install --upgrade pip setuptools wheel` alone: the wheels it downloads,
/// pip 1.8 MB, setuptools 1.2 MB and wheel 0.07 MB on PyPI (pip 24.2, setuptools 75.1,
/// wheel 0.44), plus pip's HTTP cache entries for them: 1–4 MB.
fn self_upgrade_cache() -> Estimate {
    Estimate::uncompressed(1_000_000, 4_000_000, Basis::Heuristic)
}

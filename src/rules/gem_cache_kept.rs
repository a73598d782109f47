//! Rule DF210 gem-cache-kept: one rule, documented by its `///` doc below (the user manual; `imgopt explain`).

use super::context::unquote;
use super::{Finding, Rule, RuleContext, pkg};
use crate::diag::Severity;
use crate::dockerfile::Keyword;
use crate::dockerfile::shell::Command;

crate::declare_rule! {
    /// ## What it does
    /// Checks for RubyGems' `.gem` package cache reaching the final image:
    /// - `gem install`, `gem update` (`--system` downloads the `rubygems-update` gem),
    ///   `bundle install` or a bare `bundle` in a stage that ships, without removing the gem
    ///   cache in the same `RUN` (or a cache mount on it). The cache must be removed where
    ///   the gems went: under `$GEM_HOME` (`/usr/local/bundle` on the official ruby image),
    ///   `$BUNDLE_PATH` or a `bundle config set path DIR`; removing `/usr/lib/ruby/gems/*/cache`
    ///   on the ruby image, where gems go to `/usr/local/bundle`, leaves the files. With a
    ///   distribution's Ruby (`apt-get install ruby`), gems go to `/var/lib/gems` (Alpine:
    ///   `/usr/lib/ruby/gems`); removing the whole gem home in the same `RUN` (a Ruby
    ///   installed to build the docs and purged again) removes the cache with it.
    ///   `--no-document` skips the documentation only, and `bundle clean --force` removes
    ///   unused gems, not the cache: neither helps;
    /// - `COPY --from=STAGE DIR ...` where `DIR` is a gem home of `STAGE` (`/usr/local/bundle`,
    ///   `$BUNDLE_PATH`, `$GEM_HOME`) and `STAGE` installed gems without removing the cache:
    ///   the copy carries every downloaded `.gem` file next to the installed gems.
    ///
    /// ## Why is this bad?
    /// RubyGems keeps each downloaded `.gem` archive in the `cache` folder of the gem home
    /// after installing it; the installed gem does not need it, so every gem is shipped twice,
    /// once packed. There is no estimate: a `.gem` is a packed copy of the gem, so the cache
    /// is roughly the gzip-compressed size of all installed gems, which the Dockerfile does not
    /// say.
    ///
    /// ## Example
    /// ```dockerfile
    /// FROM ruby:3.3-slim AS build
    /// COPY Gemfile Gemfile.lock ./
    /// RUN bundle install
    /// FROM ruby:3.3-slim
    /// COPY --from=build /usr/local/bundle /usr/local/bundle
    /// ```
    ///
    /// Use instead:
    /// ```dockerfile
    /// RUN bundle install && rm -rf /usr/local/bundle/cache
    /// ```
    ///
    /// ## References
    /// - RubyGems guides, "RubyGems basics" and the gem cache
    ///   (<https://guides.rubygems.org/command-reference/#gem-install>)
    /// - docker-library/ruby, `GEM_HOME=/usr/local/bundle` (<https://github.com/docker-library/ruby>)
    /// - Bundler docs, `path` and `BUNDLE_PATH` (<https://bundler.io/man/bundle-config.1.html>)
    pub GemCacheKept, DF210, "gem-cache-kept", Severity::Warning
}

/// Whether a command installs or updates gems: `gem install`, `gem update` (with `--system`
/// it downloads the `rubygems-update` gem), `bundle install` and a bare `bundle`.
fn installs_gems(c: &Command) -> bool {
    pkg::is(c, "gem", &["install", "i", "update"])
        || pkg::is(c, "bundle", &["install"])
        || (c.name() == Some("bundle") && c.args().first().is_none_or(|w| w.text.starts_with('-')))
}

/// Most gem homes followed per `RUN` (a file that sets thousands stays linear).
const MAX_HOMES: usize = 8;

/// Whether a stage chain builds on Docker's official `ruby` image, whose `GEM_HOME` is
/// `/usr/local/bundle` (docker-library/ruby).
fn official_ruby(ctx: &RuleContext<'_>, s: usize) -> bool {
    crate::catalog::ImageRef::parse(ctx.root_base(s))
        .is_some_and(|r| r.registry.as_deref().is_none_or(|h| h == "docker.io") && r.repo == "ruby")
}

/// The gem home of a distribution's Ruby that the stage chain installs by instruction `at`
/// (a `ruby`, `ruby-full` or `rubygems` package): Debian and Ubuntu install gems for root
/// under `/var/lib/gems` (the `rubygems-integration` default, <https://wiki.debian.org/Teams/Ruby/Packaging>),
/// Alpine under `/usr/lib/ruby/gems`.
fn system_ruby_home(ctx: &RuleContext<'_>, s: usize, at: usize) -> Option<&'static str> {
    ctx.chain(s)
        .into_iter()
        .flat_map(|st| ctx.stage_instructions(st))
        .filter(|(k, _)| *k <= at)
        .flat_map(|(k, _)| pkg::installs(&ctx.commands[k]))
        .find_map(|x| {
            let ruby = x
                .packages
                .iter()
                .any(|w| matches!(pkg::package_name(&w.text), "ruby" | "ruby-full" | "rubygems"));
            match x.pm {
                pkg::Pm::Apt if ruby => Some("/var/lib/gems"),
                pkg::Pm::Apk if ruby => Some("/usr/lib/ruby/gems"),
                _ => None,
            }
        })
}

/// Whether `cmds` remove a whole gem home of `homes` (or a folder above it): nothing the
/// installs of the same `RUN` put there ships, the cache included.
pub(super) fn removes_gem_home(ctx: &RuleContext<'_>, s: usize, at: usize, cmds: &[Command], homes: &[String]) -> bool {
    let cwd = ctx.workdir_at(s, at);
    pkg::removed_paths(cmds).iter().any(|w| {
        let t = ctx.expand_at(s, at, &w.text);
        if t.contains('$') || t.contains('*') {
            return false;
        }
        let p = pkg::join(cwd, &t);
        let p = p.trim_end_matches('/');
        !p.is_empty() && homes.iter().any(|h| h == p || h.starts_with(&format!("{p}/")))
    })
}

/// The folders that hold the gem cache for instruction `at` of stage `s` (`at` past the
/// stage's end: at its end): `$GEM_HOME` (`/usr/local/bundle` on the official ruby image),
/// `$BUNDLE_PATH`, and a `bundle config ... path DIR` run before it or in it, relative to the
/// WORKDIR.
/// Empty when none is known.
pub(super) fn gem_homes(ctx: &RuleContext<'_>, s: usize, at: usize) -> Vec<String> {
    let mut homes = Vec::new();
    match ctx.env_at(s, at, "GEM_HOME") {
        Some(h) => homes.push(ctx.expand_at(s, at, &h)),
        None if official_ruby(ctx, s) => homes.push("/usr/local/bundle".to_string()),
        None => homes.extend(system_ruby_home(ctx, s, at).map(str::to_string)),
    }
    if let Some(p) = ctx.env_at(s, at, "BUNDLE_PATH") {
        homes.push(pkg::join(ctx.workdir_at(s, at), &ctx.expand_at(s, at, &p)));
    }
    for &st in &ctx.chain(s) {
        for (k, inst) in ctx.stage_instructions(st) {
            if k > at || inst.keyword != Keyword::Run {
                continue;
            }
            let wd = ctx.workdir_at(st, k);
            for c in &ctx.commands[k] {
                if c.name() != Some("bundle") || !c.args().iter().any(|w| w.text == "config") {
                    continue;
                }
                let words: Vec<&str> = c.args().iter().map(|w| w.text.as_str()).collect();
                if let Some(p) = words.iter().position(|w| *w == "path")
                    && let Some(dir) = words.get(p + 1)
                {
                    homes.push(pkg::join(wd, dir));
                }
            }
        }
    }
    homes.retain(|h| !h.is_empty() && !h.starts_with('\0'));
    // Distinct, in order, and a few: real files set one or two.
    let mut seen = std::collections::BTreeSet::new();
    homes.retain(|h| seen.insert(h.clone()));
    homes.truncate(MAX_HOMES);
    homes
}

/// Whether `cmds` (run in `cwd`) remove the gem cache under one of `homes`, or any gem cache
/// when no home is known.
fn cleans_gem_cache(ctx: &RuleContext<'_>, s: usize, at: usize, cmds: &[Command], homes: &[String]) -> bool {
    if homes.iter().any(|h| ctx.has_cache_mount(at, &[&format!("{h}/cache")]))
        || removes_gem_home(ctx, s, at, cmds, homes)
    {
        return true;
    }
    let cwd = ctx.workdir_at(s, at);
    pkg::removed_paths(cmds).iter().any(|w| {
        let raw = w.text.as_str();
        if !raw.contains("cache") {
            return false;
        }
        let t = ctx.expand_at(s, at, raw);
        let names_gems = |t: &str| {
            let l = t.to_ascii_lowercase();
            l.contains("gem") || l.contains("bundle")
        };
        if t.contains('$') || homes.is_empty() {
            // `"$(gem env gemdir)"/cache`, `$GEM_HOME/cache`: trust what it names.
            return names_gems(&t);
        }
        let path = pkg::join(cwd, &t);
        homes.iter().any(|h| path_under(&path, h))
    })
}

/// Whether `path` (maybe with `*` globs) is `home` or inside it, or a parent of it.
fn path_under(path: &str, home: &str) -> bool {
    let p = path.trim_end_matches('/');
    let h = home.trim_end_matches('/');
    pkg::path_overlaps(p, h) || glob_prefix(p, h)
}

/// `/usr/local/bundle/ruby/*/cache` against the home `/usr/local/bundle`: the part before
/// the first glob is the home or inside it.
fn glob_prefix(p: &str, home: &str) -> bool {
    let fixed = p.split('*').next().unwrap_or(p).trim_end_matches('/');
    !fixed.is_empty() && (fixed == home || fixed.starts_with(&format!("{home}/")))
}

/// The cache folders to remove for `homes`: `HOME/cache` (RubyGems) and `HOME/ruby/*/cache`
/// (Bundler with a bundle path); `gem env gemdir` when no home is known.
fn cache_dirs(homes: &[String]) -> String {
    if homes.is_empty() {
        return "\"$(gem env gemdir)\"/cache".to_string();
    }
    let mut dirs: Vec<String> = Vec::new();
    for h in homes {
        for d in [format!("{h}/cache"), format!("{h}/ruby/*/cache")] {
            if !dirs.contains(&d) {
                dirs.push(d);
            }
        }
    }
    dirs.join(" ")
}

/// Whether a `COPY --from` source names a gem home: the literal `$GEM_HOME`/`$BUNDLE_PATH`
/// (set by the base image), `/usr/local/bundle`, or one of the source stage's homes.
pub(super) fn names_gem_home(raw: &str, expanded: &str, homes: &[String]) -> bool {
    let e = expanded.trim_end_matches('/');
    raw.contains("GEM_HOME") && expanded.contains('$')
        || raw.contains("BUNDLE_PATH") && expanded.contains('$')
        || e == "/usr/local/bundle"
        || homes.iter().any(|h| h.trim_end_matches('/') == e)
}

impl Rule for GemCacheKept {
    fn check(&self, ctx: &RuleContext<'_>, out: &mut Vec<Finding>) {
        if !ctx.product {
            return;
        }
        for (s, i, cmds) in pkg::shipping_runs(ctx) {
            let Some(c) = cmds.iter().find(|c| installs_gems(c)) else {
                continue;
            };
            let homes = gem_homes(ctx, s, i);
            if cleans_gem_cache(ctx, s, i, cmds, &homes) {
                continue;
            }
            let what = c.span_through(1).unwrap_or_default();
            let cache = cache_dirs(&homes);
            out.push(
                Finding::new(
                    &Self::META,
                    ctx,
                    i,
                    what,
                    format!("`{}` keeps the downloaded `.gem` files in the gem cache in this layer", ctx.text(what)),
                    format!("remove the gem cache in the same RUN: `&& rm -rf {cache}`"),
                )
                .note("no estimate: the cache holds one packed copy of every installed gem, so it is about the size of the gems' own files"),
            );
        }
        let mut homes_memo: std::collections::BTreeMap<usize, Vec<String>> = std::collections::BTreeMap::new();
        let mut keeps_memo: std::collections::BTreeMap<usize, bool> = std::collections::BTreeMap::new();
        for st in ctx.shipping_stages() {
            for (i, inst) in ctx.stage_instructions(st.index) {
                if inst.keyword != Keyword::Copy {
                    continue;
                }
                let Some(from) = inst.flag("from").and_then(|f| f.value()) else {
                    continue;
                };
                let Some(src_stage) = ctx
                    .stages
                    .iter()
                    .find(|s| s.name.as_deref() == Some(&from.to_ascii_lowercase()))
                else {
                    continue;
                };
                let src = src_stage.index;
                let end = src_stage.instructions.end;
                let homes = homes_memo
                    .entry(src)
                    .or_insert_with(|| gem_homes(ctx, src, end))
                    .clone();
                let v = inst.values();
                if v.len() < 2
                    || !v[..v.len() - 1].iter().any(|raw| {
                        let raw = unquote(raw);
                        names_gem_home(&raw, &ctx.expand_at(st.index, i, &raw), &homes)
                    })
                {
                    continue;
                }
                // Whether the source stage installs gems and keeps their cache, once per stage.
                let keeps = *keeps_memo.entry(src).or_insert_with(|| {
                    let runs: Vec<usize> = ctx
                        .chain(src)
                        .iter()
                        .flat_map(|&s| ctx.stage_instructions(s))
                        .filter(|(_, x)| x.keyword == Keyword::Run)
                        .map(|(k, _)| k)
                        .collect();
                    let installs = runs.iter().any(|&k| ctx.commands[k].iter().any(installs_gems));
                    installs
                        && !runs.iter().any(|&k| {
                            // The homes are only worked out for RUNs that could clean a cache.
                            let may_clean = ctx.dockerfile.instructions[k].flags_named("mount").next().is_some()
                                || pkg::removed_paths(&ctx.commands[k])
                                    .iter()
                                    .any(|w| w.text.contains("cache"));
                            let ks = ctx.stage_of[k].unwrap_or(src);
                            may_clean && cleans_gem_cache(ctx, ks, k, &ctx.commands[k], &gem_homes(ctx, ks, k))
                        })
                });
                if !keeps {
                    continue;
                }
                out.push(
                    Finding::new(
                        &Self::META,
                        ctx,
                        i,
                        inst.span,
                        format!("copying the gem folder from `{from}` carries its `.gem` cache into the final image"),
                        format!("remove the cache in `{from}` after installing: `bundle install && rm -rf {}`", cache_dirs(&homes)),
                    )
                    .note("no estimate: the cache holds one packed copy of every installed gem, so it is about the size of the gems' own files"),
                );
            }
        }
    }
}

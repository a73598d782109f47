//! Rule DF205 js-package-cache-kept: one rule, documented by its `///` doc below (the user manual; `imgopt explain`).

use super::Measured;
use super::pkg;
use super::{Finding, Rule, RuleContext};
use crate::diag::Severity;
use crate::estimate::heuristics;
use crate::fix::Fix;
use crate::layers::waste::CacheKind;

crate::declare_rule! {
    /// ## What it does
    /// Checks for `npm install`/`npm ci`, `yarn install` (or bare `yarn`), `yarn add` and
    /// `pnpm install`/`pnpm add` in a stage that ships in the final image when the same `RUN`
    /// does not clean the package manager's cache (`npm cache clean --force`, `yarn cache
    /// clean`, `pnpm store prune`, or deleting the cache directory) and no cache is mounted on
    /// it. Global installs (`npm install -g`, `yarn global add`) cache in the same place and
    /// are reported too, and so are installs run through `sudo -u`, `gosu`, `su-exec`, `su -c
    /// "..."` or `sh -c "..."`. Yarn Berry (`--immutable`) and `pnpm add -g` are not reported.
    ///
    /// ## Why is this bad?
    /// npm keeps a copy of every tarball in `~/.npm/_cacache` (yarn in
    /// `/usr/local/share/.cache/yarn`, pnpm in its store), committed into the layer next to
    /// `node_modules`. Measured savings from cleaning it: 6 MB (mozilla/page-metadata-service#117),
    /// 16.8 MB (nwtgck/piping-server#388), 38 MB (coala/docker-coala-base#111) and 150 MB
    /// (maddevsio/maddevs#2543).
    ///
    /// ## Example
    /// ```dockerfile
    /// RUN npm ci --omit=dev
    /// ```
    ///
    /// Use instead:
    /// ```dockerfile
    /// RUN npm ci --omit=dev && npm cache clean --force
    /// ```
    /// or `RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev`.
    ///
    /// ## References
    /// - hadolint DL3060 (yarn, <https://github.com/hadolint/hadolint/wiki/DL3060>)
    /// - npm docs, `npm cache` (<https://docs.npmjs.com/cli/commands/npm-cache>)
    pub JsPackageCacheKept, DF205, "js-package-cache-kept", Severity::Warning, measured = Measured::Caches(&[CacheKind::Npm, CacheKind::Yarn])
}

impl Rule for JsPackageCacheKept {
    fn check(&self, ctx: &RuleContext<'_>, out: &mut Vec<Finding>) {
        for (s, i, cmds) in pkg::shipping_runs(ctx) {
            let removed = pkg::removed_paths(cmds);
            let rm_has = |needle: &str| removed.iter().any(|w| pkg::normalize_home(&w.text).contains(needle));
            // `rm -rf "$(yarn cache dir)"`, `rm -rf $(npm config get cache)`: the tool names
            // its own cache.
            let rm_asks = |tool: &str| {
                removed.iter().any(|w| {
                    let t = w.text.as_str();
                    t.contains(&format!("{tool} cache dir"))
                        || t.contains(&format!("{tool} config get cache"))
                        || t.contains(&format!("{tool} store path"))
                })
            };
            for c in cmds {
                let (tool, cache_dirs, cleaned): (&str, &[&str], bool) =
                    if pkg::is(c, "npm", &["install", "ci", "i", "add"]) {
                        // `npm install -g` caches in ~/.npm like any other install.
                        if c.has_flag("--cache")
                            || ctx.env_at(s, i, "npm_config_cache").is_some()
                            || ctx.env_at(s, i, "NPM_CONFIG_CACHE").is_some()
                        {
                            continue;
                        }
                        (
                            "npm",
                            &["/root/.npm", "/home/node/.npm"],
                            cmds.iter().any(|x| pkg::is(x, "npm", &["cache"])) || rm_has(".npm") || rm_asks("npm"),
                        )
                    } else if matches!(pkg::yarn_command(c), Some("install" | "add"))
                        // `yarn global add x` caches in the same folder as a project install.
                        || pkg::yarn_command(c) == Some("global") && c.args().iter().any(|w| w.text == "add")
                    {
                        if c.has_flag("--immutable") || c.has_flag("--cache-folder") {
                            continue;
                        }
                        (
                            "yarn",
                            &[
                                "/usr/local/share/.cache/yarn",
                                "/root/.cache/yarn",
                                "/root/.yarn",
                                "/home/node/.cache/yarn",
                            ],
                            cmds.iter().any(|x| pkg::is(x, "yarn", &["cache"]))
                                || rm_has(".cache/yarn")
                                || rm_has("/.yarn")
                                || rm_asks("yarn"),
                        )
                    } else if pkg::is(c, "pnpm", &["install", "i", "add"]) {
                        if c.has_flag("--store-dir") || c.has_short_or_long('g', &["--global"]) {
                            continue;
                        }
                        (
                            "pnpm",
                            &["/root/.local/share/pnpm", "/root/.pnpm-store", "/pnpm/store", "/pnpm"],
                            cmds.iter().any(|x| pkg::is(x, "pnpm", &["store"])) || rm_has("pnpm") || rm_asks("pnpm"),
                        )
                    } else {
                        continue;
                    };
                let mounted = ctx.has_cache_mount(i, cache_dirs)
                    || ctx.dockerfile.instructions[i].flags_named("mount").any(|m| {
                        m.value().is_some_and(|v| {
                            v.contains("type=cache") && (v.contains(".npm") || v.contains("yarn") || v.contains("pnpm"))
                        })
                    });
                if cleaned || mounted {
                    continue;
                }
                let clean = match tool {
                    "npm" => "npm cache clean --force",
                    "yarn" => "yarn cache clean",
                    _ => "pnpm store prune",
                };
                let mut f = Finding::new(
                    &Self::META,
                    ctx,
                    i,
                    c.span_through(1).unwrap_or_default(),
                    format!("`{tool}` keeps its package cache in this layer"),
                    format!("append `&& {clean}` to this RUN, or mount a cache on the {tool} cache directory"),
                )
                .estimate(Some(heuristics::js_cache()));
                if tool == "npm"
                    && let Some(e) = pkg::append_to_run(ctx, i, clean)
                {
                    f = f.fix(Fix::safe(format!("run `{clean}` at the end of the same RUN"), vec![e]));
                }
                out.push(f);
                break;
            }
        }
    }
}

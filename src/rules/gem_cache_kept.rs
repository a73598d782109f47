//! Rule DF210 gem-cache-kept: one rule, documented by its `///` doc below (the user manual; `imgopt explain`).

use super::{Finding, Rule, RuleContext, pkg};
use crate::diag::Severity;
use crate::dockerfile::Keyword;
use crate::dockerfile::shell::Command;

crate::declare_rule! {
    /// ## What it does
    /// Checks for RubyGems' `.gem` package cache reaching the final image:
    /// - `gem install` in a stage that ships, without `--no-document` (`-N`, `--no-rdoc`) and without removing the
    ///   gem cache (`$GEM_HOME/cache`, `/usr/local/bundle/cache`) in the same `RUN`;
    /// - `COPY --from=STAGE /usr/local/bundle ...` where `STAGE` ran `bundle install` or
    ///   `gem install` and did not remove `/usr/local/bundle/cache`: the copy carries every
    ///   downloaded `.gem` file next to the installed gems.
    ///
    /// ## Why is this bad?
    /// RubyGems keeps each downloaded `.gem` archive in the `cache` folder of the gem home
    /// after installing it; the installed gem does not need it, so every gem is shipped twice,
    /// once packed. There is no estimate: the size depends on the gems.
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
    pub GemCacheKept, DF210, "gem-cache-kept", Severity::Warning
}

/// Whether `cmds` remove a gem cache folder.
fn cleans_gem_cache(cmds: &[Command]) -> bool {
    pkg::removed_paths(cmds).iter().any(|w| {
        let t = w.text.as_str();
        (t.contains("/cache") || t.ends_with("cache"))
            && (t.contains("bundle") || t.contains("gem") || t.contains("GEM_HOME") || t.contains("BUNDLE"))
    })
}

fn installs_gems(c: &Command) -> bool {
    pkg::is(c, "gem", &["install", "i"]) || pkg::is(c, "bundle", &["install"])
}

impl Rule for GemCacheKept {
    fn check(&self, ctx: &RuleContext<'_>, out: &mut Vec<Finding>) {
        if !ctx.runtime {
            return;
        }
        for (_, i, cmds) in pkg::shipping_runs(ctx) {
            if cleans_gem_cache(cmds) {
                continue;
            }
            let Some(c) = cmds.iter().find(|c| {
                pkg::is(c, "gem", &["install", "i"])
                    && !["--no-document", "--no-doc", "--no-rdoc", "-N"]
                        .iter()
                        .any(|f| c.has_flag(f))
            }) else {
                continue;
            };
            out.push(
                Finding::new(
                    &Self::META,
                    ctx,
                    i,
                    c.span_through(1).unwrap_or_default(),
                    "`gem install` keeps the downloaded `.gem` files in the gem cache in this layer",
                    "add `--no-document` and remove the cache in the same RUN: `&& rm -rf \"$(gem env gemdir)\"/cache`",
                )
                .note("no estimate: the size depends on the gems"),
            );
        }
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
                let v = inst.values();
                if v.len() < 2
                    || !v[..v.len() - 1]
                        .iter()
                        .any(|s| s.trim_end_matches('/') == "/usr/local/bundle")
                {
                    continue;
                }
                let chain = ctx.chain(src_stage.index);
                let runs: Vec<usize> = chain
                    .iter()
                    .flat_map(|&s| ctx.stage_instructions(s))
                    .filter(|(_, x)| x.keyword == Keyword::Run)
                    .map(|(k, _)| k)
                    .collect();
                let installs = runs.iter().any(|&k| ctx.commands[k].iter().any(installs_gems));
                let cleaned = runs.iter().any(|&k| cleans_gem_cache(&ctx.commands[k]));
                if !installs || cleaned {
                    continue;
                }
                out.push(
                    Finding::new(
                        &Self::META,
                        ctx,
                        i,
                        inst.span,
                        format!("copying /usr/local/bundle from `{from}` carries its `.gem` cache into the final image"),
                        format!("remove the cache in `{from}` after installing: `bundle install && rm -rf /usr/local/bundle/cache`"),
                    )
                    .note("no estimate: the size depends on the gems"),
                );
            }
        }
    }
}

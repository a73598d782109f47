//! Rule DF209 dev-dependencies-in-final-image: one rule, documented by its `///` doc below (the user manual; `imgopt explain`).

use super::{Finding, Rule, RuleContext, pkg};
use crate::diag::Severity;
use crate::dockerfile::shell::Command;
use crate::fix::{Edit, Fix};

crate::declare_rule! {
    /// ## What it does
    /// Checks the stages that ship in the final image for installs of a project's development
    /// dependencies:
    /// - `npm ci` / `npm install` without `--omit=dev` (`--production`, `--only=prod`),
    ///   `pnpm install` without `--prod`, `yarn install` without `--production`, unless
    ///   `NODE_ENV=production` is set; a `npm prune --omit=dev` (or `--production`) in a later
    ///   `RUN` does not help, since the bytes stay in the install's layer;
    /// - `bundle install` without `BUNDLE_WITHOUT`, `--without development test` or a
    ///   `bundle config ... without` before it.
    ///
    /// Installs of named packages (`npm install -g pm2`) and installs that prune in the same
    /// `RUN` are not reported, nor are builder stages the final image only copies from. With a
    /// build context, a `package.json` without `devDependencies` (or a `Gemfile` without a
    /// `development` or `test` group) is not reported either.
    ///
    /// ## Why is this bad?
    /// Test runners, bundlers, linters and type checkers ship to production and are pulled
    /// with every deployment; in Node projects they are often most of `node_modules`. Install
    /// them in a builder stage, and install production dependencies only in the final one.
    /// There is no estimate: the size depends on the project's dependencies.
    ///
    /// ## Example
    /// ```dockerfile
    /// FROM node:22-slim
    /// COPY package.json package-lock.json ./
    /// RUN npm ci
    /// ```
    ///
    /// Use instead:
    /// ```dockerfile
    /// FROM node:22-slim
    /// COPY package.json package-lock.json ./
    /// RUN npm ci --omit=dev && npm cache clean --force
    /// ```
    ///
    /// ## References
    /// - npm docs, `npm ci` and `--omit` (<https://docs.npmjs.com/cli/commands/npm-ci>)
    /// - Bundler docs, `BUNDLE_WITHOUT` (<https://bundler.io/man/bundle-config.1.html>)
    /// - Node.js Docker best practices, `NODE_ENV=production`
    ///   (<https://github.com/nodejs/docker-node/blob/main/docs/BestPractices.md>)
    pub DevDependenciesInFinalImage, DF209, "dev-dependencies-in-final-image", Severity::Warning
}

/// Which installer a command is, when it installs a project's dependencies.
fn project_install(c: &Command) -> Option<&'static str> {
    let positional = |skip: usize| {
        c.args()
            .iter()
            .skip(skip)
            .any(|w| !w.text.starts_with('-') && !w.text.contains('='))
    };
    if pkg::is(c, "npm", &["ci", "clean-install"]) {
        return Some("npm");
    }
    if pkg::is(c, "npm", &["install", "i"]) && !positional(1) && !c.has_short_or_long('g', &["--global"]) {
        return Some("npm");
    }
    if pkg::is(c, "pnpm", &["install", "i"]) && !positional(1) {
        return Some("pnpm");
    }
    if pkg::yarn_command(c) == Some("install") && !c.has_flag("global") {
        return Some("yarn");
    }
    if pkg::is(c, "bundle", &["install"])
        || (c.name() == Some("bundle") && c.args().iter().all(|w| w.text.starts_with('-')))
    {
        return Some("bundle");
    }
    None
}

fn production_flag(c: &Command, tool: &str) -> bool {
    let a = |w: &str| {
        c.args()
            .iter()
            .any(|x| x.text == w || x.text.starts_with(&format!("{w}=")))
    };
    match tool {
        "npm" => {
            a("--production")
                || a("--only")
                || c.args().iter().any(|x| x.text == "--omit=dev" || x.text == "--omit")
                || c.args().windows(2).any(|p| p[0].text == "--omit" && p[1].text == "dev")
        }
        "pnpm" => a("--prod") || a("-P") || a("--production"),
        "yarn" => a("--production") || a("--prod"),
        _ => a("--without") || a("--deployment") && c.args().iter().any(|x| x.text.contains("without")),
    }
}

/// A prune (or a production reinstall) of `tool`'s dependencies among `cmds`.
fn prunes(cmds: &[Command], tool: &str) -> bool {
    cmds.iter().any(|c| match tool {
        "npm" => {
            pkg::is(c, "npm", &["prune"])
                && (production_flag(c, "npm") || c.args().iter().any(|w| w.text.contains("dev")))
        }
        "pnpm" => pkg::is(c, "pnpm", &["prune"]) && production_flag(c, "pnpm"),
        "yarn" => {
            (c.name() == Some("yarn") && c.args().iter().any(|w| w.text == "focus") && production_flag(c, "yarn"))
                || pkg::is(c, "npm", &["prune"])
        }
        _ => pkg::is(c, "bundle", &["clean"]),
    })
}

impl Rule for DevDependenciesInFinalImage {
    fn check(&self, ctx: &RuleContext<'_>, out: &mut Vec<Finding>) {
        if !ctx.runtime {
            return;
        }
        let has_dev_deps = |tool: &str| -> bool {
            let Some(bc) = ctx.build_context else { return true };
            if tool == "bundle" {
                bc.read_small("Gemfile")
                    .is_none_or(|g| g.contains(":development") || g.contains(":test") || g.contains("development"))
            } else {
                bc.read_small("package.json").is_none_or(|p| {
                    serde_json::from_str::<serde_json::Value>(&p).map_or(true, |v| {
                        v.get("devDependencies")
                            .and_then(|d| d.as_object())
                            .is_some_and(|d| !d.is_empty())
                    })
                })
            }
        };
        let runs = pkg::shipping_runs(ctx);
        // Whether a `bundle config ... without` ran before instruction `i` in the image.
        let bundle_config_before = |i: usize| {
            runs.iter().any(|(_, k, cmds)| {
                *k < i
                    && cmds.iter().any(|c| {
                        c.name() == Some("bundle")
                            && c.args().iter().any(|w| w.text == "config")
                            && c.args().iter().any(|w| w.text.contains("without"))
                    })
            })
        };
        for (n, (s, i, cmds)) in runs.iter().enumerate() {
            let (s, i) = (*s, *i);
            for c in *cmds {
                let Some(tool) = project_install(c) else { continue };
                if production_flag(c, tool) || prunes(cmds, tool) {
                    continue;
                }
                let inline_env = |k: &str, v: &str| c.words.iter().any(|w| w.text == format!("{k}={v}"));
                if tool == "bundle" {
                    if ctx.env_at(s, i, "BUNDLE_WITHOUT").is_some()
                        || c.words.iter().any(|w| w.text.starts_with("BUNDLE_WITHOUT="))
                        || cmds
                            .iter()
                            .any(|x| x.name() == Some("bundle") && x.args().iter().any(|w| w.text.contains("without")))
                        || bundle_config_before(i)
                    {
                        continue;
                    }
                } else if ctx.env_at(s, i, "NODE_ENV").is_some_and(|v| v == "production")
                    || inline_env("NODE_ENV", "production")
                    || ctx.env_at(s, i, "npm_config_production").is_some_and(|v| v == "true")
                    || ctx.env_at(s, i, "NPM_CONFIG_PRODUCTION").is_some_and(|v| v == "true")
                {
                    continue;
                }
                if !has_dev_deps(tool) {
                    continue;
                }
                let later = runs[n + 1..].iter().find(|(_, _, later)| prunes(later, tool));
                let span = c.span_through(1).unwrap_or_default();
                let what = match tool {
                    "bundle" => "development and test gems",
                    _ => "devDependencies",
                };
                let mut f = Finding::new(
                    &Self::META,
                    ctx,
                    i,
                    span,
                    match later {
                        Some((_, k, _)) => format!(
                            "`{}` installs {what} into this layer; the prune on line {} runs in a later layer, so their bytes stay in the image",
                            ctx.text(span),
                            ctx.dockerfile.instructions[*k].start_line
                        ),
                        None => format!("`{}` installs {what} into the final image", ctx.text(span)),
                    },
                    match tool {
                        "npm" => "install with `npm ci --omit=dev` in the final stage, and build with the dev dependencies in a builder stage",
                        "pnpm" => "install with `pnpm install --prod` in the final stage, and build in a builder stage",
                        "yarn" => "install with `yarn install --production` in the final stage (Yarn 2+: `yarn workspaces focus --production`), and build in a builder stage",
                        _ => "set `ENV BUNDLE_WITHOUT=development:test` before `bundle install`",
                    },
                )
                .note("no estimate: the size of the development dependencies is not known from the Dockerfile");
                if tool == "npm"
                    && let Some(sub) = c.subcommand()
                {
                    f = f.fix(Fix::unsafe_(
                        "install without devDependencies (`--omit=dev`); a build step in this stage that needs them breaks",
                        vec![Edit::insert(sub.span.end(), " --omit=dev")],
                    ));
                }
                out.push(f);
                break;
            }
        }
    }
}

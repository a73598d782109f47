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
    /// - `composer install` or `composer create-project` (also `php composer.phar install`) without `--no-dev` or
///   `COMPOSER_NO_DEV=1`, unless a `composer install --no-dev` follows in the same `RUN`;
/// - `pip install` of development or test requirements (`-r requirements-dev.txt`,
///   `requirements/test.txt`, `pip install -e ".[dev]"`);
/// - `bundle install` without `BUNDLE_WITHOUT`, `--without development test` or a
    ///   `bundle config ... without` before it that names the `development` or `test` group
    ///   (`--without deploy` leaves them in);
    /// - `uv sync` without `--no-dev` (or `--only-group`, `--no-default-groups`, `UV_NO_DEV`),
    ///   and `poetry install` without `--without dev`, `--no-dev` or an `--only` list that
    ///   leaves `dev` out (an `ARG` default counts: `--only $GROUPS` with `GROUPS=main,dev`).
    ///
    /// Installs in a builder stage count too when a shipping stage copies what they wrote:
    /// the gem home (`COPY --from=build /usr/local/bundle ...`, `"${BUNDLE_PATH}"`) or the
    /// folder that holds `node_modules` (`COPY --from=build /app /app`); a prune in the
    /// builder before the copy (also a production reinstall over the tree: `yarn install
    /// --production`, `npm ci --omit=dev`), or deleting `node_modules` there, does help.
    ///
    /// Installs run through `sudo -u`, `gosu`, `su-exec` or `su -c "..."` count. Only images
    /// that run an application are checked: a `CMD` or `ENTRYPOINT` in the target's stage
    /// chain, or an `ENV RAILS_ENV=production` (`NODE_ENV`, `RACK_ENV`, `APP_ENV`, `MIX_ENV`)
    /// in an image whose command comes from its base.
    ///
    /// Installs of named packages (`npm install -g pm2`), installs that prune in the same
    /// `RUN`, and a `bundle install` whose `RUN` deletes the gem home it installed into (a
    /// system Ruby's `/var/lib/gems`, purged after building the docs) are not reported. With a build context, a `package.json` without
    /// `devDependencies` (or a `Gemfile` without a `development` or `test` group) is not
    /// reported either. Without it, a `bundle install` is reported when the file shows a Rack
    /// application run through Bundler (whose `Gemfile` has the groups the Rails generator
    /// writes): `RAILS_ENV` or `RACK_ENV` set, or `rails`, `rake`, `rackup`, `puma`, `unicorn`,
    /// `sidekiq` or `bundle exec` run; a gem or script project's `Gemfile` often has no
    /// groups to leave out. Group lists given through a variable are read
    /// (`bundle install $BUNDLER_ARGS` with `ARG BUNDLER_ARGS="--without development test"`).
    ///
    /// Development environments are not checked either: images whose stage chain gives a user
    /// `sudo` (`useradd -G sudo`, a `NOPASSWD: ALL` sudoers line), single-stage files that set
    /// `RAILS_ENV`, `NODE_ENV` (or `RACK_ENV`, `APP_ENV`, `FLASK_ENV`, `MIX_ENV`) to
    /// `development` or `test`, images whose `CMD` or `ENTRYPOINT` runs a development server
    /// or watcher (`grunt dev`, `npm run dev`, `nodemon`, `flask run --debug`, `manage.py
    /// runserver`, `cargo watch`), Go or Rust toolchain images that copy the source and never
    /// build it (it is built when the container starts), images that install a browser
    /// driver only test suites use (`phantomjs`, `chromedriver`, `geckodriver`), and images
    /// that run a checkout mounted at run time (the command runs a program under the
    /// `WORKDIR`, or a runner such as `bundle exec` or `npm start` there, or the `WORKDIR` is a
    /// `VOLUME`, and the file puts nothing there but dependency manifests).
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
    // Named packages (`npm install -g pm2`); `npm install .` installs the project itself.
    let positional = |skip: usize| {
        c.args()
            .iter()
            .skip(skip)
            .any(|w| !w.text.starts_with('-') && !w.text.contains('=') && !matches!(w.text.as_str(), "." | "./"))
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
    if pkg::is(c, "uv", &["sync"]) {
        return Some("uv");
    }
    if pkg::is(c, "poetry", &["install"]) {
        return Some("poetry");
    }
    // `composer create-project vendor/app` installs the project and its require-dev too.
    if matches!(pkg::composer_command(c), Some("install" | "create-project")) {
        return Some("composer");
    }
    if pip_installs_dev(c) {
        return Some("pip");
    }
    if pkg::is(c, "bundle", &["install"])
        || (c.name() == Some("bundle") && c.args().iter().all(|w| w.text.starts_with('-')))
    {
        return Some("bundle");
    }
    None
}

/// A `pip install` of a project's development or test requirements: a requirements file whose
/// name says so (`requirements-dev.txt`, `requirements/test.txt`, `dev-requirements.txt`) or
/// the project with such an extra (`pip install -e ".[dev]"`).
fn pip_installs_dev(c: &Command) -> bool {
    let Some(args) = pkg::pip_args(c) else {
        return false;
    };
    if args.first().is_none_or(|w| w.text != "install") {
        return false;
    }
    // `.[dev]`, `".[test,docs]"`: the extras of a local project.
    let dev_extras = args.iter().filter(|w| !w.text.starts_with('-')).any(|w| {
        let t = w.text.as_str();
        t.find('[').is_some_and(|open| {
            let (path, extras) = t.split_at(open);
            let path = path.trim_matches(['"', '\'']);
            (path == "." || path.contains('/')) && extras.split([',', '[', ']']).any(pkg::dev_named)
        })
    });
    dev_extras
        || pkg::pip_requirement_files(c)
            .iter()
            .any(|f| pkg::dev_requirements_file(f))
}

/// The arguments of `c` as the shell passes them: a word with a variable the Dockerfile gives
/// a value (`bundle install $BUNDLER_ARGS` with `ARG BUNDLER_ARGS="--jobs=8 --without
/// development test"`) expanded and split into its words; one still holding a `$` kept as
/// written.
fn arg_words(c: &Command, expand: &dyn Fn(&str) -> String) -> Vec<String> {
    c.args()
        .iter()
        .flat_map(|w| {
            let e = if w.text.contains('$') {
                expand(&w.text)
            } else {
                String::new()
            };
            if e.is_empty() || e.contains('$') {
                vec![w.text.clone()]
            } else {
                e.split_whitespace().map(str::to_string).collect()
            }
        })
        .collect()
}

/// The values of `--NAME VALUE` / `--NAME=VALUE` (and of a bare `NAME VALUE`, as `bundle
/// config set without VALUE` writes it) in `args`.
fn option_values<'c>(args: &'c [String], name: &str) -> Vec<&'c str> {
    let mut out = Vec::new();
    for (k, t) in args.iter().enumerate() {
        if let Some(v) = t.strip_prefix(&format!("--{name}=")) {
            out.push(v);
        } else if (*t == format!("--{name}") || t == name)
            && let Some(v) = args.get(k + 1)
        {
            out.push(v.as_str());
        }
    }
    out
}

/// Whether a group list (`development test`, `development:test`, `dev`) names the
/// development or test group.
fn names_dev_group(list: &str) -> bool {
    list.split([' ', ':', ','])
        .any(|g| matches!(g, "development" | "dev" | "test"))
}

fn production_flag(c: &Command, tool: &str, expand: &dyn Fn(&str) -> String) -> bool {
    let args = arg_words(c, expand);
    let a = |w: &str| args.iter().any(|x| x == w || x.starts_with(&format!("{w}=")));
    match tool {
        "npm" => {
            a("--production")
                || a("--only")
                || args.iter().any(|x| x == "--omit=dev" || x == "--omit")
                || args.windows(2).any(|p| p[0] == "--omit" && p[1] == "dev")
        }
        "pnpm" => a("--prod") || a("-P") || a("--production"),
        "yarn" => a("--production") || a("--prod"),
        "composer" => a("--no-dev"),
        "pip" => false,
        "uv" => a("--no-dev") || a("--only-group") || a("--no-default-groups"),
        "poetry" => {
            a("--no-dev")
                || a("--only-root")
                || option_values(&args, "without").iter().any(|v| names_dev_group(v))
                || option_values(&args, "only").iter().any(|v| {
                    let v = expand(v);
                    // `--only $GROUPS` with an unknown value: say nothing.
                    v.contains('$') || !names_dev_group(&v)
                })
        }
        _ => option_values(&args, "without")
            .iter()
            .any(|v| names_dev_group(&expand(v))),
    }
}

/// A prune (or a production reinstall) of `tool`'s dependencies among `cmds`.
fn prunes(cmds: &[Command], tool: &str) -> bool {
    // `yarn remove $(jq -r '.devDependencies | keys | join(" ")' package.json)`: the dev
    // dependencies removed by name.
    let removes_dev_by_name = matches!(tool, "npm" | "yarn" | "pnpm")
        && cmds.iter().any(|c| {
            matches!(c.name(), Some("npm" | "yarn" | "pnpm"))
                && c.subcommand()
                    .is_some_and(|w| matches!(w.text.as_str(), "remove" | "uninstall" | "rm" | "un"))
        })
        && cmds
            .iter()
            .any(|c| c.words.iter().any(|w| w.text.contains("devDependencies")));
    removes_dev_by_name
        || cmds.iter().any(|c| match tool {
            "npm" => {
                pkg::is(c, "npm", &["prune"])
                    && (production_flag(c, "npm", &|t| t.to_string())
                        || c.args().iter().any(|w| w.text.contains("dev")))
                    // A production reinstall over the tree (`npm ci --omit=dev`) removes
                    // what it omits.
                    || project_install(c) == Some("npm") && production_flag(c, "npm", &|t| t.to_string())
            }
            "pnpm" => pkg::is(c, "pnpm", &["prune"]) && production_flag(c, "pnpm", &|t| t.to_string()),
            "yarn" => {
                (c.name() == Some("yarn")
                    && c.args().iter().any(|w| w.text == "focus")
                    && production_flag(c, "yarn", &|t| t.to_string()))
                    || pkg::is(c, "npm", &["prune"])
                    // `yarn install --production` over an installed tree removes the
                    // devDependencies (classic yarn's documented prune).
                    || project_install(c) == Some("yarn") && production_flag(c, "yarn", &|t| t.to_string())
            }
            "uv" | "poetry" | "pip" => false,
            // A production reinstall (`composer install --no-dev` after the tests ran).
            "composer" => {
                pkg::composer_command(c) == Some("install") && production_flag(c, "composer", &|t| t.to_string())
            }
            _ => pkg::is(c, "bundle", &["clean"]),
        })
}

/// Whether a `bundle config ... without GROUPS` naming the development or test group is
/// among `cmds`.
fn bundle_config_without(cmds: &[Command]) -> bool {
    cmds.iter().any(|c| {
        c.name() == Some("bundle")
            && c.args().iter().any(|w| w.text == "config")
            && option_values(&arg_words(c, &|t| t.to_string()), "without")
                .iter()
                .any(|v| names_dev_group(v))
    })
}

/// A `RUN` whose installs may reach the image: (stage, instruction).
type Run = (usize, usize);

/// Where the installed files come from: the image's own layer, or a builder stage that a
/// `COPY --from` on instruction `copy` takes them from.
#[derive(Clone, Copy)]
enum Reach {
    Layer,
    Copied { copy: usize },
}

/// The finding for the project install `c` (the `k`-th command of `RUN` `i` in stage `s`),
/// or `None` when it installs for production. `runs` are the `RUN`s that reach the image in
/// order, `later` the index in it after this one.
#[allow(clippy::too_many_arguments)]
fn examine(
    ctx: &RuleContext<'_>,
    (s, i): Run,
    c: &Command,
    tool: &'static str,
    runs: &[Run],
    later: usize,
    reach: Reach,
) -> Option<Finding> {
    let cmds = &ctx.commands[i];
    let expand = |t: &str| ctx.expand_at(s, i, t);
    if production_flag(c, tool, &expand) || prunes(cmds, tool) {
        return None;
    }
    let inline = |k: &str| {
        c.words
            .iter()
            .find_map(|w| w.text.strip_prefix(&format!("{k}=")).map(str::to_string))
    };
    let env = |k: &str| inline(k).or_else(|| ctx.env_at(s, i, k));
    match tool {
        "bundle" => {
            // The same RUN deletes the gem home it installed into (a system Ruby used to build
            // the docs, then purged with `/var/lib/gems`): no gem ships.
            let homes = super::gem_cache_kept::gem_homes(ctx, s, i);
            if matches!(reach, Reach::Layer) && super::gem_cache_kept::removes_gem_home(ctx, s, i, cmds, &homes) {
                return None;
            }
            if env("BUNDLE_WITHOUT").is_some_and(|v| names_dev_group(&v))
                || bundle_config_without(cmds)
                || runs
                    .iter()
                    .take_while(|(_, k)| *k < i)
                    .any(|&(_, k)| bundle_config_without(&ctx.commands[k]))
            {
                return None;
            }
        }
        "uv" => {
            if env("UV_NO_DEV").is_some_and(|v| v == "1" || v == "true") {
                return None;
            }
        }
        "poetry" | "pip" => {}
        "composer" => {
            if env("COMPOSER_NO_DEV").is_some_and(|v| v == "1" || v == "true") {
                return None;
            }
        }
        _ => {
            if env("NODE_ENV").is_some_and(|v| v == "production")
                || env("npm_config_production").is_some_and(|v| v == "true")
                || env("NPM_CONFIG_PRODUCTION").is_some_and(|v| v == "true")
            {
                return None;
            }
        }
    }
    let pruned_later = runs[later..].iter().find(|&&(_, k)| prunes(&ctx.commands[k], tool));
    // A builder that deletes `node_modules` after building (`rm -rf spec node_modules
    // tmp/cache`) copies none of them.
    let removed_later = !matches!(tool, "bundle" | "uv" | "poetry" | "pip" | "composer")
        && runs[later..].iter().any(|&(_, k)| {
            pkg::removed_paths(&ctx.commands[k])
                .iter()
                .any(|w| w.text.trim_end_matches('/').ends_with("node_modules"))
        });
    if (pruned_later.is_some() || removed_later) && matches!(reach, Reach::Copied { .. }) {
        // The copy takes the builder's final state, after the prune.
        return None;
    }
    let span = c.span_through(1).unwrap_or_default();
    let what = match tool {
        "bundle" => "development and test gems",
        "uv" | "poetry" => "the development dependency group",
        "composer" => "the development packages (`require-dev`)",
        "pip" => "the development and test requirements",
        _ => "devDependencies",
    };
    let message = match (reach, pruned_later) {
        (Reach::Copied { copy }, _) => format!(
            "`{}` installs {what}, and the copy on line {} takes them into the final image",
            ctx.text(span),
            ctx.dockerfile.instructions[copy].start_line
        ),
        (Reach::Layer, Some(&(_, k))) => format!(
            "`{}` installs {what} into this layer; the prune on line {} runs in a later layer, so their bytes stay in the image",
            ctx.text(span),
            ctx.dockerfile.instructions[k].start_line
        ),
        (Reach::Layer, None) => format!("`{}` installs {what} into the final image", ctx.text(span)),
    };
    let help = match tool {
        "npm" => {
            "install with `npm ci --omit=dev` in the final stage, and build with the dev dependencies in a builder stage"
        }
        "pnpm" => "install with `pnpm install --prod` in the final stage, and build in a builder stage",
        "yarn" => {
            "install with `yarn install --production` in the final stage (Yarn 2+: `yarn workspaces focus --production`), and build in a builder stage"
        }
        "uv" => "install with `uv sync --no-dev` (or set `UV_NO_DEV=1`)",
        "poetry" => "install with `poetry install --without dev` (or `--only main`)",
        "composer" => {
            "install with `composer install --no-dev` in the final image, and run the tests in a builder stage"
        }
        "pip" => {
            "install only the runtime requirements in the image; install the development and test ones in a builder or test stage"
        }
        _ => "set `ENV BUNDLE_WITHOUT=development:test` before `bundle install`",
    };
    let mut f = Finding::new(&DevDependenciesInFinalImage::META, ctx, i, span, message, help)
        .note("no estimate: the size of the development dependencies is not known from the Dockerfile");
    if let Reach::Copied { copy } = reach {
        f = f.related(
            ctx.dockerfile.instructions[copy].span,
            "copied into the final image here",
        );
    }
    if tool == "npm"
        && matches!(reach, Reach::Layer)
        && let Some(sub) = c.subcommand()
    {
        f = f.fix(Fix::unsafe_(
            "install without devDependencies (`--omit=dev`); a build step in this stage that needs them breaks",
            vec![Edit::insert(sub.span.end(), " --omit=dev")],
        ));
    }
    Some(f)
}

/// Whether the file shows a Rack application run through Bundler, whose `Gemfile` has the
/// `development` and `test` groups the Rails generator writes: `RAILS_ENV` or `RACK_ENV` set
/// by an `ENV` or `ARG`, or a `RUN`, `CMD` or `ENTRYPOINT` of a stage the target needs running
/// `rails`, `rake`, `rackup`, `puma`, `unicorn`, `thin`, `passenger`, `sidekiq`, `hanami` or
/// `bundle exec`. A gem or script project's `Gemfile` often lists `gemspec` and its tools with
/// no group at all, so without the build context nothing says a `bundle install` there
/// installs a group that `BUNDLE_WITHOUT` would leave out.
fn rack_application(ctx: &RuleContext<'_>) -> bool {
    const RUNNERS: &[&str] = &[
        "rails",
        "rake",
        "rackup",
        "puma",
        "unicorn",
        "thin",
        "passenger",
        "sidekiq",
        "hanami",
    ];
    let runner = |t: &str| {
        let t = t.trim_matches(['"', '\'', '[', ']', ',']);
        RUNNERS.contains(&t.rsplit('/').next().unwrap_or(t))
    };
    ctx.needed_stages()
        .flat_map(|st| ctx.stage_instructions(st.index))
        .any(|(i, inst)| match inst.keyword {
            crate::dockerfile::Keyword::Env | crate::dockerfile::Keyword::Arg => inst
                .values()
                .iter()
                .any(|v| v.starts_with("RAILS_ENV") || v.starts_with("RACK_ENV")),
            crate::dockerfile::Keyword::Cmd | crate::dockerfile::Keyword::Entrypoint => {
                let words: Vec<String> = inst
                    .values()
                    .iter()
                    .flat_map(|v| v.split_whitespace().map(str::to_string).collect::<Vec<_>>())
                    .collect();
                words.iter().any(|w| runner(w)) || words.windows(2).any(|p| p[0] == "bundle" && p[1] == "exec")
            }
            crate::dockerfile::Keyword::Run => ctx.commands[i].iter().any(|c| {
                c.name().is_some_and(runner) || c.words.windows(2).any(|p| p[0].text == "bundle" && p[1].text == "exec")
            }),
            _ => false,
        })
}

/// Whether a `COPY --from` source (`expanded`, absolute) takes what a project install in
/// `cwd` wrote: its `node_modules` (the source is the folder or a parent of it).
fn takes_node_modules(source: &str, cwd: &str) -> bool {
    takes_folder(source, cwd, "node_modules")
}

/// Whether a `COPY --from` source takes the folder `dir` an install in `cwd` wrote (the
/// source is `cwd/dir`, `cwd` or a parent of it).
fn takes_folder(source: &str, cwd: &str, dir: &str) -> bool {
    let s = source.trim_end_matches('/');
    let s = if s.is_empty() { "/" } else { s };
    !cwd.starts_with('\0')
        && (s == "/"
            || cwd == s
            || cwd.starts_with(&format!("{s}/"))
            || s == format!("{}/{dir}", cwd.trim_end_matches('/')))
}

/// Whether a `COPY --from` source is where pip installs packages: a virtualenv, a
/// `site-packages` folder, the interpreter's library or a user or prefix install.
fn python_packages(source: &str) -> bool {
    source
        .split('/')
        .any(|p| p.contains("venv") || matches!(p, "site-packages" | "dist-packages" | ".local" | "install" | "wheels"))
        || source.starts_with("/usr/local/lib/python")
}

impl Rule for DevDependenciesInFinalImage {
    fn check(&self, ctx: &RuleContext<'_>, out: &mut Vec<Finding>) {
        if !ctx.runs_application() || ctx.development_environment() {
            return;
        }
        let rack_app = rack_application(ctx);
        let has_dev_deps = |tool: &str| -> bool {
            let Some(bc) = ctx.build_context else {
                return tool != "bundle" || rack_app;
            };
            match tool {
                "bundle" => bc
                    .read_small("Gemfile")
                    .is_none_or(|g| g.contains(":development") || g.contains(":test") || g.contains("development")),
                "uv" | "poetry" | "pip" => true,
                "composer" => bc.read_small("composer.json").is_none_or(|p| {
                    serde_json::from_str::<serde_json::Value>(&p).map_or(true, |v| {
                        v.get("require-dev")
                            .and_then(|d| d.as_object())
                            .is_some_and(|d| !d.is_empty())
                    })
                }),
                _ => bc.read_small("package.json").is_none_or(|p| {
                    serde_json::from_str::<serde_json::Value>(&p).map_or(true, |v| {
                        v.get("devDependencies")
                            .and_then(|d| d.as_object())
                            .is_some_and(|d| !d.is_empty())
                    })
                }),
            }
        };
        let runs: Vec<Run> = pkg::shipping_runs(ctx).iter().map(|&(s, i, _)| (s, i)).collect();
        for (n, &(s, i)) in runs.iter().enumerate() {
            for c in &ctx.commands[i] {
                let Some(tool) = project_install(c) else { continue };
                if !has_dev_deps(tool) {
                    continue;
                }
                if let Some(f) = examine(ctx, (s, i), c, tool, &runs, n + 1, Reach::Layer) {
                    out.push(f);
                    break;
                }
            }
        }
        // Builder stages whose installed dependencies a shipping stage copies whole.
        let mut reported = std::collections::BTreeSet::new();
        #[allow(clippy::type_complexity)]
        let mut memo: std::collections::BTreeMap<
            usize,
            (Vec<Run>, Vec<(usize, usize, &str, String)>, Vec<String>),
        > = std::collections::BTreeMap::new();
        for st in ctx.shipping_stages() {
            for (copy, inst) in ctx.stage_instructions(st.index) {
                if inst.keyword != crate::dockerfile::Keyword::Copy {
                    continue;
                }
                let Some(from) = inst.flag("from").and_then(|f| f.value()) else {
                    continue;
                };
                let Some(src) = ctx
                    .stages
                    .iter()
                    .find(|x| x.name.as_deref() == Some(&from.to_ascii_lowercase()))
                else {
                    continue;
                };
                if src.ships {
                    continue;
                }
                let mut v = inst.values();
                v.pop();
                let sources: Vec<(String, String)> = v
                    .iter()
                    .map(|raw| {
                        let raw = super::context::unquote(raw);
                        let e = ctx.expand_at(st.index, copy, &raw);
                        (raw, e)
                    })
                    .collect();
                // Per source stage, once: its RUNs, its project installs and its gem homes
                // (many copies from one stage stay linear).
                let (builder_runs, installs, homes) = memo.entry(src.index).or_insert_with(|| {
                    let mut chain = ctx.chain(src.index);
                    chain.reverse();
                    let runs: Vec<Run> = chain
                        .iter()
                        .flat_map(|&b| ctx.stage_instructions(b))
                        .filter(|(_, x)| x.keyword == crate::dockerfile::Keyword::Run)
                        .filter_map(|(k, _)| Some((ctx.stage_of[k]?, k)))
                        .collect();
                    let mut installs = Vec::new();
                    for (n, &(b, k)) in runs.iter().enumerate() {
                        let cwds = pkg::cwds(&ctx.commands[k], ctx.workdir_at(b, k));
                        for (ci, (c, cwd)) in ctx.commands[k].iter().zip(cwds).enumerate() {
                            if let Some(tool) = project_install(c) {
                                installs.push((n, ci, tool, cwd));
                            }
                        }
                    }
                    let homes = super::gem_cache_kept::gem_homes(ctx, src.index, src.instructions.end);
                    (runs, installs, homes)
                });
                for &(n, ci, tool, ref cwd) in installs.iter() {
                    let (b, k) = builder_runs[n];
                    let c = &ctx.commands[k][ci];
                    {
                        let taken = match tool {
                            // A source named by a bundler variable the file never sets
                            // (`$BUNDLE_PATH`): the base image configures bundler, maybe
                            // with `BUNDLE_WITHOUT` too, so say nothing.
                            "bundle" => sources.iter().any(|(raw, e)| {
                                !e.contains('$') && super::gem_cache_kept::names_gem_home(raw, e, homes)
                            }),
                            "uv" | "poetry" => false,
                            "composer" => sources
                                .iter()
                                .any(|(_, e)| !e.contains('$') && takes_folder(e, cwd, "vendor")),
                            "pip" => sources.iter().any(|(_, e)| !e.contains('$') && python_packages(e)),
                            _ => sources
                                .iter()
                                .any(|(_, e)| !e.contains('$') && takes_node_modules(e, cwd)),
                        };
                        if !taken || !has_dev_deps(tool) || !reported.insert(k) {
                            continue;
                        }
                        if let Some(f) = examine(ctx, (b, k), c, tool, builder_runs, n + 1, Reach::Copied { copy }) {
                            out.push(f);
                        }
                    }
                }
            }
        }
    }
}

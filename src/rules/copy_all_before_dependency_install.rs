//! Rule DF301 copy-all-before-dependency-install: one rule, documented by its `///` doc below (the user manual; `imgopt explain`).

use super::context::context_sources;
use super::dependency_fetch::{Eco, NAMED_PREFETCHES, dependency_install, prefetches_by_name};
use super::pkg;
use super::{Finding, Rule, RuleContext};
use crate::diag::Severity;
use crate::dockerfile::Keyword;

crate::declare_rule! {
    /// ## What it does
    /// Checks for a `COPY . <dest>` (or `ADD .`, `COPY ./ ...`, `COPY * ...`) of the whole build
    /// context that comes before a dependency install of its stage: `npm ci`/`npm
    /// install`, `yarn install`, `pnpm install`, `pip install -r`, `poetry install`, `pipenv
    /// install`, `uv sync`, `go mod download`, `go get ./...`, `cargo fetch`, `cargo chef
    /// cook`, `bundle install`, `composer install` (also `php composer.phar install`), `mvn
    /// dependency:go-offline`, `dotnet restore`, or a project script named for it
    /// (`bin/installDeps.sh`). The context may be named through a variable (`COPY ${SRC_PATH}
    /// /app` with `SRC_PATH=./`); a variable without a value, or one naming a folder (one
    /// package of a monorepo, `ARG APP=packages/api`), is not the whole context. Installs that
    /// download nothing (`pnpm install --offline` after `pnpm fetch`, which fills the store
    /// from the lockfile alone) are not counted.
    ///
    /// Build commands that download the dependencies themselves count too: `go build`/`go
    /// install`/`go test` in module mode (the go command downloads missing modules), `cargo
    /// build`/`test`/`run`/`install --path`, a Gradle task (`./gradlew build`), a Maven phase
    /// (`mvn package`), `sbt`, `dotnet build`/`publish`/`test` without `--no-restore`, `pip
    /// install` of a project folder (`pip install .`, `pip install /src`; not with
    /// `--no-index` or `--no-deps`), `python setup.py install` (or `develop`), the project's
    /// own install script on a Python image (`./scripts/install_full.sh`), and `make` in a
    /// stage whose toolchain is Go, Node or Rust (from its base image or an installed
    /// `golang-go`, `nodejs`, `cargo` package). They do
    /// not count when they work offline (`--offline`, `--frozen`, `mvn -o`, `-mod=vendor`,
    /// `GOFLAGS=-mod=vendor`, `GOPROXY=off`, `CARGO_NET_OFFLINE=true`, vendored sources in the
    /// build context), in GOPATH mode (a golang image before 1.11, or before 1.13 building
    /// under `/go/src`), when the `RUN` has a cache mount (the downloads persist between
    /// builds), or for `make` after `cmake`/`./configure` (C sources fetch nothing).
    ///
    /// Each ecosystem counts on its own: a `bundle install` before the copy does not cache an
    /// `npm install` after it, but a `go mod download` before it covers a `go build` after it,
    /// and so do three or more `go get` of named packages (dependencies fetched ahead of the
    /// source, the GOPATH way); a stage this one is built `FROM` that installed them covers
    /// the build commands (not an explicit reinstall). Stages the target does not need,
    /// stages that `COPY --from` their dependencies out of another stage (a program copied
    /// into a `bin` folder, such as `/usr/bin/composer`, is a tool, not the dependencies), and
    /// installs that run only under a condition (`if [ "$BUILD_JS" = 1 ]; then ...`) are
    /// skipped.
    ///
    /// ## Why is this bad?
    /// Build cache, not image size: any change to any file invalidates the `COPY` layer and
    /// every layer after it, so every edit re-downloads and re-installs all dependencies.
    /// Copying the manifests and lockfiles first, installing, and then copying the source keeps
    /// the install layer cached until the dependencies change (Docker docs, "Optimize cache
    /// usage": order your layers). No size estimate: it costs build time, not bytes.
    ///
    /// ## Example
    /// ```dockerfile
    /// WORKDIR /app
    /// COPY . .
    /// RUN npm ci --omit=dev
    /// ```
    ///
    /// Use instead:
    /// ```dockerfile
    /// WORKDIR /app
    /// COPY package.json package-lock.json ./
    /// RUN npm ci --omit=dev
    /// COPY . .
    /// ```
    ///
    /// ## References
    /// - Docker docs, "Optimize cache usage in builds", "Order your layers"
    ///   (<https://docs.docker.com/build/cache/optimize/>)
    /// - Go modules reference, build commands (<https://go.dev/ref/mod#build-commands>)
    /// - `cargo build`, `--offline` (<https://doc.rust-lang.org/cargo/commands/cargo-build.html>)
    /// - `dotnet build` restores implicitly (<https://learn.microsoft.com/dotnet/core/tools/dotnet-build>)
    pub CopyAllBeforeDependencyInstall, DF301, "copy-all-before-dependency-install", Severity::Warning
}

/// Whether instruction `i` (of stage `s`) copies the whole build context: a source of `.`,
/// `./`, `*`, `./*` or `./.`, also through an ENV or ARG (`COPY ${SRC_PATH} /app` with
/// `SRC_PATH=./`) or in quotes. A variable without a value, or one that names a folder (`ARG
/// APP=packages/api`, one package of a monorepo), is not the whole context.
pub(super) fn copies_whole_context(ctx: &RuleContext<'_>, s: usize, i: usize) -> bool {
    context_sources(&ctx.dockerfile.instructions[i]).iter().any(|src| {
        let src = super::context::unquote(src);
        let src = if src.contains('$') {
            ctx.expand_at(s, i, &src)
        } else {
            src
        };
        super::context::whole_context(&src)
    })
}

/// The ecosystems whose dependencies instruction `i` of stage `s` copies in with `COPY
/// --from`, so that an install after it only prunes or links them: a dependency folder by its
/// name (`node_modules`, `vendor`, `site-packages`, a virtualenv, a bundle), from a stage or an
/// image, or a folder of a stage that installed dependencies (`COPY --from=deps /app /app`),
/// unless it is a build output (`dist`, `build`, `public`). A program copied in (`COPY
/// --from=composer /usr/bin/composer /usr/bin/`) is a tool, and so is a language runtime
/// copied from its image (`COPY --from=node:23 /usr/local/lib/node_modules ...`: npm itself,
/// installed globally), not the dependencies.
fn copied_dependencies(ctx: &RuleContext<'_>, chain_ecos: &[Vec<Eco>], s: usize, i: usize) -> Vec<Eco> {
    let inst = &ctx.dockerfile.instructions[i];
    if !matches!(inst.keyword, Keyword::Copy | Keyword::Add) || inst.flag("from").is_none() {
        return Vec::new();
    }
    let values = inst.values();
    if values.len() < 2 || values.last().is_some_and(|d| super::context::program_path(d)) {
        return Vec::new();
    }
    let global_tool = |p: &str| {
        [
            "/usr/local/lib/node_modules",
            "/usr/lib/node_modules",
            "/opt/yarn",
            "/usr/local/share/.config/yarn/global",
        ]
        .iter()
        .any(|g| p.trim_end_matches('/').starts_with(g))
    };
    let mut ecos = Vec::new();
    let from_stage = ctx.stages[s]
        .dependencies
        .iter()
        .find(|d| d.instruction == i)
        .and_then(|d| d.stage);
    for src in &values[..values.len() - 1] {
        let src: &str = src;
        if global_tool(src) || super::context::program_path(src) {
            continue;
        }
        let mut named = false;
        for part in src.split('/') {
            let by_name: &[Eco] = match part {
                "node_modules" => &[Eco::Node],
                "site-packages" | "dist-packages" | "venv" | ".venv" => &[Eco::Python],
                "vendor" => &[Eco::Php, Eco::Go, Eco::Ruby],
                "bundle" | "gems" => &[Eco::Ruby],
                ".m2" => &[Eco::Maven],
                ".gradle" => &[Eco::Gradle],
                ".nuget" => &[Eco::Dotnet],
                ".cargo" => &[Eco::Rust],
                _ => &[],
            };
            named |= !by_name.is_empty();
            ecos.extend_from_slice(by_name);
        }
        let output = src
            .trim_end_matches(['/', '*', '.'])
            .rsplit('/')
            .next()
            .is_some_and(|last| {
                matches!(
                    last,
                    "dist" | "build" | "out" | "public" | "static" | "assets" | "www" | "html" | "target"
                ) || last.contains('.')
            });
        if !named
            && !output
            && let Some(b) = from_stage
        {
            ecos.extend_from_slice(&chain_ecos[b]);
        }
    }
    ecos
}

impl Rule for CopyAllBeforeDependencyInstall {
    fn check(&self, ctx: &RuleContext<'_>, out: &mut Vec<Finding>) {
        // The ecosystems whose dependencies each stage and its `FROM` chain install, built
        // stage by stage (a stage's base is always an earlier stage), so long chains stay linear.
        let mut chain_ecos: Vec<Vec<Eco>> = Vec::with_capacity(ctx.stages.len());
        for st in &ctx.stages {
            let mut ecos = st.base_stage.map_or_else(Vec::new, |b| chain_ecos[b].clone());
            if st.reaches_target {
                for (i, inst) in ctx.stage_instructions(st.index) {
                    if inst.keyword != Keyword::Run {
                        continue;
                    }
                    for k in 0..ctx.commands[i].len() {
                        if let Some(d) = dependency_install(ctx, st.index, i, k)
                            && !ecos.contains(&d.eco)
                        {
                            ecos.push(d.eco);
                        }
                    }
                }
            }
            chain_ecos.push(ecos);
        }
        for st in ctx.needed_stages() {
            let mut copy_all: Option<usize> = None;
            // Dependencies copied in from another stage: an install here only prunes or
            // links them (say less).
            let mut copied_in: Vec<Eco> = Vec::new();
            // The ecosystems whose install ran before the whole-context copy (one ecosystem's
            // install does not cache another's).
            // A stage built `FROM` an earlier one starts with that one's downloads: a `go mod
            // download` in a `deps` stage covers the `go build` of `FROM deps AS build` (an
            // explicit reinstall after the copy still runs again).
            let inherited: &[Eco] = st.base_stage.map_or(&[], |b| chain_ecos[b].as_slice());
            // A base image made to hold the project's dependencies (`dspace/dspace-dependencies`,
            // `acme/app-deps`): the build finds them there.
            let deps_base = crate::catalog::ImageRef::parse(ctx.root_base(st.index)).is_some_and(|r| {
                let name = r.repo.rsplit('/').next().unwrap_or("");
                name.ends_with("dependencies") || name.ends_with("-deps") || name.ends_with("_deps")
            });
            let mut installed_before: Vec<Eco> = Vec::new();
            // Dependencies fetched by name before the copy, per ecosystem.
            let mut named: Vec<(Eco, usize)> = Vec::new();
            let mut prefetched: Vec<Eco> = Vec::new();
            'stage: for (i, inst) in ctx.stage_instructions(st.index) {
                if copy_all.is_none() && copies_whole_context(ctx, st.index, i) {
                    copy_all = Some(i);
                    // Named `go get`s cover the project's `go get -d` too; named pip
                    // requirements cover what `pip install .` resolves, not a reinstall from a
                    // requirements file.
                    for &(eco, n) in &named {
                        if n >= NAMED_PREFETCHES {
                            if eco == Eco::Go {
                                installed_before.push(eco);
                            } else {
                                prefetched.push(eco);
                            }
                        }
                    }
                    continue;
                }
                copied_in.extend(copied_dependencies(ctx, &chain_ecos, st.index, i));
                if inst.keyword != Keyword::Run {
                    continue;
                }
                let conditional = pkg::conditional_at(ctx, st.index, i);
                // An install in every branch of an `if ... else` runs either way.
                let mut deps: Vec<Option<_>> = (0..ctx.commands[i].len())
                    .map(|k| dependency_install(ctx, st.index, i, k))
                    .collect();
                let ecos: Vec<Option<Eco>> = deps.iter().map(|d| d.as_ref().map(|d| d.eco)).collect();
                let either_way = pkg::in_every_branch(&ctx.commands[i], &ecos);
                for (k, cond) in conditional.into_iter().enumerate() {
                    let c = &ctx.commands[i][k];
                    if copy_all.is_none()
                        && let Some((eco, n)) = prefetches_by_name(c)
                    {
                        match named.iter_mut().find(|(e, _)| *e == eco) {
                            Some((_, total)) => *total += n,
                            None => named.push((eco, n)),
                        }
                    }
                    let Some(dep) = deps[k].take() else {
                        continue;
                    };
                    // An install that only some build arguments turn on.
                    if cond && !either_way[k] {
                        continue;
                    }
                    match copy_all {
                        None => installed_before.push(dep.eco),
                        Some(_)
                            if installed_before.contains(&dep.eco)
                                || dep.implicit.is_some()
                                    && (deps_base || inherited.contains(&dep.eco) || prefetched.contains(&dep.eco)) => {
                        }
                        Some(ci) if !copied_in.contains(&dep.eco) => {
                            let cinst = &ctx.dockerfile.instructions[ci];
                            // The program and its subcommand (`go mod download`: the verb too).
                            let mut what: Vec<&str> =
                                c.effective().first().map(|w| w.text.as_str()).into_iter().collect();
                            // `mvn clean package`: name the goal that builds.
                            what.extend(
                                c.args()
                                    .iter()
                                    .filter(|w| !w.text.starts_with('-'))
                                    .find(|w| w.text != "clean" || dep.implicit.is_none())
                                    .map(|w| w.text.as_str()),
                            );
                            // `python3 -m pip install`: the module and its verb.
                            if c.args().first().is_some_and(|w| w.text == "-m") {
                                what.truncate(1);
                                what.push("-m");
                                what.extend(
                                    c.args()
                                        .iter()
                                        .skip(1)
                                        .filter(|w| !w.text.starts_with('-'))
                                        .take(2)
                                        .map(|w| w.text.as_str()),
                                );
                            } else if pkg::is(c, "go", &["mod"])
                                || pkg::is(c, "dotnet", &["tool"])
                                || what.last().is_some_and(|w| w.ends_with("setup.py"))
                            {
                                what.extend(
                                    c.args()
                                        .iter()
                                        .filter(|w| !w.text.starts_with('-'))
                                        .nth(1)
                                        .map(|w| w.text.as_str()),
                                );
                            }
                            let what = what.join(" ");
                            let manifests = dep.manifests;
                            let (message, help) = match &dep.implicit {
                                None => (
                                    format!(
                                        "`{what}` runs after the whole context was copied, so any file change re-runs it"
                                    ),
                                    format!(
                                        "copy only {manifests} first, run `{what}`, then copy the rest of the source"
                                    ),
                                ),
                                Some((fetches, prefetch)) => (
                                    if matches!(c.name(), Some("make" | "gmake")) {
                                        format!(
                                            "`{what}` runs a build that downloads {fetches} after the whole context was copied, so any file change downloads them again"
                                        )
                                    } else {
                                        format!(
                                            "`{what}` downloads {fetches} itself after the whole context was copied, so any file change downloads them again"
                                        )
                                    },
                                    format!(
                                        "copy only {manifests} first and run `{prefetch}`, then copy the rest of the source and build"
                                    ),
                                ),
                            };
                            out.push(
                                Finding::new(
                                    &Self::META,
                                    ctx,
                                    i,
                                    c.span_through(1).unwrap_or_default(),
                                    message,
                                    help,
                                )
                                .related(cinst.span, "the whole build context is copied here"),
                            );
                            break 'stage;
                        }
                        Some(_) => break 'stage,
                    }
                }
            }
        }
    }
}

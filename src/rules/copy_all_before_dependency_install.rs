//! Rule DF301 copy-all-before-dependency-install: one rule, documented by its `///` doc below (the user manual; `imgopt explain`).

use super::context::context_sources;
use super::pkg;
use super::{Finding, Rule, RuleContext};
use crate::diag::Severity;
use crate::dockerfile::shell::Command;
use crate::dockerfile::{Instruction, Keyword};

crate::declare_rule! {
    /// ## What it does
    /// Checks for a `COPY . <dest>` (or `ADD .`, `COPY ./ ...`, `COPY * ...`) of the whole build
    /// context that comes before a dependency install of its stage: `npm ci`/`npm
    /// install`, `yarn install`, `pnpm install`, `pip install -r`, `poetry install`, `pipenv
    /// install`, `uv sync`, `go mod download`, `go get ./...`, `cargo fetch`, `cargo chef
    /// cook`, `bundle install`, `composer install`, `mvn dependency:go-offline`, `dotnet
    /// restore`, or a project script named for it (`bin/installDeps.sh`).
    ///
    /// Build commands that download the dependencies themselves count too: `go build`/`go
    /// install`/`go test` in module mode (the go command downloads missing modules), `cargo
    /// build`/`test`/`run`/`install --path`, a Gradle task (`./gradlew build`), a Maven phase
    /// (`mvn package`), `sbt`, `dotnet build`/`publish`/`test` without `--no-restore`, `pip
    /// install .` of the project, and `make` in a stage whose toolchain is Go, Node or Rust
    /// (from its base image or an installed `golang-go`, `nodejs`, `cargo` package). They do
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
    /// the build commands (not an explicit reinstall). Stages the target does not need, stages that `COPY --from`
    /// their dependencies out of another stage, and installs that run only under a condition
    /// (`if [ "$BUILD_JS" = 1 ]; then ...`) are skipped.
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

/// Whether `inst` copies the whole build context.
pub(super) fn copies_whole_context(inst: &Instruction) -> bool {
    context_sources(inst)
        .iter()
        .any(|s| matches!(&**s, "." | "./" | "*" | "./*" | "./."))
}

/// The ecosystem whose dependencies an install fetches: an install of one does not cache
/// another's (a `bundle install` before the copy does not cache an `npm install` after it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Eco {
    Node,
    Python,
    Go,
    Rust,
    Ruby,
    Php,
    Maven,
    Gradle,
    Sbt,
    Dotnet,
    /// A project script that installs the dependencies.
    Script,
}

/// A command that installs or fetches the dependencies of the project.
struct Dep {
    eco: Eco,
    /// The manifests to copy first.
    manifests: &'static str,
    /// For a build command that fetches the dependencies itself (`go build`, `cargo build`,
    /// `gradle build`): what it fetches and the command that fetches them alone.
    implicit: Option<(&'static str, String)>,
}

impl Dep {
    const fn explicit(eco: Eco, manifests: &'static str) -> Self {
        Self {
            eco,
            manifests,
            implicit: None,
        }
    }

    fn implicit(eco: Eco, manifests: &'static str, fetches: &'static str, prefetch: impl Into<String>) -> Self {
        Self {
            eco,
            manifests,
            implicit: Some((fetches, prefetch.into())),
        }
    }
}

const NODE: &str = "package.json and the lockfile";
const GO: &str = "go.mod and go.sum";
const CARGO: &str = "Cargo.toml and Cargo.lock";
const GRADLE: &str = "build.gradle, settings.gradle and the wrapper";
const DOTNET: &str = "the .csproj (and .sln) files";

/// The explicit dependency install a command runs, if any.
fn explicit_install(c: &Command) -> Option<Dep> {
    let name = tool_name(c)?;
    let sub = c.subcommand().map(|w| w.text.as_str());
    let pkg_args = c.args().iter().filter(|w| !w.text.starts_with('-')).count();
    let e = Dep::explicit;
    Some(match (name, sub) {
        ("npm", Some("ci")) => e(Eco::Node, "package.json and package-lock.json"),
        ("npm", Some("install" | "i")) if pkg_args == 1 && !c.has_short_or_long('g', &["--global"]) => {
            e(Eco::Node, "package.json and package-lock.json")
        }
        ("yarn", _) if pkg::yarn_command(c) == Some("install") => e(Eco::Node, "package.json and yarn.lock"),
        ("pnpm", Some("install" | "i")) if pkg_args == 1 => e(Eco::Node, "package.json and pnpm-lock.yaml"),
        (n, Some("install"))
            if n.starts_with("pip")
                && c.args()
                    .iter()
                    .any(|w| w.text == "-r" || w.text.starts_with("--requirement")) =>
        {
            e(Eco::Python, "the requirements file")
        }
        ("poetry", Some("install")) => e(Eco::Python, "pyproject.toml and poetry.lock"),
        ("pipenv", Some("install" | "sync")) => e(Eco::Python, "Pipfile and Pipfile.lock"),
        ("uv", Some("sync")) => e(Eco::Python, "pyproject.toml and uv.lock"),
        ("go", Some("mod"))
            if c.args()
                .iter()
                .any(|w| matches!(w.text.as_str(), "download" | "tidy" | "vendor")) =>
        {
            e(Eco::Go, GO)
        }
        // `go get` of the module itself (`go get ./...`, `go get -d`), not of a named tool.
        ("go", Some("get")) if go_get_names(c) == 0 => e(Eco::Go, GO),
        ("dotnet", Some("restore")) => e(Eco::Dotnet, DOTNET),
        ("cargo", Some("fetch" | "vendor")) => e(Eco::Rust, CARGO),
        // cargo-chef's `cargo chef cook` builds the dependencies from the recipe.
        ("cargo", Some("chef")) if c.args().iter().any(|w| w.text == "cook") => e(Eco::Rust, "the cargo-chef recipe"),
        ("bundle", Some("install")) => e(Eco::Ruby, "Gemfile and Gemfile.lock"),
        ("composer", Some("install")) => e(Eco::Php, "composer.json and composer.lock"),
        ("mvn" | "mvnw", _) if c.args().iter().any(|w| w.text.starts_with("dependency:")) => e(Eco::Maven, "pom.xml"),
        _ if is_install_deps_script(name) => e(Eco::Script, "the dependency manifests the script reads"),
        _ => return None,
    })
}

/// The command's name, with the cross-compilation wrappers of tonistiigi/xx (`xx-cargo`,
/// `xx-go`, <https://github.com/tonistiigi/xx>) read as the tool they wrap.
fn tool_name(c: &Command) -> Option<&str> {
    c.name().map(|n| {
        n.strip_prefix("xx-")
            .filter(|t| matches!(*t, "cargo" | "go"))
            .unwrap_or(n)
    })
}

/// The named packages of a `go get` (`go get github.com/x/y`), not counting `./...` and `.`.
fn go_get_names(c: &Command) -> usize {
    c.args()
        .iter()
        .skip(1)
        .filter(|w| !w.text.starts_with('-') && !w.text.starts_with('.'))
        .count()
}

/// The dependency install or fetch command `k` of `RUN` `i` (stage `s`) runs: an explicit
/// install, or a build that fetches the dependencies itself.
fn dependency_install(ctx: &RuleContext<'_>, s: usize, i: usize, k: usize) -> Option<Dep> {
    let c = &ctx.commands[i][k];
    explicit_install(c).or_else(|| implicit_fetch(ctx, s, i, k))
}

/// A build command that resolves and downloads the project's dependencies on its own, when
/// nothing says it works offline: `go build`/`go install`/`go test` in module mode (the go
/// command downloads missing modules, <https://go.dev/ref/mod#build-commands>), `cargo
/// build`/`test`/`run`/`install --path` (<https://doc.rust-lang.org/cargo/commands/cargo-build.html>,
/// `--offline`/`--frozen` turn it off), a Gradle task (<https://docs.gradle.org/current/userguide/dependency_resolution.html>;
/// the wrapper also downloads Gradle itself), a Maven phase (`mvn package`,
/// <https://maven.apache.org/guides/introduction/introduction-to-repositories.html>; `-o` is
/// offline), `sbt`, `dotnet build`/`publish`/`test`/`pack`/`run` without `--no-restore`
/// (<https://learn.microsoft.com/dotnet/core/tools/dotnet-build>), `pip install .` of the
/// project (its dependencies from pyproject.toml or setup.py), and `make` in a Go, Node or
/// Rust stage (its recipes run those tools). `make` after `cmake` or `./configure` builds C
/// sources, which fetch nothing. A `RUN` with a cache mount keeps the downloads between builds.
fn implicit_fetch(ctx: &RuleContext<'_>, s: usize, i: usize, k: usize) -> Option<Dep> {
    let c = &ctx.commands[i][k];
    if !ctx.cache_mount_targets(s, i).is_empty() {
        return None;
    }
    let name = tool_name(c)?;
    let sub = c.subcommand().map(|w| w.text.as_str());
    let prog = c.effective().first().map_or(name, |w| w.text.as_str());
    Some(match (name, sub) {
        ("go", Some("build" | "install" | "test" | "run" | "vet"))
            if !c.args().iter().any(|w| w.text.contains('@')) && go_modules(ctx, s, i, c) =>
        {
            Dep::implicit(Eco::Go, GO, "the Go modules", "go mod download")
        }
        (
            "cargo",
            Some("build" | "b" | "test" | "t" | "run" | "r" | "check" | "c" | "bench" | "doc" | "clippy" | "install"),
        ) if !(c.has_flag("--offline")
            || c.has_flag("--frozen")
            || sub == Some("install") && cargo_installs_named_crate(c)
            || env_is(ctx, s, i, c, "CARGO_NET_OFFLINE", "true")
            || cargo_vendored(ctx)) =>
        {
            Dep::implicit(Eco::Rust, CARGO, "the crates", "cargo fetch")
        }
        ("gradle" | "gradlew", _) if gradle_builds(c) => Dep::implicit(
            Eco::Gradle,
            GRADLE,
            "the Gradle dependencies",
            format!("{prog} dependencies"),
        ),
        ("mvn" | "mvnw", _) if maven_builds(c) => Dep::implicit(
            Eco::Maven,
            "pom.xml",
            "the Maven dependencies",
            format!("{prog} dependency:go-offline"),
        ),
        ("sbt", Some(t)) if !matches!(t, "clean" | "about" | "help") && !c.has_flag("--version") => Dep::implicit(
            Eco::Sbt,
            "build.sbt and project/",
            "the library dependencies",
            "sbt update",
        ),
        // `dotnet build` and `dotnet publish` restore first unless told not to.
        ("dotnet", Some("build" | "publish" | "test" | "pack" | "run")) if !c.has_flag("--no-restore") => {
            Dep::implicit(Eco::Dotnet, DOTNET, "the NuGet packages", "dotnet restore")
        }
        (n, Some("install")) if n.starts_with("pip") && installs_local_project(c) => Dep::implicit(
            Eco::Python,
            "pyproject.toml (or setup.py) and the requirements",
            "the project's dependencies",
            "pip install -r requirements.txt",
        ),
        ("make" | "gmake", _) if make_builds(ctx, s, i, k) => match toolchain(ctx, s, i)? {
            Eco::Go if go_modules(ctx, s, i, c) => Dep::implicit(Eco::Go, GO, "the Go modules", "go mod download"),
            Eco::Rust if !cargo_vendored(ctx) => Dep::implicit(Eco::Rust, CARGO, "the crates", "cargo fetch"),
            Eco::Node => Dep::implicit(Eco::Node, NODE, "the npm packages", "npm ci"),
            _ => return None,
        },
        _ => return None,
    })
}

/// `cargo install NAME` installs a crate from the registry (a tool), not the project.
fn cargo_installs_named_crate(c: &Command) -> bool {
    !c.has_flag("--path")
        && c.args()
            .iter()
            .skip(1)
            .any(|w| !w.text.starts_with('-') && !w.text.starts_with('.'))
}

/// `pip install .`, `pip install -e .`, `pip install ./pkg`: the project itself, whose
/// dependencies pip resolves from its metadata (not with `--no-deps`).
fn installs_local_project(c: &Command) -> bool {
    !c.has_flag("--no-deps")
        && c.args()
            .iter()
            .skip(1)
            .any(|w| w.text == "." || w.text.starts_with("./") || w.text.starts_with(".["))
}

/// A Gradle invocation that runs a build task (not `clean`, `help`, `tasks`, `wrapper`,
/// `--version` or `--offline`).
fn gradle_builds(c: &Command) -> bool {
    if c.has_flag("--offline") {
        return false;
    }
    let mut skip = false;
    let mut tasks = Vec::new();
    for w in c.args() {
        let t = w.text.as_str();
        if std::mem::take(&mut skip) {
            continue;
        }
        if t.starts_with('-') {
            skip = matches!(
                t,
                "-x" | "--exclude-task"
                    | "-p"
                    | "--project-dir"
                    | "-b"
                    | "--build-file"
                    | "-c"
                    | "--settings-file"
                    | "-g"
                    | "--gradle-user-home"
                    | "-I"
                    | "--init-script"
                    | "--console"
                    | "--warning-mode"
            );
            continue;
        }
        tasks.push(t);
    }
    tasks.iter().any(|t| {
        !matches!(
            *t,
            "clean" | "help" | "tasks" | "wrapper" | "properties" | "projects" | "--version"
        )
    })
}

/// A Maven invocation that runs a build phase or plugin goal (not `clean` alone, `help:`,
/// `--version`, or offline with `-o`).
fn maven_builds(c: &Command) -> bool {
    if c.has_flag("-o") || c.has_flag("--offline") {
        return false;
    }
    let mut skip = false;
    let mut goals = Vec::new();
    for w in c.args() {
        let t = w.text.as_str();
        if std::mem::take(&mut skip) {
            continue;
        }
        if t.starts_with('-') {
            skip = matches!(
                t,
                "-f" | "--file"
                    | "-s"
                    | "--settings"
                    | "-gs"
                    | "--global-settings"
                    | "-P"
                    | "--activate-profiles"
                    | "-pl"
                    | "--projects"
                    | "-T"
                    | "--threads"
                    | "-rf"
                    | "--resume-from"
                    | "-t"
                    | "--toolchains"
                    | "-l"
                    | "--log-file"
                    | "-D"
                    | "--define"
            );
            continue;
        }
        goals.push(t);
    }
    goals
        .iter()
        .any(|g| *g != "clean" && !g.starts_with("help:") && !g.starts_with("versions:"))
}

/// A `make` that builds (not `make clean` or `make help`), in a `RUN` or stage that did not
/// configure C sources with `cmake`, `./configure`, `meson` or autotools first.
fn make_builds(ctx: &RuleContext<'_>, s: usize, i: usize, k: usize) -> bool {
    let c = &ctx.commands[i][k];
    let targets: Vec<&str> = c
        .args()
        .iter()
        .map(|w| w.text.as_str())
        .filter(|t| !t.starts_with('-') && !t.contains('='))
        .collect();
    if !targets.is_empty() && targets.iter().all(|t| matches!(*t, "clean" | "help" | "distclean")) {
        return false;
    }
    let configures = |c: &Command| {
        matches!(
            c.name(),
            Some("cmake" | "configure" | "meson" | "autoreconf" | "autogen.sh" | "bootstrap" | "qmake" | "scons")
        )
    };
    // The latest instructions of the stage only (a `cmake` or `./configure` comes right
    // before its `make`): files with thousands of `RUN make` stay linear.
    let start = ctx.stages[s]
        .instructions
        .start
        .max(i.saturating_sub(CONFIGURE_LOOKBACK));
    let earlier_runs = (start..i).any(|j| ctx.commands[j].iter().any(configures));
    !earlier_runs && !ctx.commands[i][..k].iter().any(configures)
}

/// The language toolchain of stage `s` at instruction `i`: its base image (`golang`, `rust`,
/// `node`, and images named for them) or a toolchain package installed before `i` in its
/// stage chain (`golang-go`, `nodejs`, `cargo`).
fn toolchain(ctx: &RuleContext<'_>, s: usize, i: usize) -> Option<Eco> {
    let of_name = |n: &str| match n {
        "golang" | "go" | "golang-go" => Some(Eco::Go),
        "node" | "nodejs" | "npm" => Some(Eco::Node),
        "rust" | "cargo" | "rustc" => Some(Eco::Rust),
        _ => None,
    };
    if let Some(r) = crate::catalog::ImageRef::parse(ctx.root_base(s))
        && let Some(e) = of_name(r.repo.rsplit('/').next().unwrap_or(""))
    {
        return Some(e);
    }
    // The stage and its `FROM` chain, latest first, at most MAX_LOOKBACK instructions.
    let chain = std::iter::successors(Some(s), |&st| ctx.stages[st].base_stage);
    chain
        .flat_map(|st| ctx.stages[st].instructions.clone().rev())
        .filter(|&j| j < i)
        .take(MAX_LOOKBACK)
        .flat_map(|j| pkg::installs(&ctx.commands[j]))
        .flat_map(|x| x.packages)
        .find_map(|w| of_name(pkg::package_name(&w.text)))
}

/// Whether a `go` command at instruction `i` of stage `s` runs in module mode and may
/// download: not `-mod=vendor` (flag or `GOFLAGS`), not `GO111MODULE=off` or `GOPROXY=off`,
/// not a golang image before 1.11 (no modules) or before 1.13 building in `$GOPATH/src`
/// (GOPATH mode there until Go 1.13, <https://go.dev/doc/go1.13#modules>), and no `vendor/modules.txt` in the build context.
fn go_modules(ctx: &RuleContext<'_>, s: usize, i: usize, c: &Command) -> bool {
    if c.args().iter().any(|w| w.text == "-mod=vendor")
        || env_value(ctx, s, i, c, "GOFLAGS").is_some_and(|v| v.contains("-mod=vendor"))
        || env_is(ctx, s, i, c, "GO111MODULE", "off")
        || env_is(ctx, s, i, c, "GOPROXY", "off")
    {
        return false;
    }
    if ctx
        .build_context
        .is_some_and(|bc| !bc.matching("vendor/modules.txt").is_empty())
    {
        return false;
    }
    let version = crate::catalog::ImageRef::parse(ctx.root_base(s))
        .filter(|r| r.repo.rsplit('/').next() == Some("golang"))
        .and_then(|r| r.tag)
        .and_then(|t| {
            let mut p = t.split(['.', '-']);
            let major: u32 = p.next()?.parse().ok()?;
            let minor: u32 = p.next()?.parse().ok()?;
            Some((major, minor))
        });
    match version {
        Some(v) if v < (1, 11) => false,
        Some(v) if v < (1, 13) => !ctx.workdir_at(s, i).starts_with("/go/src/"),
        _ => true,
    }
}

/// The value of an environment variable for command `c` of instruction `i`: an assignment
/// before the command (`GOFLAGS=-mod=vendor go build`), else ENV/ARG in scope.
fn env_value(ctx: &RuleContext<'_>, s: usize, i: usize, c: &Command, key: &str) -> Option<String> {
    for w in &c.words {
        match w.text.split_once('=') {
            Some((k, v)) if k == key => return Some(v.to_string()),
            Some((k, _)) if !k.is_empty() && k.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '_') => {}
            _ => break,
        }
    }
    ctx.env_at(s, i, key)
}

fn env_is(ctx: &RuleContext<'_>, s: usize, i: usize, c: &Command, key: &str, value: &str) -> bool {
    env_value(ctx, s, i, c, key).is_some_and(|v| v.eq_ignore_ascii_case(value))
}

/// Whether the build context vendors the crates (`.cargo/config.toml` replacing crates.io
/// with vendored sources).
fn cargo_vendored(ctx: &RuleContext<'_>) -> bool {
    ctx.build_context.is_some_and(|bc| {
        [".cargo/config.toml", ".cargo/config"]
            .iter()
            .filter_map(|p| bc.read_small(p))
            .any(|t| t.contains("vendored-sources") || t.contains("replace-with"))
    })
}

/// Named `go get`s before the whole-context copy (`go get github.com/x/y`, the GOPATH way of
/// fetching a project's dependencies ahead of its source): the later `go get -d` of the
/// project only fills gaps.
fn prefetches_by_name(c: &Command) -> Option<Eco> {
    (pkg::is(c, "go", &["get"]) && go_get_names(c) > 0 && !c.args().iter().any(|w| w.text.contains('@')))
        .then_some(Eco::Go)
}

/// A project script whose name says it installs the dependencies (`bin/installDeps.sh`,
/// `install-dependencies.sh`).
fn is_install_deps_script(name: &str) -> bool {
    let stem = name.strip_suffix(".sh").unwrap_or(name);
    let squashed: String = stem
        .chars()
        .filter(|c| *c != '-' && *c != '_')
        .map(|c| c.to_ascii_lowercase())
        .collect();
    matches!(squashed.as_str(), "installdeps" | "installdependencies")
}

/// How many earlier instructions the `make` checks read (what configured C sources, which
/// toolchain was installed): past it, files stay linear and the check assumes nothing.
const MAX_LOOKBACK: usize = 256;

/// How many earlier instructions of its stage are searched for what configured the C sources
/// a `make` builds.
const CONFIGURE_LOOKBACK: usize = 16;

/// Named `go get`s before the copy that count as fetching the dependencies ahead of the
/// source, rather than installing a tool or two.
const NAMED_PREFETCHES: usize = 3;

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
            let mut copied_from_stage = false;
            // The ecosystems whose install ran before the whole-context copy (one ecosystem's
            // install does not cache another's).
            // A stage built `FROM` an earlier one starts with that one's downloads: a `go mod
            // download` in a `deps` stage covers the `go build` of `FROM deps AS build` (an
            // explicit reinstall after the copy still runs again).
            let inherited: &[Eco] = st.base_stage.map_or(&[], |b| chain_ecos[b].as_slice());
            let mut installed_before: Vec<Eco> = Vec::new();
            let mut named_gets = 0;
            'stage: for (i, inst) in ctx.stage_instructions(st.index) {
                if copy_all.is_none() && copies_whole_context(inst) {
                    copy_all = Some(i);
                    if named_gets >= NAMED_PREFETCHES {
                        installed_before.push(Eco::Go);
                    }
                    continue;
                }
                if matches!(inst.keyword, Keyword::Copy | Keyword::Add) && inst.flag("from").is_some() {
                    copied_from_stage = true;
                }
                if inst.keyword != Keyword::Run {
                    continue;
                }
                let conditional = pkg::conditional_at(ctx, st.index, i);
                for (k, cond) in conditional.into_iter().enumerate() {
                    let c = &ctx.commands[i][k];
                    if copy_all.is_none() && prefetches_by_name(c).is_some() {
                        named_gets += go_get_names(c);
                    }
                    let Some(dep) = dependency_install(ctx, st.index, i, k) else {
                        continue;
                    };
                    // An install that only some build arguments turn on.
                    if cond {
                        continue;
                    }
                    match copy_all {
                        None => installed_before.push(dep.eco),
                        Some(_)
                            if installed_before.contains(&dep.eco)
                                || dep.implicit.is_some() && inherited.contains(&dep.eco) => {}
                        Some(ci) if !copied_from_stage => {
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
                            if pkg::is(c, "go", &["mod"]) {
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

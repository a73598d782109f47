//! Which commands install or download a project's dependencies, for DF301: explicit
//! installs (`npm ci`, `go mod download`, `bundle install`) and build commands that download
//! them on their own (`go build` in module mode, `cargo build`, a Gradle task, `make` in a Go
//! project), with the ecosystem each belongs to and what would fetch them ahead of the source.
//!
//! Owns: [`Eco`], [`Dep`], [`dependency_install`] and the offline, vendored and GOPATH checks.
//! Does not: decide findings (see `copy_all_before_dependency_install`).

use super::RuleContext;
use super::pkg;
use crate::dockerfile::shell::{Command, Word};

/// The ecosystem whose dependencies an install fetches: an install of one does not cache
/// another's (a `bundle install` before the copy does not cache an `npm install` after it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Eco {
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
    /// .NET local tools (`dotnet tool restore`, from `.config/dotnet-tools.json`).
    DotnetTools,
    /// A project script that installs the dependencies.
    Script,
}

/// A command that installs or fetches the dependencies of the project.
pub(super) struct Dep {
    pub eco: Eco,
    /// The manifests to copy first.
    pub manifests: &'static str,
    /// For a build command that fetches the dependencies itself (`go build`, `cargo build`,
    /// `gradle build`): what it fetches and the command that fetches them alone.
    pub implicit: Option<(&'static str, String)>,
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
    // The subcommand and the packages it names (`npm install .` names none: the project).
    let pkg_args = c
        .args()
        .iter()
        .filter(|w| !w.text.starts_with('-') && !matches!(w.text.as_str(), "." | "./"))
        .count();
    let e = Dep::explicit;
    // An install from the local store alone (`pnpm install --offline` after `pnpm fetch`)
    // downloads nothing.
    if matches!(name, "npm" | "pnpm" | "yarn") && c.has_flag("--offline") {
        return None;
    }
    Some(match (name, sub) {
        ("npm", Some("ci")) => e(Eco::Node, "package.json and package-lock.json"),
        // `pnpm fetch` fills the store from the lockfile alone.
        ("pnpm", Some("fetch")) => e(Eco::Node, "pnpm-lock.yaml"),
        ("npm", Some("install" | "i")) if pkg_args == 1 && !c.has_short_or_long('g', &["--global"]) => {
            e(Eco::Node, "package.json and package-lock.json")
        }
        ("yarn", _) if pkg::yarn_command(c) == Some("install") => e(Eco::Node, "package.json and yarn.lock"),
        ("pnpm", Some("install" | "i")) if pkg_args == 1 => e(Eco::Node, "package.json and pnpm-lock.yaml"),
        _ if pkg::pip_args(c).is_some_and(|a| {
            a.first().is_some_and(|w| w.text == "install")
                && a.iter().any(|w| w.text == "-r" || w.text.starts_with("--requirement"))
        }) =>
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
        // `dotnet tool restore` downloads the local tools the manifest lists
        // (<https://learn.microsoft.com/dotnet/core/tools/dotnet-tool-restore>).
        ("dotnet", Some("tool")) if c.args().get(1).is_some_and(|w| w.text == "restore") => {
            e(Eco::DotnetTools, ".config/dotnet-tools.json")
        }
        ("cargo", Some("fetch" | "vendor")) => e(Eco::Rust, CARGO),
        // cargo-chef's `cargo chef cook` builds the dependencies from the recipe.
        ("cargo", Some("chef")) if c.args().iter().any(|w| w.text == "cook") => e(Eco::Rust, "the cargo-chef recipe"),
        ("bundle", Some("install")) => e(Eco::Ruby, "Gemfile and Gemfile.lock"),
        // `composer install`, `./composer.phar install`, `php composer.phar install`.
        _ if pkg::composer_command(c) == Some("install") => e(Eco::Php, "composer.json and composer.lock"),
        ("mvn" | "mvnw", _) if c.args().iter().any(|w| w.text.starts_with("dependency:")) => e(Eco::Maven, "pom.xml"),
        _ if is_install_deps_script(name) => e(Eco::Script, "the dependency manifests the script reads"),
        // The project's own tool asked to install what it needs (`./emsdk install latest`,
        // `./bin/setup install`): it downloads, and reads only some of the copied files.
        _ if c.effective().first().is_some_and(|w| w.text.starts_with("./")) && sub == Some("install") => {
            e(Eco::Script, "the files the tool reads")
        }
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
pub(super) fn go_get_names(c: &Command) -> usize {
    c.args()
        .iter()
        .skip(1)
        .filter(|w| !w.text.starts_with('-') && !w.text.starts_with('.'))
        .count()
}

/// The dependency install or fetch command `k` of `RUN` `i` (stage `s`) runs: an explicit
/// install, or a build that fetches the dependencies itself.
pub(super) fn dependency_install(ctx: &RuleContext<'_>, s: usize, i: usize, k: usize) -> Option<Dep> {
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
/// project (its dependencies from pyproject.toml or setup.py), the project's own install
/// script on a Python image (`./scripts/install.sh`, which installs it with pip), and `make` in a Go, Node or
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
        // `wasm-pack build` runs `cargo build` for the wasm target
        // (<https://rustwasm.github.io/docs/wasm-pack/commands/build.html>).
        ("wasm-pack", Some("build" | "test" | "pack")) if !cargo_vendored(ctx) => {
            Dep::implicit(Eco::Rust, CARGO, "the crates", "cargo fetch")
        }
        // `dotnet build` and `dotnet publish` restore first unless told not to.
        ("dotnet", Some("build" | "publish" | "test" | "pack" | "run")) if !c.has_flag("--no-restore") => {
            Dep::implicit(Eco::Dotnet, DOTNET, "the NuGet packages", "dotnet restore")
        }
        _ if pkg::pip_args(c).is_some_and(installs_local_project) => Dep::implicit(
            Eco::Python,
            "pyproject.toml (or setup.py) and the requirements",
            "the project's dependencies",
            "pip install -r requirements.txt",
        ),
        // `python setup.py install` (or `develop`) resolves `install_requires` and downloads
        // what is missing (setuptools' easy_install,
        // <https://setuptools.pypa.io/en/latest/deprecated/easy_install.html>).
        (n, Some(script))
            if n.starts_with("python")
                && script.rsplit('/').next() == Some("setup.py")
                && c.args()
                    .iter()
                    .skip(1)
                    .any(|w| matches!(w.text.as_str(), "install" | "develop")) =>
        {
            Dep::implicit(
                Eco::Python,
                "setup.py and the requirements",
                "the project's dependencies",
                "pip install -r requirements.txt",
            )
        }
        ("make" | "gmake", _) if make_builds(ctx, s, i, k) => toolchain_fetch(ctx, s, i, c)?,
        // A script's toolchain must be the image's own (a `maven` or `golang` base): a distro
        // package (`apt-get install golang` on Ubuntu 12.04) says nothing of its version.
        _ if project_build_script(ctx, s, i, k) && base_toolchain(ctx, s).is_some() => toolchain_fetch(ctx, s, i, c)?,
        // A project's own install script (`./scripts/install_full.sh`) on a Python image
        // installs the project with pip, which resolves and downloads its dependencies.
        _ if project_install_script(c) && base_is_python(ctx, s) => Dep::implicit(
            Eco::Python,
            "pyproject.toml (or setup.py) and the requirements",
            "the project's dependencies",
            "pip install -r requirements.txt",
        ),
        _ => return None,
    })
}

/// What a build run by `make` or a project script fetches in a stage whose toolchain is `eco`
/// (its recipes run that toolchain's build, which downloads the dependencies).
fn toolchain_fetch(ctx: &RuleContext<'_>, s: usize, i: usize, c: &Command) -> Option<Dep> {
    Some(match toolchain(ctx, s, i)? {
        Eco::Go if go_modules(ctx, s, i, c) => Dep::implicit(Eco::Go, GO, "the Go modules", "go mod download"),
        Eco::Rust if !cargo_vendored(ctx) => Dep::implicit(Eco::Rust, CARGO, "the crates", "cargo fetch"),
        Eco::Node => Dep::implicit(Eco::Node, NODE, "the npm packages", "npm ci"),
        Eco::Maven => Dep::implicit(
            Eco::Maven,
            "pom.xml",
            "the Maven dependencies",
            "mvn dependency:go-offline",
        ),
        Eco::Gradle => Dep::implicit(Eco::Gradle, GRADLE, "the Gradle dependencies", "gradle dependencies"),
        _ => return None,
    })
}

/// A project's own build script run from its source (`./build.sh`, `scripts/build-all.sh`,
/// `/refine/refine build`): a program given by a path outside the system's folders whose name
/// says it builds, or that is asked to `build`, `package` or `dist`. Like `make`, it runs the
/// toolchain's build (and its downloads) unless C sources were configured first.
fn project_build_script(ctx: &RuleContext<'_>, s: usize, i: usize, k: usize) -> bool {
    let c = &ctx.commands[i][k];
    let Some(prog) = c.effective().first().map(|w| w.text.as_str()) else {
        return false;
    };
    let system = [
        "/usr/",
        "/bin/",
        "/sbin/",
        "/etc/",
        "/lib/",
        "/opt/java",
        "/opt/maven",
        "/opt/gradle",
    ];
    if !(prog.contains('/')) || system.iter().any(|d| prog.starts_with(d)) || prog.contains(['$', '`']) {
        return false;
    }
    let stem = prog.rsplit('/').next().unwrap_or(prog);
    let stem = stem.strip_suffix(".sh").unwrap_or(stem).to_ascii_lowercase();
    let named = stem.split(['-', '_', '.']).any(|p| p == "build");
    let asked = c
        .args()
        .iter()
        .find(|w| !w.text.starts_with('-'))
        .is_some_and(|w| matches!(w.text.as_str(), "build" | "package" | "dist"));
    (named || asked) && make_builds(ctx, s, i, k)
}

/// A project's own install script run from its source: a program given by a relative path
/// (`./install.sh`, `scripts/install_full.sh`) whose name says it installs (`install`,
/// `install-all`), not one of a system folder or one that installs only the dependencies
/// (those are [`is_install_deps_script`]'s).
fn project_install_script(c: &Command) -> bool {
    let Some(prog) = c.effective().first().map(|w| w.text.as_str()) else {
        return false;
    };
    if prog.starts_with('/') || !prog.contains('/') || prog.contains(['$', '`']) {
        return false;
    }
    let stem = prog.rsplit('/').next().unwrap_or(prog);
    let stem = stem.strip_suffix(".sh").unwrap_or(stem).to_ascii_lowercase();
    stem.split(['-', '_', '.']).next() == Some("install") && !is_install_deps_script(&stem)
}

/// Whether stage `s`'s base image is the official Python image (pip is its installer).
fn base_is_python(ctx: &RuleContext<'_>, s: usize) -> bool {
    crate::catalog::ImageRef::parse(ctx.root_base(s))
        .and_then(|r| crate::catalog::classify(&r))
        .is_some_and(|(f, _)| f == crate::catalog::Family::Python)
}

/// `cargo install NAME` installs a crate from the registry (a tool), not the project.
fn cargo_installs_named_crate(c: &Command) -> bool {
    !c.has_flag("--path")
        && c.args()
            .iter()
            .skip(1)
            .any(|w| !w.text.starts_with('-') && !w.text.starts_with('.'))
}

/// The operands of a pip subcommand (`args` from the subcommand on): the words after it that
/// are neither options nor the values of options that take one (`-r requirements/base.txt`,
/// `--target /deps`, `-i URL`).
fn pip_operands(args: &[Word]) -> Vec<&Word> {
    let mut skip = false;
    args.iter()
        .skip(1)
        .filter(|w| {
            let t = w.text.as_str();
            if std::mem::take(&mut skip) {
                return false;
            }
            if t.starts_with('-') {
                skip = !t.contains('=')
                    && matches!(
                        t,
                        "-r" | "--requirement"
                            | "-c"
                            | "--constraint"
                            | "-t"
                            | "--target"
                            | "--prefix"
                            | "--root"
                            | "-f"
                            | "--find-links"
                            | "-i"
                            | "--index-url"
                            | "--extra-index-url"
                            | "--cache-dir"
                            | "--src"
                            | "--log"
                            | "--build"
                            | "-b"
                            | "--upgrade-strategy"
                            | "--platform"
                            | "--python-version"
                            | "--implementation"
                            | "--abi"
                            | "--progress-bar"
                            | "--trusted-host"
                            | "--report"
                    );
                return false;
            }
            true
        })
        .collect()
}

/// `pip install .`, `pip install -e .`, `pip install ./pkg`, `pip install /datasette`: a
/// project folder, whose dependencies pip resolves from its metadata (not with `--no-deps` or
/// `--no-index`). A requirement specifier never holds a `/`; a path that does is a local
/// project, unless it names an archive or wheel file, a glob of them (`/wheels/*`) or a URL.
fn installs_local_project(args: &[Word]) -> bool {
    let folder = |t: &str| {
        t == "."
            || t.starts_with(".[")
            || (t.contains('/')
                && !t.contains("://")
                && !t.contains(['*', '?', '$', '`'])
                && ![".whl", ".tar.gz", ".tgz", ".zip", ".egg", ".tar.bz2", ".txt"]
                    .iter()
                    .any(|e| t.split('[').next().unwrap_or(t).ends_with(e)))
    };
    let flag = |f: &str| args.iter().any(|w| w.text == f);
    args.first().is_some_and(|w| w.text == "install")
        && !flag("--no-deps")
        && !flag("--no-index")
        && pip_operands(args).iter().any(|w| folder(&w.text))
}

/// The words of `c` that are not options, nor the values of the options in `takes_value`
/// (`-p DIR`): the tasks or goals a build tool is asked to run.
fn positional<'a>(c: &'a Command, takes_value: &[&str]) -> Vec<&'a str> {
    let mut skip = false;
    let mut out = Vec::new();
    for w in c.args() {
        let t = w.text.as_str();
        if std::mem::take(&mut skip) {
            continue;
        }
        if t.starts_with('-') {
            skip = takes_value.contains(&t);
            continue;
        }
        out.push(t);
    }
    out
}

/// A Gradle invocation that runs a build task (not `clean`, `help`, `tasks`, `wrapper`,
/// `--version` or `--offline`).
fn gradle_builds(c: &Command) -> bool {
    if c.has_flag("--offline") {
        return false;
    }
    let tasks = positional(
        c,
        &[
            "-x",
            "--exclude-task",
            "-p",
            "--project-dir",
            "-b",
            "--build-file",
            "-c",
            "--settings-file",
            "-g",
            "--gradle-user-home",
            "-I",
            "--init-script",
            "--console",
            "--warning-mode",
        ],
    );
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
    let goals = positional(
        c,
        &[
            "-f",
            "--file",
            "-s",
            "--settings",
            "-gs",
            "--global-settings",
            "-P",
            "--activate-profiles",
            "-pl",
            "--projects",
            "-T",
            "--threads",
            "-rf",
            "--resume-from",
            "-t",
            "--toolchains",
            "-l",
            "--log-file",
            "-D",
            "--define",
        ],
    );
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
/// `node`, `maven`, `gradle`, and images named for them) or a toolchain package installed
/// before `i` in its stage chain (`golang-go`, `nodejs`, `cargo`, `maven`, `gradle`).
fn toolchain(ctx: &RuleContext<'_>, s: usize, i: usize) -> Option<Eco> {
    if let Some(e) = base_toolchain(ctx, s) {
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
        .find_map(|w| toolchain_named(pkg::package_name(&w.text)))
}

/// The toolchain an image or package name stands for.
fn toolchain_named(n: &str) -> Option<Eco> {
    match n {
        "golang" | "go" | "golang-go" => Some(Eco::Go),
        "node" | "nodejs" | "npm" => Some(Eco::Node),
        "rust" | "cargo" | "rustc" => Some(Eco::Rust),
        "maven" => Some(Eco::Maven),
        "gradle" => Some(Eco::Gradle),
        _ => None,
    }
}

/// The toolchain of stage `s`'s base image (`golang`, `maven`, and images named for them).
fn base_toolchain(ctx: &RuleContext<'_>, s: usize) -> Option<Eco> {
    let r = crate::catalog::ImageRef::parse(ctx.root_base(s))?;
    toolchain_named(r.repo.rsplit('/').next().unwrap_or(""))
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

/// Dependencies fetched by name before the whole-context copy, with how many it names: `go
/// get github.com/x/y` (the GOPATH way of fetching a project's dependencies ahead of its
/// source; the later `go get -d` of the project only fills gaps), or a `pip install` of pinned
/// requirements (`pip install Twisted==14.0.2 psutil==2.1.3 ...`, counting only the pinned
/// ones; the later `pip install .` finds them installed).
pub(super) fn prefetches_by_name(c: &Command) -> Option<(Eco, usize)> {
    if pkg::is(c, "go", &["get"]) && go_get_names(c) > 0 && !c.args().iter().any(|w| w.text.contains('@')) {
        return Some((Eco::Go, go_get_names(c)));
    }
    let args = pkg::pip_args(c)?;
    if args.first().is_none_or(|w| w.text != "install") {
        return None;
    }
    let named = pip_operands(args)
        .iter()
        .filter(|w| {
            let t = w.text.as_str();
            // Pinned: a dependency list (`psutil==2.1.3`, a VCS URL at a commit), not tools
            // installed by name (`pip install jupyter torch`).
            !t.starts_with(['.', '/', '$']) && !t.ends_with(".txt") && (t.contains("==") || t.contains(".git@"))
        })
        .count();
    (named > 0).then_some((Eco::Python, named))
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
pub(super) const NAMED_PREFETCHES: usize = 3;

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
    /// install`, `uv sync`, `go mod download`, `go get ./...`, `cargo fetch`, `bundle install`,
    /// `composer install`, `mvn dependency:go-offline`, `dotnet restore` (and `dotnet build` or
    /// `dotnet publish` without `--no-restore`, which restore first), or a project script
    /// named for it (`bin/installDeps.sh`). Each ecosystem counts on its own: a `bundle
    /// install` before the copy does not cache an `npm install` after it. Stages the target
    /// does not need, stages that `COPY --from` their dependencies out of another stage, and
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
    pub CopyAllBeforeDependencyInstall, DF301, "copy-all-before-dependency-install", Severity::Warning
}

/// Whether `inst` copies the whole build context.
pub(super) fn copies_whole_context(inst: &Instruction) -> bool {
    context_sources(inst)
        .iter()
        .any(|s| matches!(&**s, "." | "./" | "*" | "./*" | "./."))
}

/// The dependency manifest a command installs from, if it is a dependency install.
fn dependency_install(c: &Command) -> Option<&'static str> {
    let name = c.name()?;
    let sub = c.subcommand().map(|w| w.text.as_str());
    let pkg_args = c.args().iter().filter(|w| !w.text.starts_with('-')).count();
    Some(match (name, sub) {
        ("npm", Some("ci")) => "package.json and package-lock.json",
        ("npm", Some("install" | "i")) if pkg_args == 1 && !c.has_short_or_long('g', &["--global"]) => {
            "package.json and package-lock.json"
        }
        ("yarn", _) if crate::rules::pkg::yarn_command(c) == Some("install") => "package.json and yarn.lock",
        ("pnpm", Some("install" | "i")) if pkg_args == 1 => "package.json and pnpm-lock.yaml",
        (n, Some("install"))
            if n.starts_with("pip")
                && c.args()
                    .iter()
                    .any(|w| w.text == "-r" || w.text.starts_with("--requirement")) =>
        {
            "the requirements file"
        }
        ("poetry", Some("install")) => "pyproject.toml and poetry.lock",
        ("pipenv", Some("install" | "sync")) => "Pipfile and Pipfile.lock",
        ("uv", Some("sync")) => "pyproject.toml and uv.lock",
        ("go", Some("mod")) if c.args().iter().any(|w| w.text == "download") => "go.mod and go.sum",
        // `go get` of the module itself (`go get ./...`, `go get -d`), not of a named tool.
        ("go", Some("get"))
            if c.args()
                .iter()
                .skip(1)
                .filter(|w| !w.text.starts_with('-'))
                .all(|w| w.text.starts_with('.')) =>
        {
            "go.mod and go.sum"
        }
        ("dotnet", Some("restore")) => DOTNET,
        // `dotnet build` and `dotnet publish` restore first unless told not to.
        ("dotnet", Some("build" | "publish")) if !c.has_flag("--no-restore") => DOTNET,
        ("cargo", Some("fetch")) => "Cargo.toml and Cargo.lock",
        ("bundle", Some("install")) => "Gemfile and Gemfile.lock",
        ("composer", Some("install")) => "composer.json and composer.lock",
        ("mvn" | "mvnw" | "./mvnw", _) if c.args().iter().any(|w| w.text.starts_with("dependency:")) => "pom.xml",
        _ if is_install_deps_script(name) => "the dependency manifests the script reads",
        _ => return None,
    })
}

const DOTNET: &str = "the .csproj (and .sln) files";

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

impl Rule for CopyAllBeforeDependencyInstall {
    fn check(&self, ctx: &RuleContext<'_>, out: &mut Vec<Finding>) {
        for st in ctx.needed_stages() {
            let mut copy_all: Option<usize> = None;
            // Dependencies copied in from another stage: an install here only prunes or
            // links them (say less).
            let mut copied_from_stage = false;
            // The manifests whose install ran before the whole-context copy (one ecosystem's
            // install does not cache another's).
            let mut installed_before: Vec<&str> = Vec::new();
            'stage: for (i, inst) in ctx.stage_instructions(st.index) {
                if copy_all.is_none() && copies_whole_context(inst) {
                    copy_all = Some(i);
                    continue;
                }
                if matches!(inst.keyword, Keyword::Copy | Keyword::Add) && inst.flag("from").is_some() {
                    copied_from_stage = true;
                }
                if inst.keyword != Keyword::Run {
                    continue;
                }
                let cmds = &ctx.commands[i];
                let conditional = pkg::conditional_at(ctx, st.index, i);
                for (c, cond) in cmds.iter().zip(conditional) {
                    let Some(manifests) = dependency_install(c) else {
                        continue;
                    };
                    // An install that only some build arguments turn on.
                    if cond {
                        continue;
                    }
                    match copy_all {
                        None => installed_before.push(manifests),
                        Some(_) if installed_before.contains(&manifests) => {}
                        Some(ci) if !copied_from_stage => {
                            let cinst = &ctx.dockerfile.instructions[ci];
                            let what = pkg::is(c, "go", &["mod"]).then_some("go mod download").map_or_else(
                                || {
                                    c.effective()
                                        .iter()
                                        .take(2)
                                        .map(|w| w.text.as_str())
                                        .collect::<Vec<_>>()
                                        .join(" ")
                                },
                                str::to_string,
                            );
                            out.push(
                                Finding::new(&Self::META, ctx, i, c.span_through(1).unwrap_or_default(), format!("`{what}` runs after the whole context was copied, so any file change re-runs it"), format!("copy only {manifests} first, run `{what}`, then copy the rest of the source"))
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

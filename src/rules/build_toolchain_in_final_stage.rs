//! Rule DF105 build-toolchain-in-final-stage: one rule, documented by its `///` doc below (the user manual; `imgopt explain`).

use super::pkg::{self, Pm};
use super::{Finding, Rule, RuleContext};
use crate::diag::Severity;
use crate::estimate::heuristics;

crate::declare_rule! {
    /// ## What it does
    /// Checks for build tools installed in a stage that ships in the final image and not
    /// removed in the same `RUN`: compilers (`gcc`, `g++`, `clang`, `build-essential`,
    /// `build-base`, `gcc-c++`), language toolchains (`golang-go`, apk `go`, `rustc`,
    /// `cargo`), build systems (`make`, `cmake`, `autoconf`, `automake`, `libtool`, `maven`,
    /// `gradle`) and `-dev`/`-devel` packages, also when the final stage inherits them
    /// (`FROM base AS production`, where `base` installed them). It reports only application
    /// images: images that copy application files from the build context or from a build
    /// stage, or that are built on a language runtime image (python, node, php, ruby, golang,
    /// rust, a JDK). Base images (such as the official language images, which keep compilers
    /// on purpose) are left alone. `apk add --virtual .x ... && apk del .x`, `apt-get purge
    /// $buildDeps` and the `apt-mark auto` + `apt-get purge --auto-remove` pattern in the same
    /// `RUN` count as removed; a bare `apt-get autoremove` does not (it keeps packages
    /// installed by name). Packages in an apk group named as runtime dependencies
    /// (`--virtual .rundeps`) are kept on purpose and not reported. Compilers named on a full
    /// language image (`python:3.12`, `node:22`, `ruby:3.3`, `golang`, `rust`; not `-slim` or
    /// `-alpine`) are not reported either: those images are built on buildpack-deps, which
    /// already holds them, so the install adds nothing (its `-dev` packages still are).
    /// Nothing is reported on a Go, Rust, Maven or Gradle toolchain image (`golang:1.22-alpine`
    /// as the runtime): DF104 reports the image, and moving the build to a builder stage
    /// takes these tools out with it.
    ///
    /// Only images that run something are checked: the target's stage chain has `CMD`,
    /// `ENTRYPOINT`, `EXPOSE` or `HEALTHCHECK`, or installs a program a build stage of the
    /// file made (`COPY --from=build /usr/local/cargo/bin/app /usr/local/bin/`, a command
    /// given at `docker run`), and the target is not a development stage (`dev`, `build`,
    /// `test`, `validate`, ...). A JDK package (`java-17-openjdk-devel`) is left to DF107.
    ///
    /// Development environments are not checked either: images whose stage chain gives a user
    /// `sudo` (`useradd -G sudo`, a `NOPASSWD: ALL` sudoers line), an interactive shell as the
    /// command (`CMD ["/bin/bash"]`), single-stage files that set
    /// `RAILS_ENV`, `NODE_ENV` (or `RACK_ENV`, `APP_ENV`, `FLASK_ENV`, `MIX_ENV`) to
    /// `development` or `test`, images whose `CMD` or `ENTRYPOINT` runs a development server
    /// or watcher (`grunt dev`, `npm run dev`, `nodemon`, `flask run --debug`, `manage.py
    /// runserver`, `cargo watch`), Go or Rust toolchain images that copy the source and never
    /// build it (it is built when the container starts), images that install a browser
    /// driver only test suites use (`phantomjs`, `chromedriver`, `geckodriver`), and images
    /// that run a checkout mounted at run time (the command runs a program under the
    /// `WORKDIR`, or a runner such as `bundle exec` or `npm start` there, or the `WORKDIR` is a
    /// `VOLUME` and the command an interpreter, and the file puts nothing there but dependency
    /// manifests). Images whose command runs a test suite or a build script are CI steps.
    ///
    /// ## Why is this bad?
    /// A C toolchain with headers is one of the largest things an image can carry: the
    /// golang:1.25-bookworm gcc/g++/make layer is 92.5 MB compressed and node:22's compilers
    /// and `-dev` libraries layer 211.7 MB (docker-library/repo-info, 2026); rust:1-alpine's
    /// musl-dev/gcc layer is 75.1 MB. An alpine Python image with build deps was 842 MB where a
    /// slim one was 333 MB (safe-global/safe-config-service#221). The program needs the
    /// compiler only to build.
    ///
    /// ## Example
    /// ```dockerfile
    /// FROM python:3.12-slim
    /// RUN apt-get update && apt-get install -y --no-install-recommends gcc libpq-dev \
    ///  && rm -rf /var/lib/apt/lists/*
    /// COPY requirements.txt .
    /// RUN pip install --no-cache-dir -r requirements.txt
    /// ```
    ///
    /// Use instead:
    /// ```dockerfile
    /// FROM python:3.12-slim AS build
    /// RUN apt-get update && apt-get install -y --no-install-recommends gcc libpq-dev
    /// COPY requirements.txt .
    /// RUN pip wheel --no-cache-dir --wheel-dir /wheels -r requirements.txt
    ///
    /// FROM python:3.12-slim
    /// RUN apt-get update && apt-get install -y --no-install-recommends libpq5 \
    ///  && rm -rf /var/lib/apt/lists/*
    /// COPY --from=build /wheels /wheels
    /// RUN pip install --no-cache-dir /wheels/*
    /// ```
    ///
    /// ## References
    /// - Docker docs, "Multi-stage builds" (<https://docs.docker.com/build/building/multi-stage/>)
    /// - docker-library/repo-info, golang and node image layers (<https://github.com/docker-library/repo-info>)
    pub BuildToolchainInFinalStage, DF105, "build-toolchain-in-final-stage", Severity::Warning
}

fn is_toolchain(name: &str) -> bool {
    matches!(
        name,
        "gcc"
            | "g++"
            | "gcc-c++"
            | "clang"
            | "build-essential"
            | "build-base"
            | "cmake"
            | "autoconf"
            | "automake"
            | "libtool"
            | "make"
            | "golang-go"
            | "golang"
            | "go"
            | "rustc"
            | "cargo"
            | "maven"
            | "gradle"
    ) || name.starts_with("gcc-") && name[4..].chars().all(|c| c.is_ascii_digit())
        || name.starts_with("g++-") && name[4..].chars().all(|c| c.is_ascii_digit())
}

fn is_dev(name: &str) -> bool {
    (name.ends_with("-dev") || name.ends_with("-devel")) && name.len() > 4
}

fn is_compiler(name: &str) -> bool {
    matches!(
        name,
        "gcc" | "g++" | "gcc-c++" | "clang" | "build-essential" | "build-base"
    )
}

/// Whether an apk `--virtual` group's name declares runtime dependencies (`.rundeps`,
/// `.composer-rundeps`, `.run-deps`, `.runtime-deps`), the docker-library convention for
/// packages an image keeps on purpose.
fn declares_runtime(group: &str) -> bool {
    let g = group.to_ascii_lowercase();
    ["rundeps", "run-deps", "runtime-deps", "runtimedeps"]
        .iter()
        .any(|s| g.ends_with(s))
}

/// Whether `cmds` remove packages without naming them: `apt-get purge -y $buildDeps` (a
/// variable), or `apt-mark auto` followed by an auto-remove, which removes every package
/// the `RUN` installed. A bare `apt-get autoremove` removes only what nothing depends on, and
/// keeps packages installed by name.
fn removes_build_deps_wholesale(cmds: &[crate::dockerfile::shell::Command]) -> bool {
    // `apt-mark auto '.*'`, also through `xargs apt-mark auto`.
    let marks_auto = cmds.iter().any(|c| {
        c.words
            .windows(2)
            .any(|p| p[0].text.ends_with("apt-mark") && p[1].text == "auto")
    });
    cmds.iter().any(|c| {
        let Some((_, sub)) = pkg::pm_of(c) else { return false };
        if !matches!(sub, "purge" | "remove" | "erase" | "autoremove") {
            return false;
        }
        let operands: Vec<&str> = c
            .args()
            .iter()
            .filter(|w| !w.text.starts_with('-'))
            .skip(1)
            .map(|w| w.text.as_str())
            .collect();
        operands.iter().any(|w| w.contains('$')) || marks_auto
    })
}

/// Whether the target is an application image rather than a base image: the shipping stages
/// copy application files from the build context (anything but entrypoint scripts and
/// config snippets) or from a build stage of the file, or it is built on a language runtime
/// image (python, node, php, ruby, golang, rust, a JDK), which base images are not.
pub(super) fn application_image(ctx: &RuleContext<'_>) -> bool {
    let on_runtime = crate::catalog::ImageRef::parse(ctx.root_base(ctx.target)).is_some_and(|r| {
        r.repo == "ruby"
            || r.repo == "openjdk"
            || crate::catalog::classify(&r).is_some_and(|(f, _)| {
                use crate::catalog::Family;
                matches!(
                    f,
                    Family::Python
                        | Family::Node
                        | Family::Php
                        | Family::Golang
                        | Family::Rust
                        | Family::EclipseTemurin
                )
            })
    });
    let from_stage = ctx
        .stages
        .iter()
        .filter(|s| s.ships)
        .flat_map(|s| ctx.stage_instructions(s.index))
        .any(|(_, inst)| {
            inst.flag("from").and_then(|f| f.value()).is_some_and(|v| {
                ctx.stages
                    .iter()
                    .any(|s| s.name.as_deref() == Some(&v.to_ascii_lowercase()))
            })
        });
    on_runtime || from_stage || ctx.copies_app_sources()
}

impl Rule for BuildToolchainInFinalStage {
    fn check(&self, ctx: &RuleContext<'_>, out: &mut Vec<Finding>) {
        if !ctx.runtime_image() || ctx.development_environment() {
            return;
        }
        if !application_image(ctx) {
            return;
        }
        for (s, i, cmds) in pkg::shipping_runs(ctx) {
            // The full language images (buildpack-deps) already ship gcc: removing it from
            // this install would not shrink the image; DF103 reports the base instead.
            let base_ref = crate::catalog::ImageRef::parse(ctx.root_base(s));
            // A Go, Rust or Maven/Gradle toolchain image as the runtime: the build tools come
            // with it, and DF104 reports the image itself.
            if base_ref.as_ref().is_some_and(|r| {
                r.registry.is_none() && matches!(r.repo.as_str(), "golang" | "rust" | "maven" | "gradle")
            }) {
                continue;
            }
            let full_ruby = base_ref.as_ref().is_some_and(|r| {
                r.registry.is_none()
                    && r.repo == "ruby"
                    && r.tag
                        .as_deref()
                        .is_none_or(|t| !t.contains("slim") && !t.contains("alpine"))
            });
            let base_has_compiler = full_ruby
                || base_ref
                    .and_then(|r| crate::catalog::classify(&r))
                    .is_some_and(|(f, v)| {
                        v == crate::catalog::Variant::Full
                            && matches!(
                                f,
                                crate::catalog::Family::Python
                                    | crate::catalog::Family::Node
                                    | crate::catalog::Family::Golang
                                    | crate::catalog::Family::Rust
                            )
                    });
            let removed = pkg::removes_packages(cmds);
            for inst in pkg::installs(cmds) {
                if let Some(v) = pkg::apk_virtual(inst.cmd)
                    && (removed.iter().any(|r| r == v) || declares_runtime(v))
                {
                    continue;
                }
                if inst.pm != Pm::Apk && removes_build_deps_wholesale(cmds) {
                    // `apt-get purge $buildDeps`, or the `apt-mark auto` + `--auto-remove`
                    // pattern, in the same RUN: assume the build deps go.
                    continue;
                }
                // Each package word with the names it stands for: a list from a build argument
                // or ENV (`apk add ${ALPINE_LIB_DEPS}` with `ARG ALPINE_LIB_DEPS="zlib-dev
                // icu-dev"`) is its value's words.
                let named: Vec<(&crate::dockerfile::shell::Word, String)> = inst
                    .packages
                    .iter()
                    .copied()
                    .flat_map(|w| {
                        // docker-library/php keeps `$PHPIZE_DEPS` (autoconf, gcc, make) named
                        // in its images on purpose: `docker-php-ext-install` builds extensions
                        // with them (<https://github.com/docker-library/docs/tree/master/php#how-to-install-more-php-extensions>).
                        let names: Vec<String> = if w.text.contains("PHPIZE_DEPS") {
                            Vec::new()
                        } else if w.text.contains('$') {
                            ctx.expand_at(s, i, &w.text)
                                .split_whitespace()
                                .filter(|n| !n.contains('$'))
                                .map(str::to_string)
                                .collect()
                        } else {
                            vec![w.text.clone()]
                        };
                        names.into_iter().map(move |n| (w, n))
                    })
                    .collect();
                let tools: Vec<(&crate::dockerfile::shell::Word, &str)> = named
                    .iter()
                    .map(|(w, n)| (*w, pkg::package_name(n)))
                    .filter(|&(_, n)| {
                        // A JDK package (`java-17-openjdk-devel`) is DF107's.
                        (is_toolchain(n) || is_dev(n) && !super::jdk_as_runtime::jdk_package(n))
                            && !removed.iter().any(|r| r == n)
                            // The full language images (buildpack-deps) already hold the
                            // compilers: naming them again adds nothing.
                            && !(base_has_compiler && is_compiler(n))
                    })
                    .collect();
                if tools.is_empty() {
                    continue;
                }
                let names: Vec<&str> = tools.iter().map(|(_, n)| *n).collect();
                let compiler = names.iter().any(|n| is_compiler(n));
                let span = crate::dockerfile::Span::new(tools[0].0.span.start(), tools[tools.len() - 1].0.span.end());
                let estimate = match (compiler && !base_has_compiler, inst.pm) {
                    (true, Pm::Apk) => Some(heuristics::apk_toolchain()),
                    (true, _) => Some(heuristics::apt_toolchain()),
                    _ => None,
                };
                let list = names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ");
                let mut f = Finding::new(
                    &Self::META,
                    ctx,
                    i,
                    span,
                    format!("build tools ship in the final image: {list}"),
                    "install them in a builder stage and `COPY --from` only the build output (for `-dev` packages, install the runtime library instead, e.g. `libpq5` for `libpq-dev`)",
                )
                .estimate(estimate);
                if base_has_compiler {
                    f = f.note("no estimate: the full base image already contains a compiler (see DF103 for the base)");
                } else if !compiler {
                    f = f.note("no estimate: the size of these packages varies too much (a C toolchain is 92.5–211.7 MB compressed)");
                }
                out.push(f);
            }
        }
    }
}

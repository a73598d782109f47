//! Rule DF105 build-toolchain-in-final-stage: one rule, documented by its `///` doc below (the user manual; `imgopt explain`).

use super::context::context_sources;
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
    /// (`FROM base AS production`, where `base` installed them). It reports only images that copy application files from
    /// the build context: base images (such as the official language images, which keep
    /// compilers on purpose) are left alone. `apk add --virtual .x ... && apk del .x` and
    /// `apt-get purge` in the same `RUN` count as removed.
    ///
    /// Only images that run something are checked: the target's stage chain has `CMD` or
    /// `ENTRYPOINT` and the target is not a development stage (`dev`, `build`, `test`,
    /// `validate`, ...).
    ///
    /// Development environments are not checked either: images whose stage chain gives a user
    /// `sudo` (`useradd -G sudo`, a `NOPASSWD` sudoers line), and single-stage files that set
    /// `RAILS_ENV`, `NODE_ENV` (or `RACK_ENV`, `APP_ENV`, `FLASK_ENV`, `MIX_ENV`) to
    /// `development` or `test`.
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

/// Whether the shipping stages copy application files from the build context (anything but
/// entrypoint scripts and config snippets).
pub(super) fn copies_app_sources(ctx: &RuleContext<'_>) -> bool {
    ctx.stages
        .iter()
        .filter(|s| s.ships)
        .flat_map(|s| ctx.stage_instructions(s.index))
        .any(|(_, inst)| {
            context_sources(inst).iter().any(|s| {
                let base = s.rsplit('/').next().unwrap_or(s);
                !(s.contains("://")
                    || base.ends_with(".sh")
                    || base.contains("entrypoint")
                    || base.ends_with(".conf")
                    || base.ends_with(".patch")
                    || base.ends_with(".ini")
                    || base.ends_with(".cfg"))
            })
        })
}

impl Rule for BuildToolchainInFinalStage {
    fn check(&self, ctx: &RuleContext<'_>, out: &mut Vec<Finding>) {
        if !ctx.runtime || ctx.development_environment() {
            return;
        }
        if !copies_app_sources(ctx) {
            return;
        }
        for (s, i, cmds) in pkg::shipping_runs(ctx) {
            // The full language images (buildpack-deps) already ship gcc: removing it from
            // this install would not shrink the image; DF103 reports the base instead.
            let base_has_compiler = crate::catalog::ImageRef::parse(ctx.root_base(s))
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
                    && removed.iter().any(|r| r == v)
                {
                    continue;
                }
                if removed.iter().any(|r| r == "*") && inst.pm != Pm::Apk {
                    // apt-get purge / dnf remove in the same RUN: assume the build deps go.
                    continue;
                }
                let tools: Vec<&crate::dockerfile::shell::Word> = inst
                    .packages
                    .iter()
                    .copied()
                    .filter(|w| {
                        let n = pkg::package_name(&w.text);
                        (is_toolchain(n) || is_dev(n)) && !removed.iter().any(|r| r == n)
                    })
                    .collect();
                if tools.is_empty() {
                    continue;
                }
                let names: Vec<&str> = tools.iter().map(|w| pkg::package_name(&w.text)).collect();
                let compiler = names.iter().any(|n| is_compiler(n));
                let span = crate::dockerfile::Span::new(tools[0].span.start(), tools[tools.len() - 1].span.end());
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

//! The rewrite itself: from the shipped stage's facts to a build stage (the original stage,
//! edited by span) and a runtime stage (generated), with a change per decision, the risks and
//! the predicted saving.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use super::context::ContextFacts;
use super::detect::{Ecosystem, StageFacts, Tool};
use super::edits::{self, Edit};
use super::libs::{self, Distro};
use super::runtime::{self, Needs, Pm, Runtime};
use super::{Change, ChangeKind, Options, Risk, RiskKind, Target};
use crate::catalog::{self, Family, ImageRef, Variant};
use crate::dockerfile::{Dockerfile, Instruction, Keyword, Stages};
use crate::estimate::{Basis, Estimate, heuristics};

/// A rewrite that was made.
pub struct Out {
    pub text: String,
    pub changes: Vec<Change>,
    pub risks: Vec<Risk>,
    pub estimate: Estimate,
    pub ecosystem: Option<Ecosystem>,
    pub runtime_base: Option<String>,
    pub notes: Vec<String>,
}

/// Why the file stays as it is.
pub struct Skip {
    pub ecosystem: Option<Ecosystem>,
    pub why: String,
}

fn skip(ecosystem: Option<Ecosystem>, why: impl Into<String>) -> Skip {
    Skip {
        ecosystem,
        why: why.into(),
    }
}

fn change(kind: ChangeKind, message: impl Into<String>, lines: Option<(usize, usize)>) -> Change {
    Change {
        kind,
        message: message.into(),
        start_line: lines.map(|l| l.0),
        end_line: lines.map(|l| l.1),
    }
}

fn risk(kind: RiskKind, message: impl Into<String>) -> Risk {
    Risk {
        kind,
        message: message.into(),
    }
}

/// The text of an instruction as written (continuations and heredoc bodies included).
fn text_of<'a>(src: &'a str, i: &Instruction) -> &'a str {
    src.get(i.span.range()).unwrap_or("")
}

/// The artefacts to copy: (path in the build stage, path in the runtime stage).
type Copies = Vec<(String, String)>;

const SHELLS: &[&str] = &["sh", "bash", "/bin/sh", "/bin/bash", "ash", "dash"];

fn basename(p: &str) -> &str {
    p.rsplit('/').next().unwrap_or(p)
}

fn join(dir: &str, path: &str) -> String {
    if path.starts_with('/') {
        path.to_string()
    } else {
        format!("{}/{}", dir.trim_end_matches('/'), path.trim_start_matches("./"))
    }
}

/// The binary a compiled build produces and the container runs.
fn binary(f: &StageFacts, eco: Ecosystem, ctx: &ContextFacts) -> Result<(String, String), String> {
    let wd = f.workdir.clone().unwrap_or_else(|| "/".to_string());
    let mut program = f.start.program.clone();
    if program
        .as_deref()
        .is_some_and(|p| SHELLS.contains(&p) || p.ends_with(".sh"))
    {
        program = None;
    }
    let outputs: Vec<&str> = f.builds_of(eco).filter_map(|b| b.output.as_deref()).collect();
    let on_path = |p: &str| {
        ["/usr/local/bin/", "/usr/bin/", "/bin/", "/usr/local/sbin/"]
            .iter()
            .any(|d| p.starts_with(d))
    };
    if let Some(p) = program.as_deref().filter(|p| !p.contains('$')) {
        if p.contains('/') {
            let abs = join(&wd, p);
            return Ok((abs.clone(), abs));
        }
        if let Some(o) = outputs.iter().find(|o| basename(o) == p) {
            let dest = if on_path(o) {
                (*o).to_string()
            } else {
                format!("/usr/local/bin/{p}")
            };
            return Ok(((*o).to_string(), dest));
        }
        let golang = f.base_ref.as_ref().is_some_and(|r| r.repo == "golang");
        let rust = f.base_ref.as_ref().is_some_and(|r| r.repo == "rust");
        for b in f.builds_of(eco) {
            let from = match b.tool {
                Tool::GoInstall if golang => Some(format!("/go/bin/{p}")),
                Tool::GoInstall => Some(format!("/root/go/bin/{p}")),
                Tool::CargoInstall if rust => Some(format!("/usr/local/cargo/bin/{p}")),
                Tool::CargoInstall => Some(format!("/root/.cargo/bin/{p}")),
                Tool::CargoBuild => Some(cargo_out(b.workdir.as_str(), b.release, b.musl, p)),
                _ => None,
            };
            if let Some(from) = from {
                return Ok((from, format!("/usr/local/bin/{p}")));
            }
        }
    }
    if outputs.len() == 1 && program.is_none() {
        return Ok((outputs[0].to_string(), outputs[0].to_string()));
    }
    if eco == Ecosystem::Rust
        && program.is_none()
        && let Some(name) = ctx.cargo_bins.first().or(ctx.cargo_name.as_ref())
        && let Some(b) = f.builds.iter().find(|b| b.tool == Tool::CargoBuild)
    {
        let from = cargo_out(&b.workdir, b.release, b.musl, name);
        return Ok((from, format!("/usr/local/bin/{name}")));
    }
    Err("it cannot tell which file the build writes and the container runs; give the build an explicit output (`-o /app/NAME`) and start it with an exec-form CMD naming that path".to_string())
}

fn cargo_out(wd: &str, release: bool, musl: bool, name: &str) -> String {
    let profile = if release { "release" } else { "debug" };
    let triple = if musl { "x86_64-unknown-linux-musl/" } else { "" };
    format!("{}/target/{triple}{profile}/{name}", wd.trim_end_matches('/'))
}

/// Runtime packages in the runtime base's package names, and `-dev` packages with no known
/// library.
fn runtime_packages(
    f: &StageFacts,
    eco: Ecosystem,
    ctx: &ContextFacts,
    distro: Distro,
) -> (BTreeSet<String>, Vec<String>) {
    let mut out = BTreeSet::new();
    let mut unknown = Vec::new();
    let installed: &[String] = match distro {
        Distro::Debian => &f.apt,
        Distro::Alpine => &f.apk,
    };
    for p in installed {
        if libs::is_dev(p) {
            match libs::runtime_for(p, distro) {
                Some(rt) => out.extend(rt.iter().map(|s| (*s).to_string())),
                None => unknown.push(p.clone()),
            }
        } else if !libs::is_build_only(p) {
            out.insert(p.clone());
        }
    }
    for t in &f.healthcheck_tools {
        out.insert(t.clone());
    }
    if eco == Ecosystem::Python {
        // Source-built database drivers link the client library the full image ships
        // (https://www.psycopg.org/docs/install.html#runtime-requirements;
        // https://github.com/PyMySQL/mysqlclient#linux).
        let reqs = &ctx.python_requirements;
        let (pq, my, odbc) = match distro {
            Distro::Debian => ("libpq5", "libmariadb3", "unixodbc"),
            Distro::Alpine => ("libpq", "mariadb-connector-c", "unixodbc"),
        };
        if reqs.contains("psycopg2") || reqs.contains("psycopg") || reqs.contains("psycopg-c") {
            out.insert(pq.to_string());
        }
        if reqs.contains("mysqlclient") {
            out.insert(my.to_string());
        }
        if reqs.contains("pyodbc") {
            out.insert(odbc.to_string());
        }
    }
    (out, unknown)
}

fn install_line(pm: Pm, pkgs: &BTreeSet<String>) -> Option<String> {
    if pkgs.is_empty() {
        return None;
    }
    let list: Vec<&str> = pkgs.iter().map(String::as_str).collect();
    let list = list.join(" ");
    match pm {
        Pm::Apt => Some(format!(
            "RUN apt-get update && apt-get install -y --no-install-recommends {list} && rm -rf /var/lib/apt/lists/*\n"
        )),
        Pm::Apk => Some(format!("RUN apk add --no-cache {list}\n")),
        Pm::None => None,
    }
}

fn entry(r: &ImageRef) -> Option<&'static catalog::Entry> {
    let (fam, var) = catalog::classify(r)?;
    catalog::lookup(fam, var).or_else(|| match fam {
        // A language image's other variants: the full one is the closest published figure.
        Family::Golang | Family::Rust | Family::Node | Family::Python => catalog::lookup(fam, Variant::Full),
        _ => None,
    })
}

/// The predicted saving: the base swap from the catalog plus the toolchain packages the
/// build installed (heuristic), with notes naming every figure.
fn estimate(f: &StageFacts, eco: Ecosystem, rt: &Runtime, notes: &mut Vec<String>) -> Estimate {
    let mut low = 0u64;
    let mut high = 0u64;
    let mut c = Some((0u64, 0u64));
    let mut basis = Basis::Catalog;
    let from = f.base_ref.as_ref().and_then(entry).or_else(|| {
        (eco == Ecosystem::Java)
            .then(|| catalog::lookup(Family::EclipseTemurin, Variant::Jdk))
            .flatten()
    });
    let to = ImageRef::parse(&rt.image).as_ref().and_then(entry);
    let same = rt.image == f.base;
    match (from, to) {
        _ if same => notes.push(format!(
            "estimate: the runtime keeps {}; only build-time packages are left behind",
            f.base
        )),
        (Some(a), Some(b)) => {
            if let Some(e) = catalog::swap_saving(a, b) {
                low += e.low_bytes.0;
                high += e.high_bytes.0;
                c = match (c, e.compressed_low_bytes, e.compressed_high_bytes) {
                    (Some((l, h)), Some(x), Some(y)) => Some((l + x.0, h + y.0)),
                    _ => None,
                };
                notes.push(format!(
                    "estimate: base {} → {} from the catalog: {} → {}",
                    f.base,
                    rt.image,
                    catalog::cite(a),
                    catalog::cite(b)
                ));
            }
        }
        (a, b) => {
            c = None;
            basis = Basis::Heuristic;
            let missing = if a.is_none() { &f.base } else { &rt.image };
            notes.push(format!(
                "estimate: the catalog has no size for {missing}; the base swap is not counted"
            ));
            let _ = b;
        }
    }
    let apt_tool = f.apt.iter().any(|p| libs::is_toolchain(p));
    let apk_tool = f.apk.iter().any(|p| libs::is_toolchain(p));
    for (yes, e, what) in [
        (
            apt_tool,
            heuristics::apt_toolchain(),
            "toolchain packages installed with apt",
        ),
        (
            apk_tool,
            heuristics::apk_toolchain(),
            "toolchain packages installed with apk",
        ),
    ] {
        if yes {
            low += e.low_bytes.0;
            high += e.high_bytes.0;
            c = None;
            basis = Basis::Heuristic;
            notes.push(format!("estimate: {what} stay in the build stage: {e}"));
        }
    }
    let mut e = Estimate::uncompressed(low, high, basis);
    if let Some((l, h)) = c {
        e = e.with_compressed(l, h);
    }
    e
}

#[allow(clippy::unnecessary_wraps)] // the optional line range of a change, always known here
fn lines(i: &Instruction) -> Option<(usize, usize)> {
    Some((i.start_line, i.end_line))
}

/// A stage name not yet used.
#[allow(clippy::maybe_infinite_iter)] // the search ends within stages.len() + 1 names
fn unique_name(stages: &Stages, want: &str) -> String {
    let taken = |n: &str| stages.stages.iter().any(|s| s.name.as_deref() == Some(n));
    if !taken(want) {
        return want.to_string();
    }
    (2..)
        .map(|k| format!("{want}-{k}"))
        .find(|n| !taken(n))
        .unwrap_or_else(|| want.to_string())
}

/// A multi-stage file whose shipped stage runs on a full language image: swap it for the
/// slim variant of the same version.
fn base_swap(src: &str, df: &Dockerfile<'_>, f: &StageFacts, from: &Instruction, opts: &Options) -> Option<Out> {
    if !matches!(opts.target, Target::Auto | Target::Slim) {
        return None;
    }
    let r = f.base_ref.as_ref()?;
    let (fam, var) = catalog::classify(r)?;
    let tag = r.tag.as_deref()?;
    if r.digest.is_some() {
        return None;
    }
    let new_tag = match (fam, var) {
        (Family::Node, Variant::Full) => format!("{}-slim", runtime::tag_version(tag, 1)?),
        (Family::Python, Variant::Full) => {
            format!("{}-slim", runtime::tag_version(tag, 2).filter(|v| v.contains('.'))?)
        }
        (Family::EclipseTemurin, Variant::Jdk) => format!("{}-jre", runtime::tag_version(tag, 1)?),
        _ => return None,
    };
    let image = format!("{}:{new_tag}", r.full_repo());
    let arg = from.args.iter().find(|a| a.value.text() == f.base.as_str())?;
    let text = edits::apply(
        src,
        vec![Edit::replace(arg.span.start(), arg.span.end(), image.clone())],
    );
    let rt = Runtime {
        image: image.clone(),
        pm: Pm::Apt,
        shell: true,
        libc: "glibc",
        user: None,
        why: String::new(),
    };
    let mut notes = Vec::new();
    let est = estimate(f, Ecosystem::Node, &rt, &mut notes);
    let mut risks = Vec::new();
    if fam == Family::Python {
        risks.push(risk(
            RiskKind::NativeExtensions,
            "packages copied from another stage that link libraries of the full image (libpq, libxml2, …) fail to import on -slim; install their runtime libraries in this stage",
        ));
    }
    if fam == Family::EclipseTemurin {
        risks.push(risk(
            RiskKind::NoShell,
            "a JRE has no javac, jcmd or jlink; a start script that calls them fails",
        ));
    }
    let _ = df;
    Some(Out {
        text,
        changes: vec![change(
            ChangeKind::BaseSwap,
            format!(
                "the shipped stage only copies built files, so it runs on {image} instead of {}",
                f.base
            ),
            lines(from),
        )],
        risks,
        estimate: est,
        ecosystem: None,
        runtime_base: Some(image),
        notes,
    })
}

/// Plans and writes the rewrite.
#[allow(clippy::too_many_lines)]
pub fn plan(src: &str, df: &Dockerfile<'_>, stages: &Stages, ctx: &ContextFacts, opts: &Options) -> Result<Out, Skip> {
    let stage = &stages.stages[stages.target];
    let from = &df.instructions[stage.instructions.start];
    if let Some(b) = stage.base_stage {
        return Err(skip(
            None,
            format!(
                "the shipped stage builds on stage {b} of this file; only a stage on an external base is rewritten"
            ),
        ));
    }
    let f = StageFacts::read(src, df, stage);
    let Some(base) = f.base_ref.clone() else {
        return Err(skip(
            None,
            format!("the base `{}` is not a plain image reference", stage.base),
        ));
    };
    if base.is_scratch() {
        return Err(skip(None, "the shipped stage is already built on scratch"));
    }
    let Some(eco) = f.ecosystem(ctx) else {
        let copies_from_stage = stage.dependencies.iter().any(|d| d.stage.is_some());
        if copies_from_stage && let Some(out) = base_swap(src, df, &f, from, opts) {
            return Ok(out);
        }
        if copies_from_stage {
            return Err(skip(
                None,
                "the shipped stage already copies what an earlier stage built and has no build step of its own",
            ));
        }
        return Err(skip(
            None,
            "no build step of a known ecosystem (go, cargo, gcc/make, npm/yarn/pnpm, pip/poetry/uv, maven/gradle, dotnet publish) in the shipped stage",
        ));
    };
    let e = Some(eco);
    if f.workdir_has_var {
        return Err(skip(e, "a WORKDIR uses a variable, so artefact paths cannot be known"));
    }
    let mut changes = Vec::new();
    let mut risks = Vec::new();
    let mut notes = Vec::new();
    let wd = f.workdir.clone();
    let stage_distro = if f.apk.is_empty() && !f.apt.is_empty() {
        Some(Distro::Debian)
    } else if !f.apk.is_empty() {
        Some(Distro::Alpine)
    } else {
        None
    };
    // What the start needs.
    let program_is_shell = f.start.program.as_deref().is_some_and(|p| SHELLS.contains(&p));
    let needs_shell = f.start.shell_form || f.start.script.is_some() || program_is_shell;
    let hc_shell = f.moved.iter().any(|&i| {
        df.instructions[i].keyword == Keyword::Healthcheck && !df.instructions[i].json && {
            let t = df.instructions[i].original.text();
            !t.to_ascii_uppercase().contains("NONE")
        }
    });
    let (pkgs_probe, _) = runtime_packages(&f, eco, ctx, stage_distro.unwrap_or(Distro::Debian));
    let needs_pkgs = pkgs_probe.iter().any(|p| p != "ca-certificates" && p != "tzdata");
    let mut needs = Needs {
        shell: needs_shell || hc_shell,
        packages: needs_pkgs,
        static_binary: false,
    };
    // Static or not.
    let mut cgo_edit: Option<usize> = None;
    match eco {
        Ecosystem::Go => {
            let shell_base = opts.target == Target::Auto && (needs.shell || needs.packages);
            match f.cgo {
                Some(false) => needs.static_binary = true,
                Some(true) => {}
                None if ctx.go_uses_cgo => {}
                None if matches!(opts.target, Target::MultiStage | Target::Slim) || shell_base => {}
                None => {
                    let at = f
                        .builds
                        .iter()
                        .find(|b| matches!(b.tool, Tool::GoBuild | Tool::GoInstall))
                        .map(|b| (b.program_at, b.instruction));
                    if let Some((at, instr)) = at {
                        needs.static_binary = true;
                        cgo_edit = Some(at);
                        let i = &df.instructions[instr];
                        changes.push(change(
                            ChangeKind::StaticBuild,
                            "`CGO_ENABLED=0` before `go build`: a pure-Go static binary needs no C library, so it runs on a base without one",
                            lines(i),
                        ));
                        risks.push(risk(
                            RiskKind::CgoDisabled,
                            if ctx.go_sources_seen {
                                "no Go file in the context imports \"C\"; with cgo off, name lookups use Go's own resolver (no nsswitch.conf), and a package that needs cgo fails the build loudly"
                            } else {
                                "the Go sources were not seen (no go.mod in the context): a program that imports \"C\" no longer builds; name lookups use Go's own resolver"
                            },
                        ));
                    }
                }
            }
        }
        Ecosystem::Rust => needs.static_binary = f.builds.iter().any(|b| b.musl),
        _ => {}
    }
    let rt = runtime::choose(eco, opts.target, &base, &f.base, needs).map_err(|why| skip(e, why))?;
    let mut rt = rt;
    if eco == Ecosystem::Dotnet {
        let web = ctx.csproj_web.unwrap_or(true);
        let kind = if web { "aspnet" } else { "runtime" };
        rt.image = rt.image.replace("{kind}", kind);
        rt.why = rt.why.replace("{kind}", kind);
        if ctx.csproj_web.is_none() {
            risks.push(risk(
                RiskKind::RuntimeGuess,
                "no *.csproj in the context: dotnet/aspnet (which also runs console apps) was chosen",
            ));
        }
    }
    // Nothing gained: the same base, and no build-only packages to leave behind.
    let build_only = f.apt.iter().chain(&f.apk).any(|p| libs::is_build_only(p));
    if rt.image == f.base && !build_only {
        return Err(skip(
            e,
            format!(
                "the shipped stage already runs on {}, with no build-only packages to leave behind",
                f.base
            ),
        ));
    }
    let rt_distro = match rt.pm {
        Pm::Apt => Some(Distro::Debian),
        Pm::Apk => Some(Distro::Alpine),
        Pm::None => None,
    };
    // Runtime packages.
    let (mut pkgs, unknown_dev) = match (stage_distro, rt_distro) {
        (Some(s), Some(r)) if s == r => runtime_packages(&f, eco, ctx, r),
        (None, Some(r)) => runtime_packages(&f, eco, ctx, r),
        (Some(s), _) => {
            let (mut p, u) = runtime_packages(&f, eco, ctx, s);
            if rt.pm == Pm::None {
                // Distroless ships CA certificates and tzdata; scratch gets them copied below.
                p.retain(|p| p != "ca-certificates" && p != "tzdata");
            }
            if !p.is_empty() {
                risks.push(risk(
                    RiskKind::MissingRuntimePackages,
                    format!(
                        "{} cannot install {} (installed by the original stage, or needed at run time); the app may miss them",
                        rt.image,
                        p.iter().cloned().collect::<Vec<_>>().join(", ")
                    ),
                ));
            }
            (BTreeSet::new(), u)
        }
        (None, None) => {
            let (p, u) = runtime_packages(&f, eco, ctx, Distro::Debian);
            let missing: Vec<String> = p
                .into_iter()
                .filter(|p| p != "ca-certificates" && p != "tzdata")
                .collect();
            if !missing.is_empty() {
                risks.push(risk(
                    RiskKind::MissingRuntimePackages,
                    format!("{} has no package manager for {}", rt.image, missing.join(", ")),
                ));
            }
            (BTreeSet::new(), u)
        }
    };
    if !unknown_dev.is_empty() {
        risks.push(risk(
            RiskKind::MissingRuntimeLibrary,
            format!(
                "no runtime package is known for {}; if the app links them it fails with `cannot open shared object file`",
                unknown_dev.join(", ")
            ),
        ));
    }
    if rt.pm == Pm::Apt && eco.is_native() && f.has_ca_certs {
        pkgs.insert("ca-certificates".to_string());
    }
    // Artefacts.
    let mut copies: Copies = Vec::new();
    let mut prune: Option<String> = None;
    let app_dir = wd.as_deref().filter(|d| *d != "/");
    match eco {
        Ecosystem::Go | Ecosystem::Rust | Ecosystem::C | Ecosystem::Cpp => {
            if f.make_install {
                return Err(skip(
                    e,
                    "`make install` spreads files over the filesystem, so the files to copy cannot be told apart from the toolchain",
                ));
            }
            let (from_path, to_path) = binary(&f, eco, ctx).map_err(|why| skip(e, why))?;
            copies.push((from_path, to_path));
            if f.context_copies.iter().any(|&i| {
                df.instructions[i]
                    .values()
                    .iter()
                    .rev()
                    .skip(1)
                    .any(|v| v == "." || v == "./")
            }) {
                risks.push(risk(
                    RiskKind::RuntimeFiles,
                    "only the binary is copied: files the program reads at run time from the build context (templates, static assets, config) must be copied too",
                ));
            }
        }
        Ecosystem::Node => {
            let Some(dir) = app_dir else {
                return Err(skip(
                    e,
                    "the app has no WORKDIR, so its folder and node_modules cannot be told apart from the system",
                ));
            };
            copies.push((dir.to_string(), dir.to_string()));
            let prod = f.builds.iter().any(|b| b.tool.is_node() && b.flag)
                || f.arg_env
                    .iter()
                    .any(|&i| df.instructions[i].original.text().contains("NODE_ENV=production"));
            let start_uses_dev = ctx.npm_start.as_deref().is_some_and(|s| {
                ctx.npm_dev_deps.iter().any(|d| {
                    s.split(|c: char| c.is_whitespace() || c == '&' || c == ';')
                        .any(|w| w == d)
                })
            });
            if !prod && !start_uses_dev {
                let tool = f.builds.iter().find(|b| b.tool.is_node()).map(|b| b.tool);
                prune = match tool {
                    Some(Tool::Yarn) => {
                        Some("RUN yarn install --production --ignore-scripts --prefer-offline\n".to_string())
                    }
                    Some(Tool::Pnpm) => Some("RUN pnpm prune --prod\n".to_string()),
                    _ => Some("RUN npm prune --omit=dev\n".to_string()),
                };
                risks.push(risk(
                    RiskKind::DevDependenciesPruned,
                    "devDependencies are removed before the copy; a start script that needs one (nodemon, ts-node) fails",
                ));
            } else if start_uses_dev {
                notes.push("devDependencies kept: the start script uses one".to_string());
            }
        }
        Ecosystem::Python => {
            let minor = base
                .tag
                .as_deref()
                .and_then(|t| runtime::tag_version(t, 2))
                .unwrap_or_default();
            let sp = format!("/usr/local/lib/python{minor}/site-packages");
            copies.push((sp.clone(), sp));
            copies.push(("/usr/local/bin".to_string(), "/usr/local/bin".to_string()));
            if f.builds.iter().any(|b| b.tool == Tool::Pip && b.flag) {
                copies.push(("/root/.local".to_string(), "/root/.local".to_string()));
            }
            if let Some(dir) = app_dir {
                copies.push((dir.to_string(), dir.to_string()));
            }
            risks.push(risk(
                RiskKind::NativeExtensions,
                format!(
                    "compiled packages built against libraries of {} fail to import on {} unless their runtime libraries are installed{}",
                    f.base,
                    rt.image,
                    if pkgs.is_empty() { String::new() } else { format!(" (installed: {})", pkgs.iter().cloned().collect::<Vec<_>>().join(", ")) }
                ),
            ));
            if f.builds.iter().any(|b| b.tool == Tool::Poetry) {
                risks.push(risk(
                    RiskKind::RuntimeFiles,
                    "poetry installs into its own virtualenv unless `virtualenvs.create false` is set; that virtualenv is not copied",
                ));
            }
        }
        Ecosystem::Java => {
            let jar = jar_path(&f);
            let dir = wd.clone().unwrap_or_else(|| "/".to_string());
            match jar {
                Some(j) if !j.contains('*') && !j.contains('$') => {
                    let p = join(&dir, &j);
                    copies.push((p.clone(), p));
                }
                _ => {
                    let maven = f.builds.iter().any(|b| b.tool == Tool::Maven);
                    let out = if maven { "target" } else { "build/libs" };
                    let p = join(&dir, out);
                    copies.push((p.clone(), p));
                }
            }
            if base.repo != "eclipse-temurin" {
                risks.push(risk(
                    RiskKind::VendorChange,
                    format!("the JRE comes from Eclipse Temurin, the build from {}; check JVM flags and vendor-specific features", f.base),
                ));
            }
        }
        Ecosystem::Dotnet => {
            let Some(out) = f
                .builds
                .iter()
                .find(|b| b.tool == Tool::Dotnet)
                .and_then(|b| b.output.clone())
            else {
                return Err(skip(
                    e,
                    "`dotnet publish` has no `-o`, so the publish folder cannot be known",
                ));
            };
            copies.push((out.clone(), out));
        }
    }
    if let Some(s) = f.start.script.as_deref() {
        let p = join(wd.as_deref().unwrap_or("/"), s);
        if !copies.iter().any(|(a, _)| p.starts_with(a.as_str())) {
            copies.push((p.clone(), p));
        }
        risks.push(risk(
            RiskKind::EntrypointScript,
            format!("the start script {s} may call programs {} does not have", rt.image),
        ));
    }
    // Shell, musl and glibc risks.
    if !rt.shell && (needs.shell || hc_shell) {
        risks.push(risk(
            RiskKind::NoShell,
            format!(
                "{} has no /bin/sh, but the shell-form CMD/ENTRYPOINT, start script or HEALTHCHECK needs one",
                rt.image
            ),
        ));
    }
    if rt.pm == Pm::None {
        for t in &f.healthcheck_tools {
            risks.push(risk(
                RiskKind::HealthcheckTool,
                format!("the HEALTHCHECK runs {t}, which {} lacks", rt.image),
            ));
        }
    }
    let base_libc = if base.repo == "alpine" || base.tag.as_deref().is_some_and(|t| t.contains("alpine")) {
        "musl"
    } else {
        "glibc"
    };
    if rt.libc == "musl" && base_libc == "glibc" && !needs.static_binary {
        risks.push(risk(
            RiskKind::GlibcToMusl,
            format!(
                "built against glibc on {}, run on musl: native code (the binary, compiled extensions, native addons, prebuilt wheels) may fail to load",
                f.base
            ),
        ));
    }
    if rt.libc == "glibc" && eco.is_native() && !needs.static_binary && rt.image.contains("distroless") {
        risks.push(risk(
            RiskKind::GlibcVersion,
            format!(
                "the binary needs a glibc no newer than {}'s; the builder and {} must be the same Debian release",
                rt.image, f.base
            ),
        ));
    }
    if rt.image == "scratch" {
        if f.has_ca_certs {
            copies.push((
                "/etc/ssl/certs/ca-certificates.crt".to_string(),
                "/etc/ssl/certs/ca-certificates.crt".to_string(),
            ));
        } else {
            risks.push(risk(
                RiskKind::NoCaCertificates,
                "scratch has no CA certificates and the build stage has none to copy; HTTPS calls fail with `x509: certificate signed by unknown authority`",
            ));
        }
        if f.apt.iter().chain(&f.apk).any(|p| p == "tzdata") {
            copies.push(("/usr/share/zoneinfo".to_string(), "/usr/share/zoneinfo".to_string()));
        }
    }
    // User.
    let mut passwd = false;
    let user_line = match f.user.as_deref() {
        Some(u) => {
            let name = u.split(':').next().unwrap_or(u);
            if name.chars().all(|c| c.is_ascii_digit()) || name == "root" || name.contains('$') {
                format!("USER {u}\n")
            } else if f.created_users.iter().any(|c| c == name) {
                passwd = true;
                risks.push(risk(
                    RiskKind::PasswdCopied,
                    format!("the user {name} is created in the build stage; its /etc/passwd and /etc/group replace the runtime's"),
                ));
                format!("USER {u}\n")
            } else if rt.user == Some(name) {
                format!("USER {u}\n")
            } else {
                risks.push(risk(
                    RiskKind::UserMissing,
                    format!("the user {name} may not exist in {}; use a numeric UID", rt.image),
                ));
                format!("USER {u}\n")
            }
        }
        None => {
            let u = rt.user.unwrap_or("65532:65532");
            changes.push(change(
                ChangeKind::NonRootUser,
                format!("the runtime stage runs as {u}, not root (the original set no USER)"),
                None,
            ));
            risks.push(risk(
                RiskKind::NonRoot,
                format!("the app runs as {u}: writes outside /tmp (into its folder, a volume, ports below 1024) need permissions"),
            ));
            format!("USER {u}\n")
        }
    };

    // The build stage: the original stage, edited.
    let build_name = match &stage.name {
        Some(n) => unique_name(stages, &format!("{n}-build")),
        None => unique_name(stages, "build"),
    };
    let mut ed = Vec::new();
    let fv = from.args.iter().collect::<Vec<_>>();
    if fv.len() >= 3 && fv[1].value.text().eq_ignore_ascii_case("as") {
        ed.push(Edit::replace(fv[2].span.start(), fv[2].span.end(), build_name.clone()));
    } else if let Some(last) = fv.last() {
        ed.push(Edit::insert(last.span.end(), format!(" AS {build_name}")));
    }
    for &i in &f.moved {
        let ins = &df.instructions[i];
        ed.push(Edit::replace(
            ins.span.start(),
            edits::line_end(src, ins.span.end()),
            "",
        ));
    }
    if let Some(at) = cgo_edit {
        ed.push(Edit::insert(at, "CGO_ENABLED=0 "));
    }
    let mut text = edits::apply(src, ed);
    if !text.ends_with('\n') {
        text.push('\n');
    }
    if let Some(p) = &prune {
        text.push_str(p);
        changes.push(change(
            ChangeKind::PruneDevDependencies,
            "devDependencies removed at the end of the build stage, so only production node_modules are copied",
            None,
        ));
    }
    changes.insert(
        0,
        change(
            ChangeKind::MultiStage,
            format!(
                "the {} stage becomes the build stage `{build_name}` (base, toolchain and sources stay there); a new runtime stage ships only the built app",
                eco.as_str()
            ),
            Some((from.start_line, df.instructions[stage.instructions.end - 1].end_line)),
        ),
    );

    // The runtime stage.
    let mut rs = String::new();
    rs.push('\n');
    match &stage.name {
        Some(n) => {
            let _ = writeln!(rs, "FROM {} AS {n}", rt.image);
        }
        None => {
            let _ = writeln!(rs, "FROM {}", rt.image);
        }
    }
    changes.push(change(
        ChangeKind::RuntimeBase,
        format!("runtime base {}", rt.why),
        None,
    ));
    let mut kept = Vec::new();
    for &i in &f.arg_env {
        rs.push_str(text_of(src, &df.instructions[i]));
        rs.push('\n');
        kept.push(df.instructions[i].keyword);
    }
    if let Some(line) = install_line(rt.pm, &pkgs) {
        rs.push_str(&line);
        changes.push(change(
            ChangeKind::RuntimePackages,
            format!(
                "runtime packages {}: libraries of the -dev packages the build used, CA certificates, tzdata and tools the app or its HEALTHCHECK runs",
                pkgs.iter().cloned().collect::<Vec<_>>().join(", ")
            ),
            None,
        ));
    }
    for &i in &f.workdirs {
        rs.push_str(text_of(src, &df.instructions[i]));
        rs.push('\n');
        kept.push(Keyword::Workdir);
    }
    if passwd {
        let _ = writeln!(rs, "COPY --from={build_name} /etc/passwd /etc/group /etc/");
    }
    for (a, b) in &copies {
        let _ = writeln!(rs, "COPY --from={build_name} {a} {b}");
        changes.push(change(
            ChangeKind::CopyArtefact,
            format!(
                "copy {a} from the build stage{}",
                if a == b { String::new() } else { format!(" to {b}") }
            ),
            None,
        ));
    }
    rs.push_str(&user_line);
    for &i in &f.moved {
        rs.push_str(text_of(src, &df.instructions[i]));
        rs.push('\n');
        kept.push(df.instructions[i].keyword);
    }
    if !kept.is_empty() {
        let mut names: Vec<String> = kept.iter().map(|k| format!("{k:?}").to_ascii_uppercase()).collect();
        names.sort();
        names.dedup();
        changes.push(change(
            ChangeKind::KeepInstructions,
            format!("{} carried into the runtime stage as written", names.join(", ")),
            None,
        ));
    }
    text.push_str(&rs);
    let est = estimate(&f, eco, &rt, &mut notes);
    Ok(Out {
        text,
        changes,
        risks,
        estimate: est,
        ecosystem: e,
        runtime_base: Some(rt.image),
        notes,
    })
}

/// The jar after `-jar` in the start command.
fn jar_path(f: &StageFacts) -> Option<String> {
    let w = &f.start.words;
    w.iter().position(|x| x == "-jar").and_then(|i| w.get(i + 1)).cloned()
}

impl Tool {
    fn is_node(self) -> bool {
        matches!(self, Tool::Npm | Tool::Yarn | Tool::Pnpm)
    }
}

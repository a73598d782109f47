//! `imgopt rewrite DOCKERFILE`: a single-stage Dockerfile rewritten into a build stage and a
//! small runtime stage; prints the new file (or `--diff`), or replaces it (`--write`);
//! `--verify` builds, runs and measures both versions with a builder found on PATH.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::Args;

use super::image::ImageReader;
use super::input::{self, read_text};
use super::{ExitStatus, printer::Printer};
use crate::report::{Format, Kind, Report};
use crate::rewrite::verify::{self, BuilderKind};
use crate::rewrite::{self, Options, RewriteReport, Target};

/// Arguments of `imgopt rewrite`.
#[derive(Args, Debug)]
pub struct RewriteArgs {
    /// The Dockerfile to rewrite (`-` for stdin).
    #[arg(value_name = "DOCKERFILE")]
    pub file: PathBuf,
    /// What to aim for: `auto` picks the smallest base the app and its start command can run
    /// on; `multi-stage` and `slim` keep a shell and a package manager; `alpine`,
    /// `distroless` and `scratch` ask for that base (with the risks named).
    #[arg(long = "to", value_name = "TARGET", default_value = "auto")]
    pub to: Target,
    /// Print a unified diff instead of the new file; writes nothing.
    #[arg(long, conflicts_with = "write")]
    pub diff: bool,
    /// Replace the Dockerfile with the rewrite (atomically; a failure leaves it as it was).
    #[arg(long)]
    pub write: bool,
    /// The build context (default: the Dockerfile's folder): manifests such as go.mod,
    /// Cargo.toml, package.json and requirements.txt refine the rewrite.
    #[arg(long, value_name = "DIR")]
    pub context: Option<PathBuf>,
    /// Build the original and the rewrite with a builder on PATH (buildah, podman or docker),
    /// run both images' start command with a timeout, compare exit code and stdout, and
    /// measure both images. A build or run that fails, or different output, exits 1.
    #[arg(long)]
    pub verify: bool,
    /// With --verify: run the images with these arguments instead of their CMD (split like a
    /// shell command line, no expansion), as `docker run IMAGE ARGS` would.
    #[arg(long, value_name = "ARGS", requires = "verify", allow_hyphen_values = true)]
    pub smoke: Option<String>,
    /// With --verify: the builder to use (default: the first of buildah, podman, docker on PATH).
    #[arg(long, value_name = "BUILDER", requires = "verify")]
    pub builder: Option<BuilderKind>,
    /// With --verify: a build argument for both builds, as for `docker build` (repeatable;
    /// values are never shown).
    #[arg(long = "build-arg", value_name = "K=V", requires = "verify")]
    pub build_args: Vec<String>,
    /// With --verify: mount SRC:DST[:OPTS] into the RUN steps of both builds (buildah and
    /// podman `-v`; repeatable), e.g. `/etc/ssl/certs:/etc/ssl/certs:ro` for a build that
    /// downloads packages through this machine's CA certificates.
    #[arg(long = "build-volume", value_name = "SRC:DST", requires = "verify")]
    pub build_volumes: Vec<String>,
    /// With --verify: seconds each build may take.
    #[arg(long, value_name = "SECS", default_value_t = 1800, requires = "verify")]
    pub build_timeout: u64,
    /// With --verify: seconds each run may take.
    #[arg(long, value_name = "SECS", default_value_t = 60, requires = "verify")]
    pub run_timeout: u64,
    /// Output format.
    #[arg(long, value_name = "FORMAT", default_value = "human", value_parser = super::args::format_parser(Kind::Rewrite))]
    pub format: Format,
}

/// Runs `imgopt rewrite`.
pub fn run(args: &RewriteArgs, printer: &mut Printer) -> anyhow::Result<ExitStatus> {
    let text = read_text(&args.file, "the Dockerfile")?;
    if args.write && text.path.is_none() {
        bail!("--write needs a Dockerfile path, not stdin");
    }
    if args.write && std::str::from_utf8(&text.bytes).is_err() {
        bail!(
            "{} is not UTF-8; --write would change bytes it does not mean to",
            text.shown()
        );
    }
    let src = crate::analyze::text_same_offsets(&text.bytes);
    let df = crate::dockerfile::parse_str(&src).map_err(|e| input::parse_error(&text, &e, printer))?;
    let context = match &args.context {
        Some(dir) => {
            if !dir.is_dir() {
                bail!("--context {}: not a directory", dir.display());
            }
            Some(dir.clone())
        }
        None => text.path.as_deref().and_then(rewrite::default_context),
    };
    let verify_opts = if args.verify {
        Some(verify_options(args, context.clone())?)
    } else {
        None
    };
    let opts = Options {
        target: args.to,
        context,
    };
    let mut report = rewrite::rewrite(text.shown(), &src, &df, &opts);
    // The output must parse as BuildKit parses it; a rewrite that does not is a bug, never
    // written.
    if !report.unchanged
        && let Err(e) = crate::dockerfile::parse_str(&report.dockerfile)
    {
        bail!(
            "internal error: the rewrite of {} does not parse ({e}); nothing was written",
            text.shown()
        );
    }
    if args.diff {
        let name = text.shown().trim_start_matches("./").to_string();
        report.diff = Some(rewrite::diff::unified(&name, &src, &report.dockerfile));
    }
    let mut status = ExitStatus::Success;
    if let Some(vopts) = &verify_opts {
        status = run_verify(&mut report, text.path.as_deref(), &src, vopts, printer)?;
    }
    // A rewrite that failed verification is never written.
    if args.write && !report.unchanged && status == ExitStatus::Success {
        let path = text.path.as_deref().unwrap_or(&args.file);
        super::fs::write_atomically(path, report.dockerfile.as_bytes())
            .with_context(|| format!("--write {}", path.display()))?;
        report.written = Some(text.shown().to_string());
    }
    if printer.is_verbose() {
        let (l, v) = super::verbose::dockerfile_limit();
        let mut limits = super::verbose::Limits::default();
        super::verbose::print(printer, &limits.value(l, v).lines());
    }
    printer.render(&Report::Rewrite(&report), args.format)?;
    Ok(status)
}

/// `--verify`'s options from the arguments; the context must exist.
fn verify_options(args: &RewriteArgs, context: Option<PathBuf>) -> anyhow::Result<verify::Options> {
    let Some(context) = context else {
        bail!("--verify needs a build context: give --context DIR when the Dockerfile comes from stdin");
    };
    let smoke = match &args.smoke {
        Some(s) => Some(verify::split_smoke(s).map_err(|e| anyhow::anyhow!("--smoke `{s}`: {e}"))?),
        None => None,
    };
    for v in &args.build_volumes {
        let src = v.split(':').next().unwrap_or_default();
        if !v.contains(':') || src.is_empty() {
            bail!("--build-volume `{v}`: expected SRC:DST[:OPTS]");
        }
        if !std::path::Path::new(src).exists() {
            bail!("--build-volume `{v}`: {src} does not exist");
        }
    }
    Ok(verify::Options {
        builder: args.builder,
        smoke,
        context,
        build_args: input::build_args(&args.build_args)?.into_iter().collect(),
        volumes: args.build_volumes.clone(),
        build_timeout: Duration::from_secs(args.build_timeout.max(1)),
        run_timeout: Duration::from_secs(args.run_timeout.max(1)),
        path: std::env::var_os("PATH"),
    })
}

/// Builds, runs and measures both versions; `Failure` (exit 1) when verification failed.
fn run_verify(
    report: &mut RewriteReport,
    original_path: Option<&std::path::Path>,
    src: &str,
    vopts: &verify::Options,
    printer: &Printer,
) -> anyhow::Result<ExitStatus> {
    if report.unchanged {
        report
            .notes
            .push("--verify: nothing to build, the rewrite is the original".to_string());
        return Ok(ExitStatus::Success);
    }
    // Find the builder before starting a runtime, so a missing one fails fast.
    if let Err(e) = verify::find_builder(vopts) {
        bail!(
            "--verify: {e}\n  hint: install buildah (`apt-get install buildah`; as root it needs no daemon), \
             or podman or docker, or name one with --builder"
        );
    }
    let reader = ImageReader::new(crate::source::spec::SourceOptions::default())?;
    let mut measure = |spec: &str| -> Result<verify::ImageSize, String> {
        reader
            .block_on(verify::measure::measure(spec))
            .map_err(|e| e.to_string())
    };
    let inputs = verify::Inputs {
        original_path,
        original_text: src,
        rewrite_text: &report.dockerfile,
    };
    printer.verbose(&format!(
        "{}--verify: building both versions in {}",
        super::verbose::PREFIX,
        vopts.context.display()
    ));
    let v = verify::verify(&inputs, vopts, &mut measure).context("--verify")?;
    let status = if v.passed {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    };
    report.verify = Some(v);
    Ok(status)
}

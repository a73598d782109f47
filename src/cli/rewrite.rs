//! `imgopt rewrite DOCKERFILE`: a single-stage Dockerfile rewritten into a build stage and a
//! small runtime stage; prints the new file (or `--diff`), or replaces it (`--write`).

use std::path::PathBuf;

use anyhow::{Context as _, bail};
use clap::Args;

use super::input::{self, read_text};
use super::{ExitStatus, printer::Printer};
use crate::report::{Format, Kind, Report};
use crate::rewrite::{self, Options, Target};

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
    if args.write && !report.unchanged {
        let path = text.path.as_deref().unwrap_or(&args.file);
        rewrite::write::atomic(path, &report.dockerfile).with_context(|| format!("--write {}", path.display()))?;
        report.written = Some(text.shown().to_string());
    }
    if printer.is_verbose() {
        let (l, v) = super::verbose::dockerfile_limit();
        let mut limits = super::verbose::Limits::default();
        super::verbose::print(printer, &limits.value(l, v).lines());
    }
    printer.render(&Report::Rewrite(&report), args.format)?;
    Ok(ExitStatus::Success)
}

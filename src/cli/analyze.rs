//! `imgopt analyze [DOCKERFILE...]`: reads the files (or stdin), calls
//! [`crate::analyze::analyze`] and renders the report; exit 1 when a finding is at or above
//! `--fail-on`.

use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::PathBuf;

use anyhow::{Context as _, bail};
use clap::{Args, ValueEnum};

use super::printer::Printer;
use super::{ExitStatus, GlobalArgs, Rendered, verbose};
use crate::analyze::{self, Input, Options};
use crate::diag::{Diagnostic, Severity, render_human};
use crate::report::Format;
use crate::rules::Selection;

/// The severity that fails the run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    /// Any error finding.
    Error,
    /// Any warning or error.
    Warning,
    /// Any finding.
    Info,
    /// Never fail (exit 0 unless imgopt itself fails).
    Never,
}

/// Arguments of `imgopt analyze`.
#[derive(Args, Debug)]
pub struct AnalyzeArgs {
    /// Dockerfiles to analyse; `-` reads one from stdin.
    #[arg(value_name = "DOCKERFILE", default_value = "Dockerfile")]
    pub files: Vec<PathBuf>,
    /// Build context directory (default: each Dockerfile's folder; none for stdin).
    #[arg(long, value_name = "DIR")]
    pub context: Option<PathBuf>,
    /// Do not read the build context.
    #[arg(long, conflicts_with = "context")]
    pub no_context: bool,
    /// Stage to build (default: the last).
    #[arg(long, value_name = "STAGE")]
    pub target: Option<String>,
    /// Build argument, as for `docker build` (repeatable).
    #[arg(long = "build-arg", value_name = "K=V")]
    pub build_args: Vec<String>,
    /// Fail (exit 1) when a finding has at least this severity.
    #[arg(long, value_enum, default_value_t = FailOn::Error)]
    pub fail_on: FailOn,
    /// Run only these rules: comma-separated codes, names or code prefixes (`DF2`, `all`).
    #[arg(long, value_name = "CODES")]
    pub select: Option<String>,
    /// Skip these rules: comma-separated codes, names or code prefixes.
    #[arg(long, value_name = "CODES")]
    pub ignore: Option<String>,
    /// The image built from the Dockerfile (any IMAGE form of `imgopt layers`): measured bytes
    /// per instruction of the target stage, and measured savings where its layers show them.
    #[arg(long, value_name = "IMAGE")]
    pub image: Option<String>,
    /// Where and how to read `--image`.
    #[command(flatten)]
    pub source: super::source_args::SourceArgs,
}

/// Runs `imgopt analyze`.
pub fn run(args: &AnalyzeArgs, global: &GlobalArgs, printer: &mut Printer) -> anyhow::Result<ExitStatus> {
    let start = std::time::Instant::now();
    let selection = Selection::new(args.select.as_deref(), args.ignore.as_deref()).context("--select/--ignore")?;
    let mut build_args = BTreeMap::new();
    for kv in &args.build_args {
        match kv.split_once('=') {
            Some((k, v)) if !k.is_empty() => {
                build_args.insert(k.to_string(), v.to_string());
            }
            _ => match std::env::var(kv) {
                // `--build-arg K` takes K from the environment, as docker does.
                Ok(v) if !kv.is_empty() => {
                    build_args.insert(kv.clone(), v);
                }
                _ => bail!("--build-arg `{kv}`: expected K=V"),
            },
        }
    }
    if args.image.is_some() && args.files.len() != 1 {
        bail!(
            "--image measures one Dockerfile: give exactly one (got {})",
            args.files.len()
        );
    }
    if args.source.all_platforms {
        bail!("`imgopt analyze --image` reads one platform: use --platform OS/ARCH instead of --all-platforms");
    }
    if args.source.password_stdin && args.files.iter().any(|p| p.as_os_str() == "-") {
        bail!("--password-stdin and a Dockerfile on stdin (`-`) cannot share stdin");
    }
    let mut inputs = Vec::new();
    let mut stdin_used = false;
    for p in &args.files {
        if p.as_os_str() == "-" {
            if stdin_used {
                bail!("`-` (stdin) given more than once");
            }
            stdin_used = true;
            let mut bytes = Vec::new();
            std::io::stdin()
                .lock()
                .read_to_end(&mut bytes)
                .context("reading the Dockerfile from stdin")?;
            inputs.push(Input {
                name: "-".to_string(),
                bytes,
                path: None,
            });
        } else {
            let meta = std::fs::metadata(p).with_context(|| format!("reading {}", p.display()))?;
            if meta.is_dir() {
                bail!("{} is a directory; give the Dockerfile's path", p.display());
            }
            let bytes = std::fs::read(p).with_context(|| format!("reading {}", p.display()))?;
            inputs.push(Input {
                name: p.display().to_string(),
                bytes,
                path: Some(p.clone()),
            });
        }
    }
    let opts = Options {
        target: args.target.clone(),
        build_args,
        context: args.context.clone(),
        no_context: args.no_context,
        selection,
    };
    let (mut report, files, trace) = match analyze::analyze_traced(&inputs, &opts) {
        Ok(r) => r,
        Err(e) => {
            if let analyze::Error::Parse { file_id, source, .. } = e.as_ref() {
                let d = Diagnostic::error(source.message.clone()).with_primary(
                    *file_id,
                    source.span.start()..source.span.end().max(source.span.start()),
                    "",
                );
                let mut files = crate::diag::Files::new();
                // Re-create the file database the parse error points into.
                for i in &inputs {
                    files.add(i.name.clone(), analyze::text_same_offsets(&i.bytes));
                }
                let mut buf = Vec::new();
                render_human(&[d], &files, printer.err_color, &mut buf)?;
                return Err(anyhow::Error::new(Rendered(String::from_utf8_lossy(&buf).into_owned())));
            }
            return Err(anyhow::Error::new(*e));
        }
    };
    if printer.is_verbose() {
        verbose::print(printer, &verbose::analyze(&trace, &report));
    }
    if let Some(image) = &args.image {
        let reader = super::image::ImageReader::new(args.source.to_options(std::io::stdin().lock())?)?;
        let (layers, image_trace) = reader.analyze_traced(image)?;
        if printer.is_verbose() {
            verbose::print(printer, &verbose::image_brief("--image", &image_trace));
        }
        analyze::measure::attach(&mut report, &inputs[0], &opts, layers)
            .with_context(|| format!("measuring {image} against {}", inputs[0].name))?;
        if printer.is_verbose() {
            verbose::print(printer, &verbose::measured(&report));
        }
        if let Some(im) = report.files[0].image.as_ref() {
            for w in &im.warnings {
                printer.note(&format!("warning: {w}"));
            }
        }
    }
    printer.verbose(&format!(
        "{}time: total {}",
        verbose::PREFIX,
        verbose::duration(start.elapsed())
    ));
    let out = printer.out();
    match global.format {
        Format::Human => crate::report::human::analyze::render(&report, &files, printer.color, printer.out())?,
        Format::Json => crate::report::json::write(&report, out)?,
        Format::Sarif => crate::report::sarif::analyze::render(&report, out)?,
        Format::Markdown => crate::report::markdown::analyze::render(&report, out)?,
    }
    let threshold = match args.fail_on {
        FailOn::Error => Some(Severity::Error),
        FailOn::Warning => Some(Severity::Warning),
        FailOn::Info => Some(Severity::Info),
        FailOn::Never => None,
    };
    Ok(match (threshold, report.max_severity()) {
        (Some(t), Some(m)) if m >= t => ExitStatus::Failure,
        _ => ExitStatus::Success,
    })
}

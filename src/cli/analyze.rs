//! `imgopt analyze [DOCKERFILE...]`: reads the files (or stdin), calls
//! [`crate::analyze::analyze`] and renders the report; exit 1 when a finding is at or above
//! `--fail-on`.

use std::path::PathBuf;

use anyhow::{Context as _, bail};
use clap::{Args, ValueEnum};

use super::input::{self, read_text};
use super::printer::Printer;
use super::{ExitStatus, verbose};
use crate::analyze::{self, Input, Options};
use crate::diag::Severity;
use crate::fix::{self, Applicability, Fix};
use crate::report::{Format, Kind, Report};
use crate::rules::Selection;

/// The severity that fails the run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    /// Any error finding.
    Error,
    /// Any warning or error.
    Warning,
    /// Any finding, notes included (`info` is the same: the severity's name in JSON).
    #[value(alias = "info")]
    Note,
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
    /// Apply the rules' safe fixes to each Dockerfile (written atomically), then report what
    /// is left.
    #[arg(long, conflicts_with = "diff")]
    pub fix: bool,
    /// Print the fixes as a unified diff instead of the report; write nothing.
    #[arg(long)]
    pub diff: bool,
    /// With --fix or --diff: also apply unsafe fixes (they change what is installed or shipped).
    #[arg(long)]
    pub unsafe_fixes: bool,
    /// Output format.
    #[arg(long, value_name = "FORMAT", default_value = "human", value_parser = super::args::format_parser(Kind::Analyze))]
    pub format: Format,
}

/// Applies the fixes of `input`'s findings until none is left (at most a few rounds: a fix
/// can uncover another), and returns the fixed text and how many fixes were applied. A file
/// that is not UTF-8 is left as it is.
fn fix_to_fixpoint(input: &Input, opts: &Options, unsafe_fixes: bool) -> anyhow::Result<(String, usize)> {
    let Ok(mut text) = String::from_utf8(input.bytes.clone()) else {
        return Ok((String::from_utf8_lossy(&input.bytes).into_owned(), 0));
    };
    let mut applied = 0;
    for _ in 0..8 {
        let one = Input {
            name: input.name.clone(),
            bytes: text.clone().into_bytes(),
            path: input.path.clone(),
        };
        let (report, _, _) =
            analyze::analyze_traced(std::slice::from_ref(&one), opts).map_err(|e| anyhow::Error::new(*e))?;
        let fixes: Vec<Fix> = report
            .findings
            .iter()
            .filter_map(|f| f.fix.clone())
            .filter(|f| unsafe_fixes || f.applicability == Applicability::Safe)
            .collect();
        if fixes.is_empty() {
            break;
        }
        let fixed = fix::apply_fixes(&text, &fixes).with_context(|| format!("fixing {}", input.name))?;
        if fixed.applied.is_empty() || fixed.text == text {
            break;
        }
        applied += fixed.applied.len();
        text = fixed.text;
    }
    Ok((text, applied))
}

/// Runs `imgopt analyze`.
pub fn run(args: &AnalyzeArgs, printer: &mut Printer) -> anyhow::Result<ExitStatus> {
    let start = std::time::Instant::now();
    let selection = Selection::new(args.select.as_deref(), args.ignore.as_deref()).context("--select/--ignore")?;
    let build_args = input::build_args(&args.build_args)?;
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
    if args.files.iter().filter(|p| p.as_os_str() == "-").count() > 1 {
        bail!("`-` (stdin) given more than once");
    }
    if args.fix && args.files.iter().any(|p| p.as_os_str() == "-") {
        bail!("--fix writes the Dockerfile back: give its path, or use --diff for stdin");
    }
    if args.diff && args.format != Format::Human {
        bail!("--diff prints a unified diff; it has no {} form", args.format);
    }
    let mut inputs: Vec<Input> = args
        .files
        .iter()
        .map(|p| read_text(p, "the Dockerfile"))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let opts = Options {
        target: args.target.clone(),
        build_args,
        context: args.context.clone(),
        no_context: args.no_context,
        selection,
    };
    // Parse errors are shown by the analysis below: fix only files that analyse.
    if (args.fix || args.diff) && analyze::analyze_traced(&inputs, &opts).is_ok() {
        let mut patch = String::new();
        for input in &mut inputs {
            let (fixed, applied) = fix_to_fixpoint(input, &opts, args.unsafe_fixes)?;
            if applied == 0 {
                continue;
            }
            let original = String::from_utf8_lossy(&input.bytes).into_owned();
            if args.diff {
                patch.push_str(&crate::rewrite::diff::unified(&input.name, &original, &fixed));
            } else if let Some(path) = &input.path {
                super::fs::write_atomically(path, fixed.as_bytes())?;
                printer.note(&format!(
                    "fixed {} in {}",
                    crate::report::text::plural(applied as u64, "finding", "findings"),
                    input.name
                ));
                input.bytes = fixed.into_bytes();
            }
        }
        if args.diff {
            printer.render(&Report::Patch(&patch), Format::Human)?;
            return Ok(ExitStatus::Success);
        }
    }
    let (mut report, files, trace) = match analyze::analyze_traced(&inputs, &opts) {
        Ok(r) => r,
        Err(e) => {
            if let analyze::Error::Parse { file_id, source, .. } = e.as_ref() {
                return Err(input::parse_error(&inputs[file_id.0], source, printer));
            }
            return Err(anyhow::Error::new(*e));
        }
    };
    if printer.is_verbose() {
        verbose::print(printer, &verbose::analyze(&trace, &report));
    }
    let mut limits = verbose::Limits::default();
    let (l, v) = verbose::dockerfile_limit();
    limits.value(l, v).values(&trace.limits).hits(&trace.limit_hits);
    if let Some(image) = &args.image {
        let reader = super::image::ImageReader::new(args.source.to_options(std::io::stdin().lock())?)?;
        let (layers, image_trace) = reader.analyze_traced(image)?;
        if printer.is_verbose() {
            verbose::print(printer, &verbose::image_brief("--image", &image_trace));
        }
        limits.image(&image_trace);
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
    if printer.is_verbose() {
        verbose::print(printer, &limits.lines());
    }
    printer.verbose(&format!(
        "{}time: total {}",
        verbose::PREFIX,
        verbose::duration(start.elapsed())
    ));
    printer.render(&Report::Analyze(&report, &files), args.format)?;
    let threshold = match args.fail_on {
        FailOn::Error => Some(Severity::Error),
        FailOn::Warning => Some(Severity::Warning),
        FailOn::Note => Some(Severity::Info),
        FailOn::Never => None,
    };
    Ok(match (threshold, report.max_severity()) {
        (Some(t), Some(m)) if m >= t => ExitStatus::Failure,
        _ => ExitStatus::Success,
    })
}

//! `imgopt report PLAN_FILE`: the capacity-planning report. Reads the plan file as `imgopt
//! plan` does (its images may be references that imgopt reads), images given as `--image
//! NAME=REF` and Dockerfiles given as `--dockerfile FILE`, runs the planner and
//! `imgopt analyze`, and renders [`crate::capacity::CapacityReport`] as one HTML page, Markdown
//! or JSON. Exit 1 when an image cannot be read (the report says which sections lack it) or a
//! service fits no node type; exit 2 for an unusable plan file or Dockerfile.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use clap::Args;

use super::image::ImageReader;
use super::input::{self, read_text};
use super::plan::{PlanFile, read_plan_file, resolve_image_ref_traced, resolve_plan_image};
use super::source_args::SourceArgs;
use super::verbose;
use super::{ExitStatus, printer::Printer};
use crate::analyze::{self, Input, Options};
use crate::capacity::{CapacityReport, MissingImage, drop_image};
use crate::report::{Format, Kind, Report};
use crate::rules::Selection;

/// Arguments of `imgopt report`.
#[derive(Args, Debug)]
pub struct ReportArgs {
    /// The plan file (YAML, as for `imgopt plan`; see docs/plan.md); `-` reads it from stdin.
    #[arg(value_name = "PLAN_FILE")]
    pub file: PathBuf,
    /// Use this image for the plan's image NAME (any IMAGE form of `imgopt layers`); adds it
    /// when the plan has no image of that name. Repeatable.
    #[arg(long = "image", value_name = "NAME=REF")]
    pub images: Vec<String>,
    /// A Dockerfile to analyse: its findings and predicted savings join the report. Repeatable.
    #[arg(long = "dockerfile", value_name = "FILE")]
    pub dockerfiles: Vec<PathBuf>,
    /// Let the plan file name files outside its own folder (as for `imgopt plan`).
    #[arg(long)]
    pub allow_paths_outside_plan: bool,
    /// Where and how to read image references.
    #[command(flatten)]
    pub source: SourceArgs,
    /// Output format (default: from the `-o` file's extension, `.md` or `.json`, else html).
    #[arg(long, value_name = "FORMAT", value_parser = super::args::format_parser(Kind::Report))]
    pub format: Option<Format>,
}

/// The format: `--format`, else the `-o` file's extension, else HTML.
fn format(args: &ReportArgs, output: Option<&Path>) -> Format {
    if let Some(f) = args.format {
        return f;
    }
    match output.and_then(Path::extension).and_then(|e| e.to_str()) {
        Some("md" | "markdown") => Format::Markdown,
        Some("json") => Format::Json,
        _ => Format::Html,
    }
}

/// `NAME=REF`.
fn image_arg(s: &str) -> anyhow::Result<(&str, &str)> {
    match s.split_once('=') {
        Some((n, r)) if !n.trim().is_empty() && !r.trim().is_empty() => Ok((n.trim(), r.trim())),
        _ => bail!("--image `{s}`: expected NAME=REF (NAME as under `images` in the plan file)"),
    }
}

/// Runs `imgopt report`.
pub fn run(args: &ReportArgs, output: Option<&Path>, printer: &mut Printer) -> anyhow::Result<ExitStatus> {
    if args.source.all_platforms {
        bail!("`imgopt report` reads one platform of an image: use --platform OS/ARCH instead of --all-platforms");
    }
    if args.file.as_os_str() == "-" && args.source.password_stdin {
        bail!("--password-stdin and a plan file on stdin (`-`) cannot share stdin");
    }
    let format = format(args, output);
    let overrides = args
        .images
        .iter()
        .map(|s| image_arg(s))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut limits = verbose::Limits::default();
    let dockerfiles = analyze_dockerfiles(&args.dockerfiles, printer, &mut limits)?;
    super::plan::plan_file_limits(&mut limits, args.allow_paths_outside_plan);
    let PlanFile { parsed, policy, .. } = read_plan_file(&args.file, args.allow_paths_outside_plan, printer)?;
    let mut input = parsed.input;
    let mut missing: Vec<MissingImage> = Vec::new();
    let refs: Vec<_> = parsed
        .image_refs
        .iter()
        .filter(|r| !overrides.iter().any(|(n, _)| *n == r.key))
        .collect();
    if !refs.is_empty() || !overrides.is_empty() {
        let reader = ImageReader::new(args.source.to_options(std::io::stdin().lock())?)?;
        for r in refs {
            match resolve_plan_image(r, &policy, &reader, printer, &mut limits) {
                Ok(layers) => {
                    input.images.insert(r.key.clone(), layers);
                }
                Err(e) => missing.push(drop_image(&mut input, &r.key, &r.reference, &e)),
            }
        }
        for (name, reference) in &overrides {
            match resolve_image_ref_traced(reference, &reader) {
                Ok((layers, trace)) => {
                    if printer.is_verbose() {
                        verbose::print(printer, &verbose::image_brief(&format!("--image {name}"), &trace));
                    }
                    limits.image(&trace);
                    input.images.insert((*name).to_string(), layers);
                }
                Err(e) => missing.push(drop_image(&mut input, name, reference, &format!("{e:#}"))),
            }
        }
    }
    let plan = crate::plan::plan(&input).context("planning")?;
    if printer.is_verbose() {
        verbose::print(printer, &limits.values(&crate::plan::limits_in_effect()).lines());
    }
    let title = if args.file.as_os_str() == "-" {
        "<stdin>".to_string()
    } else {
        args.file.display().to_string()
    };
    let report = CapacityReport::new(&title, &input, plan, dockerfiles, missing);
    printer.render(&Report::CapacityReport(&report), format)?;
    let mut status = ExitStatus::Success;
    for m in &report.missing {
        printer.note(&format!(
            "error: image `{}` ({}) could not be read: {}; the report lacks: {}",
            m.name,
            m.reference,
            m.error,
            m.sections.join(", ")
        ));
        status = ExitStatus::Failure;
    }
    for u in &report.plan.unschedulable {
        let why: Vec<String> = u.reasons.iter().map(|(t, r)| format!("{t}: {r}")).collect();
        printer.note(&format!(
            "error: service `{}` fits no node type ({})",
            u.service,
            why.join("; ")
        ));
        status = ExitStatus::Failure;
    }
    Ok(status)
}

/// `imgopt analyze` of the Dockerfiles, every rule, each file's folder as its build context.
fn analyze_dockerfiles(
    paths: &[PathBuf],
    printer: &Printer,
    limits: &mut verbose::Limits,
) -> anyhow::Result<Option<analyze::AnalyzeReport>> {
    if paths.is_empty() {
        return Ok(None);
    }
    if paths.iter().any(|p| p.as_os_str() == "-") {
        bail!("--dockerfile reads files: `-` (stdin) is not accepted");
    }
    let inputs: Vec<Input> = paths
        .iter()
        .map(|p| read_text(p, "the Dockerfile"))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let opts = Options {
        selection: Selection::new(None, None).context("rules")?,
        ..Options::default()
    };
    match analyze::analyze_traced(&inputs, &opts) {
        Ok((report, _files, trace)) => {
            let (l, v) = verbose::dockerfile_limit();
            limits.value(l, v).values(&trace.limits).hits(&trace.limit_hits);
            Ok(Some(report))
        }
        Err(e) => {
            if let analyze::Error::Parse { file_id, source, .. } = e.as_ref() {
                return Err(input::parse_error(&inputs[file_id.0], source, printer));
            }
            Err(anyhow::Error::new(*e))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_args_and_format_choice() {
        assert_eq!(image_arg("web=alpine:3.20").unwrap(), ("web", "alpine:3.20"));
        assert!(image_arg("alpine:3.20").is_err());
        assert!(image_arg("=x").is_err());
        let args = ReportArgs {
            file: "p.yaml".into(),
            images: Vec::new(),
            dockerfiles: Vec::new(),
            allow_paths_outside_plan: false,
            source: SourceArgs::default(),
            format: None,
        };
        assert_eq!(format(&args, Some(Path::new("r.md"))), Format::Markdown);
        assert_eq!(format(&args, Some(Path::new("r.json"))), Format::Json);
        assert_eq!(format(&args, Some(Path::new("r.html"))), Format::Html);
        assert_eq!(format(&args, None), Format::Html);
    }
}

//! `imgopt report PLAN_FILE`: the capacity-planning report. Reads the plan file as `imgopt
//! plan` does (its images may be references that imgopt reads; `--manifests` adds the
//! workloads of Kubernetes manifests), images given as `--image NAME=REF`, Dockerfiles given as
//! `--dockerfile [IMAGE=]FILE` and a budget policy given as `--policy FILE`, runs the planner,
//! `imgopt analyze`, `imgopt rewrite` (for the what-if of Dockerfiles linked to an image) and
//! `imgopt check`'s verdicts, and renders [`crate::capacity::CapacityReport`] as one HTML page,
//! Markdown or JSON. Exit 1 when an image cannot be read (the report says which sections lack
//! it) or a service fits no node type; exit 2 for an unusable plan file, manifest, policy or
//! Dockerfile.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use clap::Args;

use super::image::ImageReader;
use super::input::{self, TextInput, read_text};
use super::plan::{PlanFile, read_image_report, read_plan_file_with, resolve_plan_image_read};
use super::source_args::SourceArgs;
use super::verbose;
use super::{ExitStatus, Rendered, printer::Printer};
use crate::analyze::{self, Input, Options};
use crate::capacity::budgets::{self, Measured};
use crate::capacity::whatif::{self, Proposal};
use crate::capacity::{CapacityReport, MissingImage, drop_image, section};
use crate::check::{self, CheckReport, Policy};
use crate::diag::Files;
use crate::layers::LayersReport;
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
    /// A Dockerfile to analyse: its findings and predicted savings join the report. As
    /// `IMAGE=FILE` (IMAGE an image of the plan) it is the Dockerfile that image is built from,
    /// and the report adds a what-if: the plan again after `imgopt rewrite`'s rewrite (or the
    /// findings' fixes). Repeatable.
    #[arg(long = "dockerfile", value_name = "[IMAGE=]FILE")]
    pub dockerfiles: Vec<String>,
    /// A budget policy (the format of `imgopt check --policy`, see docs/check.md): each image
    /// and Dockerfile of the report is checked against it.
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// Kubernetes manifests to plan besides the plan file's services: a folder (read
    /// recursively: *.yaml, *.yml, *.json) or `-` for multi-document YAML on stdin
    /// (`helm template ... | imgopt report plan.yaml --manifests -`). See docs/plan.md.
    #[arg(long, value_name = "DIR|-")]
    pub manifests: Option<PathBuf>,
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

/// `[IMAGE=]FILE`: the image is named when the text before the first `=` is an image of the
/// plan (so a path with `=` in it still works).
fn dockerfile_arg<'a>(s: &'a str, images: &dyn Fn(&str) -> bool) -> (Option<&'a str>, &'a str) {
    match s.split_once('=') {
        Some((n, f)) if images(n.trim()) && !f.is_empty() => (Some(n.trim()), f),
        _ => (None, s),
    }
}

/// Runs `imgopt report`.
#[allow(clippy::too_many_lines)]
pub fn run(args: &ReportArgs, output: Option<&Path>, printer: &mut Printer) -> anyhow::Result<ExitStatus> {
    if args.source.all_platforms {
        bail!("`imgopt report` reads one platform of an image: use --platform OS/ARCH instead of --all-platforms");
    }
    let stdin_users = [
        args.file.as_os_str() == "-",
        args.source.password_stdin,
        args.manifests.as_ref().is_some_and(|m| m.as_os_str() == "-"),
    ];
    if stdin_users.iter().filter(|x| **x).count() > 1 {
        bail!("only one of the plan file (`-`), --manifests - and --password-stdin can read stdin");
    }
    let format = format(args, output);
    let overrides = args
        .images
        .iter()
        .map(|s| image_arg(s))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut limits = verbose::Limits::default();
    super::plan::plan_file_limits(&mut limits, args.allow_paths_outside_plan);
    let policy = args.policy.as_deref().map(|p| load_policy(p, printer)).transpose()?;
    let PlanFile {
        parsed,
        policy: paths,
        manifest_images,
        ..
    } = read_plan_file_with(
        &args.file,
        args.allow_paths_outside_plan,
        args.manifests.as_deref(),
        printer,
    )?;
    let mut input = parsed.input;
    let known = |n: &str| {
        input.images.contains_key(n)
            || parsed.image_refs.iter().any(|r| r.key == n)
            || overrides.iter().any(|(o, _)| *o == n)
    };
    let linked: Vec<(Option<String>, PathBuf)> = args
        .dockerfiles
        .iter()
        .map(|d| {
            let (img, f) = dockerfile_arg(d, &known);
            (img.map(str::to_string), PathBuf::from(f))
        })
        .collect();
    let texts = read_dockerfiles(&linked)?;
    let dockerfiles = analyze_dockerfiles(&texts, printer, &mut limits)?;
    let mut missing: Vec<MissingImage> = Vec::new();
    let mut read: Vec<(String, String, LayersReport)> = Vec::new();
    let refs: Vec<_> = parsed
        .image_refs
        .iter()
        .filter(|r| !overrides.iter().any(|(n, _)| *n == r.key))
        .collect();
    let reader = if refs.is_empty() && overrides.is_empty() {
        None
    } else {
        Some(ImageReader::new(args.source.to_options(std::io::stdin().lock())?)?)
    };
    if let Some(reader) = &reader {
        for r in refs {
            match resolve_plan_image_read(r, &paths, reader, printer, &mut limits) {
                Ok(x) => {
                    input.images.insert(r.key.clone(), x.layers);
                    read.push((r.key.clone(), x.reference, x.report));
                }
                Err(e) => missing.push(drop_image(&mut input, &r.key, &r.reference, &e)),
            }
        }
        for (name, reference) in &overrides {
            match read_image_report(reference, reader) {
                Ok((report, trace)) => {
                    if printer.is_verbose() {
                        verbose::print(printer, &verbose::image_brief(&format!("--image {name}"), &trace));
                    }
                    limits.image(&trace);
                    input.images.insert(
                        (*name).to_string(),
                        crate::plan::ImageLayers::from_layers_report(&report),
                    );
                    read.retain(|(k, _, _)| k != name);
                    read.push(((*name).to_string(), (*reference).to_string(), report));
                }
                Err(e) => missing.push(drop_image(&mut input, name, reference, &format!("{e:#}"))),
            }
        }
    }
    let unions = crate::plan::manifests::attach_images(&mut input, &manifest_images);
    let plan = crate::plan::plan(&input).context("planning")?;
    if printer.is_verbose() {
        verbose::print(printer, &limits.values(&crate::plan::limits_in_effect()).lines());
    }
    let mut title = if args.file.as_os_str() == "-" {
        "<stdin>".to_string()
    } else {
        args.file.display().to_string()
    };
    if let Some(m) = &args.manifests {
        let m = if m.as_os_str() == "-" {
            "<stdin>".to_string()
        } else {
            m.display().to_string()
        };
        title = format!("{title} with the manifests of {m}");
    }
    // What the sections lack because of a missing image.
    for m in &mut missing {
        if linked.iter().any(|(i, _)| i.as_deref() == Some(m.name.as_str())) {
            m.sections.push(section::WHAT_IF);
        }
        if policy.is_some() {
            m.sections.push(section::BUDGETS);
        }
    }
    let (what_if, no_saving) = what_if(&input, &plan, &linked, &texts, dockerfiles.as_ref(), &missing, &unions)?;
    let budgets = policy
        .as_ref()
        .map(|p| budgets(p, &input, &unions, &read, &texts, reader.as_ref(), printer))
        .transpose()?;
    let mut report = CapacityReport::with_unions(&title, &input, plan, dockerfiles, missing, &unions);
    report.what_if = what_if;
    report.no_saving = no_saving;
    report.budgets = budgets;
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

/// The what-if of the Dockerfiles linked to an image: `imgopt rewrite` (library call) of each,
/// else its findings' estimates; and the linked Dockerfiles for which nothing predicts a saving.
fn what_if(
    input: &crate::plan::PlanInput,
    plan: &crate::plan::PlanReport,
    linked: &[(Option<String>, PathBuf)],
    texts: &[TextInput],
    analysis: Option<&analyze::AnalyzeReport>,
    missing: &[MissingImage],
    unions: &[(String, Vec<String>)],
) -> anyhow::Result<(Option<whatif::WhatIf>, Vec<String>)> {
    let mut proposals = Vec::new();
    let mut no_saving = Vec::new();
    for ((image, path), text) in linked.iter().zip(texts) {
        let Some(image) = image else { continue };
        if missing.iter().any(|m| &m.name == image) {
            continue;
        }
        let src = String::from_utf8_lossy(&text.bytes);
        let opts = crate::rewrite::Options {
            target: crate::rewrite::Target::Auto,
            context: crate::rewrite::default_context(path),
        };
        let rewrite = crate::rewrite::rewrite_str(text.shown(), &src, &opts).ok();
        let findings = analysis.map_or(&[][..], |a| a.findings.as_slice());
        match Proposal::new(image, text.shown(), rewrite.as_ref(), findings) {
            Some(p) => proposals.push(p),
            None => no_saving.push(format!("{} ({image})", text.shown())),
        }
    }
    if proposals.is_empty() {
        return Ok((None, no_saving));
    }
    let w = whatif::what_if(input, plan, proposals, unions).context("planning the what-if")?;
    Ok((Some(w), no_saving))
}

/// The policy's verdicts on every image of the plan and every Dockerfile (an image that could
/// not be read is not in `input` any more: the report's notice says its budgets are missing).
fn budgets(
    policy: &Policy,
    input: &crate::plan::PlanInput,
    unions: &[(String, Vec<String>)],
    read: &[(String, String, LayersReport)],
    texts: &[TextInput],
    reader: Option<&ImageReader>,
    printer: &Printer,
) -> anyhow::Result<CheckReport> {
    let mut targets = Vec::new();
    for (name, img) in input
        .images
        .iter()
        .filter(|(n, _)| !unions.iter().any(|(u, _)| u == *n))
    {
        let t = match read.iter().find(|(k, _, _)| k == name) {
            Some((_, reference, report)) => {
                let user = reader.and_then(|r| config_user(r, reference).ok());
                budgets::check_image(policy, name, Measured::Read(report, user.as_ref()))
            }
            None => budgets::check_image(policy, name, Measured::Sizes(img)),
        };
        targets.push(t);
    }
    for text in texts {
        let opts = Options {
            selection: check::eval::selection(policy),
            ..Options::default()
        };
        let inputs = [text.clone()];
        let report = match analyze::analyze(&inputs, &opts) {
            Ok((r, _)) => r,
            Err(e) => {
                if let analyze::Error::Parse { source, .. } = e.as_ref() {
                    return Err(input::parse_error(text, source, printer));
                }
                return Err(anyhow::Error::new(*e));
            }
        };
        let facts = check::DockerfileFacts {
            report: &report,
            base: check::eval::final_base(&text.bytes),
        };
        targets.push(check::eval::check_dockerfile(policy, text.shown(), &facts));
    }
    Ok(CheckReport::new(&policy.name, targets))
}

/// The config's `User` of an image.
fn config_user(reader: &ImageReader, reference: &str) -> anyhow::Result<Option<String>> {
    use crate::source::ImageSource as _;
    let source = reader.open(reference, "image")?;
    let config = reader.block_on(async {
        let m = source.manifest().await?;
        source.config(&m).await
    })?;
    Ok(config.user)
}

/// Reads and validates `--policy` (every problem at its line, exit 2).
fn load_policy(path: &Path, printer: &Printer) -> anyhow::Result<Policy> {
    let t = read_text(path, "the policy")?;
    let name = t.shown().to_string();
    let text = String::from_utf8(t.bytes)
        .map_err(|e| anyhow::anyhow!("{name}: not UTF-8 text (byte {})", e.utf8_error().valid_up_to()))?;
    let mut files = Files::new();
    let id = files.add(name.clone(), text);
    check::policy::parse(&files, id, &name, true).map_err(|e| {
        let mut buf = Vec::new();
        let _ = crate::diag::render_human(&e.0, &files, printer.err_color, &mut buf);
        let n = e.0.len();
        buf.extend_from_slice(
            format!("error: {n} problem{} in the policy\n", if n == 1 { "" } else { "s" }).as_bytes(),
        );
        anyhow::Error::new(Rendered(String::from_utf8_lossy(&buf).into_owned()))
    })
}

fn read_dockerfiles(linked: &[(Option<String>, PathBuf)]) -> anyhow::Result<Vec<TextInput>> {
    if linked.iter().any(|(_, p)| p.as_os_str() == "-") {
        bail!("--dockerfile reads files: `-` (stdin) is not accepted");
    }
    linked
        .iter()
        .map(|(_, p)| read_text(p, "the Dockerfile"))
        .collect::<anyhow::Result<Vec<_>>>()
}

/// `imgopt analyze` of the Dockerfiles, every rule, each file's folder as its build context.
fn analyze_dockerfiles(
    inputs: &[Input],
    printer: &Printer,
    limits: &mut verbose::Limits,
) -> anyhow::Result<Option<analyze::AnalyzeReport>> {
    if inputs.is_empty() {
        return Ok(None);
    }
    let opts = Options {
        selection: Selection::new(None, None).context("rules")?,
        ..Options::default()
    };
    match analyze::analyze_traced(inputs, &opts) {
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
            policy: None,
            manifests: None,
            allow_paths_outside_plan: false,
            source: SourceArgs::default(),
            format: None,
        };
        assert_eq!(format(&args, Some(Path::new("r.md"))), Format::Markdown);
        assert_eq!(format(&args, Some(Path::new("r.json"))), Format::Json);
        assert_eq!(format(&args, Some(Path::new("r.html"))), Format::Html);
        assert_eq!(format(&args, None), Format::Html);
        let plan = |n: &str| n == "web";
        assert_eq!(dockerfile_arg("web=a/Dockerfile", &plan), (Some("web"), "a/Dockerfile"));
        assert_eq!(dockerfile_arg("a=b/Dockerfile", &plan), (None, "a=b/Dockerfile"));
        assert_eq!(dockerfile_arg("Dockerfile", &plan), (None, "Dockerfile"));
    }
}

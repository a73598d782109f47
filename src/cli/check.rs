//! `imgopt check [--policy FILE] [--baseline REF|FILE] [--dive-ci FILE] TARGET...`: reads the
//! policy (and `.dive-ci`), measures each target with the same code as `imgopt layers` (images)
//! or `imgopt analyze` (Dockerfiles), and renders [`crate::check`]'s verdicts; exit 0 when
//! every check passes, 1 when one fails, 2 for a bad policy, a bad target or an unreadable
//! image. `-o FORMAT=PATH` (repeatable) writes further formats, each file atomically.

use std::io::Read as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use clap::Args;

use super::image::ImageReader;
use super::input::{self, read_text};
use super::printer::Printer;
use super::source_args::SourceArgs;
use super::{ExitStatus, Rendered};
use crate::check::{self, Baseline, CheckReport, DockerfileFacts, ImageFacts, Policy, policy};
use crate::diag::Files;
use crate::layers::{self, Options};
use crate::report::{Format, Kind, Report, Style};
use crate::source::ImageSource as _;

/// Arguments of `imgopt check`.
#[derive(Args, Debug)]
pub struct CheckArgs {
    /// Images (any IMAGE form of `imgopt layers`: a registry reference, `oci:DIR`,
    /// `oci-archive:FILE`, `docker-archive:FILE`, a folder or an archive) and Dockerfiles.
    #[arg(value_name = "TARGET", required = true)]
    pub targets: Vec<String>,
    /// The policy file (default: `.imgopt.toml` in the working directory, else the built-in
    /// default, which is policies/default.toml).
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// What growth is measured against: an image (any IMAGE form), or a JSON report of
    /// `imgopt layers` or `imgopt check`.
    #[arg(long, value_name = "REF|FILE")]
    pub baseline: Option<String>,
    /// dive's `.dive-ci` file: its rules (lowestEfficiency, highestWastedBytes,
    /// highestUserWastedPercent) replace the policy's min_efficiency, max_wasted_bytes and
    /// max_user_wasted_percent.
    #[arg(long = "dive-ci", value_name = "FILE")]
    pub dive_ci: Option<PathBuf>,
    /// The image built from the (one) Dockerfile target: the Dockerfile's findings get measured
    /// savings, and the image is checked as a target too.
    #[arg(long, value_name = "IMAGE")]
    pub image: Option<String>,
    /// Where and how to read images.
    #[command(flatten)]
    pub source: SourceArgs,
    /// Output format on stdout (or `-o FILE`).
    #[arg(long, value_name = "FORMAT", default_value = "human", value_parser = super::args::format_parser(Kind::Check))]
    pub format: Format,
}

/// Takes the `FORMAT=PATH` values out of `-o` (FORMAT one of `imgopt check`'s formats); plain
/// paths stay for the printer.
pub fn split_outputs(outputs: &mut Vec<PathBuf>) -> Vec<(Format, PathBuf)> {
    let mut extra = Vec::new();
    outputs.retain(|o| {
        let s = o.to_string_lossy();
        let parsed = s.split_once('=').and_then(|(f, p)| {
            let format = Kind::Check.formats().iter().find(|x| x.as_str() == f)?;
            (!p.is_empty()).then(|| (*format, PathBuf::from(p)))
        });
        match parsed {
            Some(x) => {
                extra.push(x);
                false
            }
            None => true,
        }
    });
    extra
}

/// A target, as told apart from its text and what is on disk.
#[derive(Debug, PartialEq, Eq)]
enum Target {
    Image(String),
    Dockerfile(PathBuf),
}

/// An image when it has a source prefix, names a folder or a tar/gzip archive, or is not a
/// file at all (a registry reference); a Dockerfile when it is another file, or is missing but
/// is named like one (`Dockerfile`, `*.Dockerfile`, `Containerfile`).
fn classify(t: &str) -> Target {
    if ["oci:", "oci-archive:", "docker-archive:", "docker://"]
        .iter()
        .any(|p| t.starts_with(p))
    {
        return Target::Image(t.to_string());
    }
    let path = Path::new(t);
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => Target::Image(t.to_string()),
        Ok(_) => {
            let mut head = [0u8; 512];
            let n = std::fs::File::open(path)
                .and_then(|mut f| f.read(&mut head))
                .unwrap_or(0);
            let tar = n >= 262 && &head[257..262] == b"ustar";
            let gzip = n >= 2 && head[..2] == [0x1f, 0x8b];
            if tar || gzip {
                Target::Image(t.to_string())
            } else {
                Target::Dockerfile(path.to_path_buf())
            }
        }
        Err(_) => {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().to_ascii_lowercase())
                .unwrap_or_default();
            if name.contains("dockerfile") || name.contains("containerfile") {
                Target::Dockerfile(path.to_path_buf())
            } else {
                Target::Image(t.to_string())
            }
        }
    }
}

/// The policy diagnostics as one rendered error (exit 2).
fn invalid(e: &policy::Invalid, files: &Files, printer: &Printer) -> anyhow::Error {
    let mut buf = Vec::new();
    let _ = crate::diag::render_human(&e.0, files, printer.err_color, &mut buf);
    let n = e.0.len();
    buf.extend_from_slice(
        format!(
            "error: {n} problem{} in the policy; nothing was checked\n",
            if n == 1 { "" } else { "s" }
        )
        .as_bytes(),
    );
    anyhow::Error::new(Rendered(String::from_utf8_lossy(&buf).into_owned()))
}

/// The policy: `--policy`, else `.imgopt.toml` here, else the built-in one; `--dive-ci` on top.
fn load_policy(args: &CheckArgs, printer: &Printer) -> anyhow::Result<Policy> {
    let mut files = Files::new();
    let local = Path::new(".imgopt.toml");
    let (name, text, on_disk) = match &args.policy {
        Some(p) => {
            let t = read_text(p, "the policy")?;
            let name = t.shown().to_string();
            (name.clone(), super::fs::utf8(t.bytes, &name)?, t.path.is_some())
        }
        None if local.is_file() => {
            let t = read_text(local, "the policy")?;
            (
                ".imgopt.toml".to_string(),
                super::fs::utf8(t.bytes, ".imgopt.toml")?,
                true,
            )
        }
        None => (
            policy::BUILTIN_NAME.to_string(),
            policy::BUILTIN_TEXT.to_string(),
            false,
        ),
    };
    let id = files.add(name.clone(), text);
    let mut policy = policy::parse(&files, id, &name, on_disk).map_err(|e| invalid(&e, &files, printer))?;
    printer.verbose(&format!(
        "{}policy: {name} ({} keys)",
        super::verbose::PREFIX,
        policy.settings.len()
    ));
    if let Some(path) = &args.dive_ci {
        let t = read_text(path, "the .dive-ci file")?;
        let dname = t.shown().to_string();
        let id = files.add(dname.clone(), super::fs::utf8(t.bytes, &dname)?);
        let settings = check::dive_ci::parse(&files, id, &dname).map_err(|e| invalid(&e, &files, printer))?;
        for s in settings {
            policy.set(s);
        }
    }
    Ok(policy)
}

/// Whether `spec` is a JSON report rather than an image: a regular file whose first
/// non-blank byte is `{`.
fn is_json_file(spec: &str) -> bool {
    let path = Path::new(spec);
    if !path.is_file() {
        return false;
    }
    let mut head = [0u8; 64];
    let n = std::fs::File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .unwrap_or(0);
    head[..n].iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{')
}

fn load_baseline(spec: &str, reader: &ImageReader, target: &str) -> anyhow::Result<Baseline> {
    if is_json_file(spec) {
        let t = read_text(Path::new(spec), "the --baseline report")?;
        return Ok(check::baseline::from_json(spec, &t.bytes, target)?);
    }
    let source = reader.open(spec, "--baseline")?;
    let manifest = reader
        .block_on(source.manifest())
        .with_context(|| format!("reading --baseline {spec}"))?;
    Ok(Baseline {
        name: spec.to_string(),
        compressed_bytes: manifest.layers.iter().map(|l| l.size).sum(),
    })
}

/// When a growth budget failed against an image baseline, names what grew most (the layers,
/// files and packages `imgopt diff` would list first) in the failed checks' messages.
fn explain_growth(
    result: &mut check::TargetResult,
    spec: &str,
    target: &layers::LayersReport,
    reader: &ImageReader,
) -> anyhow::Result<()> {
    if !result.checks.iter().any(|c| c.id.starts_with("baseline.") && !c.passed) {
        return Ok(());
    }
    let source = reader.open(spec, "--baseline")?;
    let opts = Options {
        read: reader.read_options(),
        final_files: true,
        ..Options::default()
    };
    let base = reader
        .block_on(layers::analyze(&source, &opts))
        .with_context(|| format!("reading --baseline {spec}"))?;
    let diff = crate::diff::compare(&base, target, 3);
    let mut top: Vec<String> = Vec::new();
    let mut added: Vec<_> = diff.added_layers.iter().collect();
    added.sort_by(|a, b| b.compressed_bytes.cmp(&a.compressed_bytes).then(a.index.cmp(&b.index)));
    for l in added.into_iter().take(2) {
        let step = crate::report::text::ellipsize(l.created_by.trim(), 60);
        top.push(format!(
            "layer #{} `{step}` ({})",
            l.index,
            crate::units::ByteSize(l.compressed_bytes)
        ));
    }
    top.extend(
        diff.files
            .iter()
            .filter(|f| f.delta > 0)
            .map(|f| format!("{} ({})", f.path, crate::units::signed_bytes(f.delta))),
    );
    top.extend(
        diff.packages
            .iter()
            .filter(|p| p.delta > 0)
            .map(|p| format!("package {} ({})", p.name, crate::units::signed_bytes(p.delta))),
    );
    if top.is_empty() {
        return Ok(());
    }
    let said = format!(
        "; grew most: {} (`imgopt diff {spec} TARGET` lists all)",
        top.join(", ")
    );
    for c in result
        .checks
        .iter_mut()
        .filter(|c| c.id.starts_with("baseline.") && !c.passed)
    {
        c.message.push_str(&said);
    }
    Ok(())
}

/// Reads one image: the layers report and the config's `User` (one source, opened once).
fn read_image(
    reader: &ImageReader,
    reference: &str,
    keep_files: bool,
    limits: &mut super::verbose::Limits,
) -> anyhow::Result<(layers::LayersReport, Option<String>)> {
    let source = reader.open(reference, "image")?;
    // With an image `--baseline`, the final files are kept for its "grew most" (the comparison
    // `imgopt diff` makes); they cost a path per file, so only then.
    let opts = Options {
        read: reader.read_options(),
        final_files: keep_files,
        ..Options::default()
    };
    let (report, trace) = reader
        .block_on(layers::analyze_traced(&source, &opts))
        .with_context(|| format!("reading image {reference}"))?;
    limits.image(&trace);
    let config = reader.block_on(async {
        let m = source.manifest().await?;
        source.config(&m).await
    });
    let user = config
        .with_context(|| format!("reading the config of image {reference}"))?
        .user;
    Ok((report, user))
}

/// Runs `imgopt check`; `outputs` are the `-o FORMAT=PATH` files.
pub fn run(args: &CheckArgs, outputs: &[(Format, PathBuf)], printer: &mut Printer) -> anyhow::Result<ExitStatus> {
    if args.source.all_platforms {
        bail!("`imgopt check` reads one platform: use --platform OS/ARCH instead of --all-platforms");
    }
    let policy = load_policy(args, printer)?;
    let targets: Vec<(String, Target)> = args.targets.iter().map(|t| (t.clone(), classify(t))).collect();
    let dockerfiles = targets
        .iter()
        .filter(|(_, t)| matches!(t, Target::Dockerfile(_)))
        .count();
    if args.image.is_some() && dockerfiles != 1 {
        bail!("--image is the image built from one Dockerfile: give exactly one Dockerfile target (got {dockerfiles})");
    }
    let needs_reader =
        args.image.is_some() || args.baseline.is_some() || targets.iter().any(|(_, t)| matches!(t, Target::Image(_)));
    let reader = if needs_reader {
        Some(ImageReader::new(args.source.to_options(std::io::stdin().lock())?)?)
    } else {
        None
    };
    let keep_files = args.baseline.as_deref().is_some_and(|s| !is_json_file(s));
    let mut limits = super::verbose::Limits::default();
    if policy.name != policy::BUILTIN_NAME {
        limits.value(
            crate::limits::Limit::PolicyFile,
            crate::limits::bytes(input::MAX_TEXT_BYTES),
        );
    }
    let mut results = Vec::new();
    let mut baseline: Option<Baseline> = None;
    let check_image = |reference: &str,
                       (report, user): &(layers::LayersReport, Option<String>),
                       reader: &ImageReader,
                       baseline: &mut Option<Baseline>|
     -> anyhow::Result<check::TargetResult> {
        let facts = ImageFacts::new(report, user.clone());
        if let (Some(spec), None) = (&args.baseline, &baseline) {
            *baseline = Some(load_baseline(spec, reader, reference)?);
        }
        let mut result = check::eval::check_image(&policy, reference, &facts, baseline.as_ref());
        if let Some(spec) = args.baseline.as_deref().filter(|s| !is_json_file(s)) {
            explain_growth(&mut result, spec, report, reader)?;
        }
        Ok(result)
    };
    let mut joined: Option<(String, (layers::LayersReport, Option<String>))> = None;
    for (name, target) in &targets {
        match target {
            Target::Image(reference) => {
                let reader = reader.as_ref().context("image reader")?;
                let report = read_image(reader, reference, keep_files, &mut limits)?;
                results.push(check_image(reference, &report, reader, &mut baseline)?);
            }
            Target::Dockerfile(path) => {
                let inputs = [read_text(path, "the Dockerfile")?];
                let text = &inputs[0];
                let opts = crate::analyze::Options {
                    selection: check::eval::selection(&policy),
                    ..Default::default()
                };
                let (mut report, _files) = match crate::analyze::analyze_traced(&inputs, &opts) {
                    Ok((r, f, trace)) => {
                        let (l, v) = super::verbose::dockerfile_limit();
                        limits.value(l, v).values(&trace.limits).hits(&trace.limit_hits);
                        (r, f)
                    }
                    Err(e) => {
                        if let crate::analyze::Error::Parse { source, .. } = e.as_ref() {
                            return Err(input::parse_error(text, source, printer));
                        }
                        return Err(anyhow::Error::new(*e));
                    }
                };
                if let (Some(image), Some(reader)) = (&args.image, reader.as_ref()) {
                    let measured = read_image(reader, image, keep_files, &mut limits)?;
                    crate::analyze::measure::attach(&mut report, &inputs[0], &opts, measured.0.clone())
                        .with_context(|| format!("measuring {image} against {name}"))?;
                    joined = Some((image.clone(), measured));
                }
                let facts = DockerfileFacts {
                    report: &report,
                    base: check::eval::final_base(&text.bytes),
                };
                results.push(check::eval::check_dockerfile(&policy, name, &facts));
            }
        }
    }
    if let (Some((image, report)), Some(reader)) = (&joined, reader.as_ref()) {
        results.push(check_image(image, report, reader, &mut baseline)?);
    }
    if printer.is_verbose() {
        super::verbose::print(printer, &limits.lines());
    }
    let report = CheckReport::new(&policy.name, results);
    for (format, path) in outputs {
        let mut buf = Vec::new();
        crate::report::render(&Report::Check(&report), *format, &Style::default(), &mut buf)?;
        super::fs::write_atomically(path, &buf)?;
        printer.verbose(&format!(
            "{}wrote {format} to {}",
            super::verbose::PREFIX,
            path.display()
        ));
    }
    printer.render(&Report::Check(&report), args.format)?;
    Ok(if report.passed {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_told_apart() {
        let dir = tempfile::tempdir().expect("tempdir");
        let df = dir.path().join("app.txt");
        std::fs::write(&df, "FROM alpine\n").expect("write");
        assert_eq!(classify(&df.display().to_string()), Target::Dockerfile(df.clone()));
        let d = dir.path().display().to_string();
        assert_eq!(classify(&d), Target::Image(d.clone()));
        assert_eq!(classify("alpine:3.20"), Target::Image("alpine:3.20".into()));
        assert_eq!(
            classify("missing/Dockerfile"),
            Target::Dockerfile("missing/Dockerfile".into())
        );
        assert_eq!(classify("oci:x"), Target::Image("oci:x".into()));
    }

    #[test]
    fn outputs_split_on_known_formats_only() {
        let mut o: Vec<PathBuf> = ["sarif=a.sarif", "x=y.txt", "plain.txt", "junit=r.xml"]
            .iter()
            .map(PathBuf::from)
            .collect();
        let extra = split_outputs(&mut o);
        assert_eq!(
            extra,
            vec![
                (Format::Sarif, PathBuf::from("a.sarif")),
                (Format::Junit, PathBuf::from("r.xml"))
            ]
        );
        assert_eq!(o, vec![PathBuf::from("x=y.txt"), PathBuf::from("plain.txt")]);
    }
}

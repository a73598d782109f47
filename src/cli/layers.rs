//! `imgopt layers IMAGE`: per-layer sizes, the merged filesystem, waste and dive's score,
//! read straight from a registry, an OCI layout or an archive (no daemon).

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use clap::Args;

use crate::layers::{self, AnalysisOptions, Options, cache::LayerCache};
use crate::report::{Format, Kind, Report};
use crate::source::ImageSource as _;

use super::ExitStatus;
use super::image::ImageReader;
use super::input::{self, read_text};
use super::printer::{Printer, Verbosity};
use super::source_args::SourceArgs;
use super::verbose;

/// Arguments of `imgopt layers`.
#[derive(Args, Debug)]
pub struct LayersArgs {
    /// The image: a registry reference (`alpine:3.20`), `oci:DIR[:TAG]`, `oci-archive:FILE`,
    /// `docker-archive:FILE`, or a path (an OCI layout folder or an archive).
    #[arg(value_name = "IMAGE")]
    pub image: String,
    /// Where and how to read the image.
    #[command(flatten)]
    pub source: SourceArgs,
    /// Keep per-layer results in DIR, by layer digest, and reuse them (a base layer shared by
    /// many images is read once).
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Also find identical content at different paths (hashes every file; costs CPU).
    #[arg(long)]
    pub dedupe: bool,
    /// The base image (any IMAGE form): report its layers' bytes apart from the image's own.
    #[arg(long, value_name = "REF")]
    pub base: Option<String>,
    /// The Dockerfile the image was built from: measured bytes and waste per instruction of its
    /// final stage, and the FROM image's layers reported as the base.
    #[arg(long, value_name = "FILE")]
    pub dockerfile: Option<PathBuf>,
    /// With --dockerfile: the stage that was built (default: the last).
    #[arg(long, value_name = "STAGE", requires = "dockerfile")]
    pub target: Option<String>,
    /// Rows in each list (largest files, waste items, packages).
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub top: usize,
    /// Layers read at once (default: the number of cores).
    #[arg(long, value_name = "N")]
    pub jobs: Option<usize>,
    /// Output format.
    #[arg(long, value_name = "FORMAT", default_value = "human", value_parser = super::args::format_parser(Kind::Layers))]
    pub format: Format,
}

fn progress_bar(printer: &Printer) -> Option<(indicatif::ProgressBar, layers::Progress)> {
    if !printer.stderr_is_terminal || printer.verbosity == Verbosity::Quiet {
        return None;
    }
    let bar = indicatif::ProgressBar::with_draw_target(Some(0), indicatif::ProgressDrawTarget::stderr());
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{spinner} {msg} [{bar:30}] {bytes}/{total_bytes} ({elapsed})")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    let b = bar.clone();
    let cb: layers::Progress = Arc::new(move |done, total, bytes, total_bytes| {
        b.set_length(total_bytes);
        b.set_position(bytes);
        b.set_message(format!("layers {done}/{total}"));
    });
    Some((bar, cb))
}

/// Runs `imgopt layers`.
pub fn run(args: &LayersArgs, printer: &mut Printer) -> anyhow::Result<ExitStatus> {
    let reader = ImageReader::new(args.source.to_options(std::io::stdin().lock())?)?;
    let dockerfile = match &args.dockerfile {
        Some(path) => {
            let text = read_text(path, "the Dockerfile")?;
            printer.verbose(&format!(
                "{}read --dockerfile {} ({})",
                verbose::PREFIX,
                text.name,
                crate::units::ByteSize(text.bytes.len() as u64)
            ));
            let df = crate::dockerfile::parse(&text.bytes).map_err(|e| input::parse_error(&text, &e, printer))?;
            let sopts = crate::dockerfile::StageOptions {
                target: args.target.clone(),
                ..Default::default()
            };
            let stages =
                crate::dockerfile::Stages::build(&df, &sopts).map_err(|e| anyhow::anyhow!("{}: {e}", text.name))?;
            Some((df.into_owned(), stages))
        }
        None => None,
    };
    let source = reader.open(&args.image, "image")?;
    if printer.is_verbose() {
        verbose::print(printer, &verbose::source(&source));
    }
    let cache = match &args.cache_dir {
        Some(d) => Some(LayerCache::open(d)?),
        None => None,
    };
    let bar = progress_bar(printer);
    let mut opts = Options {
        analysis: AnalysisOptions {
            top: args.top,
            dedupe: args.dedupe,
        },
        read: reader.read_options(),
        cache,
        progress: bar.as_ref().map(|(_, cb)| cb.clone()),
        ..Options::default()
    };
    if let Some(j) = args.jobs {
        opts.jobs = j.max(1);
    }
    let base_ids = match &args.base {
        Some(b) => {
            let bsrc = reader.open(b, "--base")?;
            let start = std::time::Instant::now();
            let ids = reader
                .block_on(layers::diff_ids(&bsrc))
                .with_context(|| format!("reading --base {b}"))?;
            printer.verbose(&format!(
                "{}base: {} lists {} diff_ids (read in {})",
                verbose::PREFIX,
                bsrc.describe(),
                ids.len(),
                verbose::duration(start.elapsed())
            ));
            Some(ids)
        }
        None => None,
    };
    let attach = |r: &mut layers::LayersReport| {
        if let (Some(b), Some(ids)) = (&args.base, &base_ids) {
            r.base = Some(layers::base::split(b, &r.layers, ids));
        }
        if let Some((df, stages)) = &dockerfile {
            layers::history::attach_dockerfile(r, df, stages);
        }
    };
    let result = if args.source.all_platforms {
        reader
            .block_on(layers::analyze_all_traced(&source, &opts))
            .map(|(mut m, t)| {
                m.platforms.iter_mut().for_each(&attach);
                (Analysed::Multi(m), t)
            })
    } else {
        reader
            .block_on(layers::analyze_traced(&source, &opts))
            .map(|(mut r, t)| {
                attach(&mut r);
                (Analysed::One(Box::new(r)), t)
            })
    };
    if let Some((bar, _)) = &bar {
        bar.finish_and_clear();
    }
    let mut limits = verbose::Limits::default();
    if args.dockerfile.is_some() {
        let (l, v) = verbose::dockerfile_limit();
        limits.value(l, v);
    }
    if result.is_err() && printer.is_verbose() {
        // What the network did before the failure (retries, resumes) and the limits it ran
        // under help explain it.
        if let Some(n) = source.network_counts() {
            verbose::print(printer, &[verbose::network(&n)]);
        }
        limits
            .values(&layers::limits_in_effect(&source, &opts))
            .hits(&source.limit_hits());
        verbose::print(printer, &limits.lines());
    }
    let (result, trace) = result.with_context(|| format!("analysing {}", args.image))?;
    if printer.is_verbose() {
        verbose::print(printer, &verbose::layers(&trace));
        verbose::print(printer, &limits.image(&trace).lines());
    }
    let report = match &result {
        Analysed::One(r) => Report::Layers(r, args.top),
        Analysed::Multi(m) => Report::LayersMulti(m, args.top),
    };
    printer.render(&report, args.format)?;
    Ok(ExitStatus::Success)
}

enum Analysed {
    One(Box<layers::LayersReport>),
    Multi(layers::MultiPlatformReport),
}

//! `imgopt layers IMAGE`: per-layer sizes, the merged filesystem, waste and dive's score,
//! read straight from a registry, an OCI layout or an archive (no daemon).

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use clap::Args;

use crate::layers::{self, AnalysisOptions, Options, cache::LayerCache};
use crate::report::{self, Format};
use crate::source::ImageSource as _;
use crate::source::blob::LayerReadOptions;
use crate::source::spec::{SourceSpec, open};

use super::printer::{Printer, Verbosity};
use super::source_args::SourceArgs;
use super::verbose;
use super::{ExitStatus, GlobalArgs};

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
pub fn run(args: &LayersArgs, global: &GlobalArgs, printer: &mut Printer) -> anyhow::Result<ExitStatus> {
    if global.format == Format::Sarif {
        anyhow::bail!("--format sarif is not available for `layers` (it reports sizes, not findings); use json");
    }
    let sopts = args.source.to_options(std::io::stdin().lock())?;
    let dockerfile = match &args.dockerfile {
        Some(path) => {
            let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
            printer.verbose(&format!(
                "{}read --dockerfile {} ({})",
                verbose::PREFIX,
                path.display(),
                crate::units::ByteSize(bytes.len() as u64)
            ));
            let df = crate::dockerfile::parse(&bytes)
                .map_err(|e| anyhow::anyhow!("{}:{}:{}: {}", path.display(), e.line, e.column, e.message))?;
            let sopts = crate::dockerfile::StageOptions {
                target: args.target.clone(),
                ..Default::default()
            };
            let stages = crate::dockerfile::Stages::build(&df, &sopts)
                .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
            Some((df.into_owned(), stages))
        }
        None => None,
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let spec = SourceSpec::parse(&args.image).with_context(|| format!("image {}", args.image))?;
    let source = open(&spec, &sopts).with_context(|| format!("opening {}", args.image))?;
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
        read: LayerReadOptions {
            verify: !args.source.no_verify,
            ..LayerReadOptions::default()
        },
        cache,
        progress: bar.as_ref().map(|(_, cb)| cb.clone()),
        ..Options::default()
    };
    if let Some(j) = args.jobs {
        opts.jobs = j.max(1);
    }
    let base_ids = match &args.base {
        Some(b) => {
            let bspec = SourceSpec::parse(b).with_context(|| format!("--base {b}"))?;
            let bsrc = open(&bspec, &sopts).with_context(|| format!("opening --base {b}"))?;
            let start = std::time::Instant::now();
            let ids = rt
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
    let mut trace = None;
    let result = if args.source.all_platforms {
        rt.block_on(layers::analyze_all_traced(&source, &opts))
            .map(|(mut m, t)| {
                trace = Some(t);
                for r in &mut m.platforms {
                    if let (Some(b), Some(ids)) = (&args.base, &base_ids) {
                        r.base = Some(layers::base::split(b, &r.layers, ids));
                    }
                    if let Some((df, stages)) = &dockerfile {
                        layers::history::attach_dockerfile(r, df, stages);
                    }
                }
                Rendered::Multi(m)
            })
    } else {
        rt.block_on(layers::analyze_traced(&source, &opts)).map(|(mut r, t)| {
            trace = Some(t);
            if let (Some(b), Some(ids)) = (&args.base, &base_ids) {
                r.base = Some(layers::base::split(b, &r.layers, ids));
            }
            if let Some((df, stages)) = &dockerfile {
                layers::history::attach_dockerfile(&mut r, df, stages);
            }
            Rendered::One(Box::new(r))
        })
    };
    if let Some((bar, _)) = &bar {
        bar.finish_and_clear();
    }
    if result.is_err() {
        // What the network did before the failure (retries, resumes) helps explain it.
        if let (Some(n), true) = (source.network_counts(), printer.is_verbose()) {
            verbose::print(printer, &[verbose::network(&n)]);
        }
    }
    let result = result.with_context(|| format!("analysing {}", args.image))?;
    if let (Some(t), true) = (&trace, printer.is_verbose()) {
        verbose::print(printer, &verbose::layers(t));
    }
    let out = printer.out();
    match (&result, global.format) {
        (Rendered::One(r), Format::Json) => report::json::write(r, out)?,
        (Rendered::Multi(m), Format::Json) => report::json::write(m, out)?,
        (Rendered::One(r), Format::Markdown) => report::markdown::layers::render(r, args.top, out)?,
        (Rendered::Multi(m), Format::Markdown) => report::markdown::layers::render_multi(m, args.top, out)?,
        (Rendered::One(r), _) => report::human::layers::render(r, args.top, &mut printer.out_text())?,
        (Rendered::Multi(m), _) => report::human::layers::render_multi(m, args.top, &mut printer.out_text())?,
    }
    Ok(ExitStatus::Success)
}

enum Rendered {
    One(Box<layers::LayersReport>),
    Multi(layers::MultiPlatformReport),
}

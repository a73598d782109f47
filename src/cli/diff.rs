//! `imgopt diff OLD NEW`: what grew between two images (any two forms `imgopt layers` reads),
//! per layer, file and package, compressed and uncompressed.

use anyhow::Context as _;
use clap::Args;

use super::image::ImageReader;
use super::source_args::SourceArgs;
use super::{ExitStatus, printer::Printer, verbose};
use crate::layers::{self, Options};
use crate::report::{Format, Kind, Report};

/// Arguments of `imgopt diff`.
#[derive(Args, Debug)]
pub struct DiffArgs {
    /// The older image (any IMAGE form of `imgopt layers`).
    #[arg(value_name = "OLD")]
    pub old: String,
    /// The newer image.
    #[arg(value_name = "NEW")]
    pub new: String,
    /// Files and packages listed, largest change first (0: every change).
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub top: usize,
    /// Where and how to read the images.
    #[command(flatten)]
    pub source: SourceArgs,
    /// Output format.
    #[arg(long, value_name = "FORMAT", default_value = "human", value_parser = super::args::format_parser(Kind::Diff))]
    pub format: Format,
}

/// Runs `imgopt diff`.
pub fn run(args: &DiffArgs, printer: &mut Printer) -> anyhow::Result<ExitStatus> {
    if args.source.all_platforms {
        anyhow::bail!("`imgopt diff` compares one platform of each image: use --platform OS/ARCH");
    }
    let reader = ImageReader::new(args.source.to_options(std::io::stdin().lock())?)?;
    let opts = Options {
        read: reader.read_options(),
        final_files: true,
        ..Options::default()
    };
    let limits = std::cell::RefCell::new(verbose::Limits::default());
    let read = |reference: &str, what: &str| -> anyhow::Result<layers::LayersReport> {
        let source = reader.open(reference, what)?;
        let (report, trace) = reader
            .block_on(layers::analyze_traced(&source, &opts))
            .with_context(|| format!("reading {what} image {reference}"))?;
        if printer.is_verbose() {
            verbose::print(printer, &verbose::image_brief(what, &trace));
        }
        limits.borrow_mut().image(&trace);
        Ok(report)
    };
    let old = read(&args.old, "old")?;
    let new = read(&args.new, "new")?;
    if printer.is_verbose() {
        verbose::print(printer, &limits.borrow().lines());
    }
    let report = crate::diff::compare(&old, &new, args.top);
    printer.render(&Report::Diff(&report), args.format)?;
    Ok(ExitStatus::Success)
}

//! Reading images, for every command that reads one (`imgopt layers IMAGE`, `--base`,
//! `imgopt analyze --image`, `imgopt plan --image` and `{ref: ...}` images): parse the
//! reference, open the source with the shared [`SourceArgs`](super::source_args::SourceArgs)
//! options, and run [`crate::layers`] on the one tokio runtime built here. Owns no measuring
//! logic (see `layers`, `plan::image`, `analyze::measure`).

use anyhow::Context as _;

use crate::layers::{self, LayersReport, Options, Trace};
use crate::source::blob::LayerReadOptions;
use crate::source::spec::{AnySource, SourceOptions, SourceSpec, open};

/// Reads images with one runtime and one set of source options.
pub struct ImageReader {
    rt: tokio::runtime::Runtime,
    sopts: SourceOptions,
}

impl ImageReader {
    /// A reader with these options (from [`super::source_args::SourceArgs::to_options`]).
    pub fn new(sopts: SourceOptions) -> anyhow::Result<Self> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .context("starting the async runtime")?;
        Ok(Self { rt, sopts })
    }

    /// Opens the image `reference` names; `what` says where it came from in errors
    /// (`image`, `--base`).
    pub fn open(&self, reference: &str, what: &str) -> anyhow::Result<AnySource> {
        let spec = SourceSpec::parse(reference).with_context(|| format!("{what} {reference}"))?;
        open(&spec, &self.sopts).with_context(|| format!("opening {what} {reference}"))
    }

    /// Runs `fut` on the reader's runtime.
    pub fn block_on<F: std::future::Future>(&self, fut: F) -> F::Output {
        self.rt.block_on(fut)
    }

    /// Layer-read options that follow the source options (`--no-verify`).
    #[must_use]
    pub fn read_options(&self) -> LayerReadOptions {
        LayerReadOptions {
            verify: self.sopts.verify,
            ..LayerReadOptions::default()
        }
    }

    /// Analyses the image `reference` names (one platform); errors name the reference.
    pub fn analyze(&self, reference: &str) -> anyhow::Result<LayersReport> {
        self.analyze_traced(reference).map(|(r, _)| r)
    }

    /// [`ImageReader::analyze`], and what it did (for `--verbose`).
    pub fn analyze_traced(&self, reference: &str) -> anyhow::Result<(LayersReport, Trace)> {
        let source = self.open(reference, "image")?;
        let opts = Options {
            read: self.read_options(),
            ..Options::default()
        };
        self.block_on(layers::analyze_traced(&source, &opts))
            .with_context(|| format!("reading image {reference}"))
    }
}

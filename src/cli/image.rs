//! Reading one image for the commands that take an image beside their own input
//! (`imgopt plan --image REF` and `{ref: ...}` images, `imgopt analyze --image IMAGE`): parse
//! the reference, open the source with the shared [`SourceArgs`](super::source_args::SourceArgs) options and run
//! [`crate::layers::analyze`] on a tokio runtime. Owns no measuring logic (see `layers`,
//! `plan::image`, `analyze::measure`).

use anyhow::Context as _;

use crate::layers::{self, LayersReport, Options, Trace};
use crate::source::blob::LayerReadOptions;
use crate::source::spec::{SourceOptions, SourceSpec, open};

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

    /// Analyses the image `reference` names (one platform); errors name the reference.
    pub fn analyze(&self, reference: &str) -> anyhow::Result<LayersReport> {
        self.analyze_traced(reference).map(|(r, _)| r)
    }

    /// [`ImageReader::analyze`], and what it did (for `--verbose`).
    pub fn analyze_traced(&self, reference: &str) -> anyhow::Result<(LayersReport, Trace)> {
        let spec = SourceSpec::parse(reference).with_context(|| format!("image {reference}"))?;
        let source = open(&spec, &self.sopts).with_context(|| format!("opening {reference}"))?;
        let opts = Options {
            read: LayerReadOptions {
                verify: self.sopts.verify,
                ..LayerReadOptions::default()
            },
            ..Options::default()
        };
        self.rt
            .block_on(layers::analyze_traced(&source, &opts))
            .with_context(|| format!("reading image {reference}"))
    }
}

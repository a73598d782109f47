//! Measuring a built image the way `imgopt layers` does: the builder exports it (an OCI layout
//! or a docker-archive) and [`crate::layers`] reads it through [`crate::source`], verifying
//! every blob; nothing is taken from the builder's own size figures.

use serde::Serialize;

use crate::layers::{self, Options};
use crate::source::spec::{SourceOptions, SourceSpec, open};

/// An image's bytes, as read back.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct ImageSize {
    /// Sum of the stored (compressed) layer blobs: what a registry holds and a pull fetches.
    pub compressed_bytes: u64,
    /// Sum of the uncompressed layer tars: what the image takes unpacked.
    pub uncompressed_bytes: u64,
    /// Layers.
    pub layers: usize,
}

/// Why an exported image could not be read.
#[derive(Debug, thiserror::Error)]
pub enum MeasureError {
    /// The export could not be opened.
    #[error("{0}")]
    Source(#[from] crate::source::Error),
    /// A layer could not be read.
    #[error("{0}")]
    Layers(#[from] layers::Error),
}

/// Reads the image `spec` names (`oci:DIR:TAG`, `docker-archive:FILE`) and sums its layers.
pub async fn measure(spec: &str) -> Result<ImageSize, MeasureError> {
    let spec = SourceSpec::parse(spec)?;
    let source = open(&spec, &SourceOptions::default())?;
    let opts = Options {
        jobs: 2,
        ..Options::default()
    };
    let report = layers::analyze(&source, &opts).await?;
    Ok(ImageSize {
        compressed_bytes: report.totals.compressed_bytes.0,
        uncompressed_bytes: report.totals.tar_bytes.0,
        layers: report.totals.layers,
    })
}

//! What a layers run did, for `--verbose`: how the image was resolved, where each layer's bytes
//! came from and how long each phase took.
//!
//! Owns: the trace model (with the limits in effect and those reached, see [`crate::limits`]) returned beside the report by [`super::analyze_traced`],
//! [`super::analyze_all_traced`] and [`super::analyze_manifest_traced`].
//! Does not: print (the CLI does), or go into the report: timings differ from run to run, and
//! the JSON output is deterministic.

use std::time::Duration;

use crate::digest::Digest;
use crate::limits::{LimitHit, LimitValue};
use crate::source::IndexChoice;
use crate::source::registry::NetCounts;

/// Where a layer's analysis came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LayerOrigin {
    /// A `--cache-dir` entry (no byte of the layer was read).
    Cache,
    /// A local file: an OCI layout's blob or an archive member.
    File,
    /// The registry.
    Network,
}

impl LayerOrigin {
    /// `cache`, `file` or `network`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Cache => "cache",
            Self::File => "file",
            Self::Network => "network",
        }
    }
}

/// One layer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LayerTrace {
    /// 0-based index, bottom first.
    pub index: usize,
    /// Blob digest.
    pub digest: Digest,
    /// Media type as stored.
    pub media_type: String,
    /// Stored (compressed) blob size.
    pub compressed_bytes: u64,
    /// Decompressed tar length.
    pub tar_bytes: u64,
    /// Where the result came from.
    pub origin: LayerOrigin,
    /// Whether the blob digest and diff_id were checked (now, or when the cache entry was made).
    pub verified: bool,
    /// Time from asking for the layer to the end of its tar walk (or the cache read).
    pub elapsed: Duration,
}

/// One platform's image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageTrace {
    /// Manifest digest.
    pub manifest_digest: Digest,
    /// Manifest media type.
    pub manifest_media_type: String,
    /// How the manifest was picked from an index, if it was.
    pub index: Option<IndexChoice>,
    /// The platform reported (`os/arch[/variant]`).
    pub platform: String,
    /// Whether that platform is the index entry's (`true`) or the config's.
    pub platform_from_index: bool,
    /// Config digest.
    pub config_digest: Digest,
    /// Layers, bottom first.
    pub layers: Vec<LayerTrace>,
    /// Time to read the config.
    pub config_time: Duration,
    /// Wall time of fetching, verifying and walking every layer (layers run concurrently).
    pub read_time: Duration,
    /// Time spent stacking layers and computing waste, packages and dive's score (the stacking
    /// overlaps the reads).
    pub analysis_time: Duration,
    /// Limits the tar walks and the analysis reached without failing (a package database not
    /// kept), each naming its layer.
    pub limit_hits: Vec<LimitHit>,
}

/// The whole run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trace {
    /// The source's label (as in the report's `source`).
    pub source: String,
    /// Whether bytes came from the local disk.
    pub local: bool,
    /// Time to find the manifest(s): index, platform choice.
    pub resolve_time: Duration,
    /// One entry per platform analysed.
    pub images: Vec<ImageTrace>,
    /// What the network did (registries only).
    pub net: Option<NetCounts>,
    /// Where the registry credentials came from (registries only; never the credentials).
    pub credentials: Option<&'static str>,
    /// The limits that bounded the run, with the values used (flags included).
    pub limits: Vec<LimitValue>,
    /// Limits the source reached without failing (a stalled request retried); each image's
    /// own are in [`ImageTrace::limit_hits`].
    pub limit_hits: Vec<LimitHit>,
    /// Wall time of the whole run.
    pub total_time: Duration,
}

//! The layers report model: plain data, serialised as versioned JSON (docs/layers-json.md) and
//! rendered by `report::{human,markdown}::layers`.
//!
//! Owns: the shape of the result. Does not: compute it (see the sibling modules) or format it.

use serde::Serialize;

use crate::digest::Digest;
use crate::units::ByteSize;

use super::dive::DiveMetrics;
use super::history::InstructionMeasure;
use super::packages::Package;
use super::waste::WasteItem;

/// The JSON schema version of [`LayersReport`].
pub const SCHEMA_VERSION: u32 = 1;

/// Everything `imgopt layers` reports about one image (one platform).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LayersReport {
    /// Always [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// What was read, e.g. `oci-layout /path/img:latest` (never a credential).
    pub source: String,
    /// `os/arch[/variant]` of the manifest that was read.
    pub platform: Option<String>,
    /// Digest of the image manifest.
    pub manifest_digest: Option<Digest>,
    /// Digest of the image config.
    pub config_digest: Option<Digest>,
    /// Layers, bottom first.
    pub layers: Vec<LayerReport>,
    /// Sums over the layers.
    pub totals: Totals,
    /// dive's efficiency score (same formula as dive 0.13, for comparability), 0 to 1.
    pub efficiency: f64,
    /// What squashing the image would save: content bytes of all layers minus content bytes of
    /// the final filesystem.
    pub reclaimable_bytes: ByteSize,
    /// `reclaimable_bytes` split by kind, plus the final-filesystem findings beside it.
    pub waste_by_kind: WasteByKind,
    /// The waste items, largest first.
    pub waste: Vec<WasteItem>,
    /// Installed packages (dpkg, apk), largest first.
    pub packages: Vec<Package>,
    /// dive's own numbers, recomputed with its algorithm.
    pub dive: DiveMetrics,
    /// Base image versus own layers, when a base was given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base: Option<BaseSplit>,
    /// How "same content" was decided for `metadata_only`: `content_hash` (xxh3-128 of the
    /// bytes) or `size_and_mtime` (file data was skipped, `--no-verify`).
    pub content_compared_by: &'static str,
    /// `--dockerfile`: measured bytes per instruction of the target stage.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instructions: Option<Vec<InstructionMeasure>>,
    /// Odd things that were handled safely (escaping tar names, dangling hard links, history
    /// that does not match the layers).
    pub warnings: Vec<String>,
    /// The config's history (empty-layer steps included), for `--dockerfile` mapping; not part
    /// of the JSON.
    #[serde(skip)]
    pub history: Vec<crate::source::History>,
    /// Every regular file of the final filesystem, sorted by path (only with
    /// [`super::AnalysisOptions::final_files`]); not part of the JSON.
    #[serde(skip)]
    pub final_files: Vec<PathBytes>,
}

/// One layer.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LayerReport {
    /// 0-based, bottom layer first.
    pub index: usize,
    /// Blob digest (as the manifest lists it).
    pub digest: Digest,
    /// Digest of the uncompressed tar (`rootfs.diff_ids`).
    pub diff_id: Option<Digest>,
    /// Media type as stored.
    pub media_type: String,
    /// `gzip`, `zstd` or `tar` (uncompressed), as sniffed from the bytes.
    pub compression: String,
    /// The blob's size as stored in the source.
    pub compressed_bytes: ByteSize,
    /// Length of the decompressed tar stream.
    pub tar_bytes: ByteSize,
    /// Sum of the tar entries' size fields (dive's layer size).
    pub content_bytes: ByteSize,
    /// Tar entries (the root entry excluded).
    pub entries: u64,
    /// Non-directory paths new in this layer.
    pub files_added: u64,
    /// Non-directory paths that existed below and were written again.
    pub files_modified: u64,
    /// Non-directory paths of lower layers this layer removed.
    pub files_deleted: u64,
    /// The history step that made the layer (`RUN ...`), empty-layer steps skipped.
    pub created_by: String,
    /// Index of that step in the config's history.
    pub history_index: Option<usize>,
    /// Whether the blob digest and diff_id were checked for this layer.
    pub verified: bool,
    /// Bytes this layer stored that a later layer made waste.
    pub wasted_bytes: ByteSize,
    /// Bytes of lower layers (or earlier in this one) that this layer made waste.
    pub made_waste_bytes: ByteSize,
    /// Largest files of the layer.
    pub top_files: Vec<PathBytes>,
    /// Largest directories of the layer (bytes of the files below them in this layer).
    pub top_dirs: Vec<PathBytes>,
}

/// A path and a byte count.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PathBytes {
    /// The path.
    pub path: String,
    /// Bytes.
    pub bytes: ByteSize,
    /// For a file (`top_files`): whether these bytes are in the final filesystem; `false`
    /// when a later layer deleted the file or wrote its path again. Absent for directories.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub in_final: Option<bool>,
}

/// Sums over the layers.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    /// Number of layers.
    pub layers: usize,
    /// Sum of the blobs' stored sizes.
    pub compressed_bytes: ByteSize,
    /// Sum of the uncompressed tar lengths.
    pub tar_bytes: ByteSize,
    /// Sum of the layers' content bytes.
    pub content_bytes: ByteSize,
    /// Content bytes of the final merged filesystem (what a squashed image would hold).
    pub final_content_bytes: ByteSize,
    /// Regular files in the final filesystem.
    pub final_files: u64,
}

/// Waste by kind. `overwritten + deleted + metadata_only == reclaimable_bytes`; the other two
/// are bloat still present in the final filesystem, reported beside it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct WasteByKind {
    /// Content replaced later with different content.
    pub overwritten: ByteSize,
    /// Content removed later (whiteouts, opaque and directory deletes included).
    pub deleted: ByteSize,
    /// The same content stored again with new metadata (`chown -R`, `chmod -R`).
    pub metadata_only: ByteSize,
    /// Package-manager caches left in the final filesystem.
    pub package_cache: ByteSize,
    /// Identical content at several paths of the final filesystem (`null` unless `--dedupe`).
    pub duplicate_content: Option<ByteSize>,
}

/// Base image layers versus the image's own.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BaseSplit {
    /// The base as given (`--base`).
    pub reference: String,
    /// How many bottom layers equal the base's (by diff_id).
    pub layers: usize,
    /// Whether all of the base's layers were found at the bottom of the image.
    pub matches_fully: bool,
    /// Stored bytes of the base layers.
    pub base_compressed_bytes: ByteSize,
    /// Content bytes of the base layers.
    pub base_content_bytes: ByteSize,
    /// Stored bytes of the image's own layers.
    pub own_compressed_bytes: ByteSize,
    /// Content bytes of the image's own layers.
    pub own_content_bytes: ByteSize,
}

/// Several platforms side by side (`--all-platforms`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MultiPlatformReport {
    /// Always [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// One report per platform, in index order.
    pub platforms: Vec<LayersReport>,
}

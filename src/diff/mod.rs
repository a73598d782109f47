//! `imgopt diff OLD NEW`: what changed between two images, read like `imgopt layers` reads
//! them. Layers are matched by diff_id (the digest of the uncompressed tar, so the same layer
//! compressed twice is still the same layer); files by path in the final filesystem; packages
//! by manager and name. Every growth figure is an exact difference of the two reports' sums.
//!
//! Owns: the comparison and its model ([`DiffReport`]). Does not: read images (the CLI hands in
//! two [`LayersReport`]s made with `AnalysisOptions::final_files`) or render.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::digest::Digest;
use crate::layers::{LayerReport, LayersReport};

/// The JSON schema version of [`DiffReport`].
pub const SCHEMA_VERSION: u32 = 1;

/// What changed from one image to another.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DiffReport {
    /// Always [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The older image.
    pub old: ImageSummary,
    /// The newer image.
    pub new: ImageSummary,
    /// `new - old` for each total.
    pub growth: Growth,
    /// Layers both images have (by diff_id), and their stored bytes in the new image.
    pub shared_layers: usize,
    /// Stored bytes of the shared layers (what a node that has the old image need not pull).
    pub shared_compressed_bytes: u64,
    /// Layers of the new image the old one does not have, bottom first.
    pub added_layers: Vec<LayerChange>,
    /// Layers of the old image the new one does not have, bottom first.
    pub removed_layers: Vec<LayerChange>,
    /// Files of the final filesystems whose size changed, or that were added or removed, most
    /// growth first (at most `top`).
    pub files: Vec<FileChange>,
    /// How many files changed in all (the list above may be cut).
    pub files_changed: usize,
    /// Packages added, removed, or with another version or size, most growth first (at most
    /// `top`).
    pub packages: Vec<PackageChange>,
    /// How many packages changed in all.
    pub packages_changed: usize,
}

/// One image's totals.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ImageSummary {
    /// What was read (never a credential).
    pub source: String,
    /// The manifest digest, when the source has one.
    pub manifest_digest: Option<Digest>,
    /// Number of layers.
    pub layers: usize,
    /// Sum of the layer blobs as stored (what a pull transfers).
    pub compressed_bytes: u64,
    /// Sum of the uncompressed layer tars.
    pub tar_bytes: u64,
    /// Content bytes of the final filesystem.
    pub final_content_bytes: u64,
}

/// `new - old` for each total (negative when the image shrank).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Growth {
    /// Layers.
    pub layers: i64,
    /// Stored (compressed) bytes.
    pub compressed_bytes: i128,
    /// Uncompressed tar bytes.
    pub tar_bytes: i128,
    /// Content bytes of the final filesystem.
    pub final_content_bytes: i128,
}

/// A layer only one image has.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LayerChange {
    /// Its index in the image that has it.
    pub index: usize,
    /// Blob digest.
    pub digest: Digest,
    /// diff_id, when the config lists one.
    pub diff_id: Option<Digest>,
    /// Stored bytes.
    pub compressed_bytes: u64,
    /// Uncompressed tar bytes.
    pub tar_bytes: u64,
    /// The history step that made it.
    pub created_by: String,
}

/// A file whose size changed between the final filesystems.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FileChange {
    /// The path.
    pub path: String,
    /// Its size in the old image (`None`: not there).
    pub old_bytes: Option<u64>,
    /// Its size in the new image (`None`: removed).
    pub new_bytes: Option<u64>,
    /// `new - old` (a missing side counts as 0).
    pub delta: i128,
}

/// A package that was added, removed, or changed version or size.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PackageChange {
    /// `dpkg` or `apk`.
    pub manager: String,
    /// Package name.
    pub name: String,
    /// Version in the old image.
    pub old_version: Option<String>,
    /// Version in the new image.
    pub new_version: Option<String>,
    /// Content bytes in the old image.
    pub old_bytes: Option<u64>,
    /// Content bytes in the new image.
    pub new_bytes: Option<u64>,
    /// `new - old` (a missing side counts as 0).
    pub delta: i128,
}

fn summary(r: &LayersReport) -> ImageSummary {
    ImageSummary {
        source: r.source.clone(),
        manifest_digest: r.manifest_digest.clone(),
        layers: r.layers.len(),
        compressed_bytes: r.totals.compressed_bytes.0,
        tar_bytes: r.totals.tar_bytes.0,
        final_content_bytes: r.totals.final_content_bytes.0,
    }
}

/// A layer's identity: its diff_id, or its blob digest when the config lists none.
fn layer_key(l: &LayerReport) -> &Digest {
    l.diff_id.as_ref().unwrap_or(&l.digest)
}

fn change(l: &LayerReport) -> LayerChange {
    LayerChange {
        index: l.index,
        digest: l.digest.clone(),
        diff_id: l.diff_id.clone(),
        compressed_bytes: l.compressed_bytes.0,
        tar_bytes: l.tar_bytes.0,
        created_by: l.created_by.clone(),
    }
}

/// (manager, name) -> (version, bytes).
fn package_index(r: &LayersReport) -> BTreeMap<(&str, &str), (&str, u64)> {
    r.packages
        .iter()
        .map(|p| ((p.manager, p.name.as_str()), (p.version.as_str(), p.bytes)))
        .collect()
}

fn delta(old: Option<u64>, new: Option<u64>) -> i128 {
    i128::from(new.unwrap_or(0)) - i128::from(old.unwrap_or(0))
}

/// Most growth first, then the largest shrink, then by name: a stable order for output.
fn by_growth<T>(items: &mut [T], key: impl Fn(&T) -> (i128, &str)) {
    items.sort_by(|a, b| {
        let (da, na) = key(a);
        let (db, nb) = key(b);
        db.cmp(&da).then_with(|| na.cmp(nb))
    });
}

/// Compares `old` with `new`; `top` caps the file and package lists (0 keeps every change).
#[must_use]
pub fn compare(old: &LayersReport, new: &LayersReport, top: usize) -> DiffReport {
    let (o, n) = (summary(old), summary(new));
    let growth = Growth {
        layers: i64::try_from(n.layers).unwrap_or(i64::MAX) - i64::try_from(o.layers).unwrap_or(i64::MAX),
        compressed_bytes: delta(Some(o.compressed_bytes), Some(n.compressed_bytes)),
        tar_bytes: delta(Some(o.tar_bytes), Some(n.tar_bytes)),
        final_content_bytes: delta(Some(o.final_content_bytes), Some(n.final_content_bytes)),
    };

    let old_keys: BTreeSet<&Digest> = old.layers.iter().map(layer_key).collect();
    let new_keys: BTreeSet<&Digest> = new.layers.iter().map(layer_key).collect();
    let added_layers: Vec<LayerChange> = new
        .layers
        .iter()
        .filter(|l| !old_keys.contains(layer_key(l)))
        .map(change)
        .collect();
    let removed_layers: Vec<LayerChange> = old
        .layers
        .iter()
        .filter(|l| !new_keys.contains(layer_key(l)))
        .map(change)
        .collect();
    let shared: Vec<&LayerReport> = new.layers.iter().filter(|l| old_keys.contains(layer_key(l))).collect();
    let shared_compressed_bytes = shared.iter().fold(0u64, |a, l| a.saturating_add(l.compressed_bytes.0));

    let old_files: BTreeMap<&str, u64> = old.final_files.iter().map(|f| (f.path.as_str(), f.bytes.0)).collect();
    let new_files: BTreeMap<&str, u64> = new.final_files.iter().map(|f| (f.path.as_str(), f.bytes.0)).collect();
    let paths: BTreeSet<&str> = old_files.keys().chain(new_files.keys()).copied().collect();
    let mut files: Vec<FileChange> = paths
        .into_iter()
        .filter_map(|p| {
            let (a, b) = (old_files.get(p).copied(), new_files.get(p).copied());
            (a != b).then(|| FileChange {
                path: p.to_string(),
                old_bytes: a,
                new_bytes: b,
                delta: delta(a, b),
            })
        })
        .collect();
    by_growth(&mut files, |f| (f.delta, f.path.as_str()));
    let files_changed = files.len();
    if top > 0 {
        files.truncate(top);
    }

    let (old_pkgs, new_pkgs) = (package_index(old), package_index(new));
    let names: BTreeSet<(&str, &str)> = old_pkgs.keys().chain(new_pkgs.keys()).copied().collect();
    let mut packages: Vec<PackageChange> = names
        .into_iter()
        .filter_map(|k| {
            let (a, b) = (old_pkgs.get(&k), new_pkgs.get(&k));
            (a != b).then(|| PackageChange {
                manager: k.0.to_string(),
                name: k.1.to_string(),
                old_version: a.map(|v| v.0.to_string()),
                new_version: b.map(|v| v.0.to_string()),
                old_bytes: a.map(|v| v.1),
                new_bytes: b.map(|v| v.1),
                delta: delta(a.map(|v| v.1), b.map(|v| v.1)),
            })
        })
        .collect();
    by_growth(&mut packages, |p| (p.delta, p.name.as_str()));
    let packages_changed = packages.len();
    if top > 0 {
        packages.truncate(top);
    }

    DiffReport {
        schema_version: SCHEMA_VERSION,
        old: o,
        new: n,
        growth,
        shared_layers: shared.len(),
        shared_compressed_bytes,
        added_layers,
        removed_layers,
        files,
        files_changed,
        packages,
        packages_changed,
    }
}

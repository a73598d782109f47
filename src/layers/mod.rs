//! Layer analysis over any [`ImageSource`](crate::source::ImageSource): what each layer
//! stores, what reaches the final filesystem, and what is waste.
//!
//! Owns: stacking per-layer file trees ([`merge`]), whiteouts ([`whiteout`]), waste
//! attribution ([`waste`], [`merge`]), dive's score ([`dive`]), packages ([`packages`]),
//! history alignment ([`history`]), and the report model ([`report`]).
//! Does not: fetch or verify bytes (see `source`), decide pass/fail (see `policy`), or format
//! output (see `report`).
//!
//! The tar walk ([`scan`]) is synchronous and runs on a blocking thread per layer; only the
//! source is async. [`Analysis`] takes the per-layer [`LayerScan`]s bottom first and builds the
//! report; it never sees tar bytes, so it is unit-tested on in-memory scans.

pub mod base;
pub mod cache;
pub mod dive;
pub mod filetree;
pub mod history;
pub mod merge;
pub mod packages;
pub mod report;
pub mod scan;
pub mod waste;
pub mod whiteout;

use std::collections::{BTreeMap, HashMap};

use crate::digest::Digest;
use crate::source::History;
use crate::units::ByteSize;

pub use filetree::{Entry, EntryKind, LayerScan};
pub use report::{BaseSplit, LayerReport, LayersReport, MultiPlatformReport, PathBytes, Totals, WasteByKind};
pub use scan::{ScanError, ScanOptions};
pub use waste::{WasteItem, WasteKind};

/// What the analysis computes beyond the defaults.
#[derive(Clone, Copy, Debug)]
pub struct AnalysisOptions {
    /// Largest files and directories listed per layer.
    pub top: usize,
    /// Look for identical content at different paths (`--dedupe`).
    pub dedupe: bool,
}

impl Default for AnalysisOptions {
    fn default() -> Self {
        Self { top: 10, dedupe: false }
    }
}

/// What the source says about one layer (everything but its entries).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LayerMeta {
    /// Blob digest.
    pub digest: Digest,
    /// `rootfs.diff_ids` entry.
    pub diff_id: Option<Digest>,
    /// Media type as stored.
    pub media_type: String,
    /// `gzip`, `zstd` or `none`.
    pub compression: String,
    /// Stored blob size.
    pub compressed_bytes: u64,
    /// Decompressed tar length.
    pub tar_bytes: u64,
    /// Whether digest and diff_id were checked.
    pub verified: bool,
}

/// The image-level facts that go into the report header.
#[derive(Clone, Debug, Default)]
pub struct ImageMeta {
    /// Human label of the source.
    pub source: String,
    /// `os/arch[/variant]`.
    pub platform: Option<String>,
    /// Manifest digest.
    pub manifest_digest: Option<Digest>,
    /// Config digest.
    pub config_digest: Option<Digest>,
    /// The config's history.
    pub history: Vec<History>,
}

/// Builds a [`LayersReport`] from layers pushed bottom first.
pub struct Analysis {
    opts: AnalysisOptions,
    merger: merge::Merger,
    dive: dive::DiveEmulator,
    layers: Vec<LayerReport>,
    captured: BTreeMap<String, (usize, Vec<u8>)>,
    warnings: Vec<String>,
    all_hashed: bool,
}

fn top_lists(scan: &LayerScan, top: usize) -> (Vec<PathBytes>, Vec<PathBytes>) {
    let mut files: Vec<(&str, u64)> = scan
        .entries
        .iter()
        .filter(|e| e.kind == EntryKind::File && e.size > 0)
        .map(|e| (&*e.path, e.size))
        .collect();
    let mut dirs: HashMap<&str, u64> = HashMap::new();
    for (p, s) in &files {
        for anc in filetree::ancestors(p) {
            *dirs.entry(anc).or_default() += s;
        }
    }
    let by_size = |a: &(&str, u64), b: &(&str, u64)| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0));
    files.sort_by(by_size);
    let mut dirs: Vec<(&str, u64)> = dirs.into_iter().collect();
    dirs.sort_by(by_size);
    let conv = |v: Vec<(&str, u64)>| {
        v.into_iter().take(top).map(|(p, b)| PathBytes { path: p.to_string(), bytes: ByteSize(b) }).collect()
    };
    (conv(files), conv(dirs))
}

impl Analysis {
    /// A fresh analysis.
    #[must_use]
    pub fn new(opts: AnalysisOptions) -> Self {
        Self {
            opts,
            merger: merge::Merger::new(),
            dive: dive::DiveEmulator::new(),
            layers: Vec::new(),
            captured: BTreeMap::new(),
            warnings: Vec::new(),
            all_hashed: true,
        }
    }

    /// Adds the next layer (bottom first).
    pub fn push(&mut self, meta: LayerMeta, mut scan: LayerScan) {
        let index = self.layers.len();
        let (top_files, top_dirs) = top_lists(&scan, self.opts.top);
        self.dive.push_layer(&scan);
        self.merger.push_layer(&scan);
        let ch = self.merger.changes.last().copied().unwrap_or_default();
        for (p, bytes) in std::mem::take(&mut scan.captured) {
            self.captured.insert(p, (index, bytes));
        }
        for w in scan.warnings.drain(..) {
            self.warnings.push(format!("layer {index} ({}): {w}", meta.digest.short()));
        }
        self.all_hashed &= scan.hashed;
        self.layers.push(LayerReport {
            index,
            digest: meta.digest,
            diff_id: meta.diff_id,
            media_type: meta.media_type,
            compression: meta.compression,
            compressed_bytes: ByteSize(meta.compressed_bytes),
            tar_bytes: ByteSize(meta.tar_bytes),
            content_bytes: ByteSize(scan.content_bytes),
            entries: scan.entries.len() as u64,
            files_added: ch.files_added,
            files_modified: ch.files_modified,
            files_deleted: ch.files_deleted,
            created_by: String::new(),
            history_index: None,
            verified: meta.verified,
            wasted_bytes: ByteSize(0),
            top_files,
            top_dirs,
        });
    }

    /// Finishes the report.
    #[must_use]
    pub fn finish(mut self, image: ImageMeta) -> LayersReport {
        let (steps, warn) = history::align(&image.history, self.layers.len());
        if let Some(w) = warn {
            self.warnings.push(w);
        }
        for (layer, step) in self.layers.iter_mut().zip(steps) {
            if let Some(s) = step {
                layer.created_by = s.created_by;
                layer.history_index = Some(s.index);
            }
        }
        self.warnings.append(&mut self.merger.warnings);
        let stack = &self.merger.stack;

        // Cross-layer waste from the ledger.
        let mut waste: Vec<WasteItem> = Vec::with_capacity(self.merger.ledger.len());
        for (k, v) in &self.merger.ledger {
            if let Some(l) = self.layers.get_mut(k.stored_in as usize) {
                l.wasted_bytes.0 += v.bytes;
            }
            waste.push(WasteItem {
                path: k.path.to_string(),
                kind: k.kind,
                stored_in: k.stored_in as usize,
                made_waste_by: Some(k.made_waste_by as usize),
                bytes: v.bytes,
                files: v.files,
                cache: k.cache.map(str::to_string),
                duplicate_of: None,
            });
        }
        let (overwritten, deleted, metadata_only) = self.merger.totals();

        // Final-filesystem findings.
        let caches = waste::package_caches(stack);
        let package_cache: u64 = caches.iter().map(|w| w.bytes).sum();
        waste.extend(caches);
        let duplicate_content = if self.opts.dedupe {
            let d = waste::duplicates(stack);
            let sum = d.iter().map(|w| w.bytes).sum();
            waste.extend(d);
            Some(ByteSize(sum))
        } else {
            None
        };
        waste.sort_by(|a, b| {
            b.bytes.cmp(&a.bytes).then_with(|| a.path.cmp(&b.path)).then_with(|| a.kind.cmp(&b.kind))
        });

        // Packages, from the final versions of their databases.
        self.captured.retain(|p, (layer, _)| {
            stack.get(p.as_str()).is_some_and(|n| n.kind == EntryKind::File && n.layer as usize == *layer)
        });
        let packages = packages::attribute(&self.captured, stack);

        let final_bytes = self.merger.final_bytes();
        let final_files = stack.values().filter(|n| n.kind == EntryKind::File).count() as u64;
        let reclaimable = self.merger.shipped - final_bytes;
        debug_assert_eq!(reclaimable, overwritten + deleted + metadata_only, "waste kinds must sum to reclaimable");
        let totals = Totals {
            layers: self.layers.len(),
            compressed_bytes: ByteSize(self.layers.iter().map(|l| l.compressed_bytes.0).sum()),
            tar_bytes: ByteSize(self.layers.iter().map(|l| l.tar_bytes.0).sum()),
            content_bytes: ByteSize(self.merger.shipped),
            final_content_bytes: ByteSize(final_bytes),
            final_files,
        };
        let dive = self.dive.finish();
        LayersReport {
            schema_version: report::SCHEMA_VERSION,
            source: image.source,
            platform: image.platform,
            manifest_digest: image.manifest_digest,
            config_digest: image.config_digest,
            layers: self.layers,
            totals,
            efficiency: dive.efficiency,
            reclaimable_bytes: ByteSize(reclaimable),
            waste_by_kind: WasteByKind {
                overwritten: ByteSize(overwritten),
                deleted: ByteSize(deleted),
                metadata_only: ByteSize(metadata_only),
                package_cache: ByteSize(package_cache),
                duplicate_content,
            },
            waste,
            packages,
            dive,
            base: None,
            content_compared_by: if self.all_hashed { "content_hash" } else { "size_and_mtime" },
            warnings: self.warnings,
        }
    }
}

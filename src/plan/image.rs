//! Images as the planner sees them: plain data (layer digests with their unpacked and pulled
//! sizes), so a node's image cache is the **union** of layer digests (layers shared between
//! images, or with DaemonSet images, are stored and pulled once; containerd's content store is
//! addressed by digest, density.md section 1.5).
//!
//! Owns: [`Layer`], [`ImageLayers`], the interned [`LayerTable`] and [`LayerSet`].
//! [`ImageLayers::from_layers_report`] turns a measured image (`imgopt layers`) into this form.
//! Does not: read images (the CLI resolves references through the layers module).

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

/// One layer of an image.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Layer {
    /// Layer digest (or any label unique to the layer's content).
    pub digest: String,
    /// Bytes on the node's disk once unpacked (what the disk budget counts).
    pub size: u64,
    /// Bytes pulled from the registry (defaults to `size`).
    pub compressed_size: u64,
}

/// An image's layers, in order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ImageLayers {
    /// The layers.
    pub layers: Vec<Layer>,
}

impl ImageLayers {
    /// The planner's view of a measured image: per layer, `size` = the uncompressed tar length
    /// (`tar_bytes`: what the runtime unpacks onto the node's disk, file data plus tar headers
    /// rounded to 512 bytes, so a slight over-estimate of the files' bytes) and
    /// `compressed_size` = the blob as pulled (`compressed_bytes`).
    ///
    /// The layer's identity is its **chain ID** when the config lists diff_ids
    /// (`ChainID(L0) = DiffID(L0)`, `ChainID(Ln) = sha256(ChainID(Ln-1) + " " + DiffID(Ln))`,
    /// OCI image spec, config.md "Layer ChainID"): containerd names unpacked snapshots by it
    /// and skips pulling a layer whose snapshot exists, so the same tar on the same parents is
    /// stored and pulled once even when two images compress it differently. Without diff_ids
    /// the blob digest is used.
    #[must_use]
    pub fn from_layers_report(report: &crate::layers::LayersReport) -> Self {
        let mut chain: Option<String> = None;
        let mut layers = Vec::with_capacity(report.layers.len());
        for l in &report.layers {
            let digest = match (&l.diff_id, &chain) {
                (Some(d), None) => d.to_string(),
                (Some(d), Some(parent)) => {
                    crate::digest::Digest::sha256_of(format!("{parent} {d}").as_bytes()).to_string()
                }
                (None, _) => l.digest.to_string(),
            };
            chain = l.diff_id.as_ref().map(|_| digest.clone());
            layers.push(Layer {
                digest,
                size: l.tar_bytes.0,
                compressed_size: l.compressed_bytes.0,
            });
        }
        Self { layers }
    }
}

/// Layers interned by digest, so images share ids.
#[derive(Clone, Debug, Default)]
pub struct LayerTable {
    ids: HashMap<String, usize>,
    size: Vec<u64>,
    compressed: Vec<u64>,
}

impl LayerTable {
    /// An empty table.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Interns an image's layers and returns their ids (duplicates inside one image dropped).
    pub fn intern(&mut self, image: &ImageLayers) -> Vec<usize> {
        let mut out = Vec::with_capacity(image.layers.len());
        for l in &image.layers {
            let id = *self.ids.entry(l.digest.clone()).or_insert_with(|| {
                self.size.push(l.size);
                self.compressed.push(l.compressed_size);
                self.size.len() - 1
            });
            if !out.contains(&id) {
                out.push(id);
            }
        }
        out
    }

    /// Unpacked size of a layer.
    #[must_use]
    pub fn size(&self, id: usize) -> u64 {
        self.size[id]
    }

    /// Pulled size of a layer.
    #[must_use]
    pub fn compressed(&self, id: usize) -> u64 {
        self.compressed[id]
    }

    /// Number of distinct layers.
    #[must_use]
    pub fn len(&self) -> usize {
        self.size.len()
    }

    /// Whether the table is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.size.is_empty()
    }
}

/// A set of distinct layers with their unpacked sizes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LayerSet {
    layers: BTreeMap<usize, u64>,
}

impl LayerSet {
    /// Adds a layer; returns whether it was new.
    pub fn insert(&mut self, id: usize, size: u64) -> bool {
        self.layers.insert(id, size).is_none()
    }

    /// Whether the layer is present.
    #[must_use]
    pub fn contains(&self, id: usize) -> bool {
        self.layers.contains_key(&id)
    }

    /// Total unpacked bytes of the set.
    #[must_use]
    pub fn bytes(&self) -> u64 {
        // Saturating: sizes come from input (two 8 EiB layers must not wrap to a tiny cache).
        self.layers.values().fold(0, |a: u64, &b| a.saturating_add(b))
    }

    /// The layer ids.
    pub fn ids(&self) -> impl Iterator<Item = usize> + '_ {
        self.layers.keys().copied()
    }
}

//! Images as the planner sees them: plain data (layer digests with their unpacked and pulled
//! sizes), so a node's image cache is the **union** of layer digests (layers shared between
//! images, or with DaemonSet images, are stored and pulled once; containerd's content store is
//! addressed by digest, density.md section 1.5).
//!
//! Owns: [`Layer`], [`ImageLayers`], the interned [`LayerTable`] and [`LayerSet`].
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
        self.layers.values().sum()
    }

    /// The layer ids.
    pub fn ids(&self) -> impl Iterator<Item = usize> + '_ {
        self.layers.keys().copied()
    }
}

//! dive's efficiency score, computed exactly as dive 0.13 computes it, for comparability.
//!
//! Owns: an emulation of dive's per-layer trees (`filetree.AddPath`), its stacked tree
//! (`FileTree.Stack`) and its `Efficiency` visitor (`dive/filetree/efficiency.go`), quirks
//! included: see ../shared/reference/anchors.md section 2.
//! Does not: decide what is really reclaimable (see `merge`; dive double-counts overwrites and
//! misses directory deletes).
//!
//! The quirks reproduced on purpose, from dive's source:
//! - only leaf nodes of each layer's tree are visited, depth first with children sorted by name;
//! - a whiteout `.wh.X` counts as path `X`, with size 0 for a file and the sum of the subtree
//!   in the stacked lower layers for a directory;
//! - names starting with `.wh..wh..` (the opaque marker) are dropped from the tree, and opaque
//!   directories are not applied when stacking;
//! - parents created implicitly carry an empty payload (size 0, not a directory), and stacking
//!   an upper layer writes that empty payload over the lower node;
//! - a whiteout whose target is missing below stops the walk of that layer, after its path was
//!   entered with a minimum of -1.

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;
use std::sync::Arc;

use serde::Serialize;

use super::filetree::{EntryKind, LayerScan, component_cmp, is_below, join, split_parent};
use super::whiteout::PREFIX;

#[derive(Clone, Copy, Debug, Default)]
struct Payload {
    size: i64,
    is_dir: bool,
}

#[derive(Clone, Copy, Debug)]
struct Eff {
    count: u32,
    cum: i64,
    min: i64,
}

/// dive's numbers for an image.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DiveMetrics {
    /// dive's efficiency score, 0 to 1.
    pub efficiency: f64,
    /// dive's "potential wasted space": the cumulative size of every path seen in two or more
    /// layers (every copy, the kept one included).
    pub wasted_bytes: u64,
    /// `wasted_bytes` over the bytes of layers 1.. (dive counts only layer 0 as base).
    pub user_wasted_percent: Option<f64>,
    /// Paths dive lists as inefficient.
    pub inefficient_paths: u64,
    /// Whiteouts whose target dive could not find (each stops dive's walk of that layer).
    pub errors: Vec<String>,
}

/// Feeds layers, bottom first, through dive's algorithm.
#[derive(Default)]
pub struct DiveEmulator {
    stack: BTreeMap<Arc<str>, Payload>,
    eff: HashMap<Arc<str>, Eff>,
    layer_sizes: Vec<u64>,
    errors: Vec<String>,
}

impl DiveEmulator {
    /// A fresh emulator.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Processes the next layer: the efficiency visit against the layers below, then the stack.
    pub fn push_layer(&mut self, scan: &LayerScan) {
        self.push_tree(&LayerTree::of(scan));
    }

    /// [`DiveEmulator::push_layer`] with the layer's tree built beforehand (it depends on
    /// that layer alone, so it can be built while other layers are still being read).
    pub fn push_tree(&mut self, tree: &LayerTree) {
        let index = self.layer_sizes.len();
        self.layer_sizes.push(tree.content_bytes);
        self.visit(index, &tree.nodes);
        self.stack_layer(&tree.nodes);
    }

    fn visit(&mut self, index: usize, tree: &[(Arc<str>, Option<Payload>)]) {
        for (i, (path, payload)) in tree.iter().enumerate() {
            let is_leaf = tree.get(i + 1).is_none_or(|(next, _)| !is_below(next, path));
            if !is_leaf {
                continue;
            }
            let (dir, name) = split_parent(path);
            let whiteout = name.strip_prefix(PREFIX);
            let key: Arc<str> = match whiteout {
                Some(rest) => Arc::from(join(dir, rest)),
                None => path.clone(),
            };
            let size = if whiteout.is_some() {
                let Some(prev) = self.stack.get(&*key) else {
                    self.eff.entry(key.clone()).or_insert(Eff {
                        count: 0,
                        cum: 0,
                        min: -1,
                    });
                    self.errors.push(format!(
                        "layer {index}: whiteout for {key}, which the layers below lack"
                    ));
                    return;
                };
                if prev.is_dir { self.subtree_size(&key) } else { 0 }
            } else {
                payload.unwrap_or_default().size
            };
            let e = self.eff.entry(key).or_insert(Eff {
                count: 0,
                cum: 0,
                min: -1,
            });
            e.cum = e.cum.saturating_add(size);
            if e.min < 0 || size < e.min {
                e.min = size;
            }
            e.count += 1;
        }
    }

    fn subtree_size(&self, dir: &str) -> i64 {
        let lo = format!("{dir}/");
        let below: i64 = self
            .stack
            .range::<str, _>((Bound::Included(lo.as_str()), Bound::Unbounded))
            .take_while(|(k, _)| k.starts_with(lo.as_str()))
            .map(|(_, p)| p.size)
            .fold(0, i64::saturating_add);
        below.saturating_add(self.stack.get(dir).map_or(0, |p| p.size))
    }

    fn stack_layer(&mut self, tree: &[(Arc<str>, Option<Payload>)]) {
        // dive grafts the upper tree depth first, children before their parent.
        let mut open: Vec<usize> = Vec::new();
        let mut order: Vec<usize> = Vec::with_capacity(tree.len());
        for (i, (path, _)) in tree.iter().enumerate() {
            while let Some(&top) = open.last() {
                if is_below(path, &tree[top].0) {
                    break;
                }
                order.push(top);
                open.pop();
            }
            open.push(i);
        }
        while let Some(top) = open.pop() {
            order.push(top);
        }
        for i in order {
            let (path, payload) = &tree[i];
            let (dir, name) = split_parent(path);
            if let Some(rest) = name.strip_prefix(PREFIX) {
                let key = join(dir, rest);
                let lo = format!("{key}/");
                let doomed: Vec<Arc<str>> = self
                    .stack
                    .range::<str, _>((Bound::Included(lo.as_str()), Bound::Unbounded))
                    .take_while(|(k, _)| k.starts_with(lo.as_str()))
                    .map(|(k, _)| k.clone())
                    .collect();
                for k in doomed {
                    self.stack.remove(&k);
                }
                self.stack.remove(key.as_str());
            } else {
                let mut missing: Vec<&str> = Vec::new();
                for anc in super::filetree::ancestors(path) {
                    if self.stack.contains_key(anc) {
                        break;
                    }
                    missing.push(anc);
                }
                for anc in missing {
                    self.stack.insert(Arc::from(anc), Payload::default());
                }
                self.stack.insert(path.clone(), payload.unwrap_or_default());
            }
        }
    }

    /// The score and the numbers beside it.
    #[must_use]
    pub fn finish(&self) -> DiveMetrics {
        let mut minimum: i64 = 0;
        let mut discovered: i64 = 0;
        let mut wasted: i64 = 0;
        let mut inefficient = 0;
        // Sums only: the order does not matter.
        #[allow(clippy::iter_over_hash_type)]
        for e in self.eff.values() {
            minimum = minimum.saturating_add(e.min);
            discovered = discovered.saturating_add(e.cum);
            if e.count >= 2 {
                wasted = wasted.saturating_add(e.cum);
                inefficient += 1;
            }
        }
        #[allow(clippy::cast_precision_loss)]
        let efficiency = if discovered == 0 {
            1.0
        } else {
            minimum as f64 / discovered as f64
        };
        let user: u64 = super::filetree::saturating_sum(self.layer_sizes.iter().skip(1).copied());
        let wasted = u64::try_from(wasted).unwrap_or(0);
        #[allow(clippy::cast_precision_loss)]
        let user_wasted_percent = (user > 0).then(|| wasted as f64 / user as f64);
        DiveMetrics {
            efficiency,
            wasted_bytes: wasted,
            user_wasted_percent,
            inefficient_paths: inefficient,
            errors: self.errors.clone(),
        }
    }
}

/// One layer's tree as dive builds it, ready for [`DiveEmulator::push_tree`].
#[derive(Clone, Debug, Default)]
pub struct LayerTree {
    nodes: Vec<(Arc<str>, Option<Payload>)>,
    content_bytes: u64,
}

impl LayerTree {
    /// The tree of one layer's entries.
    #[must_use]
    pub fn of(scan: &LayerScan) -> Self {
        Self {
            nodes: layer_tree(scan),
            content_bytes: scan.content_bytes,
        }
    }
}

/// One layer's tree as dive builds it: every entry path plus implicit parents, names starting
/// with `.wh..wh..` cut off, last entry for a path wins; sorted depth-first by name.
fn layer_tree(scan: &LayerScan) -> Vec<(Arc<str>, Option<Payload>)> {
    let mut nodes: HashMap<Arc<str>, Option<Payload>> = HashMap::with_capacity(scan.entries.len());
    for e in &scan.entries {
        let path: &str = &e.path;
        // Cut at the first `.wh..wh..` component: dive never creates such a node.
        let mut cut = path.len();
        let mut start = 1;
        while start <= path.len() {
            let end = path[start..].find('/').map_or(path.len(), |i| start + i);
            if path[start..end].starts_with(".wh..wh..") {
                cut = start.saturating_sub(1);
                break;
            }
            start = end + 1;
        }
        let truncated = cut < path.len();
        let kept = &path[..cut];
        if kept.is_empty() {
            continue;
        }
        for anc in super::filetree::ancestors(kept) {
            if nodes.contains_key(anc) {
                break;
            }
            nodes.insert(Arc::from(anc), None);
        }
        if truncated {
            nodes.entry(Arc::from(kept)).or_insert(None);
        } else {
            let payload = Payload {
                // dive keeps sizes as int64; a larger size from the image stays at the top.
                size: i64::try_from(e.size).unwrap_or(i64::MAX),
                is_dir: e.kind == EntryKind::Dir,
            };
            nodes.insert(e.path.clone(), Some(payload));
        }
    }
    let mut v: Vec<(Arc<str>, Option<Payload>)> = nodes.into_iter().collect();
    v.sort_by(|a, b| component_cmp(&a.0, &b.0));
    v
}

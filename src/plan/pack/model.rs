//! The packing model: pods to place ([`Item`]), node types ([`BinType`]), a [`Problem`], a
//! solution ([`Packing`]), the state of one node being filled (`Open`: CPU, memory, pod slots,
//! `max_per_node`, and the image cache as the union of layer digests) and [`check`], which
//! verifies any packing independently of how it was built.

use std::time::Duration;

use serde::Serialize;

/// One kind of pod to place (all replicas of one service).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Item {
    /// CPU per pod in millicores.
    pub cpu: u64,
    /// Memory per pod in MiB.
    pub mem: u64,
    /// `max_per_node` (u64::MAX when unlimited).
    pub max_per_node: u64,
    /// Layer ids of the pod's image (empty when no image is given).
    pub layers: Vec<usize>,
    /// Number of replicas to place.
    pub count: u64,
    /// Extended resources per pod (`nvidia.com/gpu`, ...), indexed like [`BinType::ext`];
    /// empty when the pod asks for none.
    pub ext: Vec<u64>,
    /// The node types (indices into [`Problem::types`]) its node selector and required node
    /// affinity allow; empty when it has neither (every type).
    pub allowed: Vec<bool>,
}

impl Item {
    /// Whether its node selector and required node affinity allow node type `ty`.
    #[must_use]
    pub fn allowed_on(&self, ty: usize) -> bool {
        self.allowed.is_empty() || self.allowed.get(ty).copied().unwrap_or(false)
    }

    /// Its request of extended resource `r` (0 when it asks for none).
    #[must_use]
    pub fn ext(&self, r: usize) -> u64 {
        self.ext.get(r).copied().unwrap_or(0)
    }
}

/// One node type's packing capacity (free after DaemonSets and headroom).
#[derive(Clone, Debug, PartialEq)]
pub struct BinType {
    /// Free CPU.
    pub cpu: u64,
    /// Free memory.
    pub mem: u64,
    /// Free pod slots.
    pub pods: u64,
    /// Image budget in bytes (whole cache, DaemonSet layers included), if the type has a disk.
    pub disk: Option<u64>,
    /// Price per node-hour (1.0 for node-count problems).
    pub price: f64,
    /// Quota on nodes of this type.
    pub max_nodes: Option<u64>,
    /// Free extended resources (`nvidia.com/gpu`, ...), indexed like [`Item::ext`]; a resource
    /// past the end is 0 (the type does not have it).
    pub ext: Vec<u64>,
}

impl BinType {
    /// Its free amount of extended resource `r`.
    #[must_use]
    pub fn ext(&self, r: usize) -> u64 {
        self.ext.get(r).copied().unwrap_or(0)
    }
}

/// A packing problem: items, node types and the layer table.
#[derive(Clone, Debug)]
pub struct Problem {
    /// Items.
    pub items: Vec<Item>,
    /// Node types.
    pub types: Vec<BinType>,
    /// Unpacked size of every layer id.
    pub layer_size: Vec<u64>,
    /// Layers already on every node (DaemonSet images).
    pub base_layers: Vec<usize>,
}

impl Problem {
    /// Number of extended resources (the longest `ext` of any item).
    #[must_use]
    pub fn ext_len(&self) -> usize {
        self.items.iter().map(|i| i.ext.len()).max().unwrap_or(0)
    }

    /// Additive resources a node has: CPU, memory, pod slots, then every extended resource.
    #[must_use]
    pub fn dims(&self) -> usize {
        3 + self.ext_len()
    }

    /// What one pod of item `i` takes of resource `d` (see [`Problem::dims`]).
    #[must_use]
    pub fn size(&self, i: usize, d: usize) -> u64 {
        let it = &self.items[i];
        match d {
            0 => it.cpu,
            1 => it.mem,
            2 => 1,
            _ => it.ext(d - 3),
        }
    }

    /// What one node of type `ty` has of resource `d` (see [`Problem::dims`]).
    #[must_use]
    pub fn cap(&self, ty: usize, d: usize) -> u64 {
        let t = &self.types[ty];
        match d {
            0 => t.cpu,
            1 => t.mem,
            2 => t.pods,
            _ => t.ext(d - 3),
        }
    }
}

/// One node of a placement: its type index and how many pods of each item.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NodeFill {
    /// Node type index.
    pub ty: usize,
    /// (item index, count), sorted by item.
    pub pods: Vec<(usize, u64)>,
}

/// A solution: the nodes used.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Packing {
    /// Nodes.
    pub nodes: Vec<NodeFill>,
}

impl Packing {
    /// Total price per hour.
    #[must_use]
    pub fn cost(&self, p: &Problem) -> f64 {
        self.nodes.iter().map(|n| p.types[n.ty].price).sum()
    }
}

/// Limits for the exact search.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Branch-and-bound nodes before giving up on a proof.
    pub exact_nodes: u64,
    /// Wall-clock budget of the local search, and of the exact search, per problem (each).
    pub time: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            exact_nodes: 200_000,
            time: Duration::from_millis(500),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Node state and the fit check

#[derive(Clone, Debug)]
pub(super) struct Open {
    pub(super) ty: usize,
    pub(super) cpu: u64,
    pub(super) mem: u64,
    pub(super) pods: u64,
    pub(super) disk: u64,
    pub(super) counts: Vec<(usize, u64)>,
    pub(super) layers: Vec<u64>, // bitset over layer ids; empty when the type has no disk
    pub(super) ext: Vec<u64>,    // extended resources used, indexed like `Item::ext`
}

impl Open {
    pub(super) fn new(p: &Problem, ty: usize) -> Self {
        let mut o = Self {
            ty,
            cpu: 0,
            mem: 0,
            pods: 0,
            disk: 0,
            counts: Vec::new(),
            layers: Vec::new(),
            ext: Vec::new(),
        };
        if p.types[ty].disk.is_some() {
            o.layers = vec![0; p.layer_size.len().div_ceil(64)];
            for &l in &p.base_layers {
                if o.layers[l / 64] & (1 << (l % 64)) == 0 {
                    o.layers[l / 64] |= 1 << (l % 64);
                    o.disk = o.disk.saturating_add(p.layer_size[l]);
                }
            }
        }
        o
    }

    pub(super) fn count(&self, item: usize) -> u64 {
        self.counts.iter().find(|(i, _)| *i == item).map_or(0, |(_, c)| *c)
    }

    pub(super) fn extra_disk(&self, p: &Problem, item: usize) -> u64 {
        if self.layers.is_empty() {
            return 0;
        }
        p.items[item]
            .layers
            .iter()
            .filter(|&&l| self.layers[l / 64] & (1 << (l % 64)) == 0)
            .map(|&l| p.layer_size[l])
            .fold(0, u64::saturating_add)
    }

    /// How many more copies of `item` fit (capped at `want`).
    pub(super) fn room(&self, p: &Problem, item: usize, want: u64) -> u64 {
        let t = &p.types[self.ty];
        let it = &p.items[item];
        if !it.allowed_on(self.ty) {
            return 0;
        }
        // Cheapest checks first: most calls are rejections.
        let mut n = want.min(t.pods - self.pods);
        if let Some(c) = (t.cpu - self.cpu).checked_div(it.cpu) {
            n = n.min(c);
        }
        if let Some(m) = (t.mem - self.mem).checked_div(it.mem) {
            n = n.min(m);
        }
        if n > 0 && it.max_per_node != u64::MAX {
            n = n.min(it.max_per_node.saturating_sub(self.count(item)));
        }
        for (r, &need) in it.ext.iter().enumerate() {
            if n == 0 {
                break;
            }
            let used = self.ext.get(r).copied().unwrap_or(0);
            if let Some(m) = t.ext(r).saturating_sub(used).checked_div(need) {
                n = n.min(m);
            }
        }
        if n > 0
            && let Some(budget) = t.disk
            && self.disk.saturating_add(self.extra_disk(p, item)) > budget
        {
            return 0;
        }
        n
    }

    pub(super) fn add(&mut self, p: &Problem, item: usize, n: u64) {
        if n == 0 {
            return;
        }
        let it = &p.items[item];
        self.cpu += it.cpu * n;
        self.mem += it.mem * n;
        self.pods += n;
        if self.ext.len() < it.ext.len() {
            self.ext.resize(it.ext.len(), 0);
        }
        for (u, &need) in self.ext.iter_mut().zip(&it.ext) {
            *u = u.saturating_add(need.saturating_mul(n));
        }
        if !self.layers.is_empty() {
            for &l in &it.layers {
                if self.layers[l / 64] & (1 << (l % 64)) == 0 {
                    self.layers[l / 64] |= 1 << (l % 64);
                    self.disk = self.disk.saturating_add(p.layer_size[l]);
                }
            }
        }
        match self.counts.iter_mut().find(|(i, _)| *i == item) {
            Some((_, c)) => *c += n,
            None => self.counts.push((item, n)),
        }
    }

    pub(super) fn fill(&self) -> NodeFill {
        let mut pods = self.counts.clone();
        pods.retain(|(_, c)| *c > 0);
        pods.sort_unstable();
        NodeFill { ty: self.ty, pods }
    }

    /// Load as the largest used fraction of a resource.
    #[allow(clippy::cast_precision_loss)]
    pub(super) fn load(&self, p: &Problem) -> f64 {
        let t = &p.types[self.ty];
        let f = |u: u64, c: u64| if c == 0 { 0.0 } else { u as f64 / c as f64 };
        let ext: f64 = self.ext.iter().enumerate().map(|(r, &u)| f(u, t.ext(r))).sum();
        f(self.cpu, t.cpu) + f(self.mem, t.mem) + f(self.pods, t.pods) + ext
    }

    /// Extended resource `r` used on this node.
    pub(super) fn ext_used(&self, r: usize) -> u64 {
        self.ext.get(r).copied().unwrap_or(0)
    }
}

/// Whether `item` fits at least once on an empty node of type `ty`.
#[must_use]
pub fn fits_empty(p: &Problem, ty: usize, item: usize) -> bool {
    Open::new(p, ty).room(p, item, 1) == 1
}

/// Checks a packing independently of how it was built: every node within capacity and quota,
/// every replica placed exactly once. Returns the first problem found.
pub fn check(p: &Problem, packing: &Packing) -> Result<(), String> {
    let mut placed = vec![0u64; p.items.len()];
    let mut per_type = vec![0u64; p.types.len()];
    for (k, n) in packing.nodes.iter().enumerate() {
        let t = p.types.get(n.ty).ok_or(format!("node {k}: unknown type"))?;
        per_type[n.ty] += 1;
        let (mut cpu, mut mem, mut pods) = (0u64, 0u64, 0u64);
        let mut ext = vec![0u64; p.ext_len()];
        let mut layers: std::collections::BTreeSet<usize> = p.base_layers.iter().copied().collect();
        for &(i, c) in &n.pods {
            let it = p.items.get(i).ok_or(format!("node {k}: unknown item"))?;
            if c > 0 && !it.allowed_on(n.ty) {
                return Err(format!("node {k}: item {i} is not allowed on type {}", n.ty));
            }
            for (u, &need) in ext.iter_mut().zip(&it.ext) {
                *u = u.saturating_add(need.saturating_mul(c));
            }
            cpu = cpu.saturating_add(it.cpu.saturating_mul(c));
            mem = mem.saturating_add(it.mem.saturating_mul(c));
            pods = pods.saturating_add(c);
            placed[i] += c;
            if c > it.max_per_node {
                return Err(format!("node {k}: {c} pods of item {i} exceed max_per_node"));
            }
            layers.extend(it.layers.iter().copied());
        }
        if cpu > t.cpu || mem > t.mem || pods > t.pods {
            return Err(format!("node {k}: over capacity"));
        }
        if let Some(r) = (0..ext.len()).find(|&r| ext[r] > t.ext(r)) {
            return Err(format!("node {k}: over extended resource {r}"));
        }
        if let Some(b) = t.disk {
            let used: u64 = layers.iter().map(|&l| p.layer_size[l]).fold(0, u64::saturating_add);
            if used > b {
                return Err(format!("node {k}: image cache over budget"));
            }
        }
    }
    for (i, it) in p.items.iter().enumerate() {
        if placed[i] != it.count {
            return Err(format!("item {i}: placed {} of {}", placed[i], it.count));
        }
    }
    for (t, bt) in p.types.iter().enumerate() {
        if bt.max_nodes.is_some_and(|m| per_type[t] > m) {
            return Err(format!("type {t}: over max_nodes"));
        }
    }
    Ok(())
}

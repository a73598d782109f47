//! Packing every replica onto nodes: the fewest nodes of one type, the cheapest mix of types,
//! first-fit-decreasing baselines, lower bounds and a proof of optimality where one is found.
//!
//! Owns: the vector bin-packing engine (CPU, memory, pod slots, per-service `max_per_node`, and
//! the image cache as the union of layer digests on the node). Algorithms:
//! * **FFD** in the cluster-autoscaler ordering (`cpu/alloc_cpu + mem/alloc_mem`, descending;
//!   `kubernetes/autoscaler` estimator/decreasing_pod_orderer.go) and the Karpenter ordering
//!   (CPU then memory, descending; `kubernetes-sigs/karpenter` queue.go) — the baselines.
//! * imgopt's heuristic: several decreasing orders with first fit and best fit, plus a
//!   node-centric "dot product" fill (Panigrahy et al., *Heuristics for Vector Bin Packing*),
//!   then a local search that tries to empty the least-loaded nodes. The best result is kept
//!   and it is never worse than either FFD (FFD is one of the candidates).
//! * Lower bounds: volume (per resource), `max_per_node`, and Martello–Toth L2 per dimension
//!   for one type; for several types, a per-resource unit-price bound and the LP relaxation
//!   (good_lp + microlp) of the assignment model.
//! * Exact: a bin-completion branch and bound over maximal node patterns with a node limit;
//!   `optimal` is true only when the search finished or the value meets the lower bound.
//!
//! Does not: decide what a service's request is (see `pod`) or read files.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

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
struct Open {
    ty: usize,
    cpu: u64,
    mem: u64,
    pods: u64,
    disk: u64,
    counts: Vec<(usize, u64)>,
    layers: Vec<u64>, // bitset over layer ids; empty when the type has no disk
}

impl Open {
    fn new(p: &Problem, ty: usize) -> Self {
        let mut o = Self {
            ty,
            cpu: 0,
            mem: 0,
            pods: 0,
            disk: 0,
            counts: Vec::new(),
            layers: Vec::new(),
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

    fn count(&self, item: usize) -> u64 {
        self.counts.iter().find(|(i, _)| *i == item).map_or(0, |(_, c)| *c)
    }

    fn extra_disk(&self, p: &Problem, item: usize) -> u64 {
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
    fn room(&self, p: &Problem, item: usize, want: u64) -> u64 {
        let t = &p.types[self.ty];
        let it = &p.items[item];
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
        if n > 0
            && let Some(budget) = t.disk
            && self.disk.saturating_add(self.extra_disk(p, item)) > budget
        {
            return 0;
        }
        n
    }

    fn add(&mut self, p: &Problem, item: usize, n: u64) {
        if n == 0 {
            return;
        }
        let it = &p.items[item];
        self.cpu += it.cpu * n;
        self.mem += it.mem * n;
        self.pods += n;
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

    fn fill(&self) -> NodeFill {
        let mut pods = self.counts.clone();
        pods.retain(|(_, c)| *c > 0);
        pods.sort_unstable();
        NodeFill { ty: self.ty, pods }
    }

    /// Load as the largest used fraction of a resource.
    #[allow(clippy::cast_precision_loss)]
    fn load(&self, p: &Problem) -> f64 {
        let t = &p.types[self.ty];
        let f = |u: u64, c: u64| if c == 0 { 0.0 } else { u as f64 / c as f64 };
        f(self.cpu, t.cpu) + f(self.mem, t.mem) + f(self.pods, t.pods)
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
        let mut layers: std::collections::BTreeSet<usize> = p.base_layers.iter().copied().collect();
        for &(i, c) in &n.pods {
            let it = p.items.get(i).ok_or(format!("node {k}: unknown item"))?;
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

// ---------------------------------------------------------------------------------------------
// Greedy packers for one node type

/// The orderings a decreasing packer can use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Order {
    /// cluster-autoscaler: `cpu/alloc_cpu + mem/alloc_mem`, descending.
    ClusterAutoscaler,
    /// Karpenter: CPU descending, then memory descending.
    Karpenter,
    /// Largest normalised dimension first.
    MaxDim,
    /// Largest product of normalised CPU and memory first.
    Product,
    /// Image size first (groups pods that need big images).
    Image,
}

#[allow(clippy::cast_precision_loss)]
fn sorted_items(p: &Problem, ty: usize, order: Order) -> Vec<usize> {
    let t = &p.types[ty];
    let nc = |i: usize| p.items[i].cpu as f64 / t.cpu.max(1) as f64;
    let nm = |i: usize| p.items[i].mem as f64 / t.mem.max(1) as f64;
    let img = |i: usize| p.items[i].layers.iter().map(|&l| p.layer_size[l]).sum::<u64>();
    let mut idx: Vec<usize> = (0..p.items.len()).filter(|&i| p.items[i].count > 0).collect();
    match order {
        Order::ClusterAutoscaler => idx.sort_by(|&a, &b| (nc(b) + nm(b)).total_cmp(&(nc(a) + nm(a))).then(a.cmp(&b))),
        Order::Karpenter => {
            idx.sort_by(|&a, &b| {
                (p.items[b].cpu, p.items[b].mem)
                    .cmp(&(p.items[a].cpu, p.items[a].mem))
                    .then(a.cmp(&b))
            });
        }
        Order::MaxDim => idx.sort_by(|&a, &b| nc(b).max(nm(b)).total_cmp(&nc(a).max(nm(a))).then(a.cmp(&b))),
        Order::Product => idx.sort_by(|&a, &b| {
            ((nc(b) + 0.01) * (nm(b) + 0.01))
                .total_cmp(&((nc(a) + 0.01) * (nm(a) + 0.01)))
                .then(a.cmp(&b))
        }),
        Order::Image => idx.sort_by(|&a, &b| {
            img(b)
                .cmp(&img(a))
                .then((nc(b) + nm(b)).total_cmp(&(nc(a) + nm(a))))
                .then(a.cmp(&b))
        }),
    }
    idx
}

/// First-fit decreasing on one node type; `None` if some item fits no empty node.
#[must_use]
pub fn ffd(p: &Problem, ty: usize, order: Order) -> Option<Packing> {
    let mut nodes: Vec<Open> = Vec::new();
    for i in sorted_items(p, ty, order) {
        let mut left = p.items[i].count;
        let mut start = 0;
        while left > 0 {
            let mut k = start;
            while k < nodes.len() {
                let r = nodes[k].room(p, i, left);
                if r > 0 {
                    // Identical pods: first fit places them one by one into the same node
                    // until it is full, which equals adding `r` at once.
                    nodes[k].add(p, i, r);
                    left -= r;
                    if left == 0 {
                        break;
                    }
                }
                k += 1;
            }
            start = k.min(nodes.len());
            if left > 0 {
                let mut o = Open::new(p, ty);
                let r = o.room(p, i, left);
                if r == 0 {
                    return None;
                }
                o.add(p, i, r);
                left -= r;
                nodes.push(o);
                start = nodes.len() - 1;
            }
        }
    }
    Some(Packing {
        nodes: nodes.iter().map(Open::fill).collect(),
    })
}

/// Best-fit decreasing: each pod goes to the fullest node that still holds it.
fn bfd(p: &Problem, ty: usize, order: Order) -> Option<Packing> {
    let mut nodes: Vec<Open> = Vec::new();
    for i in sorted_items(p, ty, order) {
        let mut left = p.items[i].count;
        while left > 0 {
            let mut best: Option<(usize, f64)> = None;
            for (k, n) in nodes.iter().enumerate() {
                if n.room(p, i, 1) > 0 {
                    let l = n.load(p);
                    if best.is_none_or(|(_, bl)| l > bl) {
                        best = Some((k, l));
                    }
                }
            }
            let k = match best {
                Some((k, _)) => k,
                None => {
                    let o = Open::new(p, ty);
                    if o.room(p, i, 1) == 0 {
                        return None;
                    }
                    nodes.push(o);
                    nodes.len() - 1
                }
            };
            nodes[k].add(p, i, 1);
            left -= 1;
        }
    }
    Some(Packing {
        nodes: nodes.iter().map(Open::fill).collect(),
    })
}

/// Largest remaining services a node-centric fill considers.
const WINDOW: usize = 48;
/// Smallest remaining services a node-centric fill considers.
const TAIL: usize = 16;

/// Fills one empty node of type `ty` from `remaining`, always adding the pod whose normalised
/// request best matches the node's normalised residual capacity (dot product).
#[allow(clippy::cast_precision_loss)]
fn dot_fill(p: &Problem, ty: usize, remaining: &[u64], candidates: &[usize]) -> Open {
    let t = &p.types[ty];
    let mut node = Open::new(p, ty);
    // Consider the largest remaining pods and the smallest ones (gap fillers): a window keeps
    // each step cheap on inputs with thousands of services.
    let live: Vec<usize> = candidates.iter().copied().filter(|&i| remaining[i] > 0).collect();
    let mut cand: Vec<usize> = if live.len() > WINDOW + TAIL {
        live[..WINDOW]
            .iter()
            .chain(&live[live.len() - TAIL..])
            .copied()
            .collect()
    } else {
        live
    };
    let (c, m, s) = (t.cpu.max(1) as f64, t.mem.max(1) as f64, t.pods.max(1) as f64);
    loop {
        let rc = (t.cpu - node.cpu) as f64 / c;
        let rm = (t.mem - node.mem) as f64 / m;
        let rs = (t.pods - node.pods) as f64 / s;
        let mut best: Option<(usize, f64)> = None;
        cand.retain(|&i| {
            let left = remaining[i] - node.count(i);
            left > 0 && node.room(p, i, 1) > 0
        });
        for &i in &cand {
            let it = &p.items[i];
            let score = it.cpu as f64 / c * rc + it.mem as f64 / m * rm + 1.0 / s * rs;
            if best.is_none_or(|(_, b)| score > b) {
                best = Some((i, score));
            }
        }
        match best {
            Some((i, _)) => node.add(p, i, 1),
            None => break,
        }
    }
    node
}

fn dot_product(p: &Problem, ty: usize) -> Option<Packing> {
    let mut remaining: Vec<u64> = p.items.iter().map(|i| i.count).collect();
    let cand: Vec<usize> = sorted_items(p, ty, Order::ClusterAutoscaler);
    let mut nodes = Vec::new();
    while remaining.iter().any(|&r| r > 0) {
        let node = dot_fill(p, ty, &remaining, &cand);
        if node.pods == 0 {
            return None;
        }
        for &(i, c) in &node.counts {
            remaining[i] -= c;
        }
        nodes.push(node.fill());
    }
    Some(Packing { nodes })
}

/// Rebuilds open-node state from a packing.
fn reopen(p: &Problem, packing: &Packing) -> Vec<Open> {
    packing
        .nodes
        .iter()
        .map(|n| {
            let mut o = Open::new(p, n.ty);
            for &(i, c) in &n.pods {
                o.add(p, i, c);
            }
            o
        })
        .collect()
}

/// Local search: repeatedly try to empty the least-loaded node by moving its pods into the
/// other nodes (best fit). Keeps every successful emptying.
fn empty_nodes(p: &Problem, packing: &Packing, deadline: Instant) -> Packing {
    let mut nodes = reopen(p, packing);
    loop {
        if Instant::now() > deadline || nodes.len() <= 1 {
            break;
        }
        // Candidates in increasing load; try a few of the lightest.
        let mut order: Vec<usize> = (0..nodes.len()).collect();
        order.sort_by(|&a, &b| nodes[a].load(p).total_cmp(&nodes[b].load(p)));
        let mut improved = false;
        for &victim in order.iter().take(8) {
            if Instant::now() > deadline {
                break;
            }
            let mut trial = nodes.clone();
            let moving = trial[victim].counts.clone();
            let mut ok = true;
            'pods: for (i, c) in moving {
                for _ in 0..c {
                    let mut best: Option<(usize, f64)> = None;
                    for (k, n) in trial.iter().enumerate() {
                        if k != victim && n.room(p, i, 1) > 0 {
                            let l = n.load(p);
                            if best.is_none_or(|(_, bl)| l > bl) {
                                best = Some((k, l));
                            }
                        }
                    }
                    match best {
                        Some((k, _)) => trial[k].add(p, i, 1),
                        None => {
                            ok = false;
                            break 'pods;
                        }
                    }
                }
            }
            if ok {
                trial.remove(victim);
                nodes = trial;
                improved = true;
                break;
            }
        }
        if !improved {
            break;
        }
    }
    Packing {
        nodes: nodes.iter().map(Open::fill).collect(),
    }
}

// ---------------------------------------------------------------------------------------------
// Lower bounds for one node type

/// Martello–Toth L2 for one dimension: `sizes` as (size, multiplicity), capacity `cap`.
fn l2(sizes: &[(u64, u64)], cap: u64) -> u64 {
    if cap == 0 {
        return 0;
    }
    let mut ks: Vec<u64> = sizes.iter().map(|&(s, _)| s).filter(|&s| s <= cap / 2).collect();
    ks.push(0);
    ks.sort_unstable();
    ks.dedup();
    let mut best = 0;
    for k in ks {
        let (mut n1, mut n2, mut s2, mut s3) = (0u64, 0u64, 0u128, 0u128);
        for &(s, m) in sizes {
            if s > cap - k {
                n1 += m;
            } else if 2 * s > cap {
                n2 += m;
                s2 += u128::from(s) * u128::from(m);
            } else if s >= k {
                s3 += u128::from(s) * u128::from(m);
            }
        }
        let free = u128::from(n2) * u128::from(cap) - s2;
        let extra = u64::try_from(s3.saturating_sub(free).div_ceil(u128::from(cap))).unwrap_or(u64::MAX);
        best = best.max(n1 + n2 + extra);
    }
    best
}

/// A lower bound on the nodes of type `ty` that hold `counts` (items that do not fit are ignored).
#[must_use]
pub fn lower_bound(p: &Problem, ty: usize, counts: &[u64]) -> u64 {
    bound_parts(p, ty, counts).max()
}

/// The parts of [`lower_bound`], each a valid bound on its own.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BoundParts {
    /// Volume: total CPU, memory or pod slots over one node's (the largest of the three).
    pub volume: u64,
    /// `max_per_node`: replicas over the most per node, for the tightest service.
    pub max_per_node: u64,
    /// Martello–Toth L2 over CPU and over memory (the larger); `None` above 4,000 services,
    /// where it is skipped.
    pub l2: Option<u64>,
}

impl BoundParts {
    /// The bound: the largest part.
    #[must_use]
    pub fn max(&self) -> u64 {
        self.volume.max(self.max_per_node).max(self.l2.unwrap_or(0))
    }
}

/// Computes the parts of [`lower_bound`].
#[must_use]
pub fn bound_parts(p: &Problem, ty: usize, counts: &[u64]) -> BoundParts {
    let t = &p.types[ty];
    let live = |i: usize| counts[i] > 0;
    let sum = |f: &dyn Fn(&Item) -> u64| -> u128 {
        (0..p.items.len())
            .filter(|&i| live(i))
            .map(|i| u128::from(f(&p.items[i])) * u128::from(counts[i]))
            .sum()
    };
    let div = |a: u128, b: u64| {
        if b == 0 {
            0
        } else {
            u64::try_from(a.div_ceil(u128::from(b))).unwrap_or(u64::MAX)
        }
    };
    let volume = div(sum(&|i| i.cpu), t.cpu)
        .max(div(sum(&|i| i.mem), t.mem))
        .max(div(sum(&|_| 1), t.pods));
    let mut max_per_node = 0;
    for i in (0..p.items.len()).filter(|&i| live(i)) {
        max_per_node = max_per_node.max(counts[i].div_ceil(p.items[i].max_per_node.max(1)));
    }
    let cpu: Vec<(u64, u64)> = (0..p.items.len())
        .filter(|&i| live(i))
        .map(|i| (p.items[i].cpu, counts[i]))
        .collect();
    let mem: Vec<(u64, u64)> = (0..p.items.len())
        .filter(|&i| live(i))
        .map(|i| (p.items[i].mem, counts[i]))
        .collect();
    let l2 = (p.items.len() <= 4000).then(|| l2(&cpu, t.cpu).max(l2(&mem, t.mem)));
    BoundParts {
        volume,
        max_per_node,
        l2,
    }
}

// ---------------------------------------------------------------------------------------------
// Exact branch and bound (bin completion)

struct Bnb<'a> {
    p: &'a Problem,
    types: Vec<usize>,
    nodes_left: u64,
    aborted: bool,
    best_cost: f64,
    best: Option<Vec<NodeFill>>,
    stack: Vec<NodeFill>,
    seen: HashMap<Vec<u64>, f64>,
    deadline: Instant,
    cost_lb: &'a dyn Fn(&[u64], &[u64]) -> f64,
    used: Vec<u64>,
    /// A pattern enumeration was cut short: the search is no longer a proof.
    truncated: bool,
    /// The search stopped at its deadline (else, when aborted, at its node limit).
    timed_out: bool,
}

impl Bnb<'_> {
    fn run(&mut self, remaining: &mut Vec<u64>, cost: f64) {
        if self.aborted {
            return;
        }
        if self.nodes_left == 0 || (self.nodes_left.is_multiple_of(1024) && Instant::now() > self.deadline) {
            self.aborted = true;
            self.timed_out = self.nodes_left > 0;
            return;
        }
        self.nodes_left -= 1;
        let Some(first) = self.pick(remaining) else {
            if cost < self.best_cost - 1e-9 {
                self.best_cost = cost;
                self.best = Some(self.stack.clone());
            }
            return;
        };
        if cost + (self.cost_lb)(remaining, &self.used) >= self.best_cost - 1e-9 {
            return;
        }
        let mut key = remaining.clone();
        key.extend_from_slice(&self.used);
        if let Some(&c) = self.seen.get(&key)
            && c <= cost + 1e-9
        {
            return;
        }
        self.seen.insert(key, cost);
        for ti in 0..self.types.len() {
            let ty = self.types[ti];
            let t = &self.p.types[ty];
            if t.max_nodes.is_some_and(|m| self.used[ti] >= m) {
                continue;
            }
            let node = Open::new(self.p, ty);
            if node.room(self.p, first, 1) == 0 {
                continue;
            }
            let mut patterns = Vec::new();
            let order: Vec<usize> = (0..remaining.len()).filter(|&i| remaining[i] > 0).collect();
            let mut node = node;
            let n = node.room(self.p, first, remaining[first]);
            // The first item must be in this node with at least one copy; try more copies first.
            for c in (1..=n).rev() {
                let mut nn = node.clone();
                nn.add(self.p, first, c);
                enumerate(self.p, &order, 0, first, remaining, &mut nn, &mut patterns, 64);
                if patterns.len() > MAX_PATTERNS {
                    self.truncated = true;
                    break;
                }
            }
            node = Open::new(self.p, ty);
            let _ = node;
            self.used[ti] += 1;
            patterns.dedup();
            for pat in patterns {
                for &(i, c) in &pat.pods {
                    remaining[i] -= c;
                }
                self.stack.push(pat.clone());
                self.run(remaining, cost + t.price);
                self.stack.pop();
                for &(i, c) in &pat.pods {
                    remaining[i] += c;
                }
                if self.aborted {
                    break;
                }
            }
            self.used[ti] -= 1;
            if self.aborted {
                return;
            }
        }
    }

    /// The remaining item with the largest normalised size (it must go somewhere).
    #[allow(clippy::cast_precision_loss)]
    fn pick(&self, remaining: &[u64]) -> Option<usize> {
        let t = &self.p.types[self.types[0]];
        (0..remaining.len()).filter(|&i| remaining[i] > 0).max_by(|&a, &b| {
            let s = |i: usize| {
                let it = &self.p.items[i];
                (it.cpu as f64 / t.cpu.max(1) as f64).max(it.mem as f64 / t.mem.max(1) as f64)
            };
            s(a).total_cmp(&s(b)).then(b.cmp(&a))
        })
    }
}

/// Enumerates maximal completions of `node` using items `order[pos..]` (other than `first`,
/// which is already placed as often as chosen).
#[allow(clippy::too_many_arguments)]
fn enumerate(
    p: &Problem,
    order: &[usize],
    pos: usize,
    first: usize,
    remaining: &[u64],
    node: &mut Open,
    out: &mut Vec<NodeFill>,
    limit_depth: u32,
) {
    if out.len() > MAX_PATTERNS || limit_depth == 0 {
        // Signal truncation to the caller by overfilling.
        if limit_depth == 0 {
            out.extend(std::iter::repeat_n(node.fill(), MAX_PATTERNS + 1));
        }
        return;
    }
    let mut pos = pos;
    while pos < order.len() && (order[pos] == first || node.room(p, order[pos], remaining[order[pos]]) == 0) {
        pos += 1;
    }
    if pos == order.len() {
        // Maximal: nothing that remains can be added (items skipped earlier were given a count).
        let maximal = order.iter().all(|&i| {
            let left = remaining[i] - node.count(i);
            left == 0 || node.room(p, i, 1) == 0
        });
        if maximal {
            out.push(node.fill());
        }
        return;
    }
    let i = order[pos];
    let n = node.room(p, i, remaining[i]);
    for c in (0..=n).rev() {
        let mut nn = node.clone();
        nn.add(p, i, c);
        enumerate(p, order, pos + 1, first, remaining, &mut nn, out, limit_depth - 1);
        if out.len() > MAX_PATTERNS {
            return;
        }
    }
}

/// The exact search is tried up to this many services with replicas left ...
const EXACT_MAX_SERVICES: usize = 16;
/// ... and this many pods; beyond that the heuristic, the bound and the gap are reported.
const EXACT_MAX_PODS: u64 = 400;

/// Patterns enumerated per branching step before the search stops being a proof.
const MAX_PATTERNS: usize = 4096;

/// Result of an exact attempt.
struct Exact {
    packing: Option<Packing>,
    proven: bool,
    outcome: ExactOutcome,
}

/// How the exact branch and bound went (for `--verbose`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExactOutcome {
    /// Not needed: the heuristic's result already met the lower bound.
    NotNeeded,
    /// Not tried: too many services or pods for the search.
    TooLarge {
        /// Services with replicas to place.
        services: usize,
        /// Pods to place.
        pods: u64,
    },
    /// The search finished: the result is proven optimal.
    Proven {
        /// Search nodes explored.
        explored: u64,
    },
    /// Stopped at `--exact-node-limit` search nodes.
    NodeLimit {
        /// Search nodes explored.
        explored: u64,
    },
    /// Stopped at the time budget.
    TimeLimit {
        /// Search nodes explored.
        explored: u64,
    },
    /// A node had too many fill patterns to enumerate, so the search is no proof.
    PatternLimit {
        /// Search nodes explored.
        explored: u64,
    },
}

fn exact(
    p: &Problem,
    types: &[usize],
    upper: f64,
    lb: &dyn Fn(&[u64], &[u64]) -> f64,
    limits: Limits,
    deadline: Instant,
) -> Exact {
    let mut b = Bnb {
        p,
        types: types.to_vec(),
        nodes_left: limits.exact_nodes,
        aborted: false,
        best_cost: upper,
        best: None,
        stack: Vec::new(),
        seen: HashMap::new(),
        deadline,
        cost_lb: lb,
        used: vec![0; types.len()],
        truncated: false,
        timed_out: false,
    };
    let mut remaining: Vec<u64> = p.items.iter().map(|i| i.count).collect();
    b.run(&mut remaining, 0.0);
    let explored = limits.exact_nodes - b.nodes_left;
    let outcome = if b.timed_out {
        ExactOutcome::TimeLimit { explored }
    } else if b.aborted {
        ExactOutcome::NodeLimit { explored }
    } else if b.truncated {
        ExactOutcome::PatternLimit { explored }
    } else {
        ExactOutcome::Proven { explored }
    };
    Exact {
        packing: b.best.map(|nodes| Packing { nodes }),
        proven: !b.aborted && !b.truncated,
        outcome,
    }
}

// ---------------------------------------------------------------------------------------------
// Results

/// The plan for one node type.
#[derive(Clone, Debug, PartialEq)]
pub struct SinglePlan {
    /// imgopt's packing.
    pub packing: Packing,
    /// Lower bound on the node count.
    pub lower_bound: u64,
    /// Whether the node count is proven minimal.
    pub optimal: bool,
    /// FFD, cluster-autoscaler ordering.
    pub ffd_ca: Packing,
    /// FFD, Karpenter ordering.
    pub ffd_karpenter: Packing,
}

/// How [`plan_single_traced`] found its plan (for `--verbose`; timings vary between runs).
#[derive(Clone, Debug, PartialEq)]
pub struct SingleTrace {
    /// The combinatorial bounds before the LP.
    pub bounds: BoundParts,
    /// Whether the configuration LP was tried (it is skipped when a heuristic already meets
    /// the combinatorial bound).
    pub lp_tried: bool,
    /// The configuration LP's bound; `None` when it was not tried or not solved (too many
    /// services or patterns, or not optimal within the time budget).
    pub lp: Option<u64>,
    /// Nodes after FFD (the better of the two orderings).
    pub ffd_nodes: u64,
    /// Nodes after the constructive heuristics (FFD included), when they ran.
    pub heuristic_nodes: Option<u64>,
    /// Nodes after the local search, when it ran.
    pub local_search_nodes: Option<u64>,
    /// What produced the final packing: `ffd`, `heuristic`, `local search`, `LP rounding` or
    /// `exact search`.
    pub found_by: &'static str,
    /// How the exact search went.
    pub exact: ExactOutcome,
    /// Time in FFD and the constructive heuristics.
    pub heuristic_time: Duration,
    /// Time in the local search.
    pub local_search_time: Duration,
    /// Time in the configuration LP.
    pub lp_time: Duration,
    /// Time in the exact search.
    pub exact_time: Duration,
}

/// Plans all items onto nodes of type `ty` (items must each fit an empty node of that type).
#[must_use]
pub fn plan_single(p: &Problem, ty: usize, limits: Limits) -> Option<SinglePlan> {
    plan_single_traced(p, ty, limits).map(|(plan, _)| plan)
}

/// [`plan_single`], and how the plan was found.
#[must_use]
pub fn plan_single_traced(p: &Problem, ty: usize, limits: Limits) -> Option<(SinglePlan, SingleTrace)> {
    let start = Instant::now();
    let deadline = start + limits.time;
    let ffd_ca = ffd(p, ty, Order::ClusterAutoscaler)?;
    let ffd_karpenter = ffd(p, ty, Order::Karpenter)?;
    let counts: Vec<u64> = p.items.iter().map(|i| i.count).collect();
    let bounds = bound_parts(p, ty, &counts);
    let lb = bounds.max();
    let mut best = if ffd_karpenter.nodes.len() < ffd_ca.nodes.len() {
        ffd_karpenter.clone()
    } else {
        ffd_ca.clone()
    };
    let mut trace = SingleTrace {
        bounds,
        lp_tried: false,
        lp: None,
        ffd_nodes: best.nodes.len() as u64,
        heuristic_nodes: None,
        local_search_nodes: None,
        found_by: "ffd",
        exact: ExactOutcome::NotNeeded,
        heuristic_time: Duration::ZERO,
        local_search_time: Duration::ZERO,
        lp_time: Duration::ZERO,
        exact_time: Duration::ZERO,
    };
    let consider = |cand: Option<Packing>, best: &mut Packing, found_by: &mut &'static str, by: &'static str| {
        if let Some(c) = cand
            && c.nodes.len() < best.nodes.len()
        {
            *best = c;
            *found_by = by;
        }
    };
    if (best.nodes.len() as u64) > lb {
        for o in [Order::MaxDim, Order::Product, Order::Image] {
            consider(ffd(p, ty, o), &mut best, &mut trace.found_by, "heuristic");
        }
        let pods: u64 = counts.iter().sum();
        if pods <= 50_000 {
            consider(dot_product(p, ty), &mut best, &mut trace.found_by, "heuristic");
        }
        if pods <= 5_000 {
            for o in [Order::ClusterAutoscaler, Order::MaxDim] {
                consider(bfd(p, ty, o), &mut best, &mut trace.found_by, "heuristic");
            }
        }
        trace.heuristic_nodes = Some(best.nodes.len() as u64);
    }
    trace.heuristic_time = start.elapsed();
    if (best.nodes.len() as u64) > lb {
        // The local search gets its own budget, after the constructive heuristics.
        let t = Instant::now();
        let improved = empty_nodes(p, &best, Instant::now() + limits.time);
        consider(Some(improved), &mut best, &mut trace.found_by, "local search");
        trace.local_search_nodes = Some(best.nodes.len() as u64);
        trace.local_search_time = t.elapsed();
    }
    let mut lb = lb;
    if (best.nodes.len() as u64) > lb {
        // Configuration LP over all maximal node patterns: a much stronger bound when few
        // distinct services have many replicas, and its rounded solution is a good packing.
        let t = Instant::now();
        trace.lp_tried = true;
        if let Some((bound, packing)) = pattern_lp(p, ty, &counts, limits.time) {
            lb = lb.max(bound);
            trace.lp = Some(bound);
            if let Some(pk) = packing {
                consider(Some(pk), &mut best, &mut trace.found_by, "LP rounding");
            }
        }
        trace.lp_time = t.elapsed();
    }
    let mut optimal = best.nodes.len() as u64 <= lb;
    let live = counts.iter().filter(|&&c| c > 0).count();
    let pods = counts.iter().sum::<u64>();
    if !optimal && live <= EXACT_MAX_SERVICES && pods <= EXACT_MAX_PODS {
        // The search counts nodes: every node costs 1 here, whatever its price.
        let t = Instant::now();
        let mut unit = p.clone();
        unit.types[ty].price = 1.0;
        #[allow(clippy::cast_precision_loss)]
        let lbf = |rem: &[u64], _: &[u64]| lower_bound(p, ty, rem) as f64;
        #[allow(clippy::cast_precision_loss)]
        let ex = exact(
            &unit,
            &[ty],
            best.nodes.len() as f64,
            &lbf,
            limits,
            deadline.max(Instant::now() + limits.time),
        );
        if let Some(pk) = ex.packing
            && pk.nodes.len() < best.nodes.len()
        {
            best = pk;
            trace.found_by = "exact search";
        }
        optimal = ex.proven;
        trace.exact = ex.outcome;
        trace.exact_time = t.elapsed();
    } else if !optimal {
        trace.exact = ExactOutcome::TooLarge { services: live, pods };
    }
    let lower_bound = if optimal { best.nodes.len() as u64 } else { lb };
    Some((
        SinglePlan {
            packing: best,
            lower_bound,
            optimal,
            ffd_ca,
            ffd_karpenter,
        },
        trace,
    ))
}

/// Patterns enumerated for the configuration LP before giving up on it.
const MAX_LP_PATTERNS: usize = 20_000;

/// Every maximal pattern (node content) of type `ty`, with at most `counts[i]` of item `i`;
/// `None` when there are more than [`MAX_LP_PATTERNS`].
/// Rounds a configuration-LP solution down: `floor(z_q)` copies of each pattern q, each trimmed
/// to the pods still unplaced. Returns those nodes and the problem left for a greedy tail (the
/// same items with the counts still to place).
fn round_down(
    p: &Problem,
    patterns: &[NodeFill],
    values: impl Iterator<Item = f64>,
    counts: &[u64],
) -> (Vec<NodeFill>, Problem) {
    let mut remaining = counts.to_vec();
    let mut nodes = Vec::new();
    for (q, value) in patterns.iter().zip(values) {
        let copies = (value + 1e-9).floor() as u64;
        for _ in 0..copies {
            let pods: Vec<(usize, u64)> = q
                .pods
                .iter()
                .map(|&(i, a)| (i, a.min(remaining[i])))
                .filter(|&(_, a)| a > 0)
                .collect();
            if pods.is_empty() {
                break;
            }
            for &(i, a) in &pods {
                remaining[i] -= a;
            }
            nodes.push(NodeFill { ty: q.ty, pods });
        }
    }
    let mut rest = p.clone();
    for (it, r) in rest.items.iter_mut().zip(&remaining) {
        it.count = *r;
    }
    (nodes, rest)
}

fn all_patterns(p: &Problem, ty: usize, counts: &[u64]) -> Option<Vec<NodeFill>> {
    fn go(p: &Problem, live: &[usize], pos: usize, counts: &[u64], node: &Open, out: &mut Vec<NodeFill>) -> bool {
        if out.len() > MAX_LP_PATTERNS {
            return false;
        }
        if pos == live.len() {
            let maximal = live
                .iter()
                .all(|&i| node.count(i) >= counts[i] || node.room(p, i, 1) == 0);
            if maximal && node.pods > 0 {
                out.push(node.fill());
            }
            return true;
        }
        let i = live[pos];
        let n = node.room(p, i, counts[i]);
        for c in (0..=n).rev() {
            let mut nn = node.clone();
            nn.add(p, i, c);
            if !go(p, live, pos + 1, counts, &nn, out) {
                return false;
            }
        }
        true
    }
    let live: Vec<usize> = (0..counts.len()).filter(|&i| counts[i] > 0).collect();
    let mut out = Vec::new();
    go(p, &live, 0, counts, &Open::new(p, ty), &mut out).then_some(out)
}

/// The configuration LP `min Σ z_q  s.t.  Σ_q a_qi z_q >= counts_i, z >= 0` over all maximal
/// patterns q. Every packing's nodes are dominated by maximal patterns, so `ceil(LP)` is a
/// lower bound. The rounded-down solution plus a first-fit of the rest is returned as a packing.
#[allow(
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss
)]
fn pattern_lp(p: &Problem, ty: usize, counts: &[u64], time: Duration) -> Option<(u64, Option<Packing>)> {
    use good_lp::{Expression, ProblemVariables, Solution, SolutionStatus, SolverModel, WithTimeLimit, variable};
    let live = counts.iter().filter(|&&c| c > 0).count();
    if live == 0 || live > 24 {
        return None;
    }
    let patterns = all_patterns(p, ty, counts)?;
    let mut vars = ProblemVariables::new();
    let z: Vec<_> = patterns.iter().map(|_| vars.add(variable().min(0.0))).collect();
    let objective: Expression = z.iter().map(|v| 1.0 * *v).sum();
    let mut model = vars
        .minimise(objective)
        .using(good_lp::microlp)
        .with_time_limit(time.as_secs_f64());
    for (i, &c) in counts.iter().enumerate() {
        if c == 0 {
            continue;
        }
        let row: Expression = patterns
            .iter()
            .zip(&z)
            .filter_map(|(q, v)| q.pods.iter().find(|(j, _)| *j == i).map(|(_, a)| *a as f64 * *v))
            .sum();
        model = model.with(row.geq(c as f64));
    }
    let sol = model.solve().ok()?;
    if !matches!(sol.status(), SolutionStatus::Optimal) {
        return None;
    }
    let value: f64 = z.iter().map(|v| sol.value(*v)).sum();
    let bound = (value - 1e-6).ceil().max(0.0) as u64;
    // Round down, trimming patterns to what remains, then first-fit the rest.
    let (nodes, rest) = round_down(p, &patterns, z.iter().map(|v| sol.value(*v)), counts);
    let packing = [Order::ClusterAutoscaler, Order::MaxDim]
        .iter()
        .filter_map(|&o| ffd(&rest, ty, o))
        .min_by_key(|pk| pk.nodes.len())
        .map(|tail| {
            let mut all = nodes.clone();
            all.extend(tail.nodes);
            Packing { nodes: all }
        });
    Some((bound, packing))
}

/// The configuration LP over several node types: `min Σ price_t z_tq` over maximal patterns q
/// of every type t, covering every service, with `Σ_q z_tq <= max_nodes_t`. Its optimum is a
/// lower bound on the cost; its rounded-down solution plus a greedy fill of the rest (within
/// the quotas left) is returned as a packing.
#[allow(
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss
)]
fn pattern_lp_mixed(p: &Problem, types: &[usize], counts: &[u64], time: Duration) -> Option<(f64, Option<Packing>)> {
    use good_lp::{Expression, ProblemVariables, Solution, SolutionStatus, SolverModel, WithTimeLimit, variable};
    let live = counts.iter().filter(|&&c| c > 0).count();
    if live == 0 || live > 24 {
        return None;
    }
    let mut patterns: Vec<NodeFill> = Vec::new();
    for &t in types {
        patterns.extend(all_patterns(p, t, counts)?);
        if patterns.len() > MAX_LP_PATTERNS {
            return None;
        }
    }
    let mut vars = ProblemVariables::new();
    let z: Vec<_> = patterns.iter().map(|_| vars.add(variable().min(0.0))).collect();
    let objective: Expression = patterns.iter().zip(&z).map(|(q, v)| p.types[q.ty].price * *v).sum();
    let mut model = vars
        .minimise(objective)
        .using(good_lp::microlp)
        .with_time_limit(time.as_secs_f64());
    for (i, &c) in counts.iter().enumerate() {
        if c == 0 {
            continue;
        }
        let row: Expression = patterns
            .iter()
            .zip(&z)
            .filter_map(|(q, v)| q.pods.iter().find(|(j, _)| *j == i).map(|(_, a)| *a as f64 * *v))
            .sum();
        model = model.with(row.geq(c as f64));
    }
    for &t in types {
        if let Some(m) = p.types[t].max_nodes {
            let row: Expression = patterns
                .iter()
                .zip(&z)
                .filter(|(q, _)| q.ty == t)
                .map(|(_, v)| 1.0 * *v)
                .sum();
            model = model.with(row.leq(m as f64));
        }
    }
    let sol = model.solve().ok()?;
    if !matches!(sol.status(), SolutionStatus::Optimal) {
        return None;
    }
    let value: f64 = patterns
        .iter()
        .zip(&z)
        .map(|(q, v)| p.types[q.ty].price * sol.value(*v))
        .sum();
    let bound = (value * (1.0 - 1e-7) - 1e-9).max(0.0);
    let (nodes, mut rest) = round_down(p, &patterns, z.iter().map(|v| sol.value(*v)), counts);
    let mut used = vec![0u64; p.types.len()];
    for n in &nodes {
        used[n.ty] += 1;
    }
    for (t, bt) in rest.types.iter_mut().enumerate() {
        bt.max_nodes = bt.max_nodes.map(|m| m.saturating_sub(used[t]));
    }
    let packing = mixed_greedy(&rest, types).map(|tail| {
        let mut all = nodes;
        all.extend(tail.nodes);
        downsize(p, types, &Packing { nodes: all })
    });
    Some((bound, packing))
}

/// The cheapest fleet over all node types.
#[derive(Clone, Debug, PartialEq)]
pub struct MixedPlan {
    /// imgopt's packing.
    pub packing: Packing,
    /// Lower bound on the cost per hour.
    pub lower_bound_cost: f64,
    /// Whether the cost is proven minimal.
    pub optimal: bool,
}

/// Per-resource unit-price bound: every pod pays at least its share of the cheapest eligible
/// capacity for each resource; the max over resources is a valid lower bound on cost.
#[allow(clippy::cast_precision_loss)]
fn unit_price_bound(p: &Problem, types: &[usize], counts: &[u64]) -> f64 {
    let mut best = 0.0f64;
    for r in 0..3 {
        let mut total = 0.0;
        for (i, it) in p.items.iter().enumerate() {
            if counts[i] == 0 {
                continue;
            }
            let mut m = f64::INFINITY;
            for &t in types {
                let bt = &p.types[t];
                if !fits_empty(p, t, i) {
                    continue;
                }
                let share = match r {
                    0 => it.cpu as f64 / bt.cpu.max(1) as f64,
                    1 => it.mem as f64 / bt.mem.max(1) as f64,
                    _ => 1.0 / bt.pods.max(1) as f64,
                };
                m = m.min(bt.price * share);
            }
            if m.is_finite() {
                total += m * counts[i] as f64;
            }
        }
        best = best.max(total);
    }
    // max_per_node is not additive across services: each service alone needs
    // ceil(count / most per node) nodes, each at least the cheapest eligible price.
    for (i, it) in p.items.iter().enumerate() {
        if counts[i] == 0 {
            continue;
        }
        let eligible: Vec<usize> = types.iter().copied().filter(|&t| fits_empty(p, t, i)).collect();
        let per = eligible
            .iter()
            .map(|&t| it.max_per_node.min(p.types[t].pods))
            .max()
            .unwrap_or(0);
        let price = eligible.iter().map(|&t| p.types[t].price).fold(f64::INFINITY, f64::min);
        if per > 0 && price.is_finite() {
            best = best.max(counts[i].div_ceil(per) as f64 * price);
        }
    }
    best
}

/// A class of interchangeable services: (cpu, memory, max_per_node, eligible types).
type ClassKey = (u64, u64, u64, Vec<bool>);

/// LP relaxation of the assignment model (x_{g,t} pods of class g on type t, n_t nodes).
///
/// Services with the same request, `max_per_node` and eligible types are merged into one class
/// first: the LP of the merged problem is a relaxation of the original one (the per-service
/// `max_per_node` rows are summed), so its optimum is still a valid lower bound, and real
/// inputs have far fewer shapes than services. Only a solution proven optimal is used.
#[allow(clippy::cast_precision_loss)]
fn lp_bound(p: &Problem, types: &[usize], time: Duration) -> Option<f64> {
    use good_lp::{Expression, ProblemVariables, Solution, SolutionStatus, SolverModel, WithTimeLimit, variable};
    // (cpu, mem, max_per_node, eligibility) -> (count, services)
    let mut classes: BTreeMap<ClassKey, (u64, u64)> = BTreeMap::new();
    for (i, it) in p.items.iter().enumerate() {
        if it.count == 0 {
            continue;
        }
        let elig: Vec<bool> = types.iter().map(|&t| fits_empty(p, t, i)).collect();
        let e = classes.entry((it.cpu, it.mem, it.max_per_node, elig)).or_default();
        e.0 += it.count;
        e.1 += 1;
    }
    if classes.len() * types.len() > 6000 {
        return None;
    }
    let mut vars = ProblemVariables::new();
    let n: Vec<_> = types
        .iter()
        .map(|&t| {
            let v = variable().min(0.0);
            vars.add(match p.types[t].max_nodes {
                Some(m) => v.max(m as f64),
                None => v,
            })
        })
        .collect();
    let classes: Vec<_> = classes.into_iter().collect();
    let x: Vec<Vec<Option<good_lp::Variable>>> = classes
        .iter()
        .map(|((_, _, _, elig), _)| {
            elig.iter()
                .map(|&ok| ok.then(|| vars.add(variable().min(0.0))))
                .collect()
        })
        .collect();
    let objective: Expression = types.iter().zip(&n).map(|(&t, v)| p.types[t].price * *v).sum();
    let mut model = vars
        .minimise(objective)
        .using(good_lp::microlp)
        .with_time_limit(time.as_secs_f64());
    for (g, (_, (count, _))) in classes.iter().enumerate() {
        let row: Expression = x[g].iter().flatten().map(|v| 1.0 * *v).sum();
        model = model.with(row.eq(*count as f64));
    }
    for (k, &t) in types.iter().enumerate() {
        let bt = &p.types[t];
        let col = |f: &dyn Fn(u64, u64) -> f64| -> Expression {
            classes
                .iter()
                .enumerate()
                .filter_map(|(g, ((c, m, _, _), _))| x[g][k].map(|v| f(*c, *m) * v))
                .sum()
        };
        model = model.with(col(&|c, _| c as f64).leq(bt.cpu as f64 * n[k]));
        model = model.with(col(&|_, m| m as f64).leq(bt.mem as f64 * n[k]));
        model = model.with(col(&|_, _| 1.0).leq(bt.pods as f64 * n[k]));
        for (g, ((_, _, mpn, _), (_, services))) in classes.iter().enumerate() {
            if let Some(v) = x[g][k]
                && *mpn < bt.pods
            {
                model = model.with((1.0 * v).leq((mpn * services) as f64 * n[k]));
            }
        }
    }
    let sol = model.solve().ok()?;
    if !matches!(sol.status(), SolutionStatus::Optimal) {
        return None;
    }
    let obj: f64 = types
        .iter()
        .zip(&n)
        .map(|(&t, v)| p.types[t].price * sol.value(*v))
        .sum();
    // Guard against floating-point error in the bound's favour.
    Some((obj * (1.0 - 1e-7) - 1e-9).max(0.0))
}

/// Node-centric greedy over several types: each step opens the node (type and fill) that
/// covers the most pod "weight" per dollar.
#[allow(clippy::cast_precision_loss)]
fn mixed_greedy(p: &Problem, types: &[usize]) -> Option<Packing> {
    // Weight of a pod = its cheapest standalone share of a node.
    let w: Vec<f64> = p
        .items
        .iter()
        .enumerate()
        .map(|(i, it)| {
            types
                .iter()
                .filter(|&&t| fits_empty(p, t, i))
                .map(|&t| {
                    let bt = &p.types[t];
                    let share = (it.cpu as f64 / bt.cpu.max(1) as f64)
                        .max(it.mem as f64 / bt.mem.max(1) as f64)
                        .max(1.0 / bt.pods.max(1) as f64)
                        .max(1.0 / it.max_per_node.min(bt.pods).max(1) as f64);
                    bt.price * share
                })
                .fold(f64::INFINITY, f64::min)
        })
        .collect();
    let mut remaining: Vec<u64> = p.items.iter().map(|i| i.count).collect();
    let mut used = vec![0u64; types.len()];
    let mut nodes = Vec::new();
    let cands: Vec<Vec<usize>> = types
        .iter()
        .map(|&t| sorted_items(p, t, Order::ClusterAutoscaler))
        .collect();
    while remaining.iter().any(|&r| r > 0) {
        let mut best: Option<(f64, Open, usize)> = None;
        for (k, &t) in types.iter().enumerate() {
            if p.types[t].max_nodes.is_some_and(|m| used[k] >= m) {
                continue;
            }
            let node = dot_fill(p, t, &remaining, &cands[k]);
            if node.pods == 0 {
                continue;
            }
            let value: f64 =
                node.counts.iter().map(|&(i, c)| w[i] * c as f64).sum::<f64>() / p.types[t].price.max(1e-12);
            if best.as_ref().is_none_or(|(b, _, _)| value > *b) {
                best = Some((value, node, k));
            }
        }
        let (_, node, k) = best?;
        for &(i, c) in &node.counts {
            remaining[i] -= c;
        }
        used[k] += 1;
        nodes.push(node.fill());
    }
    Some(Packing { nodes })
}

/// Moves each node to the cheapest type that still holds its pods (respecting quotas).
fn downsize(p: &Problem, types: &[usize], packing: &Packing) -> Packing {
    let mut used = vec![0u64; p.types.len()];
    for n in &packing.nodes {
        used[n.ty] += 1;
    }
    let mut out = packing.clone();
    for n in &mut out.nodes {
        let mut best = n.ty;
        for &t in types {
            if p.types[t].price < p.types[best].price - 1e-12 && p.types[t].max_nodes.is_none_or(|m| used[t] < m) {
                let mut o = Open::new(p, t);
                let ok = n.pods.iter().all(|&(i, c)| {
                    let r = o.room(p, i, c);
                    o.add(p, i, r);
                    r == c
                });
                if ok {
                    best = t;
                }
            }
        }
        if best != n.ty {
            used[n.ty] -= 1;
            used[best] += 1;
            n.ty = best;
        }
    }
    out
}

/// How [`plan_mixed_traced`] found its fleet (for `--verbose`; timings vary between runs).
#[derive(Clone, Debug, PartialEq)]
pub struct MixedTrace {
    /// The per-resource unit-price bound on the cost.
    pub unit_price_bound: f64,
    /// The configuration LP's bound over every type, when solved.
    pub pattern_lp: Option<f64>,
    /// The assignment LP's bound, when solved.
    pub assignment_lp: Option<f64>,
    /// What produced the final fleet: `single type`, `greedy`, `downsizing`, `local search`,
    /// `LP rounding` or `exact search`.
    pub found_by: &'static str,
    /// How the exact search went.
    pub exact: ExactOutcome,
    /// Time in the heuristics and the local search.
    pub heuristic_time: Duration,
    /// Time in both LPs.
    pub lp_time: Duration,
    /// Time in the exact search.
    pub exact_time: Duration,
}

/// The cheapest fleet over `types`, given the single-type plans already computed
/// (`singles[k]` for `types[k]`, `None` when not every item fits that type).
#[must_use]
pub fn plan_mixed(p: &Problem, types: &[usize], singles: &[Option<&Packing>], limits: Limits) -> Option<MixedPlan> {
    plan_mixed_traced(p, types, singles, limits).map(|(plan, _)| plan)
}

/// [`plan_mixed`], and how the fleet was found.
#[must_use]
pub fn plan_mixed_traced(
    p: &Problem,
    types: &[usize],
    singles: &[Option<&Packing>],
    limits: Limits,
) -> Option<(MixedPlan, MixedTrace)> {
    let start = Instant::now();
    let counts: Vec<u64> = p.items.iter().map(|i| i.count).collect();
    let within_quota = |pk: &Packing| {
        types.iter().all(|&t| {
            p.types[t]
                .max_nodes
                .is_none_or(|m| pk.nodes.iter().filter(|n| n.ty == t).count() as u64 <= m)
        })
    };
    let mut best: Option<Packing> = None;
    let mut found_by = "single type";
    let take = |c: Packing, best: &mut Option<Packing>, found_by: &mut &'static str, by: &'static str| {
        if within_quota(&c) && best.as_ref().is_none_or(|b| c.cost(p) < b.cost(p) - 1e-9) {
            *best = Some(c);
            *found_by = by;
        }
    };
    for s in singles.iter().flatten() {
        take((*s).clone(), &mut best, &mut found_by, "single type");
    }
    if let Some(g) = mixed_greedy(p, types) {
        take(g, &mut best, &mut found_by, "greedy");
    }
    if let Some(b) = best.clone() {
        take(downsize(p, types, &b), &mut best, &mut found_by, "downsizing");
    }
    if let Some(b) = best.clone() {
        // Empty the lightest nodes into the others, then move nodes to cheaper types again.
        let emptied = empty_nodes(p, &b, Instant::now() + limits.time);
        take(downsize(p, types, &emptied), &mut best, &mut found_by, "local search");
    }
    let heuristic_time = start.elapsed();
    let lp_start = Instant::now();
    let unit_price = unit_price_bound(p, types, &counts);
    let mut lb = unit_price;
    let mut pattern_bound = None;
    if let Some((bound, packing)) = pattern_lp_mixed(p, types, &counts, limits.time) {
        lb = lb.max(bound);
        pattern_bound = Some(bound);
        if let Some(pk) = packing {
            take(pk, &mut best, &mut found_by, "LP rounding");
        }
    }
    let best = best?;
    let assignment = lp_bound(p, types, limits.time.max(Duration::from_millis(500)));
    if let Some(l) = assignment {
        lb = lb.max(l);
    }
    let lp_time = lp_start.elapsed();
    let mut packing = best;
    let mut optimal = packing.cost(p) <= lb + 1e-9;
    let live = counts.iter().filter(|&&c| c > 0).count();
    let pods = counts.iter().sum::<u64>();
    let mut outcome = if optimal {
        ExactOutcome::NotNeeded
    } else {
        ExactOutcome::TooLarge { services: live, pods }
    };
    let exact_start = Instant::now();
    if !optimal && live <= EXACT_MAX_SERVICES && pods <= EXACT_MAX_PODS {
        let deadline = start.max(Instant::now()) + limits.time;
        let lbf = |rem: &[u64], _: &[u64]| unit_price_bound(p, types, rem);
        let ex = exact(p, types, packing.cost(p) + 1e-9, &lbf, limits, deadline);
        if let Some(pk) = ex.packing
            && pk.cost(p) < packing.cost(p) - 1e-9
        {
            packing = pk;
            found_by = "exact search";
        }
        optimal = ex.proven;
        outcome = ex.outcome;
    }
    let exact_time = exact_start.elapsed();
    let lower_bound_cost = if optimal {
        packing.cost(p)
    } else {
        lb.min(packing.cost(p))
    };
    let trace = MixedTrace {
        unit_price_bound: unit_price,
        pattern_lp: pattern_bound,
        assignment_lp: assignment,
        found_by,
        exact: outcome,
        heuristic_time,
        lp_time,
        exact_time,
    };
    Some((
        MixedPlan {
            packing,
            lower_bound_cost,
            optimal,
        },
        trace,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(cpu: u64, mem: u64, count: u64) -> Item {
        Item {
            cpu,
            mem,
            max_per_node: u64::MAX,
            layers: vec![],
            count,
        }
    }

    fn bin(cpu: u64, mem: u64, pods: u64) -> BinType {
        BinType {
            cpu,
            mem,
            pods,
            disk: None,
            price: 1.0,
            max_nodes: None,
        }
    }

    #[test]
    fn l2_bound_small() {
        // Three items of 60 in bins of 100: no two share a bin.
        assert_eq!(l2(&[(60, 3)], 100), 3);
        // 2 x 60 and 4 x 30: L2 with k=30: J2 = 2 items (free 80), J3 = 120 -> 2 + ceil(40/100) = 3.
        assert_eq!(l2(&[(60, 2), (30, 4)], 100), 3);
    }

    #[test]
    fn density_md_ffd_example_is_beaten() {
        // density.md section 3: m5.xlarge (3920m, 15391Mi, 58 pods), CPU-heavy 1800m/1.5Gi x14,
        // memory-heavy 500m/6.2Gi x14, balanced 1.1c/3.5Gi x10: FFD opens 18, optimum 13.
        let p = Problem {
            items: vec![item(1800, 1536, 14), item(500, 6349, 14), item(1100, 3584, 10)],
            types: vec![bin(3920, 15391, 58)],
            layer_size: vec![],
            base_layers: vec![],
        };
        let plan = plan_single(&p, 0, Limits::default()).unwrap();
        check(&p, &plan.packing).unwrap();
        check(&p, &plan.ffd_ca).unwrap();
        assert!(plan.ffd_ca.nodes.len() >= 17, "ffd {}", plan.ffd_ca.nodes.len());
        assert_eq!(plan.packing.nodes.len(), 13);
        assert!(plan.optimal);
    }
}

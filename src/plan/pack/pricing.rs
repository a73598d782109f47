//! Exact pricing for column generation: the node pattern of one type with the largest dual
//! value `max Σ π_i a_i` over what fits one node (CPU, memory, pod slots, extended resources,
//! `max_per_node`, the image cache as the union of layers) with `a_i <= d_i`. A bounded
//! multi-dimensional knapsack, solved by depth-first branch and bound:
//!
//! * **Bound: a surrogate relaxation.** The resource rows are combined into one with weights w
//!   (any `w >= 0` gives a valid bound), and the fractional knapsack of that single row, with
//!   every item also capped by what each resource alone still leaves room for, bounds every
//!   completion. The weights are chosen once per call, by a pattern search that minimises the
//!   root's bound (the surrogate dual; Glover, *Surrogate constraint duality in mathematical
//!   programming*, Operations Research 23(3), 1975). The image cache is left out of the bound,
//!   which only loosens it.
//! * **Integer knapsack tables**, looked up before the surrogate: per resource, the most value
//!   every suffix of the branching order adds within each capacity of that resource alone (a
//!   dynamic program; [`Table`]). A call that does not finish within [`QUICK_NODES`] starts
//!   again with Lagrangian tables too: the same on one resource or a pair of resources, the
//!   others priced at the LP relaxation's duals ([`LagTable`], [`PairTable`]; on relaxations
//!   of the multidimensional knapsack, Kellerer, Pferschy and Pisinger, *Knapsack Problems*,
//!   Springer 2004). Near the LP's optimum the fractional bound is often 1-3 % above the best
//!   pattern, largely because sizes do not add up to the capacity; the tables see that.
//! * **Order.** Items are branched on in decreasing value per unit of surrogate size, most
//!   copies first, so the first leaf is the greedy fill and the bound is a prefix scan.
//! * **State** is kept in place (residual capacity per resource, layer reference counts) and
//!   undone on the way back: no allocation per search node.
//!
//! The search explores at most `nodes` search nodes (a count of work, not time). Its `upper`
//! is always a valid upper bound on the pricing value (the best found when the search
//! finished), which keeps the Lagrangian bound of column generation valid when it stops early.

use super::model::{NodeFill, Problem};
use super::tables::{LagTable, PairTable, Table, lag_tables, pair_table, surrogate_items};

/// The result of one pricing call.
pub(super) struct Priced {
    /// Patterns whose value is above the threshold, best first (at most the number asked for).
    pub(super) found: Vec<(f64, NodeFill)>,
    /// An upper bound on the best value (exact when the search finished).
    pub(super) upper: f64,
    /// Search nodes used.
    pub(super) used: u64,
    /// The search finished: `upper` is the best value.
    pub(super) finished: bool,
}

/// Relative tolerance of the search: a subtree is pruned when it cannot beat the best pattern
/// by more than this share, and `upper` is raised by it (so it stays a bound).
pub(super) const TOLERANCE: f64 = 1e-4;

/// One live item of the search, in branching order.
pub(super) struct Live {
    pub(super) item: usize,
    pub(super) value: f64,
    /// Size on every resource (CPU, memory, pods, extended).
    pub(super) size: Vec<u64>,
    /// Surrogate size `Σ_d w_d size_d / cap_d`.
    pub(super) sur: f64,
    /// Most copies on one node (demand, `max_per_node`, each resource alone).
    pub(super) most: u64,
    /// Layers of its image not already on every node (empty when the type has no disk).
    pub(super) layers: Vec<usize>,
}

struct Search<'a> {
    live: &'a [Live],
    cap: &'a [u64],
    weights: &'a [f64],
    /// More surrogates (weights, surrogate size per live position, positions by efficiency):
    /// each resource alone and the even mix, tighter than the root's weights deeper down.
    extra: &'a [(Vec<f64>, Vec<f64>, Vec<usize>)],
    /// Integer knapsack bounds on one resource each ([`Table`]).
    tables: &'a [Table],
    lags: &'a [LagTable],
    pair: Option<&'a PairTable>,
    res: Vec<u64>,
    counts: Vec<u64>,
    layer_refs: Vec<u32>,
    layer_size: &'a [u64],
    disk_left: Option<u64>,
    threshold: f64,
    keep: usize,
    best: f64,
    found: Vec<(f64, Vec<u64>)>,
    nodes: u64,
    unexplored: f64,
}

impl Search<'_> {
    /// Copies of `l` each resource alone still leaves room for (and its own cap).
    fn copies(&self, l: &Live) -> u64 {
        l.size
            .iter()
            .enumerate()
            .filter_map(|(d, &s)| self.res[d].checked_div(s))
            .fold(l.most, u64::min)
    }

    /// Copies of `live[k]` that still fit.
    fn room(&self, k: usize) -> u64 {
        let l = &self.live[k];
        let n = self.copies(l);
        if n > 0
            && let Some(left) = self.disk_left
        {
            let extra: u64 = l
                .layers
                .iter()
                .filter(|&&x| self.layer_refs[x] == 0)
                .map(|&x| self.layer_size[x])
                .fold(0, u64::saturating_add);
            if extra > left {
                return 0;
            }
        }
        n
    }

    /// The smallest of the surrogate bounds over `live[k..]`, or any of them once one is at or
    /// below `enough` (the subtree is pruned either way).
    #[allow(clippy::cast_precision_loss)]
    fn bound(&self, k: usize, enough: f64) -> f64 {
        let mut b = f64::INFINITY;
        for t in self.tables {
            b = b.min(t.at(k, self.res[t.dim]));
            if b <= enough {
                return b;
            }
        }
        for t in self.lags {
            b = b.min(t.at(k, &self.res));
            if b <= enough {
                return b;
            }
        }
        if let Some(t) = self.pair {
            b = b.min(t.at(k, &self.res));
            if b <= enough {
                return b;
            }
        }
        b = b.min(self.primary(k));
        if b <= enough {
            return b;
        }
        for (w, sur, order) in self.extra {
            let mut room = self.surrogate_room(w);
            let mut v = 0.0;
            for &pos in order {
                if pos < k {
                    continue;
                }
                let l = &self.live[pos];
                let n = self.copies(l);
                if n == 0 {
                    continue;
                }
                let n = n as f64;
                if sur[pos] <= 0.0 {
                    v += l.value * n;
                    continue;
                }
                let take = n.min(room / sur[pos]);
                v += l.value * take;
                room -= take * sur[pos];
                if room <= 1e-12 || v >= b {
                    break;
                }
            }
            b = b.min(v);
            if b <= enough {
                return b;
            }
        }
        b
    }

    /// The residual capacity as one surrogate row: each weighted resource's share left.
    #[allow(clippy::cast_precision_loss)]
    fn surrogate_room(&self, weights: &[f64]) -> f64 {
        weights
            .iter()
            .enumerate()
            .filter(|&(_, &w)| w > 0.0)
            .map(|(d, &w)| w * self.res[d] as f64 / self.cap[d] as f64)
            .sum()
    }

    /// Fractional surrogate knapsack over `live[k..]` with the residual capacity (the root's
    /// weights: `live` is in their order).
    #[allow(clippy::cast_precision_loss)]
    fn primary(&self, k: usize) -> f64 {
        let mut room = self.surrogate_room(self.weights);
        let mut v = 0.0;
        for l in &self.live[k..] {
            // Copies each resource alone leaves room for.
            let n = self.copies(l);
            if n == 0 {
                continue;
            }
            let n = n as f64;
            if l.sur <= 0.0 {
                v += l.value * n;
                continue;
            }
            let take = n.min(room / l.sur);
            v += l.value * take;
            room -= take * l.sur;
            if room <= 1e-12 {
                break;
            }
        }
        v
    }

    fn add(&mut self, k: usize, c: u64) {
        let l = &self.live[k];
        for (d, &s) in l.size.iter().enumerate() {
            self.res[d] -= s * c;
        }
        self.counts[k] = c;
        if c > 0
            && let Some(left) = &mut self.disk_left
        {
            for &x in &l.layers {
                if self.layer_refs[x] == 0 {
                    *left -= self.layer_size[x];
                }
                self.layer_refs[x] += 1;
            }
        }
    }

    fn remove(&mut self, k: usize, c: u64) {
        let l = &self.live[k];
        for (d, &s) in l.size.iter().enumerate() {
            self.res[d] += s * c;
        }
        self.counts[k] = 0;
        if c > 0
            && let Some(left) = &mut self.disk_left
        {
            for &x in &l.layers {
                self.layer_refs[x] -= 1;
                if self.layer_refs[x] == 0 {
                    *left += self.layer_size[x];
                }
            }
        }
    }

    fn leaf(&mut self, value: f64) {
        if value > self.best + 1e-12 {
            self.best = value;
        }
        if value > self.threshold {
            self.found.push((value, self.counts.clone()));
            if self.found.len() > 4 * self.keep {
                // Keep the best few; the threshold rises to the worst kept.
                self.found.sort_by(|a, b| b.0.total_cmp(&a.0));
                self.found.truncate(self.keep);
            }
        }
    }

    #[allow(clippy::cast_precision_loss)]
    fn go(&mut self, k: usize, value: f64) {
        if k == self.live.len() {
            self.leaf(value);
            return;
        }
        let limit = self.best * (1.0 + TOLERANCE) + 1e-12;
        let b = value + self.bound(k, limit - value);
        if b <= limit {
            return;
        }
        if self.nodes == 0 {
            self.unexplored = self.unexplored.max(b);
            return;
        }
        self.nodes -= 1;
        let n = self.room(k);
        let v = self.live[k].value;
        for c in (0..=n).rev() {
            self.add(k, c);
            self.go(k + 1, value + v * c as f64);
            self.remove(k, c);
        }
    }
}

/// Search nodes a pricing call spends with the per-resource tables alone before it builds the
/// Lagrangian tables and starts again.
pub(super) const QUICK_NODES: u64 = 2_000;

/// The fractional surrogate knapsack at the root for weights `w` (over normalised sizes).
#[allow(clippy::cast_precision_loss)]
fn root_bound(live: &[Live], cap: &[u64], w: &[f64]) -> f64 {
    let items = surrogate_items(live, cap, w);
    let mut room: f64 = w.iter().sum();
    let mut v = 0.0;
    for (value, s, n) in items {
        if s <= 0.0 {
            v += value * n;
            continue;
        }
        let take = n.min(room / s);
        v += value * take;
        room -= take * s;
        if room <= 1e-12 {
            break;
        }
    }
    v
}

/// Surrogate weights (one per resource, summing to 1) that make the root's bound small: the
/// best single resource or the even mix, improved by moving weight between pairs of resources.
fn weights(live: &[Live], cap: &[u64]) -> Vec<f64> {
    let dims = cap.len();
    let usable: Vec<usize> = (0..dims).filter(|&d| cap[d] > 0).collect();
    let mut cands: Vec<Vec<f64>> = usable
        .iter()
        .map(|&d| {
            let mut w = vec![0.0; dims];
            w[d] = 1.0;
            w
        })
        .collect();
    #[allow(clippy::cast_precision_loss)]
    let even = 1.0 / usable.len().max(1) as f64;
    cands.push((0..dims).map(|d| if cap[d] > 0 { even } else { 0.0 }).collect());
    let mut best = cands[0].clone();
    let mut best_v = f64::INFINITY;
    for w in cands {
        let v = root_bound(live, cap, &w);
        if v < best_v - 1e-12 {
            best_v = v;
            best = w;
        }
    }
    let mut step: f64 = 0.5;
    while step > 0.01 {
        let mut improved = true;
        while improved {
            improved = false;
            for &a in &usable {
                for &b in &usable {
                    if a == b || best[b] <= 0.0 {
                        continue;
                    }
                    let mut w = best.clone();
                    let moved = step.min(w[b]);
                    w[b] -= moved;
                    w[a] += moved;
                    let v = root_bound(live, cap, &w);
                    if v < best_v - 1e-9 * best_v.abs().max(1.0) {
                        best_v = v;
                        best = w;
                        improved = true;
                    }
                }
            }
        }
        step /= 2.0;
    }
    best
}

/// Prices node type `ty`: the best pattern for `duals` (with `a_i <= counts_i`), and up to
/// `keep` patterns whose value is above `threshold`, within `nodes` search nodes.
#[allow(clippy::cast_precision_loss)]
pub(super) fn price(
    p: &Problem,
    ty: usize,
    duals: &[f64],
    counts: &[u64],
    threshold: f64,
    keep: usize,
    nodes: u64,
) -> Priced {
    price_phased(p, ty, duals, counts, threshold, keep, nodes, QUICK_NODES)
}

/// [`price`] with the first phase (the per-resource tables alone) limited to `quick` search
/// nodes.
#[allow(clippy::cast_precision_loss, clippy::too_many_arguments)]
fn price_phased(
    p: &Problem,
    ty: usize,
    duals: &[f64],
    counts: &[u64],
    threshold: f64,
    keep: usize,
    nodes: u64,
    quick: u64,
) -> Priced {
    let t = &p.types[ty];
    let dims = p.dims();
    let cap: Vec<u64> = (0..dims).map(|d| p.cap(ty, d)).collect();
    let base: Vec<bool> = {
        let mut b = vec![false; p.layer_size.len()];
        for &l in &p.base_layers {
            b[l] = true;
        }
        b
    };
    let base_disk: u64 = {
        let mut seen = vec![false; p.layer_size.len()];
        let mut s = 0u64;
        for &l in &p.base_layers {
            if !seen[l] {
                seen[l] = true;
                s = s.saturating_add(p.layer_size[l]);
            }
        }
        s
    };
    let disk_left = t.disk.map(|b| b.saturating_sub(base_disk));
    let mut live: Vec<Live> = Vec::new();
    for (i, it) in p.items.iter().enumerate() {
        if counts[i] == 0 || duals[i] <= 1e-12 || !it.allowed_on(ty) {
            continue;
        }
        let size: Vec<u64> = (0..dims).map(|d| p.size(i, d)).collect();
        let mut most = counts[i].min(it.max_per_node);
        for d in 0..dims {
            if let Some(n) = cap[d].checked_div(size[d]) {
                most = most.min(n);
            }
        }
        let mut layers: Vec<usize> = it.layers.iter().copied().filter(|&l| !base[l]).collect();
        layers.sort_unstable();
        layers.dedup();
        if let Some(left) = disk_left {
            let need: u64 = layers.iter().map(|&l| p.layer_size[l]).fold(0, u64::saturating_add);
            if need > left {
                most = 0;
            }
        } else {
            layers.clear();
        }
        if most == 0 {
            continue;
        }
        live.push(Live {
            item: i,
            value: duals[i],
            size,
            sur: 0.0,
            most,
            layers,
        });
    }
    let w = weights(&live, &cap);
    for l in &mut live {
        l.sur = l
            .size
            .iter()
            .enumerate()
            .map(|(d, &s)| w[d] * s as f64 / cap[d].max(1) as f64)
            .sum();
    }
    live.sort_by(|a, b| {
        (b.value * a.sur)
            .total_cmp(&(a.value * b.sur))
            .then(b.value.total_cmp(&a.value))
            .then(a.item.cmp(&b.item))
    });
    let n = live.len();
    let usable: Vec<usize> = (0..dims).filter(|&d| cap[d] > 0).collect();
    let mut extra_w: Vec<Vec<f64>> = usable
        .iter()
        .map(|&d| (0..dims).map(|e| if e == d { 1.0 } else { 0.0 }).collect())
        .collect();
    #[allow(clippy::cast_precision_loss)]
    let even = 1.0 / usable.len().max(1) as f64;
    extra_w.push((0..dims).map(|d| if cap[d] > 0 { even } else { 0.0 }).collect());
    extra_w.retain(|x| x.iter().zip(&w).any(|(a, b)| (a - b).abs() > 1e-9));
    let extra: Vec<(Vec<f64>, Vec<f64>, Vec<usize>)> = extra_w
        .into_iter()
        .map(|x| {
            let sur: Vec<f64> = live
                .iter()
                .map(|l| {
                    l.size
                        .iter()
                        .enumerate()
                        .map(|(d, &s)| x[d] * s as f64 / cap[d].max(1) as f64)
                        .sum()
                })
                .collect();
            let mut order: Vec<usize> = (0..n).collect();
            order.sort_by(|&a, &b| {
                (live[b].value * sur[a])
                    .total_cmp(&(live[a].value * sur[b]))
                    .then(a.cmp(&b))
            });
            (x, sur, order)
        })
        .collect();
    let tables: Vec<Table> = (0..dims).filter_map(|d| Table::new(&live, d, cap[d])).collect();
    let none: Vec<LagTable> = Vec::new();
    let mut s = Search {
        pair: None,
        extra: &extra,
        tables: &tables,
        lags: &none,
        live: &live,
        cap: &cap,
        weights: &w,
        res: cap.clone(),
        counts: vec![0; n],
        layer_refs: vec![0; p.layer_size.len()],
        layer_size: &p.layer_size,
        disk_left,
        threshold,
        keep: keep.max(1),
        best: 0.0,
        found: Vec::new(),
        nodes: nodes.min(quick),
        unexplored: 0.0,
    };
    s.go(0, 0.0);
    let mut used = nodes.min(quick) - s.nodes;
    let lags;
    let pair;
    if s.unexplored > s.best * (1.0 + TOLERANCE) + 1e-12 && used < nodes {
        // A hard call: search again from the start with the Lagrangian tables too (their
        // multipliers and the pair table cost more to build than most calls need), keeping the
        // patterns found and the best value, which stay valid.
        lags = lag_tables(&live, &cap, &w);
        pair = pair_table(&live, &cap, &w);
        let (best, found) = (s.best, std::mem::take(&mut s.found));
        s = Search {
            pair: pair.as_ref(),
            lags: &lags,
            res: cap.clone(),
            counts: vec![0; n],
            layer_refs: vec![0; p.layer_size.len()],
            best,
            found,
            nodes: nodes - used,
            unexplored: 0.0,
            ..s
        };
        s.go(0, 0.0);
        used = nodes - s.nodes;
    }
    // Subtrees were pruned within the tolerance of the best value.
    let upper = (s.best * (1.0 + TOLERANCE) + 1e-12).max(s.unexplored);
    let finished = s.unexplored <= s.best * (1.0 + TOLERANCE) + 1e-12;
    let mut found: Vec<(f64, NodeFill)> = s
        .found
        .into_iter()
        .map(|(v, c)| {
            let mut pods: Vec<(usize, u64)> = c
                .iter()
                .enumerate()
                .filter(|&(_, &a)| a > 0)
                .map(|(k, &a)| (live[k].item, a))
                .collect();
            pods.sort_unstable();
            (v, NodeFill { ty, pods })
        })
        .collect();
    found.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.pods.cmp(&b.1.pods)));
    found.dedup_by(|a, b| a.1 == b.1);
    found.truncate(keep.max(1));
    Priced {
        found,
        upper,
        used,
        finished,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::pack::model::{BinType, Item, Open};

    /// Every pattern of type 0 by enumeration: the best value for `duals`.
    fn brute(p: &Problem, duals: &[f64], counts: &[u64]) -> f64 {
        fn go(p: &Problem, i: usize, node: &Open, duals: &[f64], counts: &[u64]) -> f64 {
            if i == p.items.len() {
                return 0.0;
            }
            let n = node.room(p, i, counts[i]);
            let mut best: f64 = 0.0;
            for c in 0..=n {
                let mut nn = node.clone();
                nn.add(p, i, c);
                #[allow(clippy::cast_precision_loss)]
                let v = duals[i] * c as f64 + go(p, i + 1, &nn, duals, counts);
                best = best.max(v);
            }
            best
        }
        go(p, 0, &Open::new(p, 0), duals, counts)
    }

    /// Sizes 60, 45 and 30 in a capacity of 100, every pod worth its size: the fractional
    /// bound is 100, the best pattern 90 (45 + 45, 60 + 30 or 3 x 30). The per-resource table
    /// (sizes in units of 15) knows that at the root, so even a search cut short at one node
    /// bounds the pricing value by 90.
    #[test]
    fn tables_see_that_sizes_do_not_add_up_to_the_capacity() {
        let it = |cpu: u64, count: u64| Item {
            cpu,
            mem: 1,
            max_per_node: u64::MAX,
            layers: vec![],
            count,
            ext: vec![],
            allowed: vec![],
        };
        let p = Problem {
            items: vec![it(60, 1), it(45, 2), it(30, 3)],
            types: vec![BinType {
                cpu: 100,
                mem: 1_000,
                pods: 110,
                disk: None,
                price: 1.0,
                max_nodes: None,
                ext: vec![],
            }],
            layer_size: vec![],
            base_layers: vec![],
        };
        let duals = [60.0, 45.0, 30.0];
        let counts = [1, 2, 3];
        assert!((root_bound_of(&p, &duals, &counts) - 100.0).abs() < 1e-9);
        let cut = price(&p, 0, &duals, &counts, -1.0, 1, 1);
        assert!(cut.upper <= 90.0 * (1.0 + TOLERANCE) + 1e-9, "{}", cut.upper);
        let full = price(&p, 0, &duals, &counts, -1.0, 1, 100);
        assert!(full.finished);
        assert!((full.found[0].0 - 90.0).abs() < 1e-9);
    }

    /// The fractional surrogate bound at the root (the best weights), for comparison.
    fn root_bound_of(p: &Problem, duals: &[f64], counts: &[u64]) -> f64 {
        let cap: Vec<u64> = (0..p.dims()).map(|d| p.cap(0, d)).collect();
        let live: Vec<Live> = (0..p.items.len())
            .map(|i| Live {
                item: i,
                value: duals[i],
                size: (0..p.dims()).map(|d| p.size(i, d)).collect(),
                sur: 0.0,
                most: counts[i],
                layers: vec![],
            })
            .collect();
        root_bound(&live, &cap, &weights(&live, &cap))
    }

    /// Random small knapsacks with every constraint the model has (CPU, memory, pods,
    /// max_per_node, an extended resource and the image cache): the search's best value equals
    /// the enumeration's, every pattern it returns fits one node, and with a tiny node budget
    /// its `upper` is still at least the true best.
    #[test]
    fn agrees_with_enumeration() {
        let mut rnd = crate::plan::pack::testkit::xorshift();
        for case in 0..150 {
            let n = 2 + rnd(6) as usize;
            let layers = 6usize;
            let items: Vec<Item> = (0..n)
                .map(|_| Item {
                    cpu: 100 + rnd(1500),
                    mem: 128 + rnd(4000),
                    max_per_node: if rnd(3) == 0 { 1 + rnd(3) } else { u64::MAX },
                    layers: (0..layers).filter(|_| rnd(3) == 0).collect(),
                    count: 1 + rnd(6),
                    ext: if rnd(4) == 0 { vec![1 + rnd(2)] } else { vec![] },
                    allowed: vec![],
                })
                .collect();
            let p = Problem {
                items,
                types: vec![BinType {
                    cpu: 2000 + rnd(6000),
                    mem: 4000 + rnd(16000),
                    pods: 3 + rnd(12),
                    disk: (rnd(2) == 0).then(|| 300 + rnd(600)),
                    price: 1.0,
                    max_nodes: None,
                    ext: vec![rnd(4)],
                }],
                layer_size: (0..layers).map(|_| 50 + rnd(200)).collect(),
                base_layers: if rnd(2) == 0 { vec![0] } else { vec![] },
            };
            let counts: Vec<u64> = p.items.iter().map(|i| i.count).collect();
            #[allow(clippy::cast_precision_loss)]
            let duals: Vec<f64> = (0..n).map(|_| rnd(100) as f64 / 97.0).collect();
            let want = brute(&p, &duals, &counts);
            let full = price(&p, 0, &duals, &counts, -1.0, 3, u64::MAX);
            assert!(full.finished, "case {case}");
            assert!(full.upper >= want - 1e-9, "case {case}: {} < {want}", full.upper);
            assert!(
                full.upper <= want * (1.0 + TOLERANCE) + 1e-9,
                "case {case}: {} vs {want}",
                full.upper
            );
            assert!(full.found.len() <= 3);
            if want > 1e-9 {
                assert!(full.found[0].0 >= want / (1.0 + TOLERANCE) - 1e-9, "case {case}");
            }
            for (v, q) in &full.found {
                let mut o = Open::new(&p, 0);
                #[allow(clippy::cast_precision_loss)]
                let value: f64 = q.pods.iter().map(|&(i, a)| duals[i] * a as f64).sum();
                assert!((value - v).abs() < 1e-9, "case {case}");
                for &(i, a) in &q.pods {
                    assert!(a <= counts[i]);
                    assert_eq!(o.room(&p, i, a), a, "case {case}: pattern does not fit");
                    o.add(&p, i, a);
                }
            }
            // With the first phase cut to one search node, the Lagrangian tables bound the search.
            let phased = price_phased(&p, 0, &duals, &counts, -1.0, 3, u64::MAX, 1);
            assert!(phased.finished, "case {case}");
            assert!(phased.upper >= want - 1e-9, "case {case}: {} < {want}", phased.upper);
            assert!(
                phased.upper <= want * (1.0 + TOLERANCE) + 1e-9,
                "case {case}: {} vs {want}",
                phased.upper
            );
            let cut = price(&p, 0, &duals, &counts, -1.0, 3, 1);
            assert!(
                cut.upper >= want - 1e-9,
                "case {case}: cut-short bound {} < {want}",
                cut.upper
            );
        }
    }
}

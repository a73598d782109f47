//! Heuristics: first-fit decreasing in the cluster-autoscaler and Karpenter orders (the
//! baselines) and three more, best-fit decreasing, a node-centric dot-product fill (Panigrahy
//! et al., *Heuristics for Vector Bin Packing*), a local search that empties the least-loaded
//! nodes, and for several types a price-aware greedy and a downsizing pass.

use std::time::Instant;

use super::model::{Open, Packing, Problem, fits_empty};

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
pub(super) fn sorted_items(p: &Problem, ty: usize, order: Order) -> Vec<usize> {
    let t = &p.types[ty];
    let nc = |i: usize| p.items[i].cpu as f64 / t.cpu.max(1) as f64;
    let nm = |i: usize| p.items[i].mem as f64 / t.mem.max(1) as f64;
    let img = |i: usize| p.items[i].layers.iter().map(|&l| p.layer_size[l]).sum::<u64>();
    // Extended resources (GPUs) are the scarcest: their share leads the largest-dimension order.
    let ne = |i: usize| {
        (3..p.dims())
            .map(|d| p.size(i, d) as f64 / p.cap(ty, d).max(1) as f64)
            .fold(0.0, f64::max)
    };
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
        Order::MaxDim => idx.sort_by(|&a, &b| {
            nc(b)
                .max(nm(b))
                .max(ne(b))
                .total_cmp(&nc(a).max(nm(a)).max(ne(a)))
                .then(a.cmp(&b))
        }),
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
pub(super) fn bfd(p: &Problem, ty: usize, order: Order) -> Option<Packing> {
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
pub(super) const WINDOW: usize = 48;
/// Smallest remaining services a node-centric fill considers.
pub(super) const TAIL: usize = 16;

/// Fills one empty node of type `ty` from `remaining`, always adding the pod whose normalised
/// request best matches the node's normalised residual capacity (dot product).
#[allow(clippy::cast_precision_loss)]
pub(super) fn dot_fill(p: &Problem, ty: usize, remaining: &[u64], candidates: &[usize]) -> Open {
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
            let mut score = it.cpu as f64 / c * rc + it.mem as f64 / m * rm + 1.0 / s * rs;
            for (r, &need) in it.ext.iter().enumerate() {
                let cap = t.ext(r).max(1) as f64;
                score += need as f64 / cap * (t.ext(r).saturating_sub(node.ext_used(r)) as f64 / cap);
            }
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

pub(super) fn dot_product(p: &Problem, ty: usize) -> Option<Packing> {
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
pub(super) fn reopen(p: &Problem, packing: &Packing) -> Vec<Open> {
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
pub(super) fn empty_nodes(p: &Problem, packing: &Packing, deadline: Instant) -> Packing {
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

/// Node-centric greedy over several types: each step opens the node (type and fill) that
/// covers the most pod "weight" per dollar.
#[allow(clippy::cast_precision_loss)]
pub(super) fn mixed_greedy(p: &Problem, types: &[usize]) -> Option<Packing> {
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
                    let ext = (3..p.dims())
                        .map(|d| p.size(i, d) as f64 / p.cap(t, d).max(1) as f64)
                        .fold(0.0, f64::max);
                    let share = (it.cpu as f64 / bt.cpu.max(1) as f64)
                        .max(it.mem as f64 / bt.mem.max(1) as f64)
                        .max(1.0 / bt.pods.max(1) as f64)
                        .max(1.0 / it.max_per_node.min(bt.pods).max(1) as f64)
                        .max(ext);
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
pub(super) fn downsize(p: &Problem, types: &[usize], packing: &Packing) -> Packing {
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

/// Local search over pairs of nodes: when the pods of two nodes fit together on one node of a
/// type cheaper than the two (within quotas), merge them. `work` caps the pairs tried (a
/// deterministic budget). Repeats until no pair merges.
pub(super) fn merge_pairs(p: &Problem, types: &[usize], packing: &Packing, work: u64) -> Packing {
    let mut nodes = packing.nodes.clone();
    let mut used = vec![0u64; p.types.len()];
    for n in &nodes {
        used[n.ty] += 1;
    }
    let mut cheap: Vec<usize> = types.to_vec();
    cheap.sort_by(|&a, &b| p.types[a].price.total_cmp(&p.types[b].price).then(a.cmp(&b)));
    let mut left = work;
    'outer: loop {
        for a in 0..nodes.len() {
            for b in a + 1..nodes.len() {
                if left == 0 {
                    break 'outer;
                }
                left -= 1;
                let pair = p.types[nodes[a].ty].price + p.types[nodes[b].ty].price;
                for &t in &cheap {
                    if p.types[t].price >= pair - 1e-9 {
                        break;
                    }
                    let freed = usize::from(nodes[a].ty == t) + usize::from(nodes[b].ty == t);
                    if p.types[t].max_nodes.is_some_and(|m| used[t] + 1 > m + freed as u64) {
                        continue;
                    }
                    let mut o = Open::new(p, t);
                    let ok = nodes[a].pods.iter().chain(&nodes[b].pods).all(|&(i, c)| {
                        let r = o.room(p, i, c);
                        o.add(p, i, r);
                        r == c
                    });
                    if ok {
                        used[nodes[a].ty] -= 1;
                        used[nodes[b].ty] -= 1;
                        used[t] += 1;
                        nodes.remove(b);
                        nodes[a] = o.fill();
                        continue 'outer;
                    }
                }
            }
        }
        break;
    }
    Packing { nodes }
}

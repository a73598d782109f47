//! Improving a whole fleet by ruin and recreate: take a few badly used nodes out, place their
//! pods again (first into the other nodes' free room, then onto new nodes found by the exact
//! search), and keep the change when the fleet got cheaper (Schrimpf et al., *Record breaking
//! optimization results using the ruin and recreate principle*, J. Comput. Phys. 159(2), 2000).
//!
//! A node is badly used when its price is far above the value of the pods it holds, priced at
//! per-pod weights (the configuration LP's duals when there are some: then it is the pattern's
//! reduced cost). The neighbourhoods are every set of one to three nodes among the worst few.
//! The work is bounded by exact-search nodes, so the result does not depend on the machine.

use std::time::{Duration, Instant};

use super::bounds::unit_price_bound;
use super::exact::{EXACT_MAX_PODS, EXACT_MAX_SERVICES, exact};
use super::heuristics::reopen;
use super::model::{Limits, NodeFill, Open, Packing, Problem};

/// The worst nodes the neighbourhoods are drawn from.
const CANDIDATES: usize = 7;
/// Exact-search nodes one re-packing may explore.
const STEP_NODES: u64 = 1_000;
/// What one re-packing costs at least, in exact-search nodes (setting it up, and filling the
/// other nodes' room), so that the budget also bounds re-packings the search ends at once.
const SETUP_WORK: u64 = 20;
/// Fit checks that cost as much as one exact-search node, when filling the other nodes' room
/// (on fleets of a thousand nodes, that filling is what a re-packing spends).
const FITS_PER_NODE: u64 = 20;

/// Per-pod weights when no duals are at hand: the cheapest share of a node one pod takes, as a
/// price (the pod's largest share of a resource on that type, times the type's price).
#[allow(clippy::cast_precision_loss)]
pub(super) fn share_weights(p: &Problem, types: &[usize]) -> Vec<f64> {
    (0..p.items.len())
        .map(|i| {
            types
                .iter()
                .filter(|&&t| Open::new(p, t).room(p, i, 1) == 1)
                .map(|&t| {
                    let share = (0..p.dims())
                        .map(|d| p.size(i, d) as f64 / p.cap(t, d).max(1) as f64)
                        .fold(0.0, f64::max)
                        .max(1.0 / p.items[i].max_per_node.min(p.types[t].pods).max(1) as f64);
                    p.types[t].price * share
                })
                .fold(f64::INFINITY, f64::min)
        })
        .map(|w| if w.is_finite() { w } else { 0.0 })
        .collect()
}

/// Ruin and recreate over `packing` (a packing of every pod of `p` over `types`, within the
/// quotas): returns a fleet no more expensive, after at most `work` exact-search nodes.
#[allow(clippy::cast_precision_loss)]
pub(super) fn ruin_recreate(p: &Problem, types: &[usize], packing: &Packing, weights: &[f64], work: u64) -> Packing {
    let mut nodes = packing.nodes.clone();
    let mut left = work;
    let waste = |n: &NodeFill| p.types[n.ty].price - n.pods.iter().map(|&(i, a)| weights[i] * a as f64).sum::<f64>();
    'restart: while left > 0 && nodes.len() > 1 {
        let mut order: Vec<usize> = (0..nodes.len()).collect();
        order.sort_by(|&a, &b| waste(&nodes[b]).total_cmp(&waste(&nodes[a])).then(a.cmp(&b)));
        order.truncate(CANDIDATES);
        let opens = reopen(p, &Packing { nodes: nodes.clone() });
        let mut by_load: Vec<usize> = (0..nodes.len()).collect();
        by_load.sort_by(|&a, &b| opens[b].load(p).total_cmp(&opens[a].load(p)).then(a.cmp(&b)));
        for set in subsets(order.len()) {
            if left == 0 {
                break 'restart;
            }
            let picked: Vec<usize> = set.iter().map(|&k| order[k]).collect();
            let (better, used) = recreate(p, types, (&nodes, &opens, &by_load), &picked, left.min(STEP_NODES));
            left = left.saturating_sub(used.max(SETUP_WORK));
            if let Some(n) = better {
                nodes = n;
                continue 'restart;
            }
        }
        break;
    }
    Packing { nodes }
}

/// The sets of one, two and three of `n` positions, smallest first.
fn subsets(n: usize) -> Vec<Vec<usize>> {
    let mut out = Vec::new();
    for a in 0..n {
        out.push(vec![a]);
    }
    for a in 0..n {
        for b in a + 1..n {
            out.push(vec![a, b]);
        }
    }
    for a in 0..n {
        for b in a + 1..n {
            for c in b + 1..n {
                out.push(vec![a, b, c]);
            }
        }
    }
    out
}

/// Takes the nodes `picked` out of `nodes` (whose open state is `opens`, and `by_load` their
/// positions, fullest first) and places their pods again: into the free room of the other
/// nodes (fullest first) and onto new nodes by the exact search, which must beat the price of
/// the nodes taken out. Returns the cheaper fleet if one was found, and the search nodes used.
#[allow(clippy::cast_precision_loss)]
fn recreate(
    p: &Problem,
    types: &[usize],
    (nodes, opens, by_load): (&[NodeFill], &[Open], &[usize]),
    picked: &[usize],
    budget: u64,
) -> (Option<Vec<NodeFill>>, u64) {
    let removed: f64 = picked.iter().map(|&k| p.types[nodes[k].ty].price).sum();
    let mut rest = vec![0u64; p.items.len()];
    for &k in picked {
        for &(i, a) in &nodes[k].pods {
            rest[i] += a;
        }
    }
    let mut per_type = vec![0u64; p.types.len()];
    for (k, n) in nodes.iter().enumerate() {
        if !picked.contains(&k) {
            per_type[n.ty] += 1;
        }
    }
    // Two ways: the exact search on the pods alone, and after filling the others' free room.
    let mut used_total = 0;
    for fill_others in [false, true] {
        // The other nodes that received pods, by position.
        let mut changed: Vec<(usize, Open)> = Vec::new();
        let mut residual = rest.clone();
        let mut fits: u64 = 0;
        if fill_others {
            for (i, left) in residual.iter_mut().enumerate() {
                for &k in by_load {
                    if *left == 0 {
                        break;
                    }
                    if picked.contains(&k) {
                        continue;
                    }
                    let at = changed.iter().position(|(j, _)| *j == k);
                    let o = at.map_or(&opens[k], |c| &changed[c].1);
                    let n = o.room(p, i, *left);
                    fits += 1;
                    if n > 0 {
                        let c = at.unwrap_or_else(|| {
                            changed.push((k, opens[k].clone()));
                            changed.len() - 1
                        });
                        changed[c].1.add(p, i, n);
                        *left -= n;
                    }
                }
            }
            used_total += fits.div_ceil(FITS_PER_NODE);
            if changed.is_empty() {
                continue;
            }
        }
        let live = residual.iter().filter(|&&c| c > 0).count();
        let pods: u64 = residual.iter().sum();
        let mut new_nodes = Vec::new();
        if pods > 0 {
            if live > EXACT_MAX_SERVICES || pods > EXACT_MAX_PODS {
                continue;
            }
            let mut sub = p.clone();
            for (it, &c) in sub.items.iter_mut().zip(&residual) {
                it.count = c;
            }
            for &t in types {
                if let Some(m) = sub.types[t].max_nodes {
                    sub.types[t].max_nodes = Some(m.saturating_sub(per_type[t]));
                }
            }
            let lbf = |rem: &[u64], _: &[u64]| unit_price_bound(&sub, types, rem);
            let limits = Limits {
                exact_nodes: budget,
                time: Duration::from_secs(3600),
            };
            // The node limit bounds the search; the deadline is only a backstop.
            let ex = exact(
                &sub,
                types,
                removed - 1e-9,
                &lbf,
                limits,
                Instant::now() + Duration::from_secs(3600),
            );
            used_total += match ex.outcome {
                super::ExactOutcome::Proven { explored }
                | super::ExactOutcome::NodeLimit { explored }
                | super::ExactOutcome::TimeLimit { explored }
                | super::ExactOutcome::PatternLimit { explored } => explored,
                super::ExactOutcome::NotNeeded | super::ExactOutcome::TooLarge { .. } => 0,
            };
            let Some(pk) = ex.packing else { continue };
            new_nodes = pk.nodes;
        }
        let added: f64 = new_nodes.iter().map(|n| p.types[n.ty].price).sum();
        if added < removed - 1e-9 {
            let mut out: Vec<NodeFill> = (0..nodes.len())
                .filter(|k| !picked.contains(k))
                .map(|k| {
                    changed
                        .iter()
                        .find(|(j, _)| *j == k)
                        .map_or_else(|| nodes[k].clone(), |(_, o)| o.fill())
                })
                .collect();
            out.extend(new_nodes);
            return (Some(out), used_total);
        }
    }
    (None, used_total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::pack::heuristics::merge_pairs;
    use crate::plan::pack::model::check;

    /// Items `(cpu, count)` on node types `(cpu, price, max_nodes)`: CPU binds (memory 1 of 1,000).
    fn problem(items: &[(u64, u64)], types: &[(u64, f64, Option<u64>)]) -> Problem {
        let items: Vec<(u64, u64, u64)> = items.iter().map(|&(cpu, count)| (cpu, 1, count)).collect();
        let types: Vec<(u64, u64, f64, Option<u64>)> = types
            .iter()
            .map(|&(cpu, price, max)| (cpu, 1_000, price, max))
            .collect();
        crate::plan::pack::testkit::problem(&items, &types)
    }

    fn node(ty: usize, pods: &[(usize, u64)]) -> NodeFill {
        NodeFill {
            ty,
            pods: pods.to_vec(),
        }
    }

    #[test]
    fn three_nodes_become_two_where_no_pair_merges() {
        // Two pods of 60 and two of 40 on nodes of 100, packed {60} {60} {40 40}: no two nodes
        // fit on one, but the three re-pack into {60 40} {60 40}.
        let p = problem(&[(60, 2), (40, 2)], &[(100, 1.0, None)]);
        let start = Packing {
            nodes: vec![node(0, &[(0, 1)]), node(0, &[(0, 1)]), node(0, &[(1, 2)])],
        };
        check(&p, &start).unwrap();
        assert_eq!(merge_pairs(&p, &[0], &start, 1_000).nodes.len(), 3);
        let w = share_weights(&p, &[0]);
        let better = ruin_recreate(&p, &[0], &start, &w, 10_000);
        check(&p, &better).unwrap();
        assert_eq!(better.nodes.len(), 2);
        // No budget, no change.
        assert_eq!(ruin_recreate(&p, &[0], &start, &w, 0), start);
    }

    /// Random fleets from a poor packing (one pod per node on random types): the result is a
    /// valid packing within the quotas, never more expensive, and cheaper whenever two nodes could
    /// be one.
    #[test]
    fn never_worse_and_valid_on_random_fleets() {
        let mut rnd = crate::plan::pack::testkit::xorshift();
        for case in 0..40 {
            let items: Vec<(u64, u64)> = (0..=rnd(5)).map(|_| (10 + rnd(31), 1 + rnd(4))).collect();
            let types: Vec<(u64, f64, Option<u64>)> = (0..=rnd(3))
                .map(|_| {
                    let cpu = 80 + rnd(120);
                    (cpu, cpu as f64 / 100.0, (rnd(3) == 0).then_some(100))
                })
                .collect();
            let p = problem(&items, &types);
            let all: Vec<usize> = (0..p.types.len()).collect();
            let mut nodes = Vec::new();
            for (i, it) in p.items.iter().enumerate() {
                for _ in 0..it.count {
                    let t = all[usize::try_from(rnd(all.len() as u64)).unwrap()];
                    nodes.push(node(t, &[(i, 1)]));
                }
            }
            let start = Packing { nodes };
            check(&p, &start).unwrap();
            let w = share_weights(&p, &all);
            let better = ruin_recreate(&p, &all, &start, &w, 5_000);
            check(&p, &better).unwrap_or_else(|e| panic!("case {case}: {e}"));
            assert!(better.cost(&p) <= start.cost(&p) + 1e-9, "case {case}");
            if start.nodes.len() >= 2 {
                // Pods of at most 40 on nodes of at least 80: any two share a node.
                assert!(better.cost(&p) < start.cost(&p) - 1e-9, "case {case}");
            }
        }
    }
}

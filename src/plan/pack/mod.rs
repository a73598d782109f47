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
//!   then a local search that tries to empty the least-loaded nodes, and ruin and recreate
//!   (take out the worst-used nodes, re-pack their pods exactly; `repair`). The best result is kept
//!   and it is never worse than either FFD (FFD is one of the candidates).
//! * Lower bounds: volume (per resource), `max_per_node`, and Martello–Toth L2 per dimension
//!   for one type; for several types, a per-resource unit-price bound and the LP relaxation
//!   (good_lp + microlp) of the assignment model.
//! * Exact: a bin-completion branch and bound over maximal node patterns with a node limit;
//!   `optimal` is true only when the search finished or the value meets the lower bound.
//!
//! Does not: decide what a service's request is (see `pod`) or read files.

mod bounds;
mod colgen;
mod exact;
mod heuristics;
mod lds;
mod lp;
mod master;
mod model;
mod pricing;
mod repair;
mod tables;
#[cfg(test)]
mod testkit;

use std::time::{Duration, Instant};

pub use bounds::{BoundParts, bound_parts, lower_bound};
pub use exact::ExactOutcome;
pub use heuristics::{Order, ffd};
pub use model::{BinType, Item, Limits, NodeFill, Packing, Problem, check, fits_empty};

use bounds::{lp_bound, unit_price_bound};
use exact::{EXACT_MAX_PODS, EXACT_MAX_SERVICES, exact};
use heuristics::{bfd, dot_product, downsize, empty_nodes, merge_pairs, mixed_greedy};

/// Pairs of nodes the merging local search tries (a deterministic budget).
const MERGE_WORK: u64 = 20_000;
/// Branch-and-bound nodes of the restricted master integer program (a deterministic budget;
/// half of it for one node type).
const IP_NODES: u64 = 200;
/// Pricing search nodes of the column generation for one node type (a deterministic budget; a
/// quarter of it for the dive). The cheapest mix gets [`colgen::WORK`]: one type's plan is one
/// of several, run side by side.
const SINGLE_WORK: u64 = 200_000;
/// Pricing and exact-search nodes of the backtracking dive for the cheapest mix (a deterministic
/// budget).
const LDS_WORK: u64 = 300_000;
/// Exact-search nodes of the ruin-and-recreate improvement of a fleet (a deterministic budget;
/// a quarter of it for one node type).
const REPAIR_WORK: u64 = 20_000;
use lp::{pattern_lp, pattern_lp_mixed};

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

/// How column generation went (for `--verbose`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ColGenTrace {
    /// Iterations (restricted LP solved, then every node type priced).
    pub iterations: usize,
    /// Node patterns generated.
    pub columns: usize,
    /// Pricing proved the LP optimal, or the bound rounded up to a sum of prices reached the
    /// restricted LP's value or the best fleet's cost (so solving on could not raise it); else
    /// the bound is the Lagrangian bound when the work budget ran out.
    pub converged: bool,
}

/// How [`plan_single_traced`] found its plan (for `--verbose`; timings vary between runs).
#[derive(Clone, Debug, PartialEq)]
pub struct SingleTrace {
    /// The combinatorial bounds before the LP.
    pub bounds: BoundParts,
    /// Column generation, when the LP was too large to enumerate.
    pub column_generation: Option<ColGenTrace>,
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
    /// What produced the final packing: `ffd`, `heuristic`, `local search`, `LP rounding`,
    /// `restricted IP`, `ruin and recreate` or `exact search`.
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
        column_generation: None,
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
        } else if counts.iter().filter(|&&c| c > 0).count() <= colgen::MAX_SERVICES
            && counts.iter().sum::<u64>() <= colgen::MAX_PODS
        {
            // Too many patterns to list: generate the useful ones. Every node costs 1 here.
            let mut unit = p.clone();
            unit.types[ty].price = 1.0;
            unit.types[ty].max_nodes = None;
            if let Some(cg) = colgen::column_generation(&unit, &[ty], &counts, SINGLE_WORK, best.nodes.len() as f64) {
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                let bound = (cg.bound - 1e-6).ceil().max(0.0) as u64;
                lb = lb.max(bound);
                trace.lp = Some(bound);
                trace.column_generation = Some(ColGenTrace {
                    iterations: cg.iterations,
                    columns: cg.columns.len(),
                    converged: cg.converged,
                });
                if (best.nodes.len() as u64) > lb {
                    let pk = master::restricted_ip(&unit, &[ty], &counts, &cg.columns, Some(&best), IP_NODES / 2);
                    consider(pk, &mut best, &mut trace.found_by, "restricted IP");
                }
                if (best.nodes.len() as u64) > lb {
                    #[allow(clippy::cast_precision_loss)]
                    let pk = lds::search(&unit, &[ty], &counts, &cg, best.nodes.len() as f64, SINGLE_WORK / 4);
                    consider(pk, &mut best, &mut trace.found_by, "LP rounding");
                }
                if (best.nodes.len() as u64) > lb {
                    let w = master::DualMaster::new(&unit, &[ty], &counts, &cg.columns)
                        .map_or_else(|| repair::share_weights(&unit, &[ty]), |m| m.duals().0);
                    let pk = repair::ruin_recreate(&unit, &[ty], &best, &w, REPAIR_WORK / 4);
                    consider(Some(pk), &mut best, &mut trace.found_by, "ruin and recreate");
                }
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

/// How [`plan_mixed_traced`] found its fleet (for `--verbose`; timings vary between runs).
#[derive(Clone, Debug, PartialEq)]
pub struct MixedTrace {
    /// The per-resource unit-price bound on the cost.
    pub unit_price_bound: f64,
    /// Column generation, when the configuration LP was too large to enumerate.
    pub column_generation: Option<ColGenTrace>,
    /// Its bound on the cost (valid also when it did not converge).
    pub column_generation_bound: Option<f64>,
    /// The restricted LP's value when column generation stopped (at least the configuration
    /// LP's optimum; equal to it when it converged by pricing).
    pub restricted_lp: Option<f64>,
    /// The configuration LP's bound over every type, when solved.
    pub pattern_lp: Option<f64>,
    /// The assignment LP's bound, when solved.
    pub assignment_lp: Option<f64>,
    /// What produced the final fleet: `single type`, `greedy`, `downsizing`, `local search`,
    /// `LP rounding`, `LP rounding and repair`, `restricted IP`, `ruin and recreate` or
    /// `exact search`.
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
    let mut cg_trace = None;
    let mut cg_bound = None;
    let mut restricted_lp = None;
    let mut weights = None;
    if let Some((bound, packing)) = pattern_lp_mixed(p, types, &counts, limits.time) {
        lb = lb.max(bound);
        pattern_bound = Some(bound);
        if let Some(pk) = packing {
            take(pk, &mut best, &mut found_by, "LP rounding");
        }
    } else if let Some(cg) = (counts.iter().filter(|&&c| c > 0).count() <= colgen::MAX_SERVICES
        && counts.iter().sum::<u64>() <= colgen::MAX_PODS)
        .then(|| {
            let upper = best.as_ref().map_or(f64::INFINITY, |b| b.cost(p));
            colgen::column_generation(p, types, &counts, colgen::WORK, upper)
        })
        .flatten()
    {
        // Too many patterns to list: generate the useful ones.
        lb = lb.max(cg.bound);
        cg_bound = Some(cg.bound);
        restricted_lp = Some(cg.objective);
        cg_trace = Some(ColGenTrace {
            iterations: cg.iterations,
            columns: cg.columns.len(),
            converged: cg.converged,
        });
        weights = master::DualMaster::new(p, types, &counts, &cg.columns).map(|m| m.duals().0);
        let target = colgen::round_up_to_prices(p, types, lb) + 1e-9;
        let cost = |b: &Option<Packing>| b.as_ref().map_or(f64::INFINITY, |b| b.cost(p));
        if cost(&best) > target {
            let ip = master::restricted_ip(p, types, &counts, &cg.columns, best.as_ref(), IP_NODES);
            if let Some(pk) = ip {
                take(downsize(p, types, &pk), &mut best, &mut found_by, "restricted IP");
            }
        }
        if cost(&best) > target {
            if let Some(pk) = lds::search(p, types, &counts, &cg, cost(&best), LDS_WORK) {
                take(downsize(p, types, &pk), &mut best, &mut found_by, "LP rounding");
            }
            let far = Instant::now() + limits.time.max(Duration::from_secs(1));
            if let Some(pk) = colgen::round_and_repair(p, types, &counts, &cg, limits, far) {
                take(
                    downsize(p, types, &pk),
                    &mut best,
                    &mut found_by,
                    "LP rounding and repair",
                );
            }
        }
    }
    if let Some(b) = best.clone() {
        let merged = merge_pairs(p, types, &b, MERGE_WORK);
        take(downsize(p, types, &merged), &mut best, &mut found_by, "local search");
    }
    let target = colgen::round_up_to_prices(p, types, lb) + 1e-9;
    if let Some(b) = best.clone()
        && b.cost(p) > target
    {
        let w = weights.unwrap_or_else(|| repair::share_weights(p, types));
        let better = repair::ruin_recreate(p, types, &b, &w, REPAIR_WORK);
        take(
            downsize(p, types, &better),
            &mut best,
            &mut found_by,
            "ruin and recreate",
        );
    }
    let best = best?;
    let assignment = lp_bound(p, types, limits.time.max(Duration::from_millis(500)));
    if let Some(l) = assignment {
        lb = lb.max(l);
    }
    // A fleet's cost is a sum of node prices: the bound rises to the next such sum.
    lb = colgen::round_up_to_prices(p, types, lb);
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
        column_generation: cg_trace,
        column_generation_bound: cg_bound,
        restricted_lp,
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

    use super::testkit::item;

    /// A node type at $1/h without a node limit.
    fn bin(cpu: u64, mem: u64, pods: u64) -> BinType {
        super::testkit::bin(cpu, mem, pods, 1.0, None)
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

//! The configuration LP by column generation, for inputs too large to enumerate every node
//! pattern: a bound on the cost (or node count) that is valid at every iteration, and packings
//! rounded from the LP and repaired.
//!
//! The master LP is `min Σ c_t z_q  s.t.  Σ_q a_qi z_q >= d_i,  Σ_{q of t} z_q <= M_t,  z >= 0`
//! over node patterns q. It is solved through its dual, `max Σ d_i π_i + Σ M_t μ_t  s.t.
//! Σ_i a_qi π_i + μ_t <= c_t` for every pattern generated so far (π >= 0, μ <= 0), with good_lp
//! and microlp. Pricing asks, per node type, for the pattern of largest dual value
//! `v_t = max Σ π_i a_i` over what fits one node (CPU, memory, pod slots, `max_per_node`, the
//! image cache) with `a_i <= d_i`; it is a bounded multi-dimensional knapsack, solved exactly by
//! a depth-first branch and bound whose bound is the fractional knapsack on each resource alone
//! (Gilmore and Gomory, *A linear programming approach to the cutting-stock problem*, 1961).
//!
//! The bound does not need the LP solved to the end. For any duals π and any upper bounds
//! `V_t >= v_t`, Lagrangian relaxation of the demand rows gives
//! `LB(λ) = λ Σ π_i d_i + Σ_{t with a quota} M_t · min(0, c_t - λ V_t)` for every
//! `0 <= λ <= min(1, min_{t without quota} c_t / V_t)` (Farley's bound when no type has a quota);
//! when pricing finds no improving pattern, `LB` equals the LP optimum.

use super::heuristics::{Order, ffd, mixed_greedy};
use super::master::DualMaster;
use super::model::{NodeFill, Open, Packing, Problem, fits_empty};
use super::pricing;

/// Column generation is used up to this many services with replicas ...
pub(super) const MAX_SERVICES: usize = 80;
/// ... and this many pods (beyond, one LP round costs more than the whole time budget).
pub(super) const MAX_PODS: u64 = 2_000;
/// Pricing search nodes one column generation (and one dive) may spend: the deterministic work
/// budget that replaces a wall-clock limit.
pub(super) const WORK: u64 = 600_000;
/// Search nodes one pricing call may explore before returning its bound instead of a proof.
const PRICING_NODES: u64 = 50_000;
/// Work one round costs besides its pricing (the restricted LP is re-solved), in pricing search
/// nodes: it bounds the rounds of a column generation, and of the ones a dive runs.
const ROUND_WORK: u64 = 1_000;
/// Weight of the best duals so far in the smoothed pricing point (Wentges smoothing).
const SMOOTHING: f64 = 0.5;
/// Patterns added per node type and iteration.
const COLUMNS_PER_TYPE: usize = 4;
/// Column-generation iterations at most.
const MAX_ITERATIONS: usize = 400;
/// Pricing search nodes of one column generation inside a dive.
#[cfg(test)]
const DIVE_WORK: u64 = 50_000;

/// What column generation produced.
#[derive(Clone, Debug)]
pub(super) struct ColGen {
    /// A valid lower bound on the cost of any packing of `counts` (the LP optimum when
    /// `converged`).
    pub bound: f64,
    /// Pricing proved that no pattern improves the LP (`bound` is the LP optimum, within the
    /// pricing's tolerance), or the bound rounded up to a sum of prices reached the restricted
    /// LP's value or `upper`.
    pub converged: bool,
    /// The patterns generated, for rounding.
    pub columns: Vec<NodeFill>,
    /// Iterations run.
    pub iterations: usize,
    /// Pricing search nodes used.
    pub work: u64,
    /// The restricted LP's value at the end (an upper bound on the configuration LP's).
    pub objective: f64,
    /// The restricted LP's duals at the end: π per item, and μ per node type of `types`.
    pub duals: (Vec<f64>, Vec<f64>),
}

/// Heuristic pricing: greedy fills of one node of type `ty` in decreasing dual value per unit
/// of size (three size measures), each returned when its value is above `threshold`. Cheap, so
/// column generation calls the exact [`price`] only when these find nothing.
#[allow(clippy::cast_precision_loss)]
fn greedy_price(p: &Problem, ty: usize, duals: &[f64], counts: &[u64], threshold: f64) -> Vec<NodeFill> {
    let empty = Open::new(p, ty);
    let dims = p.dims();
    let live: Vec<usize> = (0..p.items.len())
        .filter(|&i| counts[i] > 0 && duals[i] > 1e-12 && empty.room(p, i, 1) == 1)
        .collect();
    let norm = |i: usize, d: usize| p.size(i, d) as f64 / p.cap(ty, d).max(1) as f64;
    let mut out: Vec<NodeFill> = Vec::new();
    for measure in 0..3 {
        let w = |i: usize| -> f64 {
            let v = match measure {
                0 => (0..dims).map(|d| norm(i, d)).fold(0.0, f64::max),
                1 => (0..dims).map(|d| norm(i, d)).sum(),
                _ => 1.0 / duals[i].max(1e-12),
            };
            v.max(1e-12)
        };
        let mut order = live.clone();
        order.sort_by(|&a, &b| (duals[b] / w(b)).total_cmp(&(duals[a] / w(a))).then(a.cmp(&b)));
        let mut node = empty.clone();
        let mut value = 0.0;
        for &i in &order {
            let n = node.room(p, i, counts[i]);
            if n > 0 {
                node.add(p, i, n);
                value += duals[i] * n as f64;
            }
        }
        if value > threshold {
            let f = node.fill();
            if !out.contains(&f) {
                out.push(f);
            }
        }
    }
    out
}

/// The Lagrangian bound for duals `duals` and pricing upper bounds `upper[k]` of `types[k]`.
#[allow(clippy::cast_precision_loss)]
fn lagrangian(p: &Problem, types: &[usize], counts: &[u64], duals: &[f64], upper: &[f64]) -> f64 {
    let demand: f64 = duals.iter().zip(counts).map(|(y, &d)| y * d as f64).sum();
    let mut lambda_max: f64 = 1.0;
    for (k, &t) in types.iter().enumerate() {
        if p.types[t].max_nodes.is_none() && upper[k] > 1e-12 {
            lambda_max = lambda_max.min(p.types[t].price / upper[k]);
        }
    }
    let at = |lambda: f64| -> f64 {
        let mut lb = lambda * demand;
        for (k, &t) in types.iter().enumerate() {
            if let Some(m) = p.types[t].max_nodes {
                lb += m as f64 * (p.types[t].price - lambda * upper[k]).min(0.0);
            }
        }
        lb
    };
    let mut best = at(lambda_max);
    for (k, &t) in types.iter().enumerate() {
        if p.types[t].max_nodes.is_some() && upper[k] > 1e-12 {
            let l = p.types[t].price / upper[k];
            if l < lambda_max {
                best = best.max(at(l));
            }
        }
    }
    best.max(0.0)
}

/// The one-item patterns that make the restricted master feasible, and the nodes of quick
/// packings (FFD per type, the mixed greedy) as a warm start.
fn initial_columns(p: &Problem, types: &[usize], counts: &[u64]) -> Vec<NodeFill> {
    let mut rest = p.clone();
    for (it, &c) in rest.items.iter_mut().zip(counts) {
        it.count = c;
    }
    let mut cols = Vec::new();
    for &t in types {
        for (i, &c) in counts.iter().enumerate() {
            if c > 0 && fits_empty(p, t, i) {
                let mut o = Open::new(p, t);
                let n = o.room(p, i, c);
                o.add(p, i, n);
                cols.push(o.fill());
            }
        }
        // FFD needs every item to fit this type.
        if (0..counts.len()).all(|i| counts[i] == 0 || fits_empty(p, t, i))
            && let Some(pk) = ffd(&rest, t, Order::ClusterAutoscaler)
        {
            cols.extend(pk.nodes);
        }
    }
    if types.len() > 1
        && let Some(pk) = mixed_greedy(&rest, types)
    {
        cols.extend(pk.nodes);
    }
    cols.sort_by(|a, b| (a.ty, &a.pods).cmp(&(b.ty, &b.pods)));
    cols.dedup();
    cols
}

/// Column generation over `types` for the pods in `counts` (every live item fits some type),
/// until pricing proves the LP optimal, the bound (rounded up to a sum of prices) reaches the
/// restricted LP's value or `upper` (the cost of a known packing), or `work` pricing search
/// nodes are spent (a deterministic budget: the result does not depend on the machine's speed
/// or load). The bound is valid either way.
///
/// Each round prices greedily first ([`greedy_price`]) at the restricted LP's duals; when that
/// finds nothing, the exact pricing runs at duals smoothed towards the best ones so far (the
/// duals of the best Lagrangian bound; Wentges, *Weighted Dantzig-Wolfe decomposition for
/// linear mixed-integer programming*, ITOR 4(2), 1997), which damps the duals' oscillation that
/// makes column generation tail off. An exact round gives each call a few search nodes first
/// ([`pricing::QUICK_NODES`]); only when that finds no improving pattern at the LP's own duals
/// do the unfinished calls run again with the whole per-call budget, to prove that none exists.
/// Every exact round yields a Lagrangian bound. A pattern the
/// smoothed pricing finds is added when it improves the restricted LP; when none does (a
/// mis-pricing), the smoothing is halved, and pricing at the LP's own duals with no improving
/// pattern ends the generation: the LP is solved.
pub(super) fn column_generation(p: &Problem, types: &[usize], counts: &[u64], work: u64, upper: f64) -> Option<ColGen> {
    column_generation_seeded(p, types, counts, work, upper, &[])
}

/// [`column_generation`] warm-started with the patterns `seed` too (each trimmed to `counts`;
/// those of other types, or left empty, are dropped): a residual after some nodes are fixed
/// starts from the patterns the whole problem's generation found.
#[allow(clippy::cast_precision_loss)]
pub(super) fn column_generation_seeded(
    p: &Problem,
    types: &[usize],
    counts: &[u64],
    work: u64,
    upper: f64,
    seed: &[NodeFill],
) -> Option<ColGen> {
    if counts.iter().all(|&c| c == 0) {
        return Some(ColGen {
            bound: 0.0,
            converged: true,
            columns: Vec::new(),
            iterations: 0,
            work: 0,
            objective: 0.0,
            duals: (vec![0.0; counts.len()], vec![0.0; types.len()]),
        });
    }
    let guard = |b: f64| (b * (1.0 - 1e-7) - 1e-9).max(0.0);
    let enough = |bound: f64, objective: f64| {
        let r = round_up_to_prices(p, types, guard(bound));
        r >= objective - 1e-7 * objective.abs().max(1.0) || r >= upper - 1e-9
    };
    let mut columns = initial_columns(p, types, counts);
    let known = columns.len();
    for q in seed.iter().filter(|q| types.contains(&q.ty)) {
        let pods: Vec<(usize, u64)> = q
            .pods
            .iter()
            .map(|&(i, a)| (i, a.min(counts[i])))
            .filter(|&(_, a)| a > 0)
            .collect();
        let q = NodeFill { ty: q.ty, pods };
        if !q.pods.is_empty() && !columns[..known].contains(&q) && !columns[known..].contains(&q) {
            columns.push(q);
        }
    }
    let mut master = DualMaster::new(p, types, counts, &columns)?;
    let mut bound: f64 = 0.0;
    let mut center: Option<Vec<f64>> = None;
    let mut alpha = SMOOTHING;
    let mut converged = false;
    let mut iterations = 0;
    let mut left = work;
    while iterations < MAX_ITERATIONS {
        iterations += 1;
        let (duals, mus) = master.duals();
        if enough(bound, master.objective()) {
            converged = true;
            break;
        }
        if left == 0 {
            break;
        }
        // Every round re-solves the restricted LP: it costs work too.
        left = left.saturating_sub(ROUND_WORK);
        let improves = |k: usize, q: &NodeFill| {
            let v: f64 = q.pods.iter().map(|&(i, a)| duals[i] * a as f64).sum();
            v > p.types[types[k]].price - mus[k] + 1e-9
        };
        let mut new: Vec<NodeFill> = Vec::new();
        for (k, &t) in types.iter().enumerate() {
            let threshold = p.types[t].price - mus[k] + 1e-9;
            for q in greedy_price(p, t, &duals, counts, threshold) {
                if !columns.contains(&q) && !new.contains(&q) {
                    new.push(q);
                }
            }
        }
        if new.is_empty() {
            if left == 0 {
                break;
            }
            let smoothed = alpha > 0.0 && center.is_some();
            let sep: Vec<f64> = match (&center, smoothed) {
                (Some(c), true) => c
                    .iter()
                    .zip(&duals)
                    .map(|(c, d)| alpha * c + (1.0 - alpha) * d)
                    .collect(),
                _ => duals.clone(),
            };
            // A quick round first (each call within its first phase); when it finds nothing at
            // the LP's own duals, the calls it left unfinished run again with their whole budget
            // to prove it.
            let mut values = Vec::with_capacity(types.len());
            let mut open = Vec::new();
            for (k, &t) in types.iter().enumerate() {
                let priced = pricing::price(
                    p,
                    t,
                    &sep,
                    counts,
                    1e-9,
                    COLUMNS_PER_TYPE,
                    left.min(pricing::QUICK_NODES),
                );
                left -= priced.used;
                if !priced.finished {
                    open.push(k);
                }
                values.push(priced.upper);
                for (_, q) in priced.found {
                    if improves(k, &q) && !columns.contains(&q) && !new.contains(&q) {
                        new.push(q);
                    }
                }
            }
            if new.is_empty() && !smoothed {
                for k in open.clone() {
                    if left == 0 {
                        break;
                    }
                    let t = types[k];
                    let priced = pricing::price(p, t, &sep, counts, 1e-9, COLUMNS_PER_TYPE, left.min(PRICING_NODES));
                    left -= priced.used;
                    values[k] = values[k].min(priced.upper);
                    if priced.finished {
                        open.retain(|&o| o != k);
                    }
                    for (_, q) in priced.found {
                        if improves(k, &q) && !columns.contains(&q) && !new.contains(&q) {
                            new.push(q);
                        }
                    }
                }
            }
            let lb = lagrangian(p, types, counts, &sep, &values);
            if lb > bound {
                bound = lb;
                center = Some(sep);
            }
            if new.is_empty() {
                if smoothed {
                    // Mis-pricing: move the pricing point towards the LP's duals.
                    alpha = if alpha > 0.1 { alpha / 2.0 } else { 0.0 };
                    continue;
                }
                // No pattern improves the LP at its own duals: when pricing finished, the
                // bound at these duals is the LP optimum.
                converged = open.is_empty();
                break;
            }
        }
        for q in new {
            master = master.add(p, &q)?;
            columns.push(q);
        }
    }
    Some(ColGen {
        // Guard against floating-point error in the bound's favour.
        bound: guard(bound),
        converged,
        columns,
        iterations,
        work: work - left,
        objective: master.objective(),
        duals: master.duals(),
    })
}

/// Solves the restricted master (primal) over `columns`: the LP values of every column.
#[allow(clippy::cast_precision_loss)]
pub(super) fn solve_master(p: &Problem, types: &[usize], counts: &[u64], columns: &[NodeFill]) -> Option<Vec<f64>> {
    use good_lp::{Expression, ProblemVariables, Solution, SolutionStatus, SolverModel, variable};
    let mut vars = ProblemVariables::new();
    let z: Vec<_> = columns.iter().map(|_| vars.add(variable().min(0.0))).collect();
    let objective: Expression = columns.iter().zip(&z).map(|(q, v)| p.types[q.ty].price * *v).sum();
    let mut model = vars.minimise(objective).using(good_lp::microlp);
    for row in super::lp::cover_rows(p, types, counts, columns, &z) {
        model = model.with(row);
    }
    let sol = model.solve().ok()?;
    if !matches!(sol.status(), SolutionStatus::Optimal) {
        return None;
    }
    Some(z.iter().map(|v| sol.value(*v)).collect())
}

/// A packing from the LP: round the master's solution down, then dive (solve the residual's LP
/// again by column generation, commit its whole columns, or its largest column once) until every
/// pod is placed or `work` pricing search nodes are spent, when a greedy packs what is left.
///
/// The plain dive without backtracking, which the planner used before `lds`: kept as the
/// reference the backtracking dive is tested against.
#[cfg(test)]
#[allow(
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss
)]
pub(super) fn dive(p: &Problem, types: &[usize], counts: &[u64], cg: &ColGen, work: u64) -> Option<Packing> {
    let mut left = work;
    let mut remaining = counts.to_vec();
    let mut quota: Vec<Option<u64>> = p.types.iter().map(|t| t.max_nodes).collect();
    let mut nodes: Vec<NodeFill> = Vec::new();
    let mut columns = cg.columns.clone();
    let mut first = true;
    let commit = |q: &NodeFill, remaining: &mut Vec<u64>, quota: &mut Vec<Option<u64>>, nodes: &mut Vec<NodeFill>| {
        let pods: Vec<(usize, u64)> = q
            .pods
            .iter()
            .map(|&(i, a)| (i, a.min(remaining[i])))
            .filter(|&(_, a)| a > 0)
            .collect();
        if pods.is_empty() || quota[q.ty] == Some(0) {
            return false;
        }
        for &(i, a) in &pods {
            remaining[i] -= a;
        }
        if let Some(m) = &mut quota[q.ty] {
            *m -= 1;
        }
        nodes.push(NodeFill { ty: q.ty, pods });
        true
    };
    while remaining.iter().any(|&r| r > 0) && left > 0 {
        let mut sub = p.clone();
        for (t, bt) in sub.types.iter_mut().enumerate() {
            bt.max_nodes = quota[t];
        }
        if !first {
            let Some(again) = column_generation(&sub, types, &remaining, left.min(DIVE_WORK), f64::INFINITY) else {
                break;
            };
            // Every round costs at least one unit, so the dive ends.
            left = left.saturating_sub(again.work.max(1));
            columns = again.columns;
        }
        first = false;
        let Some(z) = solve_master(&sub, types, &remaining, &columns) else {
            break;
        };
        let mut progress = false;
        for (q, &v) in columns.iter().zip(&z) {
            for _ in 0..((v + 1e-9).floor() as u64) {
                if !commit(q, &mut remaining, &mut quota, &mut nodes) {
                    break;
                }
                progress = true;
            }
        }
        if !progress {
            // No whole column: take the one the LP uses most.
            let best = (0..columns.len())
                .filter(|&k| z[k] > 1e-9)
                .max_by(|&a, &b| z[a].total_cmp(&z[b]).then(b.cmp(&a)));
            let Some(k) = best else { break };
            let q = columns[k].clone();
            if !commit(&q, &mut remaining, &mut quota, &mut nodes) {
                break;
            }
        }
    }
    if remaining.iter().any(|&r| r > 0) {
        let mut rest = p.clone();
        for (it, &r) in rest.items.iter_mut().zip(&remaining) {
            it.count = r;
        }
        for (t, bt) in rest.types.iter_mut().enumerate() {
            bt.max_nodes = quota[t];
        }
        let tail = if types.len() == 1 {
            [Order::ClusterAutoscaler, Order::MaxDim, Order::Karpenter]
                .iter()
                .filter_map(|&o| ffd(&rest, types[0], o))
                .min_by_key(|pk| pk.nodes.len())?
        } else {
            mixed_greedy(&rest, types)?
        };
        nodes.extend(tail.nodes);
    }
    Some(Packing { nodes })
}

/// A packing from the LP by rounding and exact repair: `floor` of the master's solution, then
/// the exact search (within `limits.exact_nodes` search nodes) on the pods left, which are few
/// when the LP is nearly integral. `None` when the residual is too large for the search.
#[allow(clippy::cast_precision_loss)]
pub(super) fn round_and_repair(
    p: &Problem,
    types: &[usize],
    counts: &[u64],
    cg: &ColGen,
    limits: super::model::Limits,
    deadline: std::time::Instant,
) -> Option<Packing> {
    use super::exact::{EXACT_MAX_PODS, EXACT_MAX_SERVICES, exact};
    let z = solve_master(p, types, counts, &cg.columns)?;
    let (mut nodes, mut rest) = super::lp::round_down(p, &cg.columns, z.iter().copied(), counts);
    let mut used = vec![0u64; p.types.len()];
    for n in &nodes {
        used[n.ty] += 1;
    }
    if p.types
        .iter()
        .enumerate()
        .any(|(t, bt)| bt.max_nodes.is_some_and(|m| used[t] > m))
    {
        return None;
    }
    for (t, bt) in rest.types.iter_mut().enumerate() {
        bt.max_nodes = bt.max_nodes.map(|m| m - used[t]);
    }
    let live = rest.items.iter().filter(|i| i.count > 0).count();
    let pods: u64 = rest.items.iter().map(|i| i.count).sum();
    if live > EXACT_MAX_SERVICES || pods > EXACT_MAX_PODS {
        return None;
    }
    let tail = mixed_greedy(&rest, types);
    let upper = tail.as_ref().map_or(f64::INFINITY, |t| t.cost(&rest) + 1e-9);
    let lbf = |rem: &[u64], _: &[u64]| super::bounds::unit_price_bound(&rest, types, rem);
    let ex = exact(&rest, types, upper, &lbf, limits, deadline);
    let tail = ex.packing.or(tail)?;
    nodes.extend(tail.nodes);
    Some(Packing { nodes })
}

/// The smallest cost at or above `bound` that whole nodes can add up to, when every price is a
/// whole number of micro-dollars with a common divisor (node counts: 1): the optimum is such a
/// sum, so the bound can be rounded up to the next multiple.
#[allow(
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss
)]
pub(super) fn round_up_to_prices(p: &Problem, types: &[usize], bound: f64) -> f64 {
    let mut g: u64 = 0;
    for &t in types {
        let micro = p.types[t].price * 1e6;
        if !(micro.is_finite() && micro >= 0.5 && (micro - micro.round()).abs() < 1e-6 && micro < 1e15) {
            return bound;
        }
        let mut a = micro.round() as u64;
        let mut b = g;
        while b != 0 {
            (a, b) = (b, a % b);
        }
        g = a;
    }
    if g == 0 {
        return bound;
    }
    let step = g as f64 / 1e6;
    // The bound already carries a safety margin below the LP value; stay below a multiple the
    // bound only reaches by rounding error.
    let k = (bound / step - 1e-6).ceil().max(0.0);
    (k * step).max(bound)
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::plan::pack::testkit::problem;

    #[test]
    fn converges_to_the_configuration_lp() {
        // Items of 60 and 45 in bins of 100: a 60 and a 45 never share... 60+45 > 100, so the
        // LP is (number of 60s) + (45s)/2 = 3 + 2 = 5 with 3 x 60 and 4 x 45.
        let p = problem(&[(60, 1, 3), (45, 1, 4)], &[(100, 100, 1.0, None)]);
        let counts = [3, 4];
        let cg = column_generation(&p, &[0], &counts, 10_000_000, f64::INFINITY).unwrap();
        assert!(cg.converged);
        // It stops once the bound, rounded up to whole nodes, reaches the restricted LP.
        assert!(cg.bound <= 5.0 + 1e-9 && cg.bound > 4.0, "{}", cg.bound);
    }

    /// Random small instances: the converged bound equals the configuration LP over every
    /// enumerated pattern, and the dive's packing is valid and no cheaper than the bound.
    #[test]
    fn agrees_with_the_enumerated_lp_on_random_instances() {
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        let mut rnd = |n: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % n
        };
        let mut compared = 0;
        for case in 0..40 {
            let items: Vec<(u64, u64, u64)> = (0..2 + rnd(5))
                .map(|_| (100 + rnd(1900), 128 + rnd(6000), 1 + rnd(6)))
                .collect();
            let types: Vec<(u64, u64, f64, Option<u64>)> = (0..=rnd(3))
                .map(|_| {
                    let (cpu, mem, price) = crate::plan::pack::testkit::random_type(&mut rnd);
                    (cpu, mem, price, (rnd(3) == 0).then(|| 1 + rnd(4)))
                })
                .collect();
            let mut p = problem(&items, &types);
            for it in &mut p.items {
                it.max_per_node = if rnd(4) == 0 { 1 + rnd(2) } else { u64::MAX };
            }
            // Half the cases have images (three over four layers, two sharing one) and disks:
            // the image cache is a union of layers, which the pricing must respect.
            if case % 2 == 1 {
                let images = [vec![0usize, 1], vec![0, 2], vec![3]];
                p.layer_size = vec![800, 300, 400, 900];
                for it in &mut p.items {
                    it.layers = images[usize::try_from(rnd(3)).unwrap_or(0)].clone();
                }
                for t in &mut p.types {
                    t.disk = Some(1_000 + rnd(1_500));
                }
            }
            let all: Vec<usize> = (0..p.types.len()).collect();
            // Every item must fit some type, and the quotas must leave a packing.
            let whole = p.clone();
            for (i, it) in p.items.iter_mut().enumerate() {
                if !all.iter().any(|&t| fits_empty(&whole, t, i)) {
                    it.count = 0;
                }
            }
            let counts: Vec<u64> = p.items.iter().map(|i| i.count).collect();
            let Some((enumerated, _)) =
                super::super::lp::pattern_lp_mixed(&p, &all, &counts, std::time::Duration::from_secs(5))
            else {
                continue;
            };
            // Cut short after a few pricing search nodes, the bound is still valid.
            let short = column_generation(&p, &all, &counts, 30, f64::INFINITY).unwrap();
            assert!(short.bound <= enumerated + 1e-6 * enumerated.max(1.0), "case {case}");
            let cg = column_generation(&p, &all, &counts, 10_000_000, f64::INFINITY).unwrap();
            assert!(cg.converged, "case {case}");
            compared += 1;
            // A valid bound, and (rounded up to a sum of prices, where it stops) the LP's.
            assert!(cg.bound <= enumerated + 1e-6 * enumerated.max(1.0), "case {case}");
            assert!(
                (round_up_to_prices(&p, &all, cg.bound) - round_up_to_prices(&p, &all, enumerated)).abs() <= 1e-6,
                "case {case}: column generation {} vs enumerated LP {enumerated}",
                cg.bound
            );
            if let Some(pk) = dive(&p, &all, &counts, &cg, 10_000_000) {
                let mut q = p.clone();
                for (it, &c) in q.items.iter_mut().zip(&counts) {
                    it.count = c;
                }
                match crate::plan::pack::check(&q, &pk) {
                    Ok(()) => assert!(pk.cost(&q) >= cg.bound - 1e-6, "case {case}"),
                    // A greedy tail may break a quota; the planner drops such fleets.
                    Err(e) => assert!(e.contains("max_nodes"), "case {case}: {e}"),
                }
            }
        }
        assert!(compared >= 30, "only {compared} cases compared");
    }

    #[test]
    fn quotas_and_prices() {
        // One item kind of 50: type A (cap 100, $1, at most 1 node) holds 2, type B (cap 50, $0.8)
        // holds 1. 4 pods: 1 A + 2 B = $2.6 is optimal, and the LP agrees.
        let p = problem(&[(50, 1, 4)], &[(100, 100, 1.0, Some(1)), (50, 100, 0.8, None)]);
        let cg = column_generation(&p, &[0, 1], &[4], 10_000_000, f64::INFINITY).unwrap();
        assert!(cg.converged);
        assert!(
            (round_up_to_prices(&p, &[0, 1], cg.bound) - 2.6).abs() < 1e-9,
            "{}",
            cg.bound
        );
        assert!((round_up_to_prices(&p, &[0, 1], 2.55) - 2.6).abs() < 1e-9);
    }
}

//! The configuration (pattern) LP over every maximal node pattern, for one type and for
//! several, solved by good_lp with microlp; its bound and its rounded solution.

use std::time::Duration;

use super::heuristics::{Order, downsize, ffd, mixed_greedy};
use super::model::{NodeFill, Open, Packing, Problem};

/// Patterns enumerated for the configuration LP before giving up on it.
pub(super) const MAX_LP_PATTERNS: usize = 20_000;

/// Rounds a configuration-LP solution down: `floor(z_q)` copies of each pattern q, each trimmed
/// to the pods still unplaced. Returns those nodes and the problem left for a greedy tail (the
/// same items with the counts still to place).
pub(super) fn round_down(
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

/// Every maximal pattern (node content) of type `ty`, with at most `counts[i]` of item `i`;
/// `None` when there are more than [`MAX_LP_PATTERNS`].
pub(super) fn all_patterns(p: &Problem, ty: usize, counts: &[u64]) -> Option<Vec<NodeFill>> {
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
pub(super) fn pattern_lp(p: &Problem, ty: usize, counts: &[u64], time: Duration) -> Option<(u64, Option<Packing>)> {
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
    for row in cover_rows(p, &[], counts, &patterns, &z) {
        model = model.with(row);
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
pub(super) fn pattern_lp_mixed(
    p: &Problem,
    types: &[usize],
    counts: &[u64],
    time: Duration,
) -> Option<(f64, Option<Packing>)> {
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
    for row in cover_rows(p, types, counts, &patterns, &z) {
        model = model.with(row);
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

/// The rows the configuration LPs share, over `columns` with variables `z`: pod kind `i` covered
/// at least `counts[i]` times, and each type of `types` at most its `max_nodes`.
#[allow(clippy::cast_precision_loss)]
pub(super) fn cover_rows(
    p: &Problem,
    types: &[usize],
    counts: &[u64],
    columns: &[NodeFill],
    z: &[good_lp::Variable],
) -> Vec<good_lp::Constraint> {
    use good_lp::Expression;
    let mut rows: Vec<Expression> = counts.iter().map(|_| Expression::from(0.0)).collect();
    for (q, v) in columns.iter().zip(z) {
        for &(i, a) in &q.pods {
            rows[i] += a as f64 * *v;
        }
    }
    let mut out: Vec<good_lp::Constraint> = rows
        .into_iter()
        .zip(counts)
        .filter(|(_, c)| **c > 0)
        .map(|(row, &c)| row.geq(c as f64))
        .collect();
    for &t in types {
        if let Some(m) = p.types[t].max_nodes {
            let row: Expression = columns
                .iter()
                .zip(z)
                .filter(|(q, _)| q.ty == t)
                .map(|(_, v)| 1.0 * *v)
                .sum();
            out.push(row.leq(m as f64));
        }
    }
    out
}

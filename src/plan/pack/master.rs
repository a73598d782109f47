//! The master problems of column generation, on microlp directly (good_lp has no API for
//! either): the restricted master LP kept open between rounds, and the restricted master
//! integer program.
//!
//! * [`DualMaster`] is the dual of the restricted master LP, `max Σ d_i π_i + Σ M_t μ_t  s.t.
//!   Σ_i a_qi π_i + μ_t <= c_t` per pattern q. A new pattern is a new row, added to the solved
//!   problem and re-optimised from the previous basis by the dual simplex, instead of solving
//!   again from scratch.
//! * [`restricted_ip`] solves `min Σ c_q z_q  s.t.  Σ_q a_qi z_q >= d_i, Σ_{q of t} z_q <= M_t,
//!   z integer` over the patterns generated ("price and branch"), seeded with a known packing,
//!   within a branch-and-bound node limit (deterministic, unlike a time limit). Extra pods a
//!   covering leaves are taken off again.

use microlp::{ComparisonOp, LinearExpr, OptimizationDirection, Problem as Lp, Solution, SolveOptions, Variable};

use super::model::{NodeFill, Open, Packing, Problem};

/// The dual of the restricted master LP, kept solved.
pub(super) struct DualMaster {
    sol: Solution,
    pi: Vec<Option<Variable>>,
    mu: Vec<Option<Variable>>,
    types: Vec<usize>,
}

impl DualMaster {
    /// Builds and solves the dual over `columns`; `None` when the solver fails (an item no
    /// column covers makes the dual unbounded).
    #[allow(clippy::cast_precision_loss)]
    pub(super) fn new(p: &Problem, types: &[usize], counts: &[u64], columns: &[NodeFill]) -> Option<Self> {
        let mut lp = Lp::new(OptimizationDirection::Maximize);
        let pi: Vec<Option<Variable>> = counts
            .iter()
            .map(|&d| (d > 0).then(|| lp.add_var(d as f64, (0.0, f64::INFINITY))))
            .collect();
        let mu: Vec<Option<Variable>> = types
            .iter()
            .map(|&t| {
                p.types[t]
                    .max_nodes
                    .map(|m| lp.add_var(m as f64, (f64::NEG_INFINITY, 0.0)))
            })
            .collect();
        for q in columns {
            let (expr, rhs) = row(p, types, &pi, &mu, q)?;
            lp.add_constraint(expr, ComparisonOp::Le, rhs);
        }
        let sol = lp.solve().ok()?.into_solution().ok()?;
        Some(Self {
            sol,
            pi,
            mu,
            types: types.to_vec(),
        })
    }

    /// Adds one pattern and re-optimises; `None` when the solver fails.
    pub(super) fn add(self, p: &Problem, q: &NodeFill) -> Option<Self> {
        let (expr, rhs) = row(p, &self.types, &self.pi, &self.mu, q)?;
        let Self { sol, pi, mu, types } = self;
        let sol = sol
            .add_constraint(expr, ComparisonOp::Le, rhs)
            .ok()?
            .into_solution()
            .ok()?;
        Some(Self { sol, pi, mu, types })
    }

    /// The restricted LP's optimum.
    pub(super) fn objective(&self) -> f64 {
        self.sol.objective()
    }

    /// The duals: π per item (0 for items without demand) and μ per type (0 without a quota).
    pub(super) fn duals(&self) -> (Vec<f64>, Vec<f64>) {
        let pi = self
            .pi
            .iter()
            .map(|v| v.map_or(0.0, |v| self.sol.var_value(v).max(0.0)))
            .collect();
        let mu = self
            .mu
            .iter()
            .map(|v| v.map_or(0.0, |v| self.sol.var_value(v).min(0.0)))
            .collect();
        (pi, mu)
    }
}

/// The dual row of pattern `q`: `Σ_i a_qi π_i + μ_t <= c_t`.
#[allow(clippy::cast_precision_loss)]
fn row(
    p: &Problem,
    types: &[usize],
    pi: &[Option<Variable>],
    mu: &[Option<Variable>],
    q: &NodeFill,
) -> Option<(LinearExpr, f64)> {
    let k = types.iter().position(|&t| t == q.ty)?;
    let mut terms: Vec<(Variable, f64)> = q
        .pods
        .iter()
        .filter_map(|&(i, a)| pi.get(i).copied().flatten().map(|v| (v, a as f64)))
        .collect();
    if let Some(v) = mu[k] {
        terms.push((v, 1.0));
    }
    Some((terms.into_iter().collect(), p.types[q.ty].price))
}

/// The restricted master integer program over `columns` plus the nodes of `seed` (its start),
/// within `nodes` branch-and-bound nodes. Returns a packing (surplus pods removed) when the
/// solver found one.
#[allow(
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss
)]
pub(super) fn restricted_ip(
    p: &Problem,
    types: &[usize],
    counts: &[u64],
    columns: &[NodeFill],
    seed: Option<&Packing>,
    nodes: u64,
) -> Option<Packing> {
    let mut cols: Vec<NodeFill> = columns.iter().filter(|q| types.contains(&q.ty)).cloned().collect();
    let mut start: Vec<(usize, u64)> = Vec::new();
    if let Some(s) = seed {
        for n in &s.nodes {
            let k = match cols.iter().position(|q| q == n) {
                Some(k) => k,
                None => {
                    cols.push(n.clone());
                    cols.len() - 1
                }
            };
            match start.iter_mut().find(|(j, _)| *j == k) {
                Some((_, c)) => *c += 1,
                None => start.push((k, 1)),
            }
        }
    }
    let mut lp = Lp::new(OptimizationDirection::Minimize);
    let z: Vec<Variable> = cols
        .iter()
        .map(|q| {
            // More copies than the largest demand it serves never help.
            let most = q
                .pods
                .iter()
                .filter(|&&(_, a)| a > 0)
                .map(|&(i, a)| counts[i].div_ceil(a))
                .max()
                .unwrap_or(0);
            let most = p.types[q.ty].max_nodes.map_or(most, |m| most.min(m));
            let most = i32::try_from(most).unwrap_or(i32::MAX);
            lp.add_integer_var(p.types[q.ty].price, (0, most))
        })
        .collect();
    let mut rows: Vec<Vec<(Variable, f64)>> = vec![Vec::new(); counts.len()];
    for (q, &v) in cols.iter().zip(&z) {
        for &(i, a) in &q.pods {
            if a > 0 {
                rows[i].push((v, a as f64));
            }
        }
    }
    for (i, row) in rows.into_iter().enumerate() {
        if counts[i] > 0 {
            if row.is_empty() {
                return None;
            }
            lp.add_constraint(
                row.into_iter().collect::<LinearExpr>(),
                ComparisonOp::Ge,
                counts[i] as f64,
            );
        }
    }
    for &t in types {
        if let Some(m) = p.types[t].max_nodes {
            let row: LinearExpr = cols
                .iter()
                .zip(&z)
                .filter(|(q, _)| q.ty == t)
                .map(|(_, &v)| (v, 1.0))
                .collect();
            lp.add_constraint(row, ComparisonOp::Le, m as f64);
        }
    }
    let mut options = SolveOptions::default();
    options.node_limit = Some(nodes);
    if !start.is_empty() {
        options.warm_start = Some(start.iter().map(|&(k, c)| (z[k], c as f64)).collect());
    }
    let outcome = lp.solve_with(options).ok()?;
    let sol = outcome.solution()?;
    let mut out = Vec::new();
    for (q, &v) in cols.iter().zip(&z) {
        let n = sol.var_value(v).round().max(0.0) as u64;
        for _ in 0..n {
            out.push(q.clone());
        }
    }
    Some(trim(p, counts, out))
}

/// Takes surplus pods off a covering (later nodes first), and drops nodes left empty.
pub(super) fn trim(p: &Problem, counts: &[u64], mut nodes: Vec<NodeFill>) -> Packing {
    let mut placed = vec![0u64; counts.len()];
    for n in &nodes {
        for &(i, a) in &n.pods {
            placed[i] += a;
        }
    }
    for n in nodes.iter_mut().rev() {
        for (i, a) in &mut n.pods {
            let surplus = placed[*i].saturating_sub(counts[*i]).min(*a);
            *a -= surplus;
            placed[*i] -= surplus;
        }
        n.pods.retain(|&(_, a)| a > 0);
    }
    nodes.retain(|n| !n.pods.is_empty());
    // Rebuild each node's fill so it is canonical (sorted by item).
    let nodes = nodes
        .into_iter()
        .map(|n| {
            let mut o = Open::new(p, n.ty);
            for &(i, a) in &n.pods {
                o.add(p, i, a);
            }
            o.fill()
        })
        .collect();
    Packing { nodes }
}

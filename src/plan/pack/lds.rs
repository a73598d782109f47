//! A dive through the configuration LP that backtracks: limited discrepancy search over which
//! pattern to round up (Harvey and Ginsberg, *Limited discrepancy search*, IJCAI 1995; as a
//! primal heuristic for column generation, Sadykov et al., *Primal heuristics for branch and
//! price: the assets of diving methods*, INFORMS J. Computing 31(2), 2019).
//!
//! A node of the search is a set of nodes already fixed and the pods still to place. There the
//! residual's LP is solved again by column generation (warm-started with the parent's patterns),
//! every pattern the LP uses at least once is fixed as often as it uses it whole (which leaves
//! the LP optimal), and the children round one fractional pattern up: the one the LP uses most
//! first, the next ones at the price of one discrepancy each. A node is cut off when its valid
//! bound, or the restricted LP's value (a heuristic cut: that LP may not be solved to the end),
//! plus what is fixed cannot beat the best fleet. When few pods are left they are packed by the
//! exact search (within a node limit), else by a greedy.
//!
//! Passes allow 0, 1, 2, ... discrepancies, spending them as high in the tree as they go first;
//! the LPs and tails already solved are kept, so a pass repeats no work of the one before. Every
//! step counts pricing search nodes (and exact-search nodes for the tails) against one budget:
//! the same input gives the same fleet on any machine.

use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::{Duration, Instant};

use super::bounds::unit_price_bound;
use super::colgen::{ColGen, column_generation_seeded, round_up_to_prices, solve_master};
use super::exact::{EXACT_MAX_SERVICES, exact};
use super::heuristics::{Order, ffd, mixed_greedy};
use super::model::{Limits, NodeFill, Packing, Problem};

/// Children of a search node: the fractional patterns rounded up, most used first.
const CHILDREN: usize = 3;
/// Patterns a child's column generation starts from (besides quick packings of its own).
const SEEDS: usize = 120;
/// Discrepancies of the last pass.
const MAX_DISCREPANCIES: usize = 4;
/// Pricing search nodes one residual's column generation may spend.
const NODE_WORK: u64 = 20_000;
/// What one residual LP costs at least, in pricing search nodes (building and solving it).
const LP_WORK: u64 = 1_000;
/// A residual this small (in pods, and with at most [`EXACT_MAX_SERVICES`] services) is packed
/// by the exact search ...
const TAIL_PODS: u64 = 40;
/// ... within this many of its search nodes.
const TAIL_NODES: u64 = 3_000;

/// The residual LP at one search node.
struct Lp {
    /// A valid lower bound on the cost of packing the residual.
    bound: f64,
    /// The restricted LP's value.
    objective: f64,
    columns: Vec<NodeFill>,
    values: Vec<f64>,
    /// The patterns a child's column generation starts from: those the LP uses, then those of
    /// least reduced cost.
    seed: Vec<NodeFill>,
}

impl Lp {
    #[allow(clippy::cast_precision_loss)]
    fn new(p: &Problem, types: &[usize], cg: ColGen, values: Vec<f64>) -> Self {
        let objective = cg
            .columns
            .iter()
            .zip(&values)
            .map(|(q, v)| p.types[q.ty].price * v)
            .sum();
        let (pi, mu) = &cg.duals;
        let reduced = |q: &NodeFill| {
            let k = types.iter().position(|&t| t == q.ty).unwrap_or(0);
            let price = p.types[q.ty].price.max(1e-12);
            let value: f64 = q.pods.iter().map(|&(i, a)| pi[i] * a as f64).sum();
            (price - mu.get(k).copied().unwrap_or(0.0) - value) / price
        };
        let mut order: Vec<(bool, f64, usize)> = (0..cg.columns.len())
            .map(|k| (values[k] <= 1e-9, reduced(&cg.columns[k]), k))
            .collect();
        order.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)).then(a.2.cmp(&b.2)));
        let seed = order
            .iter()
            .take(SEEDS)
            .map(|&(_, _, k)| cg.columns[k].clone())
            .collect();
        Self {
            bound: cg.bound,
            objective,
            columns: cg.columns,
            values,
            seed,
        }
    }
}

/// A search node: the pods left, the quotas left per type, the nodes fixed and their cost.
#[derive(Clone)]
struct State {
    remaining: Vec<u64>,
    quota: Vec<Option<u64>>,
    nodes: Vec<NodeFill>,
    cost: f64,
}

impl State {
    /// Fixes one node of pattern `q`, trimmed to the pods left; false when it would hold none
    /// or its type's quota is used up.
    fn fix(&mut self, p: &Problem, q: &NodeFill) -> bool {
        let pods: Vec<(usize, u64)> = q
            .pods
            .iter()
            .map(|&(i, a)| (i, a.min(self.remaining[i])))
            .filter(|&(_, a)| a > 0)
            .collect();
        if pods.is_empty() || self.quota[q.ty] == Some(0) {
            return false;
        }
        for &(i, a) in &pods {
            self.remaining[i] -= a;
        }
        if let Some(m) = &mut self.quota[q.ty] {
            *m -= 1;
        }
        self.nodes.push(NodeFill { ty: q.ty, pods });
        self.cost += p.types[q.ty].price;
        true
    }

    /// The residual problem: the pods left, the quotas left.
    fn residual(&self, p: &Problem) -> Problem {
        let mut sub = p.clone();
        for (it, &r) in sub.items.iter_mut().zip(&self.remaining) {
            it.count = r;
        }
        for (bt, &m) in sub.types.iter_mut().zip(&self.quota) {
            bt.max_nodes = m;
        }
        sub
    }

    fn key(&self) -> (Vec<u64>, Vec<Option<u64>>) {
        (self.remaining.clone(), self.quota.clone())
    }
}

type Key = (Vec<u64>, Vec<Option<u64>>);

struct Search<'a> {
    p: &'a Problem,
    types: &'a [usize],
    left: u64,
    /// The cheapest fleet so far: its cost, and its nodes when the search found it.
    best_cost: f64,
    best: Option<Vec<NodeFill>>,
    lps: BTreeMap<Key, Option<Rc<Lp>>>,
    tails: BTreeMap<Key, Option<Vec<NodeFill>>>,
}

impl Search<'_> {
    /// Whether a node whose completion costs at least `at_least` cannot beat the best fleet.
    fn hopeless(&self, at_least: f64) -> bool {
        round_up_to_prices(self.p, self.types, (at_least - 1e-7 * at_least.abs().max(1.0)).max(0.0))
            >= self.best_cost - 1e-9
    }

    fn offer(&mut self, nodes: Vec<NodeFill>, cost: f64) {
        if cost < self.best_cost - 1e-9 {
            self.best_cost = cost;
            self.best = Some(nodes);
        }
    }

    /// The residual LP of `st` (kept for later passes); `None` when it could not be solved.
    fn lp(&mut self, st: &State, seed: &[NodeFill]) -> Option<Rc<Lp>> {
        let key = st.key();
        if let Some(l) = self.lps.get(&key) {
            return l.clone();
        }
        let sub = st.residual(self.p);
        let work = self.left.min(NODE_WORK);
        let upper = self.best_cost - st.cost;
        let lp = column_generation_seeded(&sub, self.types, &st.remaining, work, upper, seed).and_then(|cg| {
            self.left = self.left.saturating_sub(cg.work.max(LP_WORK));
            let values = solve_master(&sub, self.types, &st.remaining, &cg.columns)?;
            Some(Rc::new(Lp::new(self.p, self.types, cg, values)))
        });
        if lp.is_none() {
            self.left = self.left.saturating_sub(LP_WORK);
        }
        self.lps.insert(key, lp.clone());
        lp
    }

    /// Packs what `st` leaves (the exact search on a small residual, else a greedy) and offers
    /// the fleet.
    fn finish(&mut self, st: &State) {
        let key = st.key();
        let tail = match self.tails.get(&key) {
            Some(t) => t.clone(),
            None => {
                let t = self.tail(st);
                self.tails.insert(key, t.clone());
                t
            }
        };
        if let Some(t) = tail {
            let cost = st.cost + t.iter().map(|n| self.p.types[n.ty].price).sum::<f64>();
            let mut nodes = st.nodes.clone();
            nodes.extend(t);
            self.offer(nodes, cost);
        }
    }

    fn tail(&mut self, st: &State) -> Option<Vec<NodeFill>> {
        let rest = st.residual(self.p);
        let greedy = if self.types.len() == 1 {
            [Order::ClusterAutoscaler, Order::MaxDim, Order::Karpenter]
                .iter()
                .filter_map(|&o| ffd(&rest, self.types[0], o))
                .min_by_key(|pk| pk.nodes.len())
        } else {
            mixed_greedy(&rest, self.types)
        };
        let live = st.remaining.iter().filter(|&&r| r > 0).count();
        let pods: u64 = st.remaining.iter().sum();
        if live > EXACT_MAX_SERVICES || pods > TAIL_PODS || self.left == 0 {
            return greedy.map(|g| g.nodes);
        }
        let upper = greedy.as_ref().map_or(f64::INFINITY, |g| g.cost(&rest) + 1e-9);
        let lbf = |rem: &[u64], _: &[u64]| unit_price_bound(&rest, self.types, rem);
        let limits = Limits {
            exact_nodes: self.left.min(TAIL_NODES),
            time: Duration::from_secs(3600),
        };
        // The node limit ends the search; the deadline is only a backstop.
        let ex = exact(&rest, self.types, upper, &lbf, limits, Instant::now() + limits.time);
        let explored = match ex.outcome {
            super::ExactOutcome::Proven { explored }
            | super::ExactOutcome::NodeLimit { explored }
            | super::ExactOutcome::TimeLimit { explored }
            | super::ExactOutcome::PatternLimit { explored } => explored,
            _ => 0,
        };
        self.left = self.left.saturating_sub(explored.max(1));
        ex.packing.or(greedy).map(|pk| pk.nodes)
    }

    /// Searches below `st`, whose residual LP is `lp`, with `discrepancies` left. The first
    /// pass (none allowed) is the plain dive and always ends in a fleet; later passes stop when
    /// the budget is spent.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    fn dive(&mut self, st: &State, lp: &Lp, discrepancies: usize, first_pass: bool) {
        if !first_pass && self.left == 0 {
            return;
        }
        if self.hopeless(st.cost + lp.bound) || self.hopeless(st.cost + lp.objective) {
            return;
        }
        // Whole patterns first: fixing them leaves the residual's LP optimal.
        let mut st = st.clone();
        let mut frac: Vec<(usize, f64)> = Vec::new();
        for (k, (q, &v)) in lp.columns.iter().zip(&lp.values).enumerate() {
            let whole = (v + 1e-9).floor();
            for _ in 0..whole as u64 {
                if !st.fix(self.p, q) {
                    break;
                }
            }
            if v - whole > 1e-6 {
                frac.push((k, v - whole));
            }
        }
        let pods: u64 = st.remaining.iter().sum();
        let live = st.remaining.iter().filter(|&&r| r > 0).count();
        if pods == 0 || self.left == 0 {
            self.finish(&st);
            return;
        }
        if pods <= TAIL_PODS && live <= EXACT_MAX_SERVICES {
            // Few pods left: the exact search packs them, and the dive goes on as well.
            self.finish(&st);
        }
        frac.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        let mut children: Vec<State> = Vec::new();
        for &(k, _) in &frac {
            if children.len() == CHILDREN {
                break;
            }
            let mut c = st.clone();
            if c.fix(self.p, &lp.columns[k]) {
                children.push(c);
            }
        }
        if children.is_empty() {
            self.finish(&st);
            return;
        }
        // Discrepancies as high in the tree as they go: the most discrepant child first.
        let most = children.len().min(discrepancies + 1);
        for j in (0..most).rev() {
            let child = &children[j];
            if self.hopeless(child.cost) {
                continue;
            }
            match self.lp(child, &lp.seed) {
                Some(l) => self.dive(child, &l, discrepancies - j, first_pass && j == 0),
                None => self.finish(child),
            }
            if !first_pass && self.left == 0 {
                return;
            }
        }
    }
}

/// The cheapest fleet the backtracking dive finds for `counts` over `types`, starting from the
/// column generation `cg` of the whole problem, when it is cheaper than `upper` (the best fleet
/// known); within `work` pricing and exact-search nodes.
pub(super) fn search(
    p: &Problem,
    types: &[usize],
    counts: &[u64],
    cg: &ColGen,
    upper: f64,
    work: u64,
) -> Option<Packing> {
    let values = solve_master(p, types, counts, &cg.columns)?;
    let root = Lp::new(p, types, cg.clone(), values);
    let mut s = Search {
        p,
        types,
        left: work,
        best_cost: upper,
        best: None,
        lps: BTreeMap::new(),
        tails: BTreeMap::new(),
    };
    let start = State {
        remaining: counts.to_vec(),
        quota: p.types.iter().map(|t| t.max_nodes).collect(),
        nodes: Vec::new(),
        cost: 0.0,
    };
    for d in 0..=MAX_DISCREPANCIES {
        s.dive(&start, &root, d, d == 0);
        if s.left == 0 {
            break;
        }
    }
    s.best.map(|nodes| Packing { nodes })
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::plan::pack::colgen::{column_generation, dive};
    use crate::plan::pack::testkit::{problem, random_type, xorshift};

    /// Seeded random fleets: the search's fleet is a valid packing of every pod within the
    /// quotas, costs no less than the LP bound, and no more than the plain dive's.
    #[test]
    fn never_worse_than_the_plain_dive() {
        let mut rnd = xorshift();
        let mut compared = 0;
        let mut better = 0;
        for case in 0..30 {
            let items: Vec<(u64, u64, u64)> = (0..6 + rnd(10))
                .map(|_| (100 + rnd(1900), 128 + rnd(6000), 1 + rnd(8)))
                .collect();
            let types: Vec<(u64, u64, f64, Option<u64>)> = (0..=rnd(3))
                .map(|_| {
                    let (cpu, mem, price) = random_type(&mut rnd);
                    (cpu, mem, price, None)
                })
                .collect();
            let mut p = problem(&items, &types);
            for it in &mut p.items {
                it.max_per_node = if rnd(4) == 0 { 1 + rnd(2) } else { u64::MAX };
            }
            let all: Vec<usize> = (0..p.types.len()).collect();
            let whole = p.clone();
            for (i, it) in p.items.iter_mut().enumerate() {
                if !all.iter().any(|&t| crate::plan::pack::fits_empty(&whole, t, i)) {
                    it.count = 0;
                }
            }
            let counts: Vec<u64> = p.items.iter().map(|i| i.count).collect();
            let Some(cg) = column_generation(&p, &all, &counts, 20_000, f64::INFINITY) else {
                continue;
            };
            let Some(plain) = dive(&p, &all, &counts, &cg, 50_000) else {
                continue;
            };
            let found = search(&p, &all, &counts, &cg, f64::INFINITY, 50_000).expect("a fleet");
            crate::plan::pack::check(&p, &found).unwrap_or_else(|e| panic!("case {case}: {e}"));
            assert!(found.cost(&p) >= cg.bound - 1e-6, "case {case}");
            assert!(
                found.cost(&p) <= plain.cost(&p) + 1e-9,
                "case {case}: search {} vs dive {}",
                found.cost(&p),
                plain.cost(&p)
            );
            better += usize::from(found.cost(&p) < plain.cost(&p) - 1e-9);
            compared += 1;
            // Deterministic: the same input gives the same fleet.
            let again = search(&p, &all, &counts, &cg, f64::INFINITY, 50_000).expect("a fleet");
            assert_eq!(again, found, "case {case}");
        }
        assert!(compared >= 25, "only {compared} cases compared");
        assert!(better >= 5, "better than the plain dive in only {better} cases");
    }

    /// With a fleet already known, only a cheaper one is returned.
    #[test]
    fn returns_only_improvements() {
        let p = problem(&[(60, 1, 3), (45, 1, 4), (30, 1, 5)], &[(100, 100, 1.0, None)]);
        let counts = [3, 4, 5];
        let cg = column_generation(&p, &[0], &counts, 100_000, f64::INFINITY).unwrap();
        let found = search(&p, &[0], &counts, &cg, f64::INFINITY, 100_000).unwrap();
        crate::plan::pack::check(&p, &found).unwrap();
        let n = found.nodes.len();
        assert!(search(&p, &[0], &counts, &cg, n as f64, 100_000).is_none());
    }
}

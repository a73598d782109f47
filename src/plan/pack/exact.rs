//! The exact search: a bin-completion branch and bound over maximal node patterns, with
//! duplicate-state pruning, a node limit and a deadline. `proven` only when it finished.

use std::collections::HashMap;
use std::time::Instant;

use super::model::{Limits, NodeFill, Open, Packing, Problem};

pub(super) struct Bnb<'a> {
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
pub(super) fn enumerate(
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
pub(super) const EXACT_MAX_SERVICES: usize = 16;
/// ... and this many pods; beyond that the heuristic, the bound and the gap are reported.
pub(super) const EXACT_MAX_PODS: u64 = 400;

/// Patterns enumerated per branching step before the search stops being a proof.
pub(super) const MAX_PATTERNS: usize = 4096;

/// Result of an exact attempt.
pub(super) struct Exact {
    pub(super) packing: Option<Packing>,
    pub(super) proven: bool,
    pub(super) outcome: ExactOutcome,
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

pub(super) fn exact(
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

//! Lower bounds: volume, `max_per_node` and Martello–Toth L2 for one type; for several types
//! the per-resource unit-price bound and the LP relaxation of the assignment model.

use std::collections::BTreeMap;
use std::time::Duration;

use super::model::{Problem, fits_empty};

/// Martello–Toth L2 for one dimension: `sizes` as (size, multiplicity), capacity `cap`.
pub(super) fn l2(sizes: &[(u64, u64)], cap: u64) -> u64 {
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
    let live = |i: usize| counts[i] > 0;
    let div = |a: u128, b: u64| {
        if b == 0 {
            0
        } else {
            u64::try_from(a.div_ceil(u128::from(b))).unwrap_or(u64::MAX)
        }
    };
    let dims = p.dims();
    let volume = (0..dims)
        .map(|d| {
            let total: u128 = (0..p.items.len())
                .filter(|&i| live(i))
                .map(|i| u128::from(p.size(i, d)) * u128::from(counts[i]))
                .sum();
            div(total, p.cap(ty, d))
        })
        .max()
        .unwrap_or(0);
    let mut max_per_node = 0;
    for i in (0..p.items.len()).filter(|&i| live(i)) {
        max_per_node = max_per_node.max(counts[i].div_ceil(p.items[i].max_per_node.max(1)));
    }
    // L2 on CPU, memory and every extended resource (pod slots are unit sizes: L2 is volume).
    let l2 = (p.items.len() <= 4000).then(|| {
        (0..dims)
            .filter(|&d| d != 2)
            .map(|d| {
                let sizes: Vec<(u64, u64)> = (0..p.items.len())
                    .filter(|&i| live(i))
                    .map(|i| (p.size(i, d), counts[i]))
                    .collect();
                l2(&sizes, p.cap(ty, d))
            })
            .max()
            .unwrap_or(0)
    });
    BoundParts {
        volume,
        max_per_node,
        l2,
    }
}

/// Per-resource unit-price bound: every pod pays at least its share of the cheapest eligible
/// capacity for each resource; the max over resources is a valid lower bound on cost.
#[allow(clippy::cast_precision_loss)]
pub(super) fn unit_price_bound(p: &Problem, types: &[usize], counts: &[u64]) -> f64 {
    let mut best = 0.0f64;
    let eligible: Vec<Vec<usize>> = (0..p.items.len())
        .map(|i| {
            if counts[i] == 0 {
                Vec::new()
            } else {
                types.iter().copied().filter(|&t| fits_empty(p, t, i)).collect()
            }
        })
        .collect();
    for r in 0..p.dims() {
        let mut total = 0.0;
        for i in 0..p.items.len() {
            if counts[i] == 0 {
                continue;
            }
            let mut m = f64::INFINITY;
            for &t in &eligible[i] {
                let share = p.size(i, r) as f64 / p.cap(t, r).max(1) as f64;
                m = m.min(p.types[t].price * share);
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
        let eligible = &eligible[i];
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

/// A class of interchangeable services: (cpu, memory, max_per_node, extended resources,
/// eligible types).
pub(super) type ClassKey = (u64, u64, u64, Vec<u64>, Vec<bool>);

/// LP relaxation of the assignment model (x_{g,t} pods of class g on type t, n_t nodes).
///
/// Services with the same request, `max_per_node` and eligible types are merged into one class
/// first: the LP of the merged problem is a relaxation of the original one (the per-service
/// `max_per_node` rows are summed), so its optimum is still a valid lower bound, and real
/// inputs have far fewer shapes than services. Only a solution proven optimal is used.
#[allow(clippy::cast_precision_loss)]
pub(super) fn lp_bound(p: &Problem, types: &[usize], time: Duration) -> Option<f64> {
    use good_lp::{Expression, ProblemVariables, Solution, SolutionStatus, SolverModel, WithTimeLimit, variable};
    // (cpu, mem, max_per_node, eligibility) -> (count, services)
    let mut classes: BTreeMap<ClassKey, (u64, u64)> = BTreeMap::new();
    for (i, it) in p.items.iter().enumerate() {
        if it.count == 0 {
            continue;
        }
        let elig: Vec<bool> = types.iter().map(|&t| fits_empty(p, t, i)).collect();
        let mut ext = it.ext.clone();
        while ext.last() == Some(&0) {
            ext.pop();
        }
        let e = classes.entry((it.cpu, it.mem, it.max_per_node, ext, elig)).or_default();
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
        .map(|((_, _, _, _, elig), _)| {
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
        let col = |f: &dyn Fn(u64, u64, &[u64]) -> f64| -> Expression {
            classes
                .iter()
                .enumerate()
                .filter_map(|(g, ((c, m, _, e, _), _))| x[g][k].map(|v| f(*c, *m, e) * v))
                .sum()
        };
        model = model.with(col(&|c, _, _| c as f64).leq(bt.cpu as f64 * n[k]));
        model = model.with(col(&|_, m, _| m as f64).leq(bt.mem as f64 * n[k]));
        model = model.with(col(&|_, _, _| 1.0).leq(bt.pods as f64 * n[k]));
        for r in 0..p.ext_len() {
            let get = move |e: &[u64]| e.get(r).copied().unwrap_or(0) as f64;
            model = model.with(col(&|_, _, e| get(e)).leq(bt.ext(r) as f64 * n[k]));
        }
        for (g, ((_, _, mpn, _, _), (_, services))) in classes.iter().enumerate() {
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

#[cfg(test)]
mod tests {
    use super::l2;

    #[test]
    fn l2_bound_small() {
        // Three items of 60 in bins of 100: no two share a bin.
        assert_eq!(l2(&[(60, 3)], 100), 3);
        // 2 x 60 and 4 x 30: L2 with k=30: J2 = 2 items (free 80), J3 = 120 -> 2 + ceil(40/100) = 3.
        assert_eq!(l2(&[(60, 2), (30, 4)], 100), 3);
    }
}

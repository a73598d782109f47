//! Integer knapsack tables for the exact pricing's bound ([`super::pricing`]): per resource,
//! the most value every suffix of the branching order adds within each capacity of that
//! resource alone ([`Table`]), and the Lagrangian tables on one resource or a pair of
//! resources with the others priced at the LP relaxation's duals ([`LagTable`],
//! [`PairTable`]; on relaxations of the multidimensional knapsack, Kellerer, Pferschy and
//! Pisinger, *Knapsack Problems*, Springer 2004).
//!
//! Owns: the tables and their construction. Does not: search (see `pricing`).

use super::pricing::Live;

/// Largest size of a per-resource table: (live items + 1) x this many capacities.
const TABLE_WIDTH: u64 = 1024;

/// The integer knapsack on one resource alone, for every suffix of the live items: `at(k, r)`
/// is the most value items `k..` can add within `r` of the resource (every other constraint
/// dropped, each item capped by its `most`). Sizes and capacities are divided by a unit `h`
/// (their greatest common divisor when that leaves at most [`TABLE_WIDTH`] capacities, else
/// larger) and rounded down, which only loosens the bound: `Σ ⌊s_i/h⌋ <= ⌊Σ s_i/h⌋ <= ⌊r/h⌋`.
/// Near the LP's optimum many patterns are worth about the same per unit of the binding
/// resource, and this bound sees that sizes do not add up to the capacity exactly, which the
/// fractional surrogate bound cannot.
pub(super) struct Table {
    pub(super) dim: usize,
    unit: u64,
    width: usize,
    best: Vec<f64>,
}

/// A Lagrangian table: the integer knapsack on resource `dim` alone with the other resources
/// priced at `lambda` (value per unit): items are worth `v_i - Σ_d λ_d s_id`, and at a search
/// node the bound is `best_k[res_dim] + Σ_d λ_d res_d`. Valid for any `λ >= 0` (every completion
/// `x` fitting `res` has `Σ v x = Σ (v - λ s) x + λ · Σ s x <= best_k + λ · res`), and, with
/// `λ` chosen well, tighter than the LP relaxation: the knapsack on `dim` is solved in integers.
pub(super) struct LagTable {
    dim: usize,
    unit: u64,
    width: usize,
    lambda: Vec<f64>,
    best: Vec<f64>,
}

impl LagTable {
    /// The table for `lambda` (`lambda[dim]` is ignored).
    #[allow(clippy::cast_possible_truncation)]
    pub(super) fn new(live: &[Live], dim: usize, cap: u64, lambda: &[f64]) -> Option<Self> {
        let (unit, width) = table_unit(live, dim, cap)?;
        let mut lambda = lambda.to_vec();
        lambda[dim] = 0.0;
        let sizes: Vec<u64> = live.iter().map(|l| l.size[dim] / unit).collect();
        #[allow(clippy::cast_precision_loss)]
        let values: Vec<f64> = live
            .iter()
            .map(|l| l.value - l.size.iter().zip(&lambda).map(|(&s, &x)| x * s as f64).sum::<f64>())
            .collect();
        let best = knapsack_rows(live, &values, &sizes, width);
        Some(Self {
            dim,
            unit,
            width,
            lambda,
            best,
        })
    }

    #[allow(clippy::cast_possible_truncation, clippy::cast_precision_loss)]
    pub(super) fn at(&self, k: usize, res: &[u64]) -> f64 {
        let u = ((res[self.dim] / self.unit) as usize).min(self.width - 1);
        let priced: f64 = res.iter().zip(&self.lambda).map(|(&r, &x)| x * r as f64).sum();
        self.best[k * self.width + u] + priced
    }
}

/// The unit and width of a table on resource `dim`: the sizes' greatest common divisor when
/// that leaves at most [`TABLE_WIDTH`] capacities, else larger.
#[allow(clippy::cast_possible_truncation)]
fn table_unit(live: &[Live], dim: usize, cap: u64) -> Option<(u64, usize)> {
    if cap == 0 {
        return None;
    }
    let g = live.iter().map(|l| l.size[dim]).fold(0, gcd);
    let unit = if g > 0 && cap / g < TABLE_WIDTH {
        g
    } else {
        cap.div_ceil(TABLE_WIDTH)
    };
    Some((unit, (cap / unit) as usize + 1))
}

/// Lagrangian tables for the search, one per resource with a table: `λ` starts at the LP
/// relaxation's duals (from the root's surrogate, `w_d ρ / cap_d` for the critical ratio `ρ`)
/// and is improved by a pattern search on the root's bound.
#[allow(clippy::cast_precision_loss)]
pub(super) fn lag_tables(live: &[Live], cap: &[u64], w: &[f64]) -> Vec<LagTable> {
    let dims = cap.len();
    let rho = critical_ratio(live, cap, w);
    let start: Vec<f64> = (0..dims)
        .map(|d| if cap[d] > 0 { w[d] * rho / cap[d] as f64 } else { 0.0 })
        .collect();
    let mut out = Vec::new();
    for dim in 0..dims {
        if cap[dim] == 0
            || (0..dims).all(|d| d == dim || start[d] <= 0.0)
            || table_unit(live, dim, cap[dim]).is_none_or(|(_, width)| width > LAG_WIDTH)
        {
            continue;
        }
        let Some(mut best) = LagTable::new(live, dim, cap[dim], &start) else {
            continue;
        };
        let mut best_v = best.at(0, cap);
        let mut step = 0.5;
        let mut evals = 0;
        while step > 0.02 && evals < LAG_EVALS {
            let mut improved = false;
            for d in (0..dims).filter(|&d| d != dim && cap[d] > 0) {
                for f in [1.0 + step, 1.0 - step] {
                    let mut l = best.lambda.clone();
                    l[d] = if l[d] > 0.0 {
                        l[d] * f
                    } else {
                        rho * step / cap[d] as f64
                    };
                    evals += 1;
                    if let Some(t) = LagTable::new(live, dim, cap[dim], &l) {
                        let v = t.at(0, cap);
                        if v < best_v - 1e-12 {
                            best_v = v;
                            best = t;
                            improved = true;
                        }
                    }
                }
            }
            if !improved {
                step /= 2.0;
            }
        }
        out.push(best);
    }
    out
}

/// A Lagrangian table on two resources at once (the two the LP relaxation prices highest),
/// the others priced at the LP's duals: the same bound as [`LagTable`], with the knapsack on
/// both binding resources solved in integers. Sizes are divided by a unit per resource (the
/// greatest common divisor, or larger so that the table has at most [`PAIR_CELLS`] cells).
pub(super) struct PairTable {
    dims: [usize; 2],
    units: [u64; 2],
    widths: [usize; 2],
    lambda: Vec<f64>,
    best: Vec<f64>,
}

/// Cells (capacity pairs) of a [`PairTable`] at most.
const PAIR_CELLS: u64 = 16_384;

impl PairTable {
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_precision_loss,
        clippy::cast_sign_loss
    )]
    pub(super) fn new(live: &[Live], cap: &[u64], w: &[f64], pair: [usize; 2]) -> Option<Self> {
        let dims = cap.len();
        let rho = critical_ratio(live, cap, w);
        let mut lambda: Vec<f64> = (0..dims)
            .map(|d| if cap[d] > 0 { w[d] * rho / cap[d] as f64 } else { 0.0 })
            .collect();
        lambda[pair[0]] = 0.0;
        lambda[pair[1]] = 0.0;
        // Units: the gcd, then larger until the cells fit, splitting the cells evenly.
        let side = (PAIR_CELLS as f64).sqrt() as u64;
        let mut units = [1u64; 2];
        let mut widths = [0usize; 2];
        for (j, &d) in pair.iter().enumerate() {
            let g = live.iter().map(|l| l.size[d]).fold(0, gcd).max(1);
            units[j] = g;
            if cap[d] / g >= side {
                units[j] = cap[d].div_ceil(side).max(g);
            }
        }
        // Give the spare cells of a narrow resource to the other.
        let w0 = cap[pair[0]] / units[0] + 1;
        let w1 = cap[pair[1]] / units[1] + 1;
        if w0 * w1 < PAIR_CELLS / 2 {
            for j in 0..2 {
                let other = if j == 0 { w1 } else { w0 };
                let d = pair[j];
                let g = live.iter().map(|l| l.size[d]).fold(0, gcd).max(1);
                let allowed = (PAIR_CELLS / other).max(2) - 1;
                let finer = cap[d].div_ceil(allowed).max(g);
                if finer < units[j] {
                    units[j] = finer;
                    break;
                }
            }
        }
        for j in 0..2 {
            widths[j] = (cap[pair[j]] / units[j]) as usize + 1;
        }
        if (widths[0] * widths[1]) as u64 > 2 * PAIR_CELLS {
            return None;
        }
        let cells = widths[0] * widths[1];
        let n = live.len();
        let mut best = vec![0.0; (n + 1) * cells];
        for k in (0..n).rev() {
            let l = &live[k];
            let value = l.value - l.size.iter().zip(&lambda).map(|(&s, &x)| x * s as f64).sum::<f64>();
            let (head, tail) = best.split_at_mut((k + 1) * cells);
            let next = &tail[..cells];
            let row = &mut head[k * cells..(k + 1) * cells];
            row.copy_from_slice(next);
            if value <= 0.0 {
                continue;
            }
            let s0 = (l.size[pair[0]] / units[0]) as usize;
            let s1 = (l.size[pair[1]] / units[1]) as usize;
            if s0 == 0 && s1 == 0 {
                let add = value * l.most as f64;
                for x in row.iter_mut() {
                    *x += add;
                }
                continue;
            }
            for u0 in 0..widths[0] {
                for u1 in 0..widths[1] {
                    let mut v = next[u0 * widths[1] + u1];
                    let mut c = 1u64;
                    while c <= l.most && c as usize * s0 <= u0 && c as usize * s1 <= u1 {
                        let at = (u0 - c as usize * s0) * widths[1] + (u1 - c as usize * s1);
                        v = v.max(next[at] + value * c as f64);
                        c += 1;
                    }
                    row[u0 * widths[1] + u1] = v;
                }
            }
        }
        Some(Self {
            dims: pair,
            units,
            widths,
            lambda,
            best,
        })
    }

    #[allow(clippy::cast_possible_truncation, clippy::cast_precision_loss)]
    pub(super) fn at(&self, k: usize, res: &[u64]) -> f64 {
        let u0 = ((res[self.dims[0]] / self.units[0]) as usize).min(self.widths[0] - 1);
        let u1 = ((res[self.dims[1]] / self.units[1]) as usize).min(self.widths[1] - 1);
        let priced: f64 = res.iter().zip(&self.lambda).map(|(&r, &x)| x * r as f64).sum();
        self.best[k * self.widths[0] * self.widths[1] + u0 * self.widths[1] + u1] + priced
    }
}

/// The [`PairTable`] of smallest root bound over the pairs of resources the LP prices.
pub(super) fn pair_table(live: &[Live], cap: &[u64], w: &[f64]) -> Option<PairTable> {
    let dims: Vec<usize> = (0..cap.len()).filter(|&d| cap[d] > 0).collect();
    let mut best: Option<(f64, PairTable)> = None;
    for (j, &a) in dims.iter().enumerate() {
        for &b in &dims[j + 1..] {
            if let Some(t) = PairTable::new(live, cap, w, [a, b]) {
                let v = t.at(0, cap);
                if best.as_ref().is_none_or(|(bv, _)| v < *bv) {
                    best = Some((v, t));
                }
            }
        }
    }
    best.map(|(_, t)| t)
}

/// Lagrangian tables are built on resources of at most this many capacities (the search for
/// their multipliers solves the table again for each try).
const LAG_WIDTH: usize = 1025;

/// Tries at most this many multiplier vectors per Lagrangian table.
const LAG_EVALS: usize = 4;

/// The items as the root's fractional surrogate knapsack for weights `w` takes them: (value,
/// surrogate size over normalised sizes, most copies), in decreasing value per unit of size.
#[allow(clippy::cast_precision_loss)]
pub(super) fn surrogate_items(live: &[Live], cap: &[u64], w: &[f64]) -> Vec<(f64, f64, f64)> {
    let sur = |l: &Live| -> f64 {
        l.size
            .iter()
            .enumerate()
            .map(|(d, &s)| w[d] * s as f64 / cap[d].max(1) as f64)
            .sum()
    };
    let mut items: Vec<(f64, f64, f64)> = live.iter().map(|l| (l.value, sur(l), l.most as f64)).collect();
    items.sort_by(|a, b| (b.0 * a.1).total_cmp(&(a.0 * b.1)));
    items
}

/// The value per unit of surrogate size of the item the root's fractional surrogate knapsack
/// takes last (0 when everything fits).
fn critical_ratio(live: &[Live], cap: &[u64], w: &[f64]) -> f64 {
    let items = surrogate_items(live, cap, w);
    let mut room: f64 = w.iter().sum();
    for (value, s, n) in items {
        if s <= 0.0 {
            continue;
        }
        if n * s >= room {
            return value / s;
        }
        room -= n * s;
    }
    0.0
}

/// `best[k * width + u]`: the most value items `k..` of `live` add with integer sizes `size`
/// within capacity `u`, each item at most `most` times (a bounded knapsack by dynamic
/// programming, one row per suffix).
#[allow(clippy::cast_possible_truncation, clippy::cast_precision_loss)]
fn knapsack_rows(live: &[Live], values: &[f64], size: &[u64], width: usize) -> Vec<f64> {
    let n = live.len();
    let mut best = vec![0.0; (n + 1) * width];
    for k in (0..n).rev() {
        let most = live[k].most;
        let value = values[k];
        let s = size[k] as usize;
        let (head, tail) = best.split_at_mut((k + 1) * width);
        let next = &tail[..width];
        let row = &mut head[k * width..];
        if value <= 0.0 {
            row[..width].copy_from_slice(next);
            continue;
        }
        for u in 0..width {
            let mut v = next[u];
            if s == 0 {
                v += value * most as f64;
            } else {
                let mut c = 1;
                while c <= most && c as usize * s <= u {
                    v = v.max(next[u - c as usize * s] + value * c as f64);
                    c += 1;
                }
            }
            row[u] = v;
        }
    }
    best
}

impl Table {
    pub(super) fn new(live: &[Live], dim: usize, cap: u64) -> Option<Self> {
        let (unit, width) = table_unit(live, dim, cap)?;
        let sizes: Vec<u64> = live.iter().map(|l| l.size[dim] / unit).collect();
        let values: Vec<f64> = live.iter().map(|l| l.value).collect();
        let best = knapsack_rows(live, &values, &sizes, width);
        Some(Self { dim, unit, width, best })
    }

    #[allow(clippy::cast_possible_truncation)]
    pub(super) fn at(&self, k: usize, res: u64) -> f64 {
        let u = ((res / self.unit) as usize).min(self.width - 1);
        self.best[k * self.width + u]
    }
}

fn gcd(a: u64, b: u64) -> u64 {
    let (mut a, mut b) = (a, b);
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

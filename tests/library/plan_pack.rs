//! The packer on random instances: every placement passes a checker written here, the plan is
//! never worse than either FFD ordering, bounds never exceed the true optimum (found here by
//! brute force on tiny instances), and `optimal: true` is only claimed when it is.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;

use imgopt::plan::pack::{self, BinType, Item, Limits, Order, Packing, Problem};
use proptest::prelude::*;

/// Independent feasibility check of one node's content.
fn node_ok(p: &Problem, ty: usize, pods: &[(usize, u64)]) -> bool {
    let t = &p.types[ty];
    let (mut cpu, mut mem, mut n) = (0u64, 0u64, 0u64);
    let mut gpus = [0u64; 4];
    let mut layers: BTreeSet<usize> = p.base_layers.iter().copied().collect();
    for &(i, c) in pods {
        let it = &p.items[i];
        if c > it.max_per_node {
            return false;
        }
        // Node affinity: an item with an allow-list may only go on the types it lists.
        if c > 0 && !it.allowed.is_empty() && !it.allowed[ty] {
            return false;
        }
        for (r, &g) in it.ext.iter().enumerate() {
            gpus[r] += g * c;
        }
        cpu += it.cpu * c;
        mem += it.mem * c;
        n += c;
        if c > 0 {
            layers.extend(it.layers.iter().copied());
        }
    }
    let disk_ok = t
        .disk
        .is_none_or(|b| layers.iter().map(|&l| p.layer_size[l]).sum::<u64>() <= b);
    let ext_ok = gpus
        .iter()
        .enumerate()
        .all(|(r, &g)| g <= t.ext.get(r).copied().unwrap_or(0));
    cpu <= t.cpu && mem <= t.mem && n <= t.pods && disk_ok && ext_ok
}

fn valid(p: &Problem, pk: &Packing) -> bool {
    let mut placed = vec![0u64; p.items.len()];
    for n in &pk.nodes {
        if !node_ok(p, n.ty, &n.pods) {
            return false;
        }
        for &(i, c) in &n.pods {
            placed[i] += c;
        }
    }
    placed.iter().zip(&p.items).all(|(a, it)| *a == it.count)
}

/// Brute force: the cheapest partition of all pods into feasible nodes (each node takes the
/// cheapest type that holds it). Pods are assigned one by one to an open group or a new one.
fn brute_opt(p: &Problem, types: &[usize]) -> Option<f64> {
    let pods: Vec<usize> = p
        .items
        .iter()
        .enumerate()
        .flat_map(|(i, it)| std::iter::repeat_n(i, it.count as usize))
        .collect();
    let cheapest = |g: &Vec<usize>| -> Option<f64> {
        let mut counts: Vec<(usize, u64)> = Vec::new();
        for &i in g {
            match counts.iter_mut().find(|(j, _)| *j == i) {
                Some((_, c)) => *c += 1,
                None => counts.push((i, 1)),
            }
        }
        types
            .iter()
            .filter(|&&t| node_ok(p, t, &counts))
            .map(|&t| p.types[t].price)
            .min_by(f64::total_cmp)
    };
    fn go(
        k: usize,
        pods: &[usize],
        groups: &mut Vec<Vec<usize>>,
        best: &mut Option<f64>,
        cost_of: &dyn Fn(&Vec<usize>) -> Option<f64>,
    ) {
        if k == pods.len() {
            let mut total = 0.0;
            for g in groups.iter() {
                match cost_of(g) {
                    Some(c) => total += c,
                    None => return,
                }
            }
            if best.is_none_or(|b| total < b) {
                *best = Some(total);
            }
            return;
        }
        for gi in 0..groups.len() {
            groups[gi].push(pods[k]);
            if cost_of(&groups[gi]).is_some() {
                go(k + 1, pods, groups, best, cost_of);
            }
            groups[gi].pop();
        }
        groups.push(vec![pods[k]]);
        if cost_of(groups.last().unwrap()).is_some() {
            go(k + 1, pods, groups, best, cost_of);
        }
        groups.pop();
    }
    let mut best = None;
    go(0, &pods, &mut Vec::new(), &mut best, &cheapest);
    best
}

fn problem() -> impl Strategy<Value = Problem> {
    problem_with(false)
}

/// With `constrained`, items may ask for GPUs (an extended resource) and be limited to some
/// node types (node affinity), and types may have 0 to 2 GPUs.
fn problem_with(constrained: bool) -> impl Strategy<Value = Problem> {
    let item = (
        100u64..2500,
        100u64..6000,
        prop::option::of(1u64..3),
        prop::option::of(0usize..3),
        1u64..3,
        (0u64..3, 0u8..8),
    );
    let ty = (
        2000u64..5000,
        4000u64..12000,
        2u64..7,
        prop::option::of(1000u64..2500),
        1u32..4,
        0u64..3,
    );
    (prop::collection::vec(item, 1..5), prop::collection::vec(ty, 1..4)).prop_map(move |(items, types)| {
        let ntypes = types.len();
        // Three images over four layers: 0 and 1 share layer 0.
        let images = [vec![0usize, 1], vec![0, 2], vec![3]];
        Problem {
            items: items
                .into_iter()
                .map(|(cpu, mem, mpn, img, count, (gpu, mask))| Item {
                    cpu,
                    mem,
                    max_per_node: mpn.unwrap_or(u64::MAX),
                    layers: img.map(|i| images[i].clone()).unwrap_or_default(),
                    count,
                    // A third of the items ask for 1 or 2 GPUs.
                    ext: if constrained && gpu > 0 { vec![gpu] } else { vec![] },
                    // mask 0..=3 of 8: no affinity; else the types whose bit is set (at least one).
                    allowed: if constrained && mask >= 4 {
                        (0..ntypes)
                            .map(|t| mask & (1 << t) != 0 || t == usize::from(mask) % ntypes)
                            .collect()
                    } else {
                        vec![]
                    },
                })
                .collect(),
            types: types
                .into_iter()
                .map(|(cpu, mem, pods, disk, price, gpus)| BinType {
                    cpu,
                    mem,
                    pods,
                    disk,
                    price: f64::from(price),
                    max_nodes: None,
                    ext: if constrained { vec![gpus] } else { vec![] },
                })
                .collect(),
            layer_size: vec![800, 300, 400, 900],
            base_layers: vec![],
        }
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, ..ProptestConfig::default() })]

    #[test]
    fn single_type_plans_are_valid_never_worse_than_ffd_and_honest(p in problem()) {
        single_type_case(&p)?;
    }

    #[test]
    fn mixed_fleet_is_valid_and_its_bound_is_below_the_optimum(p in problem()) {
        mixed_case(&p)?;
    }

    /// The same with GPUs and node affinity: a pod never lands on a type its affinity excludes
    /// or without the GPUs it asks for, and bounds stay below the brute-force optimum.
    #[test]
    fn gpus_and_node_affinity_single_type(p in problem_with(true)) {
        single_type_case(&p)?;
    }

    #[test]
    fn gpus_and_node_affinity_mixed(p in problem_with(true)) {
        mixed_case(&p)?;
    }
}

fn single_type_case(p: &Problem) -> Result<(), TestCaseError> {
    {
        for ty in 0..p.types.len() {
            // Restrict to items that fit this type alone (as the planner does).
            let mut sub = p.clone();
            for (i, it) in sub.items.iter_mut().enumerate() {
                if !node_ok(p, ty, &[(i, 1)]) {
                    it.count = 0;
                }
            }
            let Some(plan) = pack::plan_single(&sub, ty, Limits::default()) else {
                continue;
            };
            prop_assert!(valid(&sub, &plan.packing));
            prop_assert!(valid(&sub, &plan.ffd_ca));
            prop_assert!(valid(&sub, &plan.ffd_karpenter));
            let ffd_best = plan.ffd_ca.nodes.len().min(plan.ffd_karpenter.nodes.len());
            prop_assert!(plan.packing.nodes.len() <= ffd_best);
            let mut one = sub.clone();
            for t in &mut one.types {
                t.price = 1.0;
            }
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let opt = brute_opt(&one, &[ty]).map_or(0, |c| c.round() as usize);
            prop_assert!(plan.packing.nodes.len() >= opt);
            prop_assert!(
                plan.lower_bound as usize <= opt,
                "bound {} above optimum {}",
                plan.lower_bound,
                opt
            );
            if plan.optimal {
                prop_assert_eq!(plan.packing.nodes.len(), opt);
            }
        }
    }
    Ok(())
}

fn mixed_case(p: &Problem) -> Result<(), TestCaseError> {
    {
        let types: Vec<usize> = (0..p.types.len()).collect();
        let mut sub = p.clone();
        for (i, it) in sub.items.iter_mut().enumerate() {
            if !types.iter().any(|&t| node_ok(p, t, &[(i, 1)])) {
                it.count = 0;
            }
        }
        let Some(mp) = pack::plan_mixed(&sub, &types, &[], Limits::default()) else {
            prop_assert!(false, "no fleet");
            unreachable!()
        };
        prop_assert!(valid(&sub, &mp.packing));
        let opt = brute_opt(&sub, &types).unwrap_or(0.0);
        let cost = mp.packing.cost(&sub);
        prop_assert!(cost >= opt - 1e-9);
        prop_assert!(
            mp.lower_bound_cost <= opt + 1e-6,
            "bound {} above optimum {}",
            mp.lower_bound_cost,
            opt
        );
        if mp.optimal {
            prop_assert!((cost - opt).abs() < 1e-9, "claimed optimal {cost}, optimum {opt}");
        }
    }
    Ok(())
}

#[test]
fn ffd_orderings_differ_where_documented() {
    // Karpenter sorts by CPU first: a CPU-light, memory-heavy pod comes last there but first
    // for the cluster-autoscaler score. Both orders must still produce valid packings.
    let p = Problem {
        items: vec![
            Item {
                cpu: 100,
                mem: 7000,
                max_per_node: u64::MAX,
                layers: vec![],
                count: 3,
                ext: vec![],
                allowed: vec![],
            },
            Item {
                cpu: 1500,
                mem: 500,
                max_per_node: u64::MAX,
                layers: vec![],
                count: 3,
                ext: vec![],
                allowed: vec![],
            },
        ],
        types: vec![BinType {
            cpu: 2000,
            mem: 8000,
            pods: 10,
            disk: None,
            price: 1.0,
            max_nodes: None,
            ext: vec![],
        }],
        layer_size: vec![],
        base_layers: vec![],
    };
    let ca = pack::ffd(&p, 0, Order::ClusterAutoscaler).unwrap();
    let ka = pack::ffd(&p, 0, Order::Karpenter).unwrap();
    assert!(valid(&p, &ca) && valid(&p, &ka));
    // Either order pairs one of each per node: 3 nodes (brute force agrees).
    assert_eq!(brute_opt(&p, &[0]), Some(3.0));
    assert_eq!(ca.nodes.len(), 3);
    assert_eq!(ka.nodes.len(), 3);
    assert_eq!(ka.nodes[0].pods, vec![(0, 1), (1, 1)]);
}

#[test]
fn quotas_are_respected() {
    // Two types; the cheap one is capped at 1 node.
    let p = Problem {
        items: vec![Item {
            cpu: 1000,
            mem: 1000,
            max_per_node: u64::MAX,
            layers: vec![],
            count: 6,
            ext: vec![],
            allowed: vec![],
        }],
        types: vec![
            BinType {
                cpu: 2000,
                mem: 4000,
                pods: 10,
                disk: None,
                price: 1.0,
                max_nodes: Some(1),
                ext: vec![],
            },
            BinType {
                cpu: 2000,
                mem: 4000,
                pods: 10,
                disk: None,
                price: 1.5,
                max_nodes: None,
                ext: vec![],
            },
        ],
        layer_size: vec![],
        base_layers: vec![],
    };
    let mp = pack::plan_mixed(&p, &[0, 1], &[], Limits::default()).unwrap();
    pack::check(&p, &mp.packing).unwrap();
    assert!(valid(&p, &mp.packing));
    // 3 nodes: 1 cheap + 2 dear = 4.0, proven.
    assert!((mp.packing.cost(&p) - 4.0).abs() < 1e-9);
    assert!(mp.optimal);
}

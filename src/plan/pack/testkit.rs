//! What the packer's unit tests share: small problems in CPU and memory alone, and a seeded
//! random number source.

use super::Problem;
use super::model::{BinType, Item};

/// A pod of `cpu` millicores and `mem` MiB, `count` replicas, with no other constraint.
pub(super) fn item(cpu: u64, mem: u64, count: u64) -> Item {
    Item {
        cpu,
        mem,
        max_per_node: u64::MAX,
        layers: vec![],
        count,
        ext: vec![],
        allowed: vec![],
    }
}

/// A node type of `cpu` millicores, `mem` MiB and `pods` pod slots at `price` $/h, with no disk
/// or extended resources.
pub(super) fn bin(cpu: u64, mem: u64, pods: u64, price: f64, max_nodes: Option<u64>) -> BinType {
    BinType {
        cpu,
        mem,
        pods,
        disk: None,
        price,
        max_nodes,
        ext: vec![],
    }
}

/// Items `(cpu, mem, count)` on node types `(cpu, mem, price, max_nodes)` with 110 pods, no
/// disk, images or extended resources.
pub(super) fn problem(items: &[(u64, u64, u64)], types: &[(u64, u64, f64, Option<u64>)]) -> Problem {
    Problem {
        items: items.iter().map(|&(cpu, mem, count)| item(cpu, mem, count)).collect(),
        types: types
            .iter()
            .map(|&(cpu, mem, price, max_nodes)| bin(cpu, mem, 110, price, max_nodes))
            .collect(),
        layer_size: vec![],
        base_layers: vec![],
    }
}

/// A xorshift source: each call gives a number below its argument, the same sequence every run.
pub(super) fn xorshift() -> impl FnMut(u64) -> u64 {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    move |n: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % n
    }
}

/// A random node type `(cpu millicores, memory MiB, price $/h)`: 2-8 cores, 8-32 GiB, priced
/// like an on-demand instance give or take 20 %, rounded to a tenth of a cent.
pub(super) fn random_type(rnd: &mut impl FnMut(u64) -> u64) -> (u64, u64, f64) {
    let cpu = 2000 + rnd(6000);
    let mem = 8000 + rnd(24000);
    let price = (cpu as f64 / 1000.0 * 0.04 + mem as f64 / 1024.0 * 0.005) * (0.8 + rnd(40) as f64 / 100.0);
    (cpu, mem, (price * 1000.0).round() / 1000.0)
}

//! One service on one empty node: how many instances fit, which resources bind, what the
//! others strand, and how many MiB a fresh node must pull for it.
//!
//! Owns: `instances = min(pods_free, ⌊cpu_free/cpu⌋, ⌊mem_free/mem⌋, max_per_node,
//! ⌊ext_free/ext⌋ for every extended resource)`, or 0 when the image does not fit the cache
//! budget (density.md section 5.1 item 3 and section 6 "Fit rule") or the node type's labels do
//! not satisfy the pod's `nodeSelector` / required node affinity. Binding resources are listed
//! in the order cpu, memory, pods, max_per_node, extended resources (by name), disk,
//! node_affinity; several when tied. Does not: pack several services together (see `pack`).

use std::collections::BTreeMap;

use serde::{Serialize, Serializer};

use super::image::{LayerSet, LayerTable};
use super::quantity::{Mebibytes, Millicores};

/// A resource that can bind. Serialised as its [`Binding::word`].
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Binding {
    /// CPU requests.
    Cpu,
    /// Memory requests.
    Memory,
    /// Pod slots (`maxPods` minus DaemonSets).
    Pods,
    /// The service's own `max_per_node` (anti-affinity / spread).
    MaxPerNode,
    /// An extended resource such as `nvidia.com/gpu` (its name).
    Extended(String),
    /// The image cache budget.
    Disk,
    /// The pod's `nodeSelector` or required node affinity does not allow the node type.
    NodeAffinity,
}

impl Binding {
    /// `cpu + memory`: the words of `bindings` joined for a report, or `none` when there are none.
    #[must_use]
    pub fn joined(bindings: &[Binding], none: &str) -> String {
        if bindings.is_empty() {
            return none.to_string();
        }
        bindings.iter().map(Binding::word).collect::<Vec<_>>().join(" + ")
    }

    /// The word used in reports (an extended resource's own name, `nvidia.com/gpu`).
    #[must_use]
    pub fn word(&self) -> &str {
        match self {
            Self::Cpu => "cpu",
            Self::Memory => "memory",
            Self::Pods => "pods",
            Self::MaxPerNode => "max_per_node",
            Self::Extended(name) => name,
            Self::Disk => "disk",
            Self::NodeAffinity => "node_affinity",
        }
    }
}

impl Serialize for Binding {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.word())
    }
}

/// What a full node of one service leaves unused.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Stranded {
    /// Idle CPU.
    pub cpu_m: u64,
    /// Idle memory.
    pub memory_mib: u64,
    /// Idle pod slots.
    pub pods: u64,
}

/// The single-service answer for one node type.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Fit {
    /// Instances that fit on one empty node.
    pub instances: u64,
    /// Binding resources (cpu, memory, pods, max_per_node, disk order).
    pub binding: Vec<Binding>,
    /// What the binding leaves idle of the other resources.
    pub stranded: Stranded,
    /// Union of image layers on the node (DaemonSets included), MiB, when the type has a disk.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_cache_mib: Option<u64>,
}

impl Fit {
    /// `"memory-bound: 7 pods, 1.4 cores idle"`: the binding resources and the CPU and memory
    /// that the others leave idle (pod slots are in [`Fit::stranded`]).
    #[must_use]
    pub fn summary(&self) -> String {
        let bound = self.binding.iter().map(Binding::word).collect::<Vec<_>>().join("+");
        let mut idle = Vec::new();
        if !self.binding.contains(&Binding::Cpu) && self.stranded.cpu_m > 0 {
            idle.push(format!("{} idle", Millicores(self.stranded.cpu_m)));
        }
        if !self.binding.contains(&Binding::Memory) && self.stranded.memory_mib > 0 {
            idle.push(format!("{} idle", Mebibytes(self.stranded.memory_mib)));
        }
        let pods = if self.instances == 1 { "pod" } else { "pods" };
        if idle.is_empty() {
            format!("{bound}-bound: {} {pods}", self.instances)
        } else {
            format!("{bound}-bound: {} {pods}, {}", self.instances, idle.join(", "))
        }
    }
}

/// What fits needs to know about the node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Free {
    /// Free CPU (after DaemonSets and headroom).
    pub cpu_m: u64,
    /// Free memory.
    pub memory_mib: u64,
    /// Free pod slots.
    pub pods: u64,
    /// Image cache budget in bytes (whole), if the type has a disk.
    pub image_budget_bytes: Option<u64>,
}

/// What one pod of a service needs of a node, beyond its image.
#[derive(Clone, Copy, Debug)]
pub struct Needs<'a> {
    /// CPU in millicores.
    pub cpu_m: u64,
    /// Memory in MiB.
    pub memory_mib: u64,
    /// `max_per_node`, if any.
    pub max_per_node: Option<u64>,
    /// Extended resources per pod.
    pub extended: &'a BTreeMap<String, u64>,
    /// Whether its node selector and required node affinity allow the node type.
    pub allowed: bool,
}

/// Instances of one service on one empty node (see [`fit_needs`] for extended resources and
/// node affinity).
#[must_use]
pub fn fit(
    free: Free,
    cpu_m: u64,
    memory_mib: u64,
    max_per_node: Option<u64>,
    image_layers: &[usize],
    table: &LayerTable,
    ds_layers: &LayerSet,
) -> Fit {
    let none = BTreeMap::new();
    let needs = Needs {
        cpu_m,
        memory_mib,
        max_per_node,
        extended: &none,
        allowed: true,
    };
    fit_needs(free, &needs, &none, image_layers, table, ds_layers)
}

/// Instances of one service on one empty node with `node_extended` free of each extended
/// resource.
#[must_use]
pub fn fit_needs(
    free: Free,
    needs: &Needs<'_>,
    node_extended: &BTreeMap<String, u64>,
    image_layers: &[usize],
    table: &LayerTable,
    ds_layers: &LayerSet,
) -> Fit {
    let (cpu_m, memory_mib, max_per_node) = (needs.cpu_m, needs.memory_mib, needs.max_per_node);
    let mut limits: Vec<(Binding, u64)> = Vec::new();
    if let Some(n) = free.cpu_m.checked_div(cpu_m) {
        limits.push((Binding::Cpu, n));
    }
    if let Some(n) = free.memory_mib.checked_div(memory_mib) {
        limits.push((Binding::Memory, n));
    }
    limits.push((Binding::Pods, free.pods));
    if let Some(m) = max_per_node {
        limits.push((Binding::MaxPerNode, m));
    }
    for (name, &need) in needs.extended {
        if let Some(n) = node_extended.get(name).copied().unwrap_or(0).checked_div(need) {
            limits.push((Binding::Extended(name.clone()), n));
        }
    }
    let mut cache = None;
    if let Some(budget) = free.image_budget_bytes {
        let mut union = ds_layers.clone();
        for &l in image_layers {
            union.insert(l, table.size(l));
        }
        let bytes = union.bytes();
        cache = Some(bytes.div_ceil(1 << 20));
        if bytes > budget {
            limits.push((Binding::Disk, 0));
        }
    }
    if !needs.allowed {
        // Not a resource: the node type is simply not eligible, whatever else fits.
        limits = vec![(Binding::NodeAffinity, 0)];
    }
    let instances = limits.iter().map(|(_, n)| *n).min().unwrap_or(0);
    let binding = limits
        .iter()
        .filter(|(_, n)| *n == instances)
        .map(|(b, _)| b.clone())
        .collect();
    let stranded = Stranded {
        cpu_m: free.cpu_m - cpu_m * instances,
        memory_mib: free.memory_mib - memory_mib * instances,
        pods: free.pods - instances,
    };
    Fit {
        instances,
        binding,
        stranded,
        image_cache_mib: cache,
    }
}

/// MiB a fresh node pulls for an image: the compressed size of its layers that the DaemonSets'
/// images do not already bring.
#[must_use]
#[allow(clippy::cast_precision_loss)]
pub fn pull_mib(image_layers: &[usize], table: &LayerTable, ds_layers: &LayerSet) -> f64 {
    let bytes: u64 = image_layers
        .iter()
        .filter(|&&l| !ds_layers.contains(l))
        .map(|&l| table.compressed(l))
        .fold(0, u64::saturating_add);
    (bytes as f64 / 1_048_576.0 * 10.0).round() / 10.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::image::{ImageLayers, Layer};

    fn free(cpu_m: u64, memory_mib: u64, pods: u64) -> Free {
        Free {
            cpu_m,
            memory_mib,
            pods,
            image_budget_bytes: None,
        }
    }

    #[test]
    fn memory_bound_with_idle_cpu() {
        // m5.large after aws-node + kube-proxy: 1805m, 7518 MiB, 27 pods (density.md 2.4).
        // 50m / 1Gi pods: cpu 36, memory 7, pods 27 -> 7, memory-bound; 1805 - 350 = 1455m idle.
        let t = LayerTable::new();
        let f = fit(free(1805, 7518, 27), 50, 1024, None, &[], &t, &LayerSet::default());
        assert_eq!(f.instances, 7);
        assert_eq!(f.binding, vec![Binding::Memory]);
        assert_eq!(
            f.stranded,
            Stranded {
                cpu_m: 1455,
                memory_mib: 350,
                pods: 20
            }
        );
        assert_eq!(f.summary(), "memory-bound: 7 pods, 1.5 cores idle");
    }

    #[test]
    fn ties_are_listed_in_order() {
        // 4 pods by cpu (1000m each of 4000m), memory (4 x 1000 of 4000) and max_per_node 4.
        let t = LayerTable::new();
        let f = fit(
            free(4000, 4000, 110),
            1000,
            1000,
            Some(4),
            &[],
            &t,
            &LayerSet::default(),
        );
        assert_eq!(f.binding, vec![Binding::Cpu, Binding::Memory, Binding::MaxPerNode]);
        // A pod with no requests is bounded by pod slots only.
        let f = fit(free(4000, 4000, 58), 0, 0, None, &[], &t, &LayerSet::default());
        assert_eq!((f.instances, f.binding.clone()), (58, vec![Binding::Pods]));
    }

    #[test]
    fn disk_and_pull() {
        let mut t = LayerTable::new();
        let mib = 1 << 20;
        let base = Layer {
            digest: "base".into(),
            size: 800 * mib,
            compressed_size: 300 * mib,
        };
        let ds = t.intern(&ImageLayers {
            layers: vec![base.clone()],
        });
        let app = t.intern(&ImageLayers {
            layers: vec![
                base,
                Layer {
                    digest: "app".into(),
                    size: 300 * mib,
                    compressed_size: 100 * mib,
                },
            ],
        });
        let mut ds_set = LayerSet::default();
        for l in ds {
            ds_set.insert(l, t.size(l));
        }
        // Budget 1000 MiB: 800 (shared base, once) + 300 = 1100 > 1000 -> disk-bound, 0 instances.
        let f = fit(
            Free {
                image_budget_bytes: Some(1000 * mib),
                ..free(4000, 16000, 58)
            },
            100,
            100,
            None,
            &app,
            &t,
            &ds_set,
        );
        assert_eq!((f.instances, f.binding.clone()), (0, vec![Binding::Disk]));
        assert_eq!(f.image_cache_mib, Some(1100));
        // Budget 1100 MiB fits exactly; only the app layer is pulled (100 MiB compressed).
        let f = fit(
            Free {
                image_budget_bytes: Some(1100 * mib),
                ..free(4000, 16000, 58)
            },
            100,
            100,
            None,
            &app,
            &t,
            &ds_set,
        );
        assert_eq!(f.instances, 40);
        assert!((pull_mib(&app, &t, &ds_set) - 100.0).abs() < 1e-9);
    }
}

//! Node types: capacity, the provider reservation presets, VM overhead, allocatable, what is
//! free after the DaemonSets, and the image-cache budget.
//!
//! Owns: the formulas of density.md sections 2 and 6 (normative), evaluated in integers and
//! floored once. Does not: parse files (see `file`) or pack pods (see `pack`).
//!
//! Sources (via ../shared/reference/density.md): `awslabs/amazon-eks-ami` bootstrap.sh and
//! nodeadm (EKS: `11 * maxPods + 255` MiB, GKE CPU tiers); GKE *Plan node sizes* (memory tiers);
//! *Node resource reservations in AKS* (AKS >= 1.29: `min(20 * maxPods + 50, 25%)`; older AKS:
//! GKE tiers and a 750 MiB eviction threshold); Kubernetes *Reserve Compute Resources*
//! (allocatable = capacity - kube-reserved - system-reserved - hard eviction).

use std::collections::BTreeMap;

use serde::Serialize;

use super::image::LayerSet;
use super::quantity::Quantity;

/// A CPU / memory / pod-slot triple.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Resources {
    /// CPU in millicores.
    pub cpu_m: u64,
    /// Memory in MiB.
    pub memory_mib: u64,
    /// Pod slots.
    pub pods: u64,
}

/// How a node type's reservation is computed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReservedModel {
    /// Amazon EKS (AL2 bootstrap.sh, AL2023 nodeadm, Karpenter).
    Eks,
    /// Google GKE Standard.
    Gke,
    /// Azure AKS 1.29 and later.
    Aks,
    /// Azure AKS before 1.29.
    AksLegacy,
    /// Given explicitly.
    Explicit {
        /// kube-reserved CPU.
        kube_cpu_m: u64,
        /// kube-reserved memory.
        kube_memory_mib: u64,
        /// system-reserved CPU.
        system_cpu_m: u64,
        /// system-reserved memory.
        system_memory_mib: u64,
        /// Hard eviction threshold `memory.available` (100 MiB by default).
        eviction_memory_mib: u64,
    },
}

impl ReservedModel {
    /// The name used in files and reports.
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            Self::Eks => "eks",
            Self::Gke => "gke",
            Self::Aks => "aks",
            Self::AksLegacy => "aks-legacy",
            Self::Explicit { .. } => "explicit",
        }
    }

    /// Parses a preset name.
    #[must_use]
    pub fn preset(name: &str) -> Option<Self> {
        Some(match name {
            "eks" => Self::Eks,
            "gke" => Self::Gke,
            "aks" => Self::Aks,
            "aks-legacy" => Self::AksLegacy,
            _ => return None,
        })
    }
}

/// A node type as the user describes it.
#[derive(Clone, Debug, PartialEq)]
pub struct NodeTypeSpec {
    /// Name (`m5.xlarge`).
    pub name: String,
    /// Nominal CPU in millicores (`vcpu * 1000`).
    pub cpu_m: u64,
    /// Nominal memory in MiB.
    pub memory_mib: u64,
    /// `maxPods`.
    pub max_pods: u64,
    /// On-demand price in USD per hour, if known (needed for the cheapest fleet).
    pub price_per_hour: Option<f64>,
    /// The reservation preset.
    pub reserved: ReservedModel,
    /// Fraction of memory the VM never shows (Karpenter's 0.075), exact.
    pub vm_memory_overhead: Option<Quantity>,
    /// Node disk in MiB; when set, the image-cache budget applies.
    pub disk_mib: Option<u64>,
    /// `imageGCHighThresholdPercent` (85 by default).
    pub image_gc_high_threshold_percent: u64,
    /// Disk kept for the OS, logs and emptyDirs, in MiB.
    pub disk_reserved_mib: u64,
    /// Quota on the number of nodes of this type (cost plan only).
    pub max_nodes: Option<u64>,
    /// Node labels, matched by services' `nodeSelector` and required node affinity.
    pub labels: BTreeMap<String, String>,
    /// Extended resources per node (`nvidia.com/gpu: 2`), as the device plugin advertises them
    /// in the node's allocatable; a resource not listed is 0.
    pub extended: BTreeMap<String, u64>,
}

impl NodeTypeSpec {
    /// A node type with defaults for everything but the size and preset.
    #[must_use]
    pub fn new(name: &str, cpu_m: u64, memory_mib: u64, max_pods: u64, reserved: ReservedModel) -> Self {
        Self {
            name: name.to_string(),
            cpu_m,
            memory_mib,
            max_pods,
            price_per_hour: None,
            reserved,
            vm_memory_overhead: None,
            disk_mib: None,
            image_gc_high_threshold_percent: 85,
            disk_reserved_mib: 0,
            max_nodes: None,
            labels: BTreeMap::new(),
            extended: BTreeMap::new(),
        }
    }
}

/// What the reservation takes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Reserved {
    /// kube-reserved + system-reserved CPU.
    pub cpu_m: u64,
    /// kube-reserved + system-reserved memory.
    pub memory_mib: u64,
    /// Hard eviction threshold.
    pub eviction_memory_mib: u64,
}

/// CPU tiers shared by EKS and GKE: 6% of the first core, 1% of the second, 0.5% of cores
/// 3-4, 0.25% above 4, summed exactly and floored once.
fn tiers(c: u64, pct_half: [u64; 4]) -> u64 {
    let a = c.min(1000);
    let b = c.saturating_sub(1000).min(1000);
    let d = c.saturating_sub(2000).min(2000);
    let e = c.saturating_sub(4000);
    // pct_half holds the percentages times 2 (0.25% -> 0.5 -> stored as 5 per mille * 2).
    (pct_half[0] * a + pct_half[1] * b + pct_half[2] * d + pct_half[3] * e) / 2000
}

/// The EKS/GKE CPU reservation in millicores.
#[must_use]
pub fn gke_cpu_reserved(cpu_m: u64) -> u64 {
    // 6%, 1%, 0.5%, 0.25% expressed in units of 1/2000.
    tiers(cpu_m, [120, 20, 10, 5])
}

/// The AKS CPU reservation in millicores: 6% + 4% + 2% (cores 3-4) + 1% above 4.
#[must_use]
pub fn aks_cpu_reserved(cpu_m: u64) -> u64 {
    tiers(cpu_m, [120, 80, 40, 20])
}

/// The GKE memory reservation (without the eviction threshold) in MiB.
#[must_use]
pub fn gke_memory_reserved(memory_mib: u64, small_rule: bool) -> u64 {
    let m = memory_mib;
    if small_rule && m < 1024 {
        return 255;
    }
    let t1 = m.min(4096);
    let t2 = m.saturating_sub(4096).min(4096);
    let t3 = m.saturating_sub(8192).min(8192);
    let t4 = m.saturating_sub(16384).min(114_688);
    let t5 = m.saturating_sub(131_072);
    (25 * t1 + 20 * t2 + 10 * t3 + 6 * t4 + 2 * t5) / 100
}

/// Computes the reservation of a node type.
#[must_use]
pub fn reserved(spec: &NodeTypeSpec) -> Reserved {
    let (c, m, p) = (spec.cpu_m, spec.memory_mib, spec.max_pods);
    match &spec.reserved {
        ReservedModel::Eks => Reserved {
            cpu_m: gke_cpu_reserved(c),
            memory_mib: 11 * p + 255,
            eviction_memory_mib: 100,
        },
        ReservedModel::Gke => Reserved {
            cpu_m: gke_cpu_reserved(c),
            memory_mib: gke_memory_reserved(m, true),
            eviction_memory_mib: 100,
        },
        ReservedModel::Aks => Reserved {
            cpu_m: aks_cpu_reserved(c),
            memory_mib: (20 * p + 50).min(m / 4),
            eviction_memory_mib: 100,
        },
        ReservedModel::AksLegacy => Reserved {
            cpu_m: aks_cpu_reserved(c),
            memory_mib: gke_memory_reserved(m, false),
            eviction_memory_mib: 750,
        },
        ReservedModel::Explicit {
            kube_cpu_m,
            kube_memory_mib,
            system_cpu_m,
            system_memory_mib,
            eviction_memory_mib,
        } => Reserved {
            cpu_m: kube_cpu_m.saturating_add(*system_cpu_m),
            memory_mib: kube_memory_mib.saturating_add(*system_memory_mib),
            eviction_memory_mib: *eviction_memory_mib,
        },
    }
}

/// A DaemonSet pod as the node model needs it: its effective request and image. Only the
/// DaemonSets that run on a node type are passed to [`model`] (see `DaemonSetSpec::runs_on`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DaemonSet {
    /// Name.
    pub name: String,
    /// Effective request (CPU in millicores, memory in MiB).
    pub cpu_m: u64,
    /// Effective memory request in MiB.
    pub memory_mib: u64,
    /// Extended resources the pod requests (`nvidia.com/gpu`), taken from the node's.
    pub extended: BTreeMap<String, u64>,
    /// Index of its image in the plan's image table.
    pub image: Option<usize>,
}

/// A node type with everything derived from it (one row of the node-type table).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NodeModel {
    /// Name.
    pub name: String,
    /// Capacity (memory after VM overhead).
    pub capacity: Resources,
    /// Reservation.
    pub reserved: Reserved,
    /// `capacity - reserved - eviction`.
    pub allocatable: Resources,
    /// Allocatable minus every DaemonSet's request and pod slot.
    pub free_after_daemonsets: Resources,
    /// Image-cache budget after the DaemonSets' layers, in MiB (only with a disk).
    pub image_budget_mib: Option<i64>,
    /// The whole image-cache budget, `floor(disk * gc_high% / 100) - disk_reserved`, in MiB
    /// (only with a disk): what the union of every image on a node, the DaemonSets' included,
    /// must fit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_cache_budget_mib: Option<u64>,
    /// Price per node-hour.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub price_per_hour: Option<f64>,
    /// Quota for the cost plan.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_nodes: Option<u64>,
    /// Node labels (for `nodeSelector` and node affinity), when given.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Extended resources per node (`nvidia.com/gpu`), when given: the device plugin's
    /// allocatable (the kubelet reserves none of them).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub extended_resources: BTreeMap<String, u64>,
    /// Of [`NodeModel::extended_resources`], what is left after the DaemonSets that run on this
    /// type; same keys, present when the type has extended resources.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub extended_free_after_daemonsets: BTreeMap<String, u64>,
    /// DaemonSets whose `nodeSelector` or required node affinity rule this type out: they take
    /// nothing here. In input order; present when there are any.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub daemonsets_excluded: Vec<String>,
    /// Why no pod can go on this type at all (DaemonSets do not fit, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unusable: Option<String>,
    /// Whole image budget before DaemonSets, in bytes (internal, for the disk check).
    #[serde(skip)]
    pub image_budget_bytes: Option<u64>,
}

impl NodeModel {
    /// Of extended resource `name`: `(capacity, taken by the DaemonSets, free)` on one node.
    /// The kubelet reserves only cpu, memory, ephemeral-storage and pids (Kubernetes docs,
    /// *Reserve Compute Resources for System Daemons*,
    /// <https://kubernetes.io/docs/tasks/administer-cluster/reserve-compute-resources/>), so an
    /// extended resource's capacity is also its allocatable.
    #[must_use]
    pub fn extended_split(&self, name: &str) -> (u64, u64, u64) {
        let cap = self.extended_resources.get(name).copied().unwrap_or(0);
        let free = self.extended_free_after_daemonsets.get(name).copied().unwrap_or(0);
        (cap, cap.saturating_sub(free), free)
    }
}

/// Derives a node type's capacity, allocatable, free resources and image budget.
///
/// `daemonsets` are the DaemonSets that run on this type, `ds_layers` the union of their image
/// layers (stored once on every node of the type).
#[must_use]
pub fn model(spec: &NodeTypeSpec, daemonsets: &[DaemonSet], ds_layers: &LayerSet) -> NodeModel {
    let overhead = spec
        .vm_memory_overhead
        .map_or(0, |f| f.fraction_of_ceil(spec.memory_mib));
    let capacity = Resources {
        cpu_m: spec.cpu_m,
        memory_mib: spec.memory_mib.saturating_sub(overhead),
        pods: spec.max_pods,
    };
    let reserved = reserved(spec);
    let mut unusable = Vec::new();
    let alloc_mem = capacity
        .memory_mib
        .checked_sub(reserved.memory_mib.saturating_add(reserved.eviction_memory_mib));
    let alloc_cpu = capacity.cpu_m.checked_sub(reserved.cpu_m);
    if alloc_mem.is_none() || alloc_cpu.is_none() {
        unusable.push("the reservation is larger than the node".to_string());
    }
    let allocatable = Resources {
        cpu_m: alloc_cpu.unwrap_or(0),
        memory_mib: alloc_mem.unwrap_or(0),
        pods: spec.max_pods,
    };
    let ds_cpu: u64 = daemonsets.iter().map(|d| d.cpu_m).fold(0, u64::saturating_add);
    let ds_mem: u64 = daemonsets.iter().map(|d| d.memory_mib).fold(0, u64::saturating_add);
    let ds_pods = daemonsets.len() as u64;
    if unusable.is_empty()
        && (ds_cpu > allocatable.cpu_m || ds_mem > allocatable.memory_mib || ds_pods > allocatable.pods)
    {
        unusable.push(format!(
            "the DaemonSets ({ds_cpu}m, {ds_mem} MiB, {ds_pods} pods) do not fit its allocatable ({}m, {} MiB, {} pods)",
            allocatable.cpu_m, allocatable.memory_mib, allocatable.pods
        ));
    }
    // Extended resources: whole devices, so a DaemonSet asking for more than the type has
    // would stay Pending on every node of it (the DaemonSet controller does not check
    // resources, only node selection): the type is unusable until the DaemonSet is limited.
    let mut ds_ext: BTreeMap<&str, u64> = BTreeMap::new();
    for d in daemonsets {
        for (k, v) in &d.extended {
            let e = ds_ext.entry(k.as_str()).or_default();
            *e = e.saturating_add(*v);
        }
    }
    if unusable.is_empty() {
        for (k, &need) in &ds_ext {
            let have = spec.extended.get(*k).copied().unwrap_or(0);
            if need > have {
                let who: Vec<&str> = daemonsets
                    .iter()
                    .filter(|d| d.extended.contains_key(*k))
                    .map(|d| d.name.as_str())
                    .collect();
                unusable.push(format!(
                    "the DaemonSets ({}) ask for {need} {k}, the node type has {have}: limit them with a nodeSelector or node affinity",
                    who.join(", ")
                ));
            }
        }
    }
    let extended_free = spec
        .extended
        .iter()
        .map(|(k, &v)| {
            (
                k.clone(),
                v.saturating_sub(ds_ext.get(k.as_str()).copied().unwrap_or(0)),
            )
        })
        .collect();
    let free = Resources {
        cpu_m: allocatable.cpu_m.saturating_sub(ds_cpu),
        memory_mib: allocatable.memory_mib.saturating_sub(ds_mem),
        pods: allocatable.pods.saturating_sub(ds_pods),
    };
    let budget_mib = spec.disk_mib.map(|d| {
        i64::try_from(u128::from(d) * u128::from(spec.image_gc_high_threshold_percent) / 100).unwrap_or(i64::MAX)
            - i64::try_from(spec.disk_reserved_mib).unwrap_or(i64::MAX)
    });
    let image_budget_bytes = budget_mib.map(|b| u64::try_from(b.max(0)).unwrap_or(0).saturating_mul(1 << 20));
    let ds_bytes = ds_layers.bytes();
    let image_budget_mib = budget_mib.map(|b| {
        let after = i128::from(b) * (1 << 20) - i128::from(ds_bytes);
        i64::try_from(after.div_euclid(1 << 20)).unwrap_or(i64::MIN)
    });
    if let (Some(b), true) = (image_budget_bytes, unusable.is_empty())
        && ds_bytes > b
    {
        unusable.push(format!(
            "the DaemonSets' image layers ({:.1} MiB) exceed the image budget ({} MiB)",
            ds_bytes as f64 / 1_048_576.0,
            b >> 20
        ));
    }
    NodeModel {
        name: spec.name.clone(),
        capacity,
        reserved,
        allocatable,
        free_after_daemonsets: free,
        image_budget_mib,
        image_cache_budget_mib: image_budget_bytes.map(|b| b >> 20),
        price_per_hour: spec.price_per_hour,
        max_nodes: spec.max_nodes,
        labels: spec.labels.clone(),
        extended_resources: spec.extended.clone(),
        extended_free_after_daemonsets: extended_free,
        daemonsets_excluded: Vec::new(),
        unusable: (!unusable.is_empty()).then(|| unusable.join("; ")),
        image_budget_bytes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alloc(name: &str, vcpu: u64, mem: u64, pods: u64, model: ReservedModel) -> NodeModel {
        let spec = NodeTypeSpec::new(name, vcpu * 1000, mem, pods, model);
        super::model(&spec, &[], &LayerSet::default())
    }

    // Every row below is worked by hand in density.md section 2.4 from the provider docs.
    #[test]
    #[allow(clippy::type_complexity)]
    fn provider_presets_match_density_md() {
        let rows: [(&str, u64, u64, u64, ReservedModel, u64, u64, u64, u64, u64); 12] = [
            ("t3.medium", 2, 4096, 17, ReservedModel::Eks, 70, 442, 100, 1930, 3554),
            ("m5.large", 2, 8192, 29, ReservedModel::Eks, 70, 574, 100, 1930, 7518),
            ("m5.xlarge", 4, 16384, 58, ReservedModel::Eks, 80, 893, 100, 3920, 15391),
            (
                "m5.4xlarge",
                16,
                65536,
                234,
                ReservedModel::Eks,
                110,
                2829,
                100,
                15890,
                62607,
            ),
            (
                "m5.large-pd",
                2,
                8192,
                110,
                ReservedModel::Eks,
                70,
                1465,
                100,
                1930,
                6627,
            ),
            (
                "e2-standard-2",
                2,
                8192,
                110,
                ReservedModel::Gke,
                70,
                1843,
                100,
                1930,
                6249,
            ),
            (
                "e2-standard-4",
                4,
                16384,
                110,
                ReservedModel::Gke,
                80,
                2662,
                100,
                3920,
                13622,
            ),
            (
                "n2-standard-8",
                8,
                32768,
                110,
                ReservedModel::Gke,
                90,
                3645,
                100,
                7910,
                29023,
            ),
            (
                "D4s_v5-30",
                4,
                16384,
                30,
                ReservedModel::Aks,
                140,
                650,
                100,
                3860,
                15634,
            ),
            (
                "D4s_v5-110",
                4,
                16384,
                110,
                ReservedModel::Aks,
                140,
                2250,
                100,
                3860,
                14034,
            ),
            (
                "D4s_v5-250",
                4,
                16384,
                250,
                ReservedModel::Aks,
                140,
                4096,
                100,
                3860,
                12188,
            ),
            (
                "D4s_v5-legacy",
                4,
                16384,
                110,
                ReservedModel::AksLegacy,
                140,
                2662,
                750,
                3860,
                12972,
            ),
        ];
        for (name, vcpu, mem, pods, model, rc, rm, ev, ac, am) in rows {
            let n = alloc(name, vcpu, mem, pods, model);
            assert_eq!(
                n.reserved,
                Reserved {
                    cpu_m: rc,
                    memory_mib: rm,
                    eviction_memory_mib: ev
                },
                "{name}"
            );
            assert_eq!(
                (n.allocatable.cpu_m, n.allocatable.memory_mib, n.allocatable.pods),
                (ac, am, pods),
                "{name}"
            );
        }
    }

    #[test]
    fn cpu_tiers_at_every_size() {
        // density.md 2.1 (EKS/GKE) and 2.3 (AKS table).
        for (v, eks, aks) in [
            (1, 60, 60),
            (2, 70, 100),
            (4, 80, 140),
            (8, 90, 180),
            (16, 110, 260),
            (32, 150, 420),
            (64, 230, 740),
        ] {
            assert_eq!(gke_cpu_reserved(v * 1000), eks, "{v} vCPU eks");
            assert_eq!(aks_cpu_reserved(v * 1000), aks, "{v} vCPU aks");
        }
        assert_eq!(gke_memory_reserved(512, true), 255);
    }

    #[test]
    fn vm_overhead_and_daemonsets() {
        // m5.large with Karpenter's 7.5%: 8192 - ceil(614.4) - 574 - 100 = 6903 (density.md 2.4).
        let mut spec = NodeTypeSpec::new("m5.large", 2000, 8192, 29, ReservedModel::Eks);
        spec.vm_memory_overhead = Some(Quantity::parse("0.075").unwrap());
        let ds = [
            DaemonSet {
                name: "aws-node".into(),
                cpu_m: 25,
                memory_mib: 0,
                extended: BTreeMap::new(),
                image: None,
            },
            DaemonSet {
                name: "kube-proxy".into(),
                cpu_m: 100,
                memory_mib: 0,
                extended: BTreeMap::new(),
                image: None,
            },
        ];
        let n = model(&spec, &ds, &LayerSet::default());
        assert_eq!(n.allocatable.memory_mib, 6903);
        // After aws-node and kube-proxy: 1805m and 27 pod slots (density.md 2.4).
        assert_eq!(n.free_after_daemonsets.cpu_m, 1805);
        assert_eq!(n.free_after_daemonsets.pods, 27);
        assert!(n.unusable.is_none());
    }

    #[test]
    fn explicit_and_unusable() {
        let spec = NodeTypeSpec::new(
            "tiny",
            1000,
            1024,
            10,
            ReservedModel::Explicit {
                kube_cpu_m: 100,
                kube_memory_mib: 200,
                system_cpu_m: 50,
                system_memory_mib: 100,
                eviction_memory_mib: 100,
            },
        );
        let n = model(&spec, &[], &LayerSet::default());
        assert_eq!((n.allocatable.cpu_m, n.allocatable.memory_mib), (850, 624));
        let ds = [DaemonSet {
            name: "big".into(),
            cpu_m: 900,
            memory_mib: 0,
            extended: BTreeMap::new(),
            image: None,
        }];
        assert!(model(&spec, &ds, &LayerSet::default()).unusable.is_some());
    }

    #[test]
    fn daemonsets_take_extended_resources() {
        let mut spec = NodeTypeSpec::new("g2", 24_000, 98_304, 110, ReservedModel::Gke);
        spec.extended.insert("nvidia.com/gpu".into(), 4);
        spec.extended.insert("example.com/nic".into(), 2);
        let ds = |name: &str, gpus: u64| DaemonSet {
            name: name.into(),
            cpu_m: 50,
            memory_mib: 64,
            extended: [("nvidia.com/gpu".to_string(), gpus)].into(),
            image: None,
        };
        let n = model(&spec, &[ds("a", 1), ds("b", 2)], &LayerSet::default());
        assert_eq!(n.extended_free_after_daemonsets["nvidia.com/gpu"], 1);
        assert_eq!(n.extended_free_after_daemonsets["example.com/nic"], 2);
        assert_eq!(n.extended_resources["nvidia.com/gpu"], 4, "capacity stays as given");
        assert!(n.unusable.is_none());
        // More than the type has: every node of the type would hold a Pending DaemonSet pod.
        let n = model(&spec, &[ds("a", 3), ds("b", 2)], &LayerSet::default());
        let why = n.unusable.unwrap();
        assert!(why.contains("a, b") && why.contains("5 nvidia.com/gpu"), "{why}");
        spec.extended.clear();
        assert!(model(&spec, &[ds("a", 1)], &LayerSet::default()).unusable.is_some());
    }

    #[test]
    fn image_budget() {
        // 80 GiB disk, 85%, 4 GiB reserved: floor(81920 * 0.85) - 4096 = 69632 - 4096 = 65536 MiB.
        let mut spec = NodeTypeSpec::new("m5.xlarge", 4000, 16384, 58, ReservedModel::Eks);
        spec.disk_mib = Some(80 * 1024);
        spec.disk_reserved_mib = 4096;
        let mut layers = LayerSet::default();
        layers.insert(0, 40 << 20);
        let n = model(&spec, &[], &layers);
        assert_eq!(n.image_budget_mib, Some(65536 - 40));
    }
}

//! The image-aware density planner: how many instances fit per node, how many nodes (and
//! which mix, at what cost) hold every replica, and how close that is to the proven optimum.
//!
//! Owns: the plan input model ([`PlanInput`], plain data: quantities already parsed, images as
//! layer lists), the orchestration ([`plan`]) and the report model ([`PlanReport`], versioned
//! JSON, documented in docs/plan.md), and what a run did for `--verbose` ([`PlanTrace`],
//! returned beside the report, never in it). Pure arithmetic: no I/O, no printing. Submodules:
//! [`quantity`] (Kubernetes quantities), [`node`] (allocatable, presets, image budget),
//! [`pod`] (KEP-753 effective requests), [`fit`] (one service on one node), [`pack`] (bin
//! packing, bounds, exact search), [`file`](mod@file) (the YAML plan file and Kubernetes manifests).
//! Does not: resolve image references (the CLI does, through the layers module) or render.
//!
//! The model is density.md section 6 (normative), ../shared/reference/density.md.

pub mod file;
pub mod fit;
pub mod image;
pub mod manifests;
pub mod node;
pub mod pack;
pub mod pod;
pub mod quantity;
pub mod selector;
pub(crate) mod yaml;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use serde::Serialize;

pub use fit::{Binding, Fit};
pub use image::{ImageLayers, Layer};
pub use node::{NodeModel, NodeTypeSpec, ReservedModel, Resources};
pub use pack::{ExactOutcome, Limits, MixedTrace, SingleTrace};
pub use pod::{Effective, PodShape, Request};
pub use quantity::{Mebibytes, Millicores, Quantity};
pub use selector::{NodeAffinity, Operator, Requirement};

use image::{LayerSet, LayerTable};

/// Largest `max_pods` accepted (Kubernetes itself caps far lower in practice).
pub const MAX_PODS: u64 = 100_000;
/// Largest replica count (and spare-node count) accepted per service.
pub const MAX_REPLICAS: u64 = 1_000_000;

/// Largest surge accepted: 100 times the replicas (10,000 %).
pub const MAX_SURGE: u64 = 100;

/// The JSON schema version of [`PlanReport`].
pub const SCHEMA_VERSION: u32 = 1;

/// A service to place.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceSpec {
    /// Unique name.
    pub name: String,
    /// Replicas.
    pub replicas: u64,
    /// What decides its request.
    pub shape: PodShape,
    /// Key into [`PlanInput::images`].
    pub image: Option<String>,
    /// At most this many per node (required hostname anti-affinity: 1; hostname spread: maxSkew).
    pub max_per_node: Option<u64>,
}

/// A DaemonSet: one pod on every node it selects.
///
/// A DaemonSet runs only on the nodes its pod template's `nodeSelector` and required node
/// affinity match, and on every node when it has neither (Kubernetes docs, *DaemonSet*,
/// "Running Pods on select Nodes",
/// <https://kubernetes.io/docs/concepts/workloads/controllers/daemonset/#running-pods-on-select-nodes>).
/// So its requests (extended resources such as `nvidia.com/gpu` included), its pod slot and its
/// image's layers are taken only from the node types whose labels it matches
/// ([`DaemonSetSpec::runs_on`], the matcher services use): the NVIDIA device plugin or a GPU
/// monitoring agent limited to GPU nodes takes nothing from a CPU node type. Taints and
/// tolerations are not modelled (node types carry no taints), so a DaemonSet without a
/// selector runs on every type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DaemonSetSpec {
    /// Name.
    pub name: String,
    /// What decides its request, and (`node_affinity`) where it runs.
    pub shape: PodShape,
    /// Key into [`PlanInput::images`].
    pub image: Option<String>,
}

impl DaemonSetSpec {
    /// Whether it runs on a node with `labels` (its `nodeSelector` and required node affinity).
    #[must_use]
    pub fn runs_on(&self, labels: &BTreeMap<String, String>) -> bool {
        self.shape.node_affinity.matches(labels)
    }
}

/// Headroom the plan must leave.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Headroom {
    /// Plan against this fraction of each node's free CPU and memory (`0.8`).
    pub target_utilization: Option<Quantity>,
    /// Extra share of every service's replicas during a rollout (`0.25`), rounded up.
    pub surge: Option<Quantity>,
    /// N+k: the fleet still holds every replica with any `spare_nodes` nodes gone.
    pub spare_nodes: u64,
}

/// Everything the planner needs, as plain data.
#[derive(Clone, Debug, Default)]
pub struct PlanInput {
    /// Node types.
    pub node_types: Vec<NodeTypeSpec>,
    /// DaemonSets.
    pub daemonsets: Vec<DaemonSetSpec>,
    /// Images by key.
    pub images: BTreeMap<String, ImageLayers>,
    /// Services.
    pub services: Vec<ServiceSpec>,
    /// Headroom options.
    pub headroom: Headroom,
    /// Search limits.
    pub limits: Limits,
}

/// Why a plan input is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// No node types.
    #[error("the plan has no node types")]
    NoNodeTypes,
    /// A service or DaemonSet names an image that is not in `images`.
    #[error("{owner} uses image `{image}`, which is not defined under `images`")]
    UnknownImage {
        /// Service or DaemonSet name.
        owner: String,
        /// The missing key.
        image: String,
    },
    /// Two services or node types share a name.
    #[error("{kind} `{name}` is defined twice")]
    Duplicate {
        /// `service` or `node type`.
        kind: &'static str,
        /// The name.
        name: String,
    },
    /// A surge above [`MAX_SURGE`].
    #[error("a surge of {percent}% is above the limit of {}% ({} extra pods per replica)", MAX_SURGE * 100, MAX_SURGE)]
    Surge {
        /// The surge given, in per cent.
        percent: String,
    },
    /// `target_utilization` must be in (0, 1].
    #[error("target_utilization must be above 0 and at most 1")]
    Utilization,
    /// A count beyond what the planner accepts.
    #[error("{what} of {owner} is {value}, above the limit of {max}")]
    TooLarge {
        /// Which count.
        what: &'static str,
        /// Service or node type.
        owner: String,
        /// The value given.
        value: u64,
        /// The limit.
        max: u64,
    },
}

impl Error {
    /// The limit of docs/limits.md this error is, if it is one (for `-v`).
    #[must_use]
    pub fn limit_hit(&self) -> Option<crate::limits::LimitHit> {
        match self {
            Error::Surge { percent } => Some(crate::limits::LimitHit::new(
                crate::limits::Limit::Surge,
                format!("{}%", MAX_SURGE * 100),
                format!("a surge of {percent}%: ended the run"),
            )),
            _ => None,
        }
    }
}

/// Headroom as reported.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct HeadroomReport {
    /// Fraction of free CPU and memory planned against.
    pub target_utilization: Option<f64>,
    /// Surge share.
    pub surge: Option<f64>,
    /// Spare nodes (N+k).
    pub spare_nodes: u64,
}

/// Per service: its request, and its fit on every node type.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ServiceReport {
    /// Name.
    pub name: String,
    /// Replicas asked for.
    pub replicas: u64,
    /// Replicas planned (with surge).
    pub planned_replicas: u64,
    /// Effective request (KEP-753 + RuntimeClass overhead).
    pub effective_request: Effective,
    /// max_per_node, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_per_node: Option<u64>,
    /// Image key, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Extended resources per pod (`nvidia.com/gpu`), when it asks for any.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub extended_resources: BTreeMap<String, u64>,
    /// Its `nodeSelector` and required node affinity, when it has any.
    #[serde(skip_serializing_if = "NodeAffinity::is_empty")]
    pub node_affinity: NodeAffinity,
    /// Fit on one empty node of each type.
    pub per_node: BTreeMap<String, Fit>,
    /// MiB a fresh node of each type pulls for this service (DaemonSet layers excluded).
    pub pull_mib: BTreeMap<String, f64>,
}

/// FFD node counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Ffd {
    /// cluster-autoscaler ordering.
    pub cluster_autoscaler: u64,
    /// Karpenter ordering.
    pub karpenter: u64,
}

/// One node of a placement.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NodePlacement {
    /// Node type.
    #[serde(rename = "type")]
    pub node_type: String,
    /// Pods by service.
    pub pods: BTreeMap<String, u64>,
}

/// The plan on one node type.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TypePlan {
    /// Nodes (spare nodes included).
    pub nodes: u64,
    /// Lower bound on nodes.
    pub lower_bound: u64,
    /// `(nodes - lower_bound) / lower_bound`.
    pub gap: f64,
    /// Proven minimal.
    pub optimal: bool,
    /// First-fit-decreasing baselines (spare nodes included).
    pub ffd: Ffd,
    /// `nodes * price_per_hour`, if priced.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost_per_hour: Option<f64>,
    /// Services that fit no node of this type (not in the placement), including services
    /// that fit no node type at all.
    pub not_placed: Vec<String>,
    /// The node count is above the type's `max_nodes`.
    pub max_nodes_exceeded: bool,
    /// Every service is placed within `max_nodes`: only complete plans are compared on cost.
    pub complete: bool,
    /// Which pods go on which node.
    pub placement: Vec<NodePlacement>,
}

/// The cheapest fleet over the priced node types.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CheapestPlan {
    /// USD per hour.
    pub cost_per_hour: f64,
    /// Nodes per type.
    pub node_counts: BTreeMap<String, u64>,
    /// LP lower bound on the cost.
    pub lower_bound_cost: f64,
    /// `(cost - bound) / bound`.
    pub gap: f64,
    /// Proven minimal.
    pub optimal: bool,
    /// The cheapest single-type FFD fleet within quotas (what an autoscaler with a price
    /// expander would buy), if one exists.
    pub ffd_cost_per_hour: Option<f64>,
    /// Services no priced type can hold.
    pub not_placed: Vec<String>,
    /// Which pods go on which node.
    pub placement: Vec<NodePlacement>,
}

/// A service that fits no node type.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Unschedulable {
    /// Service name.
    pub service: String,
    /// Why, per node type.
    pub reasons: BTreeMap<String, String>,
}

/// The whole answer.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PlanReport {
    /// JSON schema version (1).
    pub schema_version: u32,
    /// Headroom used.
    pub headroom: HeadroomReport,
    /// Node types.
    pub node_types: Vec<NodeModel>,
    /// Services.
    pub services: Vec<ServiceReport>,
    /// Fleet per node type.
    pub by_node_type: BTreeMap<String, TypePlan>,
    /// Cheapest mixed fleet (needs prices).
    pub cheapest: Option<CheapestPlan>,
    /// Services that fit nowhere (the run fails with exit 1).
    pub unschedulable: Vec<Unschedulable>,
}

impl PlanReport {
    /// The extended resources any node type has, sorted by name (the renderers' columns).
    #[must_use]
    pub fn extended_resource_names(&self) -> Vec<&str> {
        self.node_types
            .iter()
            .flat_map(|n| n.extended_resources.keys().map(String::as_str))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect()
    }

    /// DaemonSets that some node types' labels rule out, in name order, each with the node
    /// types it does not run on (in input order).
    #[must_use]
    pub fn daemonsets_not_everywhere(&self) -> BTreeMap<&str, Vec<&str>> {
        let mut out: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for n in &self.node_types {
            for d in &n.daemonsets_excluded {
                out.entry(d.as_str()).or_default().push(n.name.as_str());
            }
        }
        out
    }
}

/// What [`plan_traced`] did, for `--verbose`: the input's size, the bounds and search per node
/// type, and the time per phase (timings vary between runs, so none of this is in the report).
#[derive(Clone, Debug, PartialEq)]
pub struct PlanTrace {
    /// Services.
    pub services: usize,
    /// DaemonSets.
    pub daemonsets: usize,
    /// Images defined.
    pub images: usize,
    /// Distinct layers over every image (by chain ID).
    pub layers: usize,
    /// Pods to place (replicas with surge, services that fit somewhere).
    pub pods: u64,
    /// One entry per node type, in input order.
    pub node_types: Vec<TypeTrace>,
    /// The cheapest mix: the priced types it chose among, and how it was found.
    pub mixed: Option<(Vec<String>, MixedTrace)>,
    /// Time to validate the input and fit every service on every node type.
    pub fit_time: Duration,
    /// Wall time of the single-type plans (node types run on parallel threads).
    pub single_time: Duration,
    /// Time of the cheapest-mix search.
    pub mixed_time: Duration,
    /// The limits that bound reading a plan, with their values (the plan file's size and
    /// paths are the reader's, see the CLI).
    pub limits: Vec<crate::limits::LimitValue>,
}

/// The limits that bound a plan's input (what the planner and its YAML reader enforce).
#[must_use]
pub fn limits_in_effect() -> Vec<crate::limits::LimitValue> {
    use crate::limits::{Limit, LimitValue};
    vec![
        LimitValue::new(Limit::YamlAliases, yaml::MAX_EXPANDED.to_string()),
        LimitValue::new(Limit::Surge, format!("{} %", MAX_SURGE * 100)),
    ]
}

/// One node type in a [`PlanTrace`].
#[derive(Clone, Debug, PartialEq)]
pub struct TypeTrace {
    /// Node type name.
    pub name: String,
    /// How its plan was found; `None` when no service fits it.
    pub search: Option<SingleTrace>,
}

#[allow(clippy::cast_precision_loss)]
fn gap(value: f64, bound: f64) -> f64 {
    if bound <= 0.0 {
        return 0.0;
    }
    (((value - bound) / bound).max(0.0) * 1e4).round() / 1e4
}

fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

fn reason(
    fit: &Fit,
    svc: &Effective,
    extended: &BTreeMap<String, u64>,
    free: &fit::Free,
    node: &NodeModel,
    img_mib: Option<u64>,
) -> String {
    match fit.binding.first() {
        Some(Binding::Extended(name)) => {
            let need = extended.get(name).copied().unwrap_or(0);
            let have = node.extended_resources.get(name).copied().unwrap_or(0);
            let left = node.extended_free_after_daemonsets.get(name).copied().unwrap_or(0);
            match have {
                0 => format!("needs {need} {name}, the node type has none"),
                _ if left < have => {
                    format!("needs {need} {name}, the node type has {have}, {left} after the DaemonSets")
                }
                _ => format!("needs {need} {name}, the node type has {have}"),
            }
        }
        Some(Binding::NodeAffinity) => {
            "its nodeSelector / required node affinity does not match the node type's labels".to_string()
        }
        Some(Binding::Cpu) => format!("needs {}m CPU, {}m free", svc.cpu_m, free.cpu_m),
        Some(Binding::Memory) => format!("needs {} MiB memory, {} MiB free", svc.memory_mib, free.memory_mib),
        Some(Binding::Pods) => "no pod slot left after the DaemonSets".to_string(),
        Some(Binding::MaxPerNode) => "max_per_node is 0".to_string(),
        Some(Binding::Disk) => format!(
            "its image cache needs {} MiB, the budget is {} MiB",
            img_mib.unwrap_or(0),
            free.image_budget_bytes.unwrap_or(0) >> 20
        ),
        None => "does not fit".to_string(),
    }
}

/// Sets `problem.base_layers` to the DaemonSet layers every node type with a disk holds, and
/// lowers each type's image budget by the size of its other DaemonSet layers. Returns whether
/// the types' DaemonSet layers differ (then single-type plans set their own).
fn share_daemonset_layers(problem: &mut pack::Problem, by_type: &[LayerSet]) -> bool {
    let with_disk: Vec<usize> = (0..problem.types.len())
        .filter(|&t| problem.types[t].disk.is_some())
        .collect();
    let Some(&first) = with_disk.first() else {
        return false;
    };
    let shared: Vec<usize> = by_type[first]
        .ids()
        .filter(|&l| with_disk.iter().all(|&t| by_type[t].contains(l)))
        .collect();
    let mut differ = false;
    for &t in &with_disk {
        let own: u64 = by_type[t]
            .ids()
            .filter(|l| !shared.contains(l))
            .map(|l| problem.layer_size[l])
            .fold(0, u64::saturating_add);
        if own > 0 {
            differ = true;
        }
        let disk = &mut problem.types[t].disk;
        *disk = disk.map(|b| b.saturating_sub(own));
    }
    problem.base_layers = shared;
    differ
}

/// Runs the planner.
pub fn plan(input: &PlanInput) -> Result<PlanReport, Error> {
    plan_traced(input).map(|(r, _)| r)
}

/// [`plan`], and what it did ([`PlanTrace`], for `--verbose`).
#[allow(clippy::too_many_lines)]
pub fn plan_traced(input: &PlanInput) -> Result<(PlanReport, PlanTrace), Error> {
    let start = Instant::now();
    if input.node_types.is_empty() {
        return Err(Error::NoNodeTypes);
    }
    let mut names = BTreeSet::new();
    for s in &input.services {
        if !names.insert(s.name.as_str()) {
            return Err(Error::Duplicate {
                kind: "service",
                name: s.name.clone(),
            });
        }
    }
    let mut tnames = BTreeSet::new();
    for t in &input.node_types {
        if !tnames.insert(t.name.as_str()) {
            return Err(Error::Duplicate {
                kind: "node type",
                name: t.name.clone(),
            });
        }
    }
    for t in &input.node_types {
        if t.max_pods > MAX_PODS {
            return Err(Error::TooLarge {
                what: "max_pods",
                owner: t.name.clone(),
                value: t.max_pods,
                max: MAX_PODS,
            });
        }
    }
    if let Some(q) = input.headroom.surge
        && !q.at_most(MAX_SURGE)
    {
        return Err(Error::Surge {
            percent: format!("{}", q.as_f64() * 100.0),
        });
    }
    for s in &input.services {
        let planned = s
            .replicas
            .saturating_add(input.headroom.surge.map_or(0, |q| q.fraction_of_ceil(s.replicas)));
        if s.replicas > MAX_REPLICAS || planned > MAX_REPLICAS {
            return Err(Error::TooLarge {
                what: if s.replicas > MAX_REPLICAS {
                    "replicas"
                } else {
                    "replicas with surge"
                },
                owner: s.name.clone(),
                value: planned.max(s.replicas),
                max: MAX_REPLICAS,
            });
        }
    }
    if input.headroom.spare_nodes > MAX_REPLICAS {
        return Err(Error::TooLarge {
            what: "spare_nodes",
            owner: "the plan".into(),
            value: input.headroom.spare_nodes,
            max: MAX_REPLICAS,
        });
    }
    let util = input.headroom.target_utilization;
    if util.is_some_and(|u| u.is_zero() || !u.at_most_one()) {
        return Err(Error::Utilization);
    }
    // Layers.
    let mut table = LayerTable::new();
    let mut image_ids: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (k, img) in &input.images {
        image_ids.insert(k.as_str(), table.intern(img));
    }
    let lookup = |owner: &str, image: &Option<String>| -> Result<Vec<usize>, Error> {
        match image {
            None => Ok(Vec::new()),
            Some(k) => image_ids.get(k.as_str()).cloned().ok_or_else(|| Error::UnknownImage {
                owner: owner.to_string(),
                image: k.clone(),
            }),
        }
    };
    // DaemonSets, each on the node types it selects (see `DaemonSetSpec`).
    let mut ds_image_layers = Vec::with_capacity(input.daemonsets.len());
    for d in &input.daemonsets {
        ds_image_layers.push(lookup(&d.name, &d.image)?);
    }
    let mut ds_layers_by_type: Vec<LayerSet> = Vec::with_capacity(input.node_types.len());
    let mut models: Vec<NodeModel> = Vec::with_capacity(input.node_types.len());
    for t in &input.node_types {
        let mut here = Vec::new();
        let mut excluded = Vec::new();
        let mut layers = LayerSet::default();
        for (d, ls) in input.daemonsets.iter().zip(&ds_image_layers) {
            if !d.runs_on(&t.labels) {
                excluded.push(d.name.clone());
                continue;
            }
            for &l in ls {
                layers.insert(l, table.size(l));
            }
            let e = d.shape.effective();
            here.push(node::DaemonSet {
                name: d.name.clone(),
                cpu_m: e.cpu_m,
                memory_mib: e.memory_mib,
                extended: d.shape.extended.clone(),
                image: None,
            });
        }
        let mut m = node::model(t, &here, &layers);
        m.daemonsets_excluded = excluded;
        models.push(m);
        ds_layers_by_type.push(layers);
    }
    let frees: Vec<fit::Free> = models
        .iter()
        .map(|m| {
            let f = m.free_after_daemonsets;
            let (cpu_m, memory_mib) = match util {
                Some(u) => (u.fraction_of_floor(f.cpu_m), u.fraction_of_floor(f.memory_mib)),
                None => (f.cpu_m, f.memory_mib),
            };
            let pods = if m.unusable.is_some() { 0 } else { f.pods };
            fit::Free {
                cpu_m,
                memory_mib,
                pods,
                image_budget_bytes: m.image_budget_bytes,
            }
        })
        .collect();
    // Extended resources: every name a service asks for, in name order.
    let ext_names: Vec<&String> = input
        .services
        .iter()
        .flat_map(|s| s.shape.extended.keys())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    // Services.
    let mut services = Vec::new();
    let mut unschedulable = Vec::new();
    let mut items = Vec::new();
    for s in &input.services {
        let layers = lookup(&s.name, &s.image)?;
        let eff = s.shape.effective();
        let planned = s
            .replicas
            .saturating_add(input.headroom.surge.map_or(0, |q| q.fraction_of_ceil(s.replicas)));
        let mut per_node = BTreeMap::new();
        let mut pull = BTreeMap::new();
        let mut reasons = BTreeMap::new();
        let allowed: Vec<bool> = input
            .node_types
            .iter()
            .map(|t| s.shape.node_affinity.matches(&t.labels))
            .collect();
        for (((m, f), ok), ds_layers) in models.iter().zip(&frees).zip(&allowed).zip(&ds_layers_by_type) {
            let needs = fit::Needs {
                cpu_m: eff.cpu_m,
                memory_mib: eff.memory_mib,
                max_per_node: s.max_per_node,
                extended: &s.shape.extended,
                allowed: *ok,
            };
            let ft = fit::fit_needs(
                *f,
                &needs,
                &m.extended_free_after_daemonsets,
                &layers,
                &table,
                ds_layers,
            );
            if ft.instances == 0 {
                let why = m
                    .unusable
                    .clone()
                    .unwrap_or_else(|| reason(&ft, &eff, &s.shape.extended, f, m, ft.image_cache_mib));
                reasons.insert(m.name.clone(), why);
            }
            pull.insert(m.name.clone(), fit::pull_mib(&layers, &table, ds_layers));
            per_node.insert(m.name.clone(), ft);
        }
        let fits_somewhere = reasons.len() < models.len();
        if !fits_somewhere && planned > 0 {
            unschedulable.push(Unschedulable {
                service: s.name.clone(),
                reasons,
            });
        }
        items.push(pack::Item {
            cpu: eff.cpu_m,
            mem: eff.memory_mib,
            max_per_node: s.max_per_node.unwrap_or(u64::MAX),
            layers,
            count: if fits_somewhere { planned } else { 0 },
            ext: ext_names
                .iter()
                .map(|n| s.shape.extended.get(*n).copied().unwrap_or(0))
                .collect(),
            allowed: if s.shape.node_affinity.is_empty() {
                Vec::new()
            } else {
                allowed
            },
        });
        services.push(ServiceReport {
            name: s.name.clone(),
            replicas: s.replicas,
            planned_replicas: planned,
            effective_request: eff,
            max_per_node: s.max_per_node,
            image: s.image.clone(),
            extended_resources: s.shape.extended.clone(),
            node_affinity: s.shape.node_affinity.clone(),
            per_node,
            pull_mib: pull,
        });
    }
    let types: Vec<pack::BinType> = models
        .iter()
        .zip(&frees)
        .map(|(m, f)| pack::BinType {
            cpu: f.cpu_m,
            mem: f.memory_mib,
            pods: f.pods,
            disk: f.image_budget_bytes,
            price: m.price_per_hour.unwrap_or(1.0),
            max_nodes: m.max_nodes,
            ext: ext_names
                .iter()
                .map(|n| m.extended_free_after_daemonsets.get(*n).copied().unwrap_or(0))
                .collect(),
        })
        .collect();
    let mut problem = pack::Problem {
        items,
        types,
        layer_size: (0..table.len()).map(|l| table.size(l)).collect(),
        base_layers: Vec::new(),
    };
    // The packing model has one set of layers already on every node. A single-type plan gets
    // exactly its type's DaemonSet layers (below); the cheapest mix, over every type, gets the
    // layers all types with a disk share, and each type's budget is lowered by the size of its
    // other DaemonSet layers. That is exact unless a service's image shares a layer with a
    // DaemonSet image that runs on some of the types only, and then it is cautious: the shared
    // layer is counted twice, never a cache that does not fit.
    let per_type_ds_layers = share_daemonset_layers(&mut problem, &ds_layers_by_type);
    let spare = input.headroom.spare_nodes;
    let placement = |pk: &pack::Packing| -> Vec<NodePlacement> {
        pk.nodes
            .iter()
            .map(|n| NodePlacement {
                node_type: models[n.ty].name.clone(),
                pods: n
                    .pods
                    .iter()
                    .map(|&(i, c)| (input.services[i].name.clone(), c))
                    .collect(),
            })
            .collect()
    };
    // One node type at a time.
    let mut by_node_type = BTreeMap::new();
    let mut singles: Vec<Option<pack::Packing>> = Vec::new();
    let mut ffd_cost: Option<f64> = None;
    // Each node type is an independent problem: plan them on parallel threads.
    let subs: Vec<(pack::Problem, Vec<String>)> = models
        .iter()
        .enumerate()
        .map(|(t, m)| {
            let mut sub = problem.clone();
            if per_type_ds_layers {
                sub.base_layers = ds_layers_by_type[t].ids().collect();
                sub.types[t].disk = frees[t].image_budget_bytes;
            }
            let mut not_placed = Vec::new();
            for (i, it) in sub.items.iter_mut().enumerate() {
                // Services that fit nowhere (count already 0) are not placed here either.
                if services[i].planned_replicas > 0 && services[i].per_node[&m.name].instances == 0 {
                    not_placed.push(services[i].name.clone());
                    it.count = 0;
                }
            }
            // Every type stays in the problem (services' node affinity is by type index); only
            // type `t` is planned.
            (sub, not_placed)
        })
        .collect();
    let fit_time = start.elapsed();
    let single_start = Instant::now();
    let threads = std::thread::available_parallelism()
        .map_or(1, std::num::NonZero::get)
        .min(subs.len())
        .max(1);
    let mut results: Vec<Option<(pack::SinglePlan, SingleTrace)>> = vec![None; subs.len()];
    std::thread::scope(|scope| {
        let chunks: Vec<_> = results.chunks_mut(subs.len().div_ceil(threads)).collect();
        let mut start = 0;
        for chunk in chunks {
            let first = start;
            start += chunk.len();
            let subs = &subs;
            let limits = input.limits;
            scope.spawn(move || {
                for (k, slot) in chunk.iter_mut().enumerate() {
                    *slot = pack::plan_single_traced(&subs[first + k].0, first + k, limits);
                }
            });
        }
    });
    let single_time = single_start.elapsed();
    let mut type_traces = Vec::with_capacity(models.len());
    for (t, m) in models.iter().enumerate() {
        let not_placed = subs[t].1.clone();
        let Some((sp, search)) = results[t].take() else {
            singles.push(None);
            type_traces.push(TypeTrace {
                name: m.name.clone(),
                search: None,
            });
            continue;
        };
        type_traces.push(TypeTrace {
            name: m.name.clone(),
            search: Some(search),
        });
        let mut pk = sp.packing.clone();
        for n in &mut pk.nodes {
            n.ty = t;
        }
        let nodes = pk.nodes.len() as u64 + spare;
        let mut place = placement(&pk);
        for _ in 0..spare {
            place.push(NodePlacement {
                node_type: m.name.clone(),
                pods: BTreeMap::new(),
            });
        }
        let ffd = Ffd {
            cluster_autoscaler: sp.ffd_ca.nodes.len() as u64 + spare,
            karpenter: sp.ffd_karpenter.nodes.len() as u64 + spare,
        };
        let lb = sp.lower_bound + spare;
        #[allow(clippy::cast_precision_loss)]
        let cost = m.price_per_hour.map(|p| round6(p * nodes as f64));
        if not_placed.is_empty()
            && m.price_per_hour.is_some()
            && m.max_nodes
                .is_none_or(|q| ffd.cluster_autoscaler.min(ffd.karpenter) <= q)
        {
            #[allow(clippy::cast_precision_loss)]
            let c = round6(m.price_per_hour.unwrap_or(0.0) * ffd.cluster_autoscaler.min(ffd.karpenter) as f64);
            ffd_cost = Some(ffd_cost.map_or(c, |x: f64| x.min(c)));
        }
        let max_nodes_exceeded = m.max_nodes.is_some_and(|q| nodes > q);
        #[allow(clippy::cast_precision_loss)]
        by_node_type.insert(
            m.name.clone(),
            TypePlan {
                complete: not_placed.is_empty() && !max_nodes_exceeded,
                max_nodes_exceeded,
                nodes,
                lower_bound: lb,
                gap: gap(nodes as f64, lb as f64),
                optimal: sp.optimal,
                ffd,
                cost_per_hour: cost,
                not_placed: not_placed.clone(),
                placement: place,
            },
        );
        singles.push(not_placed.is_empty().then_some(pk));
    }
    // Cheapest mix over the priced types.
    let mixed_start = Instant::now();
    let mut mixed_trace = None;
    let priced: Vec<usize> = (0..models.len())
        .filter(|&t| models[t].price_per_hour.is_some() && models[t].unusable.is_none())
        .collect();
    let cheapest = if priced.is_empty() {
        None
    } else {
        let mut sub = problem.clone();
        let mut not_placed = Vec::new();
        for (i, it) in sub.items.iter_mut().enumerate() {
            if services[i].planned_replicas > 0 && !priced.iter().any(|&t| pack::fits_empty(&problem, t, i)) {
                not_placed.push(services[i].name.clone());
                it.count = 0;
            }
        }
        // A single-type plan is made with its type's own DaemonSet layers: it starts the mix
        // only when the mix's (cautious) image cache model holds it too.
        let single_refs: Vec<Option<&pack::Packing>> = priced
            .iter()
            .map(|&t| {
                if not_placed.is_empty() {
                    singles
                        .get(t)
                        .and_then(Option::as_ref)
                        .filter(|pk| !per_type_ds_layers || pack::check(&sub, pk).is_ok())
                } else {
                    None
                }
            })
            .collect();
        pack::plan_mixed_traced(&sub, &priced, &single_refs, input.limits).map(|(mp, mt)| {
            mixed_trace = Some((priced.iter().map(|&t| models[t].name.clone()).collect(), mt));
            let mut counts: BTreeMap<String, u64> = BTreeMap::new();
            for n in &mp.packing.nodes {
                *counts.entry(models[n.ty].name.clone()).or_default() += 1;
            }
            let mut place = placement(&mp.packing);
            let mut cost = mp.packing.cost(&problem);
            let mut lb = mp.lower_bound_cost;
            if spare > 0 {
                // A spare must be able to take over any node: the cheapest priced type that
                // holds every node's pods, else one spare of the most expensive type in use.
                let holds_all = |t: usize| {
                    mp.packing.nodes.iter().all(|n| {
                        let one = pack::Packing {
                            nodes: vec![pack::NodeFill {
                                ty: t,
                                pods: n.pods.clone(),
                            }],
                        };
                        let mut pr = problem.clone();
                        for it in &mut pr.items {
                            it.count = 0;
                        }
                        for &(i, c) in &n.pods {
                            pr.items[i].count = c;
                        }
                        pr.types[t].max_nodes = None;
                        pack::check(&pr, &one).is_ok()
                    })
                };
                let mut cands: Vec<usize> = priced.clone();
                cands.sort_by(|&a, &b| problem.types[a].price.total_cmp(&problem.types[b].price));
                let spare_ty = cands.iter().copied().find(|&t| holds_all(t)).or_else(|| {
                    mp.packing
                        .nodes
                        .iter()
                        .map(|n| n.ty)
                        .max_by(|&a, &b| problem.types[a].price.total_cmp(&problem.types[b].price))
                });
                if let Some(t) = spare_ty {
                    for _ in 0..spare {
                        place.push(NodePlacement {
                            node_type: models[t].name.clone(),
                            pods: BTreeMap::new(),
                        });
                        *counts.entry(models[t].name.clone()).or_default() += 1;
                        cost += problem.types[t].price;
                    }
                }
                #[allow(clippy::cast_precision_loss)]
                let cheapest_price = priced
                    .iter()
                    .map(|&t| problem.types[t].price)
                    .fold(f64::INFINITY, f64::min);
                #[allow(clippy::cast_precision_loss)]
                {
                    lb += cheapest_price * spare as f64;
                }
            }
            let optimal = mp.optimal && spare == 0;
            CheapestPlan {
                cost_per_hour: round6(cost),
                node_counts: counts,
                lower_bound_cost: round6(lb.min(cost)),
                gap: gap(cost, lb),
                optimal: optimal || (cost - lb).abs() < 1e-9,
                ffd_cost_per_hour: ffd_cost,
                not_placed,
                placement: place,
            }
        })
    };
    let mixed_time = mixed_start.elapsed();
    let trace = PlanTrace {
        services: input.services.len(),
        daemonsets: input.daemonsets.len(),
        images: input.images.len(),
        layers: table.len(),
        pods: problem.items.iter().map(|i| i.count).sum(),
        node_types: type_traces,
        mixed: mixed_trace,
        fit_time,
        single_time,
        mixed_time,
        limits: limits_in_effect(),
    };
    let report = PlanReport {
        schema_version: SCHEMA_VERSION,
        headroom: HeadroomReport {
            target_utilization: util.map(Quantity::as_f64),
            surge: input.headroom.surge.map(Quantity::as_f64),
            spare_nodes: spare,
        },
        node_types: models,
        services,
        by_node_type,
        cheapest,
        unschedulable,
    };
    Ok((report, trace))
}

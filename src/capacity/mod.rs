//! The capacity-planning report (`imgopt report`): one model that the HTML page, the Markdown
//! twin and `--format json` are all rendered from.
//!
//! Owns: [`CapacityReport`], built from the planner's [`PlanReport`] (embedded unchanged, so
//! every node count, cost and per-node instance figure is the one `imgopt plan --format json`
//! prints), the images the plan used (layers, the layers services share), the findings of
//! `imgopt analyze` for the Dockerfiles given, and what is missing because an image could not be
//! read. Pure data: no I/O, no printing. Does not: plan (see [`crate::plan`]) or render (see
//! [`crate::report`]).

pub mod budgets;
pub mod whatif;

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::analyze::AnalyzeReport;
use crate::plan::{ImageLayers, NodePlacement, PlanInput, PlanReport, TypePlan};

/// The JSON schema version of [`CapacityReport`].
pub const SCHEMA_VERSION: u32 = 1;

/// The sections of the report, by the name the page shows.
pub mod section {
    /// Node types.
    pub const NODE_TYPES: &str = "Node types";
    /// Services.
    pub const SERVICES: &str = "Services";
    /// Nodes and cost.
    pub const NODES_AND_COST: &str = "Nodes and cost";
    /// Images.
    pub const IMAGES: &str = "Images";
    /// Dockerfile findings.
    pub const FINDINGS: &str = "Dockerfile findings";
    /// The what-if of the proposed rewrites and fixes.
    pub const WHAT_IF: &str = "What if";
    /// The budget policy.
    pub const BUDGETS: &str = "Budgets";
}

/// One layer of an image, as the report lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LayerRow {
    /// Layer identity (chain ID or digest).
    pub digest: String,
    /// Bytes unpacked on the node's disk.
    pub size: u64,
    /// Bytes pulled from the registry.
    pub compressed_size: u64,
    /// Other images that contain the same layer (stored and pulled once per node).
    pub shared_with: Vec<String>,
}

/// One image of the plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ImageRow {
    /// Key under `images` in the plan file.
    pub name: String,
    /// Services and DaemonSets that use it, sorted.
    pub used_by: Vec<String>,
    /// Sum of the layers' unpacked sizes.
    pub size: u64,
    /// Sum of the layers' pulled sizes.
    pub compressed_size: u64,
    /// The layers, in order.
    pub layers: Vec<LayerRow>,
}

/// An image that could not be read, and what the report lacks because of it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MissingImage {
    /// Key under `images` (or the `NAME` of `--image NAME=REF`).
    pub name: String,
    /// The reference that failed.
    pub reference: String,
    /// Why it could not be read.
    pub error: String,
    /// Services planned without this image (no disk check, no pull figure).
    pub services: Vec<String>,
    /// Sections incomplete because of it.
    pub sections: Vec<&'static str>,
}

/// The whole report.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CapacityReport {
    /// JSON schema version (1).
    pub schema_version: u32,
    /// What the report is about (the plan file as given).
    pub title: String,
    /// The planner's answer, unchanged.
    pub plan: PlanReport,
    /// The plan's images, by name.
    pub images: Vec<ImageRow>,
    /// Layers used by more than one image: digest to the images that share it.
    pub shared_layers: BTreeMap<String, Vec<String>>,
    /// `imgopt analyze` of the `--dockerfile` files, when any were given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dockerfiles: Option<AnalyzeReport>,
    /// Images that could not be read (the run exits 1).
    pub missing: Vec<MissingImage>,
    /// The plan in a few sentences: which resource binds for which services, and what image
    /// size changes.
    pub key_points: Vec<String>,
    /// The plan again after the proposed rewrites and fixes of the Dockerfiles linked to plan
    /// images (`--dockerfile IMAGE=FILE`), when any predicts a saving.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub what_if: Option<whatif::WhatIf>,
    /// Dockerfiles linked to an image for which nothing predicts a saving (no what-if for them).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub no_saving: Vec<String>,
    /// `--policy`: the budgets of `imgopt check`, per image and Dockerfile.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub budgets: Option<crate::check::CheckReport>,
}

impl CapacityReport {
    /// Builds the report from the plan input, the planner's report for it, and the optional
    /// Dockerfile analysis. `missing` lists images that could not be read; the input must
    /// already have been planned without them.
    #[must_use]
    pub fn new(
        title: &str,
        input: &PlanInput,
        plan: PlanReport,
        dockerfiles: Option<AnalyzeReport>,
        missing: Vec<MissingImage>,
    ) -> Self {
        Self::with_unions(title, input, plan, dockerfiles, missing, &[])
    }

    /// [`CapacityReport::new`] for an input with union images (pods with several images, from
    /// `--manifests`: union name to the images it joins, see
    /// [`crate::plan::manifests::attach_images`]): the images section lists the real images,
    /// each used by the services whose pods run it.
    #[must_use]
    pub fn with_unions(
        title: &str,
        input: &PlanInput,
        plan: PlanReport,
        dockerfiles: Option<AnalyzeReport>,
        mut missing: Vec<MissingImage>,
        unions: &[(String, Vec<String>)],
    ) -> Self {
        let parts_of: BTreeMap<&str, &[String]> = unions.iter().map(|(n, p)| (n.as_str(), p.as_slice())).collect();
        let mut used_by: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        let owned = input
            .services
            .iter()
            .map(|s| (&s.image, &s.name))
            .chain(input.daemonsets.iter().map(|d| (&d.image, &d.name)));
        for (image, owner) in owned {
            let Some(i) = image else { continue };
            match parts_of.get(i.as_str()) {
                Some(parts) => {
                    for p in *parts {
                        used_by.entry(p).or_default().insert(owner);
                    }
                }
                None => {
                    used_by.entry(i).or_default().insert(owner);
                }
            }
        }
        let real = || input.images.iter().filter(|(n, _)| !parts_of.contains_key(n.as_str()));
        let mut owners: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for (name, img) in real() {
            for l in &img.layers {
                owners.entry(&l.digest).or_default().insert(name);
            }
        }
        let images = real()
            .map(|(name, img)| image_row(name, img, &owners, used_by.get(name.as_str())))
            .collect();
        let shared_layers = owners
            .into_iter()
            .filter(|(_, o)| o.len() > 1)
            .map(|(d, o)| (d.to_string(), o.into_iter().map(str::to_string).collect()))
            .collect();
        missing.sort_by(|a, b| a.name.cmp(&b.name));
        let key_points = key_points(&plan);
        Self {
            schema_version: SCHEMA_VERSION,
            title: title.to_string(),
            plan,
            images,
            shared_layers,
            dockerfiles,
            missing,
            key_points,
            what_if: None,
            no_saving: Vec::new(),
            budgets: None,
        }
    }

    /// Whether the report lacks anything (an image that could not be read).
    #[must_use]
    pub fn is_complete(&self) -> bool {
        self.missing.is_empty()
    }
}

/// Which resource binds, grouped (on the types of the cheapest mix, else every type), and
/// whether image size changes the count or only the disk and the pull.
fn key_points(plan: &PlanReport) -> Vec<String> {
    let types: Vec<&str> = match &plan.cheapest {
        Some(c) if !c.node_counts.is_empty() => c.node_counts.keys().map(String::as_str).collect(),
        _ => plan.node_types.iter().map(|n| n.name.as_str()).collect(),
    };
    let mut points = Vec::new();
    for t in types {
        let mut groups: BTreeMap<(u64, String), Vec<&str>> = BTreeMap::new();
        for s in &plan.services {
            if let Some(f) = s.per_node.get(t) {
                let bind: Vec<&str> = f.binding.iter().map(super::plan::fit::Binding::word).collect();
                groups.entry((f.instances, bind.join(" + "))).or_default().push(&s.name);
            }
        }
        for ((n, bind), names) in groups.into_iter().rev() {
            let who = if names.len() > 4 {
                format!("{} and {} more services", names[..3].join(", "), names.len() - 3)
            } else {
                names.join(", ")
            };
            let why = if bind.is_empty() {
                String::new()
            } else {
                format!(" ({bind} binds)")
            };
            points.push(format!("On {t}: {who}: {n} per node{why}."));
        }
    }
    let with_image: Vec<&crate::plan::ServiceReport> = plan.services.iter().filter(|s| s.image.is_some()).collect();
    let disk_binds = with_image.iter().any(|s| {
        s.per_node
            .values()
            .any(|f| f.binding.contains(&crate::plan::Binding::Disk))
    });
    if let Some(first) = plan.node_types.first()
        && with_image.len() > 1
    {
        let pulls: Vec<(f64, &str)> = with_image
            .iter()
            .filter_map(|s| s.pull_mib.get(&first.name).map(|m| (*m, s.name.as_str())))
            .collect();
        let lo = pulls.iter().copied().min_by(|a, b| a.0.total_cmp(&b.0));
        let hi = pulls.iter().copied().max_by(|a, b| a.0.total_cmp(&b.0));
        if let (Some(lo), Some(hi)) = (lo, hi)
            && hi.0 > lo.0
        {
            let what = if disk_binds {
                "Disk binds for some services, so image size changes how many fit."
            } else {
                "Disk binds for no service: image size changes the disk a node uses and what it pulls, not how many instances fit."
            };
            points.push(format!(
                "{what} A fresh {} pulls {} MiB for {} and {} MiB for {}.",
                first.name, lo.0, lo.1, hi.0, hi.1
            ));
        }
    }
    points
}

/// Identical nodes of a placement (same type, same pods), for showing a placement briefly.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlacementGroup<'a> {
    /// How many nodes look like this.
    pub count: u64,
    /// Node type.
    pub node_type: &'a str,
    /// Pods by service on each of them.
    pub pods: Vec<(&'a str, u64)>,
}

/// A node's type and pods by service.
type NodeKey<'a> = (&'a str, Vec<(&'a str, u64)>);

/// What marks node type `name`'s one-type plan as not a full answer (the reports leave it out
/// of "cheapest" comparisons): services it cannot hold, and a count over its `max_nodes`.
#[must_use]
pub fn type_marks(plan: &PlanReport, name: &str, t: &TypePlan) -> Vec<String> {
    let mut marks = Vec::new();
    if !t.not_placed.is_empty() {
        marks.push(format!("partial: cannot hold {}", t.not_placed.join(", ")));
    }
    if t.max_nodes_exceeded
        && let Some(q) = plan
            .node_types
            .iter()
            .find(|n| n.name == name)
            .and_then(|n| n.max_nodes)
    {
        marks.push(format!("over max_nodes {q}"));
    }
    marks
}

/// A placement as groups of identical nodes, most frequent first (then by type and pods).
#[must_use]
pub fn group_placement(nodes: &[NodePlacement]) -> Vec<PlacementGroup<'_>> {
    let mut groups: Vec<PlacementGroup<'_>> = Vec::new();
    let mut index: BTreeMap<NodeKey<'_>, usize> = BTreeMap::new();
    for n in nodes {
        let pods: Vec<(&str, u64)> = n.pods.iter().map(|(s, c)| (s.as_str(), *c)).collect();
        let key = (n.node_type.as_str(), pods);
        match index.get(&key) {
            Some(&i) => groups[i].count += 1,
            None => {
                index.insert(key.clone(), groups.len());
                groups.push(PlacementGroup {
                    count: 1,
                    node_type: key.0,
                    pods: key.1,
                });
            }
        }
    }
    groups.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then_with(|| a.node_type.cmp(b.node_type))
            .then_with(|| a.pods.cmp(&b.pods))
    });
    groups
}

fn image_row(
    name: &str,
    img: &ImageLayers,
    owners: &BTreeMap<&str, BTreeSet<&str>>,
    used_by: Option<&BTreeSet<&str>>,
) -> ImageRow {
    let layers: Vec<LayerRow> = img
        .layers
        .iter()
        .map(|l| LayerRow {
            digest: l.digest.clone(),
            size: l.size,
            compressed_size: l.compressed_size,
            shared_with: owners
                .get(l.digest.as_str())
                .into_iter()
                .flatten()
                .filter(|o| **o != name)
                .map(|o| (*o).to_string())
                .collect(),
        })
        .collect();
    ImageRow {
        name: name.to_string(),
        used_by: used_by.into_iter().flatten().map(|s| (*s).to_string()).collect(),
        size: layers.iter().map(|l| l.size).sum(),
        compressed_size: layers.iter().map(|l| l.compressed_size).sum(),
        layers,
    }
}

/// Prepares a plan input whose image `name` could not be read: services and DaemonSets that use
/// it are planned without an image (no disk check, no pull), and the returned record names them
/// and the sections that are incomplete.
pub fn drop_image(input: &mut PlanInput, name: &str, reference: &str, error: &str) -> MissingImage {
    input.images.remove(name);
    let mut services = Vec::new();
    for s in &mut input.services {
        if s.image.as_deref() == Some(name) {
            s.image = None;
            services.push(s.name.clone());
        }
    }
    for d in &mut input.daemonsets {
        if d.image.as_deref() == Some(name) {
            d.image = None;
            services.push(d.name.clone());
        }
    }
    services.sort();
    let disk = input.node_types.iter().any(|t| t.disk_mib.is_some());
    let mut sections = vec![section::IMAGES];
    if disk {
        sections.extend([section::SERVICES, section::NODES_AND_COST]);
    }
    MissingImage {
        name: name.to_string(),
        reference: reference.to_string(),
        error: error.to_string(),
        services,
        sections,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{Layer, PodShape, Request, ServiceSpec};

    fn layer(d: &str, size: u64) -> Layer {
        Layer {
            digest: d.into(),
            size,
            compressed_size: size / 2,
        }
    }

    fn input() -> PlanInput {
        let mut input = PlanInput::default();
        input.node_types.push(crate::plan::NodeTypeSpec::new(
            "n",
            4000,
            16384,
            110,
            crate::plan::ReservedModel::preset("gke").expect("preset"),
        ));
        input.images.insert(
            "a".into(),
            ImageLayers {
                layers: vec![layer("base", 100), layer("app-a", 10)],
            },
        );
        input.images.insert(
            "b".into(),
            ImageLayers {
                layers: vec![layer("base", 100), layer("app-b", 20)],
            },
        );
        for (n, i) in [("svc-a", "a"), ("svc-b", "b")] {
            input.services.push(ServiceSpec {
                name: n.into(),
                replicas: 3,
                shape: PodShape {
                    containers: vec![Request {
                        cpu_m: 500,
                        memory_bytes: 1 << 30,
                    }],
                    ..PodShape::default()
                },
                image: Some(i.into()),
                max_per_node: None,
            });
        }
        input
    }

    #[test]
    fn shared_layers_and_totals() {
        let input = input();
        let plan = crate::plan::plan(&input).expect("plans");
        let r = CapacityReport::new("t", &input, plan.clone(), None, Vec::new());
        assert_eq!(r.plan, plan);
        assert_eq!(r.shared_layers.len(), 1);
        assert_eq!(r.shared_layers["base"], vec!["a".to_string(), "b".to_string()]);
        assert_eq!(r.images[1].size, 120);
        assert_eq!(r.images[1].compressed_size, 60);
        assert_eq!(r.images[0].layers[0].shared_with, vec!["b".to_string()]);
        assert_eq!(r.images[0].used_by, vec!["svc-a".to_string()]);
        assert!(r.is_complete());
    }

    #[test]
    fn a_dropped_image_names_its_services() {
        let mut input = input();
        let m = drop_image(&mut input, "a", "registry.invalid/a:1", "unreachable");
        assert_eq!(m.services, vec!["svc-a".to_string()]);
        assert!(input.services[0].image.is_none());
        assert_eq!(m.sections, vec![section::IMAGES]);
        assert!(crate::plan::plan(&input).is_ok());
    }
}

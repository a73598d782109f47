//! The report's what-if: the plan run again with the images the Dockerfiles would produce
//! after `imgopt rewrite`'s rewrite or `imgopt analyze`'s fixes, compared with the plan as it
//! is, so the report can say what a smaller image really buys: which resource binds before and
//! after, instances per node, the disk a node's image cache takes, the MiB a fresh node pulls,
//! and nodes and cost.
//!
//! Owns: [`Proposal`] (a predicted saving for one image, from a rewrite or from findings),
//! [`shrink`] (how a saving is taken from an image's layers), [`WhatIf`] and [`what_if`].
//! Pure: the caller runs the rewrite and the analysis (library calls) and hands their reports
//! in. Does not: plan (it calls [`crate::plan::plan`]) or render.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::analyze::FindingReport;
use crate::estimate::Total;
use crate::plan::{Binding, ImageLayers, Layer, PlanInput, PlanReport};
use crate::rewrite::RewriteReport;

/// Where a predicted saving comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// `imgopt rewrite`: a multi-stage build or a base swap.
    Rewrite,
    /// The summed estimates of `imgopt analyze`'s findings (may overlap: an upper bound).
    Findings,
}

/// A predicted saving for one image of the plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Proposal {
    /// The image's key in the plan.
    pub image: String,
    /// The Dockerfile it is built from, as given.
    pub dockerfile: String,
    /// Rewrite or findings.
    pub source: Source,
    /// What changes, in a few words (`runtime base python:3.12-slim`, `3 findings: DF201, ...`).
    pub what: String,
    /// Least predicted saving on disk (uncompressed bytes).
    pub saving_low: u64,
    /// Greatest predicted saving on disk (what the what-if plans with).
    pub saving_high: u64,
    /// Greatest predicted saving pulled, when the estimate gives one (a catalog base swap);
    /// otherwise pulled sizes shrink with each layer's compression ratio.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compressed_saving_high: Option<u64>,
    /// What the numbers rest on (`catalog`, `heuristic`, `exact`, `measured`).
    pub basis: Vec<&'static str>,
}

impl Proposal {
    /// The proposal for `image` built from `dockerfile`: the rewrite's estimate when it changes
    /// the file (a new build supersedes single fixes), else the sum of the findings' estimates
    /// in that file; `None` when neither predicts a saving.
    #[must_use]
    pub fn new(
        image: &str,
        dockerfile: &str,
        rewrite: Option<&RewriteReport>,
        findings: &[FindingReport],
    ) -> Option<Self> {
        if let Some(r) = rewrite
            && !r.unchanged
            && let Some(e) = &r.estimate
            && e.high_bytes.0 > 0
        {
            let what = match &r.runtime_base {
                Some(b) => format!("imgopt rewrite: {} on {b}", r.target.as_str()),
                None => format!("imgopt rewrite: {}", r.target.as_str()),
            };
            return Some(Self {
                image: image.to_string(),
                dockerfile: dockerfile.to_string(),
                source: Source::Rewrite,
                what,
                saving_low: e.low_bytes.0,
                saving_high: e.high_bytes.0,
                compressed_saving_high: e.compressed_high_bytes.map(|b| b.0),
                basis: vec![e.basis.as_str()],
            });
        }
        let mut total = Total::default();
        let mut codes = BTreeSet::new();
        for f in findings.iter().filter(|f| f.file == dockerfile) {
            if let Some(e) = &f.estimate {
                total.add(e);
                codes.insert(f.code);
            }
        }
        if total.high_bytes.0 == 0 {
            return None;
        }
        let codes: Vec<&str> = codes.into_iter().collect();
        Some(Self {
            image: image.to_string(),
            dockerfile: dockerfile.to_string(),
            source: Source::Findings,
            what: format!(
                "{} finding{} fixed: {}",
                total.count,
                if total.count == 1 { "" } else { "s" },
                codes.join(", ")
            ),
            saving_low: total.low_bytes.0,
            saving_high: total.high_bytes.0,
            compressed_saving_high: None,
            basis: total.bases.iter().map(|b| b.as_str()).collect(),
        })
    }
}

/// `image` with `saving` bytes taken from its layers, top layer first (the layers a
/// Dockerfile's own instructions make; a base swap reaches the base layers last). A layer that
/// shrinks gets a new identity (it is no longer shared with another image) and keeps its
/// compression ratio, unless `compressed_saving` says what the pull saves: then the shrunk
/// layers' pulled sizes are set (in proportion to their size) so the image pulls that much
/// less. A layer that shrinks to nothing is dropped; untouched layers stay shared. Returns the
/// image and whether the saving was larger than the image (it then becomes empty).
#[must_use]
pub fn shrink(image: &ImageLayers, saving: u64, compressed_saving: Option<u64>) -> (ImageLayers, bool) {
    let mut left = saving;
    let mut layers: Vec<Layer> = Vec::with_capacity(image.layers.len());
    for l in image.layers.iter().rev() {
        if left == 0 {
            layers.push(l.clone());
            continue;
        }
        let cut = left.min(l.size);
        left -= cut;
        let size = l.size - cut;
        if size == 0 {
            continue;
        }
        let compressed = u64::try_from(u128::from(l.compressed_size) * u128::from(size) / u128::from(l.size.max(1)))
            .unwrap_or(l.compressed_size);
        layers.push(Layer {
            digest: format!("{} (what-if)", l.digest),
            size,
            compressed_size: compressed,
        });
    }
    layers.reverse();
    if let Some(c) = compressed_saving {
        let sum = |it: &mut dyn Iterator<Item = u64>| it.fold(0u64, u64::saturating_add);
        let target = sum(&mut image.layers.iter().map(|l| l.compressed_size)).saturating_sub(c);
        let changed = |l: &Layer| !image.layers.iter().any(|o| o.digest == l.digest);
        let kept = sum(&mut layers.iter().filter(|l| !changed(l)).map(|l| l.compressed_size));
        let changed_size = sum(&mut layers.iter().filter(|l| changed(l)).map(|l| l.size));
        let want = u128::from(target.saturating_sub(kept));
        for l in layers
            .iter_mut()
            .filter(|l| !image.layers.iter().any(|o| o.digest == l.digest))
        {
            l.compressed_size =
                u64::try_from(want * u128::from(l.size) / u128::from(changed_size.max(1))).unwrap_or(l.compressed_size);
        }
    }
    (ImageLayers { layers }, left > 0)
}

/// One image before and after.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ImageChange {
    /// The proposal applied.
    #[serde(flatten)]
    pub proposal: Proposal,
    /// Bytes on disk before.
    pub size_before: u64,
    /// Bytes on disk after (best case).
    pub size_after: u64,
    /// Bytes pulled before.
    pub compressed_before: u64,
    /// Bytes pulled after (best case).
    pub compressed_after: u64,
    /// The predicted saving is larger than the image as the plan has it (the estimate assumed
    /// a larger image): the what-if takes the whole image away.
    pub saving_exceeds_image: bool,
}

/// One service on one node type.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Side {
    /// Instances on one empty node.
    pub instances: u64,
    /// Binding resources.
    pub binding: Vec<Binding>,
    /// MiB of images on a node full of this service (DaemonSets' included), when the type has
    /// a disk.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_cache_mib: Option<u64>,
    /// MiB a fresh node pulls for it.
    pub pull_mib: f64,
}

/// A service whose image changes, on one node type.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ServiceChange {
    /// Service.
    pub service: String,
    /// Node type.
    pub node_type: String,
    /// Before.
    pub before: Side,
    /// After (best case).
    pub after: Side,
}

/// Nodes of one type for every replica, before and after.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TypeChange {
    /// Node type.
    pub node_type: String,
    /// Nodes before.
    pub nodes_before: u64,
    /// Nodes after.
    pub nodes_after: u64,
    /// Before, the type cannot hold every service within `max_nodes` (a partial plan).
    pub partial_before: bool,
    /// After, the same.
    pub partial_after: bool,
}

impl TypeChange {
    /// `12`, or `12 (partial)` for a type that cannot hold every service.
    #[must_use]
    pub fn shown(nodes: u64, partial: bool) -> String {
        if partial {
            format!("{nodes} (partial)")
        } else {
            nodes.to_string()
        }
    }
}

/// The cheapest mixed fleet before and after.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FleetChange {
    /// USD per hour before.
    pub cost_before: f64,
    /// USD per hour after.
    pub cost_after: f64,
    /// Nodes before.
    pub nodes_before: u64,
    /// Nodes after.
    pub nodes_after: u64,
}

/// The what-if: every proposal applied at the high end of its saving, planned again.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct WhatIf {
    /// The images changed.
    pub images: Vec<ImageChange>,
    /// Services using them, per node type.
    pub services: Vec<ServiceChange>,
    /// Nodes per type.
    pub node_types: Vec<TypeChange>,
    /// The cheapest fleet, when priced.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cheapest: Option<FleetChange>,
    /// What the smaller images buy, in sentences.
    pub verdicts: Vec<String>,
}

fn side(p: &PlanReport, service: &str, node_type: &str) -> Option<Side> {
    let s = p.services.iter().find(|s| s.name == service)?;
    let f = s.per_node.get(node_type)?;
    Some(Side {
        instances: f.instances,
        binding: f.binding.clone(),
        image_cache_mib: f.image_cache_mib,
        pull_mib: s.pull_mib.get(node_type).copied().unwrap_or(0.0),
    })
}

/// A number as the JSON report writes it (shortest text that reads back the same).
fn num(x: f64) -> String {
    serde_json::to_string(&x).unwrap_or_else(|_| x.to_string())
}

/// Rounds MiB to one decimal for sentences.
fn mib1(x: f64) -> String {
    format!("{:.1}", (x * 10.0).round() / 10.0)
}

/// Applies every proposal to `input` (planned as `before`), plans again, and compares.
/// Proposals for images the input does not have are left out; union images (`unions`, from
/// [`crate::plan::manifests::attach_images`]) are made again from their changed parts.
pub fn what_if(
    input: &PlanInput,
    before: &PlanReport,
    proposals: Vec<Proposal>,
    unions: &[(String, Vec<String>)],
) -> Result<WhatIf, crate::plan::Error> {
    let mut changed = input.clone();
    let mut images = Vec::new();
    for p in proposals {
        let Some(img) = input.images.get(&p.image) else {
            continue;
        };
        let (after, exceeds) = shrink(img, p.saving_high, p.compressed_saving_high);
        let sum = |i: &ImageLayers, f: fn(&Layer) -> u64| i.layers.iter().map(f).fold(0u64, u64::saturating_add);
        images.push(ImageChange {
            size_before: sum(img, |l| l.size),
            size_after: sum(&after, |l| l.size),
            compressed_before: sum(img, |l| l.compressed_size),
            compressed_after: sum(&after, |l| l.compressed_size),
            saving_exceeds_image: exceeds,
            proposal: p,
        });
        changed
            .images
            .insert(images[images.len() - 1].proposal.image.clone(), after);
    }
    images.sort_by(|a, b| a.proposal.image.cmp(&b.proposal.image));
    let mut touched: BTreeSet<&str> = images.iter().map(|i| i.proposal.image.as_str()).collect();
    for (name, parts) in unions {
        if parts.iter().any(|p| touched.contains(p.as_str())) {
            let joined = crate::plan::manifests::union(&changed.images, parts);
            changed.images.insert(name.clone(), joined);
            touched.insert(name);
        }
    }
    let after = crate::plan::plan(&changed)?;
    let mut services = Vec::new();
    for s in &before.services {
        if !s.image.as_deref().is_some_and(|i| touched.contains(i)) {
            continue;
        }
        for t in &before.node_types {
            if let (Some(b), Some(a)) = (side(before, &s.name, &t.name), side(&after, &s.name, &t.name)) {
                services.push(ServiceChange {
                    service: s.name.clone(),
                    node_type: t.name.clone(),
                    before: b,
                    after: a,
                });
            }
        }
    }
    let node_types: Vec<TypeChange> = before
        .node_types
        .iter()
        .filter_map(|t| {
            let (b, a) = (before.by_node_type.get(&t.name)?, after.by_node_type.get(&t.name)?);
            Some(TypeChange {
                node_type: t.name.clone(),
                nodes_before: b.nodes,
                nodes_after: a.nodes,
                partial_before: !b.complete,
                partial_after: !a.complete,
            })
        })
        .collect();
    let cheapest = match (&before.cheapest, &after.cheapest) {
        (Some(b), Some(a)) => Some(FleetChange {
            cost_before: b.cost_per_hour,
            cost_after: a.cost_per_hour,
            nodes_before: b.node_counts.values().sum(),
            nodes_after: a.node_counts.values().sum(),
        }),
        _ => None,
    };
    let verdicts = verdicts([before, &after], &images, &services, &node_types, cheapest.as_ref());
    Ok(WhatIf {
        images,
        services,
        node_types,
        cheapest,
        verdicts,
    })
}

/// The node types a reader cares about: those of the cheapest fleet before or after, else
/// every type.
fn focus_types(plans: [&PlanReport; 2]) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    for p in plans {
        if let Some(c) = &p.cheapest {
            out.extend(c.node_counts.keys().map(String::as_str));
        }
    }
    if out.is_empty() {
        out = plans[0].node_types.iter().map(|n| n.name.as_str()).collect();
    }
    out.sort_unstable();
    out.dedup();
    out
}

fn nodes(n: u64) -> String {
    if n == 1 {
        "1 node".to_string()
    } else {
        format!("{n} nodes")
    }
}

fn verdicts(
    plans: [&PlanReport; 2],
    images: &[ImageChange],
    services: &[ServiceChange],
    types: &[TypeChange],
    cheapest: Option<&FleetChange>,
) -> Vec<String> {
    let mut out = Vec::new();
    for i in images {
        #[allow(clippy::cast_precision_loss)]
        let (b, a, pb, pa) = (
            i.size_before as f64 / 1_048_576.0,
            i.size_after as f64 / 1_048_576.0,
            i.compressed_before as f64 / 1_048_576.0,
            i.compressed_after as f64 / 1_048_576.0,
        );
        out.push(format!(
            "{}: {} MiB on disk and {} MiB pulled now, {} MiB and {} MiB after {} (best case).",
            i.proposal.image,
            mib1(b),
            mib1(pb),
            mib1(a),
            mib1(pa),
            i.proposal.what
        ));
    }
    let focus = focus_types(plans);
    // Per service, the node types of the cheapest fleets, and every type where the count moves.
    let mut by_service: BTreeMap<&str, Vec<&ServiceChange>> = BTreeMap::new();
    for c in services
        .iter()
        .filter(|c| focus.contains(&c.node_type.as_str()) || c.before.instances != c.after.instances)
    {
        by_service.entry(&c.service).or_default().push(c);
    }
    for (svc, changes) in by_service {
        for c in changes {
            let (b, a) = (&c.before, &c.after);
            let disk = match (b.image_cache_mib, a.image_cache_mib) {
                (Some(x), Some(y)) if x != y => format!(", {} MiB less image cache on each node", x.saturating_sub(y)),
                _ => String::new(),
            };
            let pull = b.pull_mib - a.pull_mib;
            if a.instances == b.instances {
                out.push(format!(
                    "{svc} on {}: {} per node before and after, because {} binds both times, not disk: the smaller image buys {} MiB less to pull on a fresh node{disk}, not density.",
                    c.node_type,
                    b.instances,
                    Binding::joined(&b.binding, "nothing"),
                    mib1(pull),
                ));
            } else {
                out.push(format!(
                    "{svc} on {}: {} per node before ({} binds), {} after ({} binds){}; {} MiB less to pull on a fresh node.",
                    c.node_type,
                    b.instances,
                    Binding::joined(&b.binding, "nothing"),
                    a.instances,
                    Binding::joined(&a.binding, "nothing"),
                    if b.binding.contains(&Binding::Disk) {
                        ": the image cache was the limit, so here the smaller image buys density"
                    } else {
                        ""
                    },
                    mib1(pull),
                ));
            }
        }
    }
    let moved: Vec<String> = types
        .iter()
        .filter(|t| t.nodes_before != t.nodes_after)
        .map(|t| {
            format!(
                "{} {} → {}",
                t.node_type,
                TypeChange::shown(t.nodes_before, t.partial_before),
                TypeChange::shown(t.nodes_after, t.partial_after)
            )
        })
        .collect();
    if moved.is_empty() {
        out.push("Nodes for every replica: the same on every node type.".to_string());
    } else {
        let partial = types
            .iter()
            .any(|t| t.nodes_before != t.nodes_after && (t.partial_before || t.partial_after));
        out.push(format!(
            "Nodes for every replica: {}{}.",
            moved.join(", "),
            if partial {
                " (partial: the type cannot hold every service)"
            } else {
                ""
            }
        ));
    }
    if let Some(f) = cheapest {
        if (f.cost_before - f.cost_after).abs() < 1e-9 {
            out.push(format!(
                "Cheapest fleet: ${}/h for {} before and after.",
                num(f.cost_before),
                nodes(f.nodes_before)
            ));
        } else {
            out.push(format!(
                "Cheapest fleet: ${}/h ({}) before, ${}/h ({}) after.",
                num(f.cost_before),
                nodes(f.nodes_before),
                num(f.cost_after),
                nodes(f.nodes_after)
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layer(d: &str, size: u64, c: u64) -> Layer {
        Layer {
            digest: d.into(),
            size,
            compressed_size: c,
        }
    }

    #[test]
    fn shrink_takes_the_top_layers_first_and_keeps_the_base_shared() {
        let img = ImageLayers {
            layers: vec![layer("base", 100, 40), layer("deps", 50, 20), layer("app", 10, 5)],
        };
        let (after, exceeds) = shrink(&img, 30, None);
        assert!(!exceeds);
        assert_eq!(after.layers.len(), 2);
        assert_eq!(after.layers[0], layer("base", 100, 40));
        assert_eq!(after.layers[1].size, 30);
        assert_eq!(after.layers[1].compressed_size, 12);
        assert_ne!(after.layers[1].digest, "deps");
        let (gone, exceeds) = shrink(&img, 1000, None);
        assert!(exceeds && gone.layers.is_empty());
        let (same, _) = shrink(&img, 0, None);
        assert_eq!(same, img);
        // A known pulled saving: 65 pulled before, 20 less after.
        let (after, _) = shrink(&img, 30, Some(20));
        assert_eq!(after.layers.iter().map(|l| l.compressed_size).sum::<u64>(), 45);
        assert_eq!(after.layers[0].compressed_size, 40, "the untouched base keeps its size");
        // More than the shrunk layers hold: they pull nothing, the base is still pulled.
        let (after, _) = shrink(&img, 30, Some(60));
        assert_eq!(after.layers.iter().map(|l| l.compressed_size).sum::<u64>(), 40);
    }
}

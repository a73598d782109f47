//! Kubernetes manifests as the services and DaemonSets of a plan (`--manifests DIR` and
//! `--manifests -`): a folder of manifests or rendered Helm output (`helm template`), read
//! beside a plan file that gives the node types.
//!
//! Owns: turning manifest texts (already read and added to [`Files`]) into [`ServiceSpec`]s
//! and [`DaemonSetSpec`]s, with every problem at its file and line: which kinds are planned
//! (Deployment, StatefulSet, ReplicaSet, Pod; DaemonSets as per-node overhead), which are left
//! out and why (Jobs, CronJobs, Helm hooks, owned ReplicaSets and Pods), names defined twice,
//! and the containers' images matched to the plan's `images` (by key or by `ref:`). Does not:
//! read files (the CLI walks the folder within its limits) or images.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;

use super::file::{self, codes};
use super::{DaemonSetSpec, ImageLayers, PlanInput, Request, ServiceSpec};
use crate::diag::{Diagnostic, FileId, Files};

/// The workloads of the manifests.
#[derive(Clone, Debug, Default)]
pub struct Workloads {
    /// Deployments, StatefulSets, ReplicaSets and Pods.
    pub services: Vec<ServiceSpec>,
    /// DaemonSets.
    pub daemonsets: Vec<DaemonSetSpec>,
    /// Services and DaemonSets whose pods use more than one image of the plan: the owner and
    /// the images' keys (see [`attach_images`]).
    pub images: Vec<(String, Vec<String>)>,
    /// Documents left out, with why (`Job migrate (file:line): runs to completion`).
    pub skipped: Vec<String>,
    /// Container images no plan image matches: planned without their layers.
    pub unmatched_images: BTreeSet<String>,
}

/// The plan image a container image names: the key itself, or the key whose `ref:` is it.
fn image_key(image: &str, keys: &BTreeSet<String>, refs: &BTreeMap<String, String>) -> Option<String> {
    if keys.contains(image) {
        return Some(image.to_string());
    }
    refs.iter().find(|(_, r)| r.as_str() == image).map(|(k, _)| k.clone())
}

/// Reads the manifests `ids` (already in `files`). `taken` are the service names of the plan
/// file (a manifest may not reuse one); `image_keys` and `image_refs` (key to reference) are
/// the plan's images; `rcs` its runtime classes.
pub fn read(
    files: &mut Files,
    ids: &[FileId],
    taken: &BTreeSet<String>,
    image_keys: &BTreeSet<String>,
    image_refs: &BTreeMap<String, String>,
    rcs: &BTreeMap<String, Request>,
) -> Result<Workloads, Vec<Diagnostic>> {
    let mut out = Workloads::default();
    let mut diags = Vec::new();
    let mut seen: BTreeMap<String, (FileId, Range<usize>)> = BTreeMap::new();
    let mut ds_seen: BTreeMap<String, (FileId, Range<usize>)> = BTreeMap::new();
    for &id in ids {
        let (workloads, skipped, mut d) = file::read_manifest_workloads(files, id, rcs);
        diags.append(&mut d);
        for s in skipped {
            let (line, _) = files.line_col(id, s.offset);
            out.skipped
                .push(format!("{} ({}:{line}): {}", s.what, files.name(id), s.why));
        }
        for w in workloads {
            let mut keys: Vec<String> = Vec::new();
            for i in &w.images {
                match image_key(i, image_keys, image_refs) {
                    Some(k) if !keys.contains(&k) => keys.push(k),
                    Some(_) => {}
                    None => {
                        out.unmatched_images.insert(i.clone());
                    }
                }
            }
            let names = if w.daemonset { &mut ds_seen } else { &mut seen };
            if let Some((pf, ps)) = names.get(&w.name) {
                diags.push(
                    Diagnostic::error(format!(
                        "{} `{}` is defined twice in the manifests",
                        if w.daemonset { "DaemonSet" } else { "workload" },
                        w.name
                    ))
                    .with_code(codes::DUPLICATE)
                    .with_primary(id, w.span.start..w.span.start, "again here")
                    .with_secondary(*pf, ps.clone(), "first here"),
                );
                continue;
            }
            if !w.daemonset && taken.contains(&w.name) {
                diags.push(
                    Diagnostic::error(format!(
                        "{} `{}` has the name of a service of the plan file",
                        w.kind, w.name
                    ))
                    .with_code(codes::DUPLICATE)
                    .with_primary(id, w.span.start..w.span.start, "defined here"),
                );
                continue;
            }
            names.insert(w.name.clone(), (id, w.span.start..w.span.start));
            if keys.len() > 1 {
                out.images.push((w.name.clone(), keys.clone()));
            }
            let image = keys.first().cloned();
            if w.daemonset {
                out.daemonsets.push(DaemonSetSpec {
                    name: w.name,
                    shape: w.shape,
                    image,
                });
            } else {
                out.services.push(ServiceSpec {
                    name: w.name,
                    replicas: w.replicas,
                    shape: w.shape,
                    image,
                    max_per_node: w.max_per_node,
                });
            }
        }
    }
    if out.services.is_empty() && out.daemonsets.is_empty() && diags.is_empty() {
        let first = ids.first().copied();
        let mut d = Diagnostic::error(
            "the manifests hold no Deployment, StatefulSet, ReplicaSet, Pod or DaemonSet to plan".to_string(),
        )
        .with_code(codes::MANIFEST);
        if let Some(f) = first {
            d = d.with_primary(f, 0..0, "");
        }
        diags.push(d);
    }
    if diags.is_empty() {
        Ok(out)
    } else {
        diags.sort_by_key(|d| d.labels.first().map(|l| (l.file, l.span.start)));
        Err(diags)
    }
}

/// For pods that use several images of the plan, one image that is their union (layers in
/// container order, a layer listed once), named `a + b`, replaces the first image: a node
/// stores every layer of every container. Images no longer in `input` (could not be read) are
/// left out of the union. Returns each union made, with the images it joins (see [`union`]).
pub fn attach_images(input: &mut PlanInput, owners: &[(String, Vec<String>)]) -> Vec<(String, Vec<String>)> {
    let mut made: Vec<(String, Vec<String>)> = Vec::new();
    for (owner, keys) in owners {
        let present: Vec<&String> = keys.iter().filter(|k| input.images.contains_key(*k)).collect();
        if present.len() < 2 {
            continue;
        }
        let name = present.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(" + ");
        if !input.images.contains_key(&name) {
            let parts: Vec<String> = present.iter().map(|k| (*k).clone()).collect();
            let joined = union(&input.images, &parts);
            input.images.insert(name.clone(), joined);
            made.push((name.clone(), parts));
        }
        for s in input.services.iter_mut().filter(|s| &s.name == owner) {
            s.image = Some(name.clone());
        }
        for d in input.daemonsets.iter_mut().filter(|d| &d.name == owner) {
            d.image = Some(name.clone());
        }
    }
    made
}

/// The union of the images `parts` (layers in order, a layer listed once).
#[must_use]
pub fn union(images: &BTreeMap<String, ImageLayers>, parts: &[String]) -> ImageLayers {
    let mut out = ImageLayers::default();
    for k in parts {
        for l in images.get(k).map_or(&[][..], |i| i.layers.as_slice()) {
            if !out.layers.iter().any(|x| x.digest == l.digest) {
                out.layers.push(l.clone());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const HELM: &str = r"---
# Source: shop/templates/web.yaml
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 6
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - {name: web, image: ghcr.io/acme/web:1.4, resources: {requests: {cpu: 500m, memory: 1Gi}}}
        - {name: proxy, image: envoy:1.31, resources: {limits: {cpu: 100m, memory: 128Mi}}}
---
apiVersion: batch/v1
kind: Job
metadata: {name: migrate}
spec: {template: {spec: {containers: [{name: m, image: x}]}}}
---
apiVersion: v1
kind: Pod
metadata:
  name: shop-test
  annotations: {helm.sh/hook: test}
spec: {containers: [{name: t, image: busybox}]}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec: {template: {spec: {containers: [{name: a, image: agent:2, resources: {requests: {cpu: 50m, memory: 64Mi}}}]}}}
---
apiVersion: v1
kind: Service
metadata: {name: web}
";

    fn read_one(text: &str) -> Result<Workloads, Vec<Diagnostic>> {
        let mut files = Files::new();
        let id = files.add("<stdin>", text);
        let keys: BTreeSet<String> = ["web-img", "envoy:1.31"].iter().map(|s| (*s).to_string()).collect();
        let refs: BTreeMap<String, String> = [("web-img".to_string(), "ghcr.io/acme/web:1.4".to_string())].into();
        read(&mut files, &[id], &BTreeSet::new(), &keys, &refs, &BTreeMap::new())
    }

    #[test]
    fn helm_output_becomes_services_and_daemonsets() {
        let w = read_one(HELM).unwrap();
        assert_eq!(w.services.len(), 1);
        let web = &w.services[0];
        assert_eq!((web.name.as_str(), web.replicas), ("web", 6));
        assert_eq!(
            web.shape.effective().cpu_m,
            600,
            "requests, and limits where requests are missing"
        );
        assert_eq!(web.image.as_deref(), Some("web-img"), "matched by ref");
        assert_eq!(
            w.images,
            vec![("web".to_string(), vec!["web-img".to_string(), "envoy:1.31".to_string()])]
        );
        assert_eq!(w.daemonsets.len(), 1);
        assert_eq!(w.daemonsets[0].shape.effective().cpu_m, 50);
        assert_eq!(w.skipped.len(), 2, "{:?}", w.skipped);
        assert!(w.skipped[0].starts_with("Job migrate (<stdin>:"), "{:?}", w.skipped);
        assert!(w.unmatched_images.contains("agent:2"));
    }

    #[test]
    fn duplicates_and_empty_input_are_errors() {
        let twice = "kind: Deployment\nmetadata: {name: a}\nspec: {template: {spec: {containers: [{name: c}]}}}\n---\nkind: StatefulSet\nmetadata: {name: a}\nspec: {template: {spec: {containers: [{name: c}]}}}\n";
        let d = read_one(twice).unwrap_err();
        assert_eq!(d[0].code.as_deref(), Some("PL007"));
        let d = read_one("kind: ConfigMap\nmetadata: {name: a}\n").unwrap_err();
        assert_eq!(d[0].code.as_deref(), Some("PL008"));
    }

    #[test]
    fn several_images_become_their_union() {
        let mut input = PlanInput::default();
        let l = |d: &str| super::super::Layer {
            digest: d.into(),
            size: 10,
            compressed_size: 5,
        };
        input.images.insert(
            "a".into(),
            ImageLayers {
                layers: vec![l("base"), l("a")],
            },
        );
        input.images.insert(
            "b".into(),
            ImageLayers {
                layers: vec![l("base"), l("b")],
            },
        );
        input.services.push(ServiceSpec {
            name: "s".into(),
            replicas: 1,
            shape: super::super::PodShape::default(),
            image: Some("a".into()),
            max_per_node: None,
        });
        let made = attach_images(&mut input, &[("s".into(), vec!["a".into(), "b".into()])]);
        assert_eq!(
            made,
            vec![("a + b".to_string(), vec!["a".to_string(), "b".to_string()])]
        );
        assert_eq!(input.services[0].image.as_deref(), Some("a + b"));
        assert_eq!(input.images["a + b"].layers.len(), 3);
    }
}

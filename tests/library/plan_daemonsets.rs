//! DaemonSets' own placement: a DaemonSet runs only on the node types its `nodeSelector` and
//! required node affinity match, and takes its requests (extended resources included), a pod
//! slot and its image's layers only there. Declared in the plan file or read from manifests.

use std::collections::{BTreeMap, BTreeSet};

use imgopt::plan::{self, Binding, NodeModel, PlanReport};

use crate::support::plan_files::parse_with;

fn plan_of(text: &str, manifests: &[(&str, &str)]) -> (plan::PlanInput, PlanReport) {
    let input = parse_with(text, manifests).unwrap_or_else(|d| panic!("{d:#?}")).input;
    let report = plan::plan(&input).unwrap();
    (input, report)
}

fn node<'a>(r: &'a PlanReport, name: &str) -> &'a NodeModel {
    r.node_types.iter().find(|n| n.name == name).unwrap()
}

fn instances(r: &PlanReport, service: &str, ty: &str) -> u64 {
    r.services.iter().find(|s| s.name == service).unwrap().per_node[ty].instances
}

/// Two node types alike in CPU, memory and pods; only `gpu` has GPUs and the labels the GPU
/// DaemonSets select.
const TYPES: &str = r#"
node_types:
  - {name: gpu, cpu: "8", memory: 32Gi, max_pods: 20, reserved: gke, price_per_hour: 1.0,
     labels: {pool: gpu, accelerator: nvidia-l4}, extended_resources: {nvidia.com/gpu: 4}}
  - {name: cpu, cpu: "8", memory: 32Gi, max_pods: 20, reserved: gke, price_per_hour: 0.3,
     labels: {pool: general}}
"#;

const SERVICES: &str = r#"
services:
  - {name: web, replicas: 10, cpu: "1", memory: 1Gi}
  - {name: infer, replicas: 3, cpu: "1", memory: 1Gi, extended_resources: {nvidia.com/gpu: 1}}
"#;

/// Allocatable on both types: 8000m - 90m = 7910m (GKE tiers), 20 pods.
const ALLOC_CPU: u64 = 7910;

/// Asserts what the three DaemonSets (`everywhere` 100m/100Mi on every type, `device-plugin`
/// 1 core / 1 GiB and `gpu-agent` 500m / 512 MiB / 1 GPU on `gpu` only) leave, and what the
/// services fit.
fn assert_gpu_daemonsets_only_on_gpu(r: &PlanReport) {
    let (gpu, cpu) = (node(r, "gpu"), node(r, "cpu"));
    assert_eq!(
        gpu.allocatable, cpu.allocatable,
        "the types differ only in labels and GPUs"
    );
    // On the CPU type only `everywhere` takes room.
    let a = cpu.allocatable;
    assert_eq!(
        (
            cpu.free_after_daemonsets.cpu_m,
            cpu.free_after_daemonsets.memory_mib,
            cpu.free_after_daemonsets.pods
        ),
        (a.cpu_m - 100, a.memory_mib - 100, a.pods - 1),
        "{cpu:#?}"
    );
    assert_eq!(cpu.daemonsets_excluded, ["device-plugin", "gpu-agent"]);
    assert!(cpu.unusable.is_none(), "{:?}", cpu.unusable);
    assert!(cpu.extended_free_after_daemonsets.is_empty());
    // On the GPU type all three, and the agent's GPU.
    assert_eq!(
        (
            gpu.free_after_daemonsets.cpu_m,
            gpu.free_after_daemonsets.memory_mib,
            gpu.free_after_daemonsets.pods
        ),
        (a.cpu_m - 1600, a.memory_mib - 1636, a.pods - 3),
    );
    assert!(gpu.daemonsets_excluded.is_empty());
    assert_eq!(gpu.extended_resources["nvidia.com/gpu"], 4);
    assert_eq!(gpu.extended_free_after_daemonsets["nvidia.com/gpu"], 3);
    assert_eq!(gpu.extended_split("nvidia.com/gpu"), (4, 1, 3));
    // web: 7 one-core pods in 7810m on the CPU type (6 had every DaemonSet been taken), 6 in
    // 6310m on the GPU type.
    assert_eq!(instances(r, "web", "cpu"), (ALLOC_CPU - 100) / 1000);
    assert_eq!(instances(r, "web", "gpu"), (ALLOC_CPU - 1600) / 1000);
    // infer: 3 GPUs left by the agent bind before the 6 cores.
    let infer = &r.services.iter().find(|s| s.name == "infer").unwrap().per_node["gpu"];
    assert_eq!(infer.instances, 3);
    assert_eq!(infer.binding, vec![Binding::Extended("nvidia.com/gpu".into())]);
    // The plans use what is left: 3 infer pods need one GPU node (3 GPUs), not more.
    let c = r.cheapest.as_ref().unwrap();
    for n in &c.placement {
        let gpus: u64 = n.pods.iter().filter(|(s, _)| *s == "infer").map(|(_, k)| k).sum();
        assert!(n.node_type == "gpu" || gpus == 0);
        assert!(gpus <= 3, "{n:?}: the agent holds one of the 4 GPUs");
    }
}

#[test]
fn plan_file_daemonsets_take_room_only_on_the_types_they_select() {
    let text = format!(
        "{TYPES}{}{SERVICES}",
        r#"
daemonsets:
  - {name: everywhere, cpu: 100m, memory: 100Mi}
  - {name: device-plugin, cpu: "1", memory: 1Gi, node_selector: {pool: gpu}}
  - name: gpu-agent
    cpu: 500m
    memory: 512Mi
    extended_resources: {nvidia.com/gpu: 1}
    node_affinity:
      - match_expressions: [{key: accelerator, operator: In, values: [nvidia-l4, nvidia-a100]}]
"#
    );
    let (input, r) = plan_of(&text, &[]);
    assert_eq!(input.daemonsets[1].shape.node_affinity.node_selector["pool"], "gpu");
    assert_eq!(input.daemonsets[2].shape.extended["nvidia.com/gpu"], 1);
    assert_gpu_daemonsets_only_on_gpu(&r);
    // JSON: additive fields, present only where they say something.
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(
        json["node_types"][0]["extended_free_after_daemonsets"]["nvidia.com/gpu"],
        3
    );
    assert!(json["node_types"][0].get("daemonsets_excluded").is_none());
    assert_eq!(json["node_types"][1]["daemonsets_excluded"][1], "gpu-agent");
    assert!(json["node_types"][1].get("extended_free_after_daemonsets").is_none());
    assert_eq!(
        r.daemonsets_not_everywhere(),
        BTreeMap::from([("device-plugin", vec!["cpu"]), ("gpu-agent", vec!["cpu"])])
    );
    assert_eq!(r.extended_resource_names(), ["nvidia.com/gpu"]);
}

#[test]
fn manifest_daemonsets_take_room_only_on_the_types_they_select() {
    let agents = r"
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: everywhere}
spec:
  template:
    spec:
      containers: [{name: a, image: x, resources: {requests: {cpu: 100m, memory: 100Mi}}}]
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: device-plugin}
spec:
  template:
    spec:
      nodeSelector: {pool: gpu}
      containers: [{name: p, image: y, resources: {limits: {cpu: '1', memory: 1Gi}}}]
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: gpu-agent}
spec:
  template:
    spec:
      affinity:
        nodeAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
            nodeSelectorTerms:
              - matchExpressions: [{key: accelerator, operator: Exists}]
      containers:
        - name: agent
          image: z
          resources: {requests: {cpu: 500m, memory: 512Mi}, limits: {nvidia.com/gpu: 1}}
";
    let text = format!("{TYPES}\ndaemonsets:\n  - manifest: agents.yaml\n{SERVICES}");
    let (input, r) = plan_of(&text, &[("agents.yaml", agents)]);
    assert_eq!(input.daemonsets.len(), 3);
    assert_gpu_daemonsets_only_on_gpu(&r);
}

#[test]
fn a_daemonset_asking_for_gpus_on_every_type_leaves_gpu_less_types_unusable() {
    // No selector: the agent's pod would stay Pending on every CPU node.
    let text = format!(
        "{TYPES}{}{SERVICES}",
        r"
daemonsets:
  - {name: gpu-agent, cpu: 500m, memory: 512Mi, extended_resources: {nvidia.com/gpu: 1}}
"
    );
    let (_, r) = plan_of(&text, &[]);
    let why = node(&r, "cpu").unusable.clone().unwrap();
    assert!(why.contains("gpu-agent") && why.contains("nvidia.com/gpu"), "{why}");
    assert_eq!(instances(&r, "web", "cpu"), 0);
    assert!(node(&r, "gpu").unusable.is_none());
    assert!(r.unschedulable.is_empty(), "web still fits the GPU type");
    // A service asking for all 4 GPUs: the node has 4, 3 after the agent.
    let text = text.replace(
        "memory: 1Gi, extended_resources: {nvidia.com/gpu: 1}",
        "memory: 1Gi, extended_resources: {nvidia.com/gpu: 4}",
    );
    let (_, r) = plan_of(&text, &[]);
    let u = r.unschedulable.iter().find(|u| u.service == "infer").unwrap();
    assert_eq!(
        u.reasons["gpu"], "needs 4 nvidia.com/gpu, the node type has 4, 3 after the DaemonSets",
        "{u:?}"
    );
}

#[test]
fn daemonset_images_count_only_where_the_daemonset_runs() {
    // Both types: floor(10240 MiB * 85%) = 8704 MiB of image cache. The device plugin's
    // 3000 MiB image is on the GPU type only.
    let text = r#"
node_types:
  - {name: gpu, cpu: "8", memory: 32Gi, reserved: gke, price_per_hour: 1.0, disk: 10Gi,
     labels: {pool: gpu}, extended_resources: {nvidia.com/gpu: 4}}
  - {name: cpu, cpu: "8", memory: 32Gi, reserved: gke, price_per_hour: 0.3, disk: 10Gi,
     labels: {pool: general}}
daemonsets:
  - {name: device-plugin, cpu: 50m, memory: 64Mi, image: plugin, node_selector: {pool: gpu}}
images:
  plugin: {layers: [{digest: "sha256:a", size: 3000Mi}]}
  app: {layers: [{digest: "sha256:b", size: 2000Mi}]}
  cuda-app: {layers: [{digest: "sha256:a", size: 3000Mi}, {digest: "sha256:c", size: 500Mi}]}
  big: {layers: [{digest: "sha256:d", size: 6000Mi}]}
services:
  - {name: web, replicas: 12, cpu: 500m, memory: 1Gi, image: app}
  - {name: train, replicas: 5, cpu: "1", memory: 2Gi, image: cuda-app, extended_resources: {nvidia.com/gpu: 1}}
  - {name: batch, replicas: 3, cpu: "1", memory: 1Gi, image: big}
"#;
    let (input, r) = plan_of(text, &[]);
    assert_eq!(node(&r, "gpu").image_budget_mib, Some(8704 - 3000));
    assert_eq!(node(&r, "cpu").image_budget_mib, Some(8704));
    let svc = |n: &str| r.services.iter().find(|s| s.name == n).unwrap();
    // The union of images on a node counts the plugin's layer only on the GPU type.
    assert_eq!(svc("web").per_node["cpu"].image_cache_mib, Some(2000));
    assert_eq!(svc("web").per_node["gpu"].image_cache_mib, Some(5000));
    // A fresh GPU node already has the plugin's layer that train shares; a CPU node would not.
    assert_eq!(svc("train").pull_mib["gpu"], 500.0);
    assert_eq!(svc("web").pull_mib["cpu"], 2000.0);
    // 6000 MiB fits the CPU type's whole budget, not the GPU type's 5704 MiB left.
    assert!(instances(&r, "batch", "cpu") > 0);
    assert_eq!(instances(&r, "batch", "gpu"), 0);
    assert!(svc("batch").per_node["gpu"].binding.contains(&Binding::Disk));
    // Every node of every plan fits its type's real cache: the service layers on it and the
    // layers of the DaemonSets that run there.
    let sizes: BTreeMap<&str, u64> = input
        .images
        .values()
        .flat_map(|i| i.layers.iter().map(|l| (l.digest.as_str(), l.size)))
        .collect();
    let mut plans: Vec<&Vec<plan::NodePlacement>> = r.by_node_type.values().map(|p| &p.placement).collect();
    let c = r.cheapest.as_ref().unwrap();
    assert!(c.not_placed.is_empty(), "{c:?}");
    plans.push(&c.placement);
    for n in plans.into_iter().flatten() {
        let ty = input.node_types.iter().find(|t| t.name == n.node_type).unwrap();
        let mut layers: BTreeSet<&str> = BTreeSet::new();
        for d in input.daemonsets.iter().filter(|d| d.runs_on(&ty.labels)) {
            layers.extend(
                input.images[d.image.as_deref().unwrap()]
                    .layers
                    .iter()
                    .map(|l| l.digest.as_str()),
            );
        }
        for s in n.pods.keys() {
            let spec = input.services.iter().find(|x| &x.name == s).unwrap();
            layers.extend(
                input.images[spec.image.as_deref().unwrap()]
                    .layers
                    .iter()
                    .map(|l| l.digest.as_str()),
            );
        }
        let used: u64 = layers.iter().map(|d| sizes[d]).sum();
        assert!(used <= 8704 << 20, "{n:?} uses {} MiB", used >> 20);
    }
}

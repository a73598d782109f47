//! `imgopt plan --manifests` and `imgopt report --manifests` with DaemonSets that select GPU
//! nodes: their requests come off the GPU node type only, and the node-type tables show the
//! GPUs (capacity, reserved, what the DaemonSets take, what is free) and which DaemonSets skip
//! which types.
use crate::support;

use std::process::Output;

fn run(dir: &std::path::Path, args: &[&str], stdin: &str) -> Output {
    support::imgopt().args(args).current_dir(dir).stdin(stdin).output()
}

fn stdout(out: &Output) -> String {
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

const NODES: &str = r#"
node_types:
  - {name: g2-standard-24, cpu: "24", memory: 96Gi, reserved: gke, price_per_hour: 2.0,
     labels: {cloud.google.com/gke-accelerator: nvidia-l4}, extended_resources: {nvidia.com/gpu: 2}}
  - {name: e2-standard-8, cpu: "8", memory: 32Gi, reserved: gke, price_per_hour: 0.268}
"#;

/// What `helm template` of a GPU cluster's add-ons and one app prints.
const HELM: &str = r"---
# Source: gpu/templates/device-plugin.yaml
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: nvidia-device-plugin}
spec:
  selector: {matchLabels: {app: dp}}
  template:
    metadata: {labels: {app: dp}}
    spec:
      affinity:
        nodeAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
            nodeSelectorTerms:
              - matchExpressions:
                  - {key: cloud.google.com/gke-accelerator, operator: Exists}
      containers:
        - {name: plugin, image: nvcr.io/nvidia/k8s-device-plugin:v0.16.2, resources: {requests: {cpu: 500m, memory: 1Gi}}}
---
# Source: gpu/templates/gpu-burner.yaml
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: gpu-validator}
spec:
  selector: {matchLabels: {app: v}}
  template:
    metadata: {labels: {app: v}}
    spec:
      nodeSelector: {cloud.google.com/gke-accelerator: nvidia-l4}
      containers:
        - {name: v, image: validator, resources: {requests: {cpu: 100m, memory: 128Mi}, limits: {nvidia.com/gpu: 1}}}
---
# Source: logs/templates/fluent-bit.yaml
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: fluent-bit}
spec:
  selector: {matchLabels: {app: fb}}
  template:
    metadata: {labels: {app: fb}}
    spec:
      containers:
        - {name: fb, image: fluent/fluent-bit:3.1, resources: {requests: {cpu: 100m, memory: 200Mi}}}
---
# Source: app/templates/web.yaml
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 4
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - {name: web, image: web, resources: {requests: {cpu: '1', memory: 2Gi}}}
";

#[test]
fn manifest_daemonsets_take_room_only_on_the_node_types_they_select() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("nodes.yaml"), NODES).unwrap();
    let out = run(
        dir.path(),
        &["plan", "nodes.yaml", "--manifests", "-", "--format", "json"],
        HELM,
    );
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let ty = |name: &str| {
        v["node_types"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == name)
            .unwrap()
            .clone()
    };
    let (gpu, cpu) = (ty("g2-standard-24"), ty("e2-standard-8"));
    let taken = |t: &serde_json::Value, k: &str| {
        t["allocatable"][k].as_u64().unwrap() - t["free_after_daemonsets"][k].as_u64().unwrap()
    };
    // The CPU type carries fluent-bit only; the GPU type all three, and the validator's GPU.
    assert_eq!(
        (taken(&cpu, "cpu_m"), taken(&cpu, "memory_mib"), taken(&cpu, "pods")),
        (100, 200, 1)
    );
    assert_eq!(
        (taken(&gpu, "cpu_m"), taken(&gpu, "memory_mib"), taken(&gpu, "pods")),
        (700, 1352, 3)
    );
    assert_eq!(
        cpu["daemonsets_excluded"],
        serde_json::json!(["nvidia-device-plugin", "gpu-validator"])
    );
    assert!(gpu.get("daemonsets_excluded").is_none());
    assert_eq!(gpu["extended_resources"]["nvidia.com/gpu"], 2);
    assert_eq!(gpu["extended_free_after_daemonsets"]["nvidia.com/gpu"], 1);
    assert!(cpu.get("unusable").is_none(), "{cpu}");

    // The human table: a GPU column, and the DaemonSets that skip a type.
    let out = run(dir.path(), &["plan", "nodes.yaml", "--manifests", "-"], HELM);
    let text = stdout(&out);
    let nodes = text.split("Extended resources per node").next().unwrap();
    assert!(
        !nodes.contains("nvidia.com/gpu"),
        "the node table keeps its columns: {nodes}"
    );
    let table = text
        .split("Extended resources per node")
        .nth(1)
        .and_then(|t| t.split("Instances per empty node").next())
        .unwrap_or_else(|| panic!("a table of extended resources: {text}"));
    assert!(table.contains("nvidia.com/gpu"), "{table}");
    // The last column's text, its lines joined (cells wrap between words).
    let last_column: Vec<&str> = table
        .lines()
        .filter(|l| l.contains('┆'))
        .map(|l| l.trim_end().trim_end_matches('│').rsplit('┆').next().unwrap().trim())
        .collect();
    assert_eq!(
        last_column.join(" ").split_whitespace().collect::<Vec<_>>().join(" "),
        "nvidia.com/gpu 2: 0 reserved, 1 DaemonSets, 1 free -",
        "{table}"
    );
    let words: String = table.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        words.contains("DaemonSet gpu-validator does not run on e2-standard-8"),
        "{table}"
    );
    assert!(!words.contains("DaemonSet fluent-bit does not run"), "{table}");

    // The report's Markdown: the same column, labelled line by line.
    let out = run(
        dir.path(),
        &["report", "nodes.yaml", "--manifests", "-", "--format", "markdown"],
        HELM,
    );
    let md = stdout(&out);
    assert!(md.contains("| $/h | nvidia.com/gpu |"), "{md}");
    assert!(
        md.contains("2 capacity<br>0 reserved<br>1 DaemonSets<br>1 free"),
        "{md}"
    );
    assert!(
        md.contains("- DaemonSet nvidia-device-plugin does not run on e2-standard-8"),
        "{md}"
    );
}

/// Without extended resources the tables have no extra column and no DaemonSet notes.
#[test]
fn no_extended_resources_no_column() {
    let dir = tempfile::tempdir().unwrap();
    let nodes = "node_types:\n  - {name: n, cpu: \"4\", memory: 16Gi, reserved: gke}\n";
    std::fs::write(dir.path().join("nodes.yaml"), nodes).unwrap();
    // fluent-bit and web only.
    let plain = format!(
        "---\n# Source: logs{}",
        HELM.split("---\n# Source: logs").nth(1).unwrap()
    );
    let out = run(dir.path(), &["plan", "nodes.yaml", "--manifests", "-"], &plain);
    let text = stdout(&out);
    let header = text.lines().nth(2).unwrap();
    // The last column is the price, as before extended resources were shown.
    let last = header.trim_end().trim_end_matches('│').rsplit('┆').next().unwrap();
    assert_eq!(last.trim(), "$/h", "{text}");
    assert!(!text.contains("nvidia") && !text.contains("does not run on"), "{text}");
    let out = run(
        dir.path(),
        &["plan", "nodes.yaml", "--manifests", "-", "--format", "markdown"],
        &plain,
    );
    assert!(stdout(&out).contains("| image cache (DaemonSets) | $/h |\n|---|---|---|---|---|\n"));
}

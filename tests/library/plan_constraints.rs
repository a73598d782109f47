//! Extended resources (GPUs) and node selector / required node affinity: read from plan files
//! and manifests, and honoured by the fit, the single-type plans and the cheapest fleet.

use std::path::PathBuf;

use imgopt::plan::{self, Binding, Operator};

use crate::support::plan_files::parse_with;

fn example() -> plan::PlanInput {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/plans/gke-gpu-node-pools.yaml");
    let text = std::fs::read_to_string(path).unwrap();
    parse_with(&text, &[]).unwrap().input
}

#[test]
fn example_pools_keep_every_service_where_it_may_run() {
    let input = example();
    let g2 = &input.node_types[0];
    assert_eq!(g2.extended.get("nvidia.com/gpu"), Some(&2));
    assert_eq!(g2.labels.get("pool").map(String::as_str), Some("gpu"));
    let report = plan::plan(&input).unwrap();
    assert!(report.unschedulable.is_empty());
    let svc = |n: &str| report.services.iter().find(|s| s.name == n).unwrap();
    // Two 1-GPU pods per 2-GPU node, though 6 cores / 28 GiB would fit 3: the GPU binds.
    let llm = &svc("llm").per_node["g2-standard-24"];
    assert_eq!(llm.instances, 2);
    assert_eq!(llm.binding, vec![Binding::Extended("nvidia.com/gpu".into())]);
    // Its node selector rules out the general pool; api's NotIn rules out the GPU pools.
    assert_eq!(
        svc("llm").per_node["e2-standard-8"].binding,
        vec![Binding::NodeAffinity]
    );
    assert_eq!(svc("api").per_node["g2-standard-24"].instances, 0);
    assert_eq!(svc("api").per_node["e2-standard-8"].instances, 15);
    // batch-embed has no selector but needs 2 GPUs: the general pool has none.
    let be = &svc("batch-embed").per_node["e2-standard-8"];
    assert!(
        be.binding.contains(&Binding::Extended("nvidia.com/gpu".into())),
        "{be:?}"
    );
    // Every placement respects labels and GPUs.
    let c = report.cheapest.as_ref().unwrap();
    for n in &c.placement {
        let ty = input.node_types.iter().find(|t| t.name == n.node_type).unwrap();
        let mut gpus = 0;
        for (s, k) in &n.pods {
            let spec = input.services.iter().find(|x| &x.name == s).unwrap();
            assert!(spec.shape.node_affinity.matches(&ty.labels), "{s} on {}", ty.name);
            gpus += spec.shape.extended.get("nvidia.com/gpu").copied().unwrap_or(0) * k;
        }
        assert!(gpus <= ty.extended.get("nvidia.com/gpu").copied().unwrap_or(0));
    }
    // 6 llm + 5 vision + 2 x 2 batch-embed = 15 GPUs: at least 8 two-GPU nodes' worth ($16),
    // and api + worker need the general pool: the fleet is proven optimal at $16.536/h.
    assert!(c.optimal);
    assert!((c.cost_per_hour - 16.536).abs() < 1e-9, "{}", c.cost_per_hour);
    // JSON carries the new fields.
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["node_types"][0]["extended_resources"]["nvidia.com/gpu"], 2);
    assert_eq!(
        json["services"][0]["per_node"]["g2-standard-24"]["binding"][0],
        "nvidia.com/gpu"
    );
    assert_eq!(
        json["services"][3]["node_affinity"]["required_terms"][0][0]["operator"],
        "NotIn"
    );
}

#[test]
fn manifests_give_gpus_selectors_and_affinity() {
    let manifest = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: trainer}
spec:
  replicas: 3
  template:
    spec:
      nodeSelector: {pool: gpu}
      affinity:
        nodeAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
            nodeSelectorTerms:
              - matchExpressions:
                  - {key: gpu-count, operator: Gt, values: ["1"]}
      containers:
        - name: main
          resources:
            limits: {cpu: "2", memory: 8Gi, nvidia.com/gpu: 1}
        - name: helper
          resources:
            requests: {cpu: 500m, memory: 1Gi, nvidia.com/gpu: "1"}
"#;
    let text = "node_types:\n  - {name: a, cpu: \"8\", memory: 32Gi, reserved: gke}\nservices:\n  - manifest: m.yaml\n";
    let input = parse_with(text, &[("m.yaml", manifest)]).unwrap().input;
    let s = &input.services[0];
    // Limits stand in for missing requests, as API defaulting does: 1 + 1 GPUs.
    assert_eq!(s.shape.extended.get("nvidia.com/gpu"), Some(&2));
    let a = &s.shape.node_affinity;
    assert_eq!(a.node_selector.get("pool").map(String::as_str), Some("gpu"));
    let terms = a.required_terms.as_ref().unwrap();
    assert_eq!(terms[0][0].operator, Operator::Gt);
    let labels = |pairs: &[(&str, &str)]| {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect()
    };
    assert!(a.matches(&labels(&[("pool", "gpu"), ("gpu-count", "4")])));
    assert!(!a.matches(&labels(&[("pool", "gpu"), ("gpu-count", "1")])));
    assert!(!a.matches(&labels(&[("pool", "cpu"), ("gpu-count", "4")])));
}

#[test]
fn a_service_no_type_can_hold_is_named_with_the_reason() {
    let text = r#"
node_types:
  - {name: cpu-only, cpu: "8", memory: 32Gi, reserved: gke, labels: {pool: general}}
services:
  - {name: llm, replicas: 2, cpu: "1", memory: 1Gi, extended_resources: {nvidia.com/gpu: 1}}
  - {name: pinned, replicas: 1, cpu: "1", memory: 1Gi, node_selector: {pool: gpu}}
"#;
    let input = parse_with(text, &[]).unwrap().input;
    let report = plan::plan(&input).unwrap();
    let why: Vec<(&str, &str)> = report
        .unschedulable
        .iter()
        .map(|u| (u.service.as_str(), u.reasons["cpu-only"].as_str()))
        .collect();
    assert_eq!(
        why,
        [
            ("llm", "needs 1 nvidia.com/gpu, the node type has none"),
            (
                "pinned",
                "its nodeSelector / required node affinity does not match the node type's labels"
            ),
        ]
    );
}

#[test]
fn bad_constraints_are_errors_at_their_line() {
    let text = r#"node_types:
  - name: a
    cpu: "8"
    memory: 32Gi
    reserved: gke
    extended_resources: {cpu: 2, nvidia.com/gpu: 1.5}
services:
  - name: s
    node_affinity:
      - match_expressions: [{key: pool, operator: Near, values: [x]}]
      - match_expressions: [{key: pool, operator: Exists, values: [x]}]
"#;
    let diags = parse_with(text, &[]).unwrap_err();
    let got: Vec<(String, String)> = diags
        .iter()
        .map(|d| (d.code.clone().unwrap(), d.message.clone()))
        .collect();
    assert_eq!(got.len(), 4, "{got:#?}");
    assert!(got[0].1.contains("`cpu` is not an extended resource"), "{got:#?}");
    assert!(got[1].1.contains("whole number"), "{got:#?}");
    assert!(got[2].1.contains("unknown operator `Near`"), "{got:#?}");
    assert!(got[3].1.contains("Exists needs no values"), "{got:#?}");
    assert!(got.iter().all(|(c, _)| c == "PL004"), "{got:#?}");
}

//! `imgopt plan` as a user runs it: human and JSON output, exit codes 0, 1 and 2.
#![allow(clippy::unwrap_used)]

use crate::support;

use std::path::PathBuf;
use std::process::Output;

fn run(args: &[&str]) -> Output {
    support::imgopt().args(args).output()
}

fn example(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("examples/plans")
        .join(name)
        .display()
        .to_string()
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

#[test]
fn single_service_form_human_and_json() {
    // e2-standard-4 on GKE: 3920m / 13622 MiB / 110 pods. 500m / 1Gi: cpu 7, memory 13 -> 7,
    // cpu-bound, 13622 - 7168 = 6454 MiB (6.3 GiB) idle. 20 replicas -> ceil(20/7) = 3 nodes.
    let args = [
        "plan",
        "--node",
        "cpu=4,memory=16Gi,pods=110,reserved=gke,name=e2-standard-4",
        "--cpu",
        "500m",
        "--memory",
        "1Gi",
        "--replicas",
        "20",
    ];
    let out = run(&args);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("cpu-bound: 7 pods, 6.3 GiB idle"), "{text}");
    assert!(text.contains("13.3 GiB"), "allocatable 13622 MiB shown: {text}");
    let mut jargs = args.to_vec();
    jargs.extend(["--format", "json"]);
    let v = json(&run(&jargs));
    assert_eq!(v["schema_version"], 1);
    let nt = &v["node_types"][0];
    assert_eq!(nt["allocatable"]["cpu_m"], 3920);
    assert_eq!(nt["allocatable"]["memory_mib"], 13622);
    assert_eq!(nt["reserved"]["memory_mib"], 2662);
    let svc = &v["services"][0];
    assert_eq!(svc["effective_request"]["cpu_m"], 500);
    assert_eq!(svc["effective_request"]["memory_mib"], 1024);
    assert_eq!(svc["per_node"]["e2-standard-4"]["instances"], 7);
    assert_eq!(svc["per_node"]["e2-standard-4"]["binding"], serde_json::json!(["cpu"]));
    let p = &v["by_node_type"]["e2-standard-4"];
    assert_eq!(p["nodes"], 3);
    assert_eq!(p["lower_bound"], 3);
    assert_eq!(p["optimal"], true);
    assert_eq!(p["gap"], 0.0);
    assert!(p["ffd"]["cluster_autoscaler"].is_u64() && p["ffd"]["karpenter"].is_u64());
    let placed: u64 = p["placement"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["pods"]["service"].as_u64().unwrap())
        .sum();
    assert_eq!(placed, 20);
    assert_eq!(p["placement"][0]["type"], "e2-standard-4");
}

#[test]
fn headroom_flags() {
    // m5.large on EKS, no DaemonSets: 1930m, 80% of it = 1544m. 400m pods: 4 per node at 100%,
    // 3 at 80%. 10 replicas + 25% surge = 13 -> ceil(13/3) = 5 nodes, + 1 spare = 6.
    let out = run(&[
        "plan",
        "--node",
        "cpu=2,memory=8Gi,pods=29,reserved=eks",
        "--cpu",
        "400m",
        "--memory",
        "256Mi",
        "--replicas",
        "10",
        "--target-utilization",
        "80%",
        "--surge",
        "25%",
        "--spare-nodes",
        "1",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let v = json(&out);
    assert_eq!(v["services"][0]["planned_replicas"], 13);
    assert_eq!(v["services"][0]["per_node"]["node"]["instances"], 3);
    assert_eq!(v["by_node_type"]["node"]["nodes"], 6);
    assert_eq!(v["headroom"]["spare_nodes"], 1);
}

#[test]
fn a_service_that_fits_nowhere_exits_1_and_is_named() {
    let out = run(&[
        "plan",
        "--node",
        "cpu=2,memory=8Gi,pods=29,reserved=eks",
        "--cpu",
        "3",
        "--memory",
        "1Gi",
        "--name",
        "big",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("service `big` fits no node type") && err.contains("needs 3000m CPU, 1930m free"),
        "{err}"
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("error: service `big` fits no node type"), "{text}");
}

#[test]
fn bad_input_exits_2_with_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("plan.yaml");
    std::fs::write(&f, "node_types:\n  - {name: a, cpu: 4, memory: 16Gi, reserved: eks}\nservices:\n  - {name: s, cpu: 1, memory: 1Gj}\n").unwrap();
    let out = run(&["plan", f.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("plan.yaml:4:31") && err.contains("PL004"), "{err}");
    // Missing file, bad flag, SARIF: exit 2, no panic.
    assert_eq!(run(&["plan", "/nonexistent/plan.yaml"]).status.code(), Some(2));
    assert_eq!(run(&["plan", "--node", "cpu=4", "--cpu", "1"]).status.code(), Some(2));
    assert_eq!(
        run(&[
            "plan",
            "--node",
            "cpu=4,memory=1Gi",
            "--cpu",
            "1",
            "--target-utilization",
            "1.5"
        ])
        .status
        .code(),
        Some(2)
    );
    assert_eq!(
        run(&["plan", &example("eks-web-api-worker.yaml"), "--format", "sarif"])
            .status
            .code(),
        Some(2)
    );
    // An image reference that cannot be read: a clear error at its line, exit 2 (no network:
    // a missing OCI layout; tests/plan_images.rs has the rest).
    std::fs::write(&f, "node_types:\n  - {name: a, cpu: 4, memory: 16Gi, reserved: eks}\nimages:\n  app: {ref: \"oci:/nonexistent/app\"}\nservices:\n  - {name: s, cpu: 1, image: app}\n").unwrap();
    let out = run(&["plan", f.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("PL009") && err.contains("/nonexistent/app") && err.contains("plan.yaml:4:"),
        "{err}"
    );
    let out = run(&[
        "plan",
        "--node",
        "cpu=4,memory=16Gi",
        "--cpu",
        "1",
        "--image",
        "oci:/nonexistent/app",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/app"));
}

#[test]
fn examples_run_and_report_the_shape_the_issue_names() {
    let out = run(&["plan", &example("eks-web-api-worker.yaml"), "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let v = json(&out);
    for key in ["schema_version", "node_types", "services", "by_node_type", "cheapest"] {
        assert!(v.get(key).is_some(), "{key}");
    }
    for key in [
        "name",
        "capacity",
        "reserved",
        "allocatable",
        "free_after_daemonsets",
        "image_budget_mib",
    ] {
        assert!(v["node_types"][0].get(key).is_some(), "node_types[].{key}");
    }
    let c = &v["cheapest"];
    for key in [
        "cost_per_hour",
        "node_counts",
        "lower_bound_cost",
        "gap",
        "optimal",
        "placement",
    ] {
        assert!(c.get(key).is_some(), "cheapest.{key}");
    }
    // The cheapest fleet is never dearer than the cheapest single-type FFD fleet.
    assert!(c["cost_per_hour"].as_f64().unwrap() <= c["ffd_cost_per_hour"].as_f64().unwrap() + 1e-9);
    // worker (1.55 cores + sidecar) does not fit an m5.large after the DaemonSets (1505m free).
    assert_eq!(
        v["by_node_type"]["m5.large"]["not_placed"],
        serde_json::json!(["worker"])
    );
    // r5.large has max_nodes: 6: the cheapest fleet respects it.
    assert!(
        c["node_counts"]
            .get("r5.large")
            .and_then(serde_json::Value::as_u64)
            .unwrap_or(0)
            <= 6
    );

    // ubuntu vs alpine: the same instances per node; pod slots bind on m5.large.
    let v = json(&run(&["plan", &example("ubuntu-vs-alpine.yaml"), "--format", "json"]));
    let s = v["services"].as_array().unwrap();
    for t in ["m5.large", "m5.large-prefix"] {
        assert_eq!(s[0]["per_node"][t]["instances"], s[1]["per_node"][t]["instances"]);
    }
    assert_eq!(s[0]["per_node"]["m5.large"]["instances"], 27);
    assert_eq!(s[0]["per_node"]["m5.large"]["binding"], serde_json::json!(["pods"]));
    assert_eq!(s[0]["per_node"]["m5.large-prefix"]["instances"], 90);
    assert!(s[0]["pull_mib"]["m5.large"].as_f64().unwrap() > s[1]["pull_mib"]["m5.large"].as_f64().unwrap());

    // GPU pair: llm and vision share nodes thanks to the shared base; legacy-ocr never does.
    let v = json(&run(&["plan", &example("gke-gpu-inference.yaml"), "--format", "json"]));
    let placement = v["by_node_type"]["g2-standard-24"]["placement"].as_array().unwrap();
    assert!(
        placement
            .iter()
            .any(|n| n["pods"].get("llm").is_some() && n["pods"].get("vision").is_some())
    );
    assert!(
        placement
            .iter()
            .all(|n| n["pods"].get("legacy-ocr").is_none() || n["pods"].as_object().unwrap().len() == 1)
    );

    // Markdown renders.
    let out = run(&["plan", &example("gke-gpu-inference.yaml"), "--format", "markdown"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        String::from_utf8(out.stdout)
            .unwrap()
            .contains("| node type | nodes | lower bound |")
    );
}

//! What `imgopt plan` shows a new user: a service that fits nowhere is named with its reason,
//! partial plans are marked and never called cheapest, one image budget, one table order, and
//! tables that fit 100 columns without splitting words.
#![allow(clippy::unwrap_used)]

use crate::support;

use std::path::PathBuf;
use std::process::Output;

fn run(args: &[&str]) -> Output {
    support::imgopt().args(args).output()
}

fn plan_file(body: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("plan.yaml");
    std::fs::write(&p, body).unwrap();
    let s = p.display().to_string();
    (dir, s)
}

const PLAN: &str = "node_types:\n\
  - {name: zeta-small, cpu: \"2\", memory: 8Gi, reserved: eks, price_per_hour: 0.1, max_nodes: 2}\n\
  - {name: alpha-big, cpu: \"8\", memory: 32Gi, reserved: eks, price_per_hour: 0.4}\n\
services:\n\
  - {name: huge, replicas: 1, cpu: \"64\", memory: 1Gi}\n\
  - {name: mid, replicas: 6, cpu: \"3\", memory: 1Gi}\n\
  - {name: web, replicas: 10, cpu: 500m, memory: 1Gi}\n";

#[test]
fn fits_nowhere_and_partial_plans_are_marked() {
    let (_d, plan) = plan_file(PLAN);
    let out = run(&["plan", &plan, "--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let small = &v["by_node_type"]["zeta-small"];
    let big = &v["by_node_type"]["alpha-big"];
    // `huge` fits nowhere: every type lists it, so no single-type plan is complete.
    assert!(small["not_placed"].as_array().unwrap().contains(&"huge".into()));
    assert!(big["not_placed"].as_array().unwrap().contains(&"huge".into()));
    assert_eq!(big["complete"], false);
    // zeta-small: `mid` does not fit it either, and web alone needs more than max_nodes 2.
    assert_eq!(small["max_nodes_exceeded"], true, "{small}");
    assert_eq!(small["complete"], false);
    assert_eq!(v["cheapest"]["not_placed"][0], "huge");

    let out = run(&["plan", &plan]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("huge (cpu"), "{text}");
    assert!(text.contains("partial"), "{text}");
    assert!(text.contains("max_nodes"), "{text}");
    assert!(
        text.contains("Cheapest fleet for the services that fit (partial)"),
        "{text}"
    );
    // File order in every table: zeta-small before alpha-big, also in the per-type table.
    let per_type = &text[text.find("one node type at a time").unwrap()..];
    assert!(per_type.find("zeta-small").unwrap() < per_type.find("alpha-big").unwrap());
    assert!(
        String::from_utf8(out.stderr)
            .unwrap()
            .contains("`huge` fits no node type")
    );
}

#[test]
fn one_image_budget_and_tables_within_100_columns() {
    let gke = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/plans/gke-gpu-inference.yaml");
    let out = run(&["plan", gke.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    let v: serde_json::Value =
        serde_json::from_slice(&run(&["plan", gke.to_str().unwrap(), "--format", "json"]).stdout).unwrap();
    let n = &v["node_types"][0];
    let whole = n["image_cache_budget_mib"].as_i64().unwrap();
    let after = n["image_budget_mib"].as_i64().unwrap();
    assert!(whole > after);
    // The same whole budget in the node table and in every service's cache cell.
    assert!(text.contains(&format!("{whole} MiB ({}", whole - after)), "{text}");
    assert!(text.contains(&format!("of {whole} MiB")), "{text}");
    assert!(!text.contains(&format!("{after} MiB")), "{text}");
    for line in text.lines() {
        assert!(line.chars().count() <= 100, "{} columns: {line}", line.chars().count());
    }
    // Node type names and binding words are never split across lines.
    let name = n["name"].as_str().unwrap();
    assert!(text.matches(name).count() >= 4, "{text}");
    assert!(text.contains("max_per_node-bound:"), "{text}");
}

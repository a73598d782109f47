//! `imgopt plan --manifests DIR|FILE|-` and `imgopt report --manifests` as a user runs them:
//! rendered Helm output on stdin, a folder of manifests walked within its limits, node types
//! from a plan file or `--node`, and bad input exiting 2 with the file and line.
use crate::support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn run_in(dir: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    support::imgopt()
        .args(args)
        .current_dir(dir)
        .stdin(stdin.unwrap_or(""))
        .output()
}

fn run(args: &[&str], stdin: Option<&str>) -> Output {
    run_in(&root(), args, stdin)
}

fn json(out: &Output) -> serde_json::Value {
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn err(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn service<'a>(v: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    v["services"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no service {name} in {v}"))
}

const NODES: &str = "examples/manifests/nodes.yaml";
const SHOP: &str = "examples/manifests/shop.yaml";

/// `helm template … | imgopt plan nodes.yaml --manifests -`: the Deployment and StatefulSet
/// are services with their replicas, requests (limits where requests are missing) and images;
/// the DaemonSet takes room on every node; the Job and the Service are not planned.
#[test]
fn helm_output_on_stdin() {
    let shop = std::fs::read_to_string(root().join(SHOP)).unwrap();
    let v = json(&run(
        &["plan", NODES, "--manifests", "-", "--format", "json"],
        Some(&shop),
    ));
    let names: Vec<&str> = v["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["storefront", "cart", "search"]);
    let front = service(&v, "storefront");
    assert_eq!(front["replicas"], 12);
    assert_eq!(front["effective_request"]["cpu_m"], 600, "two containers");
    assert_eq!(front["effective_request"]["memory_mib"], 1024 + 128);
    assert_eq!(
        front["image"], "ghcr.io/acme/storefront:2.7 + envoyproxy/envoy:v1.31.2",
        "both containers' images count on the node"
    );
    // 28 + 52 + 55 MiB pulled (the DaemonSet's image is not in the plan's images).
    assert_eq!(front["pull_mib"]["e2-standard-4"], 135.0);
    let cart = service(&v, "cart");
    assert_eq!(cart["effective_request"]["cpu_m"], 1000, "limits copied to requests");
    assert_eq!(cart["max_per_node"], 1, "required hostname anti-affinity");
    // The shared base layer is pulled once: cart pulls only its own 31 MiB on a node where
    // storefront is... but on a fresh node, its whole image.
    assert_eq!(cart["pull_mib"]["e2-standard-4"], 59.0);
    assert!(service(&v, "search").get("image").is_none(), "not under images");
    // The DaemonSet: 100m on every node.
    let nt = &v["node_types"][0];
    let alloc = nt["allocatable"]["cpu_m"].as_u64().unwrap();
    assert_eq!(nt["free_after_daemonsets"]["cpu_m"].as_u64().unwrap(), alloc - 100);
    // The same from the file gives the same plan.
    let from_file = json(&run(&["plan", NODES, "--manifests", SHOP, "--format", "json"], None));
    assert_eq!(from_file, v);
}

/// Images the plan does not list are named on stderr (not only with -v); what was left out
/// and why is said with -v.
#[test]
fn unmatched_images_and_skipped_kinds_are_said() {
    let out = run(&["plan", NODES, "--manifests", SHOP, "-v"], None);
    assert_eq!(out.status.code(), Some(0), "{}", err(&out));
    let e = err(&out);
    assert!(
        e.contains("docker.elastic.co/elasticsearch/elasticsearch:8.15.0"),
        "{e}"
    );
    assert!(e.contains("grafana/alloy:v1.4.2"), "{e}");
    assert!(e.contains("not planned: Job migrate"), "{e}");
    assert!(e.contains("runs to completion"), "{e}");
    assert!(e.contains("3 services, 1 DaemonSet from 1 file"), "{e}");
}

/// No plan file: node types from `--node`, like kube-capacity's view of one node shape.
#[test]
fn node_flags_and_a_folder() {
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("k8s");
    std::fs::create_dir_all(m.join("team-a/nested")).unwrap();
    std::fs::write(
        m.join("team-a/api.yaml"),
        "kind: Deployment\nmetadata: {name: api}\nspec:\n  replicas: 10\n  template: {spec: {containers: [{name: a, resources: {requests: {cpu: 1, memory: 2Gi}}}]}}\n",
    )
    .unwrap();
    std::fs::write(
        m.join("team-a/nested/worker.yml"),
        "kind: StatefulSet\nmetadata: {name: worker}\nspec:\n  replicas: 2\n  template: {spec: {containers: [{name: w, resources: {requests: {cpu: 2, memory: 4Gi}}}]}}\n",
    )
    .unwrap();
    std::fs::write(m.join("README.md"), "kind: Deployment\nnot: yaml we read\n").unwrap();
    std::fs::create_dir_all(m.join(".git")).unwrap();
    std::fs::write(
        m.join(".git/x.yaml"),
        "kind: Deployment\nmetadata: {name: hidden}\nspec: {template: {spec: {containers: [{name: c}]}}}\n",
    )
    .unwrap();
    let out = run_in(
        dir.path(),
        &[
            "plan",
            "--manifests",
            "k8s",
            "--node",
            "cpu=4,memory=16Gi,reserved=gke,price=0.134,name=e2-standard-4",
            "--format",
            "json",
            "-v",
        ],
        None,
    );
    let e = err(&out);
    let v = json(&out);
    let names: Vec<&str> = v["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["api", "worker"],
        "name order of the walk, hidden folders skipped"
    );
    assert_eq!(service(&v, "api")["per_node"]["e2-standard-4"]["instances"], 3);
    assert!(e.contains("README.md (not *.yaml"), "{e}");
    assert!(v["by_node_type"]["e2-standard-4"]["nodes"].as_u64().unwrap() >= 4);
    // Without node types it says how to give them.
    let out = run_in(dir.path(), &["plan", "--manifests", "k8s"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(err(&out).contains("--node"), "{}", err(&out));
}

/// A plan file without `services` is only accepted with --manifests; its own services and the
/// manifests' are planned together, and a name used by both is an error.
#[test]
fn plan_file_services_join_the_manifests() {
    let dir = tempfile::tempdir().unwrap();
    let nodes = "node_types:\n  - {name: n, cpu: \"4\", memory: 16Gi, reserved: gke}\n";
    std::fs::write(dir.path().join("nodes.yaml"), nodes).unwrap();
    std::fs::write(
        dir.path().join("m.yaml"),
        "kind: Deployment\nmetadata: {name: web}\nspec: {replicas: 2, template: {spec: {containers: [{name: c, resources: {requests: {cpu: 500m}}}]}}}\n",
    )
    .unwrap();
    let out = run_in(dir.path(), &["plan", "nodes.yaml"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(err(&out).contains("PL005"), "{}", err(&out));
    let v = json(&run_in(
        dir.path(),
        &["plan", "nodes.yaml", "--manifests", "m.yaml", "--format", "json"],
        None,
    ));
    assert_eq!(service(&v, "web")["replicas"], 2);
    std::fs::write(
        dir.path().join("both.yaml"),
        format!("{nodes}services:\n  - {{name: web, cpu: 1}}\n  - {{name: db, cpu: 1}}\n"),
    )
    .unwrap();
    let out = run_in(dir.path(), &["plan", "both.yaml", "--manifests", "m.yaml"], None);
    assert_eq!(out.status.code(), Some(2));
    let e = err(&out);
    assert!(e.contains("PL007") && e.contains("m.yaml:1"), "{e}");
}

/// Bad manifests exit 2 naming the file and line, without showing the manifest's lines
/// (rendered Helm output can hold secrets).
#[test]
fn bad_manifests_name_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("nodes.yaml"),
        "node_types:\n  - {name: n, cpu: \"4\", memory: 16Gi, reserved: gke}\n",
    )
    .unwrap();
    let m = dir.path().join("m");
    std::fs::create_dir_all(&m).unwrap();
    std::fs::write(
        m.join("a.yaml"),
        "kind: Deployment\nmetadata: {name: web}\nspec:\n  template:\n    spec:\n      containers:\n        - {name: c, resources: {requests: {cpu: SECRET-lots}}}\n",
    )
    .unwrap();
    let out = run_in(dir.path(), &["plan", "nodes.yaml", "--manifests", "m"], None);
    assert_eq!(out.status.code(), Some(2));
    let e = err(&out);
    assert!(e.contains("m/a.yaml:7"), "{e}");
    assert!(!e.contains("resources:"), "a manifest's lines are never shown: {e}");
    // YAML syntax, on stdin.
    let out = run_in(
        dir.path(),
        &["plan", "nodes.yaml", "--manifests", "-"],
        Some("---\nkind: Deployment\nmetadata: {name: [unclosed\n"),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(err(&out).contains("<stdin>:"), "{}", err(&out));
    // Nothing to plan.
    let out = run_in(
        dir.path(),
        &["plan", "nodes.yaml", "--manifests", "-"],
        Some("kind: ConfigMap\nmetadata: {name: c}\n"),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(err(&out).contains("PL008"), "{}", err(&out));
    // Two readers of stdin.
    let out = run_in(dir.path(), &["plan", "-", "--manifests", "-"], Some(""));
    assert_eq!(out.status.code(), Some(2));
    assert!(err(&out).contains("stdin"), "{}", err(&out));
}

/// The walk: no symbolic link out of the folder or to a folder is followed, a link to a file
/// inside is, a FIFO is refused, and the file count is capped.
#[cfg(unix)]
#[test]
fn the_walk_stays_inside_and_is_capped() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("nodes.yaml"),
        "node_types:\n  - {name: n, cpu: \"4\", memory: 16Gi, reserved: gke}\n",
    )
    .unwrap();
    let outside = dir.path().join("outside.yaml");
    std::fs::write(
        &outside,
        "kind: Deployment\nmetadata: {name: outsider}\nspec: {template: {spec: {containers: [{name: c}]}}}\n",
    )
    .unwrap();
    let m = dir.path().join("m");
    std::fs::create_dir_all(m.join("sub")).unwrap();
    std::fs::write(
        m.join("sub/in.yaml"),
        "kind: Deployment\nmetadata: {name: inside}\nspec: {template: {spec: {containers: [{name: c}]}}}\n",
    )
    .unwrap();
    std::os::unix::fs::symlink(&outside, m.join("escape.yaml")).unwrap();
    std::os::unix::fs::symlink(m.join("sub"), m.join("loop")).unwrap();
    std::os::unix::fs::symlink(dir.path(), m.join("sub/up")).unwrap();
    let out = run_in(
        dir.path(),
        &["plan", "nodes.yaml", "--manifests", "m", "--format", "json", "-v"],
        None,
    );
    let e = err(&out);
    let v = json(&out);
    let names: Vec<&str> = v["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["inside"], "{e}");
    assert!(e.contains("escape.yaml (a symbolic link out of the folder)"), "{e}");
    assert!(e.contains("loop (a symbolic link to a folder is not followed)"), "{e}");
    // A FIFO named like a manifest.
    let fifo = m.join("pipe.yaml");
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let out = run_in(dir.path(), &["plan", "nodes.yaml", "--manifests", "m"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(err(&out).contains("pipe.yaml is not a regular file"), "{}", err(&out));
    std::fs::remove_file(&fifo).unwrap();
    // A device is not a manifest.
    let out = run_in(dir.path(), &["plan", "nodes.yaml", "--manifests", "/dev/zero"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(err(&out).contains("/dev/zero is not a regular file"), "{}", err(&out));
    // More files than the cap.
    let many = dir.path().join("many");
    std::fs::create_dir_all(&many).unwrap();
    for i in 0..=10_000 {
        std::fs::write(many.join(format!("{i:05}.yaml")), "").unwrap();
    }
    let out = run_in(dir.path(), &["plan", "nodes.yaml", "--manifests", "many"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(err(&out).contains("more than 10000 manifest files"), "{}", err(&out));
}

/// `imgopt report --manifests`: the report's plan is `imgopt plan`'s for the same input.
#[test]
fn report_reads_manifests_too() {
    let p = json(&run(&["plan", NODES, "--manifests", SHOP, "--format", "json"], None));
    let r = json(&run(&["report", NODES, "--manifests", SHOP, "--format", "json"], None));
    assert_eq!(r["plan"], p);
    // The images section lists real images, each used by the services whose pods run it; the
    // union the planner uses for a two-container pod is not an image of its own.
    let images: Vec<(&str, &serde_json::Value)> = r["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["name"].as_str().unwrap(), &i["used_by"]))
        .collect();
    assert_eq!(images.len(), 3, "{images:?}");
    for (name, used_by) in &images {
        assert!(!name.contains(" + "), "{name}");
        let want = if name.contains("cart") { "cart" } else { "storefront" };
        assert_eq!(used_by[0], want, "{name}");
    }
    // A what-if on one image of the union changes the union the planner uses.
    let df = tempfile::tempdir().unwrap();
    let docker = df.path().join("Dockerfile");
    std::fs::write(
        &docker,
        "FROM ubuntu:24.04\nRUN apt-get update\nRUN apt-get install -y curl\nCMD [\"curl\"]\n",
    )
    .unwrap();
    let link = format!("envoyproxy/envoy:v1.31.2={}", docker.display());
    let w = json(&run(
        &[
            "report",
            NODES,
            "--manifests",
            SHOP,
            "--dockerfile",
            &link,
            "--format",
            "json",
        ],
        None,
    ));
    let rows = w["what_if"]["services"].as_array().unwrap();
    assert!(!rows.is_empty());
    for row in rows {
        assert_eq!(row["service"], "storefront");
        assert!(row["after"]["pull_mib"].as_f64().unwrap() < row["before"]["pull_mib"].as_f64().unwrap());
    }
    let html = run(&["report", NODES, "--manifests", SHOP], None);
    assert_eq!(html.status.code(), Some(0));
    let html = String::from_utf8(html.stdout).unwrap();
    assert!(html.contains(r#"data-service="storefront""#));
}

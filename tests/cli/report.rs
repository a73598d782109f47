//! `imgopt report` as a user runs it: the examples stay current, the numbers are the
//! planner's, input is escaped, and bad input exits 1 or 2 as documented.
#![allow(clippy::unwrap_used)]

use crate::support;

use std::path::{Path, PathBuf};
use std::process::Output;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn run(args: &[&str]) -> Output {
    support::imgopt().args(args).current_dir(root()).output()
}

fn plans() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(root().join("examples/plans"))
        .unwrap()
        .filter_map(|e| {
            let p = e.unwrap().path();
            (p.extension().is_some_and(|x| x == "yaml")).then(|| p.file_stem().unwrap().to_string_lossy().into_owned())
        })
        .collect();
    v.sort();
    v
}

/// The arguments an example report is made with besides its plan (docs/report.md lists the
/// same commands).
fn example_args(name: &str) -> Vec<&'static str> {
    match name {
        "ubuntu-vs-alpine" => vec![
            "--dockerfile",
            "app-on-ubuntu=examples/dockerfiles/app-on-ubuntu/Dockerfile",
            "--policy",
            "policies/strict.toml",
        ],
        _ => Vec::new(),
    }
}

/// examples/reports/NAME.html and .md are what `imgopt report examples/plans/NAME.yaml`
/// (with [`example_args`]) writes today. `IMGOPT_BLESS=1` rewrites them.
#[test]
fn examples_are_current() {
    let bless = std::env::var_os("IMGOPT_BLESS").is_some();
    assert!(plans().len() >= 3);
    let mut stale = Vec::new();
    // Every example plan, and the manifests example.
    let mut examples: Vec<(String, Vec<String>)> = plans()
        .into_iter()
        .map(|name| {
            let mut a = vec![format!("examples/plans/{name}.yaml")];
            a.extend(example_args(&name).into_iter().map(str::to_string));
            (name, a)
        })
        .collect();
    examples.push((
        "shop-manifests".to_string(),
        [
            "examples/manifests/nodes.yaml",
            "--manifests",
            "examples/manifests/shop.yaml",
        ]
        .map(str::to_string)
        .to_vec(),
    ));
    for (name, extra) in examples {
        let plan = extra[0].clone();
        for (format, ext) in [("html", "html"), ("markdown", "md")] {
            let mut args = vec!["report", "--format", format];
            args.extend(extra.iter().map(String::as_str));
            let out = run(&args);
            assert_eq!(
                out.status.code(),
                Some(0),
                "{plan}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let path = root().join(format!("examples/reports/{name}.{ext}"));
            if bless {
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(&path, &out.stdout).unwrap();
            } else if std::fs::read(&path).ok().as_deref() != Some(&out.stdout[..]) {
                stale.push(path.display().to_string());
            }
        }
    }
    assert!(
        stale.is_empty(),
        "out of date (regenerate with IMGOPT_BLESS=1 cargo test --test report examples_are_current): {stale:?}"
    );
}

/// `--format json` embeds the planner's report unchanged: it equals `imgopt plan --format json`.
#[test]
fn json_embeds_the_plan_exactly() {
    for name in plans() {
        let plan = format!("examples/plans/{name}.yaml");
        let p = run(&["plan", &plan, "--format", "json"]);
        let r = run(&["report", &plan, "--format", "json"]);
        assert_eq!(r.status.code(), Some(0));
        let p: serde_json::Value = serde_json::from_slice(&p.stdout).unwrap();
        let r: serde_json::Value = serde_json::from_slice(&r.stdout).unwrap();
        assert_eq!(r["plan"], p, "{plan}");
        assert_eq!(r["schema_version"], 1);
    }
}

/// The format follows `-o`'s extension unless `--format` says otherwise.
#[test]
fn output_extension_picks_the_format() {
    let dir = tempfile::tempdir().unwrap();
    let md = dir.path().join("r.md");
    let html = dir.path().join("r.html");
    let plan = "examples/plans/ubuntu-vs-alpine.yaml";
    assert_eq!(
        run(&["report", plan, "-o", md.to_str().unwrap()]).status.code(),
        Some(0)
    );
    assert_eq!(
        run(&["report", plan, "-o", html.to_str().unwrap()]).status.code(),
        Some(0)
    );
    assert!(std::fs::read_to_string(md).unwrap().starts_with("## Capacity plan"));
    assert!(std::fs::read_to_string(html).unwrap().starts_with("<!DOCTYPE html>"));
    let out = run(&["report", plan, "--format", "human"]);
    assert_eq!(out.status.code(), Some(2));
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.to_str().unwrap().to_string()
}

const HOSTILE: &str = r#"node_types:
  - {name: "n<script>alert(1)</script>", cpu: "4", memory: 16Gi, max_pods: 110, reserved: gke, price_per_hour: 0.2, disk: 100Gi}
images:
  "img\"><img src=x>": {layers: [{digest: "sha256:<b>x</b>", size: 10Mi}]}
services:
  - {name: "svc'<i>&amp;", replicas: 3, cpu: 500m, memory: 1Gi, image: "img\"><img src=x>"}
"#;

/// Names from the plan file are escaped in HTML and Markdown: no tag from the input survives.
#[test]
fn input_is_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let plan = write(dir.path(), "hostile.yaml", HOSTILE);
    let html = run(&["report", &plan, "--format", "html"]);
    assert_eq!(html.status.code(), Some(0), "{}", String::from_utf8_lossy(&html.stderr));
    let html = String::from_utf8(html.stdout).unwrap();
    for bad in ["<script", "<img", "<b>x", "<i>"] {
        assert!(!html.contains(bad), "{bad} survived");
    }
    assert!(html.contains("n&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(html.contains("svc&#39;&lt;i&gt;&amp;amp;"));
    let md = run(&["report", &plan, "--format", "markdown"]);
    let md = String::from_utf8(md.stdout).unwrap();
    assert!(!md.contains("<script") && !md.contains("<img"), "{md}");
}

/// An image that cannot be read: the report names it and the sections it lacks, and exits 1.
#[test]
fn unreadable_image_names_the_missing_sections() {
    let dir = tempfile::tempdir().unwrap();
    let out_file = dir.path().join("r.html");
    let missing = dir.path().join("no-such-layout");
    let image = format!("app-on-ubuntu=oci:{}", missing.display());
    let out = run(&[
        "report",
        "examples/plans/ubuntu-vs-alpine.yaml",
        "--image",
        &image,
        "-o",
        out_file.to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("image `app-on-ubuntu`"), "{err}");
    assert!(
        err.contains("the report lacks: Images, Services, Nodes and cost"),
        "{err}"
    );
    let html = std::fs::read_to_string(&out_file).unwrap();
    assert!(html.contains(r#"data-missing-image="app-on-ubuntu""#));
    assert!(html.contains("planned without an image"));
    let json = run(&[
        "report",
        "examples/plans/ubuntu-vs-alpine.yaml",
        "--image",
        &image,
        "--format",
        "json",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v["missing"][0]["name"], "app-on-ubuntu");
    assert_eq!(v["missing"][0]["services"][0], "app-ubuntu");
    assert!(
        v["images"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["name"] != "app-on-ubuntu")
    );
}

/// `-o` into a folder that does not exist, a bad plan (with its line), a bad `--image`: exit 2.
#[test]
fn bad_input_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let nowhere = dir.path().join("missing/dir/r.html");
    let out = run(&[
        "report",
        "examples/plans/ubuntu-vs-alpine.yaml",
        "-o",
        nowhere.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("r.html") && err.contains("missing/dir does not exist"),
        "{err}"
    );
    assert!(!nowhere.parent().unwrap().exists(), "no folder is created");
    let plan = write(
        dir.path(),
        "bad.yaml",
        "node_types:\n  - {name: a, cpu: 4}\nservices: []\n",
    );
    let out = run(&["report", &plan]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("bad.yaml:2"), "{err}");
    let out = run(&[
        "report",
        "examples/plans/ubuntu-vs-alpine.yaml",
        "--image",
        "nonamegiven",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("NAME=REF"));
}

/// `--dockerfile`: findings and the predicted saving join every format.
#[test]
fn dockerfile_findings_join_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let df = write(
        dir.path(),
        "Dockerfile",
        "FROM ubuntu:22.04\nRUN apt-get update && apt-get install -y curl\n",
    );
    let plan = "examples/plans/ubuntu-vs-alpine.yaml";
    let json = run(&["report", plan, "--dockerfile", &df, "--format", "json"]);
    assert_eq!(json.status.code(), Some(0), "{}", String::from_utf8_lossy(&json.stderr));
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let codes: Vec<&str> = v["dockerfiles"]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    assert!(!codes.is_empty());
    let html = String::from_utf8(run(&["report", plan, "--dockerfile", &df]).stdout).unwrap();
    assert!(html.contains(r#"<section id="findings">"#));
    for c in &codes {
        assert!(html.contains(c), "{c}");
    }
}

/// Real images through `--image NAME=REF`: sizes per image are the measured layer sizes
/// (images.tsv of the fixtures), and the same layers compressed two ways (gzip and zstd) are
/// shared, since a node stores and pulls a layer once by its chain ID.
#[test]
fn real_images_and_their_shared_layers() {
    let Some(fix) = support::fixtures_dir() else { return };
    let tsv = std::fs::read_to_string(fix.join("images.tsv")).unwrap();
    let row = |name: &str| -> (u64, u64, u64) {
        let cols: Vec<&str> = tsv
            .lines()
            .find(|l| l.starts_with(&format!("{name}\t")))
            .unwrap()
            .split('\t')
            .collect();
        (
            cols[3].parse().unwrap(),
            cols[4].parse().unwrap(),
            cols[5].parse().unwrap(),
        )
    };
    let a = format!("app-on-ubuntu=oci:{}", fix.join("oci/py-slim").display());
    let b = format!("app-on-alpine=oci:{}", fix.join("oci/py-slim-zstd").display());
    let out = run(&[
        "report",
        "examples/plans/ubuntu-vs-alpine.yaml",
        "--image",
        &a,
        "--image",
        &b,
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let images = v["images"].as_array().unwrap();
    for (key, fixture) in [("app-on-ubuntu", "py-slim"), ("app-on-alpine", "py-slim-zstd")] {
        let img = images.iter().find(|i| i["name"] == key).unwrap();
        let (layers, compressed, _) = row(fixture);
        assert_eq!(img["layers"].as_array().unwrap().len() as u64, layers, "{key}");
        assert_eq!(img["compressed_size"].as_u64().unwrap(), compressed, "{key}");
    }
    let (layers, _, _) = row("py-slim");
    assert_eq!(v["shared_layers"].as_object().unwrap().len() as u64, layers);
    let html = run(&[
        "report",
        "examples/plans/ubuntu-vs-alpine.yaml",
        "--image",
        &a,
        "--image",
        &b,
    ]);
    let html = String::from_utf8(html.stdout).unwrap();
    assert!(html.contains("layer shared with another image"));
}

const UBUNTU_DOCKERFILE: &str = "app-on-ubuntu=examples/dockerfiles/app-on-ubuntu/Dockerfile";

/// The seed's claim ("ubuntu gives 15 per node, alpine 90") explained by the what-if: the
/// Dockerfile's fixes shrink the ubuntu image, the planner runs again, and the report says
/// which resource binds before and after and that the smaller image buys pull and disk, not
/// instances.
#[test]
fn what_if_explains_what_a_smaller_image_buys() {
    let plan = "examples/plans/ubuntu-vs-alpine.yaml";
    let v: serde_json::Value = {
        let out = run(&["report", plan, "--dockerfile", UBUNTU_DOCKERFILE, "--format", "json"]);
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let w = &v["what_if"];
    let img = &w["images"][0];
    assert_eq!(img["image"], "app-on-ubuntu");
    assert_eq!(
        img["source"], "findings",
        "python from apt: the rewrite leaves the file as it is"
    );
    let (before, after) = (
        img["size_before"].as_u64().unwrap(),
        img["size_after"].as_u64().unwrap(),
    );
    assert_eq!(before, 213 << 20);
    assert_eq!(before - after, img["saving_high"].as_u64().unwrap());
    assert!(img["compressed_after"].as_u64().unwrap() < img["compressed_before"].as_u64().unwrap());
    let rows = w["services"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "app-ubuntu on both node types");
    for r in rows {
        assert_eq!(r["service"], "app-ubuntu");
        assert_eq!(r["before"]["instances"], r["after"]["instances"], "{r}");
        assert_eq!(r["before"]["binding"], r["after"]["binding"]);
        assert!(r["after"]["pull_mib"].as_f64().unwrap() < r["before"]["pull_mib"].as_f64().unwrap());
        // The plan before is the report's plan.
        let t = r["node_type"].as_str().unwrap();
        let p = v["plan"]["services"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == "app-ubuntu")
            .unwrap();
        assert_eq!(r["before"]["instances"], p["per_node"][t]["instances"]);
    }
    let verdicts: Vec<&str> = w["verdicts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap())
        .collect();
    assert!(
        verdicts.iter().any(|x| x
            .contains("app-ubuntu on m5.large-prefix: 90 per node before and after, because cpu binds both times")
            && x.contains("not density")),
        "{verdicts:?}"
    );
    let html = String::from_utf8(run(&["report", plan, "--dockerfile", UBUNTU_DOCKERFILE]).stdout).unwrap();
    assert!(html.contains(r#"<section id="what-if">"#));
    assert!(
        html.contains(
            r#"data-what-if-service="app-ubuntu" data-type="m5.large-prefix" data-before="90" data-after="90""#
        )
    );
    let md = String::from_utf8(
        run(&[
            "report",
            plan,
            "--dockerfile",
            UBUNTU_DOCKERFILE,
            "--format",
            "markdown",
        ])
        .stdout,
    )
    .unwrap();
    assert!(md.contains("### What if"), "{md}");
    assert!(md.contains("90 (same)"), "{md}");
    // A Dockerfile not linked to an image gives findings, no what-if.
    let plain = run(&[
        "report",
        plan,
        "--dockerfile",
        "examples/dockerfiles/app-on-ubuntu/Dockerfile",
        "--format",
        "json",
    ]);
    let p: serde_json::Value = serde_json::from_slice(&plain.stdout).unwrap();
    assert!(p.get("what_if").is_none());
    assert!(!p["dockerfiles"]["findings"].as_array().unwrap().is_empty());
}

/// When the image cache binds, the what-if shows the density the smaller image buys.
#[test]
fn what_if_when_disk_binds() {
    let dir = tempfile::tempdir().unwrap();
    // Budget: floor(2048 * 85 / 100) = 1740 MiB; the image is 1800 MiB, so nothing fits on
    // `small-disk` until the fixes take ~100 MiB off.
    let plan = write(
        dir.path(),
        "disk.yaml",
        r#"node_types:
  - {name: small-disk, cpu: "4", memory: 16Gi, reserved: gke, disk: 2Gi, price_per_hour: 0.1}
  - {name: big-disk, cpu: "4", memory: 16Gi, reserved: gke, disk: 100Gi, price_per_hour: 0.2}
images:
  app: {layers: [{digest: "sha256:aa", size: 1500Mi, compressed_size: 500Mi}, {digest: "sha256:bb", size: 300Mi, compressed_size: 100Mi}]}
services:
  - {name: api, replicas: 6, cpu: 500m, memory: 1Gi, image: app}
"#,
    );
    let df = write(
        dir.path(),
        "Dockerfile",
        "FROM ubuntu:24.04\nRUN apt-get update\nRUN apt-get install -y python3 curl\nCMD [\"python3\"]\n",
    );
    let link = format!("app={df}");
    let out = run(&["report", &plan, "--dockerfile", &link, "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = v["what_if"]["services"].as_array().unwrap();
    let small = rows.iter().find(|r| r["node_type"] == "small-disk").unwrap();
    assert_eq!(small["before"]["instances"], 0);
    assert_eq!(small["before"]["binding"][0], "disk");
    assert!(small["after"]["instances"].as_u64().unwrap() > 0, "{small}");
    let verdicts = v["what_if"]["verdicts"].to_string();
    assert!(verdicts.contains("the image cache was the limit"), "{verdicts}");
    let cheapest = &v["what_if"]["cheapest"];
    assert!(cheapest["cost_after"].as_f64().unwrap() < cheapest["cost_before"].as_f64().unwrap());
}

const POLICY: &str = r#"[image]
max_bytes = "150 MiB"
max_layers = 30
min_efficiency = 0.9
non_root = true

[dockerfile]
fail_on = "warning"
"#;

/// `--policy`: every image and Dockerfile with each budget and its verdict, in all formats;
/// what the plan's layer sizes cannot tell is "not checked", never a pass on zeros.
#[test]
fn policy_budgets_per_image() {
    let dir = tempfile::tempdir().unwrap();
    let policy = write(dir.path(), "budget.toml", POLICY);
    let plan = "examples/plans/ubuntu-vs-alpine.yaml";
    let out = run(&[
        "report",
        plan,
        "--policy",
        &policy,
        "--dockerfile",
        UBUNTU_DOCKERFILE,
        "--format",
        "json",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "failed budgets are shown, not an exit code: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let b = &v["budgets"];
    let target = |t: &str| {
        b["targets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["target"] == t)
            .unwrap()
            .clone()
    };
    let check = |t: &serde_json::Value, id: &str| {
        t["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .unwrap()
            .clone()
    };
    let ubuntu = target("app-on-ubuntu");
    assert_eq!(check(&ubuntu, "image.max_bytes")["actual"], 213u64 << 20);
    assert_eq!(check(&ubuntu, "image.max_bytes")["passed"], false);
    assert_eq!(check(&ubuntu, "image.max_layers")["passed"], true);
    assert!(check(&ubuntu, "image.min_efficiency")["actual"].is_null());
    assert!(check(&ubuntu, "image.non_root")["actual"].is_null());
    let alpine = target("app-on-alpine");
    assert_eq!(check(&alpine, "image.max_bytes")["passed"], true);
    let df = target("examples/dockerfiles/app-on-ubuntu/Dockerfile");
    assert_eq!(df["kind"], "dockerfile");
    assert_eq!(
        check(&df, "dockerfile.fail_on")["passed"],
        false,
        "apt findings are warnings"
    );
    let html = String::from_utf8(run(&["report", plan, "--policy", &policy]).stdout).unwrap();
    assert!(html.contains(r#"<section id="budgets">"#));
    assert!(html.contains(r#"data-budget-target="app-on-ubuntu" data-budget="image.max_bytes" data-passed="false""#));
    assert!(html.contains("✗ FAIL") && html.contains("not checked"));
    let md = String::from_utf8(run(&["report", plan, "--policy", &policy, "--format", "markdown"]).stdout).unwrap();
    assert!(md.contains("### Budgets") && md.contains("**✗ FAIL**"), "{md}");
    // A policy with a problem: exit 2 at its line.
    let bad = write(dir.path(), "bad.toml", "[image]\nmax_bytes = \"lots\"\n");
    let out = run(&["report", plan, "--policy", &bad]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("bad.toml:2"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Budgets of an image read from a reference check its files too (efficiency, the user).
#[test]
fn policy_budgets_of_a_read_image() {
    let Some(fix) = support::fixtures_dir() else { return };
    let dir = tempfile::tempdir().unwrap();
    let policy = write(dir.path(), "budget.toml", POLICY);
    let a = format!("app-on-ubuntu=oci:{}", fix.join("oci/py-slim").display());
    let out = run(&[
        "report",
        "examples/plans/ubuntu-vs-alpine.yaml",
        "--image",
        &a,
        "--policy",
        &policy,
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let t = v["budgets"]["targets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["target"] == "app-on-ubuntu")
        .unwrap()
        .clone();
    for c in t["checks"].as_array().unwrap() {
        assert!(!c["actual"].is_null(), "{c}");
    }
}

/// An image that cannot be read also takes the what-if and the budgets of that image away,
/// and the report says so.
#[test]
fn unreadable_image_lacks_what_if_and_budgets() {
    let dir = tempfile::tempdir().unwrap();
    let policy = write(dir.path(), "budget.toml", POLICY);
    let image = format!("app-on-ubuntu=oci:{}", dir.path().join("none").display());
    let out = run(&[
        "report",
        "examples/plans/ubuntu-vs-alpine.yaml",
        "--image",
        &image,
        "--dockerfile",
        UBUNTU_DOCKERFILE,
        "--policy",
        &policy,
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("the report lacks: Images, Services, Nodes and cost, What if, Budgets"),
        "{err}"
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v.get("what_if").is_none());
    assert!(
        v["budgets"]["targets"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["target"] != "app-on-ubuntu")
    );
}

/// A Dockerfile `imgopt rewrite` changes: the what-if uses the rewrite's catalog estimate (a
/// multi-stage build on the slim base), pulled sizes included.
#[test]
fn what_if_uses_the_rewrite() {
    let dir = tempfile::tempdir().unwrap();
    let plan = write(
        dir.path(),
        "node.yaml",
        r#"node_types:
  - {name: n, cpu: "4", memory: 16Gi, reserved: gke, disk: 100Gi, price_per_hour: 0.134}
images:
  web: {layers: [{digest: "sha256:base", size: 1000Mi, compressed_size: 380Mi}, {digest: "sha256:app", size: 200Mi, compressed_size: 60Mi}]}
services:
  - {name: web, replicas: 8, cpu: 500m, memory: 1Gi, image: web}
"#,
    );
    let df = root().join("examples/dockerfiles/node-app/Dockerfile");
    let link = format!("web={}", df.display());
    let out = run(&["report", &plan, "--dockerfile", &link, "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let img = &v["what_if"]["images"][0];
    assert_eq!(img["source"], "rewrite", "{img}");
    assert!(img["what"].as_str().unwrap().contains("node:20-slim"), "{img}");
    assert_eq!(img["basis"][0], "catalog");
    let high = img["saving_high"].as_u64().unwrap();
    assert_eq!(
        img["size_before"].as_u64().unwrap() - img["size_after"].as_u64().unwrap(),
        high
    );
    let pulled = img["compressed_saving_high"].as_u64().unwrap();
    assert_eq!(
        img["compressed_before"].as_u64().unwrap() - img["compressed_after"].as_u64().unwrap(),
        pulled,
        "the catalog's pulled saving, not a ratio"
    );
}

/// A `ref:` image of the plan file that cannot be read: exit 1, the image and the sections it
/// takes away named on stderr and at the top of the page, in every format.
#[test]
fn unreadable_ref_in_the_plan_file() {
    let dir = tempfile::tempdir().unwrap();
    let plan = write(
        dir.path(),
        "ref.yaml",
        r#"node_types:
  - {name: n, cpu: "4", memory: 16Gi, reserved: gke, disk: 50Gi}
images:
  web: {ref: "oci:no-such-layout"}
services:
  - {name: web, replicas: 3, cpu: 500m, memory: 1Gi, image: web}
"#,
    );
    for (format, marker) in [
        ("html", r#"data-missing-image="web""#),
        ("markdown", "> **Incomplete:** image `web`"),
        ("json", "\"missing\": [\n    {\n      \"name\": \"web\""),
    ] {
        let out = run(&["report", &plan, "--format", format]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{format}: {err}");
        assert!(
            err.contains("image `web` (oci:no-such-layout) could not be read")
                && err.contains("the report lacks: Images, Services, Nodes and cost"),
            "{err}"
        );
        let page = String::from_utf8(out.stdout).unwrap();
        assert!(page.contains(marker), "{format}: {page}");
    }
}

/// A Dockerfile linked to an image for which nothing predicts a saving is listed, with no
/// what-if.
#[test]
fn linked_dockerfile_without_a_saving() {
    let dir = tempfile::tempdir().unwrap();
    let df = write(dir.path(), "Dockerfile", "FROM alpine:3.20\nCMD [\"true\"]\n");
    let link = format!("app-on-alpine={df}");
    let out = run(&[
        "report",
        "examples/plans/ubuntu-vs-alpine.yaml",
        "--dockerfile",
        &link,
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v.get("what_if").is_none());
    assert_eq!(v["no_saving"][0], format!("{df} (app-on-alpine)"));
}

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

/// examples/reports/NAME.html and .md are what `imgopt report examples/plans/NAME.yaml`
/// writes today. `IMGOPT_BLESS=1` rewrites them.
#[test]
fn examples_are_current() {
    let bless = std::env::var_os("IMGOPT_BLESS").is_some();
    assert!(plans().len() >= 3);
    let mut stale = Vec::new();
    for name in plans() {
        let plan = format!("examples/plans/{name}.yaml");
        for (format, ext) in [("html", "html"), ("markdown", "md")] {
            let out = run(&["report", &plan, "--format", format]);
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
    assert!(String::from_utf8_lossy(&out.stderr).contains("r.html"));
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

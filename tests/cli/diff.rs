//! `imgopt diff OLD NEW` as a user runs it: on images from the test builder (exact expected
//! changes), against `imgopt layers`' own totals, on the fixture images, and with bad input.
#![allow(clippy::unwrap_used)]

use crate::support;

use std::path::Path;
use std::process::Output;

use serde_json::Value;
use support::image_builder::{Entry, ImageBuilder};

fn imgopt(args: &[&str]) -> Output {
    support::imgopt().args(args).output()
}

fn json(args: &[&str]) -> Value {
    let o = imgopt(args);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

fn base() -> Vec<Entry> {
    vec![Entry::dir("etc"), Entry::file("etc/os-release", b"ID=test\n".to_vec())]
}

/// Old: base + app v1. New: the same base + app v2 (a file grew, one added, one removed).
fn two_versions(dir: &Path) -> (String, String) {
    let old = ImageBuilder::new().layer("ADD base /", base()).layer(
        "COPY app /app",
        vec![
            Entry::dir("app"),
            Entry::file("app/bin", vec![1u8; 100]),
            Entry::file("app/old.txt", vec![2u8; 40]),
        ],
    );
    let new = ImageBuilder::new().layer("ADD base /", base()).layer(
        "COPY app /app",
        vec![
            Entry::dir("app"),
            Entry::file("app/bin", vec![3u8; 300]),
            Entry::file("app/data", vec![4u8; 50]),
        ],
    );
    let (o, n) = (dir.join("old"), dir.join("new"));
    old.build().write_oci_layout(&o, Some("latest"));
    new.build().write_oci_layout(&n, Some("latest"));
    (format!("oci:{}", o.display()), format!("oci:{}", n.display()))
}

#[test]
fn layers_files_and_growth_are_exact() {
    let dir = tempfile::tempdir().unwrap();
    let (old, new) = two_versions(dir.path());
    let v = json(&["diff", &old, &new, "--format", "json"]);
    assert_eq!(v["schema_version"], 1);
    assert_eq!(v["shared_layers"], 1, "{v:#}");
    assert_eq!(v["added_layers"].as_array().unwrap().len(), 1);
    assert_eq!(v["removed_layers"].as_array().unwrap().len(), 1);
    assert_eq!(v["added_layers"][0]["created_by"], "COPY app /app");

    // Files: most growth first, added/removed sides as null.
    let files: Vec<(String, Value, Value, i64)> = v["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_string(),
                f["old_bytes"].clone(),
                f["new_bytes"].clone(),
                f["delta"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        files,
        vec![
            ("/app/bin".to_string(), Value::from(100), Value::from(300), 200),
            ("/app/data".to_string(), Value::Null, Value::from(50), 50),
            ("/app/old.txt".to_string(), Value::from(40), Value::Null, -40),
        ],
        "{v:#}"
    );
    assert_eq!(v["files_changed"], 3);

    // Growth is exactly the difference of what `imgopt layers` reports for each image.
    let lo = json(&["layers", &old, "--format", "json"]);
    let ln = json(&["layers", &new, "--format", "json"]);
    for (growth, total) in [("compressed_bytes", "compressed_bytes"), ("tar_bytes", "tar_bytes")] {
        let want = ln["totals"][total].as_i64().unwrap() - lo["totals"][total].as_i64().unwrap();
        assert_eq!(v["growth"][growth].as_i64().unwrap(), want, "{growth}");
    }
    assert_eq!(v["growth"]["final_content_bytes"], 300 + 50 - 100 - 40);
    assert_eq!(v["shared_compressed_bytes"], lo["layers"][0]["compressed_bytes"]);
}

#[test]
fn an_image_against_itself_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (old, _) = two_versions(dir.path());
    let v = json(&["diff", &old, &old, "--format", "json"]);
    assert_eq!(
        v["growth"],
        serde_json::json!({"layers": 0, "compressed_bytes": 0, "tar_bytes": 0, "final_content_bytes": 0})
    );
    assert_eq!(v["shared_layers"], 2);
    assert!(v["added_layers"].as_array().unwrap().is_empty() && v["files"].as_array().unwrap().is_empty());
}

#[test]
fn human_and_markdown_read_well() {
    let dir = tempfile::tempdir().unwrap();
    let (old, new) = two_versions(dir.path());
    let o = imgopt(&["diff", &old, &new]);
    assert_eq!(o.status.code(), Some(0));
    let h = String::from_utf8(o.stdout).unwrap();
    assert!(h.contains("1 shared") && h.contains("1 added, 1 removed"), "{h}");
    assert!(
        h.contains("+200 B changed /app/bin") && h.contains("-40 B removed /app/old.txt"),
        "{h}"
    );
    assert!(
        h.lines().all(|l| l.chars().count() <= 100),
        "piped output fits 100 columns:\n{h}"
    );
    let o = imgopt(&["diff", &old, &new, "--format", "markdown"]);
    let m = String::from_utf8(o.stdout).unwrap();
    assert!(m.contains("| `/app/bin` | 100 B | 300 B | +200 B |"), "{m}");
    assert_eq!(
        imgopt(&["diff", &old, &new, "--format", "sarif"]).status.code(),
        Some(2)
    );
}

#[test]
fn an_unreadable_image_is_named_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let (old, _) = two_versions(dir.path());
    let missing = format!("oci:{}", dir.path().join("nope").display());
    let o = imgopt(&["diff", &old, &missing]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("nope"), "{err}");
}

#[test]
fn fixture_images_slim_to_fat() {
    let Some(f) = support::fixtures_dir() else { return };
    let slim = format!("docker-archive:{}", f.join("archives/py-slim.tar").display());
    let fat = format!("docker-archive:{}", f.join("archives/py-fat.tar").display());
    let v = json(&["diff", &slim, &fat, "--format", "json", "--top", "0"]);
    let ls = json(&["layers", &slim, "--format", "json"]);
    let lf = json(&["layers", &fat, "--format", "json"]);
    let want = lf["totals"]["compressed_bytes"].as_i64().unwrap() - ls["totals"]["compressed_bytes"].as_i64().unwrap();
    assert_eq!(v["growth"]["compressed_bytes"].as_i64().unwrap(), want);
    // Both are built on debian-base: its layer is shared.
    assert_eq!(v["shared_layers"], 1, "{}", v["shared_layers"]);
    // The fat image installs build-essential: gcc-12 is among the packages it adds.
    let gcc = v["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "gcc-12")
        .expect("gcc-12 added");
    assert!(
        gcc["old_version"].is_null() && gcc["delta"].as_i64().unwrap() > 10 << 20,
        "{gcc}"
    );
    // Every changed file is listed with --top 0, and the deltas add up to the final growth.
    let sum: i64 = v["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["delta"].as_i64().unwrap())
        .sum();
    assert_eq!(sum, v["growth"]["final_content_bytes"].as_i64().unwrap());
}

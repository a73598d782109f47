//! Snapshots of what each command prints on small, fixed inputs written into a scratch folder
//! (names in the output are relative to it): `parse`, `analyze`, `layers`, `plan`, `explain`,
//! `diff`, `rewrite` and `report --format markdown`, in the human format and, where a
//! program reads it, JSON. `check` has its own (check_snapshots.rs).
#![allow(clippy::unwrap_used)]

use std::path::Path;

use crate::support::{self, check_cases};

/// A Dockerfile with findings (DF101, DF201, DF202).
const DOCKERFILE: &str = check_cases::DOCKERFILE;

/// A single-stage Go build, for `rewrite`.
const GO_DOCKERFILE: &str =
    "FROM golang:1.22\nWORKDIR /src\nCOPY . .\nRUN go build -o /app ./cmd/app\nCMD [\"/app\"]\n";

/// Two services on one node type.
const PLAN: &str = "node_types:\n  - {name: m5.xlarge, cpu: \"4\", memory: 16Gi, reserved: eks, price_per_hour: 0.192}\n\
services:\n  - {name: web, replicas: 3, cpu: 500m, memory: 1Gi}\n  - {name: db, replicas: 1, cpu: \"2\", memory: 8Gi}\n";

/// A scratch folder holding the inputs: `Dockerfile`, `go/Dockerfile`, `plan.yaml`, and the
/// images `oci:old` (one small layer) and `oci:img` (apt lists deleted by a later layer).
fn inputs() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::write(dir.join("Dockerfile"), DOCKERFILE).unwrap();
    std::fs::create_dir(dir.join("go")).unwrap();
    std::fs::write(dir.join("go/Dockerfile"), GO_DOCKERFILE).unwrap();
    std::fs::write(dir.join("plan.yaml"), PLAN).unwrap();
    check_cases::layout(dir, "old", &check_cases::small());
    check_cases::layout(dir, "img", &check_cases::wasteful(None));
    tmp
}

/// Runs `imgopt args` in `dir` and returns stdout, checking the exit code.
fn stdout(dir: &Path, args: &[&str], code: i32) -> String {
    let run = support::imgopt().current_dir(dir).args(args).run();
    assert_eq!(run.code, Some(code), "imgopt {args:?}: {}", run.err());
    assert!(!run.stdout.is_empty(), "imgopt {args:?} printed nothing");
    run.out()
}

/// Snapshots `imgopt args` (exit `code`) as `name`, with the scratch folder's path hidden in
/// case a message names it.
fn snapshot(dir: &Path, name: &str, args: &[&str], code: i32) {
    let text = stdout(dir, args, code);
    let root = regex_escape(&dir.display().to_string());
    insta::with_settings!({filters => vec![(root.as_str(), "[DIR]")]}, {
        insta::assert_snapshot!(name, text);
    });
}

fn regex_escape(s: &str) -> String {
    s.chars()
        .flat_map(|c| {
            let special = "\\.+*?()|[]{}^$#&-~".contains(c);
            special.then_some('\\').into_iter().chain(std::iter::once(c))
        })
        .collect()
}

#[test]
fn parse() {
    let tmp = inputs();
    snapshot(tmp.path(), "parse_human", &["parse", "Dockerfile"], 0);
    snapshot(
        tmp.path(),
        "parse_json",
        &["parse", "Dockerfile", "--format", "json"],
        0,
    );
}

#[test]
fn analyze() {
    let tmp = inputs();
    snapshot(
        tmp.path(),
        "analyze_human",
        &["analyze", "--no-context", "Dockerfile"],
        0,
    );
    snapshot(
        tmp.path(),
        "analyze_json",
        &["analyze", "--no-context", "Dockerfile", "--format", "json"],
        0,
    );
    // A catalog note, wrapped to 100 columns when piped.
    std::fs::write(
        tmp.path().join("node.Dockerfile"),
        "FROM node:22\nCOPY . .\nCMD [\"node\", \"i.js\"]\n",
    )
    .unwrap();
    snapshot(
        tmp.path(),
        "analyze_human_catalog_note",
        &["analyze", "--no-context", "node.Dockerfile"],
        0,
    );
}

#[test]
fn layers() {
    let tmp = inputs();
    snapshot(tmp.path(), "layers_human", &["layers", "oci:img"], 0);
    snapshot(tmp.path(), "layers_json", &["layers", "oci:img", "--format", "json"], 0);
}

#[test]
fn diff() {
    let tmp = inputs();
    snapshot(tmp.path(), "diff_human", &["diff", "oci:old", "oci:img"], 0);
}

#[test]
fn plan() {
    let tmp = inputs();
    snapshot(tmp.path(), "plan_human", &["plan", "plan.yaml"], 0);
    snapshot(tmp.path(), "plan_json", &["plan", "plan.yaml", "--format", "json"], 0);
}

#[test]
fn explain() {
    let tmp = inputs();
    snapshot(tmp.path(), "explain_human", &["explain", "DF201"], 0);
}

#[test]
fn rewrite() {
    let tmp = inputs();
    snapshot(tmp.path(), "rewrite_human", &["rewrite", "go/Dockerfile"], 0);
    snapshot(tmp.path(), "rewrite_diff", &["rewrite", "go/Dockerfile", "--diff"], 0);
}

#[test]
fn report_markdown() {
    let tmp = inputs();
    snapshot(
        tmp.path(),
        "report_markdown",
        &[
            "report",
            "plan.yaml",
            "--dockerfile",
            "Dockerfile",
            "--format",
            "markdown",
        ],
        0,
    );
}

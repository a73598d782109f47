//! Plan files and manifests: what they mean, and errors that point at the right line, all at
//! once.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use imgopt::diag::{ColorChoice, Files, render_human};
use imgopt::plan::file::parse_plan;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/plans")
}

fn parse_text(text: &str) -> (Files, Result<imgopt::plan::file::Parsed, Vec<imgopt::diag::Diagnostic>>) {
    let mut files = Files::new();
    let id = files.add("plan.yaml", text);
    let base = fixtures();
    let r = parse_plan(&mut files, id, &mut |p: &str| {
        let path = base.join(p);
        std::fs::read_to_string(&path)
            .map(|t| (p.to_string(), t))
            .map_err(|e| e.to_string())
    });
    (files, r)
}

/// (line, code) of every diagnostic's primary label.
fn lines(files: &Files, diags: &[imgopt::diag::Diagnostic]) -> Vec<(String, usize, String)> {
    diags
        .iter()
        .map(|d| {
            let l = &d.labels[0];
            (
                files.name(l.file).to_string(),
                files.line_col(l.file, l.span.start).0,
                d.code.clone().unwrap(),
            )
        })
        .collect()
}

#[test]
fn manifests_are_read_like_the_api_server_would() {
    let text = std::fs::read_to_string(fixtures().join("manifests.yaml")).unwrap();
    let (_, r) = parse_text(&text);
    let input = r.unwrap().input;
    let names: Vec<&str> = input.services.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["db", "web", "batch"]);
    assert_eq!(input.daemonsets.len(), 1);
    assert_eq!(input.daemonsets[0].name, "agent");
    let db = &input.services[0];
    // StatefulSet: 3 replicas, spread maxSkew 2 on hostname -> max_per_node 2; kata overhead
    // 250m/160Mi on top of 1 core / 4 GiB.
    assert_eq!((db.replicas, db.max_per_node), (3, Some(2)));
    let e = db.shape.effective();
    assert_eq!((e.cpu_m, e.memory_mib), (1250, 4096 + 160));
    // web: limits copied to requests (API defaulting); sidecar 100m/64Mi; init 2 cores declared
    // after the sidecar: init phase 2000 + 100 = 2100m, 32 + 64 = 96Mi; regular 300 + 100 = 400m,
    // 256 + 64 = 320Mi. Effective: 2100m / 320Mi. Anti-affinity to another app: no limit.
    let web = &input.services[1];
    assert_eq!(web.max_per_node, None);
    let e = web.shape.effective();
    assert_eq!((e.cpu_m, e.memory_mib), (2100, 320));
    // Job: parallelism is the replica count.
    assert_eq!(input.services[2].replicas, 5);
}

#[test]
fn every_error_points_at_its_line() {
    let text = "\
node_types:
  - name: small
    cpu: \"2\"
    memory: 8Gx
    reserved: eks
  - name: small
    cpu: 2
    memory: 8Gi
    reserved: {kube: {cpu: 100m, memory: 1Gi}, sytem: {}}
runtime_classes:
  kata: {cpu: 250m, memory: 160Mi}
images:
  app: {layers: [{digest: sha256:aa, size: 10Mi, compressed_size: ten}]}
services:
  - {name: api, replicas: -3, cpu: 500m, memory: 1Gi}
  - {name: job, cpu: 1, runtime_class: gvisor}
  - name: mesh
    containers: [{name: app, cpu: 1}]
    init_containers: [{name: envoy, restart_policy: OnFailure}]
  - manifest: k8s/nope.yaml
";
    let (files, r) = parse_text(text);
    let diags = r.unwrap_err();
    let got = lines(&files, &diags);
    let want: Vec<(String, usize, String)> = [
        (4, "PL004"),  // 8Gx
        (9, "PL002"),  // sytem
        (13, "PL004"), // compressed_size: ten
        (15, "PL004"), // replicas -3
        (16, "PL006"), // gvisor
        (19, "PL004"), // restart_policy OnFailure
        (20, "PL008"), // missing manifest
    ]
    .iter()
    .map(|(l, c)| ("plan.yaml".to_string(), *l, c.to_string()))
    .collect();
    // The duplicate node type is reported too (both places labelled).
    let dup = diags
        .iter()
        .find(|d| d.code.as_deref() == Some("PL007"))
        .expect("duplicate reported");
    assert_eq!(files.line_col(dup.labels[0].file, dup.labels[0].span.start).0, 6);
    assert_eq!(files.line_col(dup.labels[1].file, dup.labels[1].span.start).0, 2);
    let without_dup: Vec<_> = got.into_iter().filter(|(_, _, c)| c != "PL007").collect();
    assert_eq!(without_dup, want);
    // The human rendering shows file:line:col and the snippet.
    let mut out = Vec::new();
    render_human(&diags, &files, ColorChoice::Never, &mut out).unwrap();
    let out = String::from_utf8(out).unwrap();
    assert!(out.contains("plan.yaml:4:13"), "{out}");
    assert!(out.contains("memory: 8Gx"), "{out}");
}

#[test]
fn syntax_errors_and_manifest_errors_point_into_the_right_file() {
    let (files, r) = parse_text("node_types: [\n  {name: a\n");
    let d = r.unwrap_err();
    assert_eq!(d[0].code.as_deref(), Some("PL001"));
    assert!(files.line_col(d[0].labels[0].file, d[0].labels[0].span.start).0 >= 2);

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bad.yaml"), "kind: Deployment\nmetadata: {name: x}\nspec:\n  replicas: many\n  template: {spec: {containers: [{name: c}]}}\n").unwrap();
    let mut files = Files::new();
    let id = files.add(
        "plan.yaml",
        "node_types: [{name: n, cpu: 1, memory: 1Gi, reserved: gke}]\nservices:\n  - manifest: bad.yaml\n",
    );
    let base = dir.path().to_path_buf();
    let r = parse_plan(&mut files, id, &mut |p: &str| {
        std::fs::read_to_string(base.join(p))
            .map(|t| (p.to_string(), t))
            .map_err(|e| e.to_string())
    });
    let d = r.unwrap_err();
    let l = &d[0].labels[0];
    assert_eq!(files.name(l.file), "bad.yaml");
    assert_eq!(files.line_col(l.file, l.span.start).0, 4);
}

#[test]
fn example_plans_parse() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/plans");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let path = e.unwrap().path();
        if path.extension().is_some_and(|x| x == "yaml") {
            let mut files = Files::new();
            let id = files.add(path.display().to_string(), std::fs::read_to_string(&path).unwrap());
            let base = dir.clone();
            let r = parse_plan(&mut files, id, &mut |p: &str| {
                std::fs::read_to_string(base.join(p))
                    .map(|t| (p.to_string(), t))
                    .map_err(|e| e.to_string())
            });
            let parsed = r.unwrap_or_else(|d| panic!("{}: {d:#?}", path.display()));
            let report = imgopt::plan::plan(&parsed.input).unwrap();
            assert!(report.unschedulable.is_empty(), "{}", path.display());
            n += 1;
        }
    }
    assert!(n >= 3);
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 200, ..proptest::prelude::ProptestConfig::default() })]

    /// Mangled plan files give diagnostics or a plan, never a panic.
    #[test]
    fn mangled_files_never_panic(cut in 0usize..2000, len in 0usize..40, insert in "[ -~\n]{0,12}") {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/plans");
        let text = std::fs::read_to_string(dir.join("eks-web-api-worker.yaml")).unwrap();
        let mut bytes = text.into_bytes();
        let start = cut.min(bytes.len());
        let end = (start + len).min(bytes.len());
        bytes.splice(start..end, insert.bytes());
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let mut files = Files::new();
        let id = files.add("plan.yaml", text);
        let r = parse_plan(&mut files, id, &mut |p: &str| {
            std::fs::read_to_string(dir.join(p)).map(|t| (p.to_string(), t)).map_err(|e| e.to_string())
        });
        match r {
            Ok(parsed) => {
                let _ = imgopt::plan::plan(&parsed.input);
            }
            Err(diags) => {
                proptest::prop_assert!(!diags.is_empty());
                let mut out = Vec::new();
                render_human(&diags, &files, ColorChoice::Never, &mut out).unwrap();
            }
        }
    }
}

//! `-v` on `analyze`, `layers` and `plan`: what each says on stderr (checked against what the
//! JSON report says, where both name the same thing), that stdout is byte for byte what the
//! run without `-v` writes, that `-q` keeps stderr silent, and that user input quoted on
//! stderr or in the analyze summary never reaches the terminal as escape sequences.
#![allow(clippy::unwrap_used)]

use crate::support;

use std::path::Path;
use std::process::Output;

use support::image_builder::{Compression, DockerLayout, Entry, ImageBuilder, IndexBuilder};

fn run_with(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let cmd = support::imgopt().args(args);
    match stdin {
        Some(s) => cmd.stdin(s),
        None => cmd,
    }
    .output()
}

fn run(args: &[&str]) -> Output {
    run_with(args, None)
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Runs `args` plain, with `-v` and with `-q`: the exit codes agree, stdout is identical, the
/// plain and `-q` runs say nothing on stderr. Returns the `-v` run's stdout and stderr.
fn verbose_run(args: &[&str], stdin: Option<&[u8]>) -> (String, String) {
    let plain = run_with(args, stdin);
    let with = |flag: &str| {
        let mut a = vec![flag];
        a.extend_from_slice(args);
        run_with(&a, stdin)
    };
    let (verbose, quiet) = (with("-v"), with("-q"));
    assert_eq!(
        plain.status.code(),
        verbose.status.code(),
        "{args:?}: {}",
        text(&verbose.stderr)
    );
    assert_eq!(plain.status.code(), quiet.status.code(), "{args:?}");
    assert!(
        plain.stdout == verbose.stdout,
        "{args:?}: -v changed stdout:\n{}\n---\n{}",
        text(&plain.stdout),
        text(&verbose.stdout)
    );
    assert!(plain.stdout == quiet.stdout, "{args:?}: -q changed stdout");
    assert_eq!(text(&plain.stderr), "", "{args:?}: stderr without -v");
    assert_eq!(text(&quiet.stderr), "", "{args:?}: -q must keep stderr silent");
    let err = text(&verbose.stderr);
    assert!(!err.is_empty(), "{args:?}: -v said nothing");
    for line in err.lines() {
        assert!(line.starts_with("imgopt: "), "{args:?}: unprefixed -v line {line:?}");
    }
    (text(&verbose.stdout), err)
}

fn has(err: &str, needle: &str) {
    assert!(err.contains(needle), "stderr lacks {needle:?}:\n{err}");
}

// ---------------------------------------------------------------------------------------------
// analyze

/// A two-stage Dockerfile with a context, a .dockerignore and a suppression comment.
fn analyze_project(dir: &Path) -> std::path::PathBuf {
    let df = dir.join("Dockerfile");
    std::fs::write(
        &df,
        "FROM golang:1.23 AS build\nRUN go build -o /out/app .\n\nFROM debian:bookworm-slim AS runtime\n\
         RUN apt-get update\n# imgopt ignore=DF202 testing suppression\nRUN apt-get install -y curl\n\
         COPY --from=build /out/app /app\nCOPY . /srv\n",
    )
    .unwrap();
    std::fs::write(dir.join(".dockerignore"), "# comment\n*.log\nbuild/\n!build/keep\n").unwrap();
    std::fs::write(dir.join("main.go"), "package main\n").unwrap();
    std::fs::write(dir.join("debug.log"), "x".repeat(100)).unwrap();
    df
}

#[test]
fn analyze_verbose_names_files_context_stages_and_rules() {
    let tmp = tempfile::tempdir().unwrap();
    let df = analyze_project(tmp.path());
    let df = df.to_str().unwrap();
    let size = std::fs::metadata(df).unwrap().len();
    for format in ["human", "json"] {
        let (out, err) = verbose_run(
            &[
                "analyze",
                "--fail-on",
                "never",
                "--select",
                "DF201,DF202",
                "--format",
                format,
                df,
            ],
            None,
        );
        has(&err, "imgopt: rules: 2 selected\n");
        has(&err, &format!("imgopt: read {df} ({size} B)\n"));
        has(
            &err,
            &format!("imgopt: {df}: 7 instructions, 2 stages; target stage 1 `runtime`; stages that ship: 1\n"),
        );
        // The context: the folder, the ignore file and its three patterns (one `!`), what is sent.
        has(
            &err,
            &format!("{df}: context {} (the Dockerfile's folder), ", tmp.path().display()),
        );
        has(&err, ".dockerignore with 3 patterns (1 re-including); 3 files sent");
        has(&err, "1 entry ignored");
        // Two rules ran; DF201 reported once, DF202 silenced by its comment.
        has(
            &err,
            &format!("imgopt: {df}: 2 rules run; findings per rule: DF201 1; suppressed by comments: DF202 1\n"),
        );
        has(&err, &format!("imgopt: {df}: time: parse "));
        has(&err, "imgopt: time: total ");
        if format == "json" {
            // The report agrees with what -v said, and carries none of it.
            let v: serde_json::Value = serde_json::from_str(&out).unwrap();
            assert_eq!(v["summary"]["by_rule"], serde_json::json!({"DF201": 1}));
            assert_eq!(v["summary"]["suppressed"], 1);
            assert_eq!(v["files"][0]["context"]["files"], 3);
            assert!(!out.contains("rules run") && !out.contains(" ms"), "{out}");
        }
    }
}

#[test]
fn analyze_verbose_says_when_there_is_no_context() {
    let df = b"FROM alpine:3.20\nRUN apk add curl\n";
    let (_, err) = verbose_run(&["analyze", "--fail-on", "never", "-"], Some(df));
    has(&err, "imgopt: read - (34 B)\n");
    has(
        &err,
        "imgopt: -: no build context (read from stdin; give --context DIR to read one)\n",
    );
    has(&err, "target stage 0;");
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("Dockerfile"), df).unwrap();
    let path = tmp.path().join("Dockerfile");
    let (_, err) = verbose_run(
        &["analyze", "--fail-on", "never", "--no-context", path.to_str().unwrap()],
        None,
    );
    has(&err, "no build context (--no-context)");
}

#[test]
fn analyze_verbose_with_image_says_what_was_measured() {
    let tmp = tempfile::tempdir().unwrap();
    let df = tmp.path().join("Dockerfile");
    std::fs::write(&df, "FROM scratch\nRUN apt-get update && apt-get install -y curl\n").unwrap();
    let layout = tmp.path().join("img");
    ImageBuilder::new()
        .layer(
            "RUN /bin/sh -c apt-get update && apt-get install -y curl # buildkit",
            vec![
                Entry::dir("var"),
                Entry::dir("var/lib"),
                Entry::dir("var/lib/apt"),
                Entry::dir("var/lib/apt/lists"),
                Entry::file("var/lib/apt/lists/deb_Packages", vec![1u8; 50_000]),
            ],
        )
        .build()
        .write_oci_layout(&layout, Some("latest"));
    let image = format!("oci:{}", layout.display());
    let (out, err) = verbose_run(
        &[
            "analyze",
            "--fail-on",
            "never",
            "--format",
            "json",
            df.to_str().unwrap(),
            "--image",
            &image,
        ],
        None,
    );
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let manifest = v["files"][0]["image"]["manifest_digest"].as_str().unwrap();
    has(
        &err,
        &format!(
            "imgopt: --image: {image}, manifest {manifest}, platform linux/amd64, 1 layer (1 from files, 0 from the network, all verified), read in "
        ),
    );
    has(
        &err,
        &format!(
            "imgopt: measured {} against {image}: 1 layer; 1 of 1 instructions",
            df.display()
        ),
    );
    has(
        &err,
        "imgopt: measured DF201 (line 2): 48.8 KiB (cache:apt-lists), replacing the estimate\n",
    );
    assert_eq!(v["findings"][0]["measured"]["bytes"], 50_000);
}

#[test]
fn verbose_lines_do_not_pass_escapes_from_names() {
    // A context folder whose name holds an OSC title sequence: -v quotes it with `?`.
    let tmp = tempfile::tempdir().unwrap();
    let ctx = tmp.path().join("ctx\x1b]0;pwned\x07dir");
    std::fs::create_dir(&ctx).unwrap();
    let df = tmp.path().join("Dockerfile\x1b[31m");
    std::fs::write(&df, "FROM alpine:3.20\nCOPY . /app\n").unwrap();
    let (_, err) = verbose_run(
        &[
            "analyze",
            "--fail-on",
            "never",
            "--context",
            ctx.to_str().unwrap(),
            df.to_str().unwrap(),
        ],
        None,
    );
    has(&err, "ctx?]0;pwned?dir (--context)");
    has(&err, "Dockerfile?[31m (");
    assert!(!err.contains('\x1b') && !err.contains('\x07'), "raw escape in {err:?}");
}

// ---------------------------------------------------------------------------------------------
// layers

fn two_layers() -> ImageBuilder {
    ImageBuilder::new()
        .layer(
            "RUN make base",
            vec![Entry::dir("app"), Entry::file("app/a.bin", vec![1u8; 30_000])],
        )
        .layer_compressed(
            "RUN make more",
            Compression::Zstd,
            vec![Entry::file("app/b.bin", vec![2u8; 20_000])],
        )
}

fn json_of(args: &[&str]) -> serde_json::Value {
    let o = run(args);
    assert!(o.status.success(), "{}", text(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

#[test]
fn layers_verbose_on_an_oci_layout_names_every_layer() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("img");
    two_layers().build().write_oci_layout(&dir, Some("latest"));
    let spec = format!("oci:{}", dir.display());
    let v = json_of(&["layers", &spec, "--format", "json"]);
    for format in ["human", "json", "markdown"] {
        let (_, err) = verbose_run(&["layers", "--format", format, &spec], None);
        has(&err, &format!("imgopt: source: {spec} (local files)\n"));
        has(
            &err,
            "imgopt: resolved: index.json lists 1 image manifest; took its only entry, which names no platform\n",
        );
        has(
            &err,
            &format!(
                "imgopt: manifest: {} (application/vnd.oci.image.manifest.v1+json); platform linux/amd64 (from the config)\n",
                v["manifest_digest"].as_str().unwrap()
            ),
        );
        has(
            &err,
            &format!("imgopt: config: {} (read in ", v["config_digest"].as_str().unwrap()),
        );
        for (i, media) in [
            (0, "application/vnd.oci.image.layer.v1.tar+gzip"),
            (1, "application/vnd.oci.image.layer.v1.tar+zstd"),
        ] {
            let l = &v["layers"][i];
            has(
                &err,
                &format!(
                    "imgopt: layer {i}: {}, {} stored, {} tar, {media}; from file, verified, ",
                    l["digest"].as_str().unwrap(),
                    imgopt::units::ByteSize(l["compressed_bytes"].as_u64().unwrap()),
                    imgopt::units::ByteSize(l["tar_bytes"].as_u64().unwrap()),
                ),
            );
        }
        has(
            &err,
            "imgopt: layers: 2 (0 from the cache, 2 from files, 0 from the network), ",
        );
        has(&err, "imgopt: time: config ");
        has(&err, ", fetch+verify+scan ");
        has(&err, "imgopt: time: resolve ");
        // No registry, no network line.
        assert!(!err.contains("network:") && !err.contains("credentials:"), "{err}");
    }
    // --no-verify says so.
    let (_, err) = verbose_run(&["layers", "--no-verify", &spec], None);
    has(&err, "; from file, not verified (--no-verify), ");
}

#[test]
fn layers_verbose_says_which_layers_came_from_the_cache() {
    let tmp = tempfile::tempdir().unwrap();
    let archive = tmp.path().join("img.tar");
    two_layers()
        .build()
        .write_docker_archive(&archive, DockerLayout::Classic);
    let spec = format!("docker-archive:{}", archive.display());
    let cache = tmp.path().join("cache");
    let cache = cache.to_str().unwrap();
    let first = run(&["layers", "-v", "--cache-dir", cache, &spec]);
    assert!(first.status.success(), "{}", text(&first.stderr));
    let err = text(&first.stderr);
    has(
        &err,
        "imgopt: resolved: the source names one image manifest (no index)\n",
    );
    has(
        &err,
        "(application/vnd.docker.distribution.manifest.v2+json); platform linux/amd64 (from the config)\n",
    );
    has(
        &err,
        "imgopt: layers: 2 (0 from the cache, 2 from files, 0 from the network)",
    );
    // The second run reads nothing but the cache, and the report is the same.
    let (out, err) = verbose_run(&["layers", "--cache-dir", cache, &spec], None);
    assert_eq!(out, text(&first.stdout));
    has(
        &err,
        "imgopt: layers: 2 (2 from the cache, 0 from files, 0 from the network)",
    );
    assert_eq!(err.matches("; from cache, verified when cached, ").count(), 2, "{err}");
}

#[test]
fn layers_verbose_names_the_index_and_the_platform_chosen() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("multi");
    let amd = ImageBuilder::new()
        .platform("linux/amd64")
        .layer("RUN a", vec![Entry::file("a", vec![1u8; 100])]);
    let arm = ImageBuilder::new()
        .platform("linux/arm64/v8")
        .layer("RUN b", vec![Entry::file("b", vec![2u8; 200])]);
    let index = IndexBuilder::new().image(&amd).image(&arm);
    index.write_oci_layout(&dir, Some("latest"), true);
    let spec = format!("oci:{}", dir.display());
    let (_, err) = verbose_run(&["layers", "--platform", "linux/arm64", &spec], None);
    has(
        &err,
        &format!(
            "imgopt: resolved: image index {} lists 2 image manifests; chose linux/arm64/v8 (wanted linux/arm64)\n",
            index.index_digest()
        ),
    );
    has(&err, "platform linux/arm64/v8 (from the index)");
    // Every platform: one numbered block each.
    let (_, err) = verbose_run(&["layers", "--all-platforms", &spec], None);
    has(&err, "imgopt: [1/2] resolved: ");
    has(&err, "every platform is read (--all-platforms)");
    has(&err, "imgopt: [2/2] manifest: ");
    has(&err, "imgopt: [2/2] layer 0: ");
}

#[test]
fn layers_verbose_never_shows_a_password() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("img");
    two_layers().build().write_oci_layout(&dir, Some("latest"));
    let spec = format!("oci:{}", dir.display());
    let o = run_with(
        &["layers", "-v", "--username", "bob", "--password-stdin", &spec],
        Some(b"hunter2-secret\n"),
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    let all = text(&o.stdout) + &text(&o.stderr);
    assert!(!all.contains("hunter2"), "{all}");
    has(&text(&o.stderr), "imgopt: source: ");
}

// ---------------------------------------------------------------------------------------------
// plan

fn example(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/plans")
        .join(name)
        .display()
        .to_string()
}

#[test]
fn plan_verbose_gives_bounds_and_search_per_node_type() {
    let file = example("eks-web-api-worker.yaml");
    let v = json_of(&["plan", &file, "--format", "json"]);
    for format in ["human", "json", "markdown"] {
        let (_, err) = verbose_run(&["plan", "--format", format, &file], None);
        has(&err, &format!("imgopt: read plan file {file} ("));
        has(
            &err,
            &format!(
                "imgopt: read manifest {}",
                Path::new(&file).parent().unwrap().join("k8s/worker.yaml").display()
            ),
        );
        let services = v["services"].as_array().unwrap().len();
        let types = v["node_types"].as_array().unwrap();
        has(&err, &format!("imgopt: input: {services} services, "));
        has(&err, &format!(", {} node types; ", types.len()));
        for t in types {
            let name = t["name"].as_str().unwrap();
            let plan = &v["by_node_type"][name];
            has(&err, &format!("imgopt: node type {name}: lower bounds: volume "));
            has(&err, &format!("; reported bound {}\n", plan["lower_bound"]));
            let optimal = if plan["optimal"] == true {
                "optimal"
            } else {
                "not proven optimal"
            };
            has(
                &err,
                &format!(
                    "imgopt: node type {name}: {} nodes ({optimal}), found by ",
                    plan["nodes"]
                ),
            );
            has(&err, &format!("imgopt: node type {name}: time: heuristics "));
        }
        assert_eq!(err.matches(", L2 ").count(), types.len(), "{err}");
        has(
            &err,
            "imgopt: cheapest mix over m5.large, m5.xlarge, c5.xlarge, r5.large: lower bounds: unit price $",
        );
        has(
            &err,
            &format!(
                "imgopt: cheapest mix: ${:.4}/h (",
                v["cheapest"]["cost_per_hour"].as_f64().unwrap()
            ),
        );
        has(&err, "imgopt: time: fit ");
        has(&err, "imgopt: time: input and images ");
    }
}

#[test]
fn plan_verbose_says_when_the_exact_search_hit_its_limit() {
    // The cheapest mix of this fleet needs the exact search to prove its cost (its LP bounds
    // stay below it); one search node is not enough.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plan.yaml");
    std::fs::write(
        &path,
        "node_types:\n\
  - {name: m5.xlarge, cpu: \"4\", memory: 16Gi, max_pods: 58, reserved: eks, price_per_hour: 0.192}\n\
  - {name: c5.xlarge, cpu: \"4\", memory: 8Gi, max_pods: 58, reserved: eks, price_per_hour: 0.17}\n\
  - {name: r5.large, cpu: \"2\", memory: 16Gi, max_pods: 29, reserved: eks, price_per_hour: 0.126}\n\
services:\n\
  - {name: a, replicas: 5, cpu: 1700m, memory: 3Gi}\n\
  - {name: b, replicas: 5, cpu: 900m, memory: 6Gi}\n\
  - {name: c, replicas: 4, cpu: 1300m, memory: 2Gi}\n",
    )
    .unwrap();
    let file = path.display().to_string();
    let (_, err) = verbose_run(&["plan", &file, "--exact-node-limit", "1"], None);
    has(&err, "imgopt: cheapest mix: ");
    has(
        &err,
        "exact search: stopped at --exact-node-limit (1 search node): not proven\n",
    );
    let (_, err) = verbose_run(&["plan", &file], None);
    has(&err, "exact search: finished after ");
    has(&err, " search nodes: proven optimal\n");
}

#[test]
fn plan_verbose_from_stdin_and_flags() {
    let yaml = std::fs::read(example("ubuntu-vs-alpine.yaml")).unwrap();
    let (_, err) = verbose_run(&["plan", "-"], Some(&yaml));
    has(
        &err,
        &format!(
            "imgopt: read plan file <stdin> ({})\n",
            imgopt::units::ByteSize(yaml.len() as u64)
        ),
    );
    let (_, err) = verbose_run(
        &[
            "plan",
            "--node",
            "cpu=4,memory=16Gi,pods=110,reserved=gke",
            "--cpu",
            "500m",
            "--memory",
            "1Gi",
            "--replicas",
            "20",
        ],
        None,
    );
    has(
        &err,
        "imgopt: input: 1 service, 0 DaemonSets, 0 images (0 distinct layers), 1 node type; 20 pods to place\n",
    );
    has(&err, "imgopt: node type node: ");
    has(&err, "imgopt: cheapest mix: not planned (no node type has a price)\n");
}

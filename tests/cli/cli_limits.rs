//! `-v` says which limits of docs/limits.md a run used and which ones it reached: hostile
//! images and inputs built by the test helpers reach a limit that does not stop the run (a
//! package database line too long to look up, a symlink loop, a package database too big to
//! keep, a stalled registry), and the `-v` line names the limit, its value and the flag that
//! changes it. Without `-v` (and with `-q`) stderr stays empty and stdout is the same.
use std::process::Output;

use crate::support;

use support::fault_proxy;
use support::image_builder::{Compression, Entry, ImageBuilder};

fn run(args: &[&str]) -> Output {
    support::imgopt().args(args).output()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Runs `args` plain, with `-v` and with `-q`: same exit code and stdout, nothing on stderr
/// without `-v`. Returns the `-v` run's stderr.
fn verbose_stderr(args: &[&str]) -> String {
    let plain = run(args);
    let with = |flag: &str| {
        let mut a = vec![flag];
        a.extend_from_slice(args);
        run(&a)
    };
    let (verbose, quiet) = (with("-v"), with("-q"));
    assert_eq!(plain.status.code(), Some(0), "{args:?}: {}", text(&plain.stderr));
    assert_eq!(verbose.status.code(), Some(0), "{args:?}: {}", text(&verbose.stderr));
    assert_eq!(quiet.status.code(), Some(0), "{args:?}");
    assert!(plain.stdout == verbose.stdout, "{args:?}: -v changed stdout");
    assert!(plain.stdout == quiet.stdout, "{args:?}: -q changed stdout");
    assert_eq!(text(&plain.stderr), "", "{args:?}: stderr without -v");
    assert_eq!(text(&quiet.stderr), "", "{args:?}: stderr with -q");
    text(&verbose.stderr)
}

/// The `-v` lines that start with `imgopt: limit hit: `.
fn hits(err: &str) -> Vec<&str> {
    err.lines()
        .filter_map(|l| l.strip_prefix("imgopt: limit hit: "))
        .collect()
}

/// The one `imgopt: limits: ` line.
fn limits_line(err: &str) -> &str {
    let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("imgopt: limits: ")).collect();
    assert_eq!(lines.len(), 1, "one limits line expected:\n{err}");
    lines[0]
}

fn dpkg_status(package: &str) -> Vec<u8> {
    format!("Package: {package}\nStatus: install ok installed\nVersion: 1\nArchitecture: amd64\n\n").into_bytes()
}

#[test]
fn a_package_list_line_too_long_and_a_symlink_loop_are_said_with_v() {
    // `p.list` names a path longer than PATH_MAX and a path through `/loop`, a link to itself.
    let long = format!("/{}", "a".repeat(5000));
    let list = format!("{long}\n/loop/f\n/usr/bin/tool\n");
    let img = ImageBuilder::new().layer(
        "RUN apt-get install p",
        vec![
            Entry::dir("var"),
            Entry::dir("var/lib"),
            Entry::dir("var/lib/dpkg"),
            Entry::dir("var/lib/dpkg/info"),
            Entry::file("var/lib/dpkg/status", dpkg_status("p")),
            Entry::file("var/lib/dpkg/info/p.list", list.into_bytes()),
            Entry::symlink("loop", "loop"),
            Entry::dir("usr"),
            Entry::dir("usr/bin"),
            Entry::file("usr/bin/tool", vec![7u8; 1000]),
        ],
    );
    let dir = tempfile::tempdir().unwrap();
    img.build().write_oci_layout(dir.path(), None);
    let source = format!("oci:{}", dir.path().display());
    let err = verbose_stderr(&["layers", &source, "--format", "json"]);
    let hits = hits(&err);
    assert_eq!(
        hits,
        [
            "package database line 4096 bytes (no flag changes it): 1 package database lines were longer and were skipped",
            "symlink hops 40 (no flag changes it): 1 package file lookups met more symbolic links and gave up",
        ],
        "{err}"
    );
    // The package is still listed, with the one file that resolved.
    let out = run(&["layers", &source, "--format", "json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["packages"][0]["name"], "p");
    assert_eq!(json["packages"][0]["files"], 1);
    // The values in effect, once, for a local source: no registry limit is named.
    let line = limits_line(&err);
    for want in [
        "local JSON 16 MiB",
        "expansion ratio 100:1 past 64 MiB",
        "layer size 64 GiB",
        "path 4096 bytes",
        "package database file 64 MiB",
        "package databases per image 256 MiB",
    ] {
        assert!(line.contains(want), "{want:?} missing from {line}");
    }
    assert!(!line.contains("--timeout") && !line.contains("manifest body"), "{line}");
}

#[test]
fn a_package_database_too_big_to_keep_is_said_with_v() {
    // One byte over the 64 MiB a package database file may hold in memory, stored
    // uncompressed (zeros this long would pass the 100:1 bomb ratio compressed).
    let img = ImageBuilder::new().compression(Compression::None).layer(
        "RUN apt-get install",
        vec![
            Entry::dir("var"),
            Entry::dir("var/lib"),
            Entry::dir("var/lib/dpkg"),
            Entry::zeros("var/lib/dpkg/status", (64 << 20) + 1),
        ],
    );
    let dir = tempfile::tempdir().unwrap();
    img.build().write_oci_layout(dir.path(), None);
    let source = format!("oci:{}", dir.path().display());
    let err = verbose_stderr(&["layers", &source, "--format", "json"]);
    let hits = hits(&err);
    assert_eq!(hits.len(), 1, "{err}");
    // The layer is named by its index and short digest.
    let layer = hits[0]
        .strip_prefix("package database file 64 MiB (no flag changes it): layer 0 (")
        .and_then(|r| r.split_once("): "))
        .map(|(d, _)| d);
    assert!(
        layer.is_some_and(|d| d.len() == 12 && d.bytes().all(|b| b.is_ascii_hexdigit())),
        "{err}"
    );
    assert!(
        hits[0].ends_with("/var/lib/dpkg/status (67108865 bytes) was not kept; packages from it are not listed"),
        "{err}"
    );
}

#[test]
fn a_stalled_registry_request_is_said_with_v_naming_timeout() {
    let Some(reg) = support::registry() else { return };
    // The first blob request stalls halfway; the retry (a Range resume) finishes it.
    let proxy = fault_proxy::FaultProxy::start(&reg, vec![(fault_proxy::Fault::Stall, 1)]);
    let reference = format!("{}/imgopt/static-tiny:latest", proxy.addr());
    let out = run(&[
        "-v",
        "layers",
        &reference,
        "--timeout",
        "1s",
        "--max-time",
        "30m",
        "--format",
        "json",
    ]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    let hits = hits(&err);
    assert_eq!(hits.len(), 1, "{err}");
    assert!(hits[0].starts_with("stall 1s (--timeout changes it): "), "{err}");
    assert!(hits[0].contains("stalled: no data for 1s after"), "{err}");
    assert!(hits[0].ends_with("; retried (at most 4 attempts in all)"), "{err}");
    // The flags' values are the ones used.
    let line = limits_line(&err);
    for want in [
        "manifest body 4 MiB",
        "stall --timeout 1s",
        "blob deadline --min-rate 64 KiB/s plus --timeout × 9",
        "run --max-time 30m",
    ] {
        assert!(line.contains(want), "{want:?} missing from {line}");
    }
}

#[test]
fn analyze_and_plan_say_their_limits_once() {
    let dir = tempfile::tempdir().unwrap();
    let df = dir.path().join("Dockerfile");
    std::fs::write(&df, "FROM alpine:3.20\nRUN true\n").unwrap();
    let err = verbose_stderr(&["analyze", df.to_str().unwrap(), "--format", "json"]);
    let line = limits_line(&err);
    for want in [
        "Dockerfile 64 MiB",
        "ARG expansion 1 MiB",
        "context files 200000",
        ".dockerignore 1 MiB",
    ] {
        assert!(line.contains(want), "{want:?} missing from {line}");
    }
    assert!(hits(&err).is_empty(), "{err}");

    let plan = dir.path().join("plan.yaml");
    std::fs::write(
        &plan,
        "node_types:\n  - {name: a, cpu: 4, memory: 16Gi, reserved: eks}\nservices:\n  - {name: s, cpu: 1, memory: 1Gi}\n",
    )
    .unwrap();
    let err = verbose_stderr(&["plan", plan.to_str().unwrap(), "--format", "json"]);
    let line = limits_line(&err);
    for want in [
        "plan file 32 MiB",
        "YAML aliases 1000000",
        "plan paths --allow-paths-outside-plan under the plan file's folder",
        "surge 10000 %",
    ] {
        assert!(line.contains(want), "{want:?} missing from {line}");
    }
}

/// Runs `args` (expected to fail with exit 2) with and without `-v`: the `-v` run says which
/// limit ended it in one `limit hit` line before the error; the plain run prints the error only.
fn ending_hit(args: &[&str], dir: &std::path::Path) -> String {
    let plain = support::imgopt().args(args).current_dir(dir).output();
    let mut v = vec!["-v"];
    v.extend_from_slice(args);
    let verbose = support::imgopt().args(&v).current_dir(dir).output();
    assert_eq!(plain.status.code(), Some(2), "{args:?}: {}", text(&plain.stderr));
    assert_eq!(verbose.status.code(), Some(2), "{args:?}: {}", text(&verbose.stderr));
    assert!(
        hits(&text(&plain.stderr)).is_empty(),
        "{args:?}: a limit line without -v"
    );
    let err = text(&verbose.stderr);
    let found = hits(&err);
    assert_eq!(found.len(), 1, "{args:?}: one limit line expected:\n{err}");
    let error_at = err.find("error: ").expect("the error itself is still printed");
    assert!(err.find("imgopt: limit hit: ").unwrap() < error_at, "{err}");
    found[0].to_string()
}

#[test]
fn limits_that_end_a_run_are_named_with_v() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();

    // A layer path past PATH_MAX ends `layers`.
    let long = format!("{}f", "a/".repeat(2100));
    let img = ImageBuilder::new().layer("COPY . /", vec![Entry::file(&long, b"x".to_vec())]);
    img.build().write_oci_layout(&d.join("long-path"), None);
    let hit = ending_hit(&["layers", "oci:long-path"], d);
    assert!(hit.starts_with("path 4 KiB (no flag changes it): layer 0 ("), "{hit}");
    assert!(hit.ends_with("): ended the run"), "{hit}");

    // An ARG that doubles past 1 MiB ends `analyze`.
    let mut df = format!("ARG A0={}\n", "x".repeat(1024));
    for i in 1..=11 {
        df.push_str(&format!("ARG A{i}=${{A{}}}${{A{}}}\n", i - 1, i - 1));
    }
    df.push_str("FROM scratch\nCOPY a /a\n");
    std::fs::write(d.join("Dockerfile.args"), df).unwrap();
    let hit = ending_hit(&["analyze", "--no-context", "Dockerfile.args"], d);
    assert!(
        hit.starts_with("ARG expansion 1 MiB (no flag changes it): line "),
        "{hit}"
    );

    // A `.dockerignore` over its cap ends `analyze` with a context.
    let ctx = d.join("ctx");
    std::fs::create_dir(&ctx).unwrap();
    std::fs::write(ctx.join("Dockerfile"), "FROM scratch\nCOPY a /a\n").unwrap();
    std::fs::write(ctx.join(".dockerignore"), "x\n".repeat(600_000)).unwrap();
    let hit = ending_hit(&["analyze", "ctx/Dockerfile"], d);
    assert!(hit.starts_with(".dockerignore 1 MiB (no flag changes it): "), "{hit}");

    // A local `index.json` over the JSON cap ends `layers`.
    let big = d.join("big-index");
    std::fs::create_dir(&big).unwrap();
    std::fs::write(big.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    std::fs::write(big.join("index.json"), vec![b' '; (16 << 20) + 1]).unwrap();
    let hit = ending_hit(&["layers", "oci:big-index"], d);
    assert!(
        hit.starts_with("local JSON 16 MiB (no flag changes it): ended the run"),
        "{hit}"
    );
}

#[test]
fn an_endless_manifest_names_its_limit_with_v() {
    let Some(reg) = support::registry() else { return };
    let proxy = fault_proxy::FaultProxy::start_on(&reg, "/manifests/", vec![(fault_proxy::Fault::Endless, 1)]);
    let reference = format!("{}/imgopt/static-tiny:latest", proxy.addr());
    let out = run(&["-v", "layers", &reference, "--format", "json"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    let hits = hits(&err);
    assert_eq!(hits.len(), 1, "{err}");
    assert!(
        hits[0].starts_with("manifest body 4 MiB (no flag changes it): ended the run"),
        "{err}"
    );
    assert!(
        err.contains("manifest is larger than the 4194304 bytes allowed"),
        "{err}"
    );
}

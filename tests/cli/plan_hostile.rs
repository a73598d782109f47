//! `imgopt plan` on plan files written by someone else: paths the plan names stay under its
//! folder, errors never quote a file that is not the plan, non-regular files and endless input
//! are refused, sums of sizes never wrap, and absurd headroom is refused with a clear message.
//! Every input is built here.
#![allow(clippy::unwrap_used)]

use crate::support;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

const SECRET: &str = "SECRET-TOKEN-d41d8cd98f";

/// Runs imgopt; a run that does not end within a minute is killed and fails the test (a FIFO
/// read that blocks must fail fast, not hang the suite).
fn run_in(args: &[&str], stdin: Stdio) -> Output {
    let run = support::imgopt()
        .args(args)
        .stdin_from(stdin)
        .deadline(Duration::from_secs(60))
        .run();
    assert!(!run.timed_out, "imgopt {args:?} did not finish");
    Output {
        status: run.status,
        stdout: run.stdout,
        stderr: run.stderr,
    }
}

fn run(args: &[&str]) -> Output {
    run_in(args, Stdio::null())
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

const NODE: &str = "node_types:\n  - {name: n, cpu: \"4\", memory: 16Gi, reserved: eks}\n";

fn write_plan(dir: &Path, body: &str) -> String {
    let p = dir.join("plan.yaml");
    std::fs::write(&p, format!("{NODE}{body}")).unwrap();
    p.display().to_string()
}

/// A file holding a secret, in a folder the plan is not in.
fn outside_secret(name: &str, content: &str) -> (tempfile::TempDir, String) {
    let other = tempfile::tempdir().unwrap();
    let p = other.path().join(name);
    std::fs::write(&p, content).unwrap();
    (other, p.display().to_string())
}

fn assert_refused_without_leak(out: &Output, needle: &str) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains(needle), "expected `{needle}` in: {err}");
    assert!(!err.contains(SECRET), "the secret leaked: {err}");
    assert!(!String::from_utf8_lossy(&out.stdout).contains(SECRET));
}

#[test]
fn manifest_outside_the_plan_folder_is_refused() {
    let (_other, secret) = outside_secret("environ", &format!("CI_TOKEN={SECRET}\0HOME=/root\0"));
    let dir = tempfile::tempdir().unwrap();
    // Absolute path elsewhere.
    let plan = write_plan(dir.path(), &format!("services:\n  - manifest: {secret}\n"));
    assert_refused_without_leak(&run(&["plan", &plan]), "outside the plan file's folder");
    // `..` out of the folder.
    let sub = dir.path().join("sub");
    std::fs::create_dir(&sub).unwrap();
    std::fs::write(dir.path().join("up.yaml"), format!("# {SECRET}\n")).unwrap();
    let plan = write_plan(&sub, "services:\n  - manifest: ../up.yaml\n");
    assert_refused_without_leak(&run(&["plan", &plan]), "--allow-paths-outside-plan");
    // A symlink inside the folder that points out of it.
    std::os::unix::fs::symlink(&secret, sub.join("link.yaml")).unwrap();
    let plan = write_plan(&sub, "daemonsets:\n  - manifest: link.yaml\n");
    assert_refused_without_leak(&run(&["plan", &plan]), "outside the plan file's folder");
}

#[test]
fn errors_in_a_named_file_never_quote_it() {
    // With the flag the file is read, but its bytes are not shown: only where the problem is.
    let (_other, secret) = outside_secret("environ", &format!("CI_TOKEN={SECRET}\0HOME=/root\0"));
    let dir = tempfile::tempdir().unwrap();
    let plan = write_plan(dir.path(), &format!("services:\n  - manifest: {secret}\n"));
    let out = run(&["plan", &plan, "--allow-paths-outside-plan"]);
    assert_refused_without_leak(&out, "environ");
    // A manifest inside the folder that is YAML but broken: the error says where, not what.
    std::fs::write(
        dir.path().join("bad.yaml"),
        format!("kind: Deployment\nmetadata: {{name: x}}\nspec: [\n  {SECRET}: {{\n"),
    )
    .unwrap();
    let plan = write_plan(dir.path(), "services:\n  - manifest: bad.yaml\n");
    let out = run(&["plan", &plan]);
    assert_refused_without_leak(&out, "bad.yaml:");
    // The plan itself is quoted as before.
    assert!(stderr(&out).contains("manifest: bad.yaml"), "{}", stderr(&out));
    // Not UTF-8: a byte offset, not the bytes.
    std::fs::write(dir.path().join("bin.yaml"), b"kind: Pod\n\xff\xfe").unwrap();
    let plan = write_plan(dir.path(), "services:\n  - manifest: bin.yaml\n");
    let out = run(&["plan", &plan]);
    assert_refused_without_leak(&out, "invalid byte at offset 10");
}

#[test]
fn image_file_references_stay_under_the_plan_folder() {
    let (_other, secret) = outside_secret("shadow", &format!("root:{SECRET}:19000:0:99999:7:::\n"));
    let dir = tempfile::tempdir().unwrap();
    for reference in [
        format!("docker-archive:{secret}"),
        format!("oci-archive:{secret}"),
        "oci:../x".to_string(),
        secret.clone(),
    ] {
        let plan = write_plan(
            dir.path(),
            &format!(
                "images:\n  x: {{ref: \"{reference}\"}}\nservices:\n  - {{name: s, replicas: 1, cpu: 1, memory: 1Gi, image: x}}\n"
            ),
        );
        let out = run(&["plan", &plan]);
        assert_refused_without_leak(&out, "PL009");
        assert!(
            stderr(&out).contains("outside the plan file's folder"),
            "{}",
            stderr(&out)
        );
    }
}

#[test]
fn non_regular_files_and_endless_input_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    // A FIFO named as a manifest would block forever on open.
    let fifo = dir.path().join("pipe.yaml");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    let plan = write_plan(dir.path(), "services:\n  - manifest: pipe.yaml\n");
    assert_refused_without_leak(&run(&["plan", &plan]), "not a regular file");
    // A device as the plan file.
    let out = run(&["plan", "/dev/zero"]);
    assert_refused_without_leak(&out, "not a regular file");
    // Endless stdin stops at the text limit.
    let zero = std::fs::File::open("/dev/zero").unwrap();
    let out = run_in(&["plan", "-"], Stdio::from(zero));
    assert_refused_without_leak(&out, "MiB limit");
}

#[test]
fn huge_layers_do_not_wrap_to_a_small_cache() {
    // Two 8 EiB layers: 2^64 bytes wraps to 0 in u64; the cache must be counted as full.
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan.yaml");
    std::fs::write(
        &plan,
        "node_types:\n  - {name: n, cpu: \"4\", memory: 16Gi, disk: 100Gi, reserved: eks}\n\
         images:\n  big: {layers: [{digest: \"sha256:a\", size: 8Ei}, {digest: \"sha256:b\", size: 8Ei}]}\n\
         services:\n  - {name: s, replicas: 2, cpu: 100m, memory: 64Mi, image: big}\n",
    )
    .unwrap();
    let out = run(&["plan", plan.to_str().unwrap(), "--format", "json"]);
    assert_eq!(out.status.code(), Some(1), "fits nowhere: {}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let fit = &v["services"][0]["per_node"]["n"];
    assert_eq!(fit["instances"], 0);
    assert_eq!(fit["binding"][0], "disk");
    assert!(fit["image_cache_mib"].as_u64().unwrap() > 1 << 40, "{fit}");
    assert_eq!(v["unschedulable"][0]["service"], "s");
}

#[test]
fn absurd_surge_is_refused_with_its_value() {
    let dir = tempfile::tempdir().unwrap();
    let plan = write_plan(
        dir.path(),
        "services:\n  - {name: s, replicas: 3, cpu: 100m, memory: 64Mi}\n",
    );
    for surge in ["100000000%", "1e8%"] {
        let out = run(&["plan", &plan, "--surge", surge]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains("surge of 100000000%"), "{err}");
        assert!(err.contains("limit of 10000%"), "{err}");
    }
    // In the file too, and a surge within the limit that pushes replicas past theirs.
    let plan = write_plan(
        dir.path(),
        "headroom: {surge: 1e8%}\nservices:\n  - {name: s, replicas: 3, cpu: 100m, memory: 64Mi}\n",
    );
    assert!(stderr(&run(&["plan", &plan])).contains("surge of 100000000%"));
    let plan = write_plan(
        dir.path(),
        "services:\n  - {name: s, replicas: 20000, cpu: 100m, memory: 64Mi}\n",
    );
    let out = run(&["plan", &plan, "--surge", "10000%"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("replicas with surge of s is 2020000"), "{err}");
}

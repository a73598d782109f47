//! `imgopt rewrite --verify` end to end: the Go, C and Python examples built with the original
//! and the rewrite by buildah against the Debian stand-in base images (scripts/standins.sh,
//! served by a loopback registry that mirrors docker.io and gcr.io), run, compared and
//! measured; a build that fails; no builder on PATH.
//!
//! Needs root, buildah and `IMGOPT_STANDIN_REGISTRIES_CONF` (scripts/test.sh sets it up);
//! otherwise these tests skip, or fail under `IMGOPT_REQUIRE_CORPUS=1`. The builds share
//! buildah's storage and two cores, so they run one at a time.

use crate::support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

/// The stand-ins' registries.conf and buildah, or a loud skip.
fn standins() -> Option<PathBuf> {
    support::standins::registries_conf()
}

fn example(name: &str) -> String {
    format!("{}/examples/rewrite/{name}/Dockerfile", env!("CARGO_MANIFEST_DIR"))
}

fn verify(conf: &Path, dockerfile: &str, extra: &[&str]) -> Output {
    support::imgopt()
        .args(["rewrite", dockerfile, "--verify", "--format", "json"])
        .args(extra)
        .env("CONTAINERS_REGISTRIES_CONF", conf)
        .output()
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "JSON on stdout ({e}); stderr:\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn bytes(v: &Value, side: &str, key: &str) -> u64 {
    v["verify"][side]["size"][key]
        .as_u64()
        .unwrap_or_else(|| panic!("verify.{side}.size.{key} in {v:#}"))
}

/// Builds both versions of an example and checks they behave the same and the rewrite is at
/// most half the original's bytes. The predicted range is printed beside the measurement,
/// never asserted against it: the stand-ins carry Debian's versions, not the real images'.
fn example_builds_and_halves(name: &str, extra: &[&str], expect_stdout: &str) {
    let Some(conf) = standins() else { return };
    let _one = support::standins::one_build_at_a_time();
    let out = verify(&conf, &example(name), extra);
    let v = json(&out);
    let vr = &v["verify"];
    assert_eq!(
        out.status.code(),
        Some(0),
        "{name}: verify failed: {:#}\nstderr: {}",
        vr["failure"],
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(vr["passed"], true, "{vr:#}");
    assert_eq!(vr["same_output"], true, "{vr:#}");
    assert!(vr["failure"].is_null());
    let (a, b) = (&vr["original"]["run"], &vr["rewrite"]["run"]);
    assert_eq!(a["exit_code"], b["exit_code"]);
    assert_eq!(a["exit_code"], 0, "{a:#}");
    assert_eq!(a["stdout_sha256"], b["stdout_sha256"]);
    let first = a["stdout_first_lines"][0].as_str().unwrap_or_default();
    assert!(first.contains(expect_stdout), "{name}: stdout {first:?}");
    for key in ["uncompressed_bytes", "compressed_bytes"] {
        let (orig, new) = (bytes(&v, "original", key), bytes(&v, "rewrite", key));
        assert!(new > 0 && orig > 0);
        assert!(
            new * 2 <= orig,
            "{name}: rewrite {key} {new} is more than half of {orig}"
        );
    }
    assert!(
        vr["original"]["image_id"]
            .as_str()
            .is_some_and(|s| s.starts_with("sha256:"))
    );
    let saving = vr["saving"]["uncompressed_bytes"].as_i64().expect("saving");
    assert_eq!(
        saving,
        i64::try_from(bytes(&v, "original", "uncompressed_bytes")).unwrap()
            - i64::try_from(bytes(&v, "rewrite", "uncompressed_bytes")).unwrap()
    );
    #[allow(clippy::print_stderr)]
    {
        eprintln!(
            "{name}: measured {} -> {} bytes uncompressed ({} -> {} compressed); predicted saving {}; {:.0} s",
            bytes(&v, "original", "uncompressed_bytes"),
            bytes(&v, "rewrite", "uncompressed_bytes"),
            bytes(&v, "original", "compressed_bytes"),
            bytes(&v, "rewrite", "compressed_bytes"),
            v["estimate"],
            vr["seconds"].as_f64().unwrap_or_default()
        );
    }
}

#[test]
fn go_example_builds_runs_the_same_and_halves() {
    example_builds_and_halves("go-single-stage", &[], "hello");
}

#[test]
fn c_example_builds_runs_the_same_and_halves() {
    example_builds_and_halves("c-make", &[], "hello");
}

#[test]
fn python_example_builds_runs_the_same_and_halves() {
    // pip reaches PyPI through this machine's CA certificates.
    example_builds_and_halves(
        "python-pip",
        &["--build-volume", "/etc/ssl/certs:/etc/ssl/certs:ro"],
        "hello from Python",
    );
}

#[test]
fn a_failing_build_names_the_step_and_exits_1() {
    let Some(conf) = standins() else { return };
    let _one = support::standins::one_build_at_a_time();
    let dir = tempfile::tempdir().expect("tempdir");
    let src = format!("{}/examples/rewrite/go-single-stage", env!("CARGO_MANIFEST_DIR"));
    for f in ["go.mod", "main.go"] {
        std::fs::copy(Path::new(&src).join(f), dir.path().join(f)).expect("copy");
    }
    // Fails before anything slow runs; the secret must not be echoed back.
    let dockerfile = "FROM debian:bookworm\nARG TOKEN\nRUN echo \"building with $TOKEN\" && exit 3\n\
                      RUN apt-get update && apt-get install -y golang-go\nWORKDIR /src\n\
                      COPY go.mod main.go ./\nRUN go build -o /usr/local/bin/hello .\n\
                      CMD [\"/usr/local/bin/hello\"]\n";
    let path = dir.path().join("Dockerfile");
    std::fs::write(&path, dockerfile).expect("write");
    let before = working_containers();
    let out = verify(
        &conf,
        &path.display().to_string(),
        &["--build-arg", "TOKEN=s3cr3t-value"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let v = json(&out);
    let f = &v["verify"]["failure"];
    assert_eq!(f["step"], "build original", "{f:#}");
    let msg = f["message"].as_str().expect("message");
    assert!(msg.contains("exit"), "{msg}");
    assert!(msg.contains("RUN echo"), "the failing Dockerfile step is named: {msg}");
    let last = f["last_lines"].as_array().expect("last lines");
    assert!(!last.is_empty() && last.len() <= 40);
    assert_eq!(v["verify"]["passed"], false);
    assert_eq!(v["verify"]["build_args"], serde_json::json!(["TOKEN"]));
    let all = String::from_utf8_lossy(&out.stdout);
    assert!(!all.contains("s3cr3t-value"), "a build-arg value was shown");
    assert!(all.contains("building with ***"), "the masked line is kept: {all}");
    // Nothing was written beside the user's file.
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .expect("read_dir")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(names.len(), 3, "{names:?}");
    // The human report says the same.
    let out = support::imgopt()
        .args(["rewrite", &path.display().to_string(), "--verify", "--diff"])
        .env("CONTAINERS_REGISTRIES_CONF", &conf)
        .output();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("verify: FAILED"), "{text}");
    assert!(text.contains("failed step: build original"), "{text}");
    // The failed builds left no working container behind.
    assert_eq!(working_containers(), before);
}

/// buildah's working containers (the same storage imgopt uses).
fn working_containers() -> Vec<String> {
    let out = Command::new("buildah")
        .args(["--storage-driver", "vfs", "containers", "--quiet"])
        .output()
        .expect("buildah runs");
    let mut ids: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    ids.sort();
    ids
}

#[test]
fn no_builder_on_path_exits_2_with_a_hint() {
    let empty = tempfile::tempdir().expect("tempdir");
    for extra in [&[][..], &["--builder", "buildah"][..]] {
        let out = support::imgopt()
            .args(["rewrite", &example("go-single-stage"), "--verify"])
            .args(extra)
            .env("PATH", empty.path())
            .output();
        assert_eq!(out.status.code(), Some(2));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("no container builder found on PATH"), "{err}");
        assert!(err.contains("install buildah"), "{err}");
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn verify_options_need_verify_and_bad_smoke_is_exit_2() {
    let out = support::imgopt()
        .args(["rewrite", &example("go-single-stage"), "--smoke", "--version"])
        .output();
    assert_eq!(out.status.code(), Some(2));
    let out = support::imgopt()
        .args([
            "rewrite",
            &example("go-single-stage"),
            "--verify",
            "--smoke",
            "'unclosed",
        ])
        .output();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unclosed single quote"));
}

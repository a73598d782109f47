//! Issue 16's "estimates checked against bytes": small real-shaped Dockerfiles, one per class
//! of size problem a built image can show (package lists and caches left in a layer, an archive
//! copied in and deleted later, `chown -R` over copied files), are built by buildah on the
//! Debian stand-in base images. `imgopt analyze` without the image gives each finding its
//! estimate; `imgopt analyze --image` on the built image gives the bytes the layer really holds.
//! The measured bytes must fall inside the estimated range (equal it, for an exact estimate),
//! or the range is wrong.
//!
//! Needs root, buildah, the stand-ins (scripts/test.sh serves them) and the Debian package
//! registry; otherwise the test skips, or fails under `IMGOPT_REQUIRE_CORPUS=1`.
//!
//! Not here: pip's cache (DF204). pip keeps the wheels it downloaded in its HTTP cache only when
//! the index answers with caching headers, as PyPI does; the package proxy of these machines
//! answers without them, so a real build here leaves no pip cache at all (0 bytes measured), which
//! says nothing about the estimate. Development dependencies have no byte estimate to check.

use crate::support;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

/// Deterministic bytes that do not compress (xorshift), so an archive is as large as its content.
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x.to_le_bytes()[0]
        })
        .collect()
}

/// Builds `ctx/Dockerfile` with buildah on the stand-ins and writes it as an OCI layout at `oci`.
fn build(conf: &Path, ctx: &Path, oci: &Path, tag: &str) {
    let buildah = |args: &[&str]| {
        let out = Command::new("buildah")
            .args(["--storage-driver", "vfs"])
            .args(args)
            .env("CONTAINERS_REGISTRIES_CONF", conf)
            .output()
            .expect("buildah runs");
        assert!(
            out.status.success(),
            "buildah {args:?} failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let ctx_s = ctx.to_str().unwrap();
    // Package registries are reached through this machine's CA certificates.
    buildah(&[
        "bud",
        "--isolation",
        "chroot",
        "--layers",
        "--force-rm",
        "-v",
        "/etc/ssl/certs:/etc/ssl/certs:ro",
        "-t",
        tag,
        ctx_s,
    ]);
    let dest = format!("oci:{}:latest", oci.display());
    buildah(&["push", "--quiet", tag, &dest]);
    buildah(&["rmi", "-f", tag]);
}

/// `(code, line)` → the finding, from `imgopt analyze … --format json`.
fn findings(args: &[&str]) -> BTreeMap<(String, u64), Value> {
    let out = support::imgopt()
        .args(["analyze", "--format", "json", "--fail-on", "never"])
        .args(args)
        .output();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                (
                    f["code"].as_str().unwrap().to_string(),
                    f["start_line"].as_u64().unwrap(),
                ),
                f.clone(),
            )
        })
        .collect()
}

/// Builds the case and checks every `(code, line)` in `expect`: the finding is there with and
/// without the image, the image measures it, and the measured bytes are inside the estimate.
fn check(name: &str, dockerfile: &str, files: &[(&str, Vec<u8>)], expect: &[(&str, u64)]) {
    let Some(conf) = support::standins::registries_conf() else {
        return;
    };
    let _one = support::standins::one_build_at_a_time();
    let tmp = tempfile::tempdir().unwrap();
    let ctx = tmp.path().join("ctx");
    for (path, bytes) in files {
        let p = ctx.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    }
    std::fs::write(ctx.join("Dockerfile"), dockerfile).unwrap();
    let oci = tmp.path().join("oci");
    build(&conf, &ctx, &oci, &format!("localhost/imgopt-estimates/{name}:test"));
    let df = ctx.join("Dockerfile");
    let predicted = findings(&[df.to_str().unwrap()]);
    let image = format!("oci:{}:latest", oci.display());
    let measured = findings(&[df.to_str().unwrap(), "--image", &image]);
    let mut report = Vec::new();
    for &(code, line) in expect {
        let key = (code.to_string(), line);
        let p = predicted
            .get(&key)
            .unwrap_or_else(|| panic!("{name}: no {code} on line {line} without the image: {predicted:#?}"));
        let m = measured
            .get(&key)
            .unwrap_or_else(|| panic!("{name}: no {code} on line {line} with the image"));
        let bytes = m["measured"]["bytes"]
            .as_u64()
            .unwrap_or_else(|| panic!("{name}: {code} line {line} not measured: {m:#}"));
        let est = &p["estimate"];
        let (low, high) = (est["low_bytes"].as_u64().unwrap(), est["high_bytes"].as_u64().unwrap());
        let basis = est["basis"].as_str().unwrap();
        report.push(format!(
            "{code} line {line}: measured {bytes}, estimated {low}..={high} ({basis})"
        ));
        assert!(
            (low..=high).contains(&bytes),
            "{name}: {code} on line {line}: the image holds {bytes} bytes, outside the estimate \
             {low}..={high} ({basis}): the range is wrong"
        );
        if basis == "exact" {
            assert_eq!(low, bytes, "{name}: {code} line {line}: an exact estimate");
        }
    }
    #[allow(clippy::print_stderr)]
    {
        eprintln!("{name}: {}", report.join("; "));
    }
}

#[test]
fn apt_lists_an_archive_and_chown_on_debian_hold_their_estimates() {
    let data: Vec<(String, Vec<u8>)> = (0..40u64)
        .map(|i| (format!("data/part-{i}.bin"), noise(50_000, i + 7)))
        .collect();
    // The archive: a folder of incompressible files, gzipped.
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir(tmp.path().join("pkg")).unwrap();
    std::fs::write(tmp.path().join("pkg/lib.bin"), noise(1_500_000, 3)).unwrap();
    let status = Command::new("tar")
        .args(["-czf", "app.tar.gz", "pkg"])
        .current_dir(tmp.path())
        .status()
        .unwrap();
    assert!(status.success());
    let archive = std::fs::read(tmp.path().join("app.tar.gz")).unwrap();
    let mut files: Vec<(&str, Vec<u8>)> = vec![("app.tar.gz", archive)];
    files.extend(data.iter().map(|(p, b)| (p.as_str(), b.clone())));
    check(
        "debian",
        "FROM debian:bookworm-slim\n\
         RUN apt-get update && apt-get install -y --no-install-recommends jq\n\
         COPY app.tar.gz /tmp/app.tar.gz\n\
         RUN tar -xzf /tmp/app.tar.gz -C /opt && rm /tmp/app.tar.gz\n\
         COPY data/ /data/\n\
         RUN chown -R 1000:1000 /data\n\
         CMD [\"jq\", \"--version\"]\n",
        &files,
        &[("DF201", 2), ("DF401", 4), ("DF402", 6)],
    );
}

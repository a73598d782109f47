//! `imgopt plan` with image references (`{ref: ...}` in a plan file, `--image REF`): layers
//! read through the image sources, sizes checked against the image builder's own bytes, the
//! fixture images' `images.tsv`, and the shared base layer counted once per node.
#![allow(clippy::unwrap_used)]

use crate::support;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Output;

use support::image_builder::{Compression, DockerLayout, Entry, ImageBuilder};

fn run(args: &[&str]) -> Output {
    support::imgopt().args(args).output()
}

fn json(out: &Output) -> serde_json::Value {
    assert_eq!(
        out.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

const MIB: f64 = 1_048_576.0;

/// MiB rounded to one decimal, as the plan prints pull sizes.
fn mib1(bytes: u64) -> f64 {
    (bytes as f64 / MIB * 10.0).round() / 10.0
}

/// Whole MiB rounded up, as the plan prints cache sizes.
fn mib_ceil(bytes: u64) -> u64 {
    bytes.div_ceil(1 << 20)
}

/// `images.tsv`: name -> (compressed_bytes, uncompressed_bytes).
fn images_tsv(dir: &Path) -> BTreeMap<String, (u64, u64)> {
    let text = std::fs::read_to_string(dir.join("images.tsv")).unwrap();
    let mut lines = text.lines();
    let head: Vec<&str> = lines.next().unwrap().split('\t').collect();
    let col = |n: &str| head.iter().position(|h| *h == n).unwrap();
    let (name, c, u) = (col("name"), col("compressed_bytes"), col("uncompressed_bytes"));
    lines
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (f[name].to_string(), (f[c].parse().unwrap(), f[u].parse().unwrap()))
        })
        .collect()
}

/// Bytes that do not compress (xorshift).
fn noise(n: usize) -> Vec<u8> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

fn base_layer() -> Vec<Entry> {
    vec![
        Entry::dir("etc"),
        Entry::file("etc/os-release", "ID=test\n"),
        Entry::zeros("usr/lib/libbig.so", 3 << 20),
    ]
}

#[test]
fn builder_images_oci_and_docker_archive_share_the_base_layer() {
    let tmp = tempfile::tempdir().unwrap();
    let a = ImageBuilder::new()
        .compression(Compression::Gzip)
        .layer("ADD rootfs / # buildkit", base_layer())
        .layer(
            "COPY app /app # buildkit",
            vec![Entry::dir("app"), Entry::file("app/run.sh", "#!/bin/sh\necho a\n")],
        )
        .build();
    let b = ImageBuilder::new()
        .compression(Compression::Gzip)
        .layer("ADD rootfs / # buildkit", base_layer())
        .layer(
            "RUN make # buildkit",
            vec![Entry::dir("srv"), Entry::file("srv/data.bin", noise(1 << 20))],
        )
        .build();
    assert_eq!(
        a.layers[0].digest, b.layers[0].digest,
        "the builder makes the same base blob"
    );
    a.write_oci_layout(&tmp.path().join("a"), Some("latest"));
    let b_tar = tmp.path().join("b.tar");
    b.write_docker_archive(&b_tar, DockerLayout::Classic);
    let plan = tmp.path().join("plan.yaml");
    std::fs::write(
        &plan,
        format!(
            "node_types:\n  - {{name: n, cpu: \"4\", memory: 8Gi, disk: 10Gi, reserved: eks}}\nimages:\n  a: {{ref: \"oci:{}\"}}\n  b: {{ref: \"docker-archive:{}\"}}\n\
             daemonsets:\n  - {{name: ds, cpu: 10m, memory: 0, image: a}}\nservices:\n  - {{name: svc-b, replicas: 1, cpu: 100m, memory: 64Mi, image: b}}\n",
            tmp.path().join("a").display(),
            b_tar.display()
        ),
    )
    .unwrap();
    let v = json(&run(&["plan", plan.to_str().unwrap(), "--format", "json"]));
    // Budget: floor(10240 MiB * 85%) = 8704 MiB, minus the DaemonSet image's tars (rounded up).
    let a_tar: u64 = a.layers.iter().map(|l| l.tar.len() as u64).sum();
    assert_eq!(v["node_types"][0]["image_budget_mib"], 8704 - mib_ceil(a_tar));
    let svc = &v["services"][0];
    // The cache holds b's layers; b's base is a's base (same tar on no parent).
    let b_tar_bytes: u64 = b.layers.iter().map(|l| l.tar.len() as u64).sum();
    assert_eq!(svc["per_node"]["n"]["image_cache_mib"], mib_ceil(b_tar_bytes));
    assert_eq!(
        b.layers[1].tar.len() as u64,
        512 + 512 + (1 << 20) + 1024,
        "two headers, 1 MiB of data, the end-of-archive blocks"
    );
    // Pull: only b's own layer, its blob as stored in the docker-archive (gzip of noise).
    let blob = b.layers[1].blob.len() as u64;
    assert!(blob > 1 << 20, "noise does not compress: {blob}");
    assert_eq!(svc["pull_mib"]["n"], mib1(blob));

    // The one-service form reads the OCI layout: pull = the gzip blobs, cache = the tars.
    let v = json(&run(&[
        "plan",
        "--node",
        "cpu=4,memory=8Gi,disk=10Gi",
        "--cpu",
        "100m",
        "--memory",
        "64Mi",
        "--image",
        &format!("oci:{}", tmp.path().join("a").display()),
        "--format",
        "json",
    ]));
    let svc = &v["services"][0];
    assert_eq!(svc["per_node"]["node"]["image_cache_mib"], mib_ceil(a_tar));
    let a_blobs: u64 = a.layers.iter().map(|l| l.blob.len() as u64).sum();
    assert!(a_blobs < a_tar / 10, "zeros compress");
    assert_eq!(svc["pull_mib"]["node"], mib1(a_blobs));
}

#[test]
fn bad_references_are_named_and_exit_2() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("nope");
    let plan = tmp.path().join("plan.yaml");
    std::fs::write(
        &plan,
        format!(
            "node_types:\n  - {{name: n, cpu: \"4\", memory: 8Gi, reserved: eks}}\nimages:\n  x: {{ref: \"oci:{}\"}}\nservices:\n  - {{name: s, replicas: 1, cpu: 1, memory: 1Gi, image: x}}\n",
            missing.display()
        ),
    )
    .unwrap();
    let out = run(&["plan", plan.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("PL009") && err.contains(&missing.display().to_string()) && err.contains("plan.yaml:4"),
        "{err}"
    );
    // A corrupt layer: the blob is cut short.
    let a = ImageBuilder::new().layer("ADD rootfs /", base_layer()).build();
    let dir = tmp.path().join("cut");
    a.write_oci_layout(&dir, Some("latest"));
    let blob = dir
        .join("blobs/sha256")
        .join(support::image_builder::hex_of(&a.layers[0].digest));
    let bytes = std::fs::read(&blob).unwrap();
    std::fs::write(&blob, &bytes[..bytes.len() / 2]).unwrap();
    let r = format!("oci:{}", dir.display());
    let out = run(&["plan", "--node", "cpu=4,memory=8Gi", "--cpu", "1", "--image", &r]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&r), "{err}");
}

#[test]
fn fixture_images_share_debian_base_once_per_node() {
    let Some(dir) = support::fixtures_dir() else {
        return;
    };
    let tsv = images_tsv(&dir);
    let (base_c, base_u) = tsv["debian-base"];
    let (fat_c, fat_u) = tsv["py-fat"];
    let (_, slim_u) = tsv["py-slim"];
    let oci = |n: &str| format!("oci:{}", dir.join("oci").join(n).display());
    // Pull on a fresh node whose DaemonSet already runs debian-base: py-fat minus the base.
    let tmp = tempfile::tempdir().unwrap();
    let plan = tmp.path().join("plan.yaml");
    std::fs::write(
        &plan,
        format!(
            "node_types:\n  - {{name: n, cpu: \"8\", memory: 32Gi, disk: 100Gi, reserved: eks}}\nimages:\n  base: {{ref: \"{}\"}}\n  fat: {{ref: \"{}\"}}\n  slim: {{ref: \"docker-archive:{}\"}}\n\
             daemonsets:\n  - {{name: ds, cpu: 10m, memory: 0, image: base}}\nservices:\n  - {{name: fat, replicas: 1, cpu: 1, memory: 1Gi, image: fat}}\n  - {{name: slim, replicas: 1, cpu: 1, memory: 1Gi, image: slim}}\n",
            oci("debian-base"),
            oci("py-fat"),
            dir.join("archives/py-slim.tar").display()
        ),
    )
    .unwrap();
    // The fixtures live outside the plan's folder: the plan may read them only with the flag.
    let refused = run(&["plan", plan.to_str().unwrap(), "--format", "json"]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--allow-paths-outside-plan"));
    let outside = "--allow-paths-outside-plan";
    let v = json(&run(&["plan", plan.to_str().unwrap(), "--format", "json", outside]));
    assert_eq!(v["node_types"][0]["image_budget_mib"], 87040 - mib_ceil(base_u));
    let svc = |name: &str| {
        v["services"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name)
            .unwrap()
            .clone()
    };
    assert_eq!(svc("fat")["pull_mib"]["n"], mib1(fat_c - base_c));
    assert_eq!(svc("fat")["per_node"]["n"]["image_cache_mib"], mib_ceil(fat_u));
    // The docker-archive stores py-slim's layers uncompressed: its pull is its own tars.
    assert_eq!(svc("slim")["pull_mib"]["n"], mib1(slim_u - base_u));
    assert_eq!(svc("slim")["per_node"]["n"]["image_cache_mib"], mib_ceil(slim_u));

    // The disk budget: py-fat and py-slim together need their union (debian-base once).
    let union = fat_u + slim_u - base_u;
    let budget_plan = |budget_mib: u64| {
        // disk 200Gi: floor(204800 * 85%) = 174080 MiB, minus disk_reserved.
        format!(
            "node_types:\n  - {{name: n, cpu: \"8\", memory: 32Gi, disk: 200Gi, disk_reserved: {}Mi, reserved: eks}}\nimages:\n  fat: {{ref: \"{}\"}}\n  slim: {{ref: \"{}\"}}\n\
             services:\n  - {{name: fat, replicas: 1, cpu: 1, memory: 1Gi, image: fat}}\n  - {{name: slim, replicas: 1, cpu: 1, memory: 1Gi, image: slim}}\n",
            174_080 - budget_mib,
            oci("py-fat"),
            oci("py-slim-zstd")
        )
    };
    let nodes = |budget_mib: u64| {
        std::fs::write(&plan, budget_plan(budget_mib)).unwrap();
        let v = json(&run(&["plan", plan.to_str().unwrap(), "--format", "json", outside]));
        v["by_node_type"]["n"]["nodes"].as_u64().unwrap()
    };
    // 20 MiB above the union: one node. Between py-fat alone and the sum of both: two nodes,
    // although the sum without sharing (fat_u + slim_u) would not fit one node either way.
    assert!(fat_u + slim_u > union + (100 << 20));
    assert_eq!(nodes(mib_ceil(union) + 20), 1);
    assert_eq!(nodes(mib_ceil(union) - 20), 2);
}

#[test]
fn registry_reference() {
    let Some(reg) = support::registry() else {
        return;
    };
    let Some(dir) = support::fixtures_dir() else {
        return;
    };
    let (c, u) = images_tsv(&dir)["py-slim"];
    let v = json(&run(&[
        "plan",
        "--node",
        "cpu=4,memory=16Gi,disk=50Gi",
        "--cpu",
        "1",
        "--memory",
        "1Gi",
        "--image",
        &format!("{reg}/imgopt/py-slim:latest"),
        "--format",
        "json",
    ]));
    let svc = &v["services"][0];
    assert_eq!(svc["pull_mib"]["node"], mib1(c));
    assert_eq!(svc["per_node"]["node"]["image_cache_mib"], mib_ceil(u));
}

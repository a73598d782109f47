//! `imgopt layers` as a user runs it: each output format on a real image, and exit code 2 with
//! a clear message for what cannot be read. Images come from the test image builder (so these
//! run everywhere) and, where present, the fixture images.
#![allow(clippy::unwrap_used)]

use crate::support;

use std::path::Path;
use std::process::Output;

use support::image_builder::{Compression, DockerLayout, Entry, Fault, ImageBuilder, IndexBuilder};

fn imgopt(args: &[&str]) -> Output {
    support::imgopt().args(args).output()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A small image with one of each kind of waste.
fn wasteful() -> ImageBuilder {
    ImageBuilder::new()
        .layer(
            "RUN apt-get update && apt-get install -y curl",
            vec![
                Entry::dir("var"),
                Entry::dir("var/lib"),
                Entry::dir("var/lib/apt"),
                Entry::dir("var/lib/apt/lists"),
                Entry::file("var/lib/apt/lists/deb_Packages", vec![1u8; 40_000]),
                Entry::dir("app"),
                Entry::file("app/big.bin", vec![2u8; 30_000]),
                Entry::file("app/s.js", vec![3u8; 20_000]),
            ],
        )
        .empty_step("ENV A=1")
        .layer(
            "RUN rm -rf /var/lib/apt/lists/* && rm /app/big.bin && chown -R 1000 /app",
            vec![
                Entry::whiteout("var/lib/apt/lists/deb_Packages"),
                Entry::whiteout("app/big.bin"),
                Entry::file_with("app/s.js", vec![3u8; 20_000], 0o644, 1000, 1000),
            ],
        )
}

fn write_layout(dir: &Path, img: &ImageBuilder) -> String {
    img.build().write_oci_layout(dir, Some("latest"));
    format!("oci:{}", dir.display())
}

#[test]
fn json_output_is_the_documented_report() {
    let tmp = tempfile::tempdir().unwrap();
    let spec = write_layout(&tmp.path().join("img"), &wasteful());
    let out = imgopt(&["layers", &spec, "--format", "json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["schema_version"], 1);
    // 40 000 lists + 30 000 deleted + 20 000 re-stored by chown: worked out from the layers.
    assert_eq!(v["reclaimable_bytes"], 90_000);
    assert_eq!(v["waste_by_kind"]["deleted"], 70_000);
    assert_eq!(v["waste_by_kind"]["metadata_only"], 20_000);
    assert_eq!(
        v["layers"][1]["created_by"],
        "RUN rm -rf /var/lib/apt/lists/* && rm /app/big.bin && chown -R 1000 /app"
    );
    assert_eq!(v["layers"][1]["history_index"], 2);
    assert_eq!(v["layers"][0]["verified"], true);
    for key in [
        "source",
        "platform",
        "manifest_digest",
        "config_digest",
        "totals",
        "efficiency",
        "waste",
        "packages",
    ] {
        assert!(!v[key].is_null(), "missing {key}");
    }
    let lists = v["waste"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["path"] == "/var/lib/apt/lists/deb_Packages")
        .unwrap();
    assert_eq!(lists["kind"], "deleted");
    assert_eq!(lists["cache"], "apt-lists");
    assert!(
        out.stderr.is_empty(),
        "no progress bar when stderr is not a terminal: {}",
        text(&out.stderr)
    );
}

#[test]
fn human_and_markdown_show_the_same_numbers() {
    let tmp = tempfile::tempdir().unwrap();
    let spec = write_layout(&tmp.path().join("img"), &wasteful());
    let out = imgopt(&["layers", &spec]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let h = text(&out.stdout);
    assert!(h.contains("Reclaimable by squashing   87.9 KiB"), "{h}");
    assert!(h.contains("metadata_only") && h.contains("apt-lists"), "{h}");
    assert!(h.contains("RUN apt-get update && apt-get"), "{h}");
    let out = imgopt(&["layers", &spec, "--format", "markdown"]);
    assert!(out.status.success());
    let m = text(&out.stdout);
    assert!(m.contains("| **reclaimable** | **87.9 KiB** |"), "{m}");
    assert!(m.starts_with("### Layers of `oci:"), "{m}");
}

#[test]
fn fixture_image_in_every_format() {
    let Some(fx) = support::fixtures_dir() else {
        return;
    };
    let archive = fx.join("archives/static-tiny.tar");
    let a = archive.to_str().unwrap();
    for fmt in ["human", "json", "markdown"] {
        let out = imgopt(&["layers", a, "--format", fmt]);
        assert!(out.status.success(), "{fmt}: {}", text(&out.stderr));
        assert!(!out.stdout.is_empty());
    }
    let out = imgopt(&["layers", a, "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["efficiency"], 1.0);
    assert_eq!(v["layers"].as_array().unwrap().len(), 2);
}

#[test]
fn all_platforms_side_by_side() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("multi");
    let amd = ImageBuilder::new()
        .platform("linux/amd64")
        .layer("COPY a /", vec![Entry::file("a", vec![1u8; 100])]);
    let arm = ImageBuilder::new()
        .platform("linux/arm64/v8")
        .layer("COPY a /", vec![Entry::file("a", vec![2u8; 300])]);
    IndexBuilder::new()
        .image(&amd)
        .image(&arm)
        .write_oci_layout(&dir, Some("latest"), false);
    let spec = format!("oci:{}", dir.display());
    let out = imgopt(&["layers", &spec, "--all-platforms", "--format", "json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["schema_version"], 1);
    let p = v["platforms"].as_array().unwrap();
    let got: Vec<(String, u64)> = p
        .iter()
        .map(|r| {
            (
                r["platform"].as_str().unwrap().to_string(),
                r["totals"]["content_bytes"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [("linux/amd64".to_string(), 100), ("linux/arm64/v8".to_string(), 300)]
    );
    let out = imgopt(&["layers", &spec, "--platform", "linux/arm64/v8", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["totals"]["content_bytes"], 300);
    let out = imgopt(&["layers", &spec, "--all-platforms"]);
    assert!(text(&out.stdout).contains("linux/arm64/v8"));
}

#[test]
fn base_bytes_are_reported_apart() {
    let tmp = tempfile::tempdir().unwrap();
    let base_layer = || vec![Entry::file("etc/os", vec![1u8; 1000])];
    let base = ImageBuilder::new().layer("ADD rootfs /", base_layer());
    let app = ImageBuilder::new()
        .layer("ADD rootfs /", base_layer())
        .layer("COPY app /app", vec![Entry::file("app/x", vec![2u8; 500])]);
    let b = write_layout(&tmp.path().join("base"), &base);
    let a = write_layout(&tmp.path().join("app"), &app);
    let out = imgopt(&["layers", &a, "--base", &b, "--format", "json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["base"]["layers"], 1);
    assert_eq!(v["base"]["matches_fully"], true);
    assert_eq!(v["base"]["base_content_bytes"], 1000);
    assert_eq!(v["base"]["own_content_bytes"], 500);
}

#[test]
fn cache_dir_serves_a_second_run_without_the_blobs() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("img");
    let spec = write_layout(&dir, &wasteful());
    let cache = tmp.path().join("cache");
    let c = cache.to_str().unwrap();
    let first = imgopt(&["layers", &spec, "--cache-dir", c, "--format", "json"]);
    assert!(first.status.success(), "{}", text(&first.stderr));
    let entries = std::fs::read_dir(cache.join("layers-v1")).unwrap().count();
    assert_eq!(entries, 2, "one entry per layer");
    // Empty the layer blobs (keeping manifest and config): only the cache can answer now.
    let built = wasteful().build();
    for l in &built.layers {
        let p = dir.join("blobs/sha256").join(support::image_builder::hex_of(&l.digest));
        std::fs::write(&p, b"").unwrap();
    }
    let second = imgopt(&["layers", &spec, "--cache-dir", c, "--format", "json"]);
    assert!(second.status.success(), "{}", text(&second.stderr));
    assert_eq!(first.stdout, second.stdout);
    // Without the cache the damage is found.
    let third = imgopt(&["layers", &spec]);
    assert_eq!(third.status.code(), Some(2));
}

#[test]
fn missing_path_exits_2_with_a_clear_message() {
    let out = imgopt(&["layers", "./no/such/image.tar"]);
    assert_eq!(out.status.code(), Some(2));
    let e = text(&out.stderr);
    assert!(e.contains("no/such/image.tar"), "{e}");
    assert!(out.stdout.is_empty());
}

#[test]
fn broken_images_exit_2_naming_the_layer() {
    let tmp = tempfile::tempdir().unwrap();
    let cases = [
        (Fault::WrongDigest(1), "does not match"),
        (Fault::TruncatedBlob(1), "bytes"),
        (Fault::MissingBlob(0), "missing"),
        (Fault::WrongDiffId(1), "diff_id"),
        (Fault::CorruptCompression(1), ""),
    ];
    for (i, (fault, words)) in cases.into_iter().enumerate() {
        let dir = tmp.path().join(format!("broken-{i}"));
        let img = wasteful().compression(Compression::Gzip).fault(fault.clone());
        let spec = write_layout(&dir, &img);
        let out = imgopt(&["layers", &spec, "--format", "json"]);
        let e = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{fault:?}: {e}");
        assert!(out.stdout.is_empty(), "{fault:?}: no partial report");
        assert!(e.contains("sha256:"), "{fault:?} names a digest: {e}");
        assert!(e.contains(words), "{fault:?}: {e}");
    }
}

#[test]
fn docker_archives_of_both_layouts_read_the_same() {
    let tmp = tempfile::tempdir().unwrap();
    let mut outs = Vec::new();
    for layout in [DockerLayout::Classic, DockerLayout::Oci] {
        let f = tmp.path().join(format!("{layout:?}.tar"));
        wasteful().build_uncompressed().write_docker_archive(&f, layout);
        let out = imgopt(&["layers", f.to_str().unwrap(), "--format", "json"]);
        assert!(out.status.success(), "{layout:?}: {}", text(&out.stderr));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        outs.push((
            v["reclaimable_bytes"].clone(),
            v["efficiency"].clone(),
            v["totals"]["content_bytes"].clone(),
        ));
    }
    assert_eq!(outs[0], outs[1]);
    assert_eq!(outs[0].0, 90_000);
}

#[test]
fn dockerfile_lines_get_the_measured_bytes() {
    let tmp = tempfile::tempdir().unwrap();
    let spec = write_layout(&tmp.path().join("img"), &wasteful());
    let df = tmp.path().join("Dockerfile");
    // The wasteful() image: a base with no layers of its own, then these two steps.
    std::fs::write(
        &df,
        "FROM scratch\nARG X=1\nRUN apt-get update && apt-get install -y curl\nENV A=1\nRUN rm -rf /var/lib/apt/lists/* && rm /app/big.bin && chown -R 1000 /app\n",
    )
    .unwrap();
    let out = imgopt(&[
        "layers",
        &spec,
        "--dockerfile",
        df.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let ins = v["instructions"].as_array().unwrap();
    let got: Vec<(u64, String, u64, u64, u64)> = ins
        .iter()
        .map(|m| {
            (
                m["line"].as_u64().unwrap(),
                m["keyword"].as_str().unwrap().to_string(),
                m["content_bytes"].as_u64().unwrap(),
                m["wasted_later"].as_u64().unwrap(),
                m["made_waste"].as_u64().unwrap(),
            )
        })
        .collect();
    // Line 3 stored 90 000 bytes, all made waste by line 5 (which re-stored 20 000 of them).
    assert_eq!(
        got,
        [
            (2, "ARG".to_string(), 0, 0, 0),
            (3, "RUN".to_string(), 90_000, 90_000, 0),
            (4, "ENV".to_string(), 0, 0, 0),
            (5, "RUN".to_string(), 20_000, 0, 90_000)
        ]
    );
    assert_eq!(v["base"]["reference"], "scratch");
    assert_eq!(v["base"]["layers"], 0);
    let bad = tmp.path().join("Bad.Dockerfile");
    std::fs::write(&bad, "RUN echo no FROM here\n").unwrap();
    let out = imgopt(&["layers", &spec, "--dockerfile", bad.to_str().unwrap()]);
    let e = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{e}");
    assert!(e.contains("Bad.Dockerfile") && e.contains("no FROM"), "{e}");
    assert!(out.stdout.is_empty());
}

/// A layer whose last header promises more data than the tar holds: with --no-verify the data
/// is skipped by seeking, and the overrun must still be an error naming the entry.
#[test]
fn header_larger_than_data_is_caught_when_seeking_too() {
    let tmp = tempfile::tempdir().unwrap();
    let img = ImageBuilder::new().layer("ADD x", vec![Entry::file("etc/big", vec![5u8; 10])]);
    let mut files = img.build_uncompressed().docker_files(DockerLayout::Classic);
    let (_, tar) = files.iter_mut().find(|(n, _)| n.ends_with("layer.tar")).unwrap();
    // Find the entry's header, claim 100 000 bytes, and cut the tar right after the real data.
    let at = (0..tar.len())
        .step_by(512)
        .find(|&o| tar[o..].starts_with(b"etc/big"))
        .unwrap();
    let mut h = tar::Header::new_old();
    h.as_mut_bytes().copy_from_slice(&tar[at..at + 512]);
    h.set_size(100_000);
    h.set_cksum();
    tar[at..at + 512].copy_from_slice(h.as_bytes());
    tar.truncate(at + 512 + 512);
    let f = tmp.path().join("cut.tar");
    support::image_builder::write_tar_file(&f, &files);
    for extra in [&["--no-verify"][..], &[][..]] {
        let mut args = vec!["layers", f.to_str().unwrap()];
        args.extend_from_slice(extra);
        let out = imgopt(&args);
        let e = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{extra:?}: {e}");
        assert!(out.stdout.is_empty());
        assert!(e.contains("sha256:"), "{extra:?} names the layer: {e}");
        if extra.is_empty() {
            // Verified: the changed bytes no longer match the config's diff_id.
            assert!(e.contains("diff_id") || e.contains("does not match"), "{e}");
        } else {
            assert!(e.contains("/etc/big") && e.contains("100000"), "{e}");
        }
    }
}

/// A compression bomb stops at the documented ratio limit (100:1 past 64 MiB) with a clear
/// error, before it is inflated further.
#[test]
fn compression_bomb_exits_2() {
    let tmp = tempfile::tempdir().unwrap();
    let img = ImageBuilder::new()
        .compression(Compression::Zstd)
        .layer("ADD bomb", vec![Entry::zeros("zeros.bin", 200 << 20)]);
    let spec = write_layout(&tmp.path().join("bomb"), &img);
    let out = imgopt(&["layers", &spec, "--format", "json"]);
    let e = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{e}");
    assert!(out.stdout.is_empty());
    assert!(e.contains("sha256:") && e.contains("100:1"), "{e}");
}

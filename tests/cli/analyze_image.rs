//! `imgopt analyze Dockerfile --image IMAGE`: measured bytes per instruction and measured
//! savings, checked against hand-worked numbers on a built image, against the py-fat fixture's
//! truth file, and against `imgopt layers` on the same image.
#![allow(clippy::unwrap_used)]

use crate::support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;
use support::image_builder::{DockerLayout, Entry, ImageBuilder};

fn run(args: &[&str]) -> Output {
    support::imgopt().args(args).output()
}

fn json_ok(args: &[&str]) -> Value {
    let out = run(args);
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

fn finding<'a>(v: &'a Value, code: &str) -> &'a Value {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == code)
        .unwrap_or_else(|| panic!("no {code}: {v:#}"))
}

fn instruction(v: &Value, line: u64) -> Value {
    v["files"][0]["image"]["instructions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["line"] == line)
        .unwrap()
        .clone()
}

/// Sum of the estimates' low ends, as the summary must report after measuring.
fn low_sum(v: &Value) -> u64 {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["estimate"]["low_bytes"].as_u64())
        .sum()
}

const DOCKERFILE: &str = "FROM debian:bookworm\n\
RUN apt-get update && apt-get install -y --no-install-recommends curl\n\
RUN pip install flask\n\
COPY app /app\n\
RUN rm /app/big.bin && chown -R 1000:1000 /app\n\
ENV A=1\n\
CMD [\"/usr/bin/curl\"]\n";

fn built() -> ImageBuilder {
    ImageBuilder::new()
        .layer(
            "ADD rootfs / # buildkit",
            vec![Entry::dir("etc"), Entry::zeros("usr/lib/libc.so.6", 50_000)],
        )
        .empty_step("CMD [\"bash\"]")
        .layer(
            "RUN /bin/sh -c apt-get update && apt-get install -y --no-install-recommends curl # buildkit",
            vec![
                Entry::zeros("var/lib/apt/lists/deb.debian.org_Packages", 30_000),
                Entry::zeros("var/lib/apt/lists/deb.debian.org_Release", 1_234),
                Entry::zeros("usr/bin/curl", 7_000),
            ],
        )
        .layer(
            "RUN /bin/sh -c pip install flask # buildkit",
            vec![
                Entry::zeros("root/.cache/pip/http/a/b/c", 20_000),
                Entry::zeros("usr/lib/python3/flask.py", 900),
            ],
        )
        .layer(
            "COPY app /app # buildkit",
            vec![
                Entry::dir("app"),
                Entry::zeros("app/big.bin", 40_000),
                Entry::zeros("app/main.py", 321),
            ],
        )
        .layer(
            "RUN /bin/sh -c rm /app/big.bin && chown -R 1000:1000 /app # buildkit",
            vec![
                Entry::dir_with("app", 0o755, 1000, 1000),
                Entry::whiteout("app/big.bin"),
                Entry::file_with("app/main.py", vec![0u8; 321], 0o644, 1000, 1000),
            ],
        )
        .empty_step("ENV A=1")
        .empty_step("CMD [\"/usr/bin/curl\"]")
}

fn setup(dir: &Path) -> (PathBuf, String, String) {
    let df = dir.join("ctx/Dockerfile");
    std::fs::create_dir_all(dir.join("ctx/app")).unwrap();
    std::fs::write(&df, DOCKERFILE).unwrap();
    std::fs::write(dir.join("ctx/app/big.bin"), vec![0u8; 40_000]).unwrap();
    std::fs::write(dir.join("ctx/app/main.py"), vec![0u8; 321]).unwrap();
    let img = built();
    img.build().write_oci_layout(&dir.join("oci"), Some("latest"));
    img.build_uncompressed()
        .write_docker_archive(&dir.join("img.tar"), DockerLayout::Classic);
    (
        df,
        format!("oci:{}", dir.join("oci").display()),
        format!("docker-archive:{}", dir.join("img.tar").display()),
    )
}

#[test]
fn builder_image_numbers_known_exactly() {
    let tmp = tempfile::tempdir().unwrap();
    let (df, oci, archive) = setup(tmp.path());
    for image in [&oci, &archive] {
        let v = json_ok(&[
            "analyze",
            df.to_str().unwrap(),
            "--image",
            image,
            "--format",
            "json",
            "--fail-on",
            "never",
        ]);
        assert_eq!(v["schema_version"], 1);
        let im = &v["files"][0]["image"];
        assert_eq!(im["layers"], 5);
        assert_eq!(im["base"]["layers"], 1, "FROM's image is the layer below the first RUN");
        assert_eq!(im["base"]["base_content_bytes"], 50_000);
        // Line 2: the apt RUN, layer 1: 30000 + 1234 of lists, 7000 of curl.
        let i2 = instruction(&v, 2);
        assert_eq!(i2["layers"], serde_json::json!([1]));
        assert_eq!(i2["content_bytes"], 38_234);
        assert_eq!(i2["cache_bytes"]["apt-lists"], 31_234);
        let f = finding(&v, "DF201");
        assert_eq!(f["start_line"], 2);
        assert_eq!(f["estimate"]["basis"], "measured");
        assert_eq!(
            (
                f["estimate"]["low_bytes"].as_u64(),
                f["estimate"]["high_bytes"].as_u64()
            ),
            (Some(31_234), Some(31_234))
        );
        assert!(f["estimate"]["compressed_low_bytes"].is_null());
        assert_eq!(f["measured"]["bytes"], 31_234);
        assert_eq!(f["measured"]["replaced"]["basis"], "heuristic");
        // Line 3: pip's cache.
        let f = finding(&v, "DF204");
        assert_eq!(f["estimate"]["basis"], "measured");
        assert_eq!(f["estimate"]["low_bytes"], 20_000);
        assert_eq!(instruction(&v, 3)["cache_bytes"]["pip"], 20_000);
        // Line 5 deletes big.bin (40000) and stores main.py again with a new owner (321).
        let i5 = instruction(&v, 5);
        assert_eq!(i5["deleted_bytes"], 40_000);
        assert_eq!(i5["metadata_only_bytes"], 321);
        assert_eq!(i5["made_waste"], 40_321);
        assert_eq!(instruction(&v, 4)["wasted_later"], 40_321);
        let f = finding(&v, "DF401");
        assert_eq!(
            (f["estimate"]["low_bytes"].as_u64(), f["estimate"]["basis"].as_str()),
            (Some(40_000), Some("measured"))
        );
        // Metadata-only instructions made no layer.
        assert_eq!(instruction(&v, 6)["layers"], serde_json::json!([]));
        assert_eq!(
            v["summary"]["estimated_saving"]["low_bytes"].as_u64().unwrap(),
            low_sum(&v)
        );
        assert!(
            v["summary"]["estimated_saving"]["bases"]
                .as_array()
                .unwrap()
                .contains(&"measured".into())
        );
    }
    // Without --image nothing is measured and `files[].image` is absent.
    let v = json_ok(&[
        "analyze",
        df.to_str().unwrap(),
        "--format",
        "json",
        "--fail-on",
        "never",
    ]);
    assert!(v["files"][0].get("image").is_none());
    assert_ne!(finding(&v, "DF201")["estimate"]["basis"], "measured");
    // Human output says measured.
    let out = run(&["analyze", df.to_str().unwrap(), "--image", &oci, "--fail-on", "never"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("(measured)") && text.contains("measured on oci:"),
        "{text}"
    );
    assert!(
        text.contains("line   2 RUN apt-get update") && text.contains("apt-lists 30.5 KiB"),
        "{text}"
    );
    let out = run(&[
        "analyze",
        df.to_str().unwrap(),
        "--image",
        &oci,
        "--fail-on",
        "never",
        "--format",
        "markdown",
    ]);
    let md = String::from_utf8_lossy(&out.stdout);
    assert!(md.contains("| 3 | `RUN pip install flask` | 2 | 20.4 KiB |"), "{md}");
}

#[test]
fn layers_without_the_bytes_keep_the_estimate() {
    // The apt RUN's layer holds no lists (a cache mount kept them out): DF201 keeps its
    // heuristic estimate and says what the layer showed.
    let tmp = tempfile::tempdir().unwrap();
    let df = tmp.path().join("Dockerfile");
    std::fs::write(
        &df,
        "FROM debian:bookworm\nRUN apt-get update && apt-get install -y --no-install-recommends curl\n",
    )
    .unwrap();
    let img = ImageBuilder::new()
        .layer("ADD rootfs / # buildkit", vec![Entry::zeros("usr/lib/libc.so.6", 1000)])
        .layer(
            "RUN /bin/sh -c apt-get update && apt-get install -y --no-install-recommends curl # buildkit",
            vec![Entry::zeros("usr/bin/curl", 7_000)],
        );
    img.build().write_oci_layout(&tmp.path().join("oci"), Some("latest"));
    let image = format!("oci:{}", tmp.path().join("oci").display());
    let v = json_ok(&[
        "analyze",
        df.to_str().unwrap(),
        "--no-context",
        "--image",
        &image,
        "--format",
        "json",
        "--fail-on",
        "never",
    ]);
    let f = finding(&v, "DF201");
    assert_eq!(f["estimate"]["basis"], "heuristic", "{v:#}");
    assert_eq!(
        f["measured"],
        serde_json::json!({"layers": [1], "counted": "cache:apt-lists", "bytes": 0})
    );
    let out = run(&[
        "analyze",
        df.to_str().unwrap(),
        "--no-context",
        "--image",
        &image,
        "--fail-on",
        "never",
    ]);
    // Human notes wrap to the width: compare the words.
    let words = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(words.contains("hold no bytes under the apt-lists cache"), "{words}");
    assert_eq!(instruction(&v, 2)["content_bytes"], 7_000);
}

#[test]
fn bad_image_and_misuse_exit_2() {
    let tmp = tempfile::tempdir().unwrap();
    let df = tmp.path().join("Dockerfile");
    std::fs::write(&df, "FROM debian\nRUN true\n").unwrap();
    let missing = format!("oci:{}", tmp.path().join("nope").display());
    let out = run(&["analyze", df.to_str().unwrap(), "--image", &missing]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains(&missing));
    let out = run(&[
        "analyze",
        df.to_str().unwrap(),
        df.to_str().unwrap(),
        "--image",
        &missing,
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("exactly one"));
    // An image not built from this Dockerfile: measured nothing, and says so.
    let img = ImageBuilder::new()
        .layer("ADD rootfs / # buildkit", vec![Entry::zeros("x", 10)])
        .layer("COPY a /a # buildkit", vec![Entry::zeros("a", 5)]);
    img.build().write_oci_layout(&tmp.path().join("other"), Some("latest"));
    let out = run(&[
        "analyze",
        df.to_str().unwrap(),
        "--no-context",
        "--image",
        &format!("oci:{}", tmp.path().join("other").display()),
        "--fail-on",
        "never",
    ]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("is this the image built from it?"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// truth/py-fat.tsv: path -> bytes_placed.
fn truth(dir: &Path) -> BTreeMap<String, u64> {
    let text = std::fs::read_to_string(dir.join("truth/py-fat.tsv")).unwrap();
    text.lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (f[0].to_string(), f[3].parse().unwrap())
        })
        .collect()
}

#[test]
fn py_fat_fixture_measured_against_truth_and_layers() {
    let Some(dir) = support::fixtures_dir() else {
        return;
    };
    let t = truth(&dir);
    let df = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/images/py-fat/Dockerfile");
    for image in [
        format!("oci:{}", dir.join("oci/py-fat").display()),
        format!("docker-archive:{}", dir.join("archives/py-fat.tar").display()),
    ] {
        let v = json_ok(&[
            "analyze",
            df.to_str().unwrap(),
            "--no-context",
            "--image",
            &image,
            "--format",
            "json",
            "--fail-on",
            "never",
        ]);
        let layers = json_ok(&["layers", &image, "--format", "json"]);
        // Every layer above the base belongs to one instruction, with the bytes `imgopt layers` reports.
        let instrs = v["files"][0]["image"]["instructions"].as_array().unwrap().clone();
        let mut seen = Vec::new();
        for i in &instrs {
            for l in i["layers"].as_array().unwrap() {
                let l = l.as_u64().unwrap() as usize;
                seen.push(l);
                assert_eq!(i["content_bytes"], layers["layers"][l]["content_bytes"]);
                assert_eq!(i["compressed_bytes"], layers["layers"][l]["compressed_bytes"]);
                assert_eq!(i["wasted_later"], layers["layers"][l]["wasted_bytes"]);
            }
        }
        assert_eq!(seen, [1, 2, 3]);
        assert_eq!(v["files"][0]["image"]["base"]["layers"], 1);
        // The apt RUN (line 5): its lists are the truth's apt-lists bytes, the finding says so.
        let f = finding(&v, "DF201");
        assert_eq!(f["start_line"], 5);
        assert_eq!(f["estimate"]["basis"], "measured");
        assert_eq!(f["estimate"]["low_bytes"].as_u64(), Some(t["/var/lib/apt/lists/*"]));
        let i5 = instruction(&v, 5);
        assert_eq!(
            i5["cache_bytes"]["apt-archives"].as_u64(),
            Some(t["/var/cache/apt/archives/*.deb"])
        );
        assert_eq!(i5["cache_bytes"]["apt-cache"].as_u64(), Some(t["/var/cache/apt/*.bin"]));
        // The cleanup RUN (line 7): deletes model.bin and /app/build, re-adds /app by chown -R.
        let i7 = instruction(&v, 7);
        assert_eq!(
            i7["deleted_bytes"].as_u64(),
            Some(t["/app/assets/model.bin"] + t["/app/build/"])
        );
        let chown = t["/app/static/app.bundle.js"] + t["/app (other files)"];
        assert_eq!(i7["metadata_only_bytes"].as_u64(), Some(chown));
        let f = finding(&v, "DF402");
        assert_eq!(
            (f["estimate"]["low_bytes"].as_u64(), f["estimate"]["basis"].as_str()),
            (Some(chown), Some("measured"))
        );
        // What imgopt layers calls made waste: the truth's cross-layer total (placed).
        assert_eq!(i7["made_waste"], layers["layers"][3]["made_waste_bytes"]);
        // Estimates that cannot be measured keep their basis.
        assert_eq!(finding(&v, "DF202")["estimate"]["basis"], "heuristic");
        assert_eq!(
            v["summary"]["estimated_saving"]["low_bytes"].as_u64().unwrap(),
            low_sum(&v)
        );
    }
}

#[test]
fn registry_image_measures_like_the_layout() {
    let Some(reg) = support::registry() else { return };
    let Some(dir) = support::fixtures_dir() else { return };
    let t = truth(&dir);
    let df = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/images/py-fat/Dockerfile");
    let image = format!("{reg}/imgopt/py-fat:latest");
    let v = json_ok(&[
        "analyze",
        df.to_str().unwrap(),
        "--no-context",
        "--image",
        &image,
        "--format",
        "json",
        "--fail-on",
        "never",
    ]);
    assert_eq!(
        finding(&v, "DF201")["estimate"]["low_bytes"].as_u64(),
        Some(t["/var/lib/apt/lists/*"])
    );
    assert_eq!(finding(&v, "DF402")["estimate"]["basis"], "measured");
    let local = format!("oci:{}", dir.join("oci/py-fat").display());
    let l = json_ok(&[
        "analyze",
        df.to_str().unwrap(),
        "--no-context",
        "--image",
        &local,
        "--format",
        "json",
        "--fail-on",
        "never",
    ]);
    assert_eq!(
        v["files"][0]["image"]["instructions"],
        l["files"][0]["image"]["instructions"]
    );
    assert_eq!(
        v["files"][0]["image"]["manifest_digest"],
        l["files"][0]["image"]["manifest_digest"]
    );
}

/// Two files deleted in one later RUN: each DF401 finding gets its own file's bytes, the
/// summary counts each byte once, and without a build context the image alone shows the
/// delete (one finding for the RUN with both files' bytes).
#[test]
fn two_deletes_in_one_run_are_counted_once() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let df = dir.join("ctx/Dockerfile");
    std::fs::create_dir_all(dir.join("ctx/app")).unwrap();
    std::fs::write(
        &df,
        "FROM debian:bookworm\nCOPY app /app\nRUN rm /app/small.bin /app/big.bin\nCMD [\"/app/run\"]\n",
    )
    .unwrap();
    std::fs::write(dir.join("ctx/app/small.bin"), vec![0u8; 6_000]).unwrap();
    std::fs::write(dir.join("ctx/app/big.bin"), vec![0u8; 20_000]).unwrap();
    std::fs::write(dir.join("ctx/app/run"), vec![0u8; 100]).unwrap();
    let img = ImageBuilder::new()
        .layer(
            "ADD rootfs / # buildkit",
            vec![Entry::dir("etc"), Entry::zeros("usr/lib/libc.so.6", 50_000)],
        )
        .layer(
            "COPY app /app # buildkit",
            vec![
                Entry::dir("app"),
                Entry::zeros("app/small.bin", 6_000),
                Entry::zeros("app/big.bin", 20_000),
                Entry::zeros("app/run", 100),
            ],
        )
        .layer(
            "RUN /bin/sh -c rm /app/small.bin /app/big.bin # buildkit",
            vec![Entry::whiteout("app/small.bin"), Entry::whiteout("app/big.bin")],
        )
        .empty_step("CMD [\"/app/run\"]");
    img.build().write_oci_layout(&dir.join("oci"), Some("latest"));
    let oci = format!("oci:{}", dir.join("oci").display());
    let deletes = |v: &Value| -> Vec<u64> {
        let mut b: Vec<u64> = v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["code"] == "DF401")
            .map(|f| f["estimate"]["low_bytes"].as_u64().unwrap())
            .collect();
        b.sort_unstable();
        b
    };
    let base = [
        "analyze",
        df.to_str().unwrap(),
        "--image",
        &oci,
        "--format",
        "json",
        "--fail-on",
        "never",
    ];
    let v = json_ok(&base);
    assert_eq!(deletes(&v), [6_000, 20_000], "{v:#}");
    assert_eq!(
        v["summary"]["estimated_saving"]["low_bytes"].as_u64().unwrap(),
        low_sum(&v)
    );
    let mut args = base.to_vec();
    args.push("--no-context");
    let v = json_ok(&args);
    assert_eq!(deletes(&v), [26_000], "{v:#}");
    let f = finding(&v, "DF401");
    assert_eq!(f["start_line"], 3);
    assert_eq!(f["estimate"]["basis"], "measured");
    assert_eq!(v["summary"]["by_rule"]["DF401"], 1);
    assert_eq!(
        v["summary"]["estimated_saving"]["low_bytes"].as_u64().unwrap(),
        low_sum(&v)
    );
}

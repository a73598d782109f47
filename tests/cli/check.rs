//! `imgopt check` as CI runs it: budgets that pass and fail on real images, growth against a
//! baseline, Dockerfile checks at their lines, several outputs from one run, the presets, and
//! exit code 2 for every kind of bad input.
#![allow(clippy::unwrap_used)]

use crate::support;
use crate::support::check_cases;

use std::path::Path;

use check_cases::{DOCKERFILE, imgopt_in, layout, small, text, wasteful};
use serde_json::Value;

fn json(out: &std::process::Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}{}", text(&out.stdout), text(&out.stderr)))
}

fn check<'a>(v: &'a Value, id: &str) -> &'a Value {
    v["targets"][0]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no {id} in {v}"))
}

/// The totals `imgopt layers` reports, the reference the check's numbers must equal.
fn layers_json(dir: &Path, spec: &str) -> Value {
    let out = imgopt_in(dir, &["layers", spec, "--format", "json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn a_budget_passes_at_its_limit_and_fails_one_byte_below() {
    let tmp = tempfile::tempdir().unwrap();
    let spec = layout(tmp.path(), "img", &wasteful(None));
    let l = layers_json(tmp.path(), &spec);
    let compressed = l["totals"]["compressed_bytes"].as_u64().unwrap();
    let tar = l["totals"]["tar_bytes"].as_u64().unwrap();
    for (limit, code) in [(compressed, 0), (compressed - 1, 1)] {
        std::fs::write(
            tmp.path().join("p.toml"),
            format!("[image]\nmax_compressed_bytes = {limit}\nmax_bytes = \"{tar} B\"\nmax_layers = 2\n"),
        )
        .unwrap();
        let out = imgopt_in(tmp.path(), &["check", "--policy", "p.toml", "--format", "json", &spec]);
        assert_eq!(out.status.code(), Some(code), "{}", text(&out.stderr));
        let v = json(&out);
        assert_eq!(v["passed"], code == 0);
        assert_eq!(v["policy"], "p.toml");
        let c = check(&v, "image.max_compressed_bytes");
        assert_eq!(c["actual"], compressed);
        assert_eq!(c["limit"], limit);
        assert_eq!(c["policy_line"], 2);
        assert_eq!(check(&v, "image.max_bytes")["actual"], tar);
        assert_eq!(check(&v, "image.max_layers")["actual"], 2);
    }
}

#[test]
fn the_json_report_has_exactly_the_documented_fields() {
    let tmp = tempfile::tempdir().unwrap();
    let spec = layout(tmp.path(), "img", &wasteful(None));
    std::fs::write(
        tmp.path().join("p.toml"),
        "[image]\nmax_reclaimable_bytes = \"1 kB\"\nnon_root = true\n",
    )
    .unwrap();
    let out = imgopt_in(tmp.path(), &["check", "--policy", "p.toml", "--format", "json", &spec]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let v = json(&out);
    let keys = |x: &Value| x.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(&v), ["passed", "policy", "schema_version", "targets"]);
    assert_eq!(v["schema_version"], 1);
    let t = &v["targets"][0];
    assert_eq!(keys(t), ["checks", "kind", "passed", "target"]);
    assert_eq!(t["kind"], "image");
    assert_eq!(t["target"], spec);
    for c in t["checks"].as_array().unwrap() {
        assert_eq!(keys(c), ["actual", "id", "limit", "message", "passed", "policy_line"]);
    }
    // 40 000 bytes of apt lists stored, then deleted: worked out from the layers.
    let r = check(&v, "image.max_reclaimable_bytes");
    assert_eq!(
        (r["actual"].as_u64(), r["passed"].as_bool()),
        (Some(40_000), Some(false))
    );
    let n = check(&v, "image.non_root");
    assert_eq!(
        (n["limit"].as_bool(), n["actual"].as_bool(), n["passed"].as_bool()),
        (Some(true), Some(false), Some(false))
    );
}

#[test]
fn non_root_reads_the_config_user() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("p.toml"), "[image]\nnon_root = true\n").unwrap();
    for (user, code) in [
        (Some("app"), 0),
        (Some("1000:1000"), 0),
        (Some("root"), 1),
        (Some("0:0"), 1),
        (None, 1),
    ] {
        let spec = layout(
            tmp.path(),
            &format!("img-{}", user.unwrap_or("none").replace(':', "-")),
            &wasteful(user),
        );
        let out = imgopt_in(tmp.path(), &["check", "--policy", "p.toml", &spec]);
        assert_eq!(out.status.code(), Some(code), "{user:?}: {}", text(&out.stdout));
    }
}

#[test]
fn growth_against_a_baseline_is_exact_from_an_image_or_a_report() {
    let tmp = tempfile::tempdir().unwrap();
    let old = layout(tmp.path(), "old", &small());
    let new = layout(tmp.path(), "new", &wasteful(None));
    let old_bytes = layers_json(tmp.path(), &old)["totals"]["compressed_bytes"]
        .as_u64()
        .unwrap();
    let new_bytes = layers_json(tmp.path(), &new)["totals"]["compressed_bytes"]
        .as_u64()
        .unwrap();
    let growth = i64::try_from(new_bytes).unwrap() - i64::try_from(old_bytes).unwrap();
    assert!(growth > 0);
    std::fs::write(
        tmp.path().join("p.toml"),
        format!("[image]\nmax_compressed_bytes = \"1 GB\"\n[baseline]\nmax_growth_bytes = {}\nmax_growth_percent = 1000.0\n", growth - 1),
    )
    .unwrap();
    // The baseline as a layers report, as a check report, and as an image.
    let layers_report = imgopt_in(tmp.path(), &["layers", &old, "--format", "json"]);
    std::fs::write(tmp.path().join("old-layers.json"), &layers_report.stdout).unwrap();
    let check_report = imgopt_in(tmp.path(), &["check", "--policy", "p.toml", "--format", "json", &old]);
    std::fs::write(tmp.path().join("old-check.json"), &check_report.stdout).unwrap();
    for baseline in ["old-layers.json", "old-check.json", old.as_str()] {
        let out = imgopt_in(
            tmp.path(),
            &[
                "check",
                "--policy",
                "p.toml",
                "--baseline",
                baseline,
                "--format",
                "json",
                &new,
            ],
        );
        assert_eq!(out.status.code(), Some(1), "{baseline}: {}", text(&out.stderr));
        let v = json(&out);
        let g = check(&v, "baseline.max_growth_bytes");
        assert_eq!(g["actual"], growth, "{baseline}");
        assert_eq!(g["passed"], false);
        #[allow(clippy::cast_precision_loss)]
        let pct = growth as f64 * 100.0 / old_bytes as f64;
        assert!((check(&v, "baseline.max_growth_percent")["actual"].as_f64().unwrap() - pct).abs() < 1e-9);
    }
    // Without --baseline the [baseline] keys are reported, not checked.
    let out = imgopt_in(tmp.path(), &["check", "--policy", "p.toml", "--format", "json", &new]);
    assert_eq!(out.status.code(), Some(0));
    let v = json(&out);
    assert_eq!(check(&v, "baseline.max_growth_bytes")["actual"], Value::Null);
    // The Markdown comment shows the growth.
    let out = imgopt_in(
        tmp.path(),
        &[
            "check",
            "--policy",
            "p.toml",
            "--baseline",
            "old-layers.json",
            "--format",
            "markdown",
            &new,
        ],
    );
    let md = text(&out.stdout);
    assert!(md.contains("against `old-layers.json`"), "{md}");
    assert!(md.contains("**First failure:** `baseline.max_growth_bytes`"), "{md}");
}

#[test]
fn dockerfile_checks_point_at_the_findings_and_the_from_line() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("Dockerfile"), DOCKERFILE).unwrap();
    std::fs::write(
        tmp.path().join("p.toml"),
        "[dockerfile]\nfail_on = \"warning\"\ndeny = [\"DF1\"]\nallow = [\"DF201\", \"DF101\", \"DF102\"]\ndenied_bases = [\"*:latest\"]\n",
    )
    .unwrap();
    let out = imgopt_in(
        tmp.path(),
        &["check", "--policy", "p.toml", "--format", "json", "Dockerfile"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let v = json(&out);
    assert_eq!(v["targets"][0]["kind"], "dockerfile");
    // DF201 (apt lists) is allowed; what is left at warning is on line 2 (DF202).
    let analyze = imgopt_in(
        tmp.path(),
        &["analyze", "Dockerfile", "--format", "json", "--no-context"],
    );
    let a: Value = serde_json::from_slice(&analyze.stdout).unwrap();
    let codes: Vec<&str> = a["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    assert!(codes.contains(&"DF201") && codes.contains(&"DF101"), "{codes:?}");
    let warnings = a["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] != "info" && f["code"] != "DF201" && f["code"] != "DF101")
        .count();
    assert_eq!(check(&v, "dockerfile.fail_on")["actual"], warnings);
    // DF101 and DF102 (opt-in, run because `deny` names it) are denied by the prefix `DF1`
    // and allowed by their own codes: the code wins.
    assert_eq!(check(&v, "dockerfile.deny")["passed"], true);
    let all = imgopt_in(
        tmp.path(),
        &[
            "analyze",
            "Dockerfile",
            "--format",
            "json",
            "--no-context",
            "--select",
            "all",
        ],
    );
    let all: Value = serde_json::from_slice(&all.stdout).unwrap();
    let allowed = all["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| ["DF201", "DF101", "DF102"].contains(&f["code"].as_str().unwrap()))
        .count();
    assert!(allowed >= 3, "DF102 runs when denied");
    assert_eq!(check(&v, "dockerfile.allow")["actual"], allowed);
    // Without the allow entry for DF102, the prefix denies it.
    std::fs::write(
        tmp.path().join("p2.toml"),
        "[dockerfile]\ndeny = [\"DF1\"]\nallow = [\"DF101\"]\n",
    )
    .unwrap();
    let out = imgopt_in(
        tmp.path(),
        &["check", "--policy", "p2.toml", "--format", "json", "Dockerfile"],
    );
    assert_eq!(out.status.code(), Some(1));
    let d = json(&out);
    assert!(
        check(&d, "dockerfile.deny")["message"]
            .as_str()
            .unwrap()
            .contains("DF102 at line 1"),
        "{d}"
    );
    let base = check(&v, "dockerfile.denied_bases");
    assert_eq!(
        (base["actual"].as_str(), base["passed"].as_bool()),
        (Some("ubuntu"), Some(false))
    );
    // GitHub annotations: the base check on the FROM line, the policy's own lines nowhere else.
    let out = imgopt_in(
        tmp.path(),
        &["check", "--policy", "p.toml", "--format", "github", "Dockerfile"],
    );
    let gh = text(&out.stdout);
    assert!(
        gh.contains("::error file=Dockerfile,line=1,title=imgopt check dockerfile.denied_bases"),
        "{gh}"
    );
    assert!(
        gh.contains("::error file=Dockerfile,line=2,title=imgopt check dockerfile.fail_on"),
        "{gh}"
    );
    assert!(
        gh.lines()
            .last()
            .unwrap()
            .starts_with("::notice title=imgopt check failed::"),
        "{gh}"
    );
}

#[test]
fn one_run_writes_several_formats_atomically() {
    let tmp = tempfile::tempdir().unwrap();
    let spec = layout(tmp.path(), "img", &wasteful(None));
    std::fs::write(
        tmp.path().join("p.toml"),
        "[image]\nmax_layers = 1\nmin_efficiency = 0.1\n",
    )
    .unwrap();
    let out = imgopt_in(
        tmp.path(),
        &[
            "check",
            "--policy",
            "p.toml",
            &spec,
            "-o",
            "sarif=r.sarif",
            "-o",
            "junit=r.xml",
            "--output",
            "markdown=r.md",
            "-o",
            "json=r.json",
            "-o",
            "github=r.gh",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("FAIL oci:img (image)"),
        "stdout keeps the human report"
    );
    let sarif: Value = serde_json::from_slice(&std::fs::read(tmp.path().join("r.sarif")).unwrap()).unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), 1);
    assert_eq!(results[0]["ruleId"], "image.max_layers");
    assert_eq!(results[0]["locations"][0]["physicalLocation"]["region"]["startLine"], 2);
    assert_eq!(
        results[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "p.toml"
    );
    let junit = std::fs::read_to_string(tmp.path().join("r.xml")).unwrap();
    assert!(
        junit.contains(r#"<testsuites name="imgopt check" tests="2" failures="1" errors="0">"#),
        "{junit}"
    );
    assert!(
        std::fs::read_to_string(tmp.path().join("r.md"))
            .unwrap()
            .starts_with("## imgopt check ❌ failed")
    );
    let j: Value = serde_json::from_slice(&std::fs::read(tmp.path().join("r.json")).unwrap()).unwrap();
    assert_eq!(j["passed"], false);
    assert!(
        std::fs::read_to_string(tmp.path().join("r.gh"))
            .unwrap()
            .contains("::error file=p.toml,line=2,")
    );
    let leftovers: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn the_policy_is_found_in_the_working_directory_else_built_in() {
    let tmp = tempfile::tempdir().unwrap();
    let spec = layout(tmp.path(), "img", &small());
    let out = imgopt_in(tmp.path(), &["check", "--format", "json", &spec]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v = json(&out);
    assert_eq!(v["policy"], "built-in:default");
    assert!(!v["targets"][0]["checks"].as_array().unwrap().is_empty());
    std::fs::write(tmp.path().join(".imgopt.toml"), "[image]\nmax_layers = 0\n").unwrap();
    let out = imgopt_in(tmp.path(), &["check", "--format", "json", &spec]);
    assert_eq!(out.status.code(), Some(1));
    let v = json(&out);
    assert_eq!(v["policy"], ".imgopt.toml");
    assert_eq!(v["targets"][0]["checks"].as_array().unwrap().len(), 1);
}

#[test]
fn every_preset_loads_and_checks() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("Dockerfile"), DOCKERFILE).unwrap();
    let spec = layout(tmp.path(), "img", &wasteful(None));
    let mut presets: Vec<_> = std::fs::read_dir(root.join("policies"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    presets.sort();
    let names: Vec<String> = presets
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert!(
        names.len() >= 3
            && ["default.toml", "strict.toml", "distroless.toml"]
                .iter()
                .all(|n| names.iter().any(|x| x == n)),
        "{names:?}"
    );
    let readme = std::fs::read_to_string(root.join("policies/README.md")).unwrap();
    for (path, name) in presets.iter().zip(&names) {
        assert!(
            readme.contains(&format!("`{name}`")),
            "policies/README.md does not list {name}"
        );
        let p = path.display().to_string();
        let out = imgopt_in(
            tmp.path(),
            &["check", "--policy", &p, "--format", "json", "Dockerfile", &spec],
        );
        assert!(
            matches!(out.status.code(), Some(0 | 1)),
            "{name}: {}",
            text(&out.stderr)
        );
        let v = json(&out);
        let checks: usize = v["targets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["checks"].as_array().unwrap().len())
            .sum();
        assert!(checks > 0, "{name} sets no key");
    }
    // The built-in policy is default.toml, line for line.
    let out = imgopt_in(tmp.path(), &["check", "--format", "json", &spec]);
    let builtin = json(&out);
    let p = root.join("policies/default.toml").display().to_string();
    let out = imgopt_in(tmp.path(), &["check", "--policy", &p, "--format", "json", &spec]);
    let file = json(&out);
    assert_eq!(builtin["targets"], file["targets"]);
}

#[test]
fn bad_input_exits_2_naming_the_file_and_line() {
    let tmp = tempfile::tempdir().unwrap();
    let spec = layout(tmp.path(), "img", &small());
    let cases: [(&str, &str, &[&str]); 6] = [
        (
            "unknown.toml",
            "[image]\nmax_compresed_bytes = 1\n",
            &["unknown.toml:2", "did you mean `max_compressed_bytes`?"],
        ),
        (
            "type.toml",
            "[image]\n\nmax_layers = \"thirty\"\n",
            &["type.toml:3", "expected a non-negative integer, found a string"],
        ),
        (
            "negative.toml",
            "[baseline]\nmax_growth_bytes = -1\n",
            &["negative.toml:2", "a size cannot be negative"],
        ),
        (
            "unit.toml",
            "[image]\nmax_bytes = \"3 TB\"\n",
            &["unit.toml:2", "unknown unit `TB`"],
        ),
        (
            "range.toml",
            "[image]\nmin_efficiency = 95\n",
            &["range.toml:2", "outside 0 to 1"],
        ),
        (
            "syntax.toml",
            "[image\nmax_layers = 3\n",
            &["syntax.toml", "invalid TOML"],
        ),
    ];
    for (name, body, wants) in cases {
        std::fs::write(tmp.path().join(name), body).unwrap();
        let out = imgopt_in(tmp.path(), &["check", "--policy", name, &spec]);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name}: {err}");
        assert!(out.stdout.is_empty(), "{name}: nothing is checked");
        for w in wants {
            assert!(err.contains(w), "{name}: `{w}` not in {err}");
        }
    }
    for (args, want) in [
        (vec!["check", "--policy", "missing.toml", &spec], "missing.toml"),
        (vec!["check", "oci:no-such-layout"], "no-such-layout"),
        (vec!["check", "missing/Dockerfile"], "missing/Dockerfile"),
        (vec!["check", "--dive-ci", "missing.dive-ci", &spec], "missing.dive-ci"),
        (vec!["check", "--baseline", "oci:nothing-here", &spec], "nothing-here"),
        (
            vec!["check", "--format", "junit", "-o", "r.xml", "-o", "s.xml", &spec],
            "-o/--output given 2 times",
        ),
    ] {
        let out = imgopt_in(tmp.path(), &args);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(want), "{args:?}: {err}");
    }
    std::fs::write(
        tmp.path().join("bad.dive-ci"),
        "rules:\n  lowestEfficency: 0.9\n  highestUserWastedPercent: 2\n",
    )
    .unwrap();
    let out = imgopt_in(tmp.path(), &["check", "--dive-ci", "bad.dive-ci", &spec]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("bad.dive-ci:2") && err.contains("did you mean `lowestEfficiency`?"),
        "{err}"
    );
    assert!(err.contains("bad.dive-ci:3") && err.contains("outside 0 to 1"), "{err}");
}

#[test]
fn fixture_images_against_the_presets() {
    let Some(fx) = support::fixtures_dir() else { return };
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let strict = root.join("policies/strict.toml").display().to_string();
    let fat = format!("docker-archive:{}", fx.join("archives/py-fat.tar").display());
    let tiny = format!("oci:{}", fx.join("oci/static-tiny").display());
    let out = imgopt_in(root, &["check", "--policy", &strict, "--format", "json", &fat]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let v = json(&out);
    let l = layers_json(root, &fat);
    let c = check(&v, "image.max_compressed_bytes");
    assert_eq!(c["actual"], l["totals"]["compressed_bytes"]);
    assert_eq!(c["passed"], false, "py-fat is far over 150 MB");
    assert_eq!(check(&v, "image.min_efficiency")["actual"], l["dive"]["efficiency"]);
    assert_eq!(
        check(&v, "image.max_reclaimable_bytes")["actual"],
        l["reclaimable_bytes"]
    );
    if fx.join("oci/static-tiny").is_dir() {
        let out = imgopt_in(root, &["check", "--format", "json", &tiny]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    }
}

#[test]
fn image_joins_a_dockerfile_to_its_built_image() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("Dockerfile"), DOCKERFILE).unwrap();
    let spec = layout(tmp.path(), "img", &wasteful(None));
    std::fs::write(
        tmp.path().join("p.toml"),
        "[image]\nmax_layers = 5\n[dockerfile]\nfail_on = \"error\"\n",
    )
    .unwrap();
    let out = imgopt_in(
        tmp.path(),
        &[
            "check",
            "--policy",
            "p.toml",
            "--format",
            "json",
            "--image",
            &spec,
            "Dockerfile",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v = json(&out);
    let kinds: Vec<(&str, &str)> = v["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["target"].as_str().unwrap(), t["kind"].as_str().unwrap()))
        .collect();
    assert_eq!(kinds, [("Dockerfile", "dockerfile"), (spec.as_str(), "image")]);
    assert_eq!(v["targets"][1]["checks"][0]["actual"], 2);
    let out = imgopt_in(tmp.path(), &["check", "--image", &spec, &spec]);
    assert_eq!(out.status.code(), Some(2), "--image needs one Dockerfile target");
}

#[test]
fn a_failed_growth_budget_names_what_grew_most() {
    let Some(fx) = support::fixtures_dir() else { return };
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("p.toml"), "[baseline]\nmax_growth_bytes = \"1 MB\"\n").unwrap();
    let slim = format!("docker-archive:{}", fx.join("archives/py-slim.tar").display());
    let fat = format!("docker-archive:{}", fx.join("archives/py-fat.tar").display());
    let out = imgopt_in(
        dir.path(),
        &[
            "check",
            "--policy",
            "p.toml",
            "--baseline",
            &slim,
            "--format",
            "json",
            &fat,
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let v = json(&out);
    let c = check(&v, "baseline.max_growth_bytes");
    let msg = c["message"].as_str().unwrap();
    // The top items are those `imgopt diff` lists first: the big apt layer, then files and packages.
    assert!(msg.contains("grew most: layer #"), "{msg}");
    assert!(msg.contains("apt-get install"), "{msg}");
    assert!(msg.contains("package gcc-12"), "{msg}");
    // A budget that holds says nothing more.
    std::fs::write(dir.path().join("p.toml"), "[baseline]\nmax_growth_bytes = \"10 GB\"\n").unwrap();
    let out = imgopt_in(
        dir.path(),
        &[
            "check",
            "--policy",
            "p.toml",
            "--baseline",
            &slim,
            "--format",
            "json",
            &fat,
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        !check(&json(&out), "baseline.max_growth_bytes")["message"]
            .as_str()
            .unwrap()
            .contains("grew most")
    );
}

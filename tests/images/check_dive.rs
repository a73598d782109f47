//! `imgopt check --dive-ci FILE` against the real dive: on the same image, each of dive's three
//! CI rules gets the same verdict from both (PASS = passed, FAIL = failed, SKIP = a disabled
//! rule, which imgopt does not check). dive reads the fixture images as docker-archives.
#![allow(clippy::unwrap_used)]

use crate::support;

use std::collections::BTreeMap;
use std::process::Command;

/// `.dive-ci` files that between them pass and fail every rule: dive's defaults, thresholds on
/// both sides of the fixtures' numbers, a disabled rule, and dive's own size units.
const CONFIGS: [&str; 4] = [
    "rules:\n",
    "rules:\n  lowestEfficiency: 0.9999\n  highestWastedBytes: 1KB\n  highestUserWastedPercent: 0.001\n",
    "rules:\n  lowestEfficiency: \"0.5\"\n  highestWastedBytes: 2 MiB\n  highestUserWastedPercent: 0.9\n",
    "rules:\n  lowestEfficiency: disabled\n  highestWastedBytes: \"100 kB\"\n  highestUserWastedPercent: 0.02\n",
];

/// dive's verdict per rule, from its `Results:` lines (`  PASS: lowestEfficiency`).
fn dive_verdicts(
    dive: &std::path::Path,
    archive: &std::path::Path,
    config: &std::path::Path,
) -> BTreeMap<String, String> {
    let out = Command::new(dive)
        .args(["--source", "docker-archive"])
        .arg(archive)
        .arg("--ci")
        .arg("--ci-config")
        .arg(config)
        .env("CI", "true")
        .output()
        .unwrap();
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // Drop colour codes.
    let mut plain = String::new();
    let mut chars = all.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            plain.push(c);
        }
    }
    let mut v = BTreeMap::new();
    for line in plain.lines() {
        let line = line.trim();
        for status in ["PASS", "FAIL", "SKIP"] {
            if let Some(rest) = line.strip_prefix(&format!("{status}: ")) {
                let rule = rest.split(':').next().unwrap().trim().to_string();
                v.insert(rule, status.to_string());
            }
        }
    }
    assert_eq!(v.len(), 3, "dive printed no verdicts:\n{plain}");
    let failed = v.values().any(|s| s == "FAIL");
    assert_eq!(out.status.success(), !failed, "dive's exit code follows its verdicts");
    v
}

fn imgopt_verdicts(archive: &std::path::Path, config: &std::path::Path) -> (BTreeMap<String, String>, Option<i32>) {
    let tmp = tempfile::tempdir().unwrap();
    // An empty policy: only the .dive-ci rules are checked.
    std::fs::write(tmp.path().join("empty.toml"), "").unwrap();
    let out = support::imgopt()
        .current_dir(tmp.path())
        .args(["check", "--policy", "empty.toml", "--format", "json", "--dive-ci"])
        .arg(config)
        .arg(format!("docker-archive:{}", archive.display()))
        .output();
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rule = |id: &str| match id {
        "image.min_efficiency" => "lowestEfficiency",
        "image.max_wasted_bytes" => "highestWastedBytes",
        "image.max_user_wasted_percent" => "highestUserWastedPercent",
        other => panic!("unexpected check {other}"),
    };
    let mut m: BTreeMap<String, String> = ["lowestEfficiency", "highestWastedBytes", "highestUserWastedPercent"]
        .iter()
        .map(|r| (r.to_string(), "SKIP".to_string()))
        .collect();
    for c in v["targets"][0]["checks"].as_array().unwrap() {
        let status = if c["passed"].as_bool().unwrap() { "PASS" } else { "FAIL" };
        m.insert(rule(c["id"].as_str().unwrap()).to_string(), status.to_string());
    }
    (m, out.status.code())
}

#[test]
fn dive_ci_verdicts_equal_dives_own() {
    let Some(fx) = support::fixtures_dir() else { return };
    let Some(dive) = support::tool("dive") else { return };
    let mut archives: Vec<_> = std::fs::read_dir(fx.join("archives"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "tar"))
        .collect();
    archives.sort();
    assert!(!archives.is_empty(), "no docker-archive fixtures");
    let tmp = tempfile::tempdir().unwrap();
    let mut seen = BTreeMap::new();
    for (i, body) in CONFIGS.iter().enumerate() {
        let config = tmp.path().join(format!("dive-ci-{i}"));
        std::fs::write(&config, body).unwrap();
        for archive in &archives {
            let theirs = dive_verdicts(&dive, archive, &config);
            let (ours, code) = imgopt_verdicts(archive, &config);
            assert_eq!(ours, theirs, "{} with config {i}:\n{body}", archive.display());
            assert_eq!(code == Some(1), theirs.values().any(|s| s == "FAIL"));
            for s in theirs.into_values() {
                *seen.entry(s).or_insert(0) += 1;
            }
        }
    }
    // The comparison covered passing, failing and disabled rules.
    assert!(
        ["PASS", "FAIL", "SKIP"].iter().all(|s| seen.contains_key(*s)),
        "{seen:?}"
    );
}

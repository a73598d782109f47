//! `imgopt analyze` and `imgopt explain` through the binary: every output format, exit codes
//! 0/1/2, suppression comments, stdin and several files at once.

use crate::support;

use std::path::{Path, PathBuf};
use std::process::Output;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/dockerfiles")
        .join(name)
}

fn imgopt(args: &[&str], stdin: Option<&str>) -> Output {
    let cmd = support::imgopt().args(args);
    match stdin {
        Some(s) => cmd.stdin(s),
        None => cmd,
    }
    .output()
}

fn code(o: &Output) -> i32 {
    o.status.code().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn exit_codes_follow_fail_on() {
    let clean = fixture("DF207_clean.Dockerfile");
    let warn = fixture("DF203_apk.Dockerfile");
    let err = fixture("DF403_useradd.Dockerfile");
    let p = |p: &Path| p.to_str().unwrap().to_string();
    assert_eq!(code(&imgopt(&["analyze", "--no-context", &p(&clean)], None)), 0);
    // Warnings do not fail by default (--fail-on error) ...
    assert_eq!(code(&imgopt(&["analyze", "--no-context", &p(&warn)], None)), 0);
    // ... but do with --fail-on warning.
    assert_eq!(
        code(&imgopt(
            &["analyze", "--no-context", "--fail-on", "warning", &p(&warn)],
            None
        )),
        1
    );
    // DF403 is an error.
    assert_eq!(code(&imgopt(&["analyze", "--no-context", &p(&err)], None)), 1);
    assert_eq!(
        code(&imgopt(
            &["analyze", "--no-context", "--fail-on", "never", &p(&err)],
            None
        )),
        0
    );
    assert_eq!(
        code(&imgopt(
            &["analyze", "--no-context", "--ignore", "DF403", &p(&err)],
            None
        )),
        0
    );
}

#[test]
fn could_not_analyse_exits_2_with_a_clear_message() {
    let o = imgopt(&["analyze", "/nonexistent/Dockerfile"], None);
    assert_eq!(code(&o), 2);
    assert!(text(&o.stderr).contains("/nonexistent/Dockerfile"));
    let o = imgopt(&["analyze", "-"], Some("RUN echo no from\n"));
    assert_eq!(code(&o), 2, "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("FROM"));
    let o = imgopt(&["analyze", "--select", "DF999", "-"], Some("FROM alpine:3.20\n"));
    assert_eq!(code(&o), 2);
    assert!(text(&o.stderr).contains("DF999"));
    let o = imgopt(&["analyze", "--target", "nope", "-"], Some("FROM alpine:3.20 AS a\n"));
    assert_eq!(code(&o), 2);
    assert!(text(&o.stderr).contains("nope"));
    // Unterminated heredoc: BuildKit rejects it; the error points at the file and line.
    let o = imgopt(&["analyze", "-"], Some("FROM alpine:3.20\nRUN <<EOF\necho hi\n"));
    assert!(matches!(code(&o), 0 | 2), "never a panic: {}", text(&o.stderr));
    assert!(!text(&o.stderr).contains("panicked"));
}

#[test]
fn stdin_and_suppression_comments() {
    let df = "FROM alpine:3.20\n# imgopt ignore=DF203 index needed by a later step\nRUN apk update && apk add curl\nRUN apk add wget\n";
    let o = imgopt(&["analyze", "--format", "json", "-"], Some(df));
    assert_eq!(code(&o), 0, "{}", text(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let findings = v["findings"].as_array().unwrap();
    let lines: Vec<(String, u64)> = findings
        .iter()
        .map(|f| {
            (
                f["code"].as_str().unwrap().to_string(),
                f["start_line"].as_u64().unwrap(),
            )
        })
        .collect();
    // Line 3 is suppressed; line 4 is not.
    assert!(lines.contains(&("DF203".to_string(), 4)), "{lines:?}");
    assert!(!lines.contains(&("DF203".to_string(), 3)), "{lines:?}");
    assert_eq!(v["summary"]["suppressed"], 1);
    assert_eq!(v["files"][0]["path"], "-");
    assert!(v["files"][0]["context"].is_null(), "stdin has no build context");
    let global = "# imgopt global ignore=apk-add-cache\nFROM alpine:3.20\nRUN apk add wget\n";
    let v: serde_json::Value =
        serde_json::from_slice(&imgopt(&["analyze", "--format", "json", "-"], Some(global)).stdout).unwrap();
    assert_eq!(v["findings"].as_array().unwrap().len(), 0);
}

#[test]
fn json_shape_and_several_files() {
    let a = fixture("DF201_lists_kept.Dockerfile");
    let b = fixture("DF103_node_full.Dockerfile");
    let o = imgopt(
        &[
            "analyze",
            "--no-context",
            "--format",
            "json",
            a.to_str().unwrap(),
            b.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(code(&o), 0, "{}", text(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["schema_version"], 1);
    assert_eq!(v["files"].as_array().unwrap().len(), 2);
    assert_eq!(v["summary"]["files"], 2);
    let f = &v["findings"][0];
    for key in [
        "file",
        "code",
        "name",
        "severity",
        "message",
        "help",
        "stage",
        "start_line",
        "end_line",
        "span",
        "estimate",
    ] {
        assert!(f.get(key).is_some(), "finding lacks {key}: {f}");
    }
    assert_eq!(f["code"], "DF201");
    assert_eq!(f["start_line"], 3);
    assert_eq!(f["stage"]["index"], 0);
    assert_eq!(f["estimate"]["basis"], "heuristic");
    assert!(
        f["estimate"]["compressed_low_bytes"].is_null(),
        "unknown compressed figures are null"
    );
    // The node:22 -> node:22-slim finding carries catalog figures, compressed included.
    let node = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "DF103")
        .unwrap();
    assert_eq!(node["estimate"]["basis"], "catalog");
    assert_eq!(node["estimate"]["compressed_low_bytes"], 328_600_000);
    // A finding with no size effect has a null estimate.
    let o = imgopt(
        &[
            "analyze",
            "--no-context",
            "--format",
            "json",
            fixture("DF301_copy_all.Dockerfile").to_str().unwrap(),
        ],
        None,
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v["findings"][0]["estimate"].is_null());
    assert_eq!(v["files"][0]["stages"][0]["ships"], true);
}

#[test]
fn sarif_markdown_and_human() {
    let f = fixture("DF201_lists_kept.Dockerfile");
    let p = f.to_str().unwrap();
    let o = imgopt(&["analyze", "--no-context", "--format", "sarif", p], None);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["version"], "2.1.0");
    let run = &v["runs"][0];
    assert_eq!(run["tool"]["driver"]["name"], "imgopt");
    assert_eq!(
        run["tool"]["driver"]["rules"].as_array().unwrap().len(),
        imgopt::rules::RULES.len()
    );
    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    let r = &results[0];
    assert_eq!(r["ruleId"], "DF201");
    assert_eq!(r["level"], "warning");
    assert_eq!(r["locations"][0]["physicalLocation"]["region"]["startLine"], 3);
    let idx = r["ruleIndex"].as_u64().unwrap() as usize;
    assert_eq!(run["tool"]["driver"]["rules"][idx]["id"], "DF201");

    let o = imgopt(&["analyze", "--no-context", "--format", "markdown", p], None);
    let md = text(&o.stdout);
    assert!(
        md.contains("| Severity | Rule | Location | Finding | Estimated saving |"),
        "{md}"
    );
    assert!(md.contains("`DF201` apt-lists-not-removed"));

    let o = imgopt(&["analyze", "--no-context", p], None);
    let h = text(&o.stdout);
    assert!(h.contains("warning[DF201]"), "{h}");
    assert!(h.contains("help: end this RUN"), "{h}");
    assert!(
        h.contains("(heuristic)"),
        "an estimate is never shown without its basis: {h}"
    );
    assert!(h.contains("2 findings in 1 file"), "{h}");
}

#[test]
fn explain_prints_docs_and_lists_rules() {
    let o = imgopt(&["explain", "DF201"], None);
    assert_eq!(code(&o), 0);
    let t = text(&o.stdout);
    assert!(t.contains("## What it does") && t.contains("## Why is this bad?") && t.contains("Use instead:"));
    let by_name = imgopt(&["explain", "apt-lists-not-removed"], None);
    assert_eq!(text(&by_name.stdout), t);
    let o = imgopt(&["explain", "--list"], None);
    let list = text(&o.stdout);
    let codes = list.lines().filter(|l| l.starts_with("DF")).count();
    assert_eq!(codes, imgopt::rules::RULES.len(), "{list}");
    // Piped output fits 100 columns: long summaries wrap under their column.
    assert!(list.lines().all(|l| l.chars().count() <= 100), "{list}");
    let o = imgopt(&["explain", "DF999"], None);
    assert_eq!(code(&o), 2);
}

#[test]
fn example_dockerfile_finds_the_documented_problems() {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/dockerfiles/bloated-node/Dockerfile");
    let o = imgopt(&["analyze", "--format", "json", p.to_str().unwrap()], None);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let codes: std::collections::BTreeSet<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    for c in ["DF103", "DF201", "DF202", "DF205", "DF207", "DF208", "DF301", "DF402"] {
        assert!(codes.contains(c), "{c} missing from {codes:?}");
    }
    let fixed = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/dockerfiles/slim-node/Dockerfile");
    let o = imgopt(&["analyze", "--format", "json", fixed.to_str().unwrap()], None);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["findings"].as_array().unwrap().len(), 0, "{}", v["findings"]);
}

#[test]
fn build_args_target_and_context_for_stdin() {
    let df = "ARG PY=3.12-slim\nFROM python:${PY} AS app\nCOPY . /app\nCMD [\"python\", \"/app/main.py\"]\nFROM alpine:3.20 AS other\nRUN apk add curl\n";
    let json = |args: &[&str]| -> serde_json::Value {
        let o = imgopt(args, Some(df));
        assert_eq!(code(&o), 0, "{}", text(&o.stderr));
        serde_json::from_slice(&o.stdout).unwrap()
    };
    let codes = |v: &serde_json::Value| -> Vec<String> {
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["code"].as_str().unwrap().to_string())
            .collect()
    };
    // Default target is the last stage: only the apk finding; the python stage is not built.
    let v = json(&["analyze", "--format", "json", "-"]);
    assert_eq!(codes(&v), ["DF203"]);
    assert_eq!(v["files"][0]["stages"][0]["reaches_target"], false);
    // --target app with the slim default: nothing to report.
    let v = json(&["analyze", "--format", "json", "--target", "app", "-"]);
    assert!(codes(&v).is_empty(), "{:?}", codes(&v));
    assert_eq!(v["files"][0]["stages"][0]["base_expanded"], "python:3.12-slim");
    // --build-arg switches the base to the full image.
    let v = json(&[
        "analyze",
        "--format",
        "json",
        "--target",
        "app",
        "--build-arg",
        "PY=3.12",
        "-",
    ]);
    assert_eq!(codes(&v), ["DF103"]);
    // stdin with --context: the context is read, and accidental entries are found.
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join(".git")).unwrap();
    std::fs::write(dir.path().join(".git/HEAD"), "ref: refs/heads/main\n").unwrap();
    std::fs::write(dir.path().join("main.py"), "print(1)\n").unwrap();
    let v = json(&[
        "analyze",
        "--format",
        "json",
        "--target",
        "app",
        "--context",
        dir.path().to_str().unwrap(),
        "-",
    ]);
    assert_eq!(codes(&v), ["DF303"]);
    assert_eq!(v["files"][0]["context"]["files"], 2);
    assert_eq!(v["findings"][0]["estimate"]["basis"], "exact");
    assert_eq!(v["findings"][0]["estimate"]["low_bytes"], 21);
}

/// What a build rejects fails analyze too: a misspelt instruction or flag is an error finding
/// (exit 1) with a suggestion, and a file whose only FROM is misspelt exits 2 saying which
/// line it is. A doubling ARG chain is refused with its line instead of taking gigabytes.
#[test]
fn typos_a_build_rejects_fail_with_suggestions() {
    let o = imgopt(
        &["analyze", "--no-context", "-"],
        Some("FROM alpine:3.20 AS build\nRUNN echo hi\nCOPY --form=build /a /b\nCMD [\"sh\"]\n"),
    );
    assert_eq!(code(&o), 1, "{}", text(&o.stderr));
    let out = text(&o.stdout);
    assert!(
        out.contains("error[DF001]") && out.contains("did you mean `RUN`?"),
        "{out}"
    );
    assert!(
        out.contains("error[DF002]") && out.contains("did you mean `--from`?"),
        "{out}"
    );
    let o = imgopt(&["analyze", "--no-context", "-"], Some("FROOM alpine:3.20\nRUN true\n"));
    assert_eq!(code(&o), 2);
    let err = text(&o.stderr);
    assert!(
        err.contains("line 1: `FROOM` is not an instruction; did you mean `FROM`?"),
        "{err}"
    );
    let mut bomb = String::from("ARG A=x\n");
    for _ in 0..40 {
        bomb.push_str("ARG A=$A$A\n");
    }
    bomb.push_str("FROM scratch\n");
    let o = imgopt(&["analyze", "--no-context", "-"], Some(&bomb));
    assert_eq!(code(&o), 2);
    assert!(
        text(&o.stderr).contains("line 22: ARG A expands to more than 1 MiB"),
        "{}",
        text(&o.stderr)
    );
}

#[test]
fn fix_diff_and_a_second_run_with_nothing_left() {
    let dir = tempfile::tempdir().unwrap();
    let df = dir.path().join("Dockerfile");
    let original = "FROM debian:bookworm-slim\nRUN apt-get update && apt-get install -y python3-pip\nRUN pip install flask\nCMD [\"flask\", \"run\"]\n";
    std::fs::write(&df, original).unwrap();
    let path = df.to_str().unwrap();

    // --diff shows the safe fixes and writes nothing.
    let o = imgopt(&["analyze", "--no-context", "--diff", path], None);
    assert_eq!(code(&o), 0, "{}", text(&o.stderr));
    let diff = text(&o.stdout);
    assert!(
        diff.contains("+++ b/") && diff.contains("rm -rf /var/lib/apt/lists/*"),
        "{diff}"
    );
    assert!(diff.contains("--no-cache-dir"), "{diff}");
    assert_eq!(std::fs::read_to_string(&df).unwrap(), original);

    // --fix writes them; the findings they mend are gone, and a second run has nothing to fix.
    let o = imgopt(&["analyze", "--no-context", "--fix", "--format", "json", path], None);
    assert!(matches!(code(&o), 0 | 1), "{}", text(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let codes: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    assert!(!codes.contains(&"DF201") && !codes.contains(&"DF204"), "{codes:?}");
    let fixed = std::fs::read_to_string(&df).unwrap();
    assert_ne!(fixed, original);
    assert!(imgopt::dockerfile::parse(fixed.as_bytes()).is_ok());
    let o = imgopt(&["analyze", "--no-context", "--diff", path], None);
    assert!(text(&o.stdout).is_empty(), "{}", text(&o.stdout));

    // Stdin cannot be written back; --diff has no JSON form.
    let o = imgopt(&["analyze", "--fix", "-"], Some(original));
    assert_eq!(code(&o), 2);
    let o = imgopt(&["analyze", "--diff", "--format", "json", path], None);
    assert_eq!(code(&o), 2);
}

#[test]
fn fix_leaves_a_read_only_file_intact() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let df = dir.path().join("Dockerfile");
    let original = "FROM alpine:3.20\nRUN apk add curl\nCMD [\"sh\"]\n";
    std::fs::write(&df, original).unwrap();
    std::fs::set_permissions(&df, std::fs::Permissions::from_mode(0o444)).unwrap();
    let o = imgopt(&["analyze", "--no-context", "--fix", df.to_str().unwrap()], None);
    assert_eq!(code(&o), 2, "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("read-only"), "{}", text(&o.stderr));
    assert_eq!(std::fs::read_to_string(&df).unwrap(), original);
}

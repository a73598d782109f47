//! The CI files run what they say: the command of each pre-commit hook, the check step of the
//! composite GitHub Action (under `bash -e`, as GitHub runs it), and the GitLab CI snippet of
//! docs/check.md, each on a Dockerfile that fails the strict preset and one that passes.
#![allow(clippy::unwrap_used)]

use crate::support;
use crate::support::check_cases;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use check_cases::{DOCKERFILE, text};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `PATH` with the test build of imgopt first.
fn path_with_imgopt() -> String {
    let bin = support::imgopt_bin();
    format!(
        "{}:{}",
        bin.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

fn bash(dir: &Path, script: &str, envs: &[(&str, String)]) -> Output {
    Command::new("bash")
        .args(["--noprofile", "--norc", "-e", "-o", "pipefail", "-c", script])
        .current_dir(dir)
        .env("PATH", path_with_imgopt())
        .env("NO_COLOR", "1")
        .envs(envs.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .unwrap()
}

/// A folder with a failing Dockerfile, a passing one, and the strict preset as .imgopt.toml.
fn workspace() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("Dockerfile"), DOCKERFILE).unwrap();
    std::fs::create_dir(tmp.path().join("ok")).unwrap();
    std::fs::write(
        tmp.path().join("ok/Dockerfile"),
        "FROM gcr.io/distroless/static-debian12:nonroot\nCOPY app /app\n",
    )
    .unwrap();
    std::fs::write(tmp.path().join("ok/app"), "x").unwrap();
    std::fs::copy(root().join("policies/strict.toml"), tmp.path().join(".imgopt.toml")).unwrap();
    tmp
}

/// The value of `key:` on the lines of one YAML list item or mapping, unquoted.
fn field<'a>(block: &'a str, key: &str) -> Option<&'a str> {
    block.lines().find_map(|l| {
        l.trim_start()
            .trim_start_matches("- ")
            .strip_prefix(&format!("{key}:"))
            .map(str::trim)
    })
}

#[test]
fn pre_commit_hooks_run_their_entries() {
    let hooks = std::fs::read_to_string(root().join(".pre-commit-hooks.yaml")).unwrap();
    let items: Vec<&str> = hooks.split("\n- ").skip(1).collect();
    let ids: Vec<&str> = items.iter().filter_map(|i| field(i, "id")).collect();
    assert_eq!(ids, ["imgopt-analyze", "imgopt-check"]);
    let ws = workspace();
    for item in items {
        let entry = field(item, "entry").unwrap();
        assert_eq!(field(item, "types"), Some("[dockerfile]"));
        // pre-commit appends the staged files' names.
        let bad = bash(ws.path(), &format!("{entry} Dockerfile"), &[]);
        assert_eq!(
            bad.status.code(),
            Some(1),
            "{entry}: {}{}",
            text(&bad.stdout),
            text(&bad.stderr)
        );
        let good = bash(ws.path(), &format!("{entry} ok/Dockerfile"), &[]);
        assert_eq!(
            good.status.code(),
            Some(0),
            "{entry}: {}{}",
            text(&good.stdout),
            text(&good.stderr)
        );
    }
}

/// The `run: |` block of the step with `id: check` in action.yml.
fn action_check_script() -> String {
    let action = std::fs::read_to_string(root().join("action.yml")).unwrap();
    let lines: Vec<&str> = action.lines().collect();
    let id = lines
        .iter()
        .position(|l| l.trim() == "id: check")
        .expect("a step with id: check");
    let run = id
        + lines[id..]
            .iter()
            .position(|l| l.trim() == "run: |")
            .expect("its run: | block");
    let indent = lines[run].len() - lines[run].trim_start().len();
    lines[run + 1..]
        .iter()
        .take_while(|l| l.trim().is_empty() || l.len() - l.trim_start().len() > indent)
        .map(|l| l.get(indent + 2..).unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_github_action_publishes_every_report_and_fails_on_a_budget() {
    let script = action_check_script();
    assert!(script.contains("imgopt \"${args[@]}\""), "{script}");
    let ws = workspace();
    let runner_temp = tempfile::tempdir().unwrap();
    let summary = ws.path().join("summary.md");
    let outputs = ws.path().join("outputs.txt");
    let env = |targets: &str, fail: &str| {
        vec![
            ("IMGOPT_TARGETS", targets.to_string()),
            ("IMGOPT_POLICY", String::new()),
            ("IMGOPT_BASELINE", String::new()),
            ("IMGOPT_DIVE_CI", String::new()),
            ("IMGOPT_SARIF", "imgopt-check.sarif".to_string()),
            ("IMGOPT_JUNIT", "imgopt-check.xml".to_string()),
            ("IMGOPT_FAIL", fail.to_string()),
            ("RUNNER_TEMP", runner_temp.path().display().to_string()),
            ("GITHUB_STEP_SUMMARY", summary.display().to_string()),
            ("GITHUB_OUTPUT", outputs.display().to_string()),
        ]
    };
    let out = bash(ws.path(), &script, &env("Dockerfile ok/Dockerfile", "true"));
    assert_eq!(out.status.code(), Some(1), "{}{}", text(&out.stdout), text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("::error file=Dockerfile,line="), "{stdout}");
    assert!(stdout.contains("::notice title=imgopt check failed::"), "{stdout}");
    assert!(
        std::fs::read_to_string(&summary)
            .unwrap()
            .starts_with("## imgopt check ❌ failed")
    );
    assert_eq!(std::fs::read_to_string(&outputs).unwrap(), "exit-code=1\n");
    let sarif: serde_json::Value =
        serde_json::from_slice(&std::fs::read(ws.path().join("imgopt-check.sarif")).unwrap()).unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    assert!(
        std::fs::read_to_string(ws.path().join("imgopt-check.xml"))
            .unwrap()
            .contains("<testsuites")
    );
    // fail: "false" reports without failing the step.
    let out = bash(ws.path(), &script, &env("Dockerfile", "false"));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // A bad target is exit 2, whatever `fail` says.
    let out = bash(ws.path(), &script, &env("missing/Dockerfile", "false"));
    assert_eq!(out.status.code(), Some(2));
}

/// The script lines of the GitLab CI snippet in docs/check.md that run imgopt.
fn gitlab_commands() -> Vec<String> {
    let doc = std::fs::read_to_string(root().join("docs/check.md")).unwrap();
    let section = doc.split("### GitLab CI").nth(1).expect("a GitLab CI section");
    let block = section.split("```yaml").nth(1).unwrap().split("```").next().unwrap();
    block
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- imgopt "))
        .map(|c| format!("imgopt {c}"))
        .collect()
}

#[test]
fn the_gitlab_snippet_writes_its_artifacts() {
    let commands = gitlab_commands();
    assert_eq!(commands.len(), 1, "{commands:?}");
    let ws = workspace();
    let out = bash(ws.path(), &commands[0], &[]);
    assert_eq!(out.status.code(), Some(1), "{}{}", text(&out.stdout), text(&out.stderr));
    let junit = std::fs::read_to_string(ws.path().join("imgopt-check.xml")).unwrap();
    assert!(junit.contains("<failure"), "{junit}");
    for f in ["imgopt-check.md", "imgopt-check.json"] {
        assert!(ws.path().join(f).is_file(), "{f}");
    }
    let mut passing: PathBuf = ws.path().join("ok");
    std::fs::copy(ws.path().join(".imgopt.toml"), passing.join(".imgopt.toml")).unwrap();
    let out = bash(&passing, &commands[0], &[]);
    assert_eq!(out.status.code(), Some(0), "{}{}", text(&out.stdout), text(&out.stderr));
    passing.push("imgopt-check.xml");
    assert!(!std::fs::read_to_string(passing).unwrap().contains("<failure"));
}

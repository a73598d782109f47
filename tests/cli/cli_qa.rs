//! Whole-CLI checks found by trying imgopt as a new user: a closed pipe is not a failure for
//! any output format, every JSON document carries `schema_version`, formats a command cannot
//! produce are refused with exit 2, and stdin (`-`) works where the help says it does.

use crate::support;

use std::path::{Path, PathBuf};
use std::process::Output;

use support::image_builder::{Entry, ImageBuilder};

fn example(rel: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(rel)
        .to_str()
        .unwrap()
        .to_string()
}

fn run(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let cmd = support::imgopt().args(args);
    match stdin {
        Some(s) => cmd.stdin(s),
        None => cmd,
    }
    .output()
}

/// Runs imgopt with its stdout a pipe whose reading end is already closed (`imgopt ... | head`
/// where head has exited): the first write fails with EPIPE.
fn run_into_closed_pipe(args: &[&str]) -> Output {
    support::imgopt().args(args).closed_stdout().output()
}

fn all_examples() -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/dockerfiles");
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path().join("Dockerfile"))
        .filter(|p| p.is_file())
        .collect();
    v.sort();
    v.iter().map(|p| p.to_str().unwrap().to_string()).collect()
}

#[test]
fn closed_stdout_exits_zero_for_every_format() {
    let files = all_examples();
    for format in ["human", "json", "sarif", "markdown"] {
        let mut args = vec!["analyze", "--no-context", "--fail-on", "never", "--format", format];
        args.extend(files.iter().map(String::as_str));
        let o = run_into_closed_pipe(&args);
        assert_eq!(
            o.status.code(),
            Some(0),
            "analyze --format {format} into a closed pipe: stderr {}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(o.stderr.is_empty(), "{format}: {}", String::from_utf8_lossy(&o.stderr));
    }
    let go = example("dockerfiles/go-multistage/Dockerfile");
    let plan = example("plans/eks-web-api-worker.yaml");
    for args in [
        vec!["parse", "--format", "json", go.as_str()],
        vec!["plan", "--format", "json", plan.as_str()],
        vec!["explain", "--list", "--format", "json"],
        vec!["explain", "--format", "json", "DF201"],
        vec!["completions", "bash"],
        vec!["completions", "zsh"],
        vec!["completions", "fish"],
    ] {
        let o = run_into_closed_pipe(&args);
        assert_eq!(
            o.status.code(),
            Some(0),
            "{args:?} into a closed pipe: stderr {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
}

#[test]
fn explain_json_has_schema_version() {
    for args in [
        vec!["explain", "--format", "json", "DF201"],
        vec!["explain", "--format", "json", "apt-lists-not-removed"],
        vec!["explain", "--list", "--format", "json"],
    ] {
        let o = run(&args, None);
        assert_eq!(o.status.code(), Some(0), "{args:?}");
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(v["schema_version"], 1, "{args:?}: {v}");
    }
    let one: serde_json::Value =
        serde_json::from_slice(&run(&["explain", "--format", "json", "DF201"], None).stdout).unwrap();
    assert_eq!(one["code"], "DF201");
    assert_eq!(one["name"], "apt-lists-not-removed");
    // The list has the version once at the top, not on every rule.
    let list: serde_json::Value =
        serde_json::from_slice(&run(&["explain", "--list", "--format", "json"], None).stdout).unwrap();
    assert!(
        list["rules"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r.get("schema_version").is_none())
    );
}

#[test]
fn explain_refuses_sarif() {
    for args in [
        vec!["explain", "--format", "sarif", "DF201"],
        vec!["explain", "--list", "--format", "sarif"],
    ] {
        let o = run(&args, None);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(o.stdout.is_empty(), "{args:?}");
        assert!(String::from_utf8_lossy(&o.stderr).contains("sarif"), "{args:?}");
    }
}

#[test]
fn passwords_in_an_image_reference_are_not_printed() {
    for image in [
        "https://bob:hunter2secret@example.com/app:1",
        "bob:hunter2secret@localhost:1/app:1",
    ] {
        let o = run(&["layers", "--timeout", "2s", image], None);
        assert_eq!(o.status.code(), Some(2), "{image}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!err.contains("hunter2secret"), "{image}: {err}");
        assert!(
            err.contains("***@"),
            "{image}: the error still says which reference: {err}"
        );
    }
}

#[test]
fn bad_platform_is_not_called_an_image_reference() {
    let layout = match support::fixtures_dir() {
        Some(d) => d.join("oci/static-tiny-multi"),
        None => return,
    };
    let o = run(&["layers", "--platform", "bogus", layout.to_str().unwrap()], None);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("platform `bogus`"), "{err}");
    assert!(!err.contains("image reference"), "{err}");
}

#[test]
fn plan_reads_stdin() {
    let path = example("plans/gke-gpu-inference.yaml");
    let yaml = std::fs::read(&path).unwrap();
    let from_file = run(&["plan", "--format", "json", &path], None);
    let from_stdin = run(&["plan", "--format", "json", "-"], Some(&yaml));
    assert_eq!(
        from_file.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&from_file.stderr)
    );
    assert_eq!(
        from_stdin.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&from_stdin.stderr)
    );
    assert_eq!(from_file.stdout, from_stdin.stdout);
    // A bad plan on stdin is reported at its line under the name <stdin>.
    let o = run(&["plan", "-"], Some(b"node_types: [\n  - x: 1\n"));
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("<stdin>:2:"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn layers_dockerfile_that_did_not_build_the_image_is_flagged() {
    let Some(fx) = support::fixtures_dir() else {
        return;
    };
    // python-app's Dockerfile (FROM python:3.12, apt, pip) did not build the static-tiny and
    // py-slim fixture images: none of its RUN/COPY can own one of their layers.
    let df = example("dockerfiles/python-app/Dockerfile");
    for image in ["archives/static-tiny.tar", "archives/py-slim.tar"] {
        let image = fx.join(image);
        let o = run(
            &[
                "layers",
                "--format",
                "json",
                image.to_str().unwrap(),
                "--dockerfile",
                &df,
            ],
            None,
        );
        assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        let owned: usize = v["instructions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["layers"].as_array().unwrap().len())
            .sum();
        assert_eq!(owned, 0, "{image:?}: the mismatch itself");
        let warnings = v["warnings"].as_array().unwrap();
        assert!(
            warnings
                .iter()
                .any(|w| w.as_str().unwrap().contains("is this the image built from it?")),
            "{image:?}: {warnings:?}"
        );
        assert_eq!(v["base"]["matches_fully"], false, "{image:?}");
        // analyze --image says it once.
        let o = run(
            &[
                "analyze",
                &df,
                "--no-context",
                "--fail-on",
                "never",
                "--format",
                "json",
                "--image",
                image.to_str().unwrap(),
            ],
            None,
        );
        assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        let warnings = v["files"][0]["image"]["warnings"].as_array().unwrap();
        let said = warnings
            .iter()
            .filter(|w| w.as_str().unwrap().contains("is this the image built from it?"))
            .count();
        assert_eq!(said, 1, "{image:?}: {warnings:?}");
    }
}

#[test]
fn terminal_escapes_in_a_dockerfile_do_not_reach_the_terminal() {
    // An OSC title sequence and a CSI colour in the file: shown as `?`, never sent raw.
    let df = b"FROM \x1b]0;pwned\x07alpine\nRUN echo \x1b[31mred\x1b[0m && apt-get update\n";
    for color in ["always", "never"] {
        let o = run(&["analyze", "--color", color, "--fail-on", "never", "-"], Some(df));
        assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(out.contains("DF101"), "{out}");
        assert!(!out.contains("\x1b]0;pwned"), "--color {color}: raw OSC in {out:?}");
        assert!(!out.contains('\x07'), "--color {color}: raw BEL");
        assert!(!out.contains("\x1b[31mred"), "--color {color}: raw CSI from the file");
        assert!(out.contains("?]0;pwned?alpine"), "--color {color}: {out:?}");
        if color == "always" {
            assert!(out.contains('\x1b'), "imgopt's own colours still go through");
        }
    }
    // A parse error's snippet too.
    let o = run(
        &["analyze", "-"],
        Some(b"FROM alpine\nRUN <<EOF cat \x1b]0;pwned\x07\n"),
    );
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("unterminated heredoc"), "{err:?}");
    assert!(!err.contains('\x07'), "{err:?}");
    assert!(err.contains("?]0;pwned?"), "{err:?}");
}

#[test]
fn terminal_escapes_in_context_names_do_not_reach_the_terminal() {
    // analyze's summary quotes the context folder and the largest files copied: names that
    // hold an OSC title sequence are shown with `?`, with colour on or off.
    let tmp = tempfile::tempdir().unwrap();
    let ctx = tmp.path().join("ctx\x1b]0;pwned\x07dir");
    std::fs::create_dir(&ctx).unwrap();
    std::fs::write(ctx.join("evil\x1b]0;pwned\x07name"), vec![0u8; 5000]).unwrap();
    let df = tmp.path().join("Dockerfile");
    std::fs::write(&df, "FROM alpine:3.20\nRUN apt-get update\nCOPY . /app\n").unwrap();
    for color in ["always", "never"] {
        let args = [
            "analyze",
            "--color",
            color,
            "--fail-on",
            "never",
            "--context",
            ctx.to_str().unwrap(),
            df.to_str().unwrap(),
        ];
        let o = run(&args, None);
        assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(
            out.contains("largest files copied into the image: evil?]0;pwned?name (4.9 KiB)"),
            "{out:?}"
        );
        assert!(out.contains("ctx?]0;pwned?dir: 1 file, 4.9 KiB"), "{out:?}");
        assert!(
            !out.contains("\x1b]0;pwned") && !out.contains('\x07'),
            "--color {color}: raw escape in {out:?}"
        );
        if color == "always" {
            assert!(out.contains("\x1b["), "imgopt's own colours still go through: {out:?}");
        }
    }
}

#[test]
fn terminal_escapes_in_image_paths_and_plans_do_not_reach_the_terminal() {
    // A layer with a file whose name holds an OSC title sequence, large enough to be listed.
    let tmp = tempfile::tempdir().unwrap();
    let layout = tmp.path().join("evil");
    ImageBuilder::new()
        .layer(
            "RUN printf \x1b]0;cmd\x07 # buildkit",
            vec![Entry::zeros("evil\x1b]0;pwned\x07name", 4096)],
        )
        .build()
        .write_oci_layout(&layout, Some("latest"));
    let o = run(&["layers", "--no-verify", layout.to_str().unwrap()], None);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("?]0;pwned?"), "{out}");
    assert!(!out.contains('\x1b') && !out.contains('\x07'), "{out:?}");
    // JSON keeps the exact name (escaped by JSON itself).
    let o = run(
        &["layers", "--no-verify", "--format", "json", layout.to_str().unwrap()],
        None,
    );
    assert!(String::from_utf8_lossy(&o.stdout).contains("evil\\u001b]0;pwned\\u0007name"));

    // parse's stage list quotes the FROM.
    let o = run(&["parse", "-"], Some(b"FROM \x1b]0;pwned\x07alpine\n"));
    assert_eq!(o.status.code(), Some(0));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("?]0;pwned?alpine") && !out.contains('\x07'), "{out:?}");

    // plan's tables quote service names.
    let yaml = "node_types:\n  - {name: n, cpu: 4, memory: 16Gi, reserved: gke}\nservices:\n  - {name: \"s\\e]0;pwned\\a\", cpu: 1, memory: 1Gi}\n";
    let o = run(&["plan", "-"], Some(yaml.as_bytes()));
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("s?]0;pwned?"), "{out}");
    assert!(!out.contains('\x07'), "{out:?}");
}

#[test]
fn output_file_is_left_alone_when_the_run_fails() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("report.json");
    std::fs::write(&out, "the previous report\n").unwrap();
    let missing = tmp.path().join("no-such-Dockerfile");
    let o = run(
        &[
            "analyze",
            "--format",
            "json",
            "-o",
            out.to_str().unwrap(),
            missing.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "the previous report\n");
    // A run that works replaces it; a failed gate (exit 1) still writes its report.
    let df = example("dockerfiles/python-app/Dockerfile");
    let o = run(
        &[
            "analyze",
            "--no-context",
            "--fail-on",
            "info",
            "--format",
            "json",
            "-o",
            out.to_str().unwrap(),
            &df,
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(o.stdout.is_empty());
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(v["schema_version"], 1);
    // No temporary file is left behind either way.
    let names: Vec<String> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["report.json"]);
    // Not a regular file: written in place (never replaced by a regular file).
    let o = run(&["explain", "-o", "/dev/null", "DF201"], None);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(!std::fs::metadata("/dev/null").unwrap().is_file());
}

#[test]
fn help_names_only_the_gates_that_exist() {
    // Exit 1 comes from `analyze --fail-on`, from `plan` (a service that fits no node type) and
    // from `check` (a size budget); the other commands have no budget option.
    let o = run(&["--help"], None);
    assert_eq!(o.status.code(), Some(0));
    let help = String::from_utf8_lossy(&o.stdout);
    assert!(help.contains("--fail-on") && help.contains("fits no node"), "{help}");
    assert!(help.contains("`imgopt check`") && help.contains("budget"), "{help}");
    for cmd in ["analyze", "layers", "plan", "parse"] {
        let o = run(&[cmd, "--help"], None);
        let help = String::from_utf8_lossy(&o.stdout).to_lowercase();
        assert!(!help.contains("--budget"), "{cmd}: {help}");
    }
}

#[test]
fn a_cause_already_in_the_message_is_not_repeated() {
    let Some(fx) = support::fixtures_dir() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let not_a_dir = tmp.path().join("file");
    std::fs::write(&not_a_dir, "x").unwrap();
    let image = fx.join("oci/static-tiny");
    let o = run(
        &[
            "layers",
            "--cache-dir",
            not_a_dir.to_str().unwrap(),
            image.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains(not_a_dir.to_str().unwrap()), "{err}");
    assert_eq!(err.matches("Not a directory").count(), 1, "{err}");
}

#[test]
fn markdown_reports_escape_what_the_input_holds() {
    // Terminal escapes, a reordering control, pipes and backticks in the file and its name:
    // none may reach the comment raw, break the table or close a code span early.
    let dir = tempfile::tempdir().expect("temp dir");
    let name = "Docker|file`x\u{202e}";
    let path = dir.path().join(name);
    std::fs::write(&path, b"FROM \x1b]0;pwned\x07alpine\nRUN echo a|b && apt-get update\n").expect("write");
    let o = run(
        &[
            "analyze",
            "--format",
            "markdown",
            "--fail-on",
            "never",
            path.to_str().expect("UTF-8 path"),
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let out = String::from_utf8(o.stdout).expect("UTF-8 output");
    assert!(
        !out.contains('\x1b') && !out.contains('\x07') && !out.contains('\u{202e}'),
        "{out:?}"
    );
    let rows: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("| warning") || l.starts_with("| info"))
        .collect();
    assert!(!rows.is_empty(), "{out}");
    for row in rows {
        // Five cells: six unescaped pipes.
        let pipes = row
            .char_indices()
            .filter(|&(i, c)| c == '|' && !row[..i].ends_with('\\'))
            .count();
        assert_eq!(pipes, 6, "{row}");
        assert!(
            row.contains("Docker\\|file'x?:"),
            "the name as a closed code span: {row}"
        );
    }
}

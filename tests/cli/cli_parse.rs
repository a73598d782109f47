//! `imgopt parse` end to end: runs the binary on the example Dockerfiles (expected values
//! worked out by hand from those files), on stdin, on a file BuildKit rejects and on a
//! missing file, and checks output, exit codes and the `file:line:col: message` error form.

use crate::support;

use std::path::PathBuf;
use std::process::Output;

use serde_json::Value;

fn example(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("examples/dockerfiles")
        .join(name)
        .join("Dockerfile")
}

fn imgopt(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let cmd = support::imgopt().args(args);
    match stdin {
        Some(s) => cmd.stdin(s),
        None => cmd,
    }
    .output()
}

fn json(args: &[&str]) -> Value {
    let out = imgopt(args, None);
    assert!(
        out.status.success(),
        "imgopt {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON on stdout")
}

/// Lines `a..=b` (1-based) of `text`, without the final line break.
fn lines(text: &str, a: usize, b: usize) -> String {
    text.lines().skip(a - 1).take(b - a + 1).collect::<Vec<_>>().join("\n")
}

#[test]
fn json_for_the_go_example() {
    let path = example("go-multistage");
    let text = std::fs::read_to_string(&path).unwrap();
    let v = json(&["parse", path.to_str().unwrap(), "--format", "json"]);
    assert_eq!(v["schema_version"], 1);
    assert_eq!(v["directives"]["syntax"]["value"], "docker/dockerfile:1");
    let ins = v["instructions"].as_array().unwrap();
    // ARG ARG | FROM WORKDIR COPY RUN COPY ARG RUN | FROM RUN | FROM COPY USER EXPOSE ENTRYPOINT
    assert_eq!(ins.len(), 16);
    let cmds: Vec<&str> = ins.iter().map(|i| i["cmd"].as_str().unwrap()).collect();
    assert_eq!(&cmds[..3], ["ARG", "ARG", "FROM"]);
    // The second RUN spans lines 14-16 of the file; its span is exactly those lines.
    let run = &ins[8];
    assert_eq!(
        (run["start_line"].as_u64(), run["end_line"].as_u64()),
        (Some(14), Some(16))
    );
    let span = (
        run["span"]["start"].as_u64().unwrap() as usize,
        run["span"]["end"].as_u64().unwrap() as usize,
    );
    assert_eq!(&text[span.0..span.1], lines(&text, 14, 16));
    assert_eq!(run["flags"][1], "--mount=type=cache,target=/root/.cache/go-build");
    let fs = &run["flag_spans"][1];
    let fspan = fs["start"].as_u64().unwrap() as usize..fs["end"].as_u64().unwrap() as usize;
    assert_eq!(&text[fspan], "--mount=type=cache,target=/root/.cache/go-build");
    assert!(
        run["value"][0]
            .as_str()
            .unwrap()
            .starts_with("CGO_ENABLED=0 GOOS=$TARGETOS")
    );
    // ENTRYPOINT ["/server"] is exec form.
    assert_eq!(ins[15]["json"], true);
    assert_eq!(ins[15]["value"], serde_json::json!(["/server"]));
    // Stages: build (7 instructions), test (2), final (5); the default target is final.
    let st = v["stages"].as_array().unwrap();
    assert_eq!(st.len(), 3);
    let counts: Vec<u64> = st.iter().map(|s| s["instruction_count"].as_u64().unwrap()).collect();
    assert_eq!(counts, [7, 2, 5]);
    assert_eq!(st[0]["base"], "golang:${GO_VERSION}-alpine");
    assert_eq!(st[0]["base_expanded"], "golang:1.22-alpine");
    assert_eq!(st[0]["platform"], "$BUILDPLATFORM");
    assert_eq!(st[2]["base_expanded"], "gcr.io/distroless/static-debian12:nonroot");
    assert_eq!(st[1]["depends_on"], serde_json::json!([0]));
    let reach: Vec<bool> = st.iter().map(|s| s["reaches_target"].as_bool().unwrap()).collect();
    assert_eq!(reach, [true, false, true]);
    assert_eq!(v["target"], 2);
}

#[test]
fn target_and_build_args_change_the_graph() {
    let path = example("go-multistage");
    let v = json(&[
        "parse",
        path.to_str().unwrap(),
        "--format=json",
        "--target",
        "test",
        "--build-arg",
        "GO_VERSION=1.23",
    ]);
    let st = v["stages"].as_array().unwrap();
    assert_eq!(st[0]["base_expanded"], "golang:1.23-alpine");
    let reach: Vec<bool> = st.iter().map(|s| s["reaches_target"].as_bool().unwrap()).collect();
    assert_eq!(reach, [true, true, false]);
    assert_eq!(st[1]["is_target"], true);
    let out = imgopt(&["parse", path.to_str().unwrap(), "--target", "nope"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("target stage \"nope\" not found"));
}

#[test]
fn heredoc_body_and_span_in_json() {
    let path = example("static-site");
    let text = std::fs::read_to_string(&path).unwrap();
    let v = json(&["parse", path.to_str().unwrap(), "--format", "json"]);
    let copy = &v["instructions"][7];
    assert_eq!(copy["cmd"], "COPY");
    let h = &copy["heredocs"][0];
    assert_eq!(h["name"], "EOF");
    assert_eq!(h["expand"], false);
    assert_eq!(h["content"].as_str().unwrap(), format!("{}\n", lines(&text, 12, 16)));
    let span = h["span"]["start"].as_u64().unwrap() as usize..h["span"]["end"].as_u64().unwrap() as usize;
    assert_eq!(&text[span], lines(&text, 12, 17));
    assert_eq!(
        (copy["start_line"].as_u64(), copy["end_line"].as_u64()),
        (Some(11), Some(17))
    );
}

#[test]
fn human_output_shows_stages_and_counts() {
    let path = example("go-multistage");
    let out = imgopt(&["parse", path.to_str().unwrap()], None);
    assert!(out.status.success());
    let s = String::from_utf8(out.stdout).unwrap();
    assert!(s.contains("16 instructions, 3 stages, target #2 final"), "{s}");
    assert!(
        s.contains("#0 build") && s.contains("[7 instructions, lines 7-16]"),
        "{s}"
    );
    assert!(s.contains("#1 test") && s.contains("not needed by the target"), "{s}");
    assert!(s.contains("#0 build -> #2 final  (COPY --from, line 22)"), "{s}");
}

#[test]
fn verbose_human_output_lists_instructions_under_their_stage() {
    let path = example("static-site");
    let out = imgopt(&["parse", "-v", path.to_str().unwrap()], None);
    assert!(out.status.success());
    let s = String::from_utf8(out.stdout).unwrap();
    // Lines 11-17 of the file are the COPY with its 5-line heredoc body.
    assert!(
        s.contains("11-17  COPY <<'EOF' /etc/nginx/conf.d/default.conf  (heredoc EOF: 5 lines)"),
        "{s}"
    );
    let stage1 = s.find("#1 ").unwrap();
    let copy_from = s
        .find("18  COPY --from=build /site/dist /usr/share/nginx/html")
        .unwrap();
    assert!(copy_from > stage1, "the COPY --from is listed under stage #1: {s}");
}

#[test]
fn reads_stdin() {
    let out = imgopt(
        &["parse", "-", "--format", "json"],
        Some(b"FROM alpine:3.20\r\nRUN echo hi\r\n"),
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["file"], "<stdin>");
    assert_eq!(v["instructions"][1]["value"], serde_json::json!(["echo hi"]));
    // The span of `RUN echo hi` stops before the CRLF: bytes 18..29.
    assert_eq!(
        v["instructions"][1]["span"],
        serde_json::json!({"start": 18, "end": 29})
    );
}

#[test]
fn rejected_file_gives_location_snippet_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("Dockerfile");
    std::fs::write(&path, "FROM alpine\n  ENV ONLY_A_NAME\n").unwrap();
    let out = imgopt(&["parse", path.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("{}:2:3: ENV must have two arguments", path.display())),
        "{err}"
    );
    assert!(err.contains("ENV ONLY_A_NAME"), "snippet missing: {err}");
    assert!(out.stdout.is_empty());
}

#[test]
fn unterminated_heredoc_and_missing_file_exit_2() {
    let out = imgopt(&["parse", "-"], Some(b"FROM a\nRUN <<EOF\necho\n"));
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("<stdin>:2:1: unterminated heredoc"));
    let out = imgopt(&["parse", "/definitely/not/here/Dockerfile"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("reading the Dockerfile /definitely/not/here/Dockerfile"));
}

#[test]
fn non_utf8_and_nul_bytes_parse() {
    let out = imgopt(
        &["parse", "-", "--format", "json"],
        Some(b"FROM a\nRUN echo \xff\x00x\n"),
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["instructions"][1]["value"][0], "echo \u{fffd}\u{0}x");
}

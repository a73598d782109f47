//! Conformance: every Dockerfile of the shared corpus parses exactly as BuildKit v0.12.5's
//! parser parses it (`reference.json`), or is rejected when BuildKit rejects it
//! (`reference-error.txt`). Every mismatch is collected and printed; the test asserts none.
//! Spans are checked too: each instruction's span starts with its instruction word, and its
//! start and end lines are the lines the span covers.

#![allow(clippy::print_stderr)]

use crate::support;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use imgopt::dockerfile::{self, Instruction};
use serde_json::Value;

fn dockerfiles(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![root.to_path_buf()];
    while let Some(dir) = todo.pop() {
        let Ok(rd) = std::fs::read_dir(&dir) else { continue };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                todo.push(p);
            } else if p.file_name().is_some_and(|n| n == "Dockerfile") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// The reference's binding hands strings to Python as C strings: compare up to a NUL.
fn cut(s: &str) -> &str {
    s.split('\0').next().unwrap_or("")
}

fn line_of(src: &[u8], off: usize) -> usize {
    src[..off.min(src.len())].iter().filter(|&&b| b == b'\n').count() + 1
}

/// `original` is informative: differences are counted and listed, not failed.
fn original_differs(ours: &Instruction, theirs: &Value) -> bool {
    cut(&ours.original.text()) != cut(theirs["original"].as_str().unwrap_or(""))
}

fn compare(src: &[u8], ours: &Instruction, theirs: &Value, n: usize, problems: &mut Vec<String>) {
    let mut diff = |what: &str, a: String, b: String| {
        if a != b {
            problems.push(format!(
                "instruction {n} ({}): {what}: ours {a} reference {b}",
                ours.cmd
            ));
        }
    };
    let s = |v: &Value| v.as_str().map(|x| cut(x).to_string()).unwrap_or_default();
    diff("cmd", ours.cmd.to_lowercase(), s(&theirs["cmd"]).to_lowercase());
    let sub = ours.sub.as_ref().map(|x| x.cmd.to_lowercase()).unwrap_or_default();
    diff("sub_cmd", sub, s(&theirs["sub_cmd"]).to_lowercase());
    diff(
        "json",
        ours.json.to_string(),
        theirs["json"].as_bool().unwrap_or(false).to_string(),
    );
    diff(
        "start_line",
        ours.start_line.to_string(),
        theirs["start_line"].to_string(),
    );
    diff("end_line", ours.end_line.to_string(), theirs["end_line"].to_string());
    let list = |v: &Value| -> Vec<String> { v.as_array().map(|a| a.iter().map(s).collect()).unwrap_or_default() };
    let flags: Vec<String> = ours.flags.iter().map(|f| cut(&f.text).to_string()).collect();
    diff("flags", format!("{flags:?}"), format!("{:?}", list(&theirs["flags"])));
    let values: Vec<String> = ours.args.iter().map(|a| cut(&a.value.text()).to_string()).collect();
    diff("value", format!("{values:?}"), format!("{:?}", list(&theirs["value"])));
    let hd: Vec<(String, u64, String)> = ours
        .heredocs
        .iter()
        .map(|h| {
            (
                cut(&h.name).to_string(),
                u64::from(h.file_descriptor),
                cut(&h.content).to_string(),
            )
        })
        .collect();
    let theirs_hd: Vec<(String, u64, String)> = theirs["heredocs"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|h| {
                    (
                        s(&h["name"]),
                        h["file_descriptor"].as_u64().unwrap_or(0),
                        s(&h["content"]),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    diff("heredocs", format!("{hd:?}"), format!("{theirs_hd:?}"));
    // Spans.
    let text = &src[ours.span.range()];
    if !text.starts_with(ours.cmd.as_bytes()) {
        problems.push(format!(
            "instruction {n}: span text {:?} does not start with {:?}",
            String::from_utf8_lossy(text),
            ours.cmd
        ));
    }
    let (sl, el) = (line_of(src, ours.span.start()), line_of(src, ours.span.end()));
    if (sl, el) != (ours.start_line, ours.end_line) {
        problems.push(format!(
            "instruction {n}: span covers lines {sl}-{el} but start_line/end_line are {}-{}",
            ours.start_line, ours.end_line
        ));
    }
    for a in &ours.args {
        if a.span.end() > src.len()
            || a.span.start() > a.span.end()
            || a.span.start() < ours.span.start()
            || a.span.end() > ours.span.end()
        {
            problems.push(format!(
                "instruction {n}: arg span {:?} outside the instruction {:?}",
                a.span, ours.span
            ));
        }
    }
    for f in &ours.flags {
        if !src[f.span.range()].starts_with(b"--") {
            problems.push(format!(
                "instruction {n}: flag span {:?} does not start with --",
                f.span
            ));
        }
    }
}

#[test]
fn corpus_matches_buildkit() {
    let Some(root) = support::corpus_dir() else { return };
    let files = dockerfiles(&root);
    assert!(!files.is_empty(), "no Dockerfile under {}", root.display());
    let (mut accepted, mut rejected, mut failed, mut original_diffs) = (0, 0, 0, 0);
    let mut report = String::new();
    for path in &files {
        let dir = path.parent().unwrap_or(Path::new("."));
        let rel = path.strip_prefix(&root).unwrap_or(path).display().to_string();
        let src = std::fs::read(path).expect("read Dockerfile");
        let result = dockerfile::parse(&src);
        let mut problems = Vec::new();
        if dir.join("reference-error.txt").is_file() {
            match result {
                Ok(df) => problems.push(format!(
                    "accepted ({} instructions) but BuildKit rejects it",
                    df.instructions.len()
                )),
                Err(_) => rejected += 1,
            }
        } else {
            let Ok(ref_text) = std::fs::read_to_string(dir.join("reference.json")) else {
                let _ = writeln!(report, "{rel}: no reference.json or reference-error.txt (skipped)");
                continue;
            };
            let reference: Value = serde_json::from_str(&ref_text).expect("reference.json is JSON");
            let theirs = reference.as_array().cloned().unwrap_or_default();
            match result {
                Err(e) => problems.push(format!("rejected ({e}) but BuildKit accepts it")),
                Ok(df) => {
                    if df.instructions.len() != theirs.len() {
                        problems.push(format!(
                            "{} instructions, reference has {}",
                            df.instructions.len(),
                            theirs.len()
                        ));
                    }
                    for (n, (o, t)) in df.instructions.iter().zip(&theirs).enumerate() {
                        compare(&src, o, t, n, &mut problems);
                        if original_differs(o, t) {
                            original_diffs += 1;
                            if original_diffs <= 5 {
                                let _ = writeln!(
                                    report,
                                    "note: {rel} instruction {n}: original {:?} vs reference {:?}",
                                    o.original, t["original"]
                                );
                            }
                        }
                    }
                    if problems.is_empty() {
                        accepted += 1;
                    }
                }
            }
        }
        if !problems.is_empty() {
            failed += 1;
            let _ = writeln!(report, "--- {rel}");
            for p in problems.iter().take(20) {
                let _ = writeln!(report, "    {p}");
            }
        }
    }
    eprintln!("{report}");
    eprintln!(
        "corpus: {} files, {accepted} accepted as BuildKit does, {rejected} rejected as BuildKit does, {failed} mismatched; \
         `original` differs (informative) in {original_diffs} instructions",
        files.len()
    );
    assert_eq!(failed, 0, "{failed} corpus files differ from BuildKit (see above)");
}

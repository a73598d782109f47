//! Human rendering of `imgopt rewrite`: a summary (target, runtime base, predicted saving,
//! every change with its reason, the risks, notes), then the new Dockerfile, the diff
//! (`--diff`) or where it was written (`--write`). When the new file is printed, the summary
//! is written as `#` comments above it, so the whole output is itself a valid Dockerfile.
//! `--verify` adds what was built and run: each image's measured bytes, its exit code and
//! first lines of output, the measured saving beside the predicted one, or the step that
//! failed with the builder's last lines.

use std::io::{self, Write};

use crate::report::text::wrap;
use crate::rewrite::RewriteReport;
use crate::rewrite::verify::{ImageResult, VerifyReport};
use crate::units::ByteSize;

/// Writes the report.
pub fn render(r: &RewriteReport, width: usize, out: &mut dyn Write) -> io::Result<()> {
    let whole_file = r.diff.is_none() && r.written.is_none();
    let prefix = if whole_file { "# " } else { "" };
    let mut lines: Vec<String> = Vec::new();
    let eco = r.ecosystem.map_or(String::new(), |e| format!(", {}", e.as_str()));
    if r.unchanged {
        lines.push(format!(
            "imgopt rewrite {} (--to {}{eco}): unchanged",
            r.file,
            r.target.as_str()
        ));
    } else {
        let base = r.runtime_base.as_deref().unwrap_or("?");
        lines.push(format!(
            "imgopt rewrite {} (--to {}{eco}): runtime stage on {base}",
            r.file,
            r.target.as_str()
        ));
        if let Some(e) = &r.estimate {
            lines.push(format!("predicted saving: {e}"));
        }
    }
    let w = width.saturating_sub(prefix.len());
    let label = |kind: &str, where_: String| format!("  {kind}{where_}: ");
    if !r.changes.is_empty() {
        lines.push("changes:".to_string());
        for c in &r.changes {
            let kind = serde_json::to_value(c.kind).ok();
            let kind = kind.as_ref().and_then(|v| v.as_str()).unwrap_or("");
            let where_ = match (c.start_line, c.end_line) {
                (Some(a), Some(b)) if a != b => format!(" (lines {a}-{b})"),
                (Some(a), _) => format!(" (line {a})"),
                _ => String::new(),
            };
            let l = label(kind, where_);
            lines.push(format!("{l}{}", wrap(&c.message, w, l.len(), 4)));
        }
    }
    if !r.risks.is_empty() {
        lines.push("risks:".to_string());
        for k in &r.risks {
            let kind = serde_json::to_value(k.kind).ok();
            let kind = kind.as_ref().and_then(|v| v.as_str()).unwrap_or("");
            let l = label(kind, String::new());
            lines.push(format!("{l}{}", wrap(&k.message, w, l.len(), 4)));
        }
    }
    if let Some(v) = &r.verify {
        verify_lines(v, r.estimate.is_some(), &mut lines);
    }
    if !r.notes.is_empty() {
        lines.push("notes:".to_string());
        for n in &r.notes {
            lines.push(format!("  {}", wrap(n, w, 2, 4)));
        }
    }
    for l in &lines {
        for part in l.split('\n') {
            writeln!(out, "{prefix}{part}")?;
        }
    }
    if let Some(d) = &r.diff {
        if !d.is_empty() {
            writeln!(out)?;
            out.write_all(d.as_bytes())?;
        }
    } else if let Some(w) = &r.written {
        writeln!(out, "wrote {w}")?;
    } else {
        writeln!(out)?;
        out.write_all(r.dockerfile.as_bytes())?;
        if !r.dockerfile.ends_with('\n') {
            writeln!(out)?;
        }
    }
    Ok(())
}

fn verify_lines(v: &VerifyReport, predicted: bool, lines: &mut Vec<String>) {
    let builder = v.builder_version.as_deref().unwrap_or(v.builder.as_str());
    let verdict = if v.passed { "passed" } else { "FAILED" };
    lines.push(format!("verify: {verdict} ({builder}, {:.0} s)", v.seconds));
    if let Some(s) = &v.smoke {
        lines.push(format!("  smoke: {}", s.join(" ")));
    }
    if !v.build_args.is_empty() {
        lines.push(format!("  build args: {} (values not shown)", v.build_args.join(", ")));
    }
    for (name, side) in [("original", &v.original), ("rewrite", &v.rewrite)] {
        lines.push(format!("  {name}: {}", side_summary(side)));
        if let Some(run) = &side.run {
            for l in &run.stdout_first_lines {
                lines.push(format!("    | {l}"));
            }
        }
    }
    if let Some(s) = &v.saving {
        let signed = |b: i64| {
            let size = ByteSize(b.unsigned_abs());
            if b < 0 { format!("-{size}") } else { size.to_string() }
        };
        let also = if predicted { " (predicted above)" } else { "" };
        lines.push(format!(
            "  measured saving: {} uncompressed, {} compressed; the rewrite is {:.1}% of the original{also}",
            signed(s.uncompressed_bytes),
            signed(s.compressed_bytes),
            s.uncompressed_ratio * 100.0
        ));
    }
    if v.failure.is_none() && v.original.run.is_some() {
        lines.push(format!(
            "  same exit code and stdout: {}",
            if v.same_output { "yes" } else { "no" }
        ));
    }
    if let Some(f) = &v.failure {
        lines.push(format!("  failed step: {}: {}", f.step, f.message));
        if !f.last_lines.is_empty() {
            lines.push("  last lines:".to_string());
            for l in &f.last_lines {
                lines.push(format!("    {l}"));
            }
        }
    }
}

fn side_summary(s: &ImageResult) -> String {
    let mut parts = Vec::new();
    match &s.image_id {
        Some(id) => {
            let short: String = id.trim_start_matches("sha256:").chars().take(12).collect();
            let secs = s.build_seconds.map_or(String::new(), |t| format!(" in {t:.0} s"));
            parts.push(format!("built {short}{secs}"));
        }
        None => parts.push("not built".to_string()),
    }
    if let Some(size) = &s.size {
        parts.push(format!(
            "{} uncompressed, {} compressed, {} layers",
            ByteSize(size.uncompressed_bytes),
            ByteSize(size.compressed_bytes),
            size.layers
        ));
    }
    if let Some(run) = &s.run {
        let code = match (run.exit_code, run.timed_out) {
            (_, true) => "timed out".to_string(),
            (Some(c), _) => format!("exit {c}"),
            (None, _) => "killed".to_string(),
        };
        parts.push(format!(
            "ran `{}`: {code}, {} bytes of stdout",
            run.argv.join(" "),
            run.stdout_bytes
        ));
    }
    parts.join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rewrite::verify::{BuilderKind, Failure, ImageSize, MeasuredSaving, RunResult};

    fn run(line: &str) -> RunResult {
        RunResult {
            argv: vec!["/app/hello".into()],
            exit_code: Some(0),
            timed_out: false,
            stdout_sha256: Some("sha256:00".into()),
            stdout_bytes: 6,
            stdout_first_lines: vec![line.into()],
            stderr_last_lines: Vec::new(),
            seconds: 0.1,
        }
    }

    fn verified(failure: Option<Failure>) -> RewriteReport {
        let mut r = crate::rewrite::rewrite_str(
            "Dockerfile",
            "FROM debian:bookworm\nRUN apt-get update && apt-get install -y golang-go\nCOPY . .\nRUN go build -o /app/hello .\nCMD [\"/app/hello\"]\n",
            &crate::rewrite::Options::default(),
        )
        .expect("parses");
        let side = |bytes: u64| ImageResult {
            image_id: Some("sha256:0123456789abcdef".into()),
            build_seconds: Some(12.0),
            run: Some(run("hello")),
            size: Some(ImageSize {
                compressed_bytes: bytes / 2,
                uncompressed_bytes: bytes,
                layers: 2,
            }),
        };
        r.diff = Some(String::new());
        r.verify = Some(VerifyReport {
            builder: BuilderKind::Buildah,
            builder_version: Some("buildah version 1.28.2".into()),
            smoke: None,
            build_args: vec!["TOKEN".into()],
            passed: failure.is_none(),
            same_output: failure.is_none(),
            original: side(1 << 30),
            rewrite: side(4 << 20),
            saving: Some(MeasuredSaving {
                compressed_bytes: (1 << 29) - (2 << 20),
                uncompressed_bytes: (1 << 30) - (4 << 20),
                uncompressed_ratio: 0.0039,
            }),
            failure,
            seconds: 30.0,
        });
        r
    }

    fn text(r: &RewriteReport) -> String {
        let mut out = Vec::new();
        render(r, 100, &mut out).expect("renders");
        String::from_utf8(out).expect("utf-8")
    }

    #[test]
    fn a_passed_verification_shows_both_images_and_the_measured_saving() {
        let t = text(&verified(None));
        assert!(t.contains("verify: passed (buildah version 1.28.2, 30 s)"), "{t}");
        assert!(
            t.contains("original: built 0123456789ab in 12 s; 1.0 GiB uncompressed"),
            "{t}"
        );
        assert!(
            t.contains("rewrite: built 0123456789ab in 12 s; 4.0 MiB uncompressed"),
            "{t}"
        );
        assert!(t.contains("    | hello"), "{t}");
        assert!(t.contains("measured saving: 1020.0 MiB uncompressed"), "{t}");
        assert!(t.contains("0.4% of the original (predicted above)"), "{t}");
        assert!(t.contains("build args: TOKEN (values not shown)"), "{t}");
        assert!(t.contains("same exit code and stdout: yes"), "{t}");
        assert!(!t.contains("failed step"), "{t}");
    }

    #[test]
    fn a_failed_verification_names_the_step_and_the_last_lines() {
        let t = text(&verified(Some(Failure {
            step: "build rewrite".into(),
            message: "exited with code 1 at STEP 3/5: RUN make".into(),
            last_lines: vec!["make: *** [hello] Error 1".into()],
        })));
        assert!(t.contains("verify: FAILED"), "{t}");
        assert!(
            t.contains("failed step: build rewrite: exited with code 1 at STEP 3/5: RUN make"),
            "{t}"
        );
        assert!(t.contains("    make: *** [hello] Error 1"), "{t}");
        assert!(!t.contains("same exit code and stdout"), "{t}");
    }
}

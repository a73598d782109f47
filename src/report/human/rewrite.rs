//! Human rendering of `imgopt rewrite`: a summary (target, runtime base, predicted saving,
//! every change with its reason, the risks, notes), then the new Dockerfile, the diff
//! (`--diff`) or where it was written (`--write`). When the new file is printed, the summary
//! is written as `#` comments above it, so the whole output is itself a valid Dockerfile.

use std::io::{self, Write};

use crate::report::text::wrap;
use crate::rewrite::RewriteReport;

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

//! Markdown output of `imgopt analyze`: a summary line and one table row per finding, for a
//! pull-request comment.

use std::io::{self, Write};

use crate::analyze::AnalyzeReport;

/// Escapes table-breaking characters.
fn cell(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace('\n', " ")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Writes the report.
pub fn render(report: &AnalyzeReport, out: &mut dyn Write) -> io::Result<()> {
    let s = &report.summary;
    writeln!(out, "### imgopt analyze")?;
    writeln!(out)?;
    let count = |k: &str| s.by_severity.get(k).copied().unwrap_or(0);
    writeln!(
        out,
        "**{}** findings in {} file(s): {} error, {} warning, {} info.",
        s.findings,
        s.files,
        count("error"),
        count("warning"),
        count("info")
    )?;
    if let Some(t) = &s.estimated_saving {
        writeln!(out)?;
        writeln!(
            out,
            "Estimated saving: **{}** (findings may overlap).",
            cell(&t.to_string())
        )?;
    }
    if report.findings.is_empty() {
        return Ok(());
    }
    writeln!(out)?;
    writeln!(
        out,
        "| Severity | Rule | Location | Finding | Estimated saving |"
    )?;
    writeln!(out, "| --- | --- | --- | --- | --- |")?;
    for f in &report.findings {
        let est = f
            .estimate
            .as_ref()
            .map_or_else(|| "—".to_string(), ToString::to_string);
        writeln!(
            out,
            "| {} | `{}` {} | `{}:{}` | {}<br>**help:** {} | {} |",
            f.severity,
            f.code,
            f.name,
            cell(&f.file),
            f.start_line,
            cell(&f.message),
            cell(&f.help),
            cell(&est)
        )?;
    }
    Ok(())
}

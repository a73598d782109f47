//! Markdown output of `imgopt analyze`: a summary line and one table row per finding, for a
//! pull-request comment.

use std::io::{self, Write};

use super::{cell, code};
use crate::analyze::AnalyzeReport;

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
    writeln!(out, "| Severity | Rule | Location | Finding | Estimated saving |")?;
    writeln!(out, "| --- | --- | --- | --- | --- |")?;
    for f in &report.findings {
        let est = f.estimate.as_ref().map_or_else(|| "—".to_string(), ToString::to_string);
        writeln!(
            out,
            "| {} | `{}` {} | `{}:{}` | {}<br>**help:** {} | {} |",
            f.severity,
            f.code,
            f.name,
            code(&f.file),
            f.start_line,
            cell(&f.message),
            cell(&f.help),
            cell(&est)
        )?;
    }
    for file in &report.files {
        let Some(im) = &file.image else { continue };
        writeln!(out)?;
        writeln!(out, "Measured on `{}`:", code(&im.source))?;
        writeln!(out)?;
        writeln!(
            out,
            "| Line | Instruction | Layers | Content | Stored | Wasted later | Caches |"
        )?;
        writeln!(out, "| ---: | --- | --- | ---: | ---: | ---: | --- |")?;
        for i in im.instructions.iter().filter(|i| !i.measure.layers.is_empty()) {
            let m = &i.measure;
            let layers: Vec<String> = m.layers.iter().map(usize::to_string).collect();
            let caches: Vec<String> = i.cache_bytes.iter().map(|(t, b)| format!("{t} {b}")).collect();
            writeln!(
                out,
                "| {} | `{}` | {} | {} | {} | {} | {} |",
                m.line,
                code(&m.instruction),
                layers.join(", "),
                m.content_bytes,
                m.compressed_bytes,
                m.wasted_later,
                cell(&caches.join(", "))
            )?;
        }
    }
    Ok(())
}

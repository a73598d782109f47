//! Markdown output of `imgopt check`: a pull-request comment in the manner of size-limit's
//! (<https://github.com/ai/size-limit>): the verdict, what failed first, and per target a table
//! of each measured value against its limit, with the growth against the baseline.
//!
//! Owns: layout only; every value comes from the [`CheckReport`].

use std::io::{self, Write};

use super::{cell, code};
use crate::check::CheckReport;
use crate::units::ByteSize;

/// Writes the comment.
pub fn render(r: &CheckReport, out: &mut dyn Write) -> io::Result<()> {
    let (all, failed) = r.counts();
    let verdict = if r.passed { "✅ passed" } else { "❌ failed" };
    writeln!(out, "## imgopt check {verdict}")?;
    writeln!(out)?;
    writeln!(out, "{failed} of {all} checks failed · policy `{}`", code(&r.policy))?;
    if let Some((t, c)) = r.first_failure() {
        writeln!(out)?;
        writeln!(
            out,
            "**First failure:** `{}` on `{}`: {}",
            code(&c.id),
            code(&t.target),
            cell(&c.message)
        )?;
    }
    for t in &r.targets {
        writeln!(out)?;
        let mark = if t.passed { "✅" } else { "❌" };
        writeln!(out, "### {mark} `{}` ({})", code(&t.target), t.kind.as_str())?;
        writeln!(out)?;
        if let Some(g) = &t.growth {
            let d = g.bytes();
            let abs = ByteSize(u64::try_from(d.unsigned_abs()).unwrap_or(u64::MAX));
            let sign = if d < 0 { "-" } else { "+" };
            let pct = g.percent().map_or_else(String::new, |p| format!(" ({p:+.2} %)"));
            writeln!(
                out,
                "Compressed size **{}**, {sign}{abs}{pct} against `{}` ({}).",
                ByteSize(g.target_bytes),
                code(&g.baseline),
                ByteSize(g.baseline_bytes)
            )?;
            writeln!(out)?;
        }
        if t.checks.is_empty() {
            writeln!(out, "The policy sets no {} key.", t.kind.as_str())?;
            continue;
        }
        writeln!(out, "| | Check | Actual | Limit | |")?;
        writeln!(out, "| --- | --- | ---: | ---: | --- |")?;
        for c in &t.checks {
            let mark = if c.passed { "✅" } else { "❌" };
            let note = if c.passed { String::new() } else { cell(&c.message) };
            writeln!(
                out,
                "| {mark} | `{}` | {} | {} | {note} |",
                code(&c.id),
                cell(&c.shown_actual()),
                cell(&c.shown_limit())
            )?;
        }
    }
    Ok(())
}

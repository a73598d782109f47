//! Human output of `imgopt check`: one block per target with each check's verdict, measured
//! value and limit, the policy line that set the limit, and a one-line summary.
//!
//! Owns: layout only; every value comes from the [`CheckReport`].

use std::io::{self, Write};

use crate::check::{CheckReport, CheckResult};

fn place(c: &CheckResult) -> String {
    format!("{}:{}", c.location.file, c.location.line)
}

/// Writes the report.
pub fn render(r: &CheckReport, out: &mut dyn Write) -> io::Result<()> {
    let (all, failed) = r.counts();
    for t in &r.targets {
        let mark = if t.passed { "PASS" } else { "FAIL" };
        writeln!(out, "{mark} {} ({})", t.target, t.kind.as_str())?;
        if t.checks.is_empty() {
            writeln!(out, "  (the policy sets no {} key)", t.kind.as_str())?;
        }
        let id_w = t.checks.iter().map(|c| c.id.len()).max().unwrap_or(0);
        let act_w = t
            .checks
            .iter()
            .map(|c| c.shown_actual().chars().count())
            .max()
            .unwrap_or(0);
        for c in &t.checks {
            let verdict = if c.passed { "ok  " } else { "FAIL" };
            writeln!(
                out,
                "  {verdict} {:<id_w$}  {:>act_w$}  limit {:<14} {}",
                c.id,
                c.shown_actual(),
                c.shown_limit(),
                place(c)
            )?;
            if !c.passed {
                writeln!(out, "       {}", c.message)?;
            }
        }
        if let Some(g) = &t.growth {
            let pct = g.percent().map_or_else(String::new, |p| format!(" ({p:+.2} %)"));
            let d = g.bytes();
            let abs = crate::units::ByteSize(u64::try_from(d.unsigned_abs()).unwrap_or(u64::MAX));
            let sign = if d < 0 { "-" } else { "+" };
            writeln!(out, "  growth against {}: {sign}{abs}{pct} compressed", g.baseline)?;
        }
        writeln!(out)?;
    }
    let verdict = if r.passed { "passed" } else { "failed" };
    write!(out, "check {verdict}: {failed} of {all} checks failed")?;
    if let Some((t, c)) = r.first_failure() {
        write!(out, "; first: {} on {}", c.id, t.target)?;
    }
    writeln!(out, " (policy: {})", r.policy)
}

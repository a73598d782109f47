//! GitHub Actions output of `imgopt check`: one `::error` per failed check, on the policy line
//! that set the limit or, for a Dockerfile check, on the finding's line (a check of the
//! built-in policy has no file to point at), then one `::notice` with the summary.
//!
//! Owns: layout only; every value comes from the [`CheckReport`].

use std::io::{self, Write};

use super::{data, property};
use crate::check::CheckReport;

/// Writes the workflow commands.
pub fn render(r: &CheckReport, out: &mut dyn Write) -> io::Result<()> {
    for t in &r.targets {
        for c in t.checks.iter().filter(|c| !c.passed) {
            let title = property(&format!("imgopt check {} ({})", c.id, t.target));
            let msg = data(&format!(
                "{}: {} (actual {}, limit {})",
                t.target,
                c.message,
                c.shown_actual(),
                c.shown_limit()
            ));
            if c.location.on_disk {
                writeln!(
                    out,
                    "::error file={},line={},title={title}::{msg}",
                    property(&c.location.file),
                    c.location.line
                )?;
            } else {
                writeln!(out, "::error title={title}::{msg}")?;
            }
        }
    }
    let (all, failed) = r.counts();
    let verdict = if r.passed { "passed" } else { "failed" };
    let targets = crate::report::text::plural(r.targets.len() as u64, "target", "targets");
    let mut summary = format!("{failed} of {all} checks failed over {targets} (policy {})", r.policy);
    if let Some((t, c)) = r.first_failure() {
        summary.push_str(&format!("; first: {} on {}", c.id, t.target));
    }
    writeln!(
        out,
        "::notice title={}::{}",
        property(&format!("imgopt check {verdict}")),
        data(&summary)
    )
}

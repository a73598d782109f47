//! JUnit XML of `imgopt check`: one `<testsuite>` per target, one `<testcase>` per check
//! (named by its policy id), a `<failure>` with the message for each check that failed.
//!
//! Owns: layout only; every value comes from the [`CheckReport`].

use std::io::{self, Write};

use super::escape;
use crate::check::CheckReport;

/// Writes the XML document.
pub fn render(r: &CheckReport, out: &mut dyn Write) -> io::Result<()> {
    let (all, failed) = r.counts();
    writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
    writeln!(
        out,
        r#"<testsuites name="imgopt check" tests="{all}" failures="{failed}" errors="0">"#
    )?;
    for t in &r.targets {
        let tf = t.checks.iter().filter(|c| !c.passed).count();
        writeln!(
            out,
            r#"  <testsuite name="{}" tests="{}" failures="{tf}" errors="0" skipped="0">"#,
            escape(&t.target),
            t.checks.len()
        )?;
        writeln!(
            out,
            r#"    <properties><property name="kind" value="{}"/><property name="policy" value="{}"/></properties>"#,
            t.kind.as_str(),
            escape(&r.policy)
        )?;
        for c in &t.checks {
            let open = format!(
                r#"    <testcase name="{}" classname="{}" file="{}" line="{}""#,
                escape(&c.id),
                escape(&t.target),
                escape(&c.location.file),
                c.location.line
            );
            if c.passed {
                writeln!(out, "{open}>")?;
                writeln!(out, "      <system-out>{}</system-out>", escape(&c.message))?;
                writeln!(out, "    </testcase>")?;
            } else {
                writeln!(out, "{open}>")?;
                writeln!(
                    out,
                    r#"      <failure message="{}" type="{}">actual {}, limit {} ({}:{})</failure>"#,
                    escape(&c.message),
                    escape(&c.id),
                    escape(&c.shown_actual()),
                    escape(&c.shown_limit()),
                    escape(&c.location.file),
                    c.location.line
                )?;
                writeln!(out, "    </testcase>")?;
            }
        }
        writeln!(out, "  </testsuite>")?;
    }
    writeln!(out, "</testsuites>")
}

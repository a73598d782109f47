//! Markdown rendering of `imgopt explain`: a rule's doc is Markdown already; the list is a table.

use std::io::{self, Write};

use super::{cell, code};
use crate::report::explain::ExplainReport;

/// Writes the rule's doc, or a table of every rule.
pub fn render(r: &ExplainReport, out: &mut dyn Write) -> io::Result<()> {
    match r {
        ExplainReport::One(m) => {
            let opt = if m.default_enabled {
                ""
            } else {
                "; opt-in: enable with `--select`"
            };
            writeln!(
                out,
                "# {} {}\n\nDefault severity: {}{opt}\n",
                m.code,
                m.name,
                m.severity.as_str()
            )?;
            write!(out, "{}", m.doc())
        }
        ExplainReport::List(all) => {
            writeln!(
                out,
                "| code | name | severity | what it finds |\n| --- | --- | --- | --- |"
            )?;
            for m in all {
                let opt = if m.default_enabled { "" } else { " (opt-in)" };
                writeln!(
                    out,
                    "| {} | `{}` | {} | {}{opt} |",
                    m.code,
                    code(m.name),
                    m.severity.as_str(),
                    cell(&m.summary())
                )?;
            }
            Ok(())
        }
    }
}

//! Markdown rendering of `imgopt explain`: a rule's doc as it is (Markdown already); the list as a table.

use std::io::{self, Write};

use super::{cell, code};
use crate::report::explain::ExplainReport;

/// Writes the rule's doc, or a table of every rule.
pub fn render(r: &ExplainReport, out: &mut dyn Write) -> io::Result<()> {
    match r {
        // A rule's doc is Markdown already: the human form is the Markdown form.
        ExplainReport::One(_) => crate::report::human::explain::render(r, usize::MAX, out),
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

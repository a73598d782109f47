//! Human rendering of `imgopt explain`: a rule's documentation as written, or one line per rule
//! wrapped to the output width.

use std::io::{self, Write};

use crate::report::explain::ExplainReport;
use crate::report::text::wrap;

/// Writes the rule's doc, or the list.
pub fn render(r: &ExplainReport, width: usize, out: &mut dyn Write) -> io::Result<()> {
    match r {
        ExplainReport::One(m) => {
            let opt = if m.default_enabled {
                ""
            } else {
                "; opt-in: enable with --select"
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
            let name_w = all.iter().map(|m| m.name.len()).max().unwrap_or(0);
            // `DF201  apt-lists-not-removed  warning  summary…`
            let label = 5 + 2 + name_w + 2 + 7 + 2;
            for m in all {
                let opt = if m.default_enabled { "" } else { " (opt-in)" };
                let summary = wrap(&format!("{}{opt}", m.summary()), width, label, label);
                writeln!(
                    out,
                    "{:<5}  {:<name_w$}  {:<7}  {summary}",
                    m.code,
                    m.name,
                    m.severity.as_str()
                )?;
            }
            Ok(())
        }
    }
}

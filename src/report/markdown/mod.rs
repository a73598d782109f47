//! Markdown renderers (GitHub-flavoured, for pull-request comments): one file per report kind,
//! and the two escapes they share.
//!
//! Every string a renderer takes from its input (file and image names, Dockerfile text,
//! package names, messages that quote them) goes through `cell` or `code`: it can hold
//! anything an image or a repository holds, and a comment is also read in terminals.
pub mod analyze;
pub mod capacity;
pub mod check;

pub mod diff;
pub mod explain;
pub mod layers;
pub mod plan;

/// A character shown as `?`: control characters other than line breaks and tabs (they could
/// drive a terminal that shows the comment), and the Unicode controls that reorder the text
/// around them (so that a name cannot display as something it is not).
fn hidden(c: char) -> bool {
    (c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
        || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `s` as text in a table cell or a line: line breaks and tabs as spaces, hidden characters
/// as `?`, and `\`, `|`, `<`, `>` escaped so that they neither end the cell nor make HTML.
/// Backticks stay: findings' messages mark commands and image names as code with them.
pub(crate) fn cell(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\n' | '\r' | '\t' => out.push(' '),
            '\\' | '|' => {
                out.push('\\');
                out.push(c);
            }
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c if hidden(c) => out.push('?'),
            c => out.push(c),
        }
    }
    out
}

/// `s` for inside a code span (`` `…` ``) in a table cell: line breaks and tabs as spaces,
/// hidden characters as `?`, a backtick (which would end the span) as `'`, and `|` as `\|`
/// (GitHub splits a table row at pipes before it reads code spans, and drops the backslash).
/// Nothing else is escaped: a code span shows backslashes and `<` as they are.
pub(crate) fn code(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\n' | '\r' | '\t' => out.push(' '),
            '`' => out.push('\''),
            '|' => out.push_str("\\|"),
            c if hidden(c) => out.push('?'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_cannot_break_the_table_or_the_terminal() {
        assert_eq!(cell("a|b`c`\nd\\e<f>"), "a\\|b`c` d\\\\e&lt;f&gt;");
        assert_eq!(cell("x\u{1b}[31my\u{7f}\u{9b}z"), "x?[31my??z");
        assert_eq!(cell("evil\u{202e}txt.exe"), "evil?txt.exe");
        assert_eq!(cell("élan · 漢字"), "élan · 漢字");
    }

    #[test]
    fn code_spans_stay_closed_and_literal() {
        assert_eq!(code("a|b`c\r\nd"), "a\\|b'c  d");
        assert_eq!(code(r"C:\path\<x>"), r"C:\path\<x>");
        assert_eq!(code("\u{1b}]0;title\u{7}"), "?]0;title?");
    }
}

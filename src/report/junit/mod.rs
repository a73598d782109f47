//! JUnit XML renderers, the test-report format CI systems show (GitLab `artifacts:reports:junit`,
//! Jenkins, Azure Pipelines): one file per report kind, and the XML escape they share.

pub mod check;

/// `s` escaped for XML text and attribute values; characters XML 1.0 cannot hold at all
/// (control characters other than tab and line breaks) become `?`.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if c.is_control() || matches!(c, '\u{FFFE}' | '\u{FFFF}') => out.push('?'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn escapes_markup_and_drops_controls() {
        assert_eq!(super::escape("a<b & \"c\"\u{1b}"), "a&lt;b &amp; &quot;c&quot;?");
    }
}

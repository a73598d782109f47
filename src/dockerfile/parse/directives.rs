//! The parser directive block at the top of a file.

use super::super::{Directive, Directives, Error, Span};
use super::col;
use super::joining::file_text;

/// Parser directive state.
pub(super) struct DirectiveBlock<'a> {
    pub(super) escape: u8,
    pub(super) done: bool,
    pub(super) found: Directives<'a>,
}

pub(super) fn is_re_s(b: u8) -> bool {
    matches!(b, b'\t' | b'\n' | 0x0c | b'\r' | b' ')
}

/// Matches BuildKit's `^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$`, returning the ranges
/// of the name and the value.
pub(super) fn match_directive(b: &[u8]) -> Option<((usize, usize), usize, usize)> {
    if b.first() != Some(&b'#') {
        return None;
    }
    let mut i = 1;
    while i < b.len() && is_re_s(b[i]) {
        i += 1;
    }
    let ns = i;
    if i >= b.len() || !b[i].is_ascii_alphabetic() {
        return None;
    }
    while i < b.len() && b[i].is_ascii_alphanumeric() {
        i += 1;
    }
    let name = (ns, i);
    while i < b.len() && is_re_s(b[i]) {
        i += 1;
    }
    if i >= b.len() || b[i] != b'=' {
        return None;
    }
    i += 1;
    let after_eq = i;
    while i < b.len() && is_re_s(b[i]) {
        i += 1;
    }
    let mut e = b.len();
    while e > i && is_re_s(b[e - 1]) {
        e -= 1;
    }
    if e > i {
        Some((name, i, e))
    } else if b.len() > after_eq {
        // Only whitespace after `=`: the lazy `.+?` takes the last whitespace character.
        Some((name, b.len() - 1, b.len()))
    } else {
        None
    }
}

impl<'a> DirectiveBlock<'a> {
    /// Looks at a (left-trimmed, newline-trimmed) line before any instruction.
    pub(super) fn consider(
        &mut self,
        src: &'a [u8],
        src_str: Option<&'a str>,
        start: usize,
        end: usize,
        line: usize,
    ) -> Result<(), Error> {
        if self.done {
            return Ok(());
        }
        let b = &src[start..end];
        // (The name is ASCII letters and digits, compared with the known names in any case.)
        let name = match_directive(b).and_then(|((ns, ne), vs, ve)| {
            let word = &b[ns..ne];
            let name = Directives::NAMES
                .into_iter()
                .find(|n| n.as_bytes().eq_ignore_ascii_case(word))?;
            Some((name, vs, ve))
        });
        let Some((name, vs, ve)) = name else {
            self.done = true;
            return Ok(());
        };
        let err = |message: String| Error {
            message,
            line,
            column: col(src, start, start),
            span: Span::new(start, end),
        };
        if self.found.get(name).is_some() {
            return Err(err(format!("only one {name} parser directive can be used")));
        }
        let value = file_text(src, src_str, start + vs, start + ve);
        if name == "escape" {
            match &*value {
                "\\" => self.escape = b'\\',
                "`" => self.escape = b'`',
                _ => return Err(err(format!("invalid escape token '{value}' does not match ` or \\"))),
            }
        }
        self.found.set(Directive {
            name,
            value,
            line,
            span: Span::new(start, end),
        });
        Ok(())
    }
}

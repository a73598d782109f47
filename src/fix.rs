//! Rewrites of a Dockerfile that remove a finding: the seam rules fill ([`Fix`] on
//! [`crate::rules::Finding`]) and the one function that applies them ([`apply_fixes`]).
//!
//! The model is ruff's: a fix is a message and a set of text edits by byte span, with an
//! applicability. `Safe` fixes keep what the image does (cleaning a cache in the `RUN` that
//! made it); `Unsafe` ones change what is installed or shipped (`--no-install-recommends`, a
//! `-slim` base) and need a person to check the result.
//!
//! Owns: [`Edit`], [`Fix`], [`Applicability`], [`apply_fixes`] (non-overlapping edits, the
//! result parsed again). Does not: decide what to fix (rules do) or write files (the CLI does).

use serde::Serialize;

use crate::dockerfile::{self, Span};

/// Whether a fix keeps the image's behaviour.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Applicability {
    /// The image does the same with less: applied by default.
    Safe,
    /// What is installed or shipped changes: applied only when asked for.
    Unsafe,
}

/// Replace the bytes of `span` with `replacement` (an empty span inserts).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Edit {
    /// Bytes replaced, end exclusive.
    pub span: Span,
    /// The new text.
    pub replacement: String,
}

impl Edit {
    /// Replaces `span` by `text`.
    #[must_use]
    pub fn replace(span: Span, text: impl Into<String>) -> Self {
        Self {
            span,
            replacement: text.into(),
        }
    }

    /// Inserts `text` at byte `at`.
    #[must_use]
    pub fn insert(at: usize, text: impl Into<String>) -> Self {
        Self::replace(Span::new(at, at), text)
    }

    /// Deletes `span`.
    #[must_use]
    pub fn delete(span: Span) -> Self {
        Self::replace(span, "")
    }

    fn overlaps(&self, other: &Self) -> bool {
        let (a, b) = (self.span, other.span);
        // Two insertions at one place have no defined order; an insertion inside a replaced
        // range is lost.
        (a.start() < b.end() && b.start() < a.end()) || a.start() == b.start()
    }
}

/// One rewrite: all its edits apply together or not at all.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Fix {
    /// What it does, e.g. "remove the apt lists in the same RUN".
    pub message: String,
    /// The edits (non-overlapping).
    pub edits: Vec<Edit>,
    /// Whether it keeps the image's behaviour.
    pub applicability: Applicability,
}

impl Fix {
    /// A safe fix.
    #[must_use]
    pub fn safe(message: impl Into<String>, edits: Vec<Edit>) -> Self {
        Self {
            message: message.into(),
            edits,
            applicability: Applicability::Safe,
        }
    }

    /// An unsafe fix.
    #[must_use]
    pub fn unsafe_(message: impl Into<String>, edits: Vec<Edit>) -> Self {
        Self {
            message: message.into(),
            edits,
            applicability: Applicability::Unsafe,
        }
    }
}

/// The text after [`apply_fixes`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fixed {
    /// The new file.
    pub text: String,
    /// Indices (into the given fixes) of the fixes applied, in order.
    pub applied: Vec<usize>,
    /// Indices of the fixes left out because an edit overlapped one already taken.
    pub skipped: Vec<usize>,
}

/// Why fixes could not be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// An edit's span is outside the text or splits a character.
    #[error("fix {fix} (\"{message}\"): its edit at bytes {start}..{end} does not fit the file")]
    BadSpan {
        /// Index of the fix.
        fix: usize,
        /// Its message.
        message: String,
        /// Span start.
        start: usize,
        /// Span end.
        end: usize,
    },
    /// The rewritten file no longer parses: a rule produced a wrong fix.
    #[error("the fixed file does not parse ({line}:{column}: {parse}); no fix was applied")]
    Reparse {
        /// 1-based line in the rewritten text.
        line: usize,
        /// 1-based column.
        column: usize,
        /// The parser's message.
        parse: String,
    },
}

/// Applies `fixes` to `text`: fixes are taken in order of their first edit; a fix with an edit
/// overlapping an edit already taken (or two insertions at one offset) is skipped whole. The
/// result is parsed again, and a result that does not parse is an error, not a file.
///
/// # Errors
/// [`Error::BadSpan`] for an edit outside `text` or inside a UTF-8 character;
/// [`Error::Reparse`] when the rewritten text does not parse.
pub fn apply_fixes(text: &str, fixes: &[Fix]) -> Result<Fixed, Error> {
    for (n, f) in fixes.iter().enumerate() {
        for e in &f.edits {
            let (s, t) = (e.span.start(), e.span.end());
            if s > t || t > text.len() || !text.is_char_boundary(s) || !text.is_char_boundary(t) {
                return Err(Error::BadSpan {
                    fix: n,
                    message: f.message.clone(),
                    start: s,
                    end: t,
                });
            }
        }
    }
    let mut order: Vec<usize> = (0..fixes.len()).filter(|&n| !fixes[n].edits.is_empty()).collect();
    order.sort_by_key(|&n| (fixes[n].edits.iter().map(|e| e.span.start()).min(), n));
    let mut taken: Vec<&Edit> = Vec::new();
    let (mut applied, mut skipped) = (Vec::new(), Vec::new());
    for n in order {
        let edits = &fixes[n].edits;
        let clash = edits
            .iter()
            .enumerate()
            .any(|(k, e)| taken.iter().any(|t| t.overlaps(e)) || edits[k + 1..].iter().any(|o| o.overlaps(e)));
        if clash {
            skipped.push(n);
        } else {
            taken.extend(edits);
            applied.push(n);
        }
    }
    taken.sort_by_key(|e| e.span.start());
    let mut out = String::with_capacity(text.len() + taken.iter().map(|e| e.replacement.len()).sum::<usize>());
    let mut at = 0;
    for e in taken {
        out.push_str(&text[at..e.span.start()]);
        out.push_str(&e.replacement);
        at = e.span.end();
    }
    out.push_str(&text[at..]);
    if let Err(e) = dockerfile::parse(out.as_bytes()) {
        return Err(Error::Reparse {
            line: e.line,
            column: e.column,
            parse: e.message,
        });
    }
    Ok(Fixed {
        text: out,
        applied,
        skipped,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SRC: &str = "FROM debian:12\nRUN apt-get update && apt-get install -y curl\nRUN pip install x\n";

    fn at(needle: &str) -> usize {
        SRC.find(needle).unwrap()
    }

    #[test]
    fn applies_non_overlapping_edits_in_span_order() {
        let end1 = at("curl") + 4;
        let fixes = [
            Fix::safe("pip", vec![Edit::insert(at("install x") + 8, "--no-cache-dir ")]),
            Fix::safe("lists", vec![Edit::insert(end1, " && rm -rf /var/lib/apt/lists/*")]),
            Fix::unsafe_(
                "recommends",
                vec![Edit::replace(
                    Span::new(at("-y"), at("-y") + 2),
                    "-y --no-install-recommends",
                )],
            ),
        ];
        let fixed = apply_fixes(SRC, &fixes).unwrap();
        assert_eq!(
            fixed.text,
            "FROM debian:12\nRUN apt-get update && apt-get install -y --no-install-recommends curl && rm -rf /var/lib/apt/lists/*\nRUN pip install --no-cache-dir x\n"
        );
        assert_eq!(fixed.applied, [2, 1, 0]);
        assert!(fixed.skipped.is_empty());
    }

    #[test]
    fn overlapping_fix_is_skipped_whole() {
        let y = Span::new(at("-y"), at("-y") + 2);
        let fixes = [
            Fix::safe("a", vec![Edit::replace(y, "--yes")]),
            // Overlaps the first: neither of its edits is applied, not even the one elsewhere.
            Fix::safe(
                "b",
                vec![
                    Edit::insert(at("pip"), "echo; "),
                    Edit::replace(Span::new(y.start() + 1, y.end()), "q"),
                ],
            ),
            // Two insertions at one offset: the second is skipped.
            Fix::safe("c", vec![Edit::insert(SRC.len(), "RUN true\n")]),
            Fix::safe("d", vec![Edit::insert(SRC.len(), "RUN false\n")]),
        ];
        let fixed = apply_fixes(SRC, &fixes).unwrap();
        assert_eq!(fixed.applied, [0, 2]);
        assert_eq!(fixed.skipped, [1, 3]);
        assert!(fixed.text.contains("install --yes curl") && fixed.text.ends_with("RUN true\n"));
        assert!(!fixed.text.contains("echo;"));
        assert_eq!(apply_fixes(SRC, &[]).unwrap().text, SRC);
    }

    #[test]
    fn a_fix_that_breaks_the_file_is_refused() {
        // A JSON array of non-strings in COPY is a parse error in BuildKit.
        let broken = Fix::safe("bad", vec![Edit::replace(Span::new(0, 14), "COPY [\"a\", 1]")]);
        assert!(matches!(
            apply_fixes(SRC, &[broken]),
            Err(Error::Reparse { line: 1, .. })
        ));
        let outside = Fix::safe("far", vec![Edit::insert(SRC.len() + 1, "x")]);
        assert!(matches!(
            apply_fixes(SRC, &[outside]),
            Err(Error::BadSpan { fix: 0, .. })
        ));
        let split = "FROM é\n";
        let mid = Fix::safe("mid", vec![Edit::insert(6, "x")]);
        assert!(matches!(apply_fixes(split, &[mid]), Err(Error::BadSpan { .. })));
    }
}

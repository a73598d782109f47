//! Byte-range edits on the original text, applied back to front (a private helper of the
//! rewrite; `analyze --fix` has its own edit model).

/// One edit: replace `start..end` with `text`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Edit {
    /// First byte replaced.
    pub start: usize,
    /// One past the last byte replaced (`start` for an insertion).
    pub end: usize,
    /// The replacement.
    pub text: String,
}

impl Edit {
    /// Inserts `text` at `at`.
    #[must_use]
    pub fn insert(at: usize, text: impl Into<String>) -> Self {
        Self {
            start: at,
            end: at,
            text: text.into(),
        }
    }

    /// Replaces `start..end` with `text`.
    #[must_use]
    pub fn replace(start: usize, end: usize, text: impl Into<String>) -> Self {
        Self {
            start,
            end,
            text: text.into(),
        }
    }
}

/// Applies `edits` to `src`. Overlapping edits keep the first in start order; edits outside
/// `src` or off a character boundary are dropped.
#[must_use]
pub fn apply(src: &str, mut edits: Vec<Edit>) -> String {
    edits.sort_by_key(|e| (e.start, e.end));
    let mut out = String::with_capacity(src.len() + 256);
    let mut at = 0;
    for e in edits {
        if e.start < at || e.end < e.start || e.end > src.len() {
            continue;
        }
        if !src.is_char_boundary(e.start) || !src.is_char_boundary(e.end) {
            continue;
        }
        out.push_str(&src[at..e.start]);
        out.push_str(&e.text);
        at = e.end;
    }
    out.push_str(&src[at..]);
    out
}

/// The end of the line holding byte `at`, past its newline.
#[must_use]
pub fn line_end(src: &str, at: usize) -> usize {
    src[at.min(src.len())..].find('\n').map_or(src.len(), |i| at + i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn applies_back_to_front_and_skips_overlaps() {
        let s = "FROM a\nRUN b\nCMD c\n";
        let out = apply(
            s,
            vec![
                Edit::replace(7, line_end(s, 7), ""),
                Edit::insert(6, " AS build"),
                Edit::replace(8, 9, "x"),
            ],
        );
        assert_eq!(out, "FROM a AS build\nCMD c\n");
    }
}

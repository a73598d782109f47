//! Small text helpers every human renderer shares: plurals, cutting with an ellipsis, and
//! wrapping to a width.

/// `1 layer`, `2 layers`.
#[must_use]
pub fn plural(n: impl Into<u128>, one: &str, many: &str) -> String {
    let n = n.into();
    format!("{n} {}", if n == 1 { one } else { many })
}

/// `s` cut to at most `max` characters; a cut ends with `…` (which counts toward `max`).
#[must_use]
pub fn ellipsize(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// `text` wrapped at spaces into lines of at most `width` characters; the first line has
/// `first` characters less room (it follows a label), the others start with `indent` spaces.
/// A word longer than a line is cut with an ellipsis rather than split.
#[must_use]
pub fn wrap(text: &str, width: usize, first: usize, indent: usize) -> String {
    let width = width.max(indent + 20);
    let mut out = String::new();
    let mut room = width.saturating_sub(first).max(20);
    let mut used = 0;
    for word in text.split_whitespace() {
        let word = ellipsize(word, width - indent);
        let len = word.chars().count();
        if used > 0 && used + 1 + len > room {
            out.push('\n');
            out.push_str(&" ".repeat(indent));
            room = width - indent;
            used = 0;
        } else if used > 0 {
            out.push(' ');
            used += 1;
        }
        out.push_str(&word);
        used += len;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plurals_and_cuts() {
        assert_eq!(plural(1u32, "layer", "layers"), "1 layer");
        assert_eq!(plural(0u32, "error", "errors"), "0 errors");
        assert_eq!(ellipsize("abcdef", 4), "abc…");
        assert_eq!(ellipsize("abc", 4), "abc");
    }

    #[test]
    fn wrapping_keeps_words_whole_and_lines_short() {
        let text = "the quick brown fox jumps over the lazy dog ".repeat(5);
        let w = wrap(&text, 30, 10, 4);
        for (i, line) in w.lines().enumerate() {
            let limit = if i == 0 { 20 } else { 30 };
            assert!(line.chars().count() <= limit, "{line:?}");
        }
        assert_eq!(
            w.split_whitespace().collect::<Vec<_>>(),
            text.split_whitespace().collect::<Vec<_>>()
        );
    }
}

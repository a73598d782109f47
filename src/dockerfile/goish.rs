//! Byte and character helpers that behave like the Go standard library functions BuildKit's
//! parser is written with (`unicode.IsSpace`, `utf8.DecodeRune`, `strings.TrimSpace`,
//! `strings.ToLower`), so that imgopt splits and trims exactly where
//! BuildKit does.
//!
//! Owns: those primitives. Does not: know anything about Dockerfile syntax.

/// Go's `unicode.IsSpace`: ASCII `\t \n \v \f \r` and space, U+0085, U+00A0 and the Unicode
/// `White_Space` characters above Latin-1 (Rust's `char::is_whitespace` is the same set).
#[inline]
pub(crate) fn is_space(c: char) -> bool {
    c.is_whitespace()
}

/// Go's `unicode.IsSpace(rune(b))` applied to a single byte, as BuildKit's flag and
/// HEALTHCHECK splitters do (they index bytes, so 0x85 and 0xA0 count as spaces).
#[inline]
pub(crate) const fn is_space_byte(b: u8) -> bool {
    matches!(b, b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | b' ' | 0x85 | 0xa0)
}

/// The `[\t\v\f\r ]` class of BuildKit's `reWhitespace`.
#[inline]
pub(crate) const fn is_re_whitespace(b: u8) -> bool {
    matches!(b, b'\t' | 0x0b | 0x0c | b'\r' | b' ')
}

/// Byte classes for the parser's scanning loops (one table holds every class a loop may stop
/// at). [`is_space_byte`] bytes.
pub(crate) const SPACE_BYTE: u8 = 1;
/// [`is_re_whitespace`] bytes.
pub(crate) const RE_WS: u8 = 2;
/// `'` and `"`.
pub(crate) const QUOTE: u8 = 4;
/// `\`.
pub(crate) const BACKSLASH: u8 = 8;
/// Go's `unicode.IsSpace` on an ASCII byte (`\t \n \v \f \r` and space).
pub(crate) const ASCII_SPACE: u8 = 16;
/// Bytes of 0x80 and above.
pub(crate) const NON_ASCII: u8 = 32;
/// `=`.
pub(crate) const EQUALS: u8 = 64;
/// `$`.
pub(crate) const DOLLAR: u8 = 128;

/// The class bits of every byte.
pub(crate) static CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        let mut k = 0;
        if is_space_byte(c) {
            k |= SPACE_BYTE;
        }
        if is_re_whitespace(c) {
            k |= RE_WS;
        }
        if c == b'\'' || c == b'"' {
            k |= QUOTE;
        }
        if c == b'\\' {
            k |= BACKSLASH;
        }
        if c < 0x80 && is_space_byte(c) {
            k |= ASCII_SPACE;
        }
        if c >= 0x80 {
            k |= NON_ASCII;
        }
        if c == b'=' {
            k |= EQUALS;
        }
        if c == b'$' {
            k |= DOLLAR;
        }
        t[b] = k;
        b += 1;
    }
    t
};

/// Length of the leading run of `b` with none of the class bits in `mask`.
#[inline]
pub(crate) fn run_without(b: &[u8], mask: u8) -> usize {
    b.iter()
        .position(|&c| CLASS[usize::from(c)] & mask != 0)
        .unwrap_or(b.len())
}

/// Length of the leading run of `b` whose bytes all have a class bit in `mask`.
#[inline]
pub(crate) fn run_within(b: &[u8], mask: u8) -> usize {
    b.iter()
        .position(|&c| CLASS[usize::from(c)] & mask == 0)
        .unwrap_or(b.len())
}

/// Go's `utf8.DecodeRune`: the character at the start of `b` and its width; an invalid or
/// truncated sequence gives U+FFFD with width 1. `b` must not be empty.
#[inline]
pub(crate) fn decode(b: &[u8]) -> (char, usize) {
    let first = b[0];
    if first < 0x80 {
        return (first as char, 1);
    }
    let w = match first {
        0xc2..=0xdf => 2,
        0xe0..=0xef => 3,
        0xf0..=0xf4 => 4,
        _ => return (char::REPLACEMENT_CHARACTER, 1),
    };
    if b.len() < w {
        return (char::REPLACEMENT_CHARACTER, 1);
    }
    match std::str::from_utf8(&b[..w]) {
        Ok(s) => (s.chars().next().unwrap_or(char::REPLACEMENT_CHARACTER), w),
        Err(_) => (char::REPLACEMENT_CHARACTER, 1),
    }
}

/// The last character of `b` and its width, Go-style (`utf8.DecodeLastRune`).
#[inline]
pub(crate) fn decode_last(b: &[u8]) -> (char, usize) {
    let n = b.len();
    let last = b[n - 1];
    if last < 0x80 {
        return (last as char, 1);
    }
    // Look back at most 4 bytes for a start byte whose sequence ends exactly at `n`.
    let lo = n.saturating_sub(4);
    let mut start = n - 1;
    while start > lo && (b[start] & 0xc0) == 0x80 {
        start -= 1;
    }
    let (c, w) = decode(&b[start..]);
    if start + w == n {
        (c, w)
    } else {
        (char::REPLACEMENT_CHARACTER, 1)
    }
}

/// Bytes to a `String` the way Go hands strings to JSON: valid UTF-8 is kept, each invalid
/// byte becomes U+FFFD.
#[inline]
pub(crate) fn lossy(b: &[u8]) -> String {
    match std::str::from_utf8(b) {
        Ok(s) => s.to_owned(),
        Err(_) => {
            let mut out = String::with_capacity(b.len() + 8);
            let mut i = 0;
            while i < b.len() {
                let (c, w) = decode(&b[i..]);
                out.push(c);
                i += w;
            }
            out
        }
    }
}

/// Length of the leading run of `unicode.IsSpace` characters (Go's `TrimLeftFunc`).
#[inline]
pub(crate) fn leading_space_len(b: &[u8]) -> usize {
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c < 0x80 {
            if is_space_byte(c) {
                i += 1;
                continue;
            }
            return i;
        }
        let (ch, w) = decode(&b[i..]);
        if ch != char::REPLACEMENT_CHARACTER && is_space(ch) {
            i += w;
        } else {
            return i;
        }
    }
    i
}

/// Length of `b` without its trailing run of `unicode.IsSpace` characters.
#[inline]
pub(crate) fn trim_end_space_len(b: &[u8]) -> usize {
    let mut n = b.len();
    while n > 0 {
        let c = b[n - 1];
        if c < 0x80 {
            if is_space_byte(c) {
                n -= 1;
                continue;
            }
            return n;
        }
        let (ch, w) = decode_last(&b[..n]);
        if ch != char::REPLACEMENT_CHARACTER && is_space(ch) {
            n -= w;
        } else {
            return n;
        }
    }
    n
}

/// Go's `strings.TrimSpace` on `b[start..end]`, returned as a sub-range.
#[inline]
pub(crate) fn trim_space_range(b: &[u8], start: usize, end: usize) -> (usize, usize) {
    // Nothing to trim when both ends are ASCII and not spaces (almost every text).
    if start < end
        && CLASS[usize::from(b[start])] & (ASCII_SPACE | NON_ASCII) == 0
        && CLASS[usize::from(b[end - 1])] & (ASCII_SPACE | NON_ASCII) == 0
    {
        return (start, end);
    }
    let s = start + leading_space_len(&b[start..end]);
    let e = s + trim_end_space_len(&b[s..end]);
    (s, e)
}

/// Go's `strings.ToLower` as used on instruction words: simple per-character lower-casing
/// (U+0130 maps to `i`, as Go's tables do).
pub(crate) fn to_lower(s: &str) -> String {
    if s.is_ascii() {
        return s.to_ascii_lowercase();
    }
    s.chars()
        .map(|c| {
            if c == '\u{130}' {
                'i'
            } else {
                let mut l = c.to_lowercase();
                match (l.next(), l.next()) {
                    (Some(one), None) => one,
                    _ => c,
                }
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_matches_go_on_invalid_bytes() {
        // Go: a truncated 3-byte sequence gives two U+FFFD (one per byte).
        assert_eq!(lossy(b"a\xe2\x82b"), "a\u{fffd}\u{fffd}b");
        assert_eq!(lossy(b"\xed\xa0\x80"), "\u{fffd}\u{fffd}\u{fffd}");
        assert_eq!(lossy("é".as_bytes()), "é");
    }

    #[test]
    fn trims_unicode_space_like_go() {
        let b = "\u{a0} x \u{3000}".as_bytes();
        let (s, e) = trim_space_range(b, 0, b.len());
        assert_eq!(&b[s..e], b"x");
        assert_eq!(
            trim_end_space_len(b"x\xa0"),
            2,
            "a lone 0xA0 byte is invalid UTF-8, not a space"
        );
    }

    #[test]
    fn lowercases_dotted_capital_i_to_plain_i() {
        assert_eq!(to_lower("ONBU\u{130}LD"), "onbuild");
        assert_eq!(to_lower("WOR\u{212a}DIR"), "workdir");
    }
}

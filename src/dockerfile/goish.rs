//! Byte and character helpers that behave like the Go standard library functions BuildKit's
//! parser is written with (`unicode.IsSpace`, `utf8.DecodeRune`, `strings.TrimSpace`,
//! `strings.ToLower`), so that imgopt splits and trims exactly where
//! BuildKit does.
//!
//! Owns: those primitives. Does not: know anything about Dockerfile syntax.

/// The line breaks of a text, found 64 bytes at a time and handed out in order.
///
/// Most lines are short (40 bytes on average in the corpus), and searching for each line's
/// end on its own (memchr) takes a few branches per line that depend on the line's length.
/// Here each 64-byte block becomes a bit mask of its `\n` bytes at once (eight 8-byte words,
/// no branches), and the next line end is the mask's lowest bit: measured 2 % faster over a
/// corpus parse (8 code layouts, alternating runs).
pub(crate) struct Newlines {
    /// Start of the block `mask` describes.
    block: usize,
    /// The block's `\n` bytes not yet handed out, bit `i` for byte `block + i`.
    mask: u64,
}

impl Newlines {
    pub(crate) fn new(text: &[u8]) -> Self {
        Self {
            block: 0,
            mask: newline_mask(text, 0),
        }
    }

    /// The offset of the next `\n` of `text` (the text given to `new`), taking it.
    #[inline(always)]
    pub(crate) fn next(&mut self, text: &[u8]) -> Option<usize> {
        while self.mask == 0 {
            if self.block + 64 >= text.len() {
                return None;
            }
            self.block += 64;
            self.mask = newline_mask(text, self.block);
        }
        let at = self.block + self.mask.trailing_zeros() as usize;
        self.mask &= self.mask - 1;
        Some(at)
    }
}

/// Bit `i` set where `text[at + i]` is `\n`, for the (up to) 64 bytes from `at`.
#[inline]
fn newline_mask(text: &[u8], at: usize) -> u64 {
    match text.get(at..at + 64) {
        Some(block) => block_mask(block),
        None => {
            let mut block = [0u8; 64];
            let rest = text.get(at..).unwrap_or_default();
            block[..rest.len()].copy_from_slice(rest);
            block_mask(&block)
        }
    }
}

/// [`newline_mask`] of a full 64-byte block, eight bytes at a time: a `\n` is a zero byte of
/// `word ^ 0x0a0a..`, found exactly (no false positives from borrows) as the byte's high bit.
/// The eight words' high bits are gathered into one word (byte `j`, bit `k`: byte `j` of word
/// `k`) and that 8x8 bit matrix is transposed (byte `k`, bit `j`: text byte `8k + j`): shifts
/// and masks only (a multiply per word, the other way to gather, compiled to slow vector code).
#[inline]
fn block_mask(block: &[u8]) -> u64 {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    let mut gathered = 0;
    for (k, chunk) in block.chunks_exact(8).enumerate() {
        let word = u64::from_le_bytes(chunk.try_into().unwrap_or_default()) ^ 0x0a0a_0a0a_0a0a_0a0a;
        let zero = !(((word & LOW7) + LOW7) | word) & !LOW7;
        gathered |= zero >> (7 - k);
    }
    // The transpose in three steps of swapping 1x1, 2x2 and 4x4 bit blocks.
    let mut x = gathered;
    let t = (x ^ (x >> 7)) & 0x00aa_00aa_00aa_00aa;
    x ^= t ^ (t << 7);
    let t = (x ^ (x >> 14)) & 0x0000_cccc_0000_cccc;
    x ^= t ^ (t << 14);
    let t = (x ^ (x >> 28)) & 0x0000_0000_f0f0_f0f0;
    x ^ t ^ (t << 28)
}

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

/// Byte classes for the parser's scanning loops: one table lookup per byte instead of a chain
/// of comparisons. [`is_space_byte`] bytes.
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
///
/// Eight bytes at a time: [`candidates`] marks the bytes that may be in the classes (a
/// superset), and only those are looked up. Most runs are words and paths of 5 to 20 bytes,
/// which byte by byte cost a test and a branch each: measured 2.6-2.9 % faster over a whole
/// corpus parse (two runs of 6 and 8 code layouts, each against the byte loop in the same
/// process).
#[inline(always)]
pub(crate) fn run_without(b: &[u8], mask: u8) -> usize {
    let mut i = 0;
    while let Some(chunk) = b.get(i..i + 8) {
        let mut c = candidates(u64::from_le_bytes(chunk.try_into().unwrap_or_default()), mask);
        while c != 0 {
            let at = i + (c.trailing_zeros() / 8) as usize;
            if CLASS[usize::from(b[at])] & mask != 0 {
                return at;
            }
            c &= c - 1;
        }
        i += 8;
    }
    i + b[i..]
        .iter()
        .position(|&c| CLASS[usize::from(c)] & mask != 0)
        .unwrap_or(b.len() - i)
}

/// The high bit of each byte of the little-endian word `x` that may have a class bit of
/// `mask`: every byte that has one is marked (others may be, above a marked byte, from borrows
/// of the subtractions; the caller checks each). The tests per class: below 0x21 (all the
/// space classes), 0x80 and above (`NON_ASCII`, and 0x85 and 0xA0 of `SPACE_BYTE`), and equal
/// to a quote, backslash, `=` or `$` (a zero byte of `x ^ c`).
#[inline(always)]
fn candidates(x: u64, mask: u8) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let zero = |y: u64| y.wrapping_sub(ONES) & !y;
    let mut c = 0;
    if mask & (SPACE_BYTE | RE_WS | ASCII_SPACE) != 0 {
        c |= x.wrapping_sub(ONES * 0x21) & !x;
    }
    if mask & (SPACE_BYTE | NON_ASCII) != 0 {
        c |= x;
    }
    if mask & QUOTE != 0 {
        c |= zero(x ^ (ONES * u64::from(b'"'))) | zero(x ^ (ONES * u64::from(b'\'')));
    }
    if mask & BACKSLASH != 0 {
        c |= zero(x ^ (ONES * u64::from(b'\\')));
    }
    if mask & EQUALS != 0 {
        c |= zero(x ^ (ONES * u64::from(b'=')));
    }
    if mask & DOLLAR != 0 {
        c |= zero(x ^ (ONES * u64::from(b'$')));
    }
    c & HIGH
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
#[inline(always)]
pub(crate) fn leading_space_len(b: &[u8]) -> usize {
    // Fast path: ASCII spaces followed by an ASCII byte (almost every line).
    let mut i = 0;
    while i < b.len() && matches!(b[i], b' ' | b'\t') {
        i += 1;
    }
    match b.get(i) {
        None => i,
        Some(&c) if c < 0x80 && !is_space_byte(c) => i,
        Some(_) => i + leading_space_len_slow(&b[i..]),
    }
}

/// [`leading_space_len`] for the rare lines with other spaces or non-ASCII bytes up front.
#[cold]
#[inline(never)]
fn leading_space_len_slow(b: &[u8]) -> usize {
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
#[inline(always)]
pub(crate) fn trim_space_range(b: &[u8], start: usize, end: usize) -> (usize, usize) {
    // Nothing to trim when both ends are ASCII and not spaces (almost always).
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
    fn newlines_are_every_line_break_in_order() {
        // Every length around the 8- and 64-byte steps, line breaks at every place, bytes next
        // to `\n` in value (`\x0b`, `\t`, 0x8a) and the all-ones byte.
        let mut texts: Vec<Vec<u8>> = Vec::new();
        for len in [0, 1, 7, 8, 9, 63, 64, 65, 127, 128, 129, 200] {
            texts.push(vec![b'\n'; len]);
            texts.push(vec![b'x'; len]);
            for step in [2, 3, 7, 40, 64] {
                let pattern = [b'\t', 0x0b, 0x8a, 0xff, b'a'];
                texts.push(
                    (0..len)
                        .map(|i| if i % step == step - 1 { b'\n' } else { pattern[i % 5] })
                        .collect(),
                );
            }
        }
        for t in texts {
            let mut n = Newlines::new(&t);
            let got: Vec<usize> = std::iter::from_fn(|| n.next(&t)).collect();
            let want: Vec<usize> = t
                .iter()
                .enumerate()
                .filter(|(_, b)| **b == b'\n')
                .map(|(i, _)| i)
                .collect();
            assert_eq!(got, want, "{t:?}");
            assert_eq!(n.next(&t), None, "stays done");
        }
    }

    #[test]
    fn run_without_matches_a_byte_by_byte_scan() {
        // Every byte value at every place of texts around the 8-byte steps, for each class
        // combination the parser uses, and runs of bytes that borrow in the subtractions.
        let masks = [
            RE_WS,
            ASCII_SPACE,
            QUOTE | BACKSLASH | NON_ASCII | DOLLAR,
            EQUALS | DOLLAR,
            SPACE_BYTE | QUOTE | BACKSLASH | NON_ASCII,
            QUOTE | NON_ASCII | BACKSLASH,
            ASCII_SPACE | QUOTE | BACKSLASH | NON_ASCII | EQUALS,
            QUOTE | NON_ASCII,
        ];
        let slow = |b: &[u8], m: u8| {
            b.iter()
                .position(|&c| CLASS[usize::from(c)] & m != 0)
                .unwrap_or(b.len())
        };
        for len in [0, 1, 7, 8, 9, 15, 16, 17, 24] {
            for at in 0..len {
                for v in 0..=255u8 {
                    for fill in [b'a', 0x00, 0x20, 0x21, 0x7f, 0x80, 0xff, b'"'] {
                        let mut t = vec![fill; len];
                        t[at] = v;
                        for m in masks {
                            assert_eq!(run_without(&t, m), slow(&t, m), "{t:?} {m:#x}");
                        }
                    }
                }
            }
        }
    }

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

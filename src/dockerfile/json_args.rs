//! Exec-form (JSON array) arguments, decided the way BuildKit decides them: BuildKit hands the
//! text after the flags to Go's `encoding/json` decoder, which reads one JSON value and
//! ignores whatever follows it. A syntax error (or a number that does not fit a float64)
//! means "not JSON" and the instruction falls back to shell form; a well-formed array with a
//! non-string element is a hard error.
//!
//! Owns: a small JSON scanner with Go's rules (whitespace set, escapes, surrogates, control
//! characters, nesting limit of 10000) and positions for every string element.
//! Does not: build instructions.

use smallvec::SmallVec;

use super::goish;

/// The string elements of a JSON array: (decoded value or `None`, start, end); see
/// [`JsonArgs::Strings`]. Arrays of up to four need no allocation.
pub(crate) type Items = SmallVec<[(Option<String>, usize, usize); 4]>;

/// What the text after the flags turned out to be.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum JsonArgs {
    /// Not a JSON array: use shell form.
    NotJson,
    /// A JSON array of strings: each element's decoded value, `None` when that is the text
    /// between the quotes as written (no escapes; the caller borrows it), and its byte range
    /// in the input (quotes included).
    Strings(Items),
    /// A JSON array with an element that is not a string (BuildKit rejects the file).
    NotStringArray,
}

/// Go's `maxNestingDepth` in `encoding/json`.
const MAX_DEPTH: usize = 10_000;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Container {
    Array,
    Object,
}

struct Scan<'a> {
    b: &'a [u8],
    i: usize,
}

impl Scan<'_> {
    fn ws(&mut self) {
        while self.i < self.b.len() && matches!(self.b[self.i], b' ' | b'\t' | b'\n' | b'\r') {
            self.i += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    /// Scans a string starting at `"`; returns the index after the closing quote.
    fn string(&mut self) -> Option<()> {
        debug_assert_eq!(self.peek(), Some(b'"'));
        self.i += 1;
        loop {
            let c = *self.b.get(self.i)?;
            match c {
                b'"' => {
                    self.i += 1;
                    return Some(());
                }
                b'\\' => {
                    let e = *self.b.get(self.i + 1)?;
                    match e {
                        b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => self.i += 2,
                        b'u' => {
                            let hex = self.b.get(self.i + 2..self.i + 6)?;
                            if !hex.iter().all(u8::is_ascii_hexdigit) {
                                return None;
                            }
                            self.i += 6;
                        }
                        _ => return None,
                    }
                }
                0..=0x1f => return None,
                _ => self.i += 1,
            }
        }
    }

    /// Scans an object key and its colon (whitespace before the key already skipped).
    fn key(&mut self) -> Option<()> {
        if self.peek() != Some(b'"') {
            return None;
        }
        self.string()?;
        self.ws();
        if self.peek() != Some(b':') {
            return None;
        }
        self.i += 1;
        Some(())
    }

    /// Scans a number; returns whether it overflows a float64 (Go reports that as an error).
    fn number(&mut self) -> Option<bool> {
        let start = self.i;
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        match self.peek()? {
            b'0' => self.i += 1,
            b'1'..=b'9' => {
                while matches!(self.peek(), Some(b'0'..=b'9')) {
                    self.i += 1;
                }
            }
            _ => return None,
        }
        if self.peek() == Some(b'.') {
            self.i += 1;
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return None;
            }
            while matches!(self.peek(), Some(b'0'..=b'9')) {
                self.i += 1;
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return None;
            }
            while matches!(self.peek(), Some(b'0'..=b'9')) {
                self.i += 1;
            }
        }
        let text = std::str::from_utf8(&self.b[start..self.i]).ok()?;
        Some(text.parse::<f64>().map_or(true, f64::is_infinite))
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        if self.b.get(self.i..self.i + word.len())? == word {
            self.i += word.len();
            Some(())
        } else {
            None
        }
    }
}

/// Decodes a JSON string token (with its quotes) the way Go does. `None` when the token has
/// no escapes: its value is then the text between the quotes (invalid UTF-8 as U+FFFD).
fn unquote(tok: &[u8]) -> Option<String> {
    let inner = &tok[1..tok.len() - 1];
    if !inner.contains(&b'\\') {
        return None;
    }
    let mut out = String::with_capacity(inner.len());
    let mut i = 0;
    let hex4 = |s: &[u8]| -> Option<u32> {
        if s.len() >= 6 && s[0] == b'\\' && s[1] == b'u' {
            u32::from_str_radix(std::str::from_utf8(&s[2..6]).ok()?, 16).ok()
        } else {
            None
        }
    };
    while i < inner.len() {
        let c = inner[i];
        if c == b'\\' {
            let e = inner[i + 1];
            match e {
                b'u' => {
                    let r = hex4(&inner[i..]).unwrap_or(0xfffd);
                    i += 6;
                    if (0xd800..0xe000).contains(&r) {
                        // A high surrogate followed by a low one is one character; anything else is U+FFFD.
                        let low = hex4(&inner[i..]).filter(|r2| (0xdc00..0xe000).contains(r2));
                        if let (true, Some(r2)) = ((0xd800..0xdc00).contains(&r), low) {
                            let cp = 0x10000 + ((r - 0xd800) << 10) + (r2 - 0xdc00);
                            out.push(char::from_u32(cp).unwrap_or(char::REPLACEMENT_CHARACTER));
                            i += 6;
                        } else {
                            out.push(char::REPLACEMENT_CHARACTER);
                        }
                    } else {
                        out.push(char::from_u32(r).unwrap_or(char::REPLACEMENT_CHARACTER));
                    }
                    continue;
                }
                b'b' => out.push('\u{8}'),
                b'f' => out.push('\u{c}'),
                b'n' => out.push('\n'),
                b'r' => out.push('\r'),
                b't' => out.push('\t'),
                other => out.push(other as char),
            }
            i += 2;
        } else {
            let (ch, w) = goish::decode(&inner[i..]);
            out.push(ch);
            i += w;
        }
    }
    Some(out)
}

/// Parses `b` (which BuildKit has already left-trimmed) as a JSON array of strings.
pub(crate) fn parse(b: &[u8]) -> JsonArgs {
    if b.first() != Some(&b'[') {
        return JsonArgs::NotJson;
    }
    let mut s = Scan { b, i: 0 };
    let mut stack: SmallVec<[Container; 16]> = SmallVec::new();
    let mut items = Items::new();
    let mut non_string = false;
    let mut overflow = false;
    // Scan one value iteratively. `expect_value` is true where a value must come next.
    let mut expect_value = true;
    loop {
        s.ws();
        if expect_value {
            let top_level_item = stack.len() == 1;
            let start = s.i;
            let Some(c) = s.peek() else { return JsonArgs::NotJson };
            match c {
                b'[' | b'{' => {
                    if stack.len() >= MAX_DEPTH {
                        return JsonArgs::NotJson;
                    }
                    s.i += 1;
                    if top_level_item {
                        non_string = true;
                    }
                    let kind = if c == b'[' { Container::Array } else { Container::Object };
                    stack.push(kind);
                    s.ws();
                    let close = if kind == Container::Array { b']' } else { b'}' };
                    if s.peek() == Some(close) {
                        s.i += 1;
                        stack.pop();
                        if stack.is_empty() {
                            break;
                        }
                        expect_value = false;
                        continue;
                    }
                    // In an object: a key and a colon, then the value.
                    if kind == Container::Object && s.key().is_none() {
                        return JsonArgs::NotJson;
                    }
                    expect_value = true;
                    continue;
                }
                b'"' => {
                    if s.string().is_none() {
                        return JsonArgs::NotJson;
                    }
                    if top_level_item {
                        items.push((unquote(&b[start..s.i]), start, s.i));
                    }
                }
                b'-' | b'0'..=b'9' => match s.number() {
                    Some(of) => {
                        overflow |= of;
                        non_string |= top_level_item;
                    }
                    None => return JsonArgs::NotJson,
                },
                b't' | b'f' | b'n' => {
                    let word: &[u8] = match c {
                        b't' => b"true",
                        b'f' => b"false",
                        _ => b"null",
                    };
                    if s.literal(word).is_none() {
                        return JsonArgs::NotJson;
                    }
                    non_string |= top_level_item;
                }
                _ => return JsonArgs::NotJson,
            }
            expect_value = false;
        } else {
            // After a value inside a container: a comma or the closing bracket.
            let Some(&kind) = stack.last() else { break };
            let close = if kind == Container::Array { b']' } else { b'}' };
            match s.peek() {
                Some(b',') => {
                    s.i += 1;
                    if kind == Container::Object {
                        s.ws();
                        if s.key().is_none() {
                            return JsonArgs::NotJson;
                        }
                    }
                    expect_value = true;
                }
                Some(c) if c == close => {
                    s.i += 1;
                    stack.pop();
                    if stack.is_empty() {
                        break;
                    }
                }
                _ => return JsonArgs::NotJson,
            }
        }
    }
    if overflow {
        JsonArgs::NotJson
    } else if non_string {
        JsonArgs::NotStringArray
    } else {
        JsonArgs::Strings(items)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(s: &str) -> Vec<String> {
        match parse(s.as_bytes()) {
            JsonArgs::Strings(v) => v
                .into_iter()
                .map(|(d, a, b)| d.unwrap_or_else(|| goish::lossy(&s.as_bytes()[a + 1..b - 1])))
                .collect(),
            other => panic!("{s}: {other:?}"),
        }
    }

    #[test]
    fn decodes_like_go() {
        assert_eq!(strings(r#"["a", "b\n\u00e9"]"#), ["a", "b\né"]);
        assert_eq!(strings(r#"["x"] trailing text is ignored"#), ["x"]);
        assert_eq!(strings(r#"["\ud83d\ude00", "\ud800"]"#), ["😀", "\u{fffd}"]);
        assert_eq!(strings("[]"), Vec::<String>::new());
    }

    #[test]
    fn falls_back_or_rejects_like_go() {
        assert_eq!(parse(b"['a']"), JsonArgs::NotJson);
        assert_eq!(parse(b"[\"a\",]"), JsonArgs::NotJson);
        assert_eq!(parse(b"[\"a\""), JsonArgs::NotJson);
        assert_eq!(
            parse(b"[\"a\tb\"]"),
            JsonArgs::NotJson,
            "control characters are not allowed"
        );
        assert_eq!(
            parse(b"[1e999]"),
            JsonArgs::NotJson,
            "float64 overflow is a decode error"
        );
        assert_eq!(parse(b"[\"a\", 1]"), JsonArgs::NotStringArray);
        assert_eq!(parse(b"[[\"a\"]]"), JsonArgs::NotStringArray);
        assert_eq!(parse(br#"[{"k": [1, {"x": null}]}]"#), JsonArgs::NotStringArray);
        let deep = "[".repeat(20_000);
        assert_eq!(parse(deep.as_bytes()), JsonArgs::NotJson);
    }
}

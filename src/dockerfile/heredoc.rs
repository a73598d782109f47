//! Heredoc detection, as BuildKit does it: the whole instruction line is split into words by
//! BuildKit's shell lexer (quotes and escapes kept raw, variables expanded against an empty
//! environment); every word of the form `[N]<<[-]WORD` whose WORD lexes to exactly one word
//! starts a heredoc. The delimiter is WORD with quotes removed; the body is expanded later
//! only when no part of WORD was quoted.
//!
//! Owns: that word lexer (a port of the behaviour, not the code, of BuildKit's
//! `shell.Lex.ProcessWords` for the options the parser uses) and the delimiter rules.
//! Does not: read heredoc bodies (`parse` does) or expand variables in them.

use smallvec::SmallVec;

use super::goish;

/// A heredoc marker found on an instruction line (the body is read by the caller).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Marker {
    /// Delimiter with quotes removed.
    pub name: MarkerName,
    /// `N` of `N<<`, 0 when absent (saturated to `u32::MAX`).
    pub fd: u32,
    /// `<<-`.
    pub chomp: bool,
    /// No quotes in the delimiter word.
    pub expand: bool,
}

/// A delimiter: where it is in the line, when it is a piece of it as written (the usual
/// `<<EOF`: no copy), else the lexed text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum MarkerName {
    /// Byte range of the line.
    At(usize, usize),
    Lexed(String),
}

impl MarkerName {
    /// The delimiter, given the line `markers` read.
    #[cfg(test)]
    fn text<'l>(&'l self, line: &'l str) -> &'l str {
        match self {
            Self::At(a, b) => &line[*a..*b],
            Self::Lexed(s) => s,
        }
    }
}

/// The markers of one line: rarely more than two.
pub(crate) type Markers = SmallVec<[Marker; 2]>;

/// A lexing failure: BuildKit's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LexError(pub String);

/// Nesting limit for `${...}` inside `${...}` (BuildKit's Go stack is unbounded; ours is not).
const MAX_NESTING: usize = 1_000;

struct Lexer<'a> {
    chars: &'a [char],
    pos: usize,
    raw_quotes: bool,
    raw_escapes: bool,
    skip_unset_env: bool,
    depth: usize,
    /// Which top-level words the caller needs.
    keep: Keep,
}

/// Which words a [`Words`] collects. Only the callers' needs differ: BuildKit's lexer always
/// builds them all, the result is the same.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Keep {
    /// Every word.
    All,
    /// Only words containing `<<` (the others cannot be heredoc markers).
    Markers,
    /// None (inside `${...}`, where only the expanded text is used).
    Nothing,
}

/// With [`Keep::Markers`], how far the current word matches the start of a marker,
/// `\d*<<` ([`marker`] rejects any other word, so only those are kept).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Prefix {
    /// Digits so far (or nothing).
    Digits,
    /// Digits and one `<`.
    OneLt,
    /// Starts with `\d*<<`: kept whole.
    Marker,
    /// Cannot be a marker: its text is not kept.
    Dead,
}

#[allow(clippy::struct_field_names)] // `word` is the one being read, `words` those done
struct Words {
    word: String,
    words: Vec<String>,
    in_word: bool,
    keep: Keep,
    prefix: Prefix,
}

impl Words {
    fn new(keep: Keep) -> Self {
        Self {
            word: String::new(),
            words: Vec::new(),
            in_word: false,
            keep,
            prefix: Prefix::Digits,
        }
    }

    /// Ends the current word.
    fn flush(&mut self) {
        if self.keep == Keep::Markers {
            if self.prefix == Prefix::Marker {
                self.words.push(std::mem::take(&mut self.word));
            }
            self.word.clear();
            self.prefix = Prefix::Digits;
        } else {
            self.words.push(std::mem::take(&mut self.word));
        }
    }

    fn add_char(&mut self, c: char) {
        if c.is_whitespace() {
            // (A word that cannot be a marker keeps no text, but it still ends here.)
            if self.in_word && (self.keep == Keep::Markers || !self.word.is_empty()) {
                self.flush();
                self.in_word = false;
            }
        } else {
            self.add_raw_char(c);
        }
    }

    fn add_raw_char(&mut self, c: char) {
        match self.keep {
            Keep::Nothing => return,
            Keep::Markers => self.feed(c),
            Keep::All => self.word.push(c),
        }
        self.in_word = true;
    }

    /// The current word (of a [`Keep::Markers`] lexer) cannot be a marker.
    fn dead(&self) -> bool {
        self.prefix == Prefix::Dead
    }

    /// Adds `c` to a word that may become a marker.
    #[inline]
    fn feed(&mut self, c: char) {
        match (self.prefix, c) {
            (Prefix::Dead, _) => {}
            (Prefix::Marker, _) => self.word.push(c),
            (Prefix::Digits, '0'..='9') => self.word.push(c),
            (Prefix::Digits, '<') => {
                self.prefix = Prefix::OneLt;
                self.word.push(c);
            }
            (Prefix::OneLt, '<') => {
                self.prefix = Prefix::Marker;
                self.word.push(c);
            }
            _ => {
                self.prefix = Prefix::Dead;
                self.word.clear();
            }
        }
    }

    fn add_string(&mut self, s: &str) {
        for c in s.chars() {
            self.add_char(c);
        }
    }

    fn add_raw_string(&mut self, s: &str) {
        match self.keep {
            Keep::Nothing => return,
            Keep::Markers if self.prefix == Prefix::Marker => self.word.push_str(s),
            Keep::Markers => s.chars().for_each(|c| self.feed(c)),
            Keep::All => self.word.push_str(s),
        }
        self.in_word = true;
    }

    fn finish(mut self) -> Vec<String> {
        if !self.word.is_empty() {
            self.flush();
        }
        self.words
    }
}

const ESCAPE: char = '\\';

impl Lexer<'_> {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn next(&mut self) -> Option<char> {
        let c = self.peek();
        if c.is_some() {
            self.pos += 1;
        }
        c
    }

    /// Processes until `stop` (consumed) or the end; returns the words.
    fn process_until(&mut self, stop: Option<char>) -> Result<(String, Vec<String>), LexError> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            return Err(LexError("too deeply nested substitutions".into()));
        }
        // The top level needs only the words, a nested `${...}` only the text.
        let top = self.depth == 1;
        let mut result = String::new();
        let mut words = Words::new(if top { self.keep } else { Keep::Nothing });
        while let Some(c) = self.peek() {
            if stop == Some(c) {
                self.next();
                self.depth -= 1;
                return Ok((result, words.finish()));
            }
            if words.dead() {
                // A word that cannot be a marker: only where it ends, and any lexing error,
                // matter. Skip plain characters and quoted text without building strings.
                match c {
                    '\'' => {
                        self.skip_single_quote()?;
                        continue;
                    }
                    '"' => {
                        self.skip_double_quote()?;
                        continue;
                    }
                    '$' => {}
                    _ => {
                        self.next();
                        if c == ESCAPE {
                            if self.next().is_none() {
                                break;
                            }
                        } else if c.is_whitespace() {
                            words.add_char(c);
                        }
                        continue;
                    }
                }
            }
            match c {
                '\'' => {
                    let s = self.single_quote()?;
                    if !top {
                        result.push_str(&s);
                    }
                    words.add_raw_string(&s);
                }
                '"' => {
                    let s = self.double_quote()?;
                    if !top {
                        result.push_str(&s);
                    }
                    words.add_raw_string(&s);
                }
                '$' => {
                    let s = self.dollar()?;
                    if !top {
                        result.push_str(&s);
                    }
                    words.add_string(&s);
                }
                _ => {
                    let mut c = self.next().unwrap_or(' ');
                    if c == ESCAPE {
                        if self.raw_escapes {
                            words.add_raw_char(c);
                        }
                        match self.next() {
                            None => break,
                            Some(n) => {
                                c = n;
                                words.add_raw_char(c);
                            }
                        }
                    } else {
                        words.add_char(c);
                    }
                    if !top {
                        result.push(c);
                    }
                }
            }
        }
        self.depth -= 1;
        if let Some(s) = stop {
            return Err(LexError(format!(
                "unexpected end of statement while looking for matching {s}"
            )));
        }
        Ok((result, words.finish()))
    }

    /// [`Lexer::single_quote`] without the text.
    fn skip_single_quote(&mut self) -> Result<(), LexError> {
        self.next();
        match self.chars[self.pos..].iter().position(|&c| c == '\'') {
            Some(i) => {
                self.pos += i + 1;
                Ok(())
            }
            None => {
                self.pos = self.chars.len();
                Err(LexError(
                    "unexpected end of statement while looking for matching single-quote".into(),
                ))
            }
        }
    }

    /// [`Lexer::double_quote`] without the text (substitutions are still read: they can fail).
    fn skip_double_quote(&mut self) -> Result<(), LexError> {
        self.double_quote_into(None)
    }

    fn single_quote(&mut self) -> Result<String, LexError> {
        let mut out = String::new();
        let q = self.next().unwrap_or('\'');
        if self.raw_quotes {
            out.push(q);
        }
        loop {
            match self.next() {
                None => {
                    return Err(LexError(
                        "unexpected end of statement while looking for matching single-quote".into(),
                    ));
                }
                Some('\'') => {
                    if self.raw_quotes {
                        out.push('\'');
                    }
                    return Ok(out);
                }
                Some(c) => out.push(c),
            }
        }
    }

    fn double_quote(&mut self) -> Result<String, LexError> {
        let mut out = String::new();
        self.double_quote_into(Some(&mut out))?;
        Ok(out)
    }

    /// Reads a double-quoted string, appending its text to `out` when there is one.
    fn double_quote_into(&mut self, mut out: Option<&mut String>) -> Result<(), LexError> {
        let raw_quotes = self.raw_quotes && out.is_some();
        let raw_escapes = self.raw_escapes;
        let push = |out: &mut Option<&mut String>, c: char| {
            if let Some(o) = out {
                o.push(c);
            }
        };
        let q = self.next().unwrap_or('"');
        if raw_quotes {
            push(&mut out, q);
        }
        loop {
            match self.peek() {
                None => {
                    return Err(LexError(
                        "unexpected end of statement while looking for matching double-quote".into(),
                    ));
                }
                Some('"') => {
                    self.next();
                    if raw_quotes {
                        push(&mut out, '"');
                    }
                    return Ok(());
                }
                Some('$') => {
                    let v = self.dollar()?;
                    if let Some(o) = out.as_mut() {
                        o.push_str(&v);
                    }
                }
                Some(_) => {
                    let mut c = self.next().unwrap_or(' ');
                    if c == ESCAPE {
                        if raw_escapes {
                            push(&mut out, c);
                        }
                        match self.peek() {
                            None => continue,
                            Some(n) if n == '"' || n == '$' || n == ESCAPE => {
                                c = n;
                                self.next();
                            }
                            Some(_) => {}
                        }
                    }
                    push(&mut out, c);
                }
            }
        }
    }

    fn name(&mut self) -> String {
        let mut name = String::new();
        while let Some(c) = self.peek() {
            if name.is_empty() && c.is_ascii_digit() {
                while let Some(d) = self.peek().filter(char::is_ascii_digit) {
                    name.push(d);
                    self.next();
                }
                return name;
            }
            if !c.is_alphanumeric() && c != '_' {
                break;
            }
            name.push(c);
            self.next();
        }
        name
    }

    /// `$name`, `${name}`, `${name:-word}` and friends against an empty environment.
    fn dollar(&mut self) -> Result<String, LexError> {
        self.next();
        if self.peek() != Some('{') {
            let name = self.name();
            if name.is_empty() {
                return Ok("$".into());
            }
            return Ok(if self.skip_unset_env {
                format!("${name}")
            } else {
                String::new()
            });
        }
        self.next();
        match self.peek() {
            None => return Err(LexError("syntax error: missing '}'".into())),
            Some('{' | '}' | ':') => return Err(LexError("syntax error: bad substitution".into())),
            Some(_) => {}
        }
        let name = self.name();
        match self.next() {
            Some('}') => Ok(if self.skip_unset_env {
                format!("${{{name}}}")
            } else {
                String::new()
            }),
            Some('?') => {
                let (word, _) = self.nested()?;
                if self.skip_unset_env {
                    Ok(format!("${{{name}?{word}}}"))
                } else {
                    let msg = if word.is_empty() {
                        "is not allowed to be unset".to_string()
                    } else {
                        word
                    };
                    Err(LexError(format!("{name}: {msg}")))
                }
            }
            Some(':') => {
                let modifier = self.next();
                let (word, _) = self.nested()?;
                let m = modifier.map(String::from).unwrap_or_default();
                match modifier {
                    Some('+' | '-') => {
                        if self.skip_unset_env {
                            Ok(format!("${{{name}:{m}{word}}}"))
                        } else if modifier == Some('-') {
                            Ok(word)
                        } else {
                            Ok(String::new())
                        }
                    }
                    Some('?') => {
                        if self.skip_unset_env {
                            Ok(format!("${{{name}:{m}{word}}}"))
                        } else {
                            let msg = if word.is_empty() {
                                "is not allowed to be unset".to_string()
                            } else {
                                word
                            };
                            Err(LexError(format!("{name}: {msg}")))
                        }
                    }
                    _ => Err(LexError(format!("unsupported modifier ({m}) in substitution"))),
                }
            }
            _ => Err(LexError("missing ':' in substitution".into())),
        }
    }

    fn nested(&mut self) -> Result<(String, Vec<String>), LexError> {
        match self.process_until(Some('}')) {
            Ok(r) => Ok(r),
            Err(e) => {
                if self.peek().is_none() {
                    Err(LexError("syntax error: missing '}'".into()))
                } else {
                    Err(e)
                }
            }
        }
    }
}

fn words(
    chars: &[char],
    raw_quotes: bool,
    raw_escapes: bool,
    skip_unset_env: bool,
    keep: Keep,
) -> Result<Vec<String>, LexError> {
    let mut lx = Lexer {
        chars,
        pos: 0,
        raw_quotes,
        raw_escapes,
        skip_unset_env,
        depth: 0,
        keep,
    };
    lx.process_until(None).map(|(_, w)| w)
}

fn decode_chars(b: &[u8]) -> Vec<char> {
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let (c, w) = goish::decode(&b[i..]);
        out.push(c);
        i += w;
    }
    out
}

/// Where the first `<<` of `line` at or after `from` starts (a line without one has no heredoc
/// marker).
fn find_double_lt(line: &[u8], from: usize) -> Option<usize> {
    let rest = line.get(from..)?;
    memchr::memchr_iter(b'<', rest)
        .find(|&i| rest.get(i + 1) == Some(&b'<'))
        .map(|i| from + i)
}

/// The heredoc markers on an instruction line, in order. An error here is a parse error
/// (BuildKit reports it); a line the lexer cannot split simply has no heredocs.
pub(crate) fn markers(line: &[u8]) -> Result<Markers, LexError> {
    let Some(first) = find_double_lt(line, 0) else {
        return Ok(Markers::new());
    };
    let special = goish::QUOTE | goish::BACKSLASH | goish::NON_ASCII | goish::DOLLAR;
    if goish::run_without(line, special) == line.len() {
        // Nothing the lexer treats specially (no quotes, escapes or expansions, all ASCII):
        // its words are the runs between whitespace (`RUN <<EOF`, `RUN python3 <<-PY`), and
        // only those around a `<<` can be markers.
        let is_blank = |b: &u8| b.is_ascii_whitespace() || *b == 0x0b;
        let mut out = Markers::new();
        let (mut from, mut next) = (0, Some(first));
        while let Some(lt) = next {
            // The word holding the `<<` (it starts after `from`, where the last one ended): a
            // marker when only digits come before the `<<`.
            let ws = line[from..lt].iter().rposition(is_blank).map_or(from, |k| from + k + 1);
            let we = line[lt..].iter().position(is_blank).map_or(line.len(), |k| lt + k);
            if line[ws..lt].iter().all(u8::is_ascii_digit) {
                // Every byte is ASCII, so the word is UTF-8.
                if let Some(m) = marker(std::str::from_utf8(&line[ws..we]).unwrap_or_default(), Some(ws))? {
                    out.push(m);
                }
            }
            from = we;
            next = find_double_lt(line, from);
        }
        return Ok(out);
    }
    let chars = decode_chars(line);
    let Ok(ws) = words(&chars, true, true, true, Keep::Markers) else {
        return Ok(Markers::new());
    };
    let mut out = Markers::new();
    for w in ws {
        if let Some(m) = marker(&w, None)? {
            out.push(m);
        }
    }
    Ok(out)
}

/// `^(\d*)<<(-?)([^<]*)$` followed by the delimiter checks. `at` is where the word starts
/// in the line, when it is the line's text as written.
fn marker(word: &str, at: Option<usize>) -> Result<Option<Marker>, LexError> {
    let digits = word.bytes().take_while(u8::is_ascii_digit).count();
    let Some(after) = word[digits..].strip_prefix("<<") else {
        return Ok(None);
    };
    let (chomp, rest) = match after.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, after),
    };
    if rest.contains('<') || rest.is_empty() {
        return Ok(None);
    }
    let fd = if digits == 0 {
        0
    } else {
        word[..digits]
            .parse::<u64>()
            .unwrap_or(u64::MAX)
            .min(u64::from(u32::MAX))
    };
    let fd = u32::try_from(fd).unwrap_or(u32::MAX);
    // The usual delimiter (`EOF`, `END_OF_SCRIPT`): nothing to lex, one word, expanded.
    if rest
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
    {
        let name = match at {
            Some(at) => MarkerName::At(at + word.len() - rest.len(), at + word.len()),
            None => MarkerName::Lexed(rest.to_owned()),
        };
        return Ok(Some(Marker {
            name,
            fd,
            chomp,
            expand: true,
        }));
    }
    let chars: Vec<char> = rest.chars().collect();
    let plain = words(&chars, false, false, true, Keep::All)?;
    if plain.len() != 1 {
        return Ok(None);
    }
    let raw = words(&chars, true, false, true, Keep::All)?;
    if raw.len() != plain.len() {
        return Err(LexError(format!(
            "internal lexing of heredoc produced inconsistent results: {rest}"
        )));
    }
    let quotes = |s: &str| s.bytes().filter(|b| *b == b'\'' || *b == b'"').count();
    let expand = quotes(&plain[0]) == quotes(&raw[0]);
    Ok(Some(Marker {
        name: MarkerName::Lexed(plain[0].clone()),
        fd,
        chomp,
        expand,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(line: &str) -> Vec<(String, u32, bool, bool)> {
        markers(line.as_bytes())
            .unwrap()
            .into_iter()
            .map(|m| (m.name.text(line).to_owned(), m.fd, m.chomp, m.expand))
            .collect()
    }

    #[test]
    fn finds_markers_anywhere_in_the_line() {
        assert_eq!(names("RUN <<EOF"), [("EOF".into(), 0, false, true)]);
        assert_eq!(names("RUN python3 <<-'PY' arg"), [("PY".into(), 0, true, false)]);
        assert_eq!(
            names("COPY <<a.txt 3<<\"b.txt\" /dst/"),
            [("a.txt".into(), 0, false, true), ("b.txt".into(), 3, false, false)]
        );
    }

    #[test]
    fn plain_lines_split_as_the_lexer_does() {
        // Lines with nothing the lexer treats specially take a shortcut: it must agree with
        // the lexer, which the same line with a harmless quoted word forces.
        for line in [
            "RUN <<EOF",
            "RUN python3 <<-PY arg 2<<ERR",
            "COPY <<a.txt <<b.txt /dst/",
            "RUN cat<<EOF",
            "RUN x <<<here",
            "RUN x << EOF",
            "RUN a\t<<T\x0b<<V\x0c<<F\r<<R",
            "RUN <<E<F",
            "RUN <<EOF-x.y_z",
            "RUN <<a/b",
            "RUN 12345678901234567890<<X",
        ] {
            let lexed = names(&format!("{line} ''"));
            assert_eq!(names(line), lexed, "{line:?}");
        }
    }

    #[test]
    fn ignores_quoted_and_glued_markers() {
        assert!(names("RUN echo '<<EOF'").is_empty());
        assert!(names("RUN cat<<EOF").is_empty(), "the word must start with the marker");
        assert!(names("RUN cat <<<here").is_empty());
        assert!(names("RUN echo 'unterminated <<EOF").is_empty());
    }
}

//! Splitting text into words: `--flags`, BuildKit's `parseWords`, ENV/LABEL pairs.

use smallvec::SmallVec;

use super::super::Args;
use super::super::goish::{
    self, ASCII_SPACE, BACKSLASH, CLASS, EQUALS, NON_ASCII, QUOTE, SPACE_BYTE, is_space_byte, run_within, run_without,
};
use super::joining::Joined;

/// Length of the leading run of ASCII bytes of `b` that satisfy `ok`.
#[inline]
pub(super) fn plain_run(b: &[u8], ok: impl Fn(u8) -> bool) -> usize {
    b.iter().position(|&c| c >= 0x80 || !ok(c)).unwrap_or(b.len())
}

/// An ASCII run (see [`plain_run`]) as `str`.
#[inline]
pub(super) fn run_str(b: &[u8]) -> &str {
    std::str::from_utf8(b).unwrap_or_default()
}

/// A flag word in joined-text positions: (unescaped text, start, end). The text is `None`
/// when it is the joined text `start..end` as written (no quotes, escapes or non-ASCII bytes).
pub(super) type Word = (Option<String>, usize, usize);

/// The flag word so far: the text as written from `start` to `pos`, or its unescaped copy.
pub(super) fn word_so_far<'t>(t: &'t [u8], start: usize, pos: usize, owned: Option<&'t String>) -> &'t [u8] {
    owned.map_or(&t[start..pos], |w| w.as_bytes())
}

/// Appends byte `b` read as Latin-1 (BuildKit's flag splitter indexes bytes).
pub(super) fn push_latin1(owned: &mut Option<String>, b: u8) {
    owned.get_or_insert_with(String::new).push(b as char);
}

/// BuildKit's `extractBuilderFlags`: leading `--flag` words (byte-wise, backslash escapes,
/// quotes removed). Returns the flags and where the rest of the line starts.
pub(super) fn extract_flags(t: &[u8], from: usize, to: usize) -> (SmallVec<[Word; 2]>, usize) {
    #[derive(PartialEq)]
    enum Phase {
        Spaces,
        Word,
        Quote,
    }
    let mut words = SmallVec::new();
    let mut phase = Phase::Spaces;
    // The word is `t[word_start..pos]` until a quote, an escape or a non-ASCII byte makes it
    // differ from the text as written; from then on it is built in `owned`.
    let mut owned: Option<String> = None;
    let materialize = |owned: &mut Option<String>, start: usize, pos: usize| {
        if owned.is_none() {
            let mut w = String::with_capacity(pos - start + 16);
            w.push_str(run_str(&t[start..pos]));
            *owned = Some(w);
        }
    };
    let mut word_start = from;
    let mut quote = 0u8;
    let mut blank_ok = false;
    let mut pos = from;
    while pos <= to {
        let mut ch = if pos < to { t[pos] } else { 0 };
        if phase == Phase::Spaces {
            if pos == to {
                break;
            }
            if is_space_byte(ch) {
                pos += 1;
                continue;
            }
            if ch != b'-' || pos + 1 == to || t[pos + 1] != b'-' {
                return (words, pos);
            }
            phase = Phase::Word;
            word_start = pos;
            owned = None;
        }
        if pos == to {
            let w = word_so_far(t, word_start, pos, owned.as_ref());
            if w != b"--" && (blank_ok || !w.is_empty()) {
                words.push((owned.take(), word_start, pos));
            }
            return (words, to);
        }
        if phase == Phase::Word {
            // A run of plain ASCII bytes is taken at once.
            let run = run_without(&t[pos..to], SPACE_BYTE | QUOTE | BACKSLASH | NON_ASCII);
            if run > 0 {
                if let Some(w) = owned.as_mut() {
                    w.push_str(run_str(&t[pos..pos + run]));
                }
                pos += run;
                continue;
            }
            if is_space_byte(ch) {
                phase = Phase::Spaces;
                let w = word_so_far(t, word_start, pos, owned.as_ref());
                if w == b"--" {
                    return (words, pos);
                }
                if blank_ok || !w.is_empty() {
                    words.push((owned.take(), word_start, pos));
                }
                owned = None;
                blank_ok = false;
                pos += 1;
                continue;
            }
            materialize(&mut owned, word_start, pos);
            if ch == b'\'' || ch == b'"' {
                quote = ch;
                blank_ok = true;
                phase = Phase::Quote;
                pos += 1;
                continue;
            }
            if ch == b'\\' {
                if pos + 1 == to {
                    pos += 1;
                    continue;
                }
                pos += 1;
                ch = t[pos];
            }
            push_latin1(&mut owned, ch);
            pos += 1;
            continue;
        }
        // In quotes (the word is already `owned`).
        let run = plain_run(&t[pos..to], |c| c != quote && c != b'\\');
        if run > 0 {
            if let Some(w) = owned.as_mut() {
                w.push_str(run_str(&t[pos..pos + run]));
            }
            pos += run;
            continue;
        }
        if ch == quote {
            phase = Phase::Word;
            pos += 1;
            continue;
        }
        if ch == b'\\' {
            if pos + 1 == to {
                phase = Phase::Word;
                pos += 1;
                continue;
            }
            pos += 1;
            ch = t[pos];
        }
        push_latin1(&mut owned, ch);
        pos += 1;
    }
    (words, to)
}

/// BuildKit's `parseWords`: whitespace-separated words, quotes and escapes kept in the word.
/// A word is its source text (invalid UTF-8 as U+FFFD), except that an escape character at
/// the very end of the text is dropped.
pub(super) fn parse_words(t: &[u8], a: usize, b: usize, escape: u8) -> SmallVec<[(usize, usize); 8]> {
    if !is_plain(t, a, b, escape) {
        return lex_words(t, a, b, escape);
    }
    let mut words = SmallVec::new();
    let mut s = a;
    loop {
        s += run_within(&t[s..b], ASCII_SPACE);
        if s == b {
            return words;
        }
        let e = s + run_without(&t[s..b], ASCII_SPACE);
        words.push((s, e));
        s = e;
    }
}

/// Whether `t[a..b]` has no quote, escape character or non-ASCII byte. Most texts do
/// (`VERSION=1.0`, `PATH=/usr/local/bin:$PATH`); their words are the runs between ASCII
/// whitespace, as [`lex_words`] would find them (a unit test checks the two agree).
#[inline]
pub(super) fn is_plain(t: &[u8], a: usize, b: usize, escape: u8) -> bool {
    let stop = QUOTE | NON_ASCII | if escape == b'\\' { BACKSLASH } else { 0 };
    let text = &t[a..b];
    run_without(text, stop) == text.len() && (escape == b'\\' || !text.contains(&escape))
}

/// Bytes that end a plain word: after them the lexer's rules matter (`\` is the escape
/// character where [`plain_pairs`] is used).
pub(super) const NOT_PLAIN: u8 = ASCII_SPACE | QUOTE | BACKSLASH | NON_ASCII;

/// ENV/LABEL pairs when `a..b` is plain ([`is_plain`]; the escape character is `\`) and in
/// `key=value` form, in one pass; `None` otherwise (quotes, the legacy form, an error), which
/// [`name_val`] then sorts out.
pub(super) fn plain_pairs<'a>(j: &Joined<'a>, a: usize, b: usize) -> Option<Args<'a>> {
    let t = j.bytes();
    // The pair at `s` (a word start): key and value ranges, and where the next word starts.
    let pair = |s: usize| {
        let eq = s + run_without(&t[s..b], NOT_PLAIN | EQUALS);
        if eq == b || t[eq] != b'=' {
            return None;
        }
        let we = eq + 1 + run_without(&t[eq + 1..b], NOT_PLAIN);
        if we < b && CLASS[usize::from(t[we])] & ASCII_SPACE == 0 {
            return None;
        }
        Some(((s, eq), (eq + 1, we), we + run_within(&t[we..b], ASCII_SPACE)))
    };
    let s = a + run_within(&t[a..b], ASCII_SPACE);
    if s == b {
        return None;
    }
    let (k, v, mut s) = pair(s)?;
    if s == b {
        // One pair (most ENV and LABEL lines): stored inline.
        return Some(Args::two(j.text_arg(k.0, k.1), j.text_arg(v.0, v.1)));
    }
    let mut out = Args::with_capacity(8);
    out.push(j.text_arg(k.0, k.1));
    out.push(j.text_arg(v.0, v.1));
    while s < b {
        let (k, v, next) = pair(s)?;
        out.push(j.text_arg(k.0, k.1));
        out.push(j.text_arg(v.0, v.1));
        s = next;
    }
    Some(out)
}

/// [`parse_words`] by BuildKit's lexer: for text with quotes, escapes or non-ASCII bytes.
pub(super) fn lex_words(t: &[u8], a: usize, b: usize, escape: u8) -> SmallVec<[(usize, usize); 8]> {
    #[derive(PartialEq)]
    enum Phase {
        Spaces,
        Word,
        Quote,
    }
    let esc = escape as char;
    let mut words = SmallVec::new();
    let mut phase = Phase::Spaces;
    // Where the current word starts and ends (end excludes a dropped trailing escape).
    let mut word_start = a;
    let mut word_end = a;
    let mut quote = '\0';
    let mut blank_ok = false;
    let mut pos = a;
    let (mut ch, mut w) = (' ', 1);
    let push = |words: &mut SmallVec<[(usize, usize); 8]>, s: usize, e: usize, blank_ok: bool| {
        if blank_ok || e > s {
            words.push((s, e));
        }
    };
    while pos <= b {
        if pos < b {
            let c = t[pos];
            (ch, w) = if c < 0x80 {
                (c as char, 1)
            } else {
                goish::decode(&t[pos..b])
            };
        }
        if phase == Phase::Spaces {
            if pos == b {
                break;
            }
            if goish::is_space(ch) {
                pos += w;
                continue;
            }
            phase = Phase::Word;
            word_start = pos;
            word_end = pos;
        }
        if pos == b {
            push(&mut words, word_start, word_end, blank_ok);
            break;
        }
        if phase == Phase::Word {
            // A run of plain ASCII bytes at once.
            let stop = ASCII_SPACE | QUOTE | NON_ASCII | if escape == b'\\' { BACKSLASH } else { 0 };
            let mut run = run_without(&t[pos..b], stop);
            if escape != b'\\' {
                run = t[pos..pos + run].iter().position(|&c| c == escape).unwrap_or(run);
            }
            if run > 0 {
                pos += run;
                word_end = pos;
                continue;
            }
            if goish::is_space(ch) {
                phase = Phase::Spaces;
                push(&mut words, word_start, word_end, blank_ok);
                blank_ok = false;
                pos += w;
                continue;
            }
            if ch == '\'' || ch == '"' {
                quote = ch;
                blank_ok = true;
                phase = Phase::Quote;
            }
            if ch == esc {
                if pos + w == b {
                    pos += w;
                    continue;
                }
                pos += w;
                (ch, w) = goish::decode(&t[pos..b]);
            }
            pos += w;
            word_end = pos;
            continue;
        }
        // In quotes: a run of plain ASCII bytes at once.
        let q = quote as u8;
        let run = plain_run(&t[pos..b], |c| c != q && (c != escape || q == b'\''));
        if run > 0 {
            pos += run;
            word_end = pos;
            continue;
        }
        if ch == quote {
            phase = Phase::Word;
        }
        if ch == esc && quote != '\'' {
            if pos + w == b {
                phase = Phase::Word;
                pos += w;
                continue;
            }
            pos += w;
            (ch, w) = goish::decode(&t[pos..b]);
        }
        pos += w;
        word_end = pos;
    }
    words
}

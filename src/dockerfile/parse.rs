//! The parser: bytes in, [`Dockerfile`] out, following BuildKit v0.12.5's
//! `frontend/dockerfile/parser` behaviour (checked against the corpus in
//! `../shared/corpus/dockerfiles`, whose references come from that parser).
//!
//! How BuildKit reads a file, and so how this module does:
//! 1. Lines are split at `\n` (each line keeps its terminator for heredoc bodies). A line
//!    longer than 64 KiB is an error (Go's `bufio.Scanner` limit). A UTF-8 BOM is dropped
//!    from the first line only.
//! 2. Parser directives (`# syntax=`, `# escape=`, `# check=`) are read from the first lines
//!    until the first line that is not one (a blank line or an ordinary comment ends them).
//! 3. An instruction starts at a line that is neither blank nor a comment (leading
//!    whitespace removed). While a line ends with the escape character (not itself escaped,
//!    optionally followed by spaces or tabs), the next line is appended without the escape
//!    character; comment lines and whitespace-only lines inside a continuation are skipped.
//! 4. The joined line is split into the instruction word, `--flags` and the rest, and the
//!    rest is parsed per instruction (JSON or shell form, key=value pairs, words...).
//! 5. For RUN, COPY and ADD (also under ONBUILD) in shell form, heredoc markers on the line
//!    make the following lines heredoc bodies, up to a line equal to the delimiter.
//!
//! Owns: all of the above, plus byte spans into the original file for every piece.
//! Does not: evaluate variables, validate flag names, or know about stages.

use std::borrow::Cow;

use smallvec::SmallVec;

use super::goish::{
    self, ASCII_SPACE, BACKSLASH, CLASS, EQUALS, NON_ASCII, QUOTE, RE_WS, SPACE_BYTE, is_re_whitespace, is_space_byte,
    lossy, run_within, run_without,
};
use super::heredoc;
use super::json_args::{self, JsonArgs};
use super::{
    Arg, Args, Directive, Directives, Dockerfile, Error, Flag, Flags, Heredoc, Instruction, Keyword, ParseWarning,
    Span, Text,
};

/// Go's `bufio.MaxScanTokenSize`: BuildKit cannot read longer lines.
const MAX_LINE: usize = 64 * 1024;
/// How deeply `ONBUILD ONBUILD ...` may nest before we give up (BuildKit itself rejects any
/// nesting later, when it turns the AST into instructions).
const MAX_ONBUILD_DEPTH: usize = 64;
/// How many bytes nested ONBUILD levels (beyond the first) may copy in total.
const MAX_NESTED_COPY: usize = 16 << 20;
const BOM: &[u8] = b"\xef\xbb\xbf";

/// Parses a Dockerfile from the bytes of the file as read.
///
/// # Errors
/// Whatever BuildKit's parser rejects: a file with no instructions, `ENV`/`LABEL` without a
/// value, a JSON array with a non-string element, an unterminated heredoc, a bad or repeated
/// parser directive, a line longer than 64 KiB; and (imgopt's own limit, for its 32-bit
/// spans) a file of 4 GiB or more. The error carries line, column and span.
pub fn parse(src: &[u8]) -> Result<Dockerfile<'_>, Error> {
    // (Before the UTF-8 check, which would read all of a file it rejects.)
    check_size(src)?;
    Parser::new(src, std::str::from_utf8(src).ok()).run()
}

/// [`parse`] for a file already known to be UTF-8 text: the same tree, without checking the
/// bytes again (the check is about 2 % of the parse).
///
/// # Errors
/// As [`parse`].
pub fn parse_str(src: &str) -> Result<Dockerfile<'_>, Error> {
    check_size(src.as_bytes())?;
    Parser::new(src.as_bytes(), Some(src)).run()
}

/// One physical line of the file.
#[derive(Clone, Copy, Debug)]
struct RawLine {
    /// Offset of the first byte.
    start: usize,
    /// Offset after the `\n` (or the end of the file).
    end: usize,
    /// 1-based line number.
    number: usize,
    /// Offset of the end of the line's text: `end` without the trailing `\r` and `\n` bytes.
    text_end: usize,
}

struct Lines<'a> {
    src: &'a [u8],
    pos: usize,
    number: usize,
    newlines: goish::Newlines,
    /// Why reading stopped before the end of the file (a line longer than BuildKit reads).
    error: Option<Box<Error>>,
}

impl Lines<'_> {
    /// The next line, or `None` at the end of the file or at a line BuildKit does not read
    /// (then [`Lines::check`] gives the error). (Not a `Result`, and inlined into the loops
    /// that read lines: most lines are short, and the call and the error's room in the result
    /// cost as much as finding the line end, measured.)
    #[inline(always)]
    fn next(&mut self) -> Option<RawLine> {
        if self.pos >= self.src.len() {
            return None;
        }
        let start = self.pos;
        let (end, has_nl) = match self.newlines.next(self.src) {
            Some(i) => (i + 1, true),
            None => (self.src.len(), false),
        };
        self.number += 1;
        let len = end - start;
        if len > MAX_LINE || (!has_nl && len >= MAX_LINE) {
            self.too_long(start, end);
            return None;
        }
        self.pos = end;
        // Without the `\n`, then without any `\r` (as `content_end`, but without a loop in the
        // common case, no `\r`: blank lines among others made the loop's exit mispredict).
        let e = end - usize::from(has_nl);
        // (The byte before `e`, or for an empty line its `\n`, which is not `\r`: an index
        // without a branch.)
        let before = self.src[e.saturating_sub(1).max(start)];
        let text_end = if before == b'\r' {
            content_end(self.src, start, e)
        } else {
            e
        };
        Some(RawLine {
            start,
            end,
            number: self.number,
            text_end,
        })
    }

    /// Stops reading at the line `start..end`, longer than BuildKit reads.
    #[cold]
    #[inline(never)]
    fn too_long(&mut self, start: usize, end: usize) {
        self.pos = self.src.len();
        self.error = Some(Box::new(Error {
            message: format!("dockerfile line greater than max allowed size of {}", MAX_LINE - 1),
            line: self.number,
            column: 1,
            span: Span::new(start, end),
        }));
    }

    /// The error that stopped reading, if any (after `next` gave `None`).
    fn check(&mut self) -> Result<(), Error> {
        match self.error.take() {
            Some(e) => Err(*e),
            None => Ok(()),
        }
    }
}

/// The end of a line without trailing `\r` and `\n` bytes (Go's `bytes.TrimRight(l, "\r\n")`).
fn content_end(src: &[u8], start: usize, end: usize) -> usize {
    let mut e = end;
    while e > start && matches!(src[e - 1], b'\r' | b'\n') {
        e -= 1;
    }
    e
}

/// BuildKit's line-continuation rule: the line ends with the escape character, optionally
/// followed by spaces and tabs, and the character before it is not the escape character.
/// Returns the end of the kept text and whether the line continues.
fn trim_continuation(b: &[u8], start: usize, end: usize, escape: u8) -> (usize, bool) {
    let mut e = end;
    while e > start && matches!(b[e - 1], b' ' | b'\t') {
        e -= 1;
    }
    if e > start && b[e - 1] == escape && (e - 1 == start || b[e - 2] != escape) {
        (e - 1, true)
    } else {
        (end, false)
    }
}

/// A line read while an instruction continues (BuildKit's rule, shared by [`Parser::run`] and
/// [`join_lines`]).
enum ContinuationLine {
    /// Blanks only: skipped (BuildKit warns of it).
    Blank,
    /// A comment: skipped.
    Comment,
    /// A piece of the instruction up to `end` (before the escape character, if it continues).
    Piece { end: usize, continues: bool },
}

/// What the line `b[start..text_end]` (without its line break) adds to a continued instruction.
fn continuation_line(b: &[u8], start: usize, text_end: usize, escape: u8) -> ContinuationLine {
    let ls = start + goish::leading_space_len(&b[start..text_end]);
    if ls == text_end {
        ContinuationLine::Blank
    } else if b[ls] == b'#' {
        ContinuationLine::Comment
    } else {
        let (end, continues) = trim_continuation(b, start, text_end, escape);
        ContinuationLine::Piece { end, continues }
    }
}

/// BuildKit's `Original` of an instruction continued over several lines: `raw` is the file's
/// text from the instruction word through the last line [`Parser::run`] read for it, joined
/// by the same rule as there (each piece up to its escape character; blank and comment lines
/// skipped; leading blanks of continuation lines kept).
pub(crate) fn join_lines(raw: &str) -> String {
    let b = raw.as_bytes();
    let line_end = |start: usize| {
        b[start..]
            .iter()
            .position(|&c| c == b'\n')
            .map_or(b.len(), |i| start + i + 1)
    };
    let first = line_end(0);
    let te = content_end(b, 0, first);
    // The first line continues, so the last byte before its trailing blanks is the escape
    // character (`\` or the file's `# escape=`).
    let escape = b[..te]
        .iter()
        .rev()
        .copied()
        .find(|&c| c != b' ' && c != b'\t')
        .unwrap_or(b'\\');
    let mut out = String::with_capacity(raw.len());
    let (pe, mut cont) = trim_continuation(b, 0, te, escape);
    out.push_str(raw.get(..pe).unwrap_or_default());
    let mut start = first;
    while cont && start < b.len() {
        let end = line_end(start);
        if let ContinuationLine::Piece { end: pe, continues } =
            continuation_line(b, start, content_end(b, start, end), escape)
        {
            // (Pieces end before an ASCII escape or line break: character boundaries.)
            out.push_str(raw.get(start..pe).unwrap_or_default());
            cont = continues;
        }
        start = end;
    }
    out
}

/// The instruction text with continuations joined, and where each piece came from.
///
/// An instruction on a single line (most of them) is not copied: its text is the file's
/// bytes. When the whole file is valid UTF-8 (checked once per file), every piece is valid
/// too (pieces are cut at ASCII bytes or line starts), so the joined text is a `str` without
/// any per-instruction validation. A value that lies within one piece is borrowed from the
/// file ([`Joined::text`]); only values that cross a continuation are copied.
struct Joined<'a> {
    src: &'a [u8],
    /// The file as `str`, when it is valid UTF-8.
    src_str: Option<&'a str>,
    /// The single piece `src[one.0..one.1]`, while there is only one.
    one: Option<(usize, usize)>,
    /// The joined text of several pieces, for a UTF-8 file.
    buf_str: String,
    /// The joined text of several pieces, for a file that is not UTF-8.
    buf: Vec<u8>,
    /// (offset in the text, offset in the file) for each piece, once there are two or more.
    segs: SmallVec<[(usize, usize); 16]>,
}

impl<'a> Joined<'a> {
    fn new(src: &'a [u8], src_str: Option<&'a str>) -> Self {
        Self {
            src,
            src_str,
            one: None,
            buf_str: String::new(),
            buf: Vec::new(),
            segs: SmallVec::new(),
        }
    }

    fn clear(&mut self) {
        self.one = None;
        self.buf_str.clear();
        self.buf.clear();
        self.segs.clear();
    }

    /// Appends the file's bytes `start..end`.
    fn push(&mut self, start: usize, end: usize) {
        if self.one.is_none() && self.segs.is_empty() {
            // One piece (most instructions): `segs` stays empty until a second one comes.
            self.one = Some((start, end));
            return;
        }
        if let Some((a, b)) = self.one.take() {
            self.segs.push((0, a));
            // First continuation in this file: room for a typical continued instruction.
            if self.buf_str.capacity() == 0 && self.buf.capacity() == 0 {
                if self.src_str.is_some() {
                    self.buf_str.reserve(1024);
                } else {
                    self.buf.reserve(1024);
                }
            }
            self.append(a, b);
        }
        let len = self.len();
        self.segs.push((len, start));
        self.append(start, end);
    }

    fn append(&mut self, start: usize, end: usize) {
        match self.src_str.map(|s| s.get(start..end)) {
            Some(Some(piece)) => self.buf_str.push_str(piece),
            Some(None) => {
                // Not at a character boundary (cannot happen for pieces cut as above, but a
                // wrong guess must not lose text): fall back to bytes for this instruction.
                self.buf.extend_from_slice(self.buf_str.as_bytes());
                self.buf_str.clear();
                self.src_str = None;
                self.buf.extend_from_slice(&self.src[start..end]);
            }
            None => self.buf.extend_from_slice(&self.src[start..end]),
        }
    }

    fn bytes(&self) -> &[u8] {
        match self.one {
            Some((a, b)) => &self.src[a..b],
            None if self.src_str.is_some() => self.buf_str.as_bytes(),
            None => &self.buf,
        }
    }

    /// The text as `str`, when it is valid UTF-8 as a whole.
    fn as_str(&self) -> Option<&str> {
        let s = self.src_str?;
        match self.one {
            Some((a, b)) => s.get(a..b),
            None => Some(&self.buf_str),
        }
    }

    fn len(&self) -> usize {
        self.bytes().len()
    }

    /// Text range `a..b` as a string (invalid UTF-8 as U+FFFD, Go-style): borrowed from the
    /// file when the range lies within one piece, else a copy of the joined text.
    #[inline(always)]
    fn text(&self, a: usize, b: usize) -> Cow<'a, str> {
        // The common case, one line of a UTF-8 file: a slice of the file.
        if let (Some((s, _)), Some(file)) = (self.one, self.src_str)
            && let Some(v) = file.get(s + a..s + b)
        {
            return Cow::Borrowed(v);
        }
        self.text_slow(a, b)
    }

    /// [`Joined::text`] of several pieces, or of a file that is not UTF-8.
    #[inline(never)]
    fn text_slow(&self, a: usize, b: usize) -> Cow<'a, str> {
        if let Some((fa, fb)) = self.file_range(a, b) {
            return file_text(self.src, self.src_str, fa, fb);
        }
        match self.as_str().and_then(|s| s.get(a..b)) {
            Some(x) => Cow::Owned(x.to_owned()),
            None => Cow::Owned(lossy(&self.bytes()[a..b])),
        }
    }

    /// The file range of text range `a..b`, when it lies within one piece.
    #[inline]
    fn file_range(&self, a: usize, b: usize) -> Option<(usize, usize)> {
        if let Some((s, _)) = self.one {
            return Some((s + a, s + b));
        }
        let i = self.segs.partition_point(|s| s.0 <= a).saturating_sub(1);
        let (tp, fp) = self.segs[i];
        let piece_end = self.segs.get(i + 1).map_or_else(|| self.len(), |s| s.0);
        (b <= piece_end).then(|| (fp + (a - tp), fp + (b - tp)))
    }

    /// The file offset of text position `pos`.
    #[inline]
    fn at(&self, pos: usize) -> usize {
        if let Some((s, _)) = self.one {
            return s + pos;
        }
        let segs = &self.segs[..];
        // Spans mostly start in the first piece and end in the last.
        let i = match segs {
            [_] => 0,
            [_, (second, _), ..] if pos < *second => 0,
            [.., (last, _)] if pos >= *last => segs.len() - 1,
            _ => segs.partition_point(|s| s.0 <= pos).saturating_sub(1),
        };
        let (tp, fp) = segs[i];
        fp + (pos - tp)
    }

    /// The file span of text range `a..b`.
    #[inline(always)]
    fn span(&self, a: usize, b: usize) -> Span {
        if let Some((s, _)) = self.one {
            return Span::new(s + a, s + b.max(a));
        }
        self.span_slow(a, b)
    }

    /// [`Joined::span`] of several pieces.
    #[inline(never)]
    fn span_slow(&self, a: usize, b: usize) -> Span {
        if b <= a {
            let p = self.at(a);
            Span::new(p, p)
        } else {
            Span::new(self.at(a), self.at(b - 1) + 1)
        }
    }

    fn arg(&self, value: Cow<'a, str>, a: usize, b: usize) -> Arg<'a> {
        Arg {
            value: Text::new(value),
            span: self.span(a, b),
        }
    }

    /// The argument made of text range `a..b`.
    #[inline(always)]
    fn text_arg(&self, a: usize, b: usize) -> Arg<'a> {
        // The common case, one line of a UTF-8 file: a slice of the file and its span. (The
        // same as `arg(text(..), ..)`, but one test instead of two: 2 % of the whole corpus
        // benchmark's instructions.)
        if let (Some((s, _)), Some(file)) = (self.one, self.src_str)
            && let Some(v) = file.get(s + a..s + b)
        {
            return Arg {
                value: Text::new(Cow::Borrowed(v)),
                span: Span::new(s + a, s + b),
            };
        }
        self.text_arg_slow(a, b)
    }

    /// [`Joined::text_arg`] of several pieces, or of a file that is not UTF-8.
    #[inline(never)]
    fn text_arg_slow(&self, a: usize, b: usize) -> Arg<'a> {
        self.arg(self.text_slow(a, b), a, b)
    }
}

/// The file's bytes `a..b` as text (invalid UTF-8 as U+FFFD, Go-style), borrowed when they
/// are valid UTF-8. `src_str` is the whole file as `str` when it is valid UTF-8.
#[inline]
fn file_text<'a>(src: &'a [u8], src_str: Option<&'a str>, a: usize, b: usize) -> Cow<'a, str> {
    let piece = match src_str {
        Some(s) => s.get(a..b).ok_or(()),
        None => std::str::from_utf8(&src[a..b]).map_err(|_| ()),
    };
    match piece {
        Ok(p) => Cow::Borrowed(p),
        Err(()) => Cow::Owned(lossy(&src[a..b])),
    }
}

/// Parser directive state.
struct DirectiveBlock<'a> {
    escape: u8,
    done: bool,
    found: Directives<'a>,
}

fn is_re_s(b: u8) -> bool {
    matches!(b, b'\t' | b'\n' | 0x0c | b'\r' | b' ')
}

/// Matches BuildKit's `^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$`, returning the ranges
/// of the name and the value.
fn match_directive(b: &[u8]) -> Option<((usize, usize), usize, usize)> {
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
    /// Looks at a (left-trimmed, newline-trimmed) line before any instruction. (Out of line:
    /// only the first lines of a file are looked at.)
    #[inline(never)]
    fn consider(
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

/// 1-based character column of `off` on the line starting at `line_start`.
fn col(src: &[u8], line_start: usize, off: usize) -> usize {
    let off = off.min(src.len());
    let ls = line_start.min(off);
    lossy(&src[ls..off]).chars().count() + 1
}

/// Length of the leading run of ASCII bytes of `b` that satisfy `ok`.
#[inline]
fn plain_run(b: &[u8], ok: impl Fn(u8) -> bool) -> usize {
    b.iter().position(|&c| c >= 0x80 || !ok(c)).unwrap_or(b.len())
}

/// An ASCII run (see [`plain_run`]) as `str`.
#[inline]
fn run_str(b: &[u8]) -> &str {
    std::str::from_utf8(b).unwrap_or_default()
}

/// A flag word in joined-text positions: (unescaped text, start, end). The text is `None`
/// when it is the joined text `start..end` as written (no quotes, escapes or non-ASCII bytes).
type Word = (Option<String>, usize, usize);

/// The flag word so far: the text as written from `start` to `pos`, or its unescaped copy.
fn word_so_far<'t>(t: &'t [u8], start: usize, pos: usize, owned: &'t Option<String>) -> &'t [u8] {
    owned.as_ref().map_or(&t[start..pos], |w| w.as_bytes())
}

/// Appends byte `b` read as Latin-1 (BuildKit's flag splitter indexes bytes).
fn push_latin1(owned: &mut Option<String>, b: u8) {
    owned.get_or_insert_with(String::new).push(b as char);
}

/// BuildKit's `extractBuilderFlags`: leading `--flag` words (byte-wise, backslash escapes,
/// quotes removed). Returns the flags and where the rest of the line starts.
fn extract_flags(t: &[u8], from: usize, to: usize) -> (SmallVec<[Word; 2]>, usize) {
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
            let w = word_so_far(t, word_start, pos, &owned);
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
                let w = word_so_far(t, word_start, pos, &owned);
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
fn parse_words(t: &[u8], a: usize, b: usize, escape: u8) -> SmallVec<[(usize, usize); 8]> {
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
fn is_plain(t: &[u8], a: usize, b: usize, escape: u8) -> bool {
    let stop = QUOTE | NON_ASCII | if escape == b'\\' { BACKSLASH } else { 0 };
    let text = &t[a..b];
    run_without(text, stop) == text.len() && (escape == b'\\' || !text.contains(&escape))
}

/// Bytes that end a plain word: after them the lexer's rules matter (`\` is the escape
/// character where [`plain_pairs`] is used).
const NOT_PLAIN: u8 = ASCII_SPACE | QUOTE | BACKSLASH | NON_ASCII;

/// ENV/LABEL pairs when `a..b` is plain ([`is_plain`]; the escape character is `\`) and in
/// `key=value` form, in one pass; `None` otherwise (quotes, the legacy form, an error), which
/// [`name_val`] then sorts out.
fn plain_pairs<'a>(j: &Joined<'a>, a: usize, b: usize) -> Option<Args<'a>> {
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
#[inline(never)]
fn lex_words(t: &[u8], a: usize, b: usize, escape: u8) -> SmallVec<[(usize, usize); 8]> {
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

/// An error message with the joined-text position it concerns.
struct BuildError {
    message: String,
    pos: usize,
}

/// Builds the instruction in text range `a..b` (before heredocs, `original` and lines) and
/// pushes it onto `out`, where the caller finishes it. Returns the text position of the
/// instruction word. (Returning the instruction instead, a few hundred bytes, costs one more
/// copy of it: 2 % of a corpus parse, measured. Inlined into [`Parser::run`], its one caller
/// but for ONBUILD's, as the call itself measured 2-3 % over 8 code layouts.)
#[inline(always)]
fn build<'a>(
    j: &Joined<'a>,
    a: usize,
    b: usize,
    escape: u8,
    depth: usize,
    out: &mut Vec<Instruction<'a>>,
) -> Result<usize, BuildError> {
    let t = j.bytes();
    let (ts, te) = goish::trim_space_range(t, a, b);
    let ce = ts + run_without(&t[ts..te], RE_WS);
    let cmd = j.text(ts, ce);
    let mut flags = Flags::new();
    let (mut rs, mut re) = (te, te);
    if ce < te {
        let mut args_start = ce;
        while args_start < te && is_re_whitespace(t[args_start]) {
            args_start += 1;
        }
        // Most instructions have no flags: nothing to split when the rest cannot start with one.
        let rest_start = match t.get(args_start) {
            Some(&c) if c != b'-' && !is_space_byte(c) => args_start,
            _ => {
                let rest_start;
                (flags, rest_start) = flags_at(j, args_start, te);
                rest_start
            }
        };
        (rs, re) = goish::trim_space_range(t, rest_start, te);
    }
    // (A word with non-ASCII bytes is no keyword byte for byte; only then is it lower-cased
    // Go's way, which can make one: checking every word for ASCII first cost a loop whose
    // exit, at the word's varying length, mispredicted.)
    let mut keyword = Keyword::from_prefix(&t[ts..], ce - ts);
    if keyword == Keyword::Unknown && !cmd.is_ascii() {
        keyword = Keyword::from_word(&goish::to_lower(&cmd));
    }
    let rest = &t[rs..re];
    let mut json = false;
    let mut sub = None;
    let err = |message: String| BuildError { message, pos: ts };
    let args: Args<'a> = match keyword {
        Keyword::Add | Keyword::Copy | Keyword::Volume => match json_args::parse(rest) {
            JsonArgs::Strings(v) => {
                json = true;
                json_strings(j, v, rs)
            }
            JsonArgs::NotStringArray => return Err(err(NOT_STRING_ARRAY.into())),
            JsonArgs::NotJson => whitespace_delimited(j, rs, re),
        },
        Keyword::Cmd | Keyword::Entrypoint | Keyword::Run | Keyword::Shell => {
            let (v, is_json) = maybe_json(j, rs, re).map_err(|m| err(m.into()))?;
            json = is_json;
            v
        }
        Keyword::Env | Keyword::Label => {
            let key = if keyword == Keyword::Env { "ENV" } else { "LABEL" };
            name_val(j, rs, re, escape, key).map_err(err)?
        }
        Keyword::Arg => Args::map_from(&parse_words(t, rs, re, escape), |(x, y)| j.text_arg(x, y)),
        Keyword::Expose | Keyword::From => whitespace_delimited(j, rs, re),
        Keyword::Maintainer | Keyword::Stopsignal | Keyword::User | Keyword::Workdir => {
            if rs == re {
                Args::new()
            } else {
                Args::one(j.text_arg(rs, re))
            }
        }
        Keyword::Healthcheck => {
            let args;
            (args, json) = healthcheck(j, rs, re).map_err(|m| err(m.into()))?;
            args
        }
        Keyword::Onbuild => {
            if rs == re {
                Args::new()
            } else {
                let inner = onbuild(j, rs, re, escape, depth, ts)?;
                json = inner.json;
                let args = inner.args.clone();
                sub = Some(inner);
                args
            }
        }
        // BuildKit's parser keeps unknown instructions with one empty value.
        Keyword::Unknown => Args::one(j.arg(Cow::Borrowed(""), rs, rs)),
    };
    out.push(Instruction {
        cmd,
        keyword,
        sub,
        json,
        original: Text::new(Cow::Borrowed("")),
        start_line: 0,
        end_line: 0,
        flags,
        args,
        heredocs: Vec::new(),
        span: j.span(ts, te),
        cmd_span: j.span(ts, ce),
        args_span: j.span(rs, re),
    });
    Ok(ts)
}

// Below, the rarer arms of `build`, kept out of line: `build` runs for every instruction of
// every file, and the less code its common path spans, the less it costs on a file the
// processor has not seen yet (instruction cache and branch predictor).

/// The flags at text range `a..b` (which starts with one) and where the rest begins.
#[inline(never)]
fn flags_at<'a>(j: &Joined<'a>, a: usize, b: usize) -> (Flags<'a>, usize) {
    let (fl, rest_start) = extract_flags(j.bytes(), a, b);
    let flags = fl
        .into_iter()
        .map(|(text, fs, fe)| Flag {
            text: text.map_or_else(|| j.text(fs, fe), Cow::Owned),
            span: j.span(fs, fe),
        })
        .collect();
    (flags, rest_start)
}

/// The decoded strings of a JSON array that starts at text position `at`.
#[inline(never)]
fn json_strings<'a>(j: &Joined<'a>, items: json_args::Items, at: usize) -> Args<'a> {
    items
        .into_iter()
        .map(|(s, x, y)| json_arg(j, s, at + x, at + y))
        .collect()
}

/// HEALTHCHECK's `NONE`, or `CMD` and its command (shell or JSON form).
#[cold]
#[inline(never)]
fn healthcheck<'a>(j: &Joined<'a>, a: usize, b: usize) -> Result<(Args<'a>, bool), &'static str> {
    let t = j.bytes();
    let mut sep = a;
    while sep < b && !is_space_byte(t[sep]) {
        sep += 1;
    }
    let mut next = sep;
    while next < b && is_space_byte(t[next]) {
        next += 1;
    }
    if sep == a {
        return Ok((Args::new(), false));
    }
    let mut v = Args::one(j.text_arg(a, sep));
    let (more, is_json) = maybe_json(j, next, b)?;
    v.extend(more.into_vec());
    Ok((v, is_json))
}

/// The instruction ONBUILD wraps (text range `a..b`, not empty); the ONBUILD word is at text
/// position `at`.
#[cold]
#[inline(never)]
fn onbuild<'a>(
    j: &Joined<'a>,
    a: usize,
    b: usize,
    escape: u8,
    depth: usize,
    at: usize,
) -> Result<Box<Instruction<'a>>, BuildError> {
    // Each nesting level copies the rest of the line (its `original` and `args`): bound the
    // total so that a huge nested line cannot cost depth x size.
    if depth >= MAX_ONBUILD_DEPTH || (b - a).saturating_mul(depth) > MAX_NESTED_COPY {
        return Err(BuildError {
            message: "ONBUILD nested too deeply".into(),
            pos: at,
        });
    }
    let mut one = Vec::with_capacity(1);
    build(j, a, b, escape, depth + 1, &mut one)?;
    // (`build` pushes one instruction whenever it succeeds.)
    let Some(mut inner) = one.pop() else {
        return Err(BuildError {
            message: "ONBUILD without an instruction".into(),
            pos: at,
        });
    };
    inner.original = Text::new(j.text(a, b));
    Ok(Box::new(inner))
}

const NOT_STRING_ARRAY: &str = "when using JSON array syntax, arrays must be comprised of strings only";

/// `parseMaybeJSON`: a JSON array of strings, or the whole text as one value.
fn maybe_json<'a>(j: &Joined<'a>, a: usize, b: usize) -> Result<(Args<'a>, bool), &'static str> {
    if a == b {
        return Ok((Args::new(), false));
    }
    let t = j.bytes();
    let js = a + goish::leading_space_len(&t[a..b]);
    match json_args::parse(&t[js..b]) {
        JsonArgs::Strings(v) => Ok((json_strings(j, v, js), true)),
        JsonArgs::NotStringArray => Err(NOT_STRING_ARRAY),
        JsonArgs::NotJson => Ok((Args::one(j.text_arg(a, b)), false)),
    }
}

/// A JSON string element at text range `a..b` (quotes included): its decoded value, or the
/// text between the quotes when it has no escapes.
fn json_arg<'a>(j: &Joined<'a>, decoded: Option<String>, a: usize, b: usize) -> Arg<'a> {
    let value = decoded.map_or_else(|| j.text(a + 1, b - 1), Cow::Owned);
    j.arg(value, a, b)
}

/// `parseStringsWhitespaceDelimited`: split at runs of `[\t\v\f\r ]`.
fn whitespace_delimited<'a>(j: &Joined<'a>, a: usize, b: usize) -> Args<'a> {
    let t = j.bytes();
    if a == b {
        return Args::new();
    }
    let mut words = SmallVec::<[(usize, usize); 8]>::new();
    let mut s = a;
    loop {
        let e = s + run_without(&t[s..b], RE_WS);
        words.push((s, e));
        if e == b {
            return Args::map_from(&words, |(x, y)| j.text_arg(x, y));
        }
        s = e + run_within(&t[e..b], RE_WS);
    }
}

/// `parseNameVal` for ENV and LABEL: `key=value ...`, or the legacy `key value`.
fn name_val<'a>(j: &Joined<'a>, a: usize, b: usize, escape: u8, key: &str) -> Result<Args<'a>, String> {
    let t = j.bytes();
    if escape == b'\\'
        && let Some(pairs) = plain_pairs(j, a, b)
    {
        return Ok(pairs);
    }
    let words = parse_words(t, a, b, escape);
    let Some(&(fs, fe)) = words.first() else {
        return Ok(Args::new());
    };
    if !t[fs..fe].contains(&b'=') {
        let Some(ws) = t[a..b].iter().position(|&c| is_re_whitespace(c)).map(|i| a + i) else {
            return Err(format!("{key} must have two arguments"));
        };
        let mut vs = ws;
        while vs < b && is_re_whitespace(t[vs]) {
            vs += 1;
        }
        return Ok(Args::two(j.text_arg(a, ws), j.text_arg(vs, b)));
    }
    let eq_of = |ws: usize, we: usize| {
        t[ws..we]
            .iter()
            .position(|&c| c == b'=')
            .map(|i| ws + i)
            .ok_or_else(|| {
                let w = j.text(ws, we);
                format!("Syntax error - can't find = in {w:?}. Must be of the form: name=value")
            })
    };
    if let [(ws, we)] = words[..] {
        // One pair (most ENV and LABEL lines): stored inline.
        let eq = eq_of(ws, we)?;
        return Ok(Args::two(j.text_arg(ws, eq), j.text_arg(eq + 1, we)));
    }
    let mut out = Args::with_capacity(words.len() * 2);
    for (ws, we) in words {
        let eq = eq_of(ws, we)?;
        out.push(j.text_arg(ws, eq));
        out.push(j.text_arg(eq + 1, we));
    }
    Ok(out)
}

/// Whether BuildKit looks for heredocs on this instruction.
fn can_contain_heredoc(ins: &Instruction<'_>) -> bool {
    let node = match (&ins.keyword, &ins.sub) {
        (Keyword::Onbuild, Some(sub)) => sub,
        _ => ins,
    };
    matches!(node.keyword, Keyword::Run | Keyword::Copy | Keyword::Add) && !node.json
}

/// The start of the line holding byte `off`.
fn line_start_of(src: &[u8], off: usize) -> usize {
    src[..off.min(src.len())]
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1)
}

/// An error at `span`, cut to the line it starts on (a snippet of a 50 MB continuation
/// helps nobody).
fn error_at(src: &[u8], message: String, line: usize, span: Span) -> Error {
    let ls = line_start_of(src, span.start());
    let le = src[span.start().min(src.len())..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(src.len(), |i| span.start() + i);
    let le = content_end(src, span.start().min(le), le);
    Error {
        message,
        line,
        column: col(src, ls, span.start()),
        span: Span::new(span.start(), span.end().min(le).max(span.start())),
    }
}

/// The instruction continued over `pieces` (two or more; file ranges of `src`, its text
/// joined) when it needs no joined text to be parsed: a shell-form RUN, CMD or ENTRYPOINT
/// whose word is on its first line, whose flags are plain words each within a line, and
/// (RUN) without a `<` that could start a heredoc. Its command (BuildKit's `value`) is kept
/// as the file's lines, joined when read ([`Text::lines`]). Most of a Dockerfile's bytes are
/// in such instructions (long `RUN a \ && b` chains), and joining them copied every byte
/// twice. Anything else (`None`) goes through [`build`], which gives the same instruction for
/// these.
fn continued_shell<'a>(src: &'a str, pieces: &[(usize, usize)], escape: u8) -> Option<Instruction<'a>> {
    let b = src.as_bytes();
    let &[(ts, pe0), .., (_, last_end)] = pieces else {
        return None;
    };
    let ce = ts + run_without(&b[ts..pe0], RE_WS);
    let keyword = Keyword::from_prefix(&b[ts..], ce - ts);
    // (The word must end within the first line: `RUN\` + `x` joins into one word.)
    if ce == pe0 || !matches!(keyword, Keyword::Run | Keyword::Cmd | Keyword::Entrypoint) {
        return None;
    }
    if keyword == Keyword::Run && memchr::memchr(b'<', &b[ts..last_end]).is_some() {
        return None;
    }
    // The blanks after the word, across lines.
    let (mut k, mut p) = (0, ce);
    loop {
        p += run_within(&b[p..pieces[k].1], RE_WS);
        if p < pieces[k].1 {
            break;
        }
        k += 1;
        p = pieces.get(k)?.0;
    }
    let mut flags = Flags::new();
    let rs = if b[p] == b'-' || is_space_byte(b[p]) {
        // Flags, line by line (BuildKit splits them out of the joined text: the same when each
        // flag is a plain word within one line and every line of flags ends with a blank).
        loop {
            let end = pieces[k].1;
            let (words, r) = extract_flags(b, p, end);
            for (text, fs, fe) in words {
                if text.is_some() {
                    return None;
                }
                flags.push(Flag {
                    text: Cow::Borrowed(src.get(fs..fe)?),
                    span: Span::new(fs, fe),
                });
            }
            if r < end {
                // (A `-` that ends the line may start a flag on the next: `-\` + `-x`.)
                if b[r] == b'-' && r + 1 == end {
                    return None;
                }
                break r;
            }
            if end > pieces[k].0 && !is_space_byte(b[end - 1]) {
                return None;
            }
            k += 1;
            p = pieces.get(k)?.0;
        }
    } else {
        p
    };
    // The command starts with a plain byte: not a JSON array.
    let c = b[rs];
    if c >= 0x80 || c == b'[' || is_space_byte(c) {
        return None;
    }
    // The end of the command: the end of the last piece with more than spaces in it.
    let (m, fe) = pieces.iter().enumerate().rev().find_map(|(i, &(s, e))| {
        let (s, e) = goish::trim_space_range(b, s, e);
        (s < e).then_some((i, e))
    })?;
    // A value ending in an escape character would read as continued when joined.
    if fe <= rs || b[fe - 1] == escape {
        return None;
    }
    let raw = src.get(rs..fe)?;
    let value = if m == k {
        Text::new(Cow::Borrowed(raw))
    } else {
        Text::lines(raw)
    };
    let span = Span::new(rs, fe);
    Some(Instruction {
        cmd: Cow::Borrowed(src.get(ts..ce)?),
        keyword,
        sub: None,
        json: false,
        original: Text::new(Cow::Borrowed("")),
        start_line: 0,
        end_line: 0,
        flags,
        args: Args::one(Arg { value, span }),
        heredocs: Vec::new(),
        span: Span::new(ts, fe),
        cmd_span: Span::new(ts, ce),
        args_span: span,
    })
}

/// Reads the bodies of `markers` (the heredocs of `ins`, whose last line is `last`) from
/// `lines`, attaches them, and returns the new last line (the final delimiter's). `at` is the
/// instruction's first line and offset, for errors. (Out of line: few instructions have
/// heredocs.)
#[inline(never)]
fn heredoc_bodies<'a>(
    lines: &mut Lines<'a>,
    j: &Joined<'a>,
    ins: &mut Instruction<'a>,
    markers: heredoc::Markers,
    mut last: RawLine,
    (start_line, ins_start): (usize, usize),
) -> Result<RawLine, Error> {
    let src = lines.src;
    ins.heredocs.reserve_exact(markers.len());
    for m in markers {
        // (The markers were read from the instruction's text, `j`.)
        let name = match m.name {
            heredoc::MarkerName::At(a, b) => j.text(a, b),
            heredoc::MarkerName::Lexed(s) => Cow::Owned(s),
        };
        let body_start = last.end;
        // The body lines are contiguous in the file: `body_start..body_end`.
        let mut body_end = body_start;
        let mut terminated = false;
        while let Some(l) = lines.next() {
            last = l;
            let le = l.text_end;
            let mut ps = l.start;
            if m.chomp {
                while ps < le && src[ps] == b'\t' {
                    ps += 1;
                }
            }
            if &src[ps..le] == name.as_bytes() {
                terminated = true;
                break;
            }
            body_end = l.end;
        }
        if !terminated {
            lines.check()?;
            return Err(error_at(
                src,
                format!("unterminated heredoc: no line `{name}` ends the heredoc started here"),
                start_line,
                Span::new(ins_start, src.len()),
            ));
        }
        ins.heredocs.push(Heredoc {
            name,
            file_descriptor: m.fd,
            content: file_text(src, j.src_str, body_start, body_end),
            chomp: m.chomp,
            expand: m.expand,
            span: Span::new(body_start, last.text_end),
        });
    }
    // BuildKit's `original` goes on with each body and its delimiter line: built once, at its
    // final size.
    let size = ins
        .heredocs
        .iter()
        .map(|h| h.content.len() + h.name.len() + 1)
        .sum::<usize>();
    let line = ins.original.text();
    let mut original = String::with_capacity(line.len() + 1 + size);
    original.push_str(&line);
    original.push('\n');
    for h in &ins.heredocs {
        original.push_str(&h.content);
        original.push_str(&h.name);
        original.push('\n');
    }
    ins.original = Text::new(Cow::Owned(original));
    Ok(last)
}

/// A file whose offsets fit a [`Span`] (under 4 GiB), or the error for it.
fn check_size(src: &[u8]) -> Result<(), Error> {
    if u32::try_from(src.len()).is_ok() {
        Ok(())
    } else {
        Err(too_large(src.len()))
    }
}

/// The error for a file whose offsets do not fit a [`Span`].
#[cold]
fn too_large(len: usize) -> Error {
    Error {
        message: format!("file of {len} bytes is too large (imgopt reads Dockerfiles under 4 GiB)"),
        line: 1,
        column: 1,
        span: Span::new(0, 0),
    }
}

struct Parser<'a> {
    src: &'a [u8],
    /// `src` as `str`, when it is valid UTF-8.
    src_str: Option<&'a str>,
    lines: Lines<'a>,
    dir: DirectiveBlock<'a>,
    instructions: Vec<Instruction<'a>>,
    warnings: Vec<ParseWarning>,
}

impl<'a> Parser<'a> {
    fn new(src: &'a [u8], src_str: Option<&'a str>) -> Self {
        Self {
            src,
            src_str,
            lines: Lines {
                src,
                pos: 0,
                number: 0,
                newlines: goish::Newlines::new(src),
                error: None,
            },
            dir: DirectiveBlock {
                escape: b'\\',
                done: false,
                found: Directives::default(),
            },
            instructions: Vec::new(),
            warnings: Vec::new(),
        }
    }

    fn run(mut self) -> Result<Dockerfile<'a>, Error> {
        let src = self.src;
        // The corpus averages one instruction per 120 bytes; growing a vector of 200-byte
        // instructions one doubling at a time costs more than a generous first guess.
        self.instructions.reserve((src.len() / 64 + 4).min(1 << 16));
        let mut j = Joined::new(src, self.src_str);
        while let Some(first) = self.lines.next() {
            let mut start = first.start;
            if first.number == 1 && src[start..first.end].starts_with(BOM) {
                start += BOM.len();
            }
            let e = first.text_end.max(start);
            let ts = start + goish::leading_space_len(&src[start..e]);
            if !self.dir.done {
                self.dir.consider(src, self.src_str, ts, e, first.number)?;
            }
            if ts < e && src[ts] == b'#' {
                continue;
            }
            let (pe, mut cont) = trim_continuation(src, ts, e, self.dir.escape);
            if !cont && pe == ts {
                continue;
            }
            // The pieces of the instruction's text in the file (each line without its escape
            // character and line break).
            let mut pieces = SmallVec::<[(usize, usize); 16]>::new();
            pieces.push((ts, pe));
            let start_line = first.number;
            let mut last = first;
            let mut has_empty = false;
            while cont {
                let Some(l) = self.lines.next() else {
                    self.lines.check()?;
                    break;
                };
                last = l;
                match continuation_line(src, l.start, l.text_end, self.dir.escape) {
                    ContinuationLine::Blank => has_empty = true,
                    ContinuationLine::Comment => {}
                    ContinuationLine::Piece { end, continues } => {
                        pieces.push((l.start, end));
                        cont = continues;
                    }
                }
            }
            let continued = pieces.len() > 1;
            let fast = match self.src_str {
                Some(text) if continued => continued_shell(text, &pieces, self.dir.escape),
                _ => None,
            };
            let took_fast = fast.is_some();
            if cfg!(debug_assertions) || !took_fast {
                j.clear();
                for &(a, b) in &pieces {
                    j.push(a, b);
                }
            }
            let ins_start = if let Some(ins) = fast {
                // (Every test, the corpus and the property tests among them, checks that the
                // general path builds the same instruction.)
                #[cfg(debug_assertions)]
                {
                    let mut general = Vec::new();
                    let built = build(&j, 0, j.len(), self.dir.escape, 0, &mut general);
                    debug_assert!(built.is_ok() && general.first() == Some(&ins), "{ins:?} vs {general:?}");
                }
                self.instructions.push(ins);
                ts
            } else {
                let cmd_pos = match build(&j, 0, j.len(), self.dir.escape, 0, &mut self.instructions) {
                    Ok(pos) => pos,
                    Err(e) => {
                        let at = j.at(e.pos);
                        let span = Span::new(at, last.text_end.max(at));
                        return Err(error_at(src, e.message, start_line, span));
                    }
                };
                // Normally the instruction word; for an instruction whose first line is a bare
                // escape character, that character (so the span covers `start_line`).
                j.at(cmd_pos).min(ts)
            };
            let Some(ins) = self.instructions.last_mut() else {
                continue;
            };
            ins.start_line = start_line;
            // Continued over several lines of a UTF-8 file: joined only when asked for.
            ins.original = match self.src_str.filter(|_| continued).and_then(|s| s.get(ts..last.end)) {
                Some(raw) => {
                    // (Every test, the corpus and the property tests among them, checks that
                    // joining later gives the text joined here.)
                    debug_assert_eq!(join_lines(raw), j.text(0, j.len()), "lazy original");
                    Text::lines(raw)
                }
                _ => Text::new(j.text(0, j.len())),
            };
            if has_empty {
                self.warnings.push(ParseWarning {
                    message: format!("Empty continuation line found in: {}", ins.original),
                    line: last.number,
                    span: Span::new(last.start, last.text_end),
                });
            }
            // (The fast path took only instructions without `<`.)
            if !took_fast && can_contain_heredoc(ins) {
                let markers = heredoc::markers(j.bytes())
                    .map_err(|e| error_at(src, e.0, start_line, Span::new(ins_start, last.text_end)))?;
                if !markers.is_empty() {
                    let at = (start_line, ins_start);
                    last = heredoc_bodies(&mut self.lines, &j, ins, markers, last, at)?;
                }
            }
            ins.end_line = last.number;
            let mut sub = ins.sub.as_deref_mut();
            while let Some(s) = sub {
                (s.start_line, s.end_line) = (start_line, last.number);
                sub = s.sub.as_deref_mut();
            }
            ins.span = Span::new(ins_start, last.text_end.max(ins_start));
        }
        self.lines.check()?;
        if self.instructions.is_empty() {
            // The end of the file: after a final line break that is the (empty) next line.
            let n = memchr::memchr_iter(b'\n', src).count() + 1;
            let ls = line_start_of(src, src.len());
            return Err(Error {
                message: "file with no instructions".into(),
                line: n,
                column: col(src, ls, src.len()),
                span: Span::new(src.len(), src.len()),
            });
        }
        Ok(Dockerfile {
            directives: self.dir.found,
            escape: self.dir.escape as char,
            instructions: self.instructions,
            warnings: self.warnings,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(src: &str) -> Instruction<'_> {
        let df = parse(src.as_bytes()).unwrap();
        assert_eq!(df.instructions.len(), 1, "{df:#?}");
        df.instructions.into_iter().next().unwrap()
    }

    #[test]
    fn continuation_skips_comments_and_blank_lines() {
        let i = one("RUN a \\\n# note\n\n  b\n");
        assert_eq!(i.values(), ["a   b"]);
        assert_eq!((i.start_line, i.end_line), (1, 4));
        assert_eq!(i.span, Span::new(0, 19));
    }

    #[test]
    fn flags_keep_spans_and_lose_quotes() {
        let src = "COPY --chown=\"a b\" --link src dst\n";
        let i = one(src);
        assert_eq!(i.flags[0].text, "--chown=a b");
        assert_eq!(&src[i.flags[0].span.range()], "--chown=\"a b\"");
        assert_eq!(i.flags[1].name(), "link");
        assert_eq!(i.values(), ["src", "dst"]);
        assert_eq!(&src[i.args[1].span.range()], "dst");
    }

    #[test]
    fn env_forms() {
        assert_eq!(one("ENV a=1 b=\"x y\"").values(), ["a", "1", "b", "\"x y\""]);
        assert_eq!(one("ENV a 1 2").values(), ["a", "1 2"]);
        assert_eq!(parse(b"ENV a").unwrap_err().message, "ENV must have two arguments");
    }

    #[test]
    fn heredoc_body_and_terminator() {
        let src = "RUN <<-EOF cat\n\thello\n\tEOF\nFROM x\n";
        let df = parse(src.as_bytes()).unwrap();
        let h = &df.instructions[0].heredocs[0];
        assert_eq!(h.content, "\thello\n");
        assert_eq!(&src[h.span.range()], "\thello\n\tEOF");
        assert_eq!(df.instructions[1].start_line, 4);
        let err = parse(b"RUN <<EOF\nno end\n").unwrap_err();
        assert!(err.message.starts_with("unterminated heredoc"), "{err}");
    }

    #[test]
    fn escape_directive_switches_continuation() {
        let df = parse(b"# escape=`\nRUN a `\n b\\\n").unwrap();
        assert_eq!(df.escape, '`');
        assert_eq!(df.instructions[0].values(), ["a  b\\"]);
    }

    #[test]
    fn files_too_large_for_spans_are_rejected() {
        // (The zeroed buffer is mapped, not touched: the size is checked first.)
        let huge = vec![0u8; 1 << 32];
        let err = parse(&huge).unwrap_err();
        drop(huge);
        assert_eq!((err.line, err.column), (1, 1));
        assert_eq!(
            err.message,
            "file of 4294967296 bytes is too large (imgopt reads Dockerfiles under 4 GiB)"
        );
        assert!(
            u32::try_from((1usize << 32) - 1).is_ok(),
            "the largest file accepted still fits"
        );
        assert_eq!(
            Span::new(1 << 32, usize::MAX).range(),
            u32::MAX as usize..u32::MAX as usize
        );
    }

    #[test]
    fn directive_block_as_buildkit_reads_it() {
        // Names in any case, values trimmed, kept in name order; the block ends at the first
        // line that is not a known directive, so a later `# syntax=` is a plain comment.
        let src = "#  SYNTAX = docker/dockerfile:1.7  \n# Check=skip=all\n# other=x\n# escape=`\nFROM a\n";
        let df = parse(src.as_bytes()).unwrap();
        let got: Vec<_> = df.directives.iter().map(|d| (d.name, &*d.value, d.line)).collect();
        assert_eq!(got, [("check", "skip=all", 2), ("syntax", "docker/dockerfile:1.7", 1)]);
        assert_eq!(df.escape, '\\');
        assert_eq!(
            &src[df.directives.get("syntax").unwrap().span.range()],
            "#  SYNTAX = docker/dockerfile:1.7  "
        );
        assert!(matches!(df.directives.get("syntax").unwrap().value, Cow::Borrowed(_)));
        assert_eq!(df.directives.len(), 2);
        let json = serde_json::to_value(&df.directives).unwrap();
        assert_eq!(json["check"]["value"], "skip=all");
        assert_eq!(
            json.as_object().unwrap().keys().collect::<Vec<_>>(),
            ["check", "syntax"]
        );
        // Invalid UTF-8 is replaced, as Go's string conversion does.
        let df = parse(b"# syntax=a\xffb\nFROM a\n").unwrap();
        assert_eq!(df.directives.get("syntax").unwrap().value, "a\u{fffd}b");
        assert!(parse(b"FROM a\n").unwrap().directives.is_empty());
        // A name twice, or an escape other than ` and \, is an error at that line.
        let err = parse(b"# syntax=a\n# Syntax=b\nFROM a\n").unwrap_err();
        assert_eq!(
            (err.line, err.message.as_str()),
            (2, "only one syntax parser directive can be used")
        );
        let err = parse(b"# escape=x\nFROM a\n").unwrap_err();
        assert_eq!(err.line, 1);
        assert!(err.message.starts_with("invalid escape token 'x'"), "{err}");
    }

    #[test]
    fn json_form_as_go_decides_it() {
        // Go's decoder reads one value and ignores the rest.
        let i = one("CMD [\"a\"] trailing");
        assert!(i.json);
        assert_eq!(i.values(), ["a"]);
        // Single quotes are not JSON: shell form, text kept.
        let i = one("CMD ['a']");
        assert!(!i.json);
        assert_eq!(i.values(), ["['a']"]);
        // COPY falls back to splitting at whitespace.
        assert_eq!(one("COPY [\"a\" b").values(), ["[\"a\"", "b"]);
    }

    #[test]
    fn flags_are_read_byte_by_byte() {
        // BuildKit's flag splitter treats each byte as a character: é (C3 A9) becomes "Ã©".
        let i = one("RUN --x=\u{e9} true");
        assert_eq!(i.flags[0].text, "--x=\u{c3}\u{a9}");
        // A lone `--` ends the flags.
        let i = one("RUN --a -- --b c");
        assert_eq!(i.flags.len(), 1);
        assert_eq!(i.values(), ["--b c"]);
    }

    #[test]
    fn keywords_lowercase_like_go() {
        // U+212A KELVIN SIGN lower-cases to `k`.
        let df = parse("FROM a\nWOR\u{212a}DIR /x\n".as_bytes()).unwrap();
        assert_eq!(df.instructions[1].keyword, Keyword::Workdir);
        assert_eq!(df.instructions[1].values(), ["/x"]);
    }

    #[test]
    fn unknown_words_and_bare_escape_lines() {
        let i = one("BOGUS whatever here");
        assert_eq!(i.keyword, Keyword::Unknown);
        assert_eq!(i.values(), [""]);
        // An instruction whose first line is a bare escape character starts on that line.
        let df = parse(b"\\\nRUN x\n").unwrap();
        assert_eq!(df.instructions[0].cmd, "RUN");
        assert_eq!((df.instructions[0].start_line, df.instructions[0].span.start()), (1, 0));
    }

    #[test]
    fn continued_commands_read_as_buildkit_joins_them() {
        // Continued RUN/CMD lines, some for the path that keeps the file's lines and some that
        // must leave it (in debug builds every parse also compares the two paths).
        let cases: &[(&str, &[&str], &[&str])] = &[
            ("RUN a \\\n  b \\\n  c\n", &[], &["a   b   c"]),
            ("RUN -\\\n-mount=x cmd\n", &["--mount=x"], &["cmd"]),
            ("RUN\\\n x \\\n y\n", &[], &["x  y"]),
            ("RUN --a=1\\\n--b=2 c \\\n d\n", &["--a=1--b=2"], &["c  d"]),
            (
                "RUN --a=1 \\\n  --b=2 \\\n  c \\\n  d\n",
                &["--a=1", "--b=2"],
                &["c   d"],
            ),
            ("RUN a \\\n b \\ \\\n", &[], &["a  b \\"]),
            ("RUN --mount=\"x y\" \\\n cmd\n", &["--mount=x y"], &["cmd"]),
            ("CMD echo \\\n hi\n", &[], &["echo  hi"]),
            ("RUN a \\\n # comment\n\n b\n", &[], &["a  b"]),
            ("RUN a \\\n b <<EOF\nbody\nEOF\n", &[], &["a  b <<EOF"]),
            ("RUN [\"a\", \\\n \"b\"]\n", &[], &["a", "b"]),
        ];
        for (body, flags, values) in cases {
            let src = format!("FROM x\n{body}");
            let df = parse(src.as_bytes()).unwrap_or_else(|e| panic!("{body:?}: {e:?}"));
            let ins = &df.instructions[1];
            let got: Vec<&str> = ins.flags.iter().map(|f| &*f.text).collect();
            assert_eq!(
                (&got[..], ins.values()),
                (*flags, values.iter().map(|v| Cow::Borrowed(*v)).collect()),
                "{body:?}"
            );
            // The command's span runs from its first byte to its last in the file.
            let last = ins.args.last().map(|a| &src[a.span.range()]).unwrap_or_default();
            let want = if ins.json {
                "\""
            } else {
                values.last().map_or("", |v| &v[v.len() - 1..])
            };
            assert!(last.ends_with(want), "{body:?}");
        }
    }

    #[test]
    fn plain_pairs_and_words_agree_with_the_lexer() {
        let texts = [
            "A=1",
            "PATH=/usr/local/bin:$PATH",
            "a=b c=d  e=",
            "=x",
            "k=a=b",
            " \tA=1\x0b B=2 ",
            "A=1 B",
            "A 1",
            "A=\"x y\"",
            "A='x'",
            "A=x\\ y",
            "A=\u{e9}",
            "V=1.0",
            "x",
            "",
            "  ",
        ];
        for text in texts {
            let mut j = Joined::new(text.as_bytes(), Some(text));
            j.push(0, text.len());
            let words = lex_words(text.as_bytes(), 0, text.len(), b'\\');
            // ARG: the lexer's words, where the fast path takes the text.
            if is_plain(text.as_bytes(), 0, text.len(), b'\\') {
                assert_eq!(parse_words(text.as_bytes(), 0, text.len(), b'\\'), words, "{text:?}");
            }
            // ENV: each word split at its first `=`.
            if let Some(args) = plain_pairs(&j, 0, text.len()) {
                let mut want = Vec::new();
                for &(x, y) in &words {
                    let eq = x + text[x..y].find('=').expect("every word has `=` on the fast path");
                    want.extend([j.text_arg(x, eq), j.text_arg(eq + 1, y)]);
                }
                assert_eq!(&args[..], &want[..], "{text:?}");
            }
        }
        // Both take the plain texts; neither takes quotes, escapes or non-ASCII bytes.
        let takes = |t: &str| {
            let mut j = Joined::new(t.as_bytes(), Some(t));
            j.push(0, t.len());
            (
                is_plain(t.as_bytes(), 0, t.len(), b'\\'),
                plain_pairs(&j, 0, t.len()).is_some(),
            )
        };
        assert_eq!(takes("a=b c=d"), (true, true));
        assert_eq!(takes("a=b c"), (true, false));
        for t in ["A=\"x y\"", "A='x'", "A=x\\ y", "A=\u{e9}"] {
            assert_eq!(takes(t), (false, false), "{t:?}");
        }
    }

    #[test]
    fn the_tree_serializes_joined_text_and_flag_parts() {
        let df = parse(b"FROM a\nRUN --mount=type=cache,target=/c a \\\n  b\n").unwrap();
        let v = serde_json::to_value(&df.instructions[1]).unwrap();
        assert_eq!(v["original"], "RUN --mount=type=cache,target=/c a   b");
        assert_eq!(v["args"][0]["value"], "a   b");
        assert_eq!(
            (&v["flags"][0]["name"], &v["flags"][0]["value"]),
            (&"mount".into(), &"type=cache,target=/c".into())
        );
        // Detached from the file, it serializes the same.
        assert_eq!(
            serde_json::to_value(df.clone().into_owned().instructions[1].clone()).unwrap(),
            v
        );
    }

    #[test]
    fn plain_words_split_as_the_lexer_splits_them() {
        let plain = [
            "",
            " ",
            "a",
            "VERSION=1.0",
            "  a=b \tc=d\x0b e\x0c\r f  ",
            "PATH=/usr/bin:$PATH",
            "x=`y`",
            "a=b=c  d",
        ];
        for text in plain {
            for escape in [b'\\', b'`'] {
                if text.contains('`') && escape == b'`' {
                    continue;
                }
                let t = text.as_bytes();
                assert_eq!(
                    parse_words(t, 0, t.len(), escape),
                    lex_words(t, 0, t.len(), escape),
                    "{text:?}"
                );
            }
        }
        // Texts the fast path must leave to the lexer.
        for text in ["a=\"b c\"", "a='b c'", "a=b\\ c", "a=\u{a0}b", "k=v`"] {
            let t = text.as_bytes();
            assert_eq!(
                parse_words(t, 0, t.len(), b'`'),
                lex_words(t, 0, t.len(), b'`'),
                "{text:?}"
            );
            assert_eq!(
                parse_words(t, 0, t.len(), b'\\'),
                lex_words(t, 0, t.len(), b'\\'),
                "{text:?}"
            );
        }
    }

    #[test]
    fn values_borrow_from_the_file_unless_they_cannot() {
        let borrowed = |c: &Cow<'_, str>| matches!(c, Cow::Borrowed(_));
        let src = "FROM --platform=$P a AS b\nENV k=v \\\n  x=\"y z\"\nRUN a \\\n b\nCOPY [\"s\", \"d\\u0041\"] --chown=\"u\" x\nRUN --network=\"none\" c \\\n d\n";
        let df = parse(src.as_bytes()).unwrap();
        let [from, env, run, copy, run_flag] = &df.instructions[..] else {
            panic!("{df:#?}")
        };
        // One line: everything is a slice of the file.
        assert!(borrowed(&from.cmd) && from.original.borrows_file());
        assert!(from.args.iter().all(|a| a.value.borrows_file()));
        let f = &from.flags[0];
        assert!(borrowed(&f.text) && (f.name(), f.value()) == ("platform", Some("$P")));
        // Values within one line of a continued instruction are still borrowed. `original`,
        // and the command of a continued shell-form RUN (unless a flag has quotes), keep the
        // file's lines, joined when asked; other values that cross a continuation are copied.
        assert!(env.args.iter().all(|a| a.value.borrows_file()), "{env:#?}");
        assert_eq!(env.values(), ["k", "v", "x", "\"y z\""]);
        assert!(env.original.borrows_file() && run.args[0].value.borrows_file());
        assert_eq!(env.original, "ENV k=v   x=\"y z\"");
        assert_eq!(run.values(), ["a  b"]);
        assert_eq!(
            (run.args[0].span, run.span),
            (
                Span::new(src.find("a \\").unwrap(), src.find("b\nCOPY").unwrap() + 1),
                run.span
            )
        );
        assert!(!run_flag.args[0].value.borrows_file());
        assert_eq!(run_flag.values(), ["c  d"]);
        // A JSON string with an escape is decoded; one without is borrowed.
        assert_eq!(copy.values(), ["s", "dA"]);
        assert!(copy.args[0].value.borrows_file() && !copy.args[1].value.borrows_file());
        // Detached from the file, the tree is the same.
        let owned = df.clone().into_owned();
        assert_eq!(owned, df);
        // A heredoc delimiter as written is borrowed; one with quotes removed is not.
        let df = parse(b"FROM a\nRUN 3<<-EOF <<X cat\n\tx\n\tEOF\nX\nRUN <<'Q'\ny\nQ\n").unwrap();
        let h = df.instructions[1..].iter().flat_map(|i| &i.heredocs);
        let h = h.map(|h| (&*h.name, borrowed(&h.name), h.file_descriptor, h.chomp));
        assert_eq!(
            h.collect::<Vec<_>>(),
            [("EOF", true, 3, true), ("X", true, 0, false), ("Q", false, 0, false)]
        );
    }

    #[test]
    fn text_and_bytes_entries_agree() {
        for src in [
            "FROM a\nRUN x \\\n  y\n",
            "\u{feff}FROM a\nRUN <<EOF\nbody\nEOF\n",
            "FROM é\n",
        ] {
            assert_eq!(parse(src.as_bytes()), parse_str(src));
        }
    }

    #[test]
    fn lines_longer_than_a_word() {
        // A line end at every offset within a machine word, and at the end of the file.
        for pad in 1..20 {
            let src = format!("FROM a\nRUN {}\nUSER u", "x".repeat(pad));
            let df = parse_str(&src).expect("valid");
            assert_eq!(df.instructions[1].args[0].value, "x".repeat(pad).as_str(), "pad {pad}");
            assert_eq!(
                (df.instructions[2].start_line, &*df.instructions[2].original.text()),
                (3, "USER u")
            );
        }
    }

    #[test]
    fn bufio_line_limit() {
        let ok = [b"RUN ".as_slice(), &vec![b'x'; 65_531], b"\n"].concat();
        assert_eq!(ok.len(), 65_536);
        assert!(parse(&ok).is_ok());
        let long = [b"RUN ".as_slice(), &vec![b'x'; 65_532], b"\n"].concat();
        let err = parse(&long).unwrap_err();
        assert_eq!(err.message, "dockerfile line greater than max allowed size of 65535");
        // The same error, at its line, wherever the line is: continuing an instruction, in a
        // heredoc body, or after the last instruction.
        let x = vec![b'x'; 65_536];
        for (src, line) in [
            ([b"FROM a\nRUN a \\\n".as_slice(), &x, b"\n"].concat(), 3),
            ([b"FROM a\nRUN <<EOF\nbody\n".as_slice(), &x, b"\nEOF\n"].concat(), 4),
            ([b"FROM a\n# comment\n".as_slice(), &x].concat(), 3),
        ] {
            let err = parse(&src).unwrap_err();
            assert_eq!(
                (err.message.as_str(), err.line),
                ("dockerfile line greater than max allowed size of 65535", line)
            );
        }
    }

    #[test]
    fn heredoc_markers_only_on_run_copy_add_in_shell_form() {
        let df = parse(b"FROM a\nCMD <<EOF\nRUN [\"<<EOF\"]\nONBUILD RUN <<X\nbody\nX\n").unwrap();
        assert_eq!(df.instructions.len(), 4);
        assert!(df.instructions[1].heredocs.is_empty() && df.instructions[2].heredocs.is_empty());
        assert_eq!(df.instructions[3].heredocs[0].content, "body\n");
        let sub = df.instructions[3].sub.as_deref().unwrap();
        assert_eq!((sub.keyword, sub.start_line, sub.end_line), (Keyword::Run, 4, 6));
        assert_eq!(sub.original, "RUN <<X");
    }

    #[test]
    fn errors_have_line_and_column() {
        let err = parse(b"FROM a\n  CMD [\"a\", 1]\n").unwrap_err();
        assert_eq!((err.line, err.column), (2, 3));
        assert_eq!(parse(b"\n# only\n").unwrap_err().message, "file with no instructions");
    }
}

//! Continuation lines and the joined text of an instruction.

use std::borrow::Cow;

use smallvec::SmallVec;

use super::super::goish::{self, lossy};
use super::super::{Arg, Span, Text};
use super::lines::content_end;

/// BuildKit's line-continuation rule: the line ends with the escape character, optionally
/// followed by spaces and tabs, and the character before it is not the escape character.
/// Returns the end of the kept text and whether the line continues.
pub(super) fn trim_continuation(b: &[u8], start: usize, end: usize, escape: u8) -> (usize, bool) {
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

/// A line read while an instruction continues (BuildKit's rule, shared by `Parser::run` and
/// [`join_lines`]).
pub(super) enum ContinuationLine {
    /// Blanks only: skipped (BuildKit warns of it).
    Blank,
    /// A comment: skipped.
    Comment,
    /// A piece of the instruction up to `end` (before the escape character, if it continues).
    Piece { end: usize, continues: bool },
}

/// What the line `b[start..text_end]` (without its line break) adds to a continued instruction.
pub(super) fn continuation_line(b: &[u8], start: usize, text_end: usize, escape: u8) -> ContinuationLine {
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
/// text from the instruction word through the last line `Parser::run` read for it, joined
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
pub(super) struct Joined<'a> {
    pub(super) src: &'a [u8],
    /// The file as `str`, when it is valid UTF-8.
    pub(super) src_str: Option<&'a str>,
    /// The single piece `src[one.0..one.1]`, while there is only one.
    pub(super) one: Option<(usize, usize)>,
    /// The joined text of several pieces, for a UTF-8 file.
    pub(super) buf_str: String,
    /// The joined text of several pieces, for a file that is not UTF-8.
    pub(super) buf: Vec<u8>,
    /// (offset in the text, offset in the file) for each piece, once there are two or more.
    pub(super) segs: SmallVec<[(usize, usize); 16]>,
}

impl<'a> Joined<'a> {
    pub(super) fn new(src: &'a [u8], src_str: Option<&'a str>) -> Self {
        Self {
            src,
            src_str,
            one: None,
            buf_str: String::new(),
            buf: Vec::new(),
            segs: SmallVec::new(),
        }
    }

    pub(super) fn clear(&mut self) {
        self.one = None;
        self.buf_str.clear();
        self.buf.clear();
        self.segs.clear();
    }

    /// Appends the file's bytes `start..end`.
    pub(super) fn push(&mut self, start: usize, end: usize) {
        if self.one.is_none() && self.segs.is_empty() {
            // One piece (most instructions): `segs` stays empty until a second one comes.
            self.one = Some((start, end));
            return;
        }
        if let Some((a, b)) = self.one.take() {
            self.segs.push((0, a));
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

    #[inline]
    pub(super) fn bytes(&self) -> &[u8] {
        match self.one {
            Some((a, b)) => &self.src[a..b],
            None if self.src_str.is_some() => self.buf_str.as_bytes(),
            None => &self.buf,
        }
    }

    /// The text as `str`, when it is valid UTF-8 as a whole.
    pub(super) fn as_str(&self) -> Option<&str> {
        let s = self.src_str?;
        match self.one {
            Some((a, b)) => s.get(a..b),
            None => Some(&self.buf_str),
        }
    }

    #[inline]
    pub(super) fn len(&self) -> usize {
        self.bytes().len()
    }

    /// Text range `a..b` as a string (invalid UTF-8 as U+FFFD, Go-style): borrowed from the
    /// file when the range lies within one piece, else a copy of the joined text.
    #[inline]
    pub(super) fn text(&self, a: usize, b: usize) -> Cow<'a, str> {
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
    pub(super) fn at(&self, pos: usize) -> usize {
        if let Some((s, _)) = self.one {
            return s + pos;
        }
        let i = self.segs.partition_point(|s| s.0 <= pos).saturating_sub(1);
        let (tp, fp) = self.segs[i];
        fp + (pos - tp)
    }

    /// The file span of text range `a..b`.
    #[inline]
    pub(super) fn span(&self, a: usize, b: usize) -> Span {
        if b <= a {
            let p = self.at(a);
            Span::new(p, p)
        } else {
            Span::new(self.at(a), self.at(b - 1) + 1)
        }
    }

    #[inline]
    pub(super) fn arg(&self, value: Cow<'a, str>, a: usize, b: usize) -> Arg<'a> {
        Arg {
            value: Text::new(value),
            span: self.span(a, b),
        }
    }

    /// The argument made of text range `a..b`.
    #[inline]
    pub(super) fn text_arg(&self, a: usize, b: usize) -> Arg<'a> {
        self.arg(self.text(a, b), a, b)
    }
}

/// The file's bytes `a..b` as text (invalid UTF-8 as U+FFFD, Go-style), borrowed when they
/// are valid UTF-8. `src_str` is the whole file as `str` when it is valid UTF-8.
pub(super) fn file_text<'a>(src: &'a [u8], src_str: Option<&'a str>, a: usize, b: usize) -> Cow<'a, str> {
    let piece = match src_str {
        Some(s) => s.get(a..b).ok_or(()),
        None => std::str::from_utf8(&src[a..b]).map_err(|_| ()),
    };
    match piece {
        Ok(p) => Cow::Borrowed(p),
        Err(()) => Cow::Owned(lossy(&src[a..b])),
    }
}

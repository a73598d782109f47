//! Lines of the file as BuildKit reads them (Go's `bufio.Scanner`).

use super::super::goish;
use super::super::{Error, Span};

/// Go's `bufio.MaxScanTokenSize`: BuildKit cannot read longer lines.
const MAX_LINE: usize = 64 * 1024;

/// One physical line of the file.
#[derive(Clone, Copy, Debug)]
pub(super) struct RawLine {
    /// Offset of the first byte.
    pub(super) start: usize,
    /// Offset after the `\n` (or the end of the file).
    pub(super) end: usize,
    /// 1-based line number.
    pub(super) number: usize,
    /// Offset of the end of the line's text: `end` without the trailing `\r` and `\n` bytes.
    pub(super) text_end: usize,
}

pub(super) struct Lines<'a> {
    pub(super) src: &'a [u8],
    pub(super) pos: usize,
    pub(super) number: usize,
    pub(super) newlines: goish::Newlines,
    /// Why reading stopped before the end of the file (a line longer than BuildKit reads).
    pub(super) error: Option<Box<Error>>,
}

impl Lines<'_> {
    /// The next line, or `None` at the end of the file or at a line BuildKit does not read
    /// (then [`Lines::check`] gives the error). (Not a `Result`, and inlined into the loops
    /// that read lines: most lines are short, and the call and the error's room in the result
    /// cost as much as finding the line end, measured.)
    #[inline(always)]
    pub(super) fn next(&mut self) -> Option<RawLine> {
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
    pub(super) fn too_long(&mut self, start: usize, end: usize) {
        self.pos = self.src.len();
        self.error = Some(Box::new(Error {
            message: format!("dockerfile line greater than max allowed size of {}", MAX_LINE - 1),
            line: self.number,
            column: 1,
            span: Span::new(start, end),
        }));
    }

    /// The error that stopped reading, if any (after `next` gave `None`).
    pub(super) fn check(&mut self) -> Result<(), Error> {
        match self.error.take() {
            Some(e) => Err(*e),
            None => Ok(()),
        }
    }
}

/// The end of a line without trailing `\r` and `\n` bytes (Go's `bytes.TrimRight(l, "\r\n")`).
pub(super) fn content_end(src: &[u8], start: usize, end: usize) -> usize {
    let mut e = end;
    while e > start && matches!(src[e - 1], b'\r' | b'\n') {
        e -= 1;
    }
    e
}

//! Lines of the file as BuildKit reads them (Go's `bufio.Scanner`).

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

/// The lines of a file, in order.
pub(super) struct Lines<'a> {
    pub(super) src: &'a [u8],
    pos: usize,
    number: usize,
}

impl<'a> Lines<'a> {
    pub(super) fn new(src: &'a [u8]) -> Self {
        Self { src, pos: 0, number: 0 }
    }

    /// The next line, `None` at the end of the file.
    ///
    /// # Errors
    /// A line longer than BuildKit reads.
    #[inline]
    pub(super) fn next(&mut self) -> Result<Option<RawLine>, Error> {
        if self.pos >= self.src.len() {
            return Ok(None);
        }
        let start = self.pos;
        let (end, has_nl) = match memchr::memchr(b'\n', &self.src[start..]) {
            Some(i) => (start + i + 1, true),
            None => (self.src.len(), false),
        };
        self.number += 1;
        let len = end - start;
        if len > MAX_LINE || (!has_nl && len >= MAX_LINE) {
            self.pos = self.src.len();
            return Err(Error {
                message: format!("dockerfile line greater than max allowed size of {}", MAX_LINE - 1),
                line: self.number,
                column: 1,
                span: Span::new(start, end),
            });
        }
        self.pos = end;
        Ok(Some(RawLine {
            start,
            end,
            number: self.number,
            text_end: content_end(self.src, start, end),
        }))
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

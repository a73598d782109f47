//! The parser: bytes in, [`Dockerfile`] out, following BuildKit v0.12.5's
//! `frontend/dockerfile/parser` behaviour (<https://github.com/moby/buildkit/tree/v0.12.5/frontend/dockerfile/parser>;
//! `tests/corpus/corpus.rs` checks it against that parser's output for 466 real Dockerfiles).
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

mod directives;
mod fast_path;
mod instruction;
mod joining;
mod lines;
mod words;

use std::borrow::Cow;

use smallvec::SmallVec;

use super::goish::{self, lossy};
use super::heredoc;
use super::{Directives, Dockerfile, Error, Heredoc, Instruction, Keyword, ParseWarning, Span, Text};
use directives::DirectiveBlock;
use fast_path::continued_shell;
use instruction::build;
pub(crate) use joining::join_lines;
use joining::{ContinuationLine, Joined, continuation_line, file_text, trim_continuation};
use lines::{Lines, RawLine, content_end};

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
/// bytes again.
///
/// # Errors
/// As [`parse`].
pub fn parse_str(src: &str) -> Result<Dockerfile<'_>, Error> {
    check_size(src.as_bytes())?;
    Parser::new(src.as_bytes(), Some(src)).run()
}

/// 1-based character column of `off` on the line starting at `line_start`.
fn col(src: &[u8], line_start: usize, off: usize) -> usize {
    let off = off.min(src.len());
    let ls = line_start.min(off);
    lossy(&src[ls..off]).chars().count() + 1
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

/// Reads the bodies of `markers` (the heredocs of `ins`, whose last line is `last`) from
/// `lines`, attaches them, and returns the new last line (the final delimiter's). `at` is the
/// instruction's first line and offset, for errors.
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
        while let Some(l) = lines.next()? {
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
            lines: Lines::new(src),
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
        // Room for the instructions at the corpus's density (one per 120 bytes) and more:
        // growing a vector of records this size one doubling at a time copies each several times.
        self.instructions.reserve((src.len() / 64 + 4).min(1 << 16));
        let mut j = Joined::new(src, self.src_str);
        while let Some(first) = self.lines.next()? {
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
                let Some(l) = self.lines.next()? else {
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
            // (Pushed first and finished in place: an instruction record is a few hundred bytes,
            // and each move of it is a copy.)
            let ins_start = if let Some(ins) = fast {
                // (Every test, the corpus and the property tests among them, checks that the
                // general path builds the same instruction.)
                #[cfg(debug_assertions)]
                {
                    let general = build(&j, 0, j.len(), self.dir.escape, 0).ok();
                    debug_assert!(general.as_ref() == Some(&ins), "{ins:?} vs {general:?}");
                }
                self.instructions.push(ins);
                ts
            } else {
                let ins = match build(&j, 0, j.len(), self.dir.escape, 0) {
                    Ok(ins) => ins,
                    Err(e) => {
                        let at = j.at(e.pos);
                        let span = Span::new(at, last.text_end.max(at));
                        return Err(error_at(src, e.message, start_line, span));
                    }
                };
                // Normally the instruction word; for an instruction whose first line is a bare
                // escape character, that character (so the span covers `start_line`).
                let at = ins.cmd_span.start().min(ts);
                self.instructions.push(ins);
                at
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
mod tests;

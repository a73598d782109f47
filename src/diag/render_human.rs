//! The one human renderer for diagnostics: rustc-style snippets via `codespan-reporting`.

use std::io::{self, Write};

use codespan_reporting::diagnostic as cs;
use codespan_reporting::files::{Error as CsError, Files as CsFiles};
use codespan_reporting::term::termcolor::{Ansi, NoColor, WriteColor};
use codespan_reporting::term::{self, Config};

use super::{Diagnostic, Files, Severity};

/// Whether to colour human output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColorChoice {
    /// ANSI colours.
    Always,
    /// Plain text.
    Never,
}

impl<'a> CsFiles<'a> for Files {
    type FileId = usize;
    type Name = &'a str;
    type Source = &'a str;

    fn name(&'a self, id: usize) -> Result<&'a str, CsError> {
        (id < self.len())
            .then(|| Files::name(self, super::FileId(id)))
            .ok_or(CsError::FileMissing)
    }

    fn source(&'a self, id: usize) -> Result<&'a str, CsError> {
        (id < self.len())
            .then(|| Files::text(self, super::FileId(id)))
            .ok_or(CsError::FileMissing)
    }

    fn line_index(&'a self, id: usize, byte_index: usize) -> Result<usize, CsError> {
        if id >= self.len() {
            return Err(CsError::FileMissing);
        }
        Ok(Files::line_index(self, super::FileId(id), byte_index))
    }

    fn line_range(&'a self, id: usize, line_index: usize) -> Result<std::ops::Range<usize>, CsError> {
        if id >= self.len() {
            return Err(CsError::FileMissing);
        }
        let fid = super::FileId(id);
        let starts = self.line_starts(fid);
        let text = Files::text(self, fid);
        let start = *starts.get(line_index).ok_or(CsError::LineTooLarge {
            given: line_index,
            max: starts.len().saturating_sub(1),
        })?;
        let end = starts.get(line_index + 1).copied().unwrap_or(text.len());
        Ok(start..end)
    }
}

/// Clamps a span to the file and to character boundaries so rendering never panics.
fn clamp(files: &Files, id: super::FileId, span: &std::ops::Range<usize>) -> std::ops::Range<usize> {
    let text = files.text(id);
    let mut s = span.start.min(text.len());
    let mut e = span.end.min(text.len()).max(s);
    while !text.is_char_boundary(s) {
        s -= 1;
    }
    while !text.is_char_boundary(e) {
        e += 1;
    }
    s..e
}

fn to_codespan(d: &Diagnostic, files: &Files) -> cs::Diagnostic<usize> {
    let sev = match d.severity {
        Severity::Error => cs::Severity::Error,
        Severity::Warning => cs::Severity::Warning,
        Severity::Info => cs::Severity::Note,
    };
    let mut out = cs::Diagnostic::new(sev).with_message(d.message.clone());
    if let Some(code) = &d.code {
        out = out.with_code(code.clone());
    }
    let labels = d
        .labels
        .iter()
        .map(|l| {
            let span = clamp(files, l.file, &l.span);
            let lab = if l.primary {
                cs::Label::primary(l.file.0, span)
            } else {
                cs::Label::secondary(l.file.0, span)
            };
            lab.with_message(l.message.clone())
        })
        .collect();
    out = out.with_labels(labels);
    let mut notes: Vec<String> = d.notes.iter().map(|n| format!("note: {n}")).collect();
    if let Some(h) = &d.help {
        notes.push(format!("help: {h}"));
    }
    out.with_notes(notes)
}

/// Writes `diagnostics` rustc-style (file, line, snippet, underline, notes, help).
pub fn render_human(
    diagnostics: &[Diagnostic],
    files: &Files,
    color: ColorChoice,
    out: &mut dyn Write,
) -> io::Result<()> {
    let config = Config::default();
    let emit = |w: &mut dyn WriteColor| -> io::Result<()> {
        for d in diagnostics {
            term::emit_to_write_style(w, &config, files, &to_codespan(d, files)).map_err(|e| match e {
                CsError::Io(io) => io,
                other => io::Error::other(other.to_string()),
            })?;
        }
        Ok(())
    };
    match color {
        ColorChoice::Always => emit(&mut Printable(Ansi::new(out))),
        ColorChoice::Never => emit(&mut Printable(NoColor::new(out))),
    }
}

/// `buf` with every control character but `\n` and `\t` (C0, DEL, and C1 as UTF-8) replaced
/// by `?`: text from the user's input (a Dockerfile, a file name inside an image) must not reach
/// a terminal as escape sequences. Borrowed when there is nothing to replace.
#[must_use]
pub fn printable(buf: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    let is_control = |b: u8| (b < 0x20 && b != b'\n' && b != b'\t') || b == 0x7F;
    let is_c1 = |i: usize| buf[i] == 0xC2 && buf.get(i + 1).is_some_and(|n| (0x80..=0x9F).contains(n));
    if !(0..buf.len()).any(|i| is_control(buf[i]) || is_c1(i)) {
        return std::borrow::Cow::Borrowed(buf);
    }
    let mut clean = Vec::with_capacity(buf.len());
    let mut i = 0;
    while i < buf.len() {
        if is_c1(i) {
            clean.push(b'?');
            i += 2;
            continue;
        }
        clean.push(if is_control(buf[i]) { b'?' } else { buf[i] });
        i += 1;
    }
    std::borrow::Cow::Owned(clean)
}

/// Writes text with every control character but `\n` and `\t` shown as `?` (see
/// [`printable`]), and passes colour changes through when `W` is a colour writer: a Dockerfile
/// (or a file name, or a message quoting either) may hold terminal escape sequences, which must
/// not reach the user's terminal as commands. Renderers that mix their own text with the
/// user's (the summary lines of `imgopt analyze`) write through it.
pub struct Printable<W>(pub W);

impl<W: Write> Write for Printable<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_all(buf).map(|()| buf.len())
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.0.write_all(&printable(buf))
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

impl<W: WriteColor> WriteColor for Printable<W> {
    fn supports_color(&self) -> bool {
        self.0.supports_color()
    }

    fn set_color(&mut self, spec: &codespan_reporting::term::termcolor::ColorSpec) -> io::Result<()> {
        self.0.set_color(spec)
    }

    fn reset(&mut self) -> io::Result<()> {
        self.0.reset()
    }
}

//! The printer: owns stdout (or the `-o` file) and stderr, verbosity and colour. The only
//! place in imgopt that writes to the terminal.
#![allow(clippy::print_stderr)]

use std::io::{self, BufWriter, IsTerminal, Write};

use anyhow::Context as _;

use crate::diag::ColorChoice;

use super::args::{Color, GlobalArgs};
use super::fs::AtomicFile;

/// How much to say on stderr.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verbosity {
    /// `-q`: errors only.
    Quiet,
    /// Normal.
    Default,
    /// `-v`: also progress notes.
    Verbose,
}

/// The width of the terminal on stdout, kept between 60 and 200 columns.
fn terminal_width() -> Option<usize> {
    let (terminal_size::Width(w), _) = terminal_size::terminal_size_of(io::stdout())?;
    Some(usize::from(w).clamp(60, 200))
}

/// Owns the output writers.
pub struct Printer {
    out: Sink,
    /// Colour for the result stream.
    pub color: ColorChoice,
    /// Colour for stderr diagnostics.
    pub err_color: ColorChoice,
    /// Verbosity for stderr.
    pub verbosity: Verbosity,
    /// Whether stderr is a terminal (progress bars only then).
    pub stderr_is_terminal: bool,
    /// Columns human output fits in: the terminal's width, or 100 when not a terminal.
    pub width: usize,
}

/// Where results go: stdout, or `-o FILE` through the one atomic writer, so a run that fails
/// leaves an earlier FILE as it was (put in place by [`Printer::finish`]).
enum Sink {
    Stdout(BufWriter<io::StdoutLock<'static>>),
    File(AtomicFile),
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Self::Stdout(w) => w.write(buf),
            Self::File(w) => w.write(buf),
        }
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        match self {
            Self::Stdout(w) => w.write_all(buf),
            Self::File(w) => w.write_all(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Self::Stdout(w) => w.flush(),
            Self::File(w) => w.flush(),
        }
    }
}

impl Printer {
    /// Opens the result stream (stdout or `-o FILE`).
    pub fn new(args: &GlobalArgs) -> anyhow::Result<Self> {
        let output = match args.output.as_slice() {
            [] => None,
            [one] => Some(one.clone()),
            many => anyhow::bail!(
                "-o/--output given {} times; this command writes one result (`imgopt check` takes -o FORMAT=PATH several times)",
                many.len()
            ),
        };
        let (out, to_terminal): (Sink, bool) = match &output {
            Some(path) if path.as_os_str() != "-" => (Sink::File(AtomicFile::create(path)?), false),
            _ => (
                Sink::Stdout(BufWriter::new(io::stdout().lock())),
                io::stdout().is_terminal(),
            ),
        };
        let no_color_env = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let decide = |terminal: bool| match args.color {
            Color::Always => ColorChoice::Always,
            Color::Never => ColorChoice::Never,
            Color::Auto if terminal && !no_color_env => ColorChoice::Always,
            Color::Auto => ColorChoice::Never,
        };
        let stderr_is_terminal = io::stderr().is_terminal();
        let verbosity = if args.quiet {
            Verbosity::Quiet
        } else if args.verbose > 0 {
            Verbosity::Verbose
        } else {
            Verbosity::Default
        };
        Ok(Self {
            out,
            color: decide(to_terminal),
            err_color: decide(stderr_is_terminal),
            verbosity,
            stderr_is_terminal,
            width: if to_terminal {
                terminal_width().unwrap_or(100)
            } else {
                100
            },
        })
    }

    /// The result stream.
    pub fn out(&mut self) -> &mut dyn Write {
        &mut self.out
    }

    /// Renders `report` in `format` to the result stream: the one call every command makes.
    pub fn render(&mut self, report: &crate::report::Report<'_>, format: crate::report::Format) -> anyhow::Result<()> {
        let style = crate::report::Style {
            color: self.color,
            width: self.width,
            verbose: self.verbosity >= Verbosity::Verbose,
        };
        crate::report::render(report, format, &style, &mut self.out).map_err(|e| match e {
            // A broken pipe stays an `io::Error` so that it exits 0.
            crate::report::RenderError::Io(io) => anyhow::Error::new(io),
            other @ crate::report::RenderError::Unsupported { .. } => anyhow::Error::new(other),
        })
    }

    /// Flushes the result stream; `-o FILE` is put in place only now.
    pub fn finish(self) -> anyhow::Result<()> {
        match self.out {
            Sink::Stdout(mut w) => w.flush().context("writing to stdout"),
            Sink::File(f) => f.commit(),
        }
    }

    /// A note on stderr, shown unless `-q`. Control characters are shown as `?`
    /// ([`crate::diag::printable`]): notes quote the user's input.
    pub fn note(&self, msg: &str) {
        if self.verbosity >= Verbosity::Default {
            Self::to_stderr(msg);
        }
    }

    /// A note on stderr, shown only with `-v`; control characters are shown as `?`.
    pub fn verbose(&self, msg: &str) {
        if self.is_verbose() {
            Self::to_stderr(msg);
        }
    }

    /// Whether `-v` was given (so callers can skip building what [`Printer::verbose`] would
    /// drop).
    #[must_use]
    pub fn is_verbose(&self) -> bool {
        self.verbosity >= Verbosity::Verbose
    }

    fn to_stderr(msg: &str) {
        let mut line = crate::diag::printable(msg.as_bytes()).into_owned();
        line.push(b'\n');
        let _ = io::stderr().lock().write_all(&line);
    }

    /// Writes diagnostics to stderr (errors in input files), rustc-style.
    pub fn diagnostics_to_stderr(&self, diags: &[crate::diag::Diagnostic], files: &crate::diag::Files) {
        let mut err = io::stderr().lock();
        let _ = crate::diag::render_human(diags, files, self.err_color, &mut err);
    }
}

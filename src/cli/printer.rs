//! The printer: owns stdout (or the `-o` file) and stderr, verbosity and colour. The only
//! place in imgopt that writes to the terminal.
#![allow(clippy::print_stderr)]

use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::PathBuf;

use anyhow::Context as _;

use crate::diag::ColorChoice;

use super::args::{Color, GlobalArgs};

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
    out: Box<dyn Write>,
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
    output_path: Option<PathBuf>,
    /// `-o FILE` is written here and renamed over FILE by [`Printer::finish`], so a run that
    /// fails leaves an earlier FILE as it was (removed on drop when not finished).
    pending: Option<PathBuf>,
}

impl Printer {
    /// Opens the result stream (stdout or `-o FILE`).
    pub fn new(args: &GlobalArgs) -> anyhow::Result<Self> {
        let mut pending = None;
        let output = match args.output.as_slice() {
            [] => None,
            [one] => Some(one.clone()),
            many => anyhow::bail!(
                "-o/--output given {} times; this command writes one result (`imgopt check` takes -o FORMAT=PATH several times)",
                many.len()
            ),
        };
        let (out, to_terminal): (Box<dyn Write>, bool) = match &output {
            Some(path) if path.as_os_str() != "-" => {
                // A new or regular file is replaced atomically; anything else (`/dev/null`, a
                // FIFO) is written in place.
                let regular = std::fs::metadata(path).map_or(true, |m| m.is_file());
                let target = if regular {
                    let name = path
                        .file_name()
                        .map_or_else(|| "out".into(), |n| n.to_string_lossy().into_owned());
                    let tmp = path.with_file_name(format!(".{name}.imgopt-{}.tmp", std::process::id()));
                    pending = Some(tmp.clone());
                    tmp
                } else {
                    path.clone()
                };
                let f = File::create(&target).with_context(|| format!("creating output file {}", path.display()))?;
                (Box::new(BufWriter::new(f)), false)
            }
            _ => (
                Box::new(BufWriter::new(io::stdout().lock())),
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
            output_path: output.filter(|p| p.as_os_str() != "-"),
            pending,
        })
    }

    /// The result stream.
    pub fn out(&mut self) -> &mut dyn Write {
        &mut *self.out
    }

    /// Renders `report` in `format` to the result stream: the one call every command makes.
    pub fn render(&mut self, report: &crate::report::Report<'_>, format: crate::report::Format) -> anyhow::Result<()> {
        let style = crate::report::Style {
            color: self.color,
            width: self.width,
            verbose: self.verbosity >= Verbosity::Verbose,
        };
        crate::report::render(report, format, &style, &mut *self.out).map_err(|e| match e {
            // A broken pipe stays an `io::Error` so that it exits 0.
            crate::report::RenderError::Io(io) => anyhow::Error::new(io),
            other => anyhow::Error::new(other),
        })
    }

    /// Flushes the result stream.
    pub fn finish(mut self) -> anyhow::Result<()> {
        self.out.flush().with_context(|| match &self.output_path {
            Some(p) => format!("writing {}", p.display()),
            None => "writing to stdout".to_string(),
        })?;
        if let (Some(tmp), Some(path)) = (self.pending.take(), self.output_path.as_ref())
            && let Err(e) = std::fs::rename(&tmp, path)
        {
            let _ = std::fs::remove_file(&tmp);
            return Err(e).with_context(|| format!("writing {}", path.display()));
        }
        Ok(())
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

impl Drop for Printer {
    /// A run that did not finish leaves no temporary file, and `-o FILE` untouched.
    fn drop(&mut self) {
        if let Some(tmp) = self.pending.take() {
            let _ = std::fs::remove_file(tmp);
        }
    }
}

//! imgopt's diagnostic model: what went wrong, where (byte spans into a file from [`Files`]),
//! and what to do instead. Used by parse errors, Dockerfile findings, policy-file errors and
//! plan-file errors alike.
//!
//! Owns: [`Diagnostic`], [`Severity`], [`Label`], the [`Files`] database, and the one human
//! renderer ([`render_human()`]), the only code that knows about `codespan-reporting`.
//! Does not: decide exit codes or write to a terminal by itself.

pub mod codes;
mod files;
mod render_human;

pub use files::{FileId, Files};
pub use render_human::{ColorChoice, Printable, printable, render_human};

use std::fmt;
use std::ops::Range;

use serde::{Deserialize, Serialize};

/// How serious a diagnostic is. Ordered: `Info < Warning < Error`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing; never fails a run unless `--fail-on info`.
    Info,
    /// Likely a problem.
    Warning,
    /// Definitely a problem; fails the run by default.
    Error,
}

impl Severity {
    /// The lower-case name used in JSON and on the command line.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Warning => "warning",
            Self::Error => "error",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A labelled span of a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Label {
    /// The file the span points into.
    pub file: FileId,
    /// Byte range, end exclusive.
    pub span: Range<usize>,
    /// Text shown under the underline (may be empty).
    pub message: String,
    /// Primary labels are underlined with `^`, secondary ones with `-`.
    pub primary: bool,
}

/// One problem to show a user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// Severity.
    pub severity: Severity,
    /// Stable code such as `DF201`, if any.
    pub code: Option<String>,
    /// One-line message.
    pub message: String,
    /// Spans to show.
    pub labels: Vec<Label>,
    /// Extra `= note:` lines.
    pub notes: Vec<String>,
    /// A `= help:` line saying what to write instead.
    pub help: Option<String>,
}

impl Diagnostic {
    /// A new diagnostic with no labels.
    #[must_use]
    pub fn new(severity: Severity, message: impl Into<String>) -> Self {
        Self {
            severity,
            code: None,
            message: message.into(),
            labels: Vec::new(),
            notes: Vec::new(),
            help: None,
        }
    }

    /// An error diagnostic.
    #[must_use]
    pub fn error(message: impl Into<String>) -> Self {
        Self::new(Severity::Error, message)
    }

    /// Sets the code.
    #[must_use]
    pub fn with_code(mut self, code: impl Into<String>) -> Self {
        self.code = Some(code.into());
        self
    }

    /// Adds a primary label.
    #[must_use]
    pub fn with_primary(mut self, file: FileId, span: Range<usize>, message: impl Into<String>) -> Self {
        self.labels.push(Label {
            file,
            span,
            message: message.into(),
            primary: true,
        });
        self
    }

    /// Adds a secondary label.
    #[must_use]
    pub fn with_secondary(mut self, file: FileId, span: Range<usize>, message: impl Into<String>) -> Self {
        self.labels.push(Label {
            file,
            span,
            message: message.into(),
            primary: false,
        });
        self
    }

    /// Adds a note.
    #[must_use]
    pub fn with_note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }

    /// Sets the help line.
    #[must_use]
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

//! Output formats. Core modules produce report models (plain data, `Serialize`); the
//! renderers here turn them into text. One folder per format, one file per report kind:
//! `human/`, `json.rs`, `markdown/`, `sarif/`.
//!
//! Owns: every byte imgopt prints as a result. Does not: compute anything.

pub mod human;
pub mod json;
pub mod markdown;
pub mod sarif;

use std::fmt;

/// An output format, chosen with `--format`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, clap::ValueEnum)]
pub enum Format {
    /// Tables and rustc-style diagnostics for people (colour on a terminal).
    Human,
    /// Versioned JSON (`schema_version`), documented in docs/.
    Json,
    /// SARIF 2.1.0 for code-scanning (commands with findings).
    Sarif,
    /// GitHub-flavoured Markdown for pull-request comments.
    Markdown,
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Human => "human",
            Self::Json => "json",
            Self::Sarif => "sarif",
            Self::Markdown => "markdown",
        })
    }
}

//! Flags every subcommand shares.

use std::path::PathBuf;

use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use clap::{Args, ValueEnum};

use crate::report::{Format, Kind};

/// The `--format` parser of one command: only the formats its report has are offered (in
/// `--help` and completions) and accepted; any other is refused by clap with exit 2.
#[must_use]
pub fn format_parser(kind: Kind) -> impl TypedValueParser<Value = Format> {
    let values = kind
        .formats()
        .iter()
        .map(|f| PossibleValue::new(f.as_str()).help(format_help(*f)));
    PossibleValuesParser::new(values).map(|name| Format::from_str(&name, false).unwrap_or(Format::Human))
}

fn format_help(f: Format) -> &'static str {
    match f {
        Format::Human => "for people: tables and rustc-style diagnostics (colour on a terminal)",
        Format::Json => "versioned JSON (schema_version 1), documented in docs/",
        Format::Sarif => "SARIF 2.1.0 for code scanning",
        Format::Markdown => "GitHub-flavoured Markdown for pull-request comments",
        Format::Junit => "JUnit XML for CI test reports",
        Format::Github => "GitHub Actions annotations (::error file=...,line=...::) and a summary",
        Format::Html => "one self-contained HTML page (inline CSS and SVG charts, no network)",
    }
}

/// When to use colour.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum Color {
    /// Colour when writing to a terminal and `NO_COLOR` is not set.
    #[default]
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

/// Global options, accepted before or after the subcommand.
#[derive(Args, Clone, Debug)]
pub struct GlobalArgs {
    /// When to colour output.
    #[arg(long, global = true, value_enum, default_value_t = Color::Auto)]
    pub color: Color,
    /// Print only results and errors.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Say on stderr what the command did: inputs read, how images were resolved, per-layer
    /// sources, bounds and search per node type, timings (the report itself is unchanged).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Write the result to FILE instead of stdout. `imgopt check` also takes FORMAT=PATH,
    /// repeatable, to write several formats in one run.
    #[arg(short, long, global = true, value_name = "FILE", action = clap::ArgAction::Append)]
    pub output: Vec<PathBuf>,
}

//! Our own BuildKit-conformant Dockerfile parser and the stage model built on it.
//!
//! Owns: turning bytes into a [`Dockerfile`] (directives, escape character, continuations,
//! heredocs, flags, JSON versus shell form, spans) exactly as BuildKit's parser does, and the
//! stage graph ([`stages`]).
//! Does not: lint (see `rules`), expand variables beyond what the stage model needs, or print.
//!
//! Why our own: DESIGN.md section 3, decision 1.

pub mod ast;
mod goish;
mod heredoc;
mod json_args;
mod parse;
pub mod print;
pub mod report;
pub mod shell;
pub mod stages;

pub use ast::{
    Arg, Args, Directive, Directives, Dockerfile, Flag, Flags, Heredoc, Instruction, Keyword, ParseWarning, Span, Text,
};
pub use parse::{parse, parse_str};
pub use print::print;
pub use stages::{Stage, StageOptions, Stages};

/// A file BuildKit's parser rejects, or one imgopt cannot read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{line}:{column}: {message}")]
pub struct Error {
    /// What is wrong, in BuildKit's words where it has them.
    pub message: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// The offending bytes.
    pub span: Span,
}

//! The command line: the only module with clap, anyhow, the tokio runtime and stdout/stderr.
//!
//! Each subcommand has its own file; each turns arguments into a library call, then hands the
//! returned report to a renderer in [`crate::report`] through the [`printer::Printer`].
#![allow(clippy::print_stderr)]

pub mod analyze;
pub mod args;
mod completions;
pub mod explain;
pub mod image;
pub mod layers;
mod parse;
pub mod plan;
pub mod printer;
pub mod source_args;

use std::io;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub use args::GlobalArgs;

/// The outcome of a command that did its job. Errors (exit 2) travel as `anyhow::Error`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitStatus {
    /// 0: success, nothing at or above the failing threshold.
    Success,
    /// 1: a gate failed (findings at `--fail-on`, a budget exceeded, a service that fits nowhere).
    Failure,
}

impl From<ExitStatus> for ExitCode {
    fn from(s: ExitStatus) -> Self {
        match s {
            ExitStatus::Success => ExitCode::from(0),
            ExitStatus::Failure => ExitCode::from(1),
        }
    }
}

/// imgopt makes container images smaller and plans how densely they pack onto nodes.
///
/// Exit codes: 0 ok; 1 a gate failed (findings at --fail-on, budget exceeded, a service that
/// fits no node); 2 imgopt could not do its job (bad input, I/O, registry, auth).
#[derive(Parser, Debug)]
#[command(name = "imgopt", version, about, long_about, max_term_width = 100)]
pub struct Cli {
    /// Options shared by every subcommand.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Subcommand, Debug)]
#[allow(clippy::large_enum_variant)]
pub enum Command {
    /// Find size and cache problems in Dockerfiles, stage-aware, with estimated savings.
    Analyze(analyze::AnalyzeArgs),
    /// Per-layer sizes, the merged filesystem, waste by kind and dive's score, read straight
    /// from a registry, an OCI layout or an archive.
    Layers(layers::LayersArgs),
    /// Plan node density: instances per node, nodes and cost for every replica, with bounds.
    Plan(plan::PlanArgs),
    /// Parse a Dockerfile as BuildKit does; print its instructions and stage graph.
    Parse(parse::ParseArgs),
    /// Print a rule's documentation (`imgopt explain DF201`), or list rules (`--list`).
    Explain(explain::ExplainArgs),
    /// Print shell completions for bash, zsh, fish, elvish or powershell.
    Completions(completions::CompletionsArgs),
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<ExitStatus> {
    let mut printer = printer::Printer::new(&cli.global)?;
    let status = match cli.command {
        Command::Completions(a) => completions::run(&a, &mut printer)?,
        Command::Parse(a) => parse::run(&a, cli.global.format, &mut printer)?,
        Command::Analyze(a) => analyze::run(&a, &cli.global, &mut printer)?,
        Command::Explain(a) => explain::run(&a, &cli.global, &mut printer)?,
        Command::Layers(a) => layers::run(&a, &cli.global, &mut printer)?,
        Command::Plan(a) => plan::run(&a, cli.global.format, &mut printer)?,
    };
    printer.finish()?;
    Ok(status)
}

/// Prints a fatal error with its cause chain and returns exit code 2 (0 for a broken pipe, as
/// ripgrep does: `imgopt layers x | head` is not a failure).
#[must_use]
pub fn report_fatal(err: &anyhow::Error) -> ExitCode {
    if err.chain().any(|c| c.downcast_ref::<io::Error>().is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)) {
        return ExitCode::from(0);
    }
    // A rendered diagnostic (e.g. a parse error with its snippet) is already complete.
    if let Some(rendered) = err.downcast_ref::<Rendered>() {
        eprint!("{}", rendered.0);
        return ExitCode::from(2);
    }
    eprintln!("error: {err}");
    for cause in err.chain().skip(1) {
        eprintln!("  caused by: {cause}");
    }
    ExitCode::from(2)
}

/// An error whose full human text (snippets included) is already rendered.
#[derive(Debug)]
pub struct Rendered(pub String);

impl std::fmt::Display for Rendered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0.trim_end())
    }
}

impl std::error::Error for Rendered {}

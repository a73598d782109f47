//! The command line: the only module with clap, anyhow, the tokio runtime and stdout/stderr.
//!
//! Each subcommand has its own file; each turns arguments into a library call, then hands the
//! returned report to a renderer in [`crate::report`] through the [`printer::Printer`].
#![allow(clippy::print_stderr)]

pub mod analyze;
pub mod args;
pub mod check;
mod completions;
pub mod diff;
pub mod explain;
pub mod fs;
pub mod image;
pub mod input;
pub mod layers;
mod manifests;
mod parse;
pub mod plan;
pub mod printer;
pub mod report;
pub mod rewrite;
pub mod source_args;
mod verbose;

use std::io;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub use args::GlobalArgs;

/// The outcome of a command that did its job. Errors (exit 2) travel as `anyhow::Error`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitStatus {
    /// 0: success, nothing at or above the failing threshold.
    Success,
    /// 1: a gate failed (findings at `--fail-on`, a service that fits nowhere).
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
/// Exit codes: 0 ok; 1 a gate failed (a finding at --fail-on, a service that fits no node
/// type, a size budget of `imgopt check`); 2 imgopt could not do its job (bad input, I/O,
/// registry, auth, a bad policy).
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
    /// What changed between two images: layers, files and packages that grew, and the total
    /// growth compressed and uncompressed.
    Diff(diff::DiffArgs),
    /// Plan node density: instances per node, nodes and cost for every replica, with bounds.
    Plan(plan::PlanArgs),
    /// Check images and Dockerfiles against size budgets in a policy file (CI gate: exit 1
    /// when a budget is exceeded).
    Check(check::CheckArgs),
    /// Rewrite a Dockerfile into a build stage and a small runtime stage, with the reason,
    /// risk and predicted saving of every change.
    Rewrite(rewrite::RewriteArgs),
    /// A capacity-planning report: one self-contained HTML page (or Markdown, or JSON) with
    /// node types, services, nodes and cost beside FFD, images, Dockerfile findings, a what-if
    /// of the proposed rewrites, and image budgets.
    Report(report::ReportArgs),
    /// Parse a Dockerfile as BuildKit does; print its instructions and stage graph.
    Parse(parse::ParseArgs),
    /// Print a rule's documentation (`imgopt explain DF201`), or list rules (`--list`).
    Explain(explain::ExplainArgs),
    /// Print shell completions for bash, zsh, fish, elvish or powershell.
    Completions(completions::CompletionsArgs),
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<ExitStatus> {
    let mut global = cli.global.clone();
    let extra_outputs = match &cli.command {
        Command::Check(_) => check::split_outputs(&mut global.output),
        _ => Vec::new(),
    };
    let mut printer = printer::Printer::new(&global)?;
    let status = match run_command(cli, &extra_outputs, &mut printer) {
        Ok(status) => status,
        Err(err) => {
            // A limit that ended the run: `-v` names it the way it names the ones a run went past.
            if let Some(hit) = verbose::ended_by(&err) {
                verbose::print(&printer, &[verbose::limit_hit(&hit)]);
            }
            return Err(err);
        }
    };
    printer.finish()?;
    Ok(status)
}

fn run_command(
    cli: Cli,
    extra_outputs: &[(crate::report::Format, std::path::PathBuf)],
    printer: &mut printer::Printer,
) -> anyhow::Result<ExitStatus> {
    Ok(match cli.command {
        Command::Completions(a) => completions::run(&a, printer)?,
        Command::Parse(a) => parse::run(&a, printer)?,
        Command::Analyze(a) => analyze::run(&a, printer)?,
        Command::Explain(a) => explain::run(&a, printer)?,
        Command::Layers(a) => layers::run(&a, printer)?,
        Command::Plan(a) => plan::run(&a, printer)?,
        Command::Diff(a) => diff::run(&a, printer)?,
        Command::Check(a) => check::run(&a, extra_outputs, printer)?,
        Command::Rewrite(a) => rewrite::run(&a, printer)?,
        Command::Report(a) => report::run(&a, cli.global.output.first().map(std::path::PathBuf::as_path), printer)?,
    })
}

/// Prints a fatal error with its cause chain and returns exit code 2 (0 for a broken pipe, as
/// ripgrep does: `imgopt layers x | head` is not a failure).
#[must_use]
pub fn report_fatal(err: &anyhow::Error) -> ExitCode {
    if err.chain().any(|c| {
        c.downcast_ref::<io::Error>()
            .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
    }) {
        return ExitCode::from(0);
    }
    // A rendered diagnostic (e.g. a parse error with its snippet) is already complete.
    if let Some(rendered) = err.downcast_ref::<Rendered>() {
        eprint!("{}", rendered.0);
        return ExitCode::from(2);
    }
    let mut said = err.to_string();
    let mut text = format!("error: {}\n", redact_userinfo(&said));
    for cause in err.chain().skip(1) {
        let cause = cause.to_string();
        // An error whose message already ends with its source's (`cache X: Not a directory`)
        // does not repeat it as a cause.
        if !said.ends_with(&cause) {
            text.push_str(&format!("  caused by: {}\n", redact_userinfo(&cause)));
        }
        said = cause;
    }
    // Errors quote what the user typed and what images say about themselves (tags, platform
    // names): control characters show as `?`, so an escape sequence cannot drive the terminal.
    let _ = io::Write::write_all(&mut io::stderr().lock(), &crate::diag::printable(text.as_bytes()));
    ExitCode::from(2)
}

/// Replaces the user-info of anything that looks like `[scheme://]user:password@host` with
/// `***`, so a password pasted into an image reference (which Docker's reference grammar
/// rejects, and the error then quotes) never reaches the terminal or a CI log. A digest
/// (`name:tag@sha256:…`) is left alone: what follows its `@` is `algorithm:hex` with no `/`.
fn redact_userinfo(msg: &str) -> String {
    let is_digest = |after: &str| {
        let end = after
            .find(|c: char| c.is_whitespace() || "`'\"(),".contains(c))
            .unwrap_or(after.len());
        let word = &after[..end];
        word.split_once(':').is_some_and(|(alg, hex)| {
            !alg.is_empty()
                && alg
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"+._-".contains(&b))
                && hex.len() >= 32
                && hex.bytes().all(|b| b.is_ascii_hexdigit())
        })
    };
    let mut out = String::with_capacity(msg.len());
    let mut rest = msg;
    while let Some(at) = rest.find('@') {
        let before = &rest[..at];
        let start = before
            .rfind(|c: char| c.is_whitespace() || "`'\"(),".contains(c))
            .map_or(0, |i| i + before[i..].chars().next().map_or(1, char::len_utf8));
        let token = &before[start..];
        let (scheme, info) = match token.find("://") {
            Some(i) => (&token[..i + 3], &token[i + 3..]),
            None => ("", token),
        };
        let secret = !info.is_empty()
            && !info.contains('/')
            && (!scheme.is_empty() || info.contains(':'))
            && !is_digest(&rest[at + 1..]);
        if secret {
            out.push_str(&before[..start]);
            out.push_str(scheme);
            out.push_str("***@");
        } else {
            out.push_str(&rest[..=at]);
        }
        rest = &rest[at + 1..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::redact_userinfo;

    #[test]
    fn userinfo_is_redacted_and_digests_are_not() {
        assert_eq!(
            redact_userinfo("invalid image reference `https://bob:hunter2@example.com/x`: bad"),
            "invalid image reference `https://***@example.com/x`: bad"
        );
        assert_eq!(
            redact_userinfo("opening bob:hunter2@localhost:1/a:1"),
            "opening ***@localhost:1/a:1"
        );
        assert_eq!(redact_userinfo("https://tok3n@ghcr.io/a"), "https://***@ghcr.io/a");
        let digest = format!("alpine:3@sha256:{}", "ab".repeat(32));
        assert_eq!(
            redact_userinfo(&format!("`{digest}` is bad")),
            format!("`{digest}` is bad")
        );
        let named = format!("ghcr.io/o/r@sha256:{}", "0".repeat(64));
        assert_eq!(redact_userinfo(&named), named);
        assert_eq!(redact_userinfo("mail me@example.com"), "mail me@example.com");
    }
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

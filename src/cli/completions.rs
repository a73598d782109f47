//! `imgopt completions SHELL`.

use clap::{Args, CommandFactory};
use clap_complete::Shell;

use super::{Cli, ExitStatus, printer::Printer};
use crate::report::{Format, Kind, Report};

/// Arguments of `imgopt completions`.
#[derive(Args, Debug)]
pub struct CompletionsArgs {
    /// The shell to generate completions for.
    #[arg(value_enum)]
    pub shell: Shell,
    /// Output format (a completion script has only one).
    #[arg(long, value_name = "FORMAT", default_value = "human", value_parser = super::args::format_parser(Kind::Completions))]
    pub format: Format,
}

/// Writes the completion script to the result stream.
pub fn run(args: &CompletionsArgs, printer: &mut Printer) -> anyhow::Result<ExitStatus> {
    let mut cmd = Cli::command();
    // clap_complete panics when its writer fails (a closed pipe): generate into memory, then
    // write with an error the caller handles (a broken pipe exits 0).
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "imgopt", &mut script);
    printer.render(&Report::Completions(&script), args.format)?;
    Ok(ExitStatus::Success)
}

//! `imgopt completions SHELL`.

use clap::{Args, CommandFactory};
use clap_complete::Shell;

use super::{Cli, ExitStatus, printer::Printer};

/// Arguments of `imgopt completions`.
#[derive(Args, Debug)]
pub struct CompletionsArgs {
    /// The shell to generate completions for.
    #[arg(value_enum)]
    pub shell: Shell,
}

/// Writes the completion script to the result stream.
pub fn run(args: &CompletionsArgs, printer: &mut Printer) -> anyhow::Result<ExitStatus> {
    let mut cmd = Cli::command();
    // clap_complete panics when its writer fails (a closed pipe): generate into memory, then
    // write with an error the caller handles (a broken pipe exits 0).
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "imgopt", &mut script);
    printer.out().write_all(&script)?;
    Ok(ExitStatus::Success)
}

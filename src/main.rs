//! The `imgopt` binary: parse arguments, run one command, map the result to an exit code.
//! Everything else lives in the library (DESIGN.md style rule 1).

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = imgopt::cli::Cli::parse();
    match imgopt::cli::run(cli) {
        Ok(status) => status.into(),
        Err(err) => imgopt::cli::report_fatal(&err),
    }
}

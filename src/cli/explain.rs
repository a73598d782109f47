//! `imgopt explain CODE|NAME` prints a rule's documentation; `imgopt explain --list` lists
//! every rule.

use anyhow::bail;
use clap::Args;

use super::ExitStatus;
use super::printer::Printer;
use crate::report::explain::ExplainReport;
use crate::report::{Format, Kind, Report};

/// Arguments of `imgopt explain`.
#[derive(Args, Debug)]
pub struct ExplainArgs {
    /// A rule code (`DF201`) or name (`apt-lists-not-removed`).
    #[arg(value_name = "CODE|NAME", required_unless_present = "list")]
    pub rule: Option<String>,
    /// List every rule.
    #[arg(long, conflicts_with = "rule")]
    pub list: bool,
    /// Output format.
    #[arg(long, value_name = "FORMAT", default_value = "human", value_parser = super::args::format_parser(Kind::Explain))]
    pub format: Format,
}

/// Runs `imgopt explain`.
pub fn run(args: &ExplainArgs, printer: &mut Printer) -> anyhow::Result<ExitStatus> {
    let report = if args.list {
        ExplainReport::list()
    } else {
        let key = args.rule.as_deref().unwrap_or("");
        match ExplainReport::one(key) {
            Some(r) => r,
            None => bail!("unknown rule `{key}` (see `imgopt explain --list`)"),
        }
    };
    printer.render(&Report::Explain(&report), args.format)?;
    Ok(ExitStatus::Success)
}

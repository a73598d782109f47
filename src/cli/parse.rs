//! `imgopt parse [FILE|-]`: parse a Dockerfile as BuildKit does and print the stage graph
//! (human; `-v` lists every instruction under its stage) or everything with spans
//! (`--format json`).

use std::path::PathBuf;

use clap::Args;

use super::input::{self, read_text};
use super::{ExitStatus, printer::Printer};
use crate::dockerfile::report::ParseReport;
use crate::dockerfile::stages::{self, StageOptions, Stages};
use crate::report::{Format, Kind, Report};

/// Arguments of `imgopt parse`.
#[derive(Args, Debug)]
pub struct ParseArgs {
    /// The Dockerfile to read (`-` for stdin).
    #[arg(value_name = "FILE|-", default_value = "Dockerfile")]
    pub file: PathBuf,
    /// The stage to build (default: the last one); decides which stages are needed.
    #[arg(long, value_name = "NAME")]
    pub target: Option<String>,
    /// Build argument, as for `docker build` (`NAME=VALUE`; `NAME` alone takes the
    /// environment's value; repeatable).
    #[arg(long = "build-arg", value_name = "NAME=VALUE")]
    pub build_args: Vec<String>,
    /// Output format.
    #[arg(long, value_name = "FORMAT", default_value = "human", value_parser = super::args::format_parser(Kind::Parse))]
    pub format: Format,
}

/// Runs `imgopt parse`.
pub fn run(args: &ParseArgs, printer: &mut Printer) -> anyhow::Result<ExitStatus> {
    let build_args = input::build_args(&args.build_args)?;
    let text = read_text(&args.file, "the Dockerfile")?;
    let df = crate::dockerfile::parse(&text.bytes).map_err(|e| input::parse_error(&text, &e, printer))?;
    let opts = StageOptions {
        target: args.target.clone(),
        build_args,
    };
    let stages = match Stages::build(&df, &opts) {
        Ok(s) => Some(s),
        Err(stages::Error::NoStages) if opts.target.is_none() => None,
        Err(e) => return Err(anyhow::Error::new(e).context(format!("building the stage graph of {}", text.shown()))),
    };
    let report = ParseReport::new(text.shown(), &df, stages.as_ref());
    printer.render(&Report::Parse(&report), args.format)?;
    Ok(ExitStatus::Success)
}

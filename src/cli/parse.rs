//! `imgopt parse [FILE|-]`: parse a Dockerfile as BuildKit does and print the stage graph
//! (human; `-v` lists every instruction under its stage) or everything with spans
//! (`--format json`).

use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::PathBuf;

use anyhow::{Context as _, bail};
use clap::Args;

use super::{ExitStatus, Rendered, printer::Printer};
use crate::diag::{Diagnostic, Files};
use crate::dockerfile::report::ParseReport;
use crate::dockerfile::stages::{self, StageOptions, Stages};
use crate::report::Format;

/// Arguments of `imgopt parse`.
#[derive(Args, Debug)]
pub struct ParseArgs {
    /// The Dockerfile to read (`-` for stdin).
    #[arg(value_name = "FILE|-", default_value = "Dockerfile")]
    pub file: PathBuf,
    /// The stage to build (default: the last one); decides which stages are needed.
    #[arg(long, value_name = "NAME")]
    pub target: Option<String>,
    /// Override a global ARG (`NAME=VALUE`; `NAME` alone takes the environment's value).
    #[arg(long = "build-arg", value_name = "NAME=VALUE")]
    pub build_args: Vec<String>,
}

/// The file's text for diagnostics, with byte offsets unchanged: bytes that are not valid
/// UTF-8 become `?` one for one.
fn display_text(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_owned(),
        Err(_) => {
            let mut out = String::with_capacity(bytes.len());
            let mut rest = bytes;
            loop {
                match std::str::from_utf8(rest) {
                    Ok(s) => {
                        out.push_str(s);
                        break;
                    }
                    Err(e) => {
                        let (good, bad) = rest.split_at(e.valid_up_to());
                        out.push_str(std::str::from_utf8(good).unwrap_or_default());
                        let n = e.error_len().unwrap_or(bad.len());
                        out.extend(std::iter::repeat_n('?', n));
                        rest = &bad[n..];
                    }
                }
            }
            out
        }
    }
}

fn build_args(raw: &[String]) -> anyhow::Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for a in raw {
        match a.split_once('=') {
            Some((k, v)) if !k.is_empty() => {
                out.insert(k.to_string(), v.to_string());
            }
            Some(_) => bail!("--build-arg {a:?}: the name before `=` is empty"),
            None => {
                if let Ok(v) = std::env::var(a) {
                    out.insert(a.clone(), v);
                }
            }
        }
    }
    Ok(out)
}

/// Runs `imgopt parse`.
pub fn run(args: &ParseArgs, format: Format, printer: &mut Printer) -> anyhow::Result<ExitStatus> {
    let (name, bytes) = if args.file.as_os_str() == "-" {
        let mut buf = Vec::new();
        std::io::stdin()
            .lock()
            .read_to_end(&mut buf)
            .context("reading the Dockerfile from stdin")?;
        ("<stdin>".to_string(), buf)
    } else {
        let bytes = std::fs::read(&args.file).with_context(|| format!("reading {}", args.file.display()))?;
        (args.file.display().to_string(), bytes)
    };
    let df = match crate::dockerfile::parse(&bytes) {
        Ok(df) => df,
        Err(e) => {
            let mut files = Files::new();
            let id = files.add(name.clone(), display_text(&bytes));
            let diag = Diagnostic::error(format!("{name}:{}:{}: {}", e.line, e.column, e.message))
                .with_code("parse")
                .with_primary(
                    id,
                    e.span.range(),
                    if e.span.start() >= bytes.len() {
                        "the file ends here"
                    } else {
                        "BuildKit's parser rejects this"
                    },
                );
            printer.diagnostics_to_stderr(&[diag], &files);
            return Err(Rendered(String::new()).into());
        }
    };
    let opts = StageOptions {
        target: args.target.clone(),
        build_args: build_args(&args.build_args)?,
    };
    let stages = match Stages::build(&df, &opts) {
        Ok(s) => Some(s),
        Err(stages::Error::NoStages) if opts.target.is_none() => None,
        Err(e) => return Err(anyhow::Error::new(e).context(format!("building the stage graph of {name}"))),
    };
    let report = ParseReport::new(&name, &df, stages.as_ref());
    match format {
        Format::Json => crate::report::json::write(&report, printer.out())?,
        Format::Human => {
            let verbose = printer.verbosity == super::printer::Verbosity::Verbose;
            crate::report::human::parse::render(&report, verbose, &mut printer.out_text())?;
        }
        other => bail!("`imgopt parse` has no {other} output; use --format human or json"),
    }
    Ok(ExitStatus::Success)
}

//! `imgopt explain CODE|NAME` prints a rule's documentation; `imgopt explain --list` lists
//! every rule.

use anyhow::bail;
use clap::Args;
use serde::Serialize;

use super::printer::Printer;
use super::{ExitStatus, GlobalArgs};
use crate::report::Format;
use crate::rules::{self, RULES};

/// Arguments of `imgopt explain`.
#[derive(Args, Debug)]
pub struct ExplainArgs {
    /// A rule code (`DF201`) or name (`apt-lists-not-removed`).
    #[arg(value_name = "CODE|NAME", required_unless_present = "list")]
    pub rule: Option<String>,
    /// List every rule.
    #[arg(long, conflicts_with = "rule")]
    pub list: bool,
}

#[derive(Serialize)]
struct RuleJson {
    /// Present on a single rule's document (`explain CODE`); the list carries it once at the top.
    #[serde(skip_serializing_if = "Option::is_none")]
    schema_version: Option<u32>,
    code: &'static str,
    name: &'static str,
    severity: crate::diag::Severity,
    default_enabled: bool,
    summary: String,
    doc: String,
}

fn json(m: &rules::RuleMeta) -> RuleJson {
    RuleJson {
        schema_version: None,
        code: m.code,
        name: m.name,
        severity: m.severity,
        default_enabled: m.default_enabled,
        summary: m.summary(),
        doc: m.doc(),
    }
}

/// Runs `imgopt explain`.
pub fn run(args: &ExplainArgs, global: &GlobalArgs, printer: &mut Printer) -> anyhow::Result<ExitStatus> {
    if global.format == Format::Sarif {
        bail!("`imgopt explain` has no sarif output (it prints documentation); use --format human, json or markdown");
    }
    let out = printer.out();
    if args.list {
        match global.format {
            Format::Json => {
                let v: Vec<RuleJson> = RULES.iter().map(|r| json(r.meta())).collect();
                crate::report::json::write(&serde_json::json!({ "schema_version": 1, "rules": v }), out)?;
            }
            _ => {
                for r in RULES {
                    let m = r.meta();
                    let opt = if m.default_enabled { "" } else { " (opt-in)" };
                    writeln!(
                        out,
                        "{}  {:<36} {:<8} {}{opt}",
                        m.code,
                        m.name,
                        m.severity.as_str(),
                        m.summary()
                    )?;
                }
            }
        }
        return Ok(ExitStatus::Success);
    }
    let key = args.rule.as_deref().unwrap_or("");
    let Some(rule) = rules::find(key) else {
        bail!("unknown rule `{key}` (see `imgopt explain --list`)");
    };
    let m = rule.meta();
    match global.format {
        Format::Json => crate::report::json::write(
            &RuleJson {
                schema_version: Some(1),
                ..json(m)
            },
            out,
        )?,
        _ => {
            let opt = if m.default_enabled {
                ""
            } else {
                "; opt-in: enable with --select"
            };
            writeln!(
                out,
                "# {} {}\n\nDefault severity: {}{opt}\n",
                m.code,
                m.name,
                m.severity.as_str()
            )?;
            write!(out, "{}", m.doc())?;
        }
    }
    Ok(ExitStatus::Success)
}

//! SARIF 2.1.0 output of `imgopt analyze`, for GitHub code scanning: one run, the rule
//! metadata of every rule (id, name, descriptions, help, default level), one result per
//! finding with its region (1-based lines and columns) and the estimate in `properties`.

use std::io::{self, Write};

use serde::Serialize;

use crate::analyze::AnalyzeReport;
use crate::diag::Severity;
use crate::rules::RULES;

const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

#[derive(Serialize)]
struct Log<'a> {
    #[serde(rename = "$schema")]
    schema: &'static str,
    version: &'static str,
    runs: Vec<Run<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Run<'a> {
    tool: Tool,
    results: Vec<SarifResult<'a>>,
    column_kind: &'static str,
}

#[derive(Serialize)]
struct Tool {
    driver: Driver,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Driver {
    name: &'static str,
    version: &'static str,
    rules: Vec<RuleDescriptor>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RuleDescriptor {
    id: &'static str,
    name: &'static str,
    short_description: Message,
    full_description: Message,
    help: Help,
    default_configuration: Configuration,
    properties: RuleProperties,
}

#[derive(Serialize)]
struct RuleProperties {
    tags: Vec<&'static str>,
}

#[derive(Serialize)]
struct Message {
    text: String,
}

#[derive(Serialize)]
struct Help {
    text: String,
    markdown: String,
}

#[derive(Serialize)]
struct Configuration {
    level: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifResult<'a> {
    rule_id: &'static str,
    rule_index: usize,
    level: &'static str,
    message: Message,
    locations: Vec<Location<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    related_locations: Vec<Location<'a>>,
    properties: ResultProperties<'a>,
}

#[derive(Serialize)]
struct ResultProperties<'a> {
    name: &'static str,
    estimate: Option<&'a crate::estimate::Estimate>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Location<'a> {
    physical_location: PhysicalLocation<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<Message>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PhysicalLocation<'a> {
    artifact_location: ArtifactLocation<'a>,
    region: Region,
}

#[derive(Serialize)]
struct ArtifactLocation<'a> {
    uri: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Region {
    start_line: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    start_column: Option<usize>,
    end_line: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    end_column: Option<usize>,
}

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

/// A SARIF `uri`: relative paths with `/`, no leading `./`.
fn uri(path: &str) -> String {
    let p = path.replace('\\', "/");
    p.strip_prefix("./").map(str::to_string).unwrap_or(p)
}

/// Writes the report as SARIF 2.1.0.
pub fn render(report: &AnalyzeReport, out: &mut dyn Write) -> io::Result<()> {
    let rules = RULES
        .iter()
        .map(|r| {
            let m = r.meta();
            let doc = m.doc();
            RuleDescriptor {
                id: m.code,
                name: m.name,
                short_description: Message { text: m.summary() },
                full_description: Message { text: m.summary() },
                help: Help {
                    text: doc.clone(),
                    markdown: doc,
                },
                default_configuration: Configuration {
                    level: level(m.severity),
                },
                properties: RuleProperties {
                    tags: vec!["dockerfile", "image-size"],
                },
            }
        })
        .collect();
    let uris: Vec<String> = report.findings.iter().map(|f| uri(&f.file)).collect();
    let results = report
        .findings
        .iter()
        .zip(&uris)
        .map(|(f, u)| SarifResult {
            rule_id: f.code,
            rule_index: RULES.iter().position(|r| r.meta().code == f.code).unwrap_or(0),
            level: level(f.severity),
            message: Message {
                text: match &f.estimate {
                    Some(e) => format!("{} (estimated saving: {e}). Help: {}", f.message, f.help),
                    None => format!("{}. Help: {}", f.message, f.help),
                },
            },
            locations: vec![Location {
                physical_location: PhysicalLocation {
                    artifact_location: ArtifactLocation { uri: u },
                    region: Region {
                        start_line: f.start_line,
                        start_column: Some(f.start_column),
                        end_line: f.end_line,
                        end_column: Some(f.end_column),
                    },
                },
                message: None,
            }],
            related_locations: f
                .related
                .iter()
                .map(|r| Location {
                    physical_location: PhysicalLocation {
                        artifact_location: ArtifactLocation { uri: u },
                        region: Region {
                            start_line: r.line,
                            start_column: None,
                            end_line: r.line,
                            end_column: None,
                        },
                    },
                    message: Some(Message {
                        text: r.message.clone(),
                    }),
                })
                .collect(),
            properties: ResultProperties {
                name: f.name,
                estimate: f.estimate.as_ref(),
            },
        })
        .collect();
    let log = Log {
        schema: SCHEMA,
        version: "2.1.0",
        runs: vec![Run {
            tool: Tool {
                driver: Driver {
                    name: "imgopt",
                    version: env!("CARGO_PKG_VERSION"),
                    rules,
                },
            },
            results,
            column_kind: "unicodeCodePoints",
        }],
    };
    crate::report::json::write(&log, out)
}

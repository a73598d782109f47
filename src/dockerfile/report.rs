//! The `imgopt parse` report model: the parse and the stage graph as plain, serialisable data
//! (`schema_version` 1, documented in docs/parse-json.md). Instruction fields mirror the
//! corpus references (BuildKit's `cmd`, `sub_cmd`, `json`, `original`, `start_line`,
//! `end_line`, `flags`, `value`, `heredocs`) and add byte spans.
//!
//! Owns: [`ParseReport`] and its parts. Does not: render (see `report::human::parse` and
//! `report::json`).

use std::collections::BTreeMap;

use serde::Serialize;

use super::stages::{Dependency, Stage, Stages};
use super::{Dockerfile, Instruction, Span};

/// The JSON schema version of [`ParseReport`].
pub const SCHEMA_VERSION: u32 = 1;

/// A parser directive in the report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DirectiveReport {
    /// The value as written (trimmed).
    pub value: String,
    /// 1-based line.
    pub line: usize,
    /// Span of the comment line.
    pub span: Span,
}

/// A heredoc in the report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HeredocReport {
    /// Delimiter.
    pub name: String,
    /// `N` of `N<<`.
    pub file_descriptor: u32,
    /// Body as BuildKit's parser gives it.
    pub content: String,
    /// Whether the body is subject to variable expansion (unquoted delimiter).
    pub expand: bool,
    /// `<<-` (leading tabs are stripped when the instruction runs).
    pub chomp: bool,
    /// Body lines plus the delimiter line.
    pub span: Span,
}

/// One instruction in the report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct InstructionReport {
    /// The instruction word as written.
    pub cmd: String,
    /// For ONBUILD: the wrapped instruction's word; otherwise `null`.
    pub sub_cmd: Option<String>,
    /// Exec (JSON array) form.
    pub json: bool,
    /// BuildKit's `Original`: continuations joined, heredoc bodies appended.
    pub original: String,
    /// 1-based first line.
    pub start_line: usize,
    /// 1-based last line (heredoc bodies included).
    pub end_line: usize,
    /// Flags as BuildKit passes them on.
    pub flags: Vec<String>,
    /// Span of each flag, parallel to `flags`.
    pub flag_spans: Vec<Span>,
    /// For ONBUILD: the wrapped instruction's flags.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sub_flags: Vec<String>,
    /// Spans of `sub_flags`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sub_flag_spans: Vec<Span>,
    /// BuildKit's flattened `value` list.
    pub value: Vec<String>,
    /// Span of each value, parallel to `value` (for JSON form the quoted string).
    pub value_spans: Vec<Span>,
    /// Heredocs in order.
    pub heredocs: Vec<HeredocReport>,
    /// The whole instruction, continuation lines and heredoc bodies included.
    pub span: Span,
    /// Index of the stage it belongs to (`null` before the first FROM).
    pub stage: Option<usize>,
}

impl InstructionReport {
    fn new(i: &Instruction<'_>, stage: Option<usize>) -> Self {
        let sub = i.sub.as_deref();
        Self {
            cmd: i.cmd.to_string(),
            sub_cmd: sub.map(|s| s.cmd.to_string()),
            json: i.json,
            original: i.original.to_string(),
            start_line: i.start_line,
            end_line: i.end_line,
            flags: i.flags.iter().map(|f| f.text.to_string()).collect(),
            flag_spans: i.flags.iter().map(|f| f.span).collect(),
            sub_flags: sub
                .map(|s| s.flags.iter().map(|f| f.text.to_string()).collect())
                .unwrap_or_default(),
            sub_flag_spans: sub
                .map(|s| s.flags.iter().map(|f| f.span).collect())
                .unwrap_or_default(),
            value: i.args.iter().map(|a| a.value.to_string()).collect(),
            value_spans: i.args.iter().map(|a| a.span).collect(),
            heredocs: i
                .heredocs
                .iter()
                .map(|h| HeredocReport {
                    name: h.name.to_string(),
                    file_descriptor: h.file_descriptor,
                    content: h.content.to_string(),
                    expand: h.expand,
                    chomp: h.chomp,
                    span: h.span,
                })
                .collect(),
            span: i.span,
            stage,
        }
    }
}

/// A stage in a report (`imgopt parse` and `imgopt analyze` alike): [`Stage`] as plain data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StageReport {
    /// 0-based index.
    pub index: usize,
    /// `AS` name, lower-cased.
    pub name: Option<String>,
    /// Base image as written.
    pub base: String,
    /// Base image with global ARGs expanded.
    pub base_expanded: String,
    /// The earlier stage the base names.
    pub base_stage: Option<usize>,
    /// `--platform` as written.
    pub platform: Option<String>,
    /// Index of the first instruction (the FROM).
    pub first_instruction: usize,
    /// Number of instructions, FROM included.
    pub instruction_count: usize,
    /// Stages this one needs directly.
    pub depends_on: Vec<usize>,
    /// Stages it copies or mounts from (`depends_on` without the base stage).
    pub copies_from: Vec<usize>,
    /// Every use of another stage or image.
    pub dependencies: Vec<Dependency>,
    /// Whether the target needs it.
    pub reaches_target: bool,
    /// Whether its filesystem is part of the target image.
    pub ships: bool,
    /// Whether it is the target.
    pub is_target: bool,
}

impl StageReport {
    /// The report of `st`; `target` is the target stage's index.
    #[must_use]
    pub fn new(st: &Stage, target: usize) -> Self {
        Self {
            index: st.index,
            name: st.name.clone(),
            base: st.base.clone(),
            base_expanded: st.base_expanded.clone(),
            base_stage: st.base_stage,
            platform: st.platform.clone(),
            first_instruction: st.instructions.start,
            instruction_count: st.instruction_count(),
            depends_on: st.depends_on.clone(),
            copies_from: st.copies_from.clone(),
            dependencies: st.dependencies.clone(),
            reaches_target: st.reaches_target,
            ships: st.ships,
            is_target: st.index == target,
        }
    }
}

/// Everything `imgopt parse` reports.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ParseReport {
    /// Always [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The file as named on the command line (`-` for stdin).
    pub file: String,
    /// The escape character in force.
    pub escape: char,
    /// Parser directives by name.
    pub directives: BTreeMap<String, DirectiveReport>,
    /// Instructions in file order.
    pub instructions: Vec<InstructionReport>,
    /// Stages in file order (empty without FROM).
    pub stages: Vec<StageReport>,
    /// Index of the target stage (`null` without stages).
    pub target: Option<usize>,
    /// Global ARG values after defaults and `--build-arg` overrides.
    pub global_args: BTreeMap<String, String>,
    /// Non-fatal parser remarks (e.g. empty continuation lines).
    pub warnings: Vec<WarningReport>,
}

/// A parser warning in the report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct WarningReport {
    /// Message.
    pub message: String,
    /// 1-based line.
    pub line: usize,
    /// Span.
    pub span: Span,
}

impl ParseReport {
    /// Builds the report for `df` (named `file`) with its stage graph, if it has stages.
    #[must_use]
    pub fn new(file: &str, df: &Dockerfile, stages: Option<&Stages>) -> Self {
        let stage_of = |idx: usize| stages.and_then(|s| s.stage_of(idx)).map(|s| s.index);
        Self {
            schema_version: SCHEMA_VERSION,
            file: file.to_string(),
            escape: df.escape,
            directives: df
                .directives
                .iter()
                .map(|d| {
                    (
                        d.name.to_owned(),
                        DirectiveReport {
                            value: d.value.to_string(),
                            line: d.line,
                            span: d.span,
                        },
                    )
                })
                .collect(),
            instructions: df
                .instructions
                .iter()
                .enumerate()
                .map(|(n, i)| InstructionReport::new(i, stage_of(n)))
                .collect(),
            stages: stages
                .map(|s| s.stages.iter().map(|st| StageReport::new(st, s.target)).collect())
                .unwrap_or_default(),
            target: stages.map(|s| s.target),
            global_args: stages.map(|s| s.global_arg_values.clone()).unwrap_or_default(),
            warnings: df
                .warnings
                .iter()
                .map(|w| WarningReport {
                    message: w.message.clone(),
                    line: w.line,
                    span: w.span,
                })
                .collect(),
        }
    }
}

//! `imgopt analyze`: the library entry point. Parses Dockerfiles, reads their build context,
//! runs the selected rules stage-aware, applies suppression comments, and returns an
//! [`AnalyzeReport`] (plain data; renderers in `report/` turn it into text).
//!
//! Owns: the report model (its JSON shape is documented in docs/analyze-json.md), inline and
//! global suppression (`# imgopt ignore=CODES reason`, `# imgopt global ignore=CODES`), and
//! the summary (findings by severity and rule, total estimated saving), and what a run did for
//! `--verbose` ([`Trace`], returned beside the report by [`analyze_traced`], never in it).
//! Does not: read stdin or decide exit codes (the CLI does), or print.

pub mod measure;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::context::{Accidental, BuildContext};
use crate::diag::{FileId, Files, Severity};
use crate::dockerfile;
use crate::dockerfile::report::StageReport;
use crate::estimate::{Estimate, Total};
use crate::rules::context::context_sources;
use crate::rules::{self, RuleContext, Selection};
use crate::units::ByteSize;

/// One Dockerfile to analyse.
#[derive(Clone, Debug)]
pub struct Input {
    /// Name shown in reports (the path as given, or `-` for stdin).
    pub name: String,
    /// The file's bytes.
    pub bytes: Vec<u8>,
    /// Where it is on disk (`None` for stdin); its folder is the default build context.
    pub path: Option<PathBuf>,
}

impl Input {
    /// The name for messages: the path as given, or `<stdin>`.
    #[must_use]
    pub fn shown(&self) -> &str {
        if self.path.is_some() { &self.name } else { "<stdin>" }
    }
}

/// Analysis options.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// `--target`: the stage to build (default: the last).
    pub target: Option<String>,
    /// `--build-arg K=V`.
    pub build_args: BTreeMap<String, String>,
    /// `--context DIR` (default: each Dockerfile's folder; none for stdin).
    pub context: Option<PathBuf>,
    /// Do not read any build context.
    pub no_context: bool,
    /// Which rules run.
    pub selection: Selection,
}

/// Why a file could not be analysed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// BuildKit's parser would reject the file.
    #[error("{file}:{}:{}: {}", source.line, source.column, source.message)]
    Parse {
        /// The file.
        file: String,
        /// Its id in the returned [`Files`].
        file_id: FileId,
        /// The parse error.
        source: dockerfile::Error,
    },
    /// The file has no stage or the target does not exist.
    #[error("{file}: {message}")]
    Stages {
        /// The file.
        file: String,
        /// What is wrong.
        message: String,
        /// The limit of docs/limits.md it is, if one (an `ARG` that expands past its cap).
        limit: Option<crate::limits::LimitHit>,
    },
    /// The build context could not be read.
    #[error("{file}: build context")]
    Context {
        /// The Dockerfile.
        file: String,
        /// The I/O error.
        #[source]
        source: crate::context::Error,
    },
}

impl Error {
    /// The limit of docs/limits.md that ended the analysis, if one did (for `-v`).
    #[must_use]
    pub fn limit_hit(&self) -> Option<crate::limits::LimitHit> {
        match self {
            Error::Stages { limit, .. } => limit.clone(),
            Error::Context { source, .. } => source.limit_hit(),
            Error::Parse { .. } => None,
        }
    }
}

/// A file of the context with its size.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SizedPath {
    /// Path relative to the context root.
    pub path: String,
    /// Bytes.
    pub bytes: ByteSize,
}

/// The build context in the report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ContextReport {
    /// The context directory as given.
    pub root: String,
    /// The ignore file used (`.dockerignore` or `<Dockerfile>.dockerignore`), if any.
    pub dockerignore: Option<String>,
    /// Files sent after ignores.
    pub files: usize,
    /// Bytes sent after ignores.
    pub bytes: ByteSize,
    /// Entries the ignore file leaves out (files, and pruned directories counted once).
    pub ignored_entries: usize,
    /// The walk stopped at its file limit.
    pub truncated: bool,
    /// The largest files that reach the image through `COPY`/`ADD` (at most 10).
    pub largest_copied: Vec<SizedPath>,
    /// Entries that look accidental (`.git`, `node_modules`, ...), largest first.
    pub accidental: Vec<Accidental>,
}

/// One analysed file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FileReport {
    /// Path as given.
    pub path: String,
    /// Its stages.
    pub stages: Vec<StageReport>,
    /// The build context, when read.
    pub context: Option<ContextReport>,
    /// `--image`: the built image measured against this file (absent without `--image`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<measure::ImageMeasure>,
}

/// The stage a finding is in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StageRef {
    /// Index.
    pub index: usize,
    /// Name.
    pub name: Option<String>,
}

/// A byte range.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct SpanReport {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

/// A related location (e.g. the COPY that wrote the files a later RUN deletes).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Related {
    /// Byte range.
    pub span: SpanReport,
    /// 1-based line.
    pub line: usize,
    /// Label.
    pub message: String,
}

/// One finding in the report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FindingReport {
    /// The file (as given).
    pub file: String,
    /// Stable code (`DF201`).
    pub code: &'static str,
    /// Rule name (`apt-lists-not-removed`).
    pub name: &'static str,
    /// Severity.
    pub severity: Severity,
    /// What is wrong.
    pub message: String,
    /// What to write instead.
    pub help: String,
    /// The stage.
    pub stage: Option<StageRef>,
    /// 1-based first line.
    pub start_line: usize,
    /// 1-based last line.
    pub end_line: usize,
    /// Byte range in the file.
    pub span: SpanReport,
    /// Estimated saving, or `null` when the finding has no size effect or its size is unknown.
    pub estimate: Option<Estimate>,
    /// `--image`: what the image's layers showed for this finding (absent without `--image`
    /// or when the rule's saving cannot be measured).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub measured: Option<measure::FindingMeasure>,
    /// 1-based start column (SARIF, not in JSON).
    #[serde(skip)]
    pub start_column: usize,
    /// 1-based end column (exclusive; SARIF, not in JSON).
    #[serde(skip)]
    pub end_column: usize,
    /// Related locations (human and SARIF output, not in JSON).
    #[serde(skip)]
    pub related: Vec<Related>,
    /// Notes such as the catalog figures used (human output, not in JSON).
    #[serde(skip)]
    pub notes: Vec<String>,
    /// The file's id in [`Files`].
    #[serde(skip)]
    pub file_id: FileId,
    /// A rewrite that removes the finding, when the rule has one (not in JSON yet).
    #[serde(skip)]
    pub fix: Option<crate::fix::Fix>,
}

/// Counts and totals.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Files analysed.
    pub files: usize,
    /// Findings reported.
    pub findings: usize,
    /// Findings per severity (`error`, `warning`, `info`; all three always present).
    pub by_severity: BTreeMap<&'static str, usize>,
    /// Findings per rule code.
    pub by_rule: BTreeMap<&'static str, usize>,
    /// Findings silenced by `# imgopt ignore=` comments.
    pub suppressed: usize,
    /// Sum of the estimates (findings may overlap, so treat the high end as an upper bound).
    pub estimated_saving: Option<Total>,
}

/// The result of `imgopt analyze`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AnalyzeReport {
    /// JSON schema version (1).
    pub schema_version: u32,
    /// Analysed files.
    pub files: Vec<FileReport>,
    /// Findings sorted by (file, span start, code).
    pub findings: Vec<FindingReport>,
    /// Counts and totals.
    pub summary: Summary,
}

impl AnalyzeReport {
    /// The highest severity among findings.
    #[must_use]
    pub fn max_severity(&self) -> Option<Severity> {
        self.findings.iter().map(|f| f.severity).max()
    }
}

/// What [`analyze_traced`] did, for `--verbose` (timings vary between runs, so none of this is
/// in the report).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Trace {
    /// Rules selected (`--select`/`--ignore` applied).
    pub rules: usize,
    /// One entry per file, in input order.
    pub files: Vec<FileTrace>,
    /// The limits that bounded the run, with their values.
    pub limits: Vec<crate::limits::LimitValue>,
    /// Limits reached without failing (a build context walk stopped), each naming its file.
    pub limit_hits: Vec<crate::limits::LimitHit>,
}

/// One Dockerfile in a [`Trace`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FileTrace {
    /// The name shown in reports.
    pub name: String,
    /// Bytes of the file.
    pub bytes: usize,
    /// Instructions parsed.
    pub instructions: usize,
    /// Stages.
    pub stages: usize,
    /// The target stage: index and `AS` name.
    pub target: (usize, Option<String>),
    /// Stages whose filesystem ships in the target image.
    pub shipping: Vec<usize>,
    /// The build context read, and why that one.
    pub context: ContextTrace,
    /// Findings reported, per rule code.
    pub findings_by_rule: BTreeMap<&'static str, usize>,
    /// Findings silenced by `# imgopt ignore=` comments, per rule code.
    pub suppressed_by_rule: BTreeMap<&'static str, usize>,
    /// Time to parse the file.
    pub parse_time: Duration,
    /// Time to walk the build context.
    pub context_time: Duration,
    /// Time to resolve stages and run the rules.
    pub rules_time: Duration,
}

/// Which build context a file was analysed with.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum ContextTrace {
    /// `--no-context`.
    #[default]
    Disabled,
    /// Stdin without `--context`: there is no folder to read.
    Stdin,
    /// A folder was read.
    Read {
        /// The folder, as given or derived.
        dir: String,
        /// Whether it came from `--context` (else: the Dockerfile's folder).
        from_flag: bool,
        /// `.dockerignore` patterns (exclusions with `!` included).
        patterns: usize,
        /// Of those, re-inclusions (`!pattern`).
        reinclusions: usize,
    },
}

/// Suppressions of one file: codes per instruction start line, and file-wide codes.
#[derive(Debug, Default)]
struct Suppressions {
    global: Vec<&'static str>,
    lines: BTreeMap<usize, Vec<&'static str>>,
}

/// Parses the codes of `ignore=A,B reason`.
fn codes_after(text: &str, key: &str) -> Option<Vec<&'static str>> {
    let rest = text.split_once(key)?.1;
    let list = rest.split_whitespace().next().unwrap_or("");
    let mut out = Vec::new();
    for item in list.split(',').filter(|s| !s.is_empty()) {
        // Unknown codes are ignored here rather than failing the run.
        if let Ok(codes) = rules::resolve(item) {
            out.extend(codes);
        }
    }
    Some(out)
}

fn suppressions(text: &str) -> Suppressions {
    let mut s = Suppressions::default();
    let lines: Vec<&str> = text.lines().collect();
    let mut pending: Vec<&'static str> = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let t = line.trim();
        if let Some(body) = t.strip_prefix('#') {
            let body = body.trim();
            if let Some(rest) = body.strip_prefix("imgopt") {
                let rest = rest.trim();
                if rest.starts_with("global") {
                    s.global.extend(codes_after(rest, "ignore=").unwrap_or_default());
                } else if let Some(codes) = codes_after(rest, "ignore=") {
                    pending.extend(codes);
                }
            }
            continue;
        }
        if t.is_empty() {
            continue;
        }
        if !pending.is_empty() {
            s.lines.entry(i + 1).or_default().append(&mut pending);
        }
    }
    s
}

impl Suppressions {
    fn suppressed(&self, code: &str, instr_line: usize) -> bool {
        self.global.contains(&code) || self.lines.get(&instr_line).is_some_and(|c| c.contains(&code))
    }
}

/// Analyses `inputs` and returns the report and the file database its spans index into.
pub fn analyze(inputs: &[Input], opts: &Options) -> Result<(AnalyzeReport, Files), Box<Error>> {
    analyze_traced(inputs, opts).map(|(r, f, _)| (r, f))
}

/// The limits that bound an analysis with `opts` (the Dockerfile's own size limit is the
/// reader's, see the CLI).
#[must_use]
pub fn limits_in_effect(opts: &Options) -> Vec<crate::limits::LimitValue> {
    use crate::limits::{Limit, LimitValue, bytes};
    let mut out = vec![LimitValue::new(
        Limit::ArgExpansion,
        bytes(crate::dockerfile::stages::MAX_EXPANDED as u64),
    )];
    if !opts.no_context {
        out.push(LimitValue::new(
            Limit::ContextFiles,
            crate::context::MAX_FILES.to_string(),
        ));
        out.push(LimitValue::new(
            Limit::Dockerignore,
            bytes(crate::context::MAX_IGNORE_FILE_BYTES),
        ));
    }
    out
}

/// [`analyze`], and what it did ([`Trace`], for `--verbose`).
#[allow(clippy::too_many_lines)]
pub fn analyze_traced(inputs: &[Input], opts: &Options) -> Result<(AnalyzeReport, Files, Trace), Box<Error>> {
    let mut trace = Trace {
        rules: opts.selection.codes.len(),
        files: Vec::new(),
        limits: limits_in_effect(opts),
        limit_hits: Vec::new(),
    };
    let mut files = Files::new();
    let mut report = AnalyzeReport {
        schema_version: 1,
        files: Vec::new(),
        findings: Vec::new(),
        summary: Summary::default(),
    };
    let mut suppressed = 0;
    for input in inputs {
        let text = text_same_offsets(&input.bytes);
        let file_id = files.add(input.name.clone(), text.clone());
        let mut ft = FileTrace {
            name: input.name.clone(),
            bytes: input.bytes.len(),
            ..FileTrace::default()
        };
        let t = Instant::now();
        let df = dockerfile::parse(&input.bytes).map_err(|source| {
            Box::new(Error::Parse {
                file: input.name.clone(),
                file_id,
                source,
            })
        })?;
        ft.parse_time = t.elapsed();
        ft.instructions = df.instructions.len();
        let context_dir: Option<PathBuf> = if opts.no_context {
            None
        } else {
            opts.context.clone().or_else(|| {
                input.path.as_ref().map(|p| {
                    p.parent().map_or_else(
                        || PathBuf::from("."),
                        |d| {
                            if d.as_os_str().is_empty() {
                                PathBuf::from(".")
                            } else {
                                d.to_path_buf()
                            }
                        },
                    )
                })
            })
        };
        let t = Instant::now();
        let bc = match &context_dir {
            Some(dir) => Some(BuildContext::read(dir, input.path.as_deref()).map_err(|source| {
                Box::new(Error::Context {
                    file: input.name.clone(),
                    source,
                })
            })?),
            None => None,
        };
        ft.context_time = t.elapsed();
        if let (Some(dir), Some(bc)) = (&context_dir, &bc)
            && bc.truncated
        {
            trace.limit_hits.push(crate::limits::LimitHit::new(
                crate::limits::Limit::ContextFiles,
                crate::context::MAX_FILES.to_string(),
                format!(
                    "{}: the walk of the context {} stopped there; files past it are not counted",
                    input.name,
                    dir.display()
                ),
            ));
        }
        ft.context = match (&context_dir, &bc) {
            (Some(dir), Some(bc)) => ContextTrace::Read {
                dir: dir.display().to_string(),
                from_flag: opts.context.is_some(),
                patterns: bc.ignore.patterns.len(),
                reinclusions: bc.ignore.patterns.iter().filter(|p| p.exclusion).count(),
            },
            _ if opts.no_context => ContextTrace::Disabled,
            _ => ContextTrace::Stdin,
        };
        let t = Instant::now();
        let ctx = RuleContext::new(&text, &df, opts.target.as_deref(), &opts.build_args, bc.as_ref()).map_err(|e| {
            let message = e.to_string();
            // `FROOM x`: the file has no stage because its FROM is misspelt; say so.
            let hint = df
                .instructions
                .iter()
                .filter(|i| i.keyword == dockerfile::Keyword::Unknown)
                .find_map(|i| {
                    (rules::closest_instruction(&i.cmd) == Some("FROM")).then(|| {
                        format!(
                            " (line {}: `{}` is not an instruction; did you mean `FROM`?)",
                            i.start_line,
                            i.cmd.chars().take(40).collect::<String>()
                        )
                    })
                })
                .unwrap_or_default();
            Box::new(Error::Stages {
                file: input.name.clone(),
                message: message + &hint,
                limit: e.limit_hit(),
            })
        })?;
        let sup = suppressions(&text);
        for f in rules::check(&ctx, &opts.selection) {
            let inst = &df.instructions[f.instruction];
            if sup.suppressed(f.rule.code, inst.start_line) {
                suppressed += 1;
                *ft.suppressed_by_rule.entry(f.rule.code).or_default() += 1;
                continue;
            }
            *ft.findings_by_rule.entry(f.rule.code).or_default() += 1;
            let (start_line, start_column) = files.line_col(file_id, f.span.start());
            let (end_line, end_column) = files.line_col(file_id, f.span.end().max(f.span.start() + 1) - 1);
            report.findings.push(FindingReport {
                file: input.name.clone(),
                code: f.rule.code,
                name: f.rule.name,
                severity: f.severity,
                message: f.message,
                help: f.help,
                stage: f.stage.map(|s| StageRef {
                    index: s,
                    name: ctx.stages[s].name.clone(),
                }),
                start_line,
                end_line,
                span: SpanReport {
                    start: f.span.start(),
                    end: f.span.end(),
                },
                estimate: f.estimate,
                measured: None,
                start_column,
                end_column: end_column + 1,
                related: f
                    .related
                    .iter()
                    .map(|(sp, m)| Related {
                        span: SpanReport {
                            start: sp.start(),
                            end: sp.end(),
                        },
                        line: files.line_col(file_id, sp.start()).0,
                        message: m.clone(),
                    })
                    .collect(),
                notes: f.notes,
                file_id,
                fix: f.fix,
            });
        }
        ft.rules_time = t.elapsed();
        ft.stages = ctx.stages.len();
        ft.target = (ctx.target, ctx.stages.get(ctx.target).and_then(|s| s.name.clone()));
        ft.shipping = ctx.stages.iter().filter(|s| s.ships).map(|s| s.index).collect();
        trace.files.push(ft);
        let stages = ctx.stages.iter().map(|s| StageReport::new(s, ctx.target)).collect();
        let context = bc
            .as_ref()
            .zip(context_dir.as_deref())
            .map(|(bc, dir)| context_report(&ctx, bc, dir));
        report.files.push(FileReport {
            path: input.name.clone(),
            stages,
            context,
            image: None,
        });
    }
    report
        .findings
        .sort_by(|a, b| (a.file_id, a.span.start, a.code).cmp(&(b.file_id, b.span.start, b.code)));
    let mut summary = Summary {
        files: inputs.len(),
        findings: report.findings.len(),
        suppressed,
        ..Summary::default()
    };
    for s in [Severity::Error, Severity::Warning, Severity::Info] {
        summary.by_severity.insert(s.as_str(), 0);
    }
    let mut total = Total::default();
    for f in &report.findings {
        *summary.by_severity.entry(f.severity.as_str()).or_default() += 1;
        *summary.by_rule.entry(f.code).or_default() += 1;
        if let Some(e) = &f.estimate {
            total.add(e);
        }
    }
    summary.estimated_saving = (total.count > 0).then_some(total);
    report.summary = summary;
    Ok((report, files, trace))
}

/// The file as text with every byte offset unchanged: bytes that are not UTF-8 become `?`
/// (one byte each), so the parser's spans index the text exactly.
#[must_use]
pub fn text_same_offsets(bytes: &[u8]) -> String {
    let mut out = Vec::with_capacity(bytes.len());
    let mut rest = bytes;
    loop {
        match std::str::from_utf8(rest) {
            Ok(s) => {
                out.extend_from_slice(s.as_bytes());
                break;
            }
            Err(e) => {
                let good = e.valid_up_to();
                out.extend_from_slice(&rest[..good]);
                let bad = e.error_len().unwrap_or(rest.len() - good);
                out.extend(std::iter::repeat_n(b'?', bad));
                rest = &rest[good + bad..];
            }
        }
    }
    String::from_utf8(out).unwrap_or_default()
}

fn context_report(ctx: &RuleContext<'_>, bc: &BuildContext, dir: &Path) -> ContextReport {
    let mut copied: BTreeMap<&str, u64> = BTreeMap::new();
    for st in ctx.shipping_stages() {
        for (_, inst) in ctx.stage_instructions(st.index) {
            for s in context_sources(inst).into_iter().filter(|s| !s.contains("://")) {
                for e in bc.matching(&s) {
                    copied.insert(&e.path, e.bytes.0);
                }
            }
        }
    }
    let mut largest: Vec<SizedPath> = copied
        .into_iter()
        .map(|(p, b)| SizedPath {
            path: p.to_string(),
            bytes: ByteSize(b),
        })
        .collect();
    largest.sort_by(|a, b| b.bytes.cmp(&a.bytes).then(a.path.cmp(&b.path)));
    largest.truncate(10);
    ContextReport {
        root: dir.display().to_string(),
        dockerignore: bc.ignore_file.as_ref().map(|p| p.display().to_string()),
        files: bc.entries.len(),
        bytes: bc.total_bytes(),
        ignored_entries: bc.ignored_entries,
        truncated: bc.truncated,
        largest_copied: largest,
        accidental: bc.accidental(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_utf8_keeps_offsets() {
        let t = text_same_offsets(b"RUN \xff\xfe x \xe9");
        assert_eq!(t, "RUN ?? x ?");
        assert_eq!(t.len(), 10);
    }

    #[test]
    fn suppression_comments() {
        let s = suppressions(
            "# imgopt global ignore=DF101\nFROM x\n# imgopt ignore=DF201,apk-add-cache because\n# another comment\nRUN a\nRUN b\n",
        );
        assert!(s.suppressed("DF101", 99));
        assert!(s.suppressed("DF201", 5));
        assert!(s.suppressed("DF203", 5));
        assert!(!s.suppressed("DF201", 6));
    }
}

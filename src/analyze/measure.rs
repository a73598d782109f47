//! `imgopt analyze Dockerfile --image IMAGE`: measured bytes from the built image attached to
//! the Dockerfile's findings.
//!
//! Owns: pairing the image's history with the final stage's instructions (through
//! [`crate::layers::history::attach_dockerfile`], the same mapping as `imgopt layers
//! --dockerfile`), the per-instruction figures in the report ([`ImageMeasure`]), and turning
//! a finding's estimate into a measured one where the instruction's layers show the bytes:
//!
//! Each rule says what confirms it ([`crate::rules::RuleMeta::measured`]): bytes its
//! instruction's layers stored under named package-manager caches ([`Measured::Caches`]), or
//! bytes of earlier layers they deleted or stored again with only new metadata
//! ([`Measured::Waste`]; caches excluded: their own rules report them).
//!
//! "Stored by the layer" counts every file the layer holds under the cache directory, whether
//! it survives to the final filesystem (`package_cache`) or a later layer deletes or replaces
//! it: removing it later saves nothing, so all of it is the saving. Bytes are content bytes
//! (tar size fields), uncompressed; compressed figures stay unknown (one layer's blob cannot be
//! split by path). A finding whose layers hold none of those bytes keeps its estimate and gets
//! a note; other rules keep their basis.
//! Does not: read the image (the CLI runs [`crate::layers::analyze`]) or run rules.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{AnalyzeReport, Input, Options, Summary};
use crate::digest::Digest;
use crate::dockerfile::{self, Stages};
use crate::estimate::{Basis, Estimate, Total};
use crate::layers::history::{InstructionMeasure, attach_dockerfile};
use crate::layers::{BaseSplit, LayersReport, WasteKind};
use crate::rules::{self, Measured};
use crate::units::ByteSize;

/// Why the measurements could not be attached.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The Dockerfile does not parse.
    #[error("{file}:{line}:{column}: {message}")]
    Parse {
        /// The file.
        file: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// The parser's message.
        message: String,
    },
    /// The stages could not be resolved (unknown `--target`, a cycle).
    #[error("{file}: {message}")]
    Stages {
        /// The file.
        file: String,
        /// What went wrong.
        message: String,
    },
    /// The report has no file of that name.
    #[error("no analysed file named {0}")]
    NoSuchFile(String),
}

/// The image measured against one Dockerfile (`files[].image` in JSON).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ImageMeasure {
    /// What was read, as `imgopt layers` names it.
    pub source: String,
    /// `os/arch[/variant]` that was read.
    pub platform: Option<String>,
    /// The manifest read.
    pub manifest_digest: Option<Digest>,
    /// Layers in the image.
    pub layers: usize,
    /// The FROM image's layers (those below the first layer the stage made) against the
    /// stage's own.
    pub base: Option<BaseSplit>,
    /// One entry per instruction of the target stage (FROM excluded), in order.
    pub instructions: Vec<InstructionBytes>,
    /// History steps paired with no instruction, or layer and history counts that differ.
    pub warnings: Vec<String>,
}

/// Measured bytes of one instruction.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct InstructionBytes {
    /// Line, layers, stored and content bytes, waste made and wasted later (as in
    /// `imgopt layers --dockerfile`).
    #[serde(flatten)]
    pub measure: InstructionMeasure,
    /// Content bytes its layers stored under package-manager caches, by cache tag
    /// (`apt-lists`, `pip`, ...), whether or not a later layer removed them.
    pub cache_bytes: BTreeMap<String, ByteSize>,
    /// Bytes of earlier layers it deleted, package-manager caches excluded.
    pub deleted_bytes: ByteSize,
    /// Bytes of earlier layers it stored again with only new metadata (`chown -R`).
    pub metadata_only_bytes: ByteSize,
}

/// What the image showed for one finding (`findings[].measured` in JSON).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FindingMeasure {
    /// The layers of the finding's instruction.
    pub layers: Vec<usize>,
    /// What was counted: `cache:apt-lists` (tags joined by `+`), `deleted` or `metadata_only`.
    pub counted: String,
    /// The bytes found (0: the layers show none, and the estimate was kept).
    pub bytes: ByteSize,
    /// The estimate before measuring, when it was replaced.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replaced: Option<Estimate>,
}

/// Measures the image against the file `input` (already analysed into `report` with `opts`)
/// and rewrites the estimates of that file's findings where the layers show the bytes; the
/// summary is recomputed.
pub fn attach(report: &mut AnalyzeReport, input: &Input, opts: &Options, mut image: LayersReport) -> Result<(), Error> {
    let df = dockerfile::parse(&input.bytes).map_err(|e| Error::Parse {
        file: input.name.clone(),
        line: e.line,
        column: e.column,
        message: e.message.clone(),
    })?;
    let sopts = dockerfile::StageOptions {
        target: opts.target.clone(),
        build_args: opts.build_args.clone(),
    };
    let stages = Stages::build(&df, &sopts).map_err(|e| Error::Stages {
        file: input.name.clone(),
        message: e.to_string(),
    })?;
    attach_dockerfile(&mut image, &df, &stages);
    let measures = image.instructions.take().unwrap_or_default();
    let mut instructions = Vec::with_capacity(measures.len());
    // Instruction index in the Dockerfile, for each measure (same order as the stage).
    let stage = &stages.stages[stages.target];
    let idxs: Vec<usize> = stage.instructions.clone().skip(1).collect();
    // Per instruction: the paths of earlier layers it deleted, with their bytes.
    let mut deleted_items: Vec<Vec<(String, u64)>> = Vec::with_capacity(measures.len());
    for m in measures {
        let mut cache_bytes: BTreeMap<String, ByteSize> = BTreeMap::new();
        let (mut deleted, mut meta) = (0u64, 0u64);
        let mut items = Vec::new();
        for w in &image.waste {
            if m.layers.contains(&w.stored_in)
                && w.kind != WasteKind::DuplicateContent
                && let Some(tag) = &w.cache
            {
                cache_bytes.entry(tag.clone()).or_default().0 += w.bytes;
            }
            if w.made_waste_by
                .is_some_and(|l| m.layers.contains(&l) && !m.layers.contains(&w.stored_in))
            {
                match w.kind {
                    WasteKind::Deleted if w.cache.is_none() => {
                        deleted += w.bytes;
                        items.push((w.path.clone(), w.bytes));
                    }
                    WasteKind::MetadataOnly => meta += w.bytes,
                    _ => {}
                }
            }
        }
        deleted_items.push(items);
        instructions.push(InstructionBytes {
            measure: m,
            cache_bytes,
            deleted_bytes: ByteSize(deleted),
            metadata_only_bytes: ByteSize(meta),
        });
    }
    let mut warnings = image.warnings.clone();
    let own_layers = image.base.as_ref().map_or(0, |b| image.layers.len() - b.layers);
    let mapped_layers: usize = instructions.iter().map(|i| i.measure.layers.len()).sum();
    // A stage whose RUN/COPY/ADD own no layer at all is already warned about by
    // `attach_dockerfile`; a stage without any makes no layer, which is no mismatch.
    if mapped_layers < own_layers {
        warnings.push(format!(
            "{} of the image's {} layers above its base were paired with an instruction of {}: is this the image built from it?",
            mapped_layers, own_layers, input.name
        ));
    }
    let source = image.source.clone();

    // Findings of this file in the target stage, by the instruction that holds their span.
    let text = super::text_same_offsets(&input.bytes);
    let pos_of = |start: usize| {
        // Instructions are in file order: the last one starting at or before `start`.
        let p = idxs.partition_point(|&i| df.instructions[i].span.start() <= start);
        p.checked_sub(1).filter(|&p| {
            let sp = &df.instructions[idxs[p]].span;
            start < sp.end().max(sp.start() + 1)
        })
    };
    let in_target =
        |f: &super::FindingReport| f.file == input.name && f.stage.as_ref().is_none_or(|s| s.index == stages.target);
    // DF401 findings per instruction: several deletes in one RUN share its measured bytes.
    let mut deletes_per: BTreeMap<usize, usize> = BTreeMap::new();
    for f in report.findings.iter().filter(|f| in_target(f) && f.code == "DF401") {
        if let Some(p) = pos_of(f.span.start) {
            *deletes_per.entry(p).or_default() += 1;
        }
    }
    for f in &mut report.findings {
        if !in_target(f) {
            continue;
        }
        let Some(pos) = pos_of(f.span.start) else {
            continue;
        };
        let ib = &instructions[pos];
        if ib.measure.layers.is_empty() {
            continue;
        }
        let Some(how) = rules::find(f.code).and_then(|r| r.meta().measured) else {
            continue;
        };
        let (bytes, what, counted) = match how {
            Measured::Caches(kinds) => {
                let tags: Vec<&str> = kinds.iter().map(|k| k.as_str()).collect();
                let b: u64 = kinds
                    .iter()
                    .filter_map(|k| ib.cache_bytes.get(k.as_str()))
                    .map(|b| b.0)
                    .sum();
                (
                    b,
                    format!("under the {} cache", tags.join("/")),
                    format!("cache:{}", tags.join("+")),
                )
            }
            Measured::Waste(WasteKind::MetadataOnly) => (
                ib.metadata_only_bytes.0,
                "stored again with only new owner or mode".to_string(),
                "metadata_only".to_string(),
            ),
            Measured::Waste(_) if deletes_per.get(&pos).copied().unwrap_or(0) > 1 => {
                // This delete's own paths: the word the finding points at names them.
                let word = text.get(f.span.start..f.span.end).unwrap_or("");
                let b: u64 = deleted_items[pos]
                    .iter()
                    .filter(|(p, _)| deleted_path_matches(word, p))
                    .map(|(_, b)| b)
                    .sum();
                (
                    b,
                    format!("of earlier layers deleted by `{word}`"),
                    "deleted".to_string(),
                )
            }
            Measured::Waste(_) => (
                ib.deleted_bytes.0,
                "of earlier layers deleted by it".to_string(),
                "deleted".to_string(),
            ),
        };
        let mut fm = FindingMeasure {
            layers: ib.measure.layers.clone(),
            counted,
            bytes: ByteSize(bytes),
            replaced: None,
        };
        let layers: Vec<String> = ib.measure.layers.iter().map(usize::to_string).collect();
        let layer_word = if layers.len() == 1 { "layer" } else { "layers" };
        if bytes == 0 {
            f.notes.push(format!(
                "measured on {source}: {layer_word} {} of this instruction hold no bytes {what}",
                layers.join(", ")
            ));
            f.measured = Some(fm);
            continue;
        }
        fm.replaced = f.estimate;
        let before = f.estimate.map_or_else(
            || "there was no estimate".to_string(),
            |e| format!("the estimate was {e}"),
        );
        f.estimate = Some(Estimate::uncompressed(bytes, bytes, Basis::Measured));
        // A note explaining why there was no estimate no longer applies.
        f.notes.retain(|n| !n.starts_with("no estimate"));
        f.notes.push(format!(
            "measured on {source}: {} {what} in {layer_word} {} ({before})",
            ByteSize(bytes),
            layers.join(", ")
        ));
        f.measured = Some(fm);
    }
    // Deletes the Dockerfile alone could not tie to what made the files (without a build
    // context, a `COPY dir` does not name its files): the layers show it.
    if opts.selection.enabled("DF401") {
        let file_id = crate::diag::FileId(report.files.iter().position(|r| r.path == input.name).unwrap_or(0));
        for (pos, ib) in instructions.iter().enumerate() {
            let i = idxs[pos];
            let inst = &df.instructions[i];
            if ib.deleted_bytes.0 == 0
                || deletes_per.contains_key(&pos)
                || inst.keyword != dockerfile::Keyword::Run
                || suppressed_at(&text, inst.start_line, "DF401")
            {
                continue;
            }
            report
                .findings
                .push(measured_delete(input, file_id, &text, &stages, inst, ib, &source));
        }
        report
            .findings
            .sort_by(|a, b| (a.file_id, a.span.start, a.code).cmp(&(b.file_id, b.span.start, b.code)));
        recount(&mut report.summary, &report.findings);
    }
    recompute_totals(
        &mut report.summary,
        report.findings.iter().filter_map(|f| f.estimate.as_ref()),
    );

    let file = report
        .files
        .iter_mut()
        .find(|r| r.path == input.name)
        .ok_or_else(|| Error::NoSuchFile(input.name.clone()))?;
    file.image = Some(ImageMeasure {
        source,
        platform: image.platform.clone(),
        manifest_digest: image.manifest_digest.clone(),
        layers: image.layers.len(),
        base: image.base.clone(),
        instructions,
        warnings,
    });
    Ok(())
}

/// Whether a waste path (a file, or a directory with a trailing `/`) is what the `rm`
/// argument `word` names: the path itself or below it, a glob's prefix, quotes removed.
fn deleted_path_matches(word: &str, path: &str) -> bool {
    let w = word.trim_matches(['"', '\'']).trim_end_matches('/');
    let w = w.strip_suffix("/*").unwrap_or(w);
    let p = path.trim_end_matches('/');
    if w.is_empty() || !w.starts_with('/') {
        return false;
    }
    match w.strip_suffix('*') {
        Some(prefix) => p.starts_with(prefix),
        None => p == w || p.starts_with(&format!("{w}/")),
    }
}

/// Whether a `# imgopt ignore=` comment right above line `line` (or a global one) names `code`.
fn suppressed_at(text: &str, line: usize, code: &str) -> bool {
    let lines: Vec<&str> = text.lines().collect();
    let names = |l: &str| {
        l.trim()
            .strip_prefix('#')
            .map(str::trim)
            .and_then(|b| b.strip_prefix("imgopt"))
            .and_then(|r| r.split_once("ignore="))
            .is_some_and(|(_, codes)| {
                codes
                    .split_whitespace()
                    .next()
                    .unwrap_or("")
                    .split(',')
                    .any(|c| c.eq_ignore_ascii_case(code) || c.eq_ignore_ascii_case("deleted-in-later-layer"))
            })
    };
    if lines.iter().any(|l| l.contains("global") && names(l)) {
        return true;
    }
    let mut k = line.saturating_sub(1);
    while k > 0 {
        let l = lines.get(k - 1).map_or("", |l| l.trim());
        if !l.starts_with('#') {
            return false;
        }
        if names(l) {
            return true;
        }
        k -= 1;
    }
    false
}

/// A DF401 finding for a `RUN` whose layers delete bytes earlier layers stored, when the
/// rules could not see where the files came from.
fn measured_delete(
    input: &Input,
    file_id: crate::diag::FileId,
    text: &str,
    stages: &Stages,
    inst: &dockerfile::Instruction<'_>,
    ib: &InstructionBytes,
    source: &str,
) -> super::FindingReport {
    let meta = rules::find("DF401").map(super::super::rules::Rule::meta);
    let line_col = |off: usize| {
        let before = &text[..off.min(text.len())];
        let line = before.bytes().filter(|b| *b == b'\n').count() + 1;
        let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        (line, col)
    };
    let (start_line, start_column) = line_col(inst.span.start());
    let (end_line, end_column) = line_col(inst.span.end().max(inst.span.start() + 1) - 1);
    let bytes = ib.deleted_bytes.0;
    let layers: Vec<String> = ib.measure.layers.iter().map(usize::to_string).collect();
    let target = &stages.stages[stages.target];
    super::FindingReport {
        file: input.name.clone(),
        code: "DF401",
        name: meta.map_or("deleted-in-later-layer", |m| m.name),
        severity: meta.map_or(crate::diag::Severity::Warning, |m| m.severity),
        message: format!(
            "this RUN deletes {} that earlier layers stored; the bytes stay in those layers",
            ByteSize(bytes)
        ),
        help: "create and delete in the same RUN, use `RUN --mount=type=bind` for files needed only during the build, or build in another stage and `COPY --from` what the image needs".to_string(),
        stage: Some(super::StageRef {
            index: target.index,
            name: target.name.clone(),
        }),
        start_line,
        end_line,
        span: super::SpanReport {
            start: inst.span.start(),
            end: inst.span.end(),
        },
        estimate: Some(Estimate::uncompressed(bytes, bytes, Basis::Measured)),
        measured: Some(FindingMeasure {
            layers: ib.measure.layers.clone(),
            counted: "deleted".to_string(),
            bytes: ByteSize(bytes),
            replaced: None,
        }),
        start_column,
        end_column: end_column + 1,
        related: Vec::new(),
        notes: vec![format!(
            "measured on {source}: {} of earlier layers deleted in layer{} {}; found from the image alone (the Dockerfile does not say which files an earlier instruction added)",
            ByteSize(bytes),
            if layers.len() == 1 { "" } else { "s" },
            layers.join(", ")
        )],
        file_id,
        fix: None,
    }
}

/// Counts by severity and rule after findings were added.
fn recount(summary: &mut Summary, findings: &[super::FindingReport]) {
    summary.findings = findings.len();
    summary.by_severity.values_mut().for_each(|v| *v = 0);
    summary.by_rule.clear();
    for f in findings {
        *summary.by_severity.entry(f.severity.as_str()).or_default() += 1;
        *summary.by_rule.entry(f.code).or_default() += 1;
    }
}

fn recompute_totals<'a>(summary: &mut Summary, estimates: impl Iterator<Item = &'a Estimate>) {
    let mut total = Total::default();
    for e in estimates {
        total.add(e);
    }
    summary.estimated_saving = (total.count > 0).then_some(total);
}

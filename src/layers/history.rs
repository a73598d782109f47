//! Aligning the config's history with the layers, and the history with a Dockerfile.
//!
//! Owns: which history step made which layer (steps marked `empty_layer`, such as ENV, CMD or
//! WORKDIR, made no layer and are skipped; the rest pair with the layers bottom first, as dive
//! and `docker history` do), and which instruction of a Dockerfile's final stage made which
//! step (`--dockerfile`), so measured bytes and waste attach to instruction lines.
//! Does not: parse Dockerfiles (see `dockerfile`).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::dockerfile::{Dockerfile, Keyword, Stages};
use crate::source::History;
use crate::units::ByteSize;

use super::report::{BaseSplit, LayersReport};

/// The history step that made a layer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    /// Index in the config's `history` array.
    pub index: usize,
    /// `created_by` as written.
    pub created_by: String,
}

/// Pairs `layers` layers with the non-empty history steps. Returns one entry per layer
/// (`None` when the history has too few steps) and a warning when the counts differ.
#[must_use]
pub fn align(history: &[History], layers: usize) -> (Vec<Option<Step>>, Option<String>) {
    let steps: Vec<Step> = history
        .iter()
        .enumerate()
        .filter(|(_, h)| !h.empty_layer)
        .map(|(index, h)| Step {
            index,
            created_by: h.created_by.clone(),
        })
        .collect();
    let warning = (!history.is_empty() && steps.len() != layers).then(|| {
        format!(
            "the config's history has {} steps that made layers, but the image has {layers} layers; steps were paired bottom first",
            steps.len()
        )
    });
    let mut out: Vec<Option<Step>> = steps.into_iter().map(Some).collect();
    out.resize(layers, None);
    out.truncate(layers);
    (out, warning)
}

/// The instruction keyword that made a history step, from its `created_by`:
/// BuildKit writes `RUN /bin/sh -c ... # buildkit`, `COPY ... # buildkit`, `ENV A=1`; the
/// classic builder writes `/bin/sh -c #(nop)  COPY ...` for non-RUN steps and
/// `/bin/sh -c ...` (or `|1 ARG=x /bin/sh -c ...`) for RUN.
#[must_use]
pub fn step_keyword(created_by: &str) -> Option<Keyword> {
    let s = created_by.trim();
    if let Some(rest) = s.strip_prefix("/bin/sh -c #(nop)") {
        let word = rest.split_whitespace().next()?;
        return known(word);
    }
    if s.starts_with("/bin/sh -c ") || (s.starts_with('|') && s.contains("/bin/sh -c ")) {
        return Some(Keyword::Run);
    }
    known(s.split_whitespace().next()?)
}

fn known(word: &str) -> Option<Keyword> {
    match Keyword::from_word(word) {
        Keyword::Unknown => None,
        k => Some(k),
    }
}

/// Pairs history steps with the instructions of the Dockerfile's target stage, walking both
/// from the end (the base image's steps come first in the history and match nothing).
/// Instructions that leave no history step (`ARG` in some builders) are skipped. Returns
/// history index to instruction index.
#[must_use]
pub fn map_dockerfile(df: &Dockerfile, stages: &Stages, history: &[History]) -> BTreeMap<usize, usize> {
    let mut out = BTreeMap::new();
    let Some(stage) = stages.stages.get(stages.target) else {
        return out;
    };
    // The FROM itself makes no step.
    let instrs: Vec<usize> = stage.instructions.clone().skip(1).collect();
    let mut i = instrs.len();
    let mut j = history.len();
    while i > 0 && j > 0 {
        let ins = &df.instructions[instrs[i - 1]];
        let want = ins.keyword;
        match step_keyword(&history[j - 1].created_by) {
            Some(k) if k == want => {
                out.insert(j - 1, instrs[i - 1]);
                i -= 1;
                j -= 1;
            }
            _ if matches!(want, Keyword::Arg | Keyword::Onbuild | Keyword::Unknown) => i -= 1,
            // A step this stage did not make: the stage's instructions are used up from here
            // down, unless the step is one the base may have added in between.
            _ => break,
        }
    }
    out
}

/// Measured bytes for one Dockerfile instruction.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct InstructionMeasure {
    /// 1-based line where the instruction starts.
    pub line: usize,
    /// The instruction keyword.
    pub keyword: Keyword,
    /// The instruction as written (first line, shortened).
    pub instruction: String,
    /// Layers it made (empty for metadata-only instructions).
    pub layers: Vec<usize>,
    /// Stored (compressed) bytes of those layers.
    pub compressed_bytes: ByteSize,
    /// Content bytes of those layers.
    pub content_bytes: ByteSize,
    /// Bytes those layers stored that later layers made waste.
    pub wasted_later: ByteSize,
    /// Bytes of earlier layers that this instruction made waste (deleted or overwritten).
    pub made_waste: ByteSize,
}

/// Attaches `--dockerfile` measurements to a report: one entry per instruction of the target
/// stage (FROM excluded), and, when no `--base` was given, the base split at the first layer
/// the stage made (its FROM image's layers are the rest below).
pub fn attach_dockerfile(report: &mut LayersReport, df: &Dockerfile, stages: &Stages) {
    let map = map_dockerfile(df, stages, &report.history);
    let Some(stage) = stages.stages.get(stages.target) else {
        return;
    };
    let mut measures = Vec::new();
    for idx in stage.instructions.clone().skip(1) {
        let ins = &df.instructions[idx];
        let layers: Vec<usize> = report
            .layers
            .iter()
            .filter(|l| l.history_index.is_some_and(|h| map.get(&h) == Some(&idx)))
            .map(|l| l.index)
            .collect();
        let sum = |f: fn(&super::LayerReport) -> u64| {
            ByteSize(super::filetree::saturating_sum(
                layers.iter().map(|&i| f(&report.layers[i])),
            ))
        };
        let first_line: String = ins
            .original
            .text()
            .lines()
            .next()
            .unwrap_or("")
            .chars()
            .take(100)
            .collect();
        measures.push(InstructionMeasure {
            line: ins.start_line,
            keyword: ins.keyword,
            instruction: first_line,
            compressed_bytes: sum(|l| l.compressed_bytes.0),
            content_bytes: sum(|l| l.content_bytes.0),
            wasted_later: sum(|l| l.wasted_bytes.0),
            made_waste: sum(|l| l.made_waste_bytes.0),
            layers,
        });
    }
    // A stage that makes layers but owns none of the image's layers was not what built this
    // image (or its history was squashed): say so instead of reporting zeros quietly.
    let makes_layers = stage
        .instructions
        .clone()
        .skip(1)
        .any(|i| matches!(df.instructions[i].keyword, Keyword::Run | Keyword::Copy | Keyword::Add));
    let owns_a_layer = measures.iter().any(|m| !m.layers.is_empty());
    if makes_layers && !owns_a_layer {
        report.warnings.push(format!(
            "no layer of the image matches a RUN, COPY or ADD of the Dockerfile's target stage (lines {}-{}): \
             is this the image built from it? Per-instruction bytes are 0 and every layer counts as the base",
            df.instructions[stage.instructions.start].start_line,
            stage
                .instructions
                .clone()
                .last()
                .map_or(0, |i| df.instructions[i].start_line),
        ));
    }
    if report.base.is_none() {
        let first_own = report
            .layers
            .iter()
            .find(|l| l.history_index.is_some_and(|h| map.contains_key(&h)))
            .map_or(report.layers.len(), |l| l.index);
        let (base, own) = report.layers.split_at(first_own);
        let sum = |ls: &[super::LayerReport], f: fn(&super::LayerReport) -> u64| {
            ByteSize(super::filetree::saturating_sum(ls.iter().map(f)))
        };
        report.base = Some(BaseSplit {
            reference: stage.base_expanded.clone(),
            layers: first_own,
            matches_fully: !map.is_empty() && (owns_a_layer || !makes_layers),
            base_compressed_bytes: sum(base, |l| l.compressed_bytes.0),
            base_content_bytes: sum(base, |l| l.content_bytes.0),
            own_compressed_bytes: sum(own, |l| l.compressed_bytes.0),
            own_content_bytes: sum(own, |l| l.content_bytes.0),
        });
    }
    report.instructions = Some(measures);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_of_buildkit_and_classic_steps() {
        assert_eq!(
            step_keyword("RUN /bin/sh -c apt-get update # buildkit"),
            Some(Keyword::Run)
        );
        assert_eq!(step_keyword("COPY app/ /app/ # buildkit"), Some(Keyword::Copy));
        assert_eq!(step_keyword("ENV PYTHONUNBUFFERED=1"), Some(Keyword::Env));
        assert_eq!(step_keyword("/bin/sh -c #(nop)  CMD [\"bash\"]"), Some(Keyword::Cmd));
        assert_eq!(step_keyword("/bin/sh -c #(nop) ADD file:abc in / "), Some(Keyword::Add));
        assert_eq!(step_keyword("/bin/sh -c apt-get install -y x"), Some(Keyword::Run));
        assert_eq!(step_keyword("|1 V=2 /bin/sh -c make"), Some(Keyword::Run));
        assert_eq!(step_keyword("EXPOSE map[8080/tcp:{}]"), Some(Keyword::Expose));
        assert_eq!(step_keyword("debootstrap"), None);
    }

    #[test]
    fn maps_the_final_stage_from_the_end() {
        let src = b"FROM golang AS build\nRUN go build\n\nFROM debian:bookworm\nARG V=1\nRUN apt-get update\nCOPY --from=build /x /x\nENV A=1\nCMD [\"x\"]\n";
        let df = crate::dockerfile::parse(src).unwrap();
        let stages = Stages::build(&df, &crate::dockerfile::StageOptions::default()).unwrap();
        let hist = [
            h("ADD rootfs / # buildkit", false),
            h("CMD [\"bash\"]", true),
            h("RUN /bin/sh -c apt-get update # buildkit", false),
            h("COPY /x /x # buildkit", false),
            h("ENV A=1", true),
            h("CMD [\"x\"]", true),
        ];
        let map = map_dockerfile(&df, &stages, &hist);
        let lines: Vec<(usize, usize)> = map.iter().map(|(h, i)| (*h, df.instructions[*i].start_line)).collect();
        assert_eq!(lines, [(2, 6), (3, 7), (4, 8), (5, 9)]);
    }

    fn h(by: &str, empty: bool) -> History {
        History {
            created_by: by.into(),
            empty_layer: empty,
            created: None,
            comment: None,
        }
    }

    #[test]
    fn skips_empty_layer_steps() {
        let hist = [
            h("ADD rootfs", false),
            h("CMD bash", true),
            h("RUN apt", false),
            h("ENV A=1", true),
            h("COPY app", false),
            h("USER app", true),
        ];
        let (steps, warn) = align(&hist, 3);
        assert!(warn.is_none());
        let got: Vec<(usize, &str)> = steps
            .iter()
            .map(|s| s.as_ref().map(|s| (s.index, s.created_by.as_str())).unwrap())
            .collect();
        assert_eq!(got, [(0, "ADD rootfs"), (2, "RUN apt"), (4, "COPY app")]);
    }

    #[test]
    fn warns_when_counts_differ() {
        let (steps, warn) = align(&[h("ADD rootfs", false)], 2);
        assert!(warn.unwrap().contains("1 steps"));
        assert_eq!(steps[1], None);
        let (steps, _) = align(&[], 2);
        assert_eq!(steps, [None, None]);
    }
}

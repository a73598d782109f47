//! Human rendering of `imgopt parse`: a summary line, directives, global ARGs, one line per
//! stage (base, instruction count, lines, whether the target needs it) and the stage graph.

use std::io::{self, Write};

use crate::dockerfile::report::{ParseReport, StageReport};
use crate::dockerfile::stages::DependencyKind;

fn stage_label(s: &StageReport) -> String {
    match &s.name {
        Some(n) => format!("#{} {n}", s.index),
        None => format!("#{}", s.index),
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    crate::report::text::plural(n as u64, one, many)
}

/// One instruction as a short line: its line numbers, word, flags and values (cut at 80
/// characters), and its heredocs.
fn instruction_line(i: &crate::dockerfile::report::InstructionReport) -> String {
    let mut text = i.cmd.clone();
    if let Some(sub) = &i.sub_cmd {
        text.push(' ');
        text.push_str(sub);
    }
    for f in i.flags.iter().chain(&i.sub_flags) {
        text.push(' ');
        text.push_str(f);
    }
    let values = if i.json {
        format!("{:?}", i.value)
    } else {
        i.value.join(" ")
    };
    if !values.is_empty() {
        text.push(' ');
        text.push_str(&values);
    }
    let mut text: String = text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    if text.chars().count() > 80 {
        text = text.chars().take(79).collect::<String>() + "…";
    }
    for h in &i.heredocs {
        text.push_str(&format!("  (heredoc {}: {} lines)", h.name, h.content.lines().count()));
    }
    let lines = if i.start_line == i.end_line {
        format!("{}", i.start_line)
    } else {
        format!("{}-{}", i.start_line, i.end_line)
    };
    format!("      {lines:>7}  {text}")
}

/// Writes the human form of `r`; `verbose` also lists every instruction under its stage.
pub fn render(r: &ParseReport, verbose: bool, out: &mut dyn Write) -> io::Result<()> {
    let target = r.target.and_then(|t| r.stages.get(t));
    write!(
        out,
        "{}: {}, {}",
        r.file,
        plural(r.instructions.len(), "instruction", "instructions"),
        plural(r.stages.len(), "stage", "stages")
    )?;
    if let Some(t) = target {
        write!(out, ", target {}", stage_label(t))?;
    }
    writeln!(out)?;
    if !r.directives.is_empty() {
        let d: Vec<String> = r.directives.iter().map(|(k, v)| format!("{k}={}", v.value)).collect();
        writeln!(out, "directives: {}", d.join(", "))?;
    }
    if !r.global_args.is_empty() {
        let a: Vec<String> = r.global_args.iter().map(|(k, v)| format!("{k}={v}")).collect();
        writeln!(out, "global ARGs: {}", a.join(", "))?;
    }
    if verbose {
        for i in r.instructions.iter().filter(|i| i.stage.is_none()) {
            writeln!(out, "{}", instruction_line(i))?;
        }
    }
    if r.stages.is_empty() {
        writeln!(out, "no FROM instruction, so no stages")?;
    } else {
        writeln!(out, "\nstages:")?;
        let width = r.stages.iter().map(|s| stage_label(s).len()).max().unwrap_or(0);
        for s in &r.stages {
            let lines = {
                let first = r.instructions.get(s.first_instruction).map_or(0, |i| i.start_line);
                let last = r
                    .instructions
                    .get(s.first_instruction + s.instruction_count.saturating_sub(1))
                    .map_or(first, |i| i.end_line);
                format!("lines {first}-{last}")
            };
            let mut base = if let Some(b) = s.base_stage {
                format!(
                    "FROM stage {}",
                    r.stages.get(b).map_or_else(|| b.to_string(), stage_label)
                )
            } else {
                s.base_expanded.clone()
            };
            if s.base_stage.is_none() && s.base != s.base_expanded {
                base.push_str(&format!(" (written {})", s.base));
            }
            if let Some(p) = &s.platform {
                base.push_str(&format!(" --platform={p}"));
            }
            let role = if s.is_target {
                "target"
            } else if s.reaches_target {
                "needed by the target"
            } else {
                "not needed by the target"
            };
            writeln!(
                out,
                "  {:<width$}  {base}  [{}, {lines}]  {role}",
                stage_label(s),
                plural(s.instruction_count, "instruction", "instructions"),
            )?;
            if verbose {
                for i in r
                    .instructions
                    .iter()
                    .skip(s.first_instruction)
                    .take(s.instruction_count)
                {
                    writeln!(out, "{}", instruction_line(i))?;
                }
            }
        }
        // One line per (from, to, kind), listing the lines where it happens.
        let mut edges: Vec<(String, String, &str, Vec<usize>)> = Vec::new();
        // (from, to, kind) -> position in `edges` (first-seen order kept, no quadratic scan).
        let mut edge_at: std::collections::BTreeMap<(String, String, &str), usize> = std::collections::BTreeMap::new();
        for s in &r.stages {
            for d in &s.dependencies {
                let from = d
                    .stage
                    .and_then(|i| r.stages.get(i))
                    .map_or_else(|| format!("{} (image)", d.reference), stage_label);
                let how = match d.kind {
                    DependencyKind::From => "FROM",
                    DependencyKind::CopyFrom => "COPY --from",
                    DependencyKind::MountFrom => "RUN --mount from",
                };
                let to = stage_label(s);
                let line = r.instructions.get(d.instruction).map_or(0, |i| i.start_line);
                match edge_at.entry((from, to, how)) {
                    std::collections::btree_map::Entry::Occupied(e) => edges[*e.get()].3.push(line),
                    std::collections::btree_map::Entry::Vacant(e) => {
                        let (from, to, how) = e.key().clone();
                        e.insert(edges.len());
                        edges.push((from, to, how, vec![line]));
                    }
                }
            }
        }
        let edges: Vec<String> = edges
            .into_iter()
            .map(|(from, to, how, lines)| {
                let l: Vec<String> = lines.iter().map(ToString::to_string).collect();
                let word = if lines.len() == 1 { "line" } else { "lines" };
                format!("  {from} -> {to}  ({how}, {word} {})", l.join(", "))
            })
            .collect();
        if !edges.is_empty() {
            writeln!(out, "\ngraph:")?;
            for e in edges {
                writeln!(out, "{e}")?;
            }
        }
    }
    for w in &r.warnings {
        writeln!(out, "warning: line {}: {}", w.line, w.message)?;
    }
    Ok(())
}

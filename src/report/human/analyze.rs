//! Human output of `imgopt analyze`: rustc-style snippets through [`crate::diag::render_human`]
//! (the offending flag or command underlined, `help:` with what to write instead, the
//! estimated saving with its basis), a build-context block per file, and a summary.
//!
//! Every line quotes the user's input (file and folder names, image references, instructions),
//! so all of it goes through [`Printable`]: control characters are shown as `?`, whatever the
//! colour setting (the snippets get the same treatment inside [`render_human`]).

use std::io::{self, Write};

use crate::report::text::{self, plural};

use crate::analyze::AnalyzeReport;
use crate::diag::{ColorChoice, Diagnostic, Files, Label, Printable, render_human};

/// Columns the diagnostic renderer puts before `note: `: the line-number gutter (five digits
/// cover files of up to 99,999 lines) and ` = `.
const GUTTER: usize = 5 + 3;

/// `note: ` (the renderer's label), under which later lines of a note start.
const LABEL: usize = "note: ".len();

/// Converts findings to diagnostics; with a `width`, notes (a catalog citation runs to 280
/// characters) are wrapped to it, later lines under the first line's text. JSON and Markdown
/// keep them whole.
#[must_use]
pub fn diagnostics(report: &AnalyzeReport, width: Option<usize>) -> Vec<Diagnostic> {
    let wrap = |n: &str| match width {
        Some(w) => text::wrap(n, w.saturating_sub(GUTTER), LABEL, LABEL),
        None => n.to_string(),
    };
    report
        .findings
        .iter()
        .map(|f| {
            let mut d = Diagnostic::new(f.severity, f.message.clone()).with_code(f.code);
            d.labels.push(Label {
                file: f.file_id,
                span: f.span.start..f.span.end,
                message: f.name.to_string(),
                primary: true,
            });
            for r in &f.related {
                d.labels.push(Label {
                    file: f.file_id,
                    span: r.span.start..r.span.end,
                    message: r.message.clone(),
                    primary: false,
                });
            }
            if let Some(e) = &f.estimate {
                d.notes.push(wrap(&format!("estimated saving: {e}")));
            }
            d.notes.extend(f.notes.iter().map(|n| wrap(n)));
            d.help = Some(f.help.clone());
            d
        })
        .collect()
}

/// `--image`: one line per instruction that made layers.
fn image_block(im: &crate::analyze::measure::ImageMeasure, out: &mut dyn Write) -> io::Result<()> {
    write!(
        out,
        "measured on {} ({}",
        im.source,
        plural(im.layers as u64, "layer", "layers")
    )?;
    if let Some(b) = &im.base {
        write!(
            out,
            "; base {}: {}, {}",
            b.reference,
            plural(b.layers as u64, "layer", "layers"),
            b.base_content_bytes
        )?;
    }
    writeln!(out, "):")?;
    for i in im.instructions.iter().filter(|i| !i.measure.layers.is_empty()) {
        let m = &i.measure;
        write!(
            out,
            "  line {:>3} {}: {} ({} stored)",
            m.line, m.instruction, m.content_bytes, m.compressed_bytes
        )?;
        if m.wasted_later.0 > 0 {
            write!(out, ", {} wasted later", m.wasted_later)?;
        }
        if m.made_waste.0 > 0 {
            write!(out, ", made {} of earlier layers waste", m.made_waste)?;
        }
        let caches: Vec<String> = i.cache_bytes.iter().map(|(t, b)| format!("{t} {b}")).collect();
        if !caches.is_empty() {
            write!(out, "; caches: {}", caches.join(", "))?;
        }
        writeln!(out)?;
    }
    Ok(())
}

/// Writes the report with every note on one line (as the rule tests snapshot it);
/// [`render_width`] is what the command line shows.
pub fn render(report: &AnalyzeReport, files: &Files, color: ColorChoice, out: &mut dyn Write) -> io::Result<()> {
    write_report(report, files, color, None, out)
}

/// Writes the report, notes wrapped to `width` columns.
pub fn render_width(
    report: &AnalyzeReport,
    files: &Files,
    color: ColorChoice,
    width: usize,
    out: &mut dyn Write,
) -> io::Result<()> {
    write_report(report, files, color, Some(width), out)
}

fn write_report(
    report: &AnalyzeReport,
    files: &Files,
    color: ColorChoice,
    width: Option<usize>,
    out: &mut dyn Write,
) -> io::Result<()> {
    render_human(&diagnostics(report, width), files, color, out)?;
    // The summary writes no colour codes of its own; everything it quotes is the user's.
    let out = &mut Printable(out);
    for file in &report.files {
        if let Some(im) = &file.image {
            image_block(im, out)?;
        }
        let Some(c) = &file.context else { continue };
        let ignore = c
            .dockerignore
            .as_deref()
            .map_or_else(|| "(no .dockerignore)".to_string(), |p| format!("after {p}"));
        writeln!(
            out,
            "context {}: {} {}, {} {ignore}{}",
            c.root,
            c.files,
            if c.files == 1 { "file" } else { "files" },
            c.bytes,
            if c.truncated {
                " (walk stopped at its file limit)"
            } else {
                ""
            }
        )?;
        if !c.largest_copied.is_empty() {
            let top: Vec<String> = c
                .largest_copied
                .iter()
                .take(3)
                .map(|e| format!("{} ({})", e.path, e.bytes))
                .collect();
            writeln!(out, "  largest files copied into the image: {}", top.join(", "))?;
        }
        if !c.accidental.is_empty() {
            let acc: Vec<String> = c
                .accidental
                .iter()
                .take(5)
                .map(|a| format!("{} ({}, {})", a.path, a.kind, a.bytes))
                .collect();
            writeln!(out, "  looks accidental: {}", acc.join(", "))?;
        }
    }
    let s = &report.summary;
    let count = |k: &str| s.by_severity.get(k).copied().unwrap_or(0);
    let plural = |n: usize, w: &str| plural(n as u64, w, &format!("{w}s"));
    if s.findings == 0 {
        write!(out, "no findings in {}", plural(s.files, "file"))?;
    } else {
        write!(
            out,
            "{} in {}: {}, {}, {}",
            plural(s.findings, "finding"),
            plural(s.files, "file"),
            plural(count("error"), "error"),
            plural(count("warning"), "warning"),
            // Info findings are headed `note[...]`, as rustc and ruff head theirs.
            plural(count("info"), "note")
        )?;
    }
    if s.suppressed > 0 {
        write!(out, " ({} suppressed)", s.suppressed)?;
    }
    writeln!(out)?;
    if let Some(t) = &s.estimated_saving {
        writeln!(
            out,
            "estimated saving: {t} (from {}; findings may overlap)",
            plural(t.count, "finding")
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::{Input, Options, analyze};

    #[test]
    fn catalog_notes_wrap_to_the_width_and_keep_every_word() {
        let input = Input {
            name: "Dockerfile".to_string(),
            bytes: b"FROM node:22\nCOPY . .\nCMD [\"node\", \"index.js\"]\n".to_vec(),
            path: None,
        };
        let opts = Options {
            no_context: true,
            ..Options::default()
        };
        let (report, files) = analyze(&[input], &opts).expect("analyses");
        let note = report
            .findings
            .iter()
            .flat_map(|f| &f.notes)
            .find(|n| n.starts_with("catalog:"))
            .expect("a catalog note")
            .clone();
        assert!(note.len() > 150, "a long note to wrap: {note}");
        for width in [60, 100] {
            let mut out = Vec::new();
            render_width(&report, &files, ColorChoice::Never, width, &mut out).expect("renders");
            let text = String::from_utf8(out).expect("UTF-8");
            let long: Vec<&str> = text
                .lines()
                .filter(|l| l.contains(" = ") || l.starts_with("   "))
                .filter(|l| l.chars().count() > width && !l.contains("help:"))
                .collect();
            assert!(long.is_empty(), "width {width}: {long:#?}\n{text}");
            if width < 100 {
                continue; // a word longer than a narrow line (a URL) is cut with an ellipsis
            }
            // The words of the note are all there, in order, across its lines.
            let start = text.find("note: catalog:").expect("the note");
            let words: Vec<&str> = text[start + 6..]
                .split_whitespace()
                .take(note.split_whitespace().count())
                .collect();
            assert_eq!(words, note.split_whitespace().collect::<Vec<_>>(), "{text}");
        }
        // Unwrapped (and in JSON, the report itself), the note is whole.
        let mut out = Vec::new();
        render(&report, &files, ColorChoice::Never, &mut out).expect("renders");
        assert!(String::from_utf8(out).expect("UTF-8").contains(&note));
    }
}

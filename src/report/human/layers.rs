//! Human rendering of `imgopt layers`: a per-layer table with a size bar, waste by kind, the
//! largest waste items and files, packages, dive's efficiency and the reclaimable bytes.
//!
//! Owns: layout only; every number comes from the [`LayersReport`].
//!
//! Width: tables fit the width the printer chose (the terminal's, or 100 columns when piped
//! or written to a file). The one long column of each table (the step, the path, the package name) is cut
//! to what is left, ending with `…`; the size bar is only drawn when there is room for it.
//! Full detail stays in the JSON and Markdown output.

use std::io::{self, Write};

use comfy_table::{CellAlignment, ContentArrangement, Row, Table, presets};

use crate::layers::{LayersReport, MultiPlatformReport};
use crate::report::text::{self, ellipsize};
use crate::units::ByteSize;

const BAR_WIDTH: usize = 16;

/// Narrowest output laid out (a narrower terminal gets this width and wraps).
const MIN_WIDTH: u16 = 60;

/// Width at which the size bar column is drawn.
const BAR_MIN_WIDTH: u16 = 120;

/// Characters shown (a cell's display width for the text imgopt writes).
fn chars(s: &str) -> usize {
    s.chars().count()
}

/// A table of `rows` that fits `width`: column `flex` is cut to the room the others leave.
fn fitted(header: &[&str], right: &[usize], mut rows: Vec<Vec<String>>, flex: usize, width: u16) -> Table {
    let n = header.len();
    let col = |c: usize, rows: &[Vec<String>]| {
        rows.iter()
            .map(|r| chars(&r[c]))
            .chain(std::iter::once(chars(header[c])))
            .max()
            .unwrap_or(0)
    };
    let others: usize = (0..n).filter(|&c| c != flex).map(|c| col(c, &rows)).sum();
    // Each column has one space of padding either side and one border.
    let room = usize::from(width)
        .saturating_sub(others + 3 * n + 1)
        .max(chars(header[flex]).max(8));
    for r in &mut rows {
        r[flex] = ellipsize(&r[flex], room);
    }
    let mut t = Table::new();
    t.load_style(presets::UTF8_FULL_CONDENSED);
    t.set_content_arrangement(ContentArrangement::Dynamic);
    t.set_width(width);
    t.set_truncation_indicator("…");
    t.set_header(header.to_vec());
    for r in rows {
        let mut row = Row::from(r);
        row.max_height(1);
        t.add_row(row);
    }
    for &i in right {
        if let Some(c) = t.column_mut(i) {
            c.set_cell_alignment(CellAlignment::Right);
        }
    }
    t
}

/// Writes `text` wrapped at `width`, continuation lines indented by `indent` spaces.
fn wrapped(out: &mut dyn Write, text: &str, width: u16, indent: usize) -> io::Result<()> {
    let width = usize::from(width);
    let mut line = String::new();
    for word in text.split(' ') {
        let fits = chars(&line) + 1 + chars(word) <= width;
        if !line.is_empty() && !fits {
            writeln!(out, "{line}")?;
            line = " ".repeat(indent);
        }
        if !line.trim().is_empty() {
            line.push(' ');
        }
        // A word longer than the line is cut (paths in warnings can be kilobytes long).
        line.push_str(&ellipsize(word, width.saturating_sub(indent).max(8)));
    }
    if !line.trim().is_empty() {
        writeln!(out, "{line}")?;
    }
    Ok(())
}

/// `RUN /bin/sh -c apt-get ... # buildkit` as `RUN apt-get ...`, cut to `max` characters.
fn step(created_by: &str, max: usize) -> String {
    let s = created_by.trim();
    let s = s.strip_suffix("# buildkit").unwrap_or(s).trim_end();
    let s = s.replacen("/bin/sh -c #(nop) ", "", 1).replacen("/bin/sh -c ", "", 1);
    if s.is_empty() {
        return "(no history)".to_string();
    }
    if s.chars().count() > max {
        let cut: String = s.chars().take(max.saturating_sub(1)).collect();
        format!("{cut}…")
    } else {
        s
    }
}

fn bar(v: u64, max: u64) -> String {
    if max == 0 {
        return String::new();
    }
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let filled = ((v as f64 / max as f64) * BAR_WIDTH as f64).round() as usize;
    let filled = filled.min(BAR_WIDTH).max(usize::from(v > 0));
    format!("{}{}", "█".repeat(filled), "░".repeat(BAR_WIDTH - filled))
}

#[allow(clippy::cast_precision_loss)]
fn pct(part: u64, whole: u64) -> String {
    if whole == 0 {
        "0.0 %".to_string()
    } else {
        format!("{:.1} %", part as f64 * 100.0 / whole as f64)
    }
}

/// Writes one platform's report laid out for `width` columns; `top` bounds every list.
#[allow(clippy::too_many_lines)]
pub fn render_width(r: &LayersReport, top: usize, width: u16, out: &mut dyn Write) -> io::Result<()> {
    let width = width.max(MIN_WIDTH);
    writeln!(out, "Image     {}", ellipsize(&r.source, usize::from(width) - 10))?;
    if let Some(p) = &r.platform {
        writeln!(out, "Platform  {p}")?;
    }
    if let Some(d) = &r.manifest_digest {
        writeln!(out, "Manifest  {d}")?;
    }
    if let Some(d) = &r.config_digest {
        writeln!(out, "Config    {d}")?;
    }
    writeln!(out)?;

    let max = r.layers.iter().map(|l| l.content_bytes.0).max().unwrap_or(0);
    let with_bar = width >= BAR_MIN_WIDTH;
    let mut rows: Vec<Vec<String>> = Vec::new();
    for l in &r.layers {
        rows.push(vec![
            l.index.to_string(),
            step(&l.created_by, 60),
            l.compressed_bytes.to_string(),
            l.content_bytes.to_string(),
            bar(l.content_bytes.0, max),
            format!("{} / {} / {}", l.files_added, l.files_modified, l.files_deleted),
            if l.wasted_bytes.0 == 0 {
                "-".to_string()
            } else {
                l.wasted_bytes.to_string()
            },
            if l.verified { "yes" } else { "no" }.to_string(),
        ]);
    }
    rows.push(vec![
        "Σ".to_string(),
        plural(r.totals.layers, "layer"),
        r.totals.compressed_bytes.to_string(),
        r.totals.content_bytes.to_string(),
        String::new(),
        String::new(),
        r.reclaimable_bytes.to_string(),
        String::new(),
    ]);
    let mut header = vec![
        "#",
        "Created by",
        "Stored",
        "Content",
        "Size",
        "+ / ~ / -",
        "Wasted later",
        "Verified",
    ];
    if !with_bar {
        header.remove(4);
        for row in &mut rows {
            row.remove(4);
        }
    }
    let right: &[usize] = if with_bar { &[0, 2, 3, 6] } else { &[0, 2, 3, 5] };
    writeln!(out, "{}", fitted(&header, right, rows, 1, width))?;
    writeln!(out)?;

    let w = &r.waste_by_kind;
    let content = r.totals.content_bytes.0;
    writeln!(out, "Efficiency (dive's score)  {:.2} %", r.efficiency * 100.0)?;
    let text = format!(
        "Reclaimable by squashing   {} ({} of the content stored; final filesystem {})",
        r.reclaimable_bytes,
        pct(r.reclaimable_bytes.0, content),
        r.totals.final_content_bytes
    );
    wrapped(out, &text, width, 27)?;
    let mut rows: Vec<Vec<String>> = Vec::new();
    for (name, b) in [
        ("overwritten", w.overwritten),
        ("deleted", w.deleted),
        ("metadata_only", w.metadata_only),
    ] {
        rows.push(vec![name.to_string(), b.to_string(), pct(b.0, r.reclaimable_bytes.0)]);
    }
    rows.push(vec![
        "still in the final filesystem:".to_string(),
        String::new(),
        String::new(),
    ]);
    rows.push(vec![
        "package_cache".to_string(),
        w.package_cache.to_string(),
        String::new(),
    ]);
    rows.push(vec![
        "duplicate_content".to_string(),
        w.duplicate_content
            .map_or_else(|| "(--dedupe)".to_string(), |b| b.to_string()),
        String::new(),
    ]);
    writeln!(
        out,
        "{}",
        fitted(&["Waste by kind", "Bytes", "Share"], &[1, 2], rows, 0, width)
    )?;

    if !r.waste.is_empty() {
        writeln!(out)?;
        let mut rows: Vec<Vec<String>> = Vec::new();
        for i in r.waste.iter().take(top) {
            rows.push(vec![
                i.path.clone(),
                i.kind.as_str().to_string(),
                i.cache.clone().unwrap_or_default(),
                i.stored_in.to_string(),
                i.made_waste_by.map_or_else(String::new, |b| b.to_string()),
                i.files.to_string(),
                ByteSize(i.bytes).to_string(),
            ]);
        }
        let header = ["Largest waste", "Kind", "Cache", "Stored in", "By", "Files", "Bytes"];
        writeln!(out, "{}", fitted(&header, &[3, 4, 5, 6], rows, 0, width))?;
        let more = r.waste.len().saturating_sub(top);
        if more > 0 {
            writeln!(out, "… {more} more items (--top N, or --format json for all)")?;
        }
    }

    let mut files: Vec<(usize, &str, u64, Option<bool>)> = r
        .layers
        .iter()
        .flat_map(|l| {
            l.top_files
                .iter()
                .map(move |f| (l.index, f.path.as_str(), f.bytes.0, f.in_final))
        })
        .collect();
    files.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| a.1.cmp(b.1)));
    if !files.is_empty() {
        writeln!(out)?;
        let mut gone = false;
        let rows: Vec<Vec<String>> = files
            .into_iter()
            .take(top)
            .map(|(layer, p, b, in_final)| {
                gone |= in_final == Some(false);
                vec![
                    p.to_string(),
                    layer.to_string(),
                    ByteSize(b).to_string(),
                    match in_final {
                        Some(true) => "yes",
                        Some(false) => "no ✗",
                        None => "",
                    }
                    .to_string(),
                ]
            })
            .collect();
        let header = ["Largest files", "Layer", "Bytes", "In final image"];
        writeln!(out, "{}", fitted(&header, &[1, 2], rows, 0, width))?;
        if gone {
            wrapped(
                out,
                "✗ not in the final image: a later layer deleted the file or wrote its path again (these bytes are waste)",
                width,
                2,
            )?;
        }
    }

    if !r.packages.is_empty() {
        writeln!(out)?;
        let total: u64 = r.packages.iter().map(|p| p.bytes).sum();
        let mut rows: Vec<Vec<String>> = Vec::new();
        for p in r.packages.iter().take(top) {
            rows.push(vec![
                p.name.clone(),
                ellipsize(&p.version, 24),
                p.manager.to_string(),
                p.layer.map_or_else(String::new, |l| l.to_string()),
                p.files.to_string(),
                ByteSize(p.bytes).to_string(),
            ]);
        }
        let header = ["Largest packages", "Version", "Manager", "Layer", "Files", "Bytes"];
        writeln!(out, "{}", fitted(&header, &[3, 4, 5], rows, 0, width))?;
        writeln!(
            out,
            "{}, {} of files",
            plural(r.packages.len(), "package"),
            ByteSize(total)
        )?;
    }

    if let Some(ins) = &r.instructions {
        writeln!(out)?;
        let mut rows: Vec<Vec<String>> = Vec::new();
        for m in ins {
            let layers: Vec<String> = m.layers.iter().map(ToString::to_string).collect();
            rows.push(vec![
                m.line.to_string(),
                step(&m.instruction, 60),
                layers.join(", "),
                m.compressed_bytes.to_string(),
                m.content_bytes.to_string(),
                if m.wasted_later.0 == 0 {
                    "-".to_string()
                } else {
                    m.wasted_later.to_string()
                },
                if m.made_waste.0 == 0 {
                    "-".to_string()
                } else {
                    m.made_waste.to_string()
                },
            ]);
        }
        let header = [
            "Line",
            "Instruction",
            "Layers",
            "Stored",
            "Content",
            "Wasted later",
            "Made waste",
        ];
        writeln!(out, "{}", fitted(&header, &[0, 3, 4, 5, 6], rows, 1, width))?;
    }

    if let Some(b) = &r.base {
        writeln!(out)?;
        let text = format!(
            "Base {}: {}{}, {} stored / {} content; own layers {} stored / {} content",
            b.reference,
            plural(b.layers, "layer"),
            if b.matches_fully { "" } else { " (partial match)" },
            b.base_compressed_bytes,
            b.base_content_bytes,
            b.own_compressed_bytes,
            b.own_content_bytes
        );
        wrapped(out, &text, width, 2)?;
    }
    if r.content_compared_by != "content_hash" {
        writeln!(out)?;
        wrapped(
            out,
            "note: file data was skipped (--no-verify), so metadata_only compares size and mtime, not content",
            width,
            6,
        )?;
    }
    for w in &r.warnings {
        wrapped(out, &format!("warning: {w}"), width, 9)?;
    }
    let unverified = r.layers.iter().filter(|l| !l.verified).count();
    if unverified > 0 {
        let text = format!(
            "note: {} {} not verified (--no-verify)",
            plural(unverified, "layer"),
            if unverified == 1 { "was" } else { "were" }
        );
        wrapped(out, &text, width, 6)?;
    }
    Ok(())
}

/// `1 layer`, `2 layers`.
fn plural(n: usize, word: &str) -> String {
    text::plural(n as u64, word, &format!("{word}s"))
}

/// Writes several platforms laid out for `width` columns: a side-by-side summary, then each
/// report.
pub fn render_multi_width(m: &MultiPlatformReport, top: usize, width: u16, out: &mut dyn Write) -> io::Result<()> {
    let mut rows: Vec<Vec<String>> = Vec::new();
    for r in &m.platforms {
        rows.push(vec![
            r.platform.clone().unwrap_or_default(),
            r.totals.layers.to_string(),
            r.totals.compressed_bytes.to_string(),
            r.totals.content_bytes.to_string(),
            r.reclaimable_bytes.to_string(),
            format!("{:.2} %", r.efficiency * 100.0),
        ]);
    }
    let header = ["Platform", "Layers", "Stored", "Content", "Reclaimable", "Efficiency"];
    writeln!(out, "{}", fitted(&header, &[1, 2, 3, 4, 5], rows, 0, width))?;
    for r in &m.platforms {
        writeln!(out)?;
        writeln!(out, "── {} ──", r.platform.as_deref().unwrap_or("?"))?;
        render_width(r, top, width, out)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shortens_steps_and_draws_bars() {
        assert_eq!(
            step("RUN /bin/sh -c apt-get update # buildkit", 60),
            "RUN apt-get update"
        );
        assert_eq!(step("/bin/sh -c #(nop) ADD file:abc in / ", 60), "ADD file:abc in /");
        assert_eq!(step("", 60), "(no history)");
        assert_eq!(step("COPY abcdef", 6), "COPY …");
        assert_eq!(bar(0, 10), "░".repeat(BAR_WIDTH));
        assert_eq!(bar(10, 10), "█".repeat(BAR_WIDTH));
        assert_eq!(bar(1, 1000).chars().filter(|c| *c == '█').count(), 1);
    }
}

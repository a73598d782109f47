//! Human rendering of `imgopt layers`: a per-layer table with a size bar, waste by kind, the
//! largest waste items and files, packages, dive's efficiency and the reclaimable bytes.
//!
//! Owns: layout only; every number comes from the [`LayersReport`].

use std::io::{self, Write};

use comfy_table::{CellAlignment, ContentArrangement, Table, presets};

use crate::layers::{LayersReport, MultiPlatformReport};
use crate::units::ByteSize;

const BAR_WIDTH: usize = 16;

fn table(header: &[&str], right: &[usize]) -> Table {
    let mut t = Table::new();
    t.load_style(presets::UTF8_FULL_CONDENSED);
    t.set_content_arrangement(ContentArrangement::Dynamic);
    t.set_width(120);
    t.set_header(header.to_vec());
    for &i in right {
        if let Some(c) = t.column_mut(i) {
            c.set_cell_alignment(CellAlignment::Right);
        }
    }
    t
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

/// Writes one platform's report; `top` bounds every list.
#[allow(clippy::too_many_lines)]
pub fn render(r: &LayersReport, top: usize, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "Image     {}", r.source)?;
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
    let mut t = table(
        &[
            "#",
            "Created by",
            "Stored",
            "Content",
            "Size",
            "+ / ~ / -",
            "Wasted later",
            "Verified",
        ],
        &[0, 2, 3, 6],
    );
    for l in &r.layers {
        t.add_row(vec![
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
    t.add_row(vec![
        "Σ".to_string(),
        crate::report::text::plural(r.totals.layers as u64, "layer", "layers"),
        r.totals.compressed_bytes.to_string(),
        r.totals.content_bytes.to_string(),
        String::new(),
        String::new(),
        r.reclaimable_bytes.to_string(),
        String::new(),
    ]);
    writeln!(out, "{t}")?;
    writeln!(out)?;

    let w = &r.waste_by_kind;
    let content = r.totals.content_bytes.0;
    writeln!(out, "Efficiency (dive's score)  {:.2} %", r.efficiency * 100.0)?;
    writeln!(
        out,
        "Reclaimable by squashing   {} ({} of the content stored; final filesystem {})",
        r.reclaimable_bytes,
        pct(r.reclaimable_bytes.0, content),
        r.totals.final_content_bytes
    )?;
    let mut t = table(&["Waste by kind", "Bytes", "Share"], &[1, 2]);
    for (name, b) in [
        ("overwritten", w.overwritten),
        ("deleted", w.deleted),
        ("metadata_only", w.metadata_only),
    ] {
        t.add_row(vec![name.to_string(), b.to_string(), pct(b.0, r.reclaimable_bytes.0)]);
    }
    t.add_row(vec![
        "still in the final filesystem:".to_string(),
        String::new(),
        String::new(),
    ]);
    t.add_row(vec![
        "package_cache".to_string(),
        w.package_cache.to_string(),
        String::new(),
    ]);
    t.add_row(vec![
        "duplicate_content".to_string(),
        w.duplicate_content
            .map_or_else(|| "(--dedupe)".to_string(), |b| b.to_string()),
        String::new(),
    ]);
    writeln!(out, "{t}")?;

    if !r.waste.is_empty() {
        writeln!(out)?;
        let mut t = table(
            &["Largest waste", "Kind", "Cache", "Stored in", "By", "Files", "Bytes"],
            &[3, 4, 5, 6],
        );
        for i in r.waste.iter().take(top) {
            t.add_row(vec![
                i.path.clone(),
                i.kind.as_str().to_string(),
                i.cache.clone().unwrap_or_default(),
                i.stored_in.to_string(),
                i.made_waste_by.map_or_else(String::new, |b| b.to_string()),
                i.files.to_string(),
                ByteSize(i.bytes).to_string(),
            ]);
        }
        writeln!(out, "{t}")?;
        let more = r.waste.len().saturating_sub(top);
        if more > 0 {
            writeln!(out, "… {more} more items (--top N, or --format json for all)")?;
        }
    }

    let mut files: Vec<(usize, &str, u64)> = r
        .layers
        .iter()
        .flat_map(|l| l.top_files.iter().map(move |f| (l.index, f.path.as_str(), f.bytes.0)))
        .collect();
    files.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| a.1.cmp(b.1)));
    if !files.is_empty() {
        writeln!(out)?;
        let mut t = table(&["Largest files", "Layer", "Bytes"], &[1, 2]);
        for (layer, p, b) in files.into_iter().take(top) {
            t.add_row(vec![p.to_string(), layer.to_string(), ByteSize(b).to_string()]);
        }
        writeln!(out, "{t}")?;
    }

    if !r.packages.is_empty() {
        writeln!(out)?;
        let total: u64 = r.packages.iter().map(|p| p.bytes).sum();
        let mut t = table(
            &["Largest packages", "Version", "Manager", "Layer", "Files", "Bytes"],
            &[3, 4, 5],
        );
        for p in r.packages.iter().take(top) {
            t.add_row(vec![
                p.name.clone(),
                p.version.clone(),
                p.manager.to_string(),
                p.layer.map_or_else(String::new, |l| l.to_string()),
                p.files.to_string(),
                ByteSize(p.bytes).to_string(),
            ]);
        }
        writeln!(out, "{t}")?;
        writeln!(out, "{} packages, {} of files", r.packages.len(), ByteSize(total))?;
    }

    if let Some(ins) = &r.instructions {
        writeln!(out)?;
        let mut t = table(
            &[
                "Line",
                "Instruction",
                "Layers",
                "Stored",
                "Content",
                "Wasted later",
                "Made waste",
            ],
            &[0, 3, 4, 5, 6],
        );
        for m in ins {
            let layers: Vec<String> = m.layers.iter().map(ToString::to_string).collect();
            t.add_row(vec![
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
        writeln!(out, "{t}")?;
    }

    if let Some(b) = &r.base {
        writeln!(out)?;
        writeln!(
            out,
            "Base {}: {} layer(s){}, {} stored / {} content; own layers {} stored / {} content",
            b.reference,
            b.layers,
            if b.matches_fully { "" } else { " (partial match)" },
            b.base_compressed_bytes,
            b.base_content_bytes,
            b.own_compressed_bytes,
            b.own_content_bytes
        )?;
    }
    if r.content_compared_by != "content_hash" {
        writeln!(out)?;
        writeln!(
            out,
            "note: file data was skipped (--no-verify), so metadata_only compares size and mtime, not content"
        )?;
    }
    for w in &r.warnings {
        writeln!(out, "warning: {w}")?;
    }
    let unverified = r.layers.iter().filter(|l| !l.verified).count();
    if unverified > 0 {
        writeln!(out, "note: {unverified} layer(s) were not verified (--no-verify)")?;
    }
    Ok(())
}

/// Writes several platforms: a side-by-side summary, then each report.
pub fn render_multi(m: &MultiPlatformReport, top: usize, out: &mut dyn Write) -> io::Result<()> {
    let mut t = table(
        &["Platform", "Layers", "Stored", "Content", "Reclaimable", "Efficiency"],
        &[1, 2, 3, 4, 5],
    );
    for r in &m.platforms {
        t.add_row(vec![
            r.platform.clone().unwrap_or_default(),
            r.totals.layers.to_string(),
            r.totals.compressed_bytes.to_string(),
            r.totals.content_bytes.to_string(),
            r.reclaimable_bytes.to_string(),
            format!("{:.2} %", r.efficiency * 100.0),
        ]);
    }
    writeln!(out, "{t}")?;
    for r in &m.platforms {
        writeln!(out)?;
        writeln!(out, "── {} ──", r.platform.as_deref().unwrap_or("?"))?;
        render(r, top, out)?;
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

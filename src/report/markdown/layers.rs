//! Markdown rendering of `imgopt layers` (GitHub-flavoured, for pull-request comments).
//!
//! Owns: layout only; every number comes from the [`LayersReport`].

use std::io::{self, Write};

use super::{cell, code};
use crate::layers::{LayersReport, MultiPlatformReport};
use crate::units::ByteSize;

fn step(created_by: &str) -> String {
    let s = created_by.trim();
    let s = s.strip_suffix("# buildkit").unwrap_or(s).trim_end();
    let s = s.replacen("/bin/sh -c #(nop) ", "", 1).replacen("/bin/sh -c ", "", 1);
    let s: String = if s.chars().count() > 80 {
        format!("{}…", s.chars().take(79).collect::<String>())
    } else {
        s
    };
    code(&s)
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
pub fn render(r: &LayersReport, top: usize, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "### Layers of `{}`", code(&r.source))?;
    writeln!(out)?;
    writeln!(
        out,
        "**{}** reclaimable by squashing ({} of {} stored content) · dive efficiency **{:.2} %** · {} layers, {} stored{}",
        r.reclaimable_bytes,
        pct(r.reclaimable_bytes.0, r.totals.content_bytes.0),
        r.totals.content_bytes,
        r.efficiency * 100.0,
        r.totals.layers,
        r.totals.compressed_bytes,
        r.platform
            .as_ref()
            .map_or_else(String::new, |p| format!(" · `{}`", code(p))),
    )?;
    writeln!(out)?;
    writeln!(out, "| # | Created by | Stored | Content | + / ~ / - | Wasted later |")?;
    writeln!(out, "|--:|---|--:|--:|:-:|--:|")?;
    for l in &r.layers {
        writeln!(
            out,
            "| {} | `{}` | {} | {} | {} / {} / {} | {} |",
            l.index,
            step(&l.created_by),
            l.compressed_bytes,
            l.content_bytes,
            l.files_added,
            l.files_modified,
            l.files_deleted,
            if l.wasted_bytes.0 == 0 {
                "-".to_string()
            } else {
                l.wasted_bytes.to_string()
            }
        )?;
    }
    writeln!(out)?;
    let w = &r.waste_by_kind;
    writeln!(out, "| Waste by kind | Bytes |")?;
    writeln!(out, "|---|--:|")?;
    writeln!(out, "| overwritten | {} |", w.overwritten)?;
    writeln!(out, "| deleted | {} |", w.deleted)?;
    writeln!(out, "| metadata_only | {} |", w.metadata_only)?;
    writeln!(out, "| **reclaimable** | **{}** |", r.reclaimable_bytes)?;
    writeln!(out, "| package_cache (in the final filesystem) | {} |", w.package_cache)?;
    if let Some(d) = w.duplicate_content {
        writeln!(out, "| duplicate_content (in the final filesystem) | {d} |")?;
    }
    if let Some(ins) = &r.instructions {
        writeln!(out)?;
        writeln!(
            out,
            "| Line | Instruction | Layers | Content | Wasted later | Made waste |"
        )?;
        writeln!(out, "|--:|---|---|--:|--:|--:|")?;
        for m in ins {
            let layers: Vec<String> = m.layers.iter().map(ToString::to_string).collect();
            writeln!(
                out,
                "| {} | `{}` | {} | {} | {} | {} |",
                m.line,
                step(&m.instruction),
                layers.join(", "),
                m.content_bytes,
                m.wasted_later,
                m.made_waste
            )?;
        }
    }
    if let Some(b) = &r.base {
        writeln!(out)?;
        writeln!(
            out,
            "Base `{}`: {} layer(s), {} stored; own layers {} stored.",
            code(&b.reference),
            b.layers,
            b.base_compressed_bytes,
            b.own_compressed_bytes
        )?;
    }
    if !r.waste.is_empty() {
        writeln!(out)?;
        writeln!(out, "<details><summary>Largest waste</summary>")?;
        writeln!(out)?;
        writeln!(out, "| Path | Kind | Stored in | By | Bytes |")?;
        writeln!(out, "|---|---|--:|--:|--:|")?;
        for i in r.waste.iter().take(top) {
            let kind = match &i.cache {
                Some(c) => format!("{} ({c})", i.kind.as_str()),
                None => i.kind.as_str().to_string(),
            };
            writeln!(
                out,
                "| `{}` | {} | {} | {} | {} |",
                code(&i.path),
                kind,
                i.stored_in,
                i.made_waste_by.map_or_else(String::new, |b| b.to_string()),
                ByteSize(i.bytes)
            )?;
        }
        writeln!(out)?;
        writeln!(out, "</details>")?;
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
        writeln!(out, "<details><summary>Largest files</summary>")?;
        writeln!(out)?;
        writeln!(out, "| Path | Layer | Bytes | In final image |")?;
        writeln!(out, "|---|--:|--:|---|")?;
        for (layer, path, bytes, in_final) in files.into_iter().take(top) {
            let mark = match in_final {
                Some(true) => "yes",
                Some(false) => "**no** (deleted or replaced by a later layer)",
                None => "",
            };
            writeln!(out, "| `{}` | {layer} | {} | {mark} |", code(path), ByteSize(bytes))?;
        }
        writeln!(out)?;
        writeln!(out, "</details>")?;
    }
    if !r.packages.is_empty() {
        writeln!(out)?;
        writeln!(out, "<details><summary>Largest packages</summary>")?;
        writeln!(out)?;
        writeln!(out, "| Package | Version | Layer | Bytes |")?;
        writeln!(out, "|---|---|--:|--:|")?;
        for p in r.packages.iter().take(top) {
            writeln!(
                out,
                "| {} | {} | {} | {} |",
                cell(&p.name),
                cell(&p.version),
                p.layer.map_or_else(String::new, |l| l.to_string()),
                ByteSize(p.bytes)
            )?;
        }
        writeln!(out)?;
        writeln!(out, "</details>")?;
    }
    for w in &r.warnings {
        writeln!(out)?;
        writeln!(out, "> warning: {}", cell(w))?;
    }
    Ok(())
}

/// Writes several platforms, one section each.
pub fn render_multi(m: &MultiPlatformReport, top: usize, out: &mut dyn Write) -> io::Result<()> {
    for (i, r) in m.platforms.iter().enumerate() {
        if i > 0 {
            writeln!(out)?;
        }
        render(r, top, out)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_cells() {
        assert_eq!(step("RUN /bin/sh -c echo a | tee b # buildkit"), "RUN echo a \\| tee b");
    }
}

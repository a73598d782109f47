//! Human rendering of `imgopt diff`: the growth in one line each, then the layers, files and
//! packages that changed, cut to the output width.

use std::io::{self, Write};

use crate::diff::DiffReport;
use crate::report::text::{ellipsize, plural};
use crate::units::{ByteSize, signed_bytes};

/// Writes the report; `width` bounds every line.
pub fn render(r: &DiffReport, width: usize, out: &mut dyn Write) -> io::Result<()> {
    let line = |s: String| ellipsize(&s, width);
    writeln!(
        out,
        "{}",
        line(format!(
            "old: {} ({})",
            r.old.source,
            plural(r.old.layers as u64, "layer", "layers")
        ))
    )?;
    writeln!(
        out,
        "{}",
        line(format!(
            "new: {} ({})",
            r.new.source,
            plural(r.new.layers as u64, "layer", "layers")
        ))
    )?;
    writeln!(
        out,
        "growth: {} compressed ({} -> {}), {} uncompressed, {} in the final filesystem",
        signed_bytes(r.growth.compressed_bytes),
        ByteSize(r.old.compressed_bytes),
        ByteSize(r.new.compressed_bytes),
        signed_bytes(r.growth.tar_bytes),
        signed_bytes(r.growth.final_content_bytes),
    )?;
    writeln!(
        out,
        "layers: {} shared ({} a node holding the old image need not pull), {} added, {} removed",
        r.shared_layers,
        ByteSize(r.shared_compressed_bytes),
        r.added_layers.len(),
        r.removed_layers.len()
    )?;
    for (sign, layers) in [("+", &r.added_layers), ("-", &r.removed_layers)] {
        for l in layers {
            let head = format!(
                "  {sign} #{:<3} {:>10} ",
                l.index,
                ByteSize(l.compressed_bytes).to_string()
            );
            let room = width.saturating_sub(head.chars().count());
            writeln!(out, "{head}{}", ellipsize(l.created_by.trim(), room.max(10)))?;
        }
    }
    if !r.files.is_empty() {
        let shown = if r.files.len() < r.files_changed {
            format!(" (the {} largest changes of {})", r.files.len(), r.files_changed)
        } else {
            String::new()
        };
        writeln!(out, "files{shown}:")?;
        for f in &r.files {
            let what = match (f.old_bytes, f.new_bytes) {
                (None, Some(_)) => "added",
                (Some(_), None) => "removed",
                _ => "changed",
            };
            let head = format!("  {:>11} {what:<7} ", signed_bytes(f.delta));
            let room = width.saturating_sub(head.chars().count());
            writeln!(out, "{head}{}", ellipsize(&f.path, room.max(10)))?;
        }
    }
    if !r.packages.is_empty() {
        let shown = if r.packages.len() < r.packages_changed {
            format!(" (the {} largest changes of {})", r.packages.len(), r.packages_changed)
        } else {
            String::new()
        };
        writeln!(out, "packages{shown}:")?;
        for p in &r.packages {
            let versions = match (&p.old_version, &p.new_version) {
                (None, Some(v)) => format!("added {v}"),
                (Some(v), None) => format!("removed {v}"),
                (Some(a), Some(b)) if a != b => format!("{a} -> {b}"),
                (Some(a), _) => a.clone(),
                (None, None) => String::new(),
            };
            writeln!(
                out,
                "{}",
                line(format!(
                    "  {:>11} {} {} ({versions})",
                    signed_bytes(p.delta),
                    p.manager,
                    p.name
                ))
            )?;
        }
    }
    Ok(())
}

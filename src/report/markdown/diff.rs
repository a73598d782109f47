//! Markdown rendering of `imgopt diff` (a pull-request comment): totals, then tables of the
//! layers, files and packages that changed.

use std::io::{self, Write};

use super::{cell, code};
use crate::diff::DiffReport;
use crate::units::{ByteSize, signed_bytes};

/// Writes the report.
pub fn render(r: &DiffReport, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "## Image diff\n")?;
    writeln!(out, "| | old | new | growth |\n| --- | ---: | ---: | ---: |")?;
    writeln!(
        out,
        "| image | `{}` | `{}` | |",
        code(&r.old.source),
        code(&r.new.source)
    )?;
    writeln!(
        out,
        "| layers | {} | {} | {:+} |",
        r.old.layers, r.new.layers, r.growth.layers
    )?;
    for (what, a, b, d) in [
        (
            "compressed",
            r.old.compressed_bytes,
            r.new.compressed_bytes,
            r.growth.compressed_bytes,
        ),
        ("uncompressed", r.old.tar_bytes, r.new.tar_bytes, r.growth.tar_bytes),
        (
            "final filesystem",
            r.old.final_content_bytes,
            r.new.final_content_bytes,
            r.growth.final_content_bytes,
        ),
    ] {
        writeln!(
            out,
            "| {what} | {} | {} | **{}** |",
            ByteSize(a),
            ByteSize(b),
            signed_bytes(d)
        )?;
    }
    writeln!(
        out,
        "\n{} shared layers ({}), {} added, {} removed.\n",
        r.shared_layers,
        ByteSize(r.shared_compressed_bytes),
        r.added_layers.len(),
        r.removed_layers.len()
    )?;
    if !(r.added_layers.is_empty() && r.removed_layers.is_empty()) {
        writeln!(
            out,
            "| | layer | compressed | created by |\n| --- | ---: | ---: | --- |"
        )?;
        for (sign, layers) in [("added", &r.added_layers), ("removed", &r.removed_layers)] {
            for l in layers {
                writeln!(
                    out,
                    "| {sign} | {} | {} | `{}` |",
                    l.index,
                    ByteSize(l.compressed_bytes),
                    code(l.created_by.trim())
                )?;
            }
        }
        writeln!(out)?;
    }
    if !r.files.is_empty() {
        writeln!(out, "| file | old | new | growth |\n| --- | ---: | ---: | ---: |")?;
        let size = |b: Option<u64>| b.map_or_else(|| "-".to_string(), |b| ByteSize(b).to_string());
        for f in &r.files {
            writeln!(
                out,
                "| `{}` | {} | {} | {} |",
                code(&f.path),
                size(f.old_bytes),
                size(f.new_bytes),
                signed_bytes(f.delta)
            )?;
        }
        if r.files.len() < r.files_changed {
            writeln!(out, "\n{} more files changed.", r.files_changed - r.files.len())?;
        }
        writeln!(out)?;
    }
    if !r.packages.is_empty() {
        writeln!(out, "| package | old | new | growth |\n| --- | --- | --- | ---: |")?;
        for p in &r.packages {
            let v = |v: &Option<String>| v.as_deref().map_or_else(|| "-".to_string(), cell);
            writeln!(
                out,
                "| {} `{}` | {} | {} | {} |",
                p.manager,
                code(&p.name),
                v(&p.old_version),
                v(&p.new_version),
                signed_bytes(p.delta)
            )?;
        }
        if r.packages.len() < r.packages_changed {
            writeln!(
                out,
                "\n{} more packages changed.",
                r.packages_changed - r.packages.len()
            )?;
        }
    }
    Ok(())
}

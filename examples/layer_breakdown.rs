//! Library use of imgopt's layer analysis: open an image (an OCI layout folder, an archive, or
//! anything else `imgopt layers` accepts), analyse it, print per-layer sizes and the waste.
//!
//! ```text
//! cargo run --example layer_breakdown -- oci:/path/to/layout
//! ```
#![allow(clippy::print_stdout)]

use imgopt::layers::{self, Options};
use imgopt::source::spec::{SourceOptions, SourceSpec, open};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let image = std::env::args().nth(1).ok_or("usage: layer_breakdown IMAGE")?;
    let source = open(&SourceSpec::parse(&image)?, &SourceOptions::default())?;
    let rt = tokio::runtime::Runtime::new()?;
    let report = rt.block_on(layers::analyze(&source, &Options::default()))?;

    println!("{} ({})", report.source, report.platform.as_deref().unwrap_or("?"));
    for l in &report.layers {
        println!(
            "layer {:>2}  stored {:>10}  content {:>10}  +{} ~{} -{}  {}",
            l.index,
            l.compressed_bytes.to_string(),
            l.content_bytes.to_string(),
            l.files_added,
            l.files_modified,
            l.files_deleted,
            l.created_by.chars().take(60).collect::<String>()
        );
    }
    let w = &report.waste_by_kind;
    println!(
        "reclaimable {} (overwritten {}, deleted {}, metadata-only {}); dive efficiency {:.2} %",
        report.reclaimable_bytes,
        w.overwritten,
        w.deleted,
        w.metadata_only,
        report.efficiency * 100.0
    );
    Ok(())
}

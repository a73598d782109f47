//! Library use of `imgopt analyze`: parse and lint a Dockerfile, print the report as JSON.
//!
//! ```sh
//! cargo run --example analyze_dockerfile -- examples/dockerfiles/bloated-node/Dockerfile
//! ```

use std::io::Write as _;
use std::path::PathBuf;

use imgopt::analyze::{Input, Options, analyze};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).map_or_else(
        || PathBuf::from("examples/dockerfiles/bloated-node/Dockerfile"),
        PathBuf::from,
    );
    let bytes = std::fs::read(&path)?;
    let input = Input {
        name: path.display().to_string(),
        bytes,
        path: Some(path.clone()),
    };
    // Default rules, the Dockerfile's folder as build context, the last stage as target.
    let (report, _files) = analyze(&[input], &Options::default())?;
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, &report)?;
    writeln!(out)?;
    // Library users get typed data: e.g. the findings that save the most.
    let mut by_saving: Vec<_> = report
        .findings
        .iter()
        .filter_map(|f| f.estimate.map(|e| (e.high_bytes, f.code)))
        .collect();
    by_saving.sort_unstable_by(|a, b| b.cmp(a));
    if let Some((bytes, code)) = by_saving.first() {
        writeln!(std::io::stderr(), "largest possible saving: {code}, up to {bytes}")?;
    }
    Ok(())
}

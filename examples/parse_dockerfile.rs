//! Library use of the parser and the stage model: parse a Dockerfile, list its instructions
//! with their lines and flags, then print each stage and whether the target needs it.
//!
//! ```text
//! cargo run --example parse_dockerfile -- examples/dockerfiles/go-multistage/Dockerfile [TARGET]
//! ```
#![allow(clippy::print_stdout)]

use std::collections::BTreeMap;

use imgopt::dockerfile::{self, StageOptions, Stages};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .unwrap_or_else(|| "examples/dockerfiles/go-multistage/Dockerfile".to_string());
    let target = args.next();
    let bytes = std::fs::read(&path)?;
    // Errors carry line, column and the byte span of the offending text.
    let df = dockerfile::parse(&bytes).map_err(|e| format!("{path}:{e}"))?;
    for ins in &df.instructions {
        let flags: Vec<&str> = ins.flags.iter().map(|f| &*f.text).collect();
        println!(
            "{:>3}-{:<3} {:<11} flags={flags:?} args={:?} heredocs={}",
            ins.start_line,
            ins.end_line,
            ins.cmd,
            ins.values(),
            ins.heredocs.len()
        );
    }
    let stages = Stages::build(
        &df,
        &StageOptions {
            target,
            build_args: BTreeMap::new(),
        },
    )?;
    for s in &stages.stages {
        println!(
            "stage {} {:<8} base {:<45} {} instructions, needs {:?}, {}",
            s.index,
            s.name.as_deref().unwrap_or("-"),
            s.base_expanded,
            s.instruction_count(),
            s.depends_on,
            if s.reaches_target { "built" } else { "skipped" }
        );
    }
    Ok(())
}

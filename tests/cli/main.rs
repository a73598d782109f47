//! Tests that run the `imgopt` binary on small inputs they write themselves (Dockerfiles,
//! plan files, images from `support::image_builder`): every command's arguments, output,
//! exit codes and files. A few also use the fixture images when present.
//!
//! One test binary per group (docs/dev/testing.md says why and how to add a file).

#[path = "../support/mod.rs"]
mod support;

mod analyze_image;
mod check;
mod check_ci;
mod check_snapshots;
mod cli_analyze;
mod cli_layers;
mod cli_parse;
mod cli_qa;
mod cli_verbose;
mod diff;
mod output_snapshots;
mod plan_cli;
mod plan_hostile;
mod plan_manifests;
mod plan_report;
mod report;
mod rewrite_cli;
mod rule_fixes;

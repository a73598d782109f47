//! Tests that run the `imgopt` binary on small inputs they write themselves (Dockerfiles,
//! plan files, images from `support::image_builder`): every command's arguments, output,
//! exit codes and files. A few also use the fixture images when present.
//!
//! One test binary per group (docs/dev/testing.md says why and how to add a file).

// Tests may unwrap (a failed unwrap is a failed test), compare floats exactly (two runs of one
// computation must agree to the bit), and count or build text the plain way.
#![allow(
    clippy::unwrap_used,
    clippy::float_cmp,
    clippy::naive_bytecount,
    clippy::format_collect,
    clippy::comparison_chain,
    clippy::needless_pass_by_value
)]

#[path = "../support/mod.rs"]
mod support;

mod analyze_image;
mod check;
mod check_ci;
mod check_snapshots;
mod cli_analyze;
mod cli_layers;
mod cli_limits;
mod cli_parse;
mod cli_qa;
mod cli_verbose;
mod diff;
mod output_snapshots;
mod plan_cli;
mod plan_daemonsets;
mod plan_hostile;
mod plan_manifests;
mod plan_report;
mod report;
mod rewrite_cli;
mod rule_fixes;

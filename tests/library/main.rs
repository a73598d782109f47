//! Tests that call the library directly on inputs kept in the repository or generated in the
//! test: the rule fixtures and their snapshots, the layer scanner, the planner and its model.
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

mod layers;
mod layers_million;
mod plan_constraints;
mod plan_daemonsets;
mod plan_file;
mod plan_model;
mod plan_pack;
mod rules;

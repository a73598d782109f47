//! Tests that call the library directly on inputs kept in the repository or generated in the
//! test: the rule fixtures and their snapshots, the layer scanner, the planner and its model.
//!
//! One test binary per group (docs/dev/testing.md says why and how to add a file).

#[path = "../support/mod.rs"]
mod support;

mod layers;
mod layers_million;
mod plan_file;
mod plan_model;
mod plan_pack;
mod rules;

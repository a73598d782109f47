//! Tests against the fixture images, the test registries and outside tools (dive, skopeo,
//! a headless browser): each skips loudly when what it needs is missing, and fails then under
//! `IMGOPT_REQUIRE_CORPUS=1`.
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

mod check_dive;
mod estimates_measured;
mod layers_fixtures;
mod plan_images;
mod registry;
mod report_browser;
mod rewrite_verify;
mod sources;

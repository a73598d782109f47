//! Tests against the fixture images, the test registries and outside tools (dive, skopeo,
//! a headless browser): each skips loudly when what it needs is missing, and fails then under
//! `IMGOPT_REQUIRE_CORPUS=1`.
//!
//! One test binary per group (docs/dev/testing.md says why and how to add a file).

#[path = "../support/mod.rs"]
mod support;

mod check_dive;
mod layers_fixtures;
mod plan_images;
mod registry;
mod report_browser;
mod sources;

//! imgopt: make container images smaller and plan how densely they pack onto nodes.
//!
//! The library does all the work; the `imgopt` binary is a thin shell over [`cli::run`].
//! Core modules return report models and never print; renderers in [`report`] write them.
//!
//! | module | owns |
//! | --- | --- |
//! | [`dockerfile`] | the BuildKit-conformant Dockerfile parser and stage model |
//! | [`analyze`] | `imgopt analyze`: rules over Dockerfiles ([`rules`]), build [`context`], [`catalog`] and [`estimate`]s |
//! | [`diag`] | diagnostics, their codes, the source file database and the one human renderer |
//! | [`fix`] | rewrites of a Dockerfile that remove a finding, and applying them |
//! | [`units`] | byte sizes and other domain quantities |
//! | [`digest`] | content digests |
//! | [`source`] | image sources (registry, OCI layout, oci-archive, docker-archive), layer reading and verification |
//! | [`layers`] | layer analysis: per-layer sizes, merged filesystem, waste, dive's score, packages |
//! | [`limits`] | the fixed limits on hostile input (one per row of docs/limits.md), for `-v` |
//! | [`diff`] | `imgopt diff`: what changed between two images (layers, files, packages) |
//! | [`rewrite`] | `imgopt rewrite`: a single-stage Dockerfile into a build stage and a small runtime stage |
//! | [`plan`] | the image-aware density planner: allocatable, fit, packing, bounds |
//! | [`report`] | output formats |
//! | [`cli`] | argument parsing, I/O, exit codes (nothing else uses it) |
#![deny(missing_docs)]

pub mod analyze;
pub mod capacity;
pub mod catalog;
pub mod check;
pub mod cli;
pub mod context;
pub mod diag;
pub mod diff;
pub mod digest;
pub mod dockerfile;
pub mod estimate;
pub mod fix;
pub mod layers;
pub mod limits;
pub mod plan;
pub mod report;
pub mod rewrite;
pub mod rules;
pub mod source;
pub mod units;

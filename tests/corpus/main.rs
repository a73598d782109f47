//! Tests over the Dockerfile corpus and the evaluation set: parser conformance with BuildKit,
//! property tests that mutate corpus files, rewrites of the whole corpus, and the scored
//! evaluation of `imgopt analyze` (docs/eval.md).
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

mod corpus;
mod eval;
mod parser_props;
mod rewrite_corpus;

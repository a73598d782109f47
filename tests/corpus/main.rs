//! Tests over the Dockerfile corpus and the evaluation set: parser conformance with BuildKit,
//! property tests that mutate corpus files, rewrites of the whole corpus, and the scored
//! evaluation of `imgopt analyze` (docs/eval.md).
//!
//! One test binary per group (docs/dev/testing.md says why and how to add a file).

#[path = "../support/mod.rs"]
mod support;

mod corpus;
mod eval;
mod parser_props;
mod rewrite_corpus;

//! Human renderers: one file per report kind.

pub mod analyze;
pub mod check;
pub mod diff;
pub mod explain;
pub mod layers;
pub mod parse;
pub mod plan;
pub mod rewrite;

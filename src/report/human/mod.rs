//! Human renderers: one file per report kind.

pub mod parse;
pub mod analyze;
pub mod layers;
pub mod plan;

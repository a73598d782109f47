//! Human renderers: one file per report kind.
pub mod plan;

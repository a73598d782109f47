//! Human renderers: one file per report kind.
pub mod analyze;
pub mod parse;

//! Markdown renderers (GitHub-flavoured, for pull-request comments): one file per report kind.
pub mod analyze;

pub mod layers;
pub mod plan;

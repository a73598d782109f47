//! Markdown renderers (GitHub-flavoured, for pull-request comments): one file per report kind.
pub mod plan;

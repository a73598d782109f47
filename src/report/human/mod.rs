//! Human renderers: one file per report kind.

//! SARIF 2.1.0 renderers (GitHub code scanning): one file per report kind.
pub mod analyze;
pub mod check;

//! The crate-level error for library users: wraps each module's own `Error`.
//!
//! Inside imgopt each module returns its own typed error (DESIGN.md 1.6); this enum exists so
//! that examples and other programs can use `?` across modules with one type.

/// Any error a core imgopt module can return.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The Dockerfile could not be parsed.
    #[error(transparent)]
    Dockerfile(#[from] crate::dockerfile::Error),
    /// Reading a file failed.
    #[error("reading {path}")]
    Io {
        /// The file that could not be read.
        path: String,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
}

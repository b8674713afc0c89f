//! The data layer's one error type.

use std::path::PathBuf;

/// Everything that can go wrong reading, storing or generating data.
/// Skipped lines are not errors: they go into a [`crate::ParseReport`].
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("cannot read {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("I/O error: {0}")]
    Stream(#[from] std::io::Error),
    #[error("{path} is not a format Marquee reads: {reason}")]
    UnknownFormat { path: PathBuf, reason: String },
    #[error("{path}: {reason}")]
    Invalid { path: PathBuf, reason: String },
    #[cfg(feature = "store")]
    #[error("event store: {0}")]
    Store(#[from] rusqlite::Error),
}

impl DataError {
    /// Wraps an I/O error with the path it happened on.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        DataError::Io { path: path.into(), source }
    }
}

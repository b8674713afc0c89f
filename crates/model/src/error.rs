//! The model crate's one error type.

/// Everything the model crate can refuse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModelError {
    #[error("{what} has {got} entries, expected {expected}")]
    LengthMismatch { what: &'static str, expected: usize, got: usize },
}

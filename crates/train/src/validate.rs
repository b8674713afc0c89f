//! One way to check parameters: every parameter set is validated once into a type that
//! cannot hold an invalid value, and the fits accept only that type.

use crate::TrainError;

/// Parameters that are checked once, up front, into a type that cannot be invalid.
///
/// Implemented by every parameter set a fit accepts ([`crate::gbdt::TrainParams`],
/// [`crate::mf::BiasedSvdParams`], [`crate::mf::BprParams`],
/// [`crate::recommend::CatalogParams`] and [`crate::recommend::HybridParams`]), so that a
/// fit never meets an out-of-range value and a caller learns about a bad one before any
/// work starts.
pub trait Validate {
    /// The checked parameters: fields are private, so the only way to get one is
    /// [`Validate::validate`].
    type Valid;

    /// Checks every field, returning the first one out of range as
    /// [`TrainError::InvalidParam`].
    fn validate(self) -> Result<Self::Valid, TrainError>;
}

/// Parameters of type `P` that passed [`Validate::validate`]. Only this crate's `validate`
/// implementations make one, so holding one proves the checks ran. Parameter sets whose
/// checked form needs nothing more than the values use it as their `Valid` type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Checked<P>(P);

impl<P> Checked<P> {
    /// Wraps parameters its caller has just checked.
    pub(crate) fn after_checks(params: P) -> Self {
        Checked(params)
    }

    /// The checked parameters.
    pub fn params(&self) -> &P {
        &self.0
    }
}

/// The error for parameter `name`.
pub(crate) fn invalid(name: &'static str, reason: impl Into<String>) -> TrainError {
    TrainError::InvalidParam { name, reason: reason.into() }
}

/// Accepts a finite number of at least 0.
pub(crate) fn non_negative(name: &'static str, value: f32) -> Result<(), TrainError> {
    if value.is_finite() && value >= 0.0 {
        Ok(())
    } else {
        Err(invalid(name, format!("must be a finite number >= 0, got {value}")))
    }
}

/// Accepts a finite number above 0.
pub(crate) fn positive(name: &'static str, value: f32) -> Result<(), TrainError> {
    if value.is_finite() && value > 0.0 {
        Ok(())
    } else {
        Err(invalid(name, format!("must be a finite number > 0, got {value}")))
    }
}

/// Accepts a share in `[0, 1)`: none at all, up to almost everything.
pub(crate) fn share_below_one(name: &'static str, value: f32) -> Result<(), TrainError> {
    if (0.0..1.0).contains(&value) {
        Ok(())
    } else {
        Err(invalid(name, format!("must be at least 0 and below 1, got {value}")))
    }
}

/// Accepts a count of at least 1.
pub(crate) fn at_least_one(name: &'static str, value: usize) -> Result<(), TrainError> {
    if value >= 1 {
        Ok(())
    } else {
        Err(invalid(name, "must be at least 1"))
    }
}

/// Accepts a count in `range`.
pub(crate) fn count_in(
    name: &'static str,
    value: usize,
    range: std::ops::RangeInclusive<usize>,
) -> Result<(), TrainError> {
    if range.contains(&value) {
        Ok(())
    } else {
        Err(invalid(name, format!("must be {} to {}, got {value}", range.start(), range.end())))
    }
}

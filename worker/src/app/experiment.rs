//! A/B tests: the experiment type lives in `marquee_data::experiment` (the admin UI
//! validates with it too); the edge only maps a refusal to its error type.

pub use marquee_data::experiment::{Experiment, ExperimentError, Variant};

use super::error::AppError;

impl From<ExperimentError> for AppError {
    fn from(error: ExperimentError) -> Self {
        AppError::Unprocessable(error.to_string())
    }
}

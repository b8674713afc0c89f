//! The dataset's verdict: the share of its columns that drifted.

use serde::{Deserialize, Serialize};

use super::{DriftError, DriftOptions};

/// Whether a dataset drifted, from its columns' verdicts.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct DatasetDrift {
    /// Columns judged.
    pub columns: usize,
    /// Columns that drifted.
    pub drifted_columns: usize,
    /// `drifted_columns / columns`.
    pub share_drifted: f64,
    /// Whether the share reached `options.drift_share` (half, by default).
    pub dataset_drifted: bool,
}

/// The share of columns that drifted and the dataset's verdict (drifted when the share is at
/// least `options.drift_share`). An error with no columns or invalid options.
pub fn dataset_drift(drifted: &[bool], options: &DriftOptions) -> Result<DatasetDrift, DriftError> {
    options.validate()?;
    if drifted.is_empty() {
        return Err(DriftError::NoColumns);
    }
    let drifted_columns = drifted.iter().filter(|&&d| d).count();
    let share_drifted = drifted_columns as f64 / drifted.len() as f64;
    Ok(DatasetDrift {
        columns: drifted.len(),
        drifted_columns,
        share_drifted,
        dataset_drifted: share_drifted >= options.drift_share,
    })
}

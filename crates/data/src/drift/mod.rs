//! Data drift: whether a column's distribution moved between a reference window and a current
//! one, and whether the dataset as a whole did, with the tests and thresholds Evidently (the
//! best-known open drift tool) uses by default, so an operator can read the verdicts the way
//! they would read Evidently's.
//!
//! How a column is tested ([`column_drift`]):
//!
//! 1. **Kind** ([`column_kind`]): a numeric column with more than five distinct reference
//!    values is numeric; any other column is categorical (Evidently's rule for integer
//!    columns, applied here to every numeric column).
//! 2. **Test** ([`choose_test`]), by the reference's size once NaN and infinities are dropped:
//!    up to 1,000 rows, Kolmogorov–Smirnov ([`ks_test`]) for numeric columns, chi-square
//!    ([`chi_square_test`]) for categorical ones with more than two values, and the
//!    two-proportion z-test ([`z_test`]) for two values or fewer; each drifts at a p-value
//!    below 0.05 (at or below, for Kolmogorov–Smirnov, as Evidently compares). Above 1,000
//!    rows, the Wasserstein distance over the reference's standard deviation
//!    ([`wasserstein_normed`]) for numeric columns and the Jensen–Shannon distance
//!    ([`jensen_shannon`]) for categorical ones, drifting at 0.1 or more.
//! 3. **PSI** ([`psi`]) instead, with [`DriftMethod::Psi`]: the population stability index,
//!    drifting at 0.1 and significant at 0.2.
//!
//! The dataset drifts when at least half its columns do ([`dataset_drift`]).
//!
//! Pure arithmetic: no I/O, no threads, builds for wasm32, and no input panics. An empty
//! column (after dropping NaN and infinities) is an error; a constant one gets a p-value of 1
//! or a distance of 0 when both sides hold the same constant.

mod binning;
mod chi_square;
mod choose;
mod column;
mod dataset;
mod jensen_shannon;
mod ks;
mod psi;
mod wasserstein;
mod z_test;

#[cfg(test)]
mod tests;

use serde::{Deserialize, Serialize};

pub use chi_square::chi_square_test;
pub use choose::choose_test;
pub use column::{column_drift, column_kind, ColumnDrift, ColumnKind, ColumnValues};
pub use dataset::{dataset_drift, DatasetDrift};
pub use jensen_shannon::jensen_shannon;
pub use ks::{ks_test, KsTest, KS_EXACT_MAX_ROWS};
pub use psi::{psi, PsiSeverity};
pub use wasserstein::wasserstein_normed;
pub use z_test::z_test;

/// The statistical tests and distances a column can be judged by. Their names are
/// Evidently's, and the labels the edge exports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DriftTest {
    /// Two-sample Kolmogorov–Smirnov; the score is a p-value.
    Ks,
    /// Pearson's chi-square on category counts; the score is a p-value.
    ChiSquare,
    /// Two-proportion z-test; the score is a p-value.
    Z,
    /// Wasserstein distance over the reference's standard deviation.
    Wasserstein,
    /// Jensen–Shannon distance (natural logarithm).
    JensenShannon,
    /// Population stability index.
    Psi,
}

impl DriftTest {
    /// The test's name as Evidently spells it (`ks`, `chisquare`, `z`, `wasserstein`,
    /// `jensenshannon`, `psi`).
    pub const fn name(self) -> &'static str {
        match self {
            DriftTest::Ks => "ks",
            DriftTest::ChiSquare => "chisquare",
            DriftTest::Z => "z",
            DriftTest::Wasserstein => "wasserstein",
            DriftTest::JensenShannon => "jensenshannon",
            DriftTest::Psi => "psi",
        }
    }

    /// Whether the score is a p-value (drift below the threshold) rather than a distance
    /// (drift at or above it).
    pub const fn is_p_value(self) -> bool {
        matches!(self, DriftTest::Ks | DriftTest::ChiSquare | DriftTest::Z)
    }
}

/// Which family of tests judges the columns.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DriftMethod {
    /// Evidently's default choice by column kind and reference size.
    #[default]
    Default,
    /// The population stability index for every column.
    Psi,
}

/// The knobs of a drift report; the defaults are Evidently's.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DriftOptions {
    /// Evidently's default tests, or PSI everywhere.
    pub method: DriftMethod,
    /// A p-value test reports drift below this (at or below it, for Kolmogorov–Smirnov).
    pub p_value_threshold: f64,
    /// A distance reports drift at or above this.
    pub distance_threshold: f64,
    /// PSI reports drift at or above this.
    pub psi_threshold: f64,
    /// PSI calls the shift significant at or above this.
    pub psi_significant: f64,
    /// The dataset drifts when at least this share of its columns does.
    pub drift_share: f64,
    /// References with more rows than this are judged by distances rather than p-values
    /// (with many rows, every p-value test finds a trivial difference significant).
    pub max_rows_for_p_values: usize,
    /// A numeric column with at most this many distinct reference values is categorical.
    pub max_categorical_distinct: usize,
}

impl Default for DriftOptions {
    fn default() -> Self {
        DriftOptions {
            method: DriftMethod::Default,
            p_value_threshold: 0.05,
            distance_threshold: 0.1,
            psi_threshold: 0.1,
            psi_significant: 0.2,
            drift_share: 0.5,
            max_rows_for_p_values: 1000,
            max_categorical_distinct: 5,
        }
    }
}

impl DriftOptions {
    /// Checks that every threshold is a finite number in its range: the p-value threshold
    /// in (0, 1), the distance and PSI thresholds above zero (the significant one at least
    /// the drift one), the drift share in (0, 1].
    pub fn validate(&self) -> Result<(), DriftError> {
        let bad = |field: &'static str, value: f64| Err(DriftError::InvalidOption { field, value: value.to_string() });
        if !(self.p_value_threshold > 0.0 && self.p_value_threshold < 1.0) {
            return bad("p_value_threshold", self.p_value_threshold);
        }
        if !(self.distance_threshold.is_finite() && self.distance_threshold > 0.0) {
            return bad("distance_threshold", self.distance_threshold);
        }
        if !(self.psi_threshold.is_finite() && self.psi_threshold > 0.0) {
            return bad("psi_threshold", self.psi_threshold);
        }
        if !(self.psi_significant.is_finite() && self.psi_significant >= self.psi_threshold) {
            return bad("psi_significant", self.psi_significant);
        }
        if !(self.drift_share > 0.0 && self.drift_share <= 1.0) {
            return bad("drift_share", self.drift_share);
        }
        Ok(())
    }
}

/// Why a column or dataset could not be judged.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DriftError {
    #[error("the {side} column has no values (after dropping NaN and infinities)")]
    Empty { side: Side },
    #[error("the reference column is {reference} but the current one is {current}")]
    MixedKinds { reference: &'static str, current: &'static str },
    #[error("there are no columns to judge")]
    NoColumns,
    #[error("the option {field} cannot be {value}")]
    InvalidOption { field: &'static str, value: String },
}

/// Which of the two windows a column belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    Reference,
    Current,
}

impl std::fmt::Display for Side {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Side::Reference => "reference",
            Side::Current => "current",
        })
    }
}

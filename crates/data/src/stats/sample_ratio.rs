//! The sample ratio mismatch (SRM) check: did the arms receive the share of users the
//! experiment configured? A mismatch means assignment or logging is broken (a redirect that
//! drops users, a bot filter hitting one arm), and then no metric comparison can be trusted.

use serde::Serialize;

use super::distributions::{chi_square_survival, is_positive_finite};

/// The p-value below which a split is declared a mismatch. It is strict because the check
/// runs on every readout and a false alarm blocks the experiment.
pub const SRM_P_VALUE_THRESHOLD: f64 = 0.001;

/// The result of Pearson's chi-square goodness-of-fit test of the observed split.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SrmCheck {
    /// Pearson's statistic Σ(observed − expected)²/expected.
    pub chi_square: f64,
    /// The degrees of freedom, the number of arms minus one.
    pub df: u64,
    /// The p-value of the statistic under the configured split.
    pub p_value: f64,
    /// Whether `p_value` is below [`SRM_P_VALUE_THRESHOLD`].
    pub mismatch: bool,
}

/// Tests the users `observed` in each arm against the configured traffic `weights` (any
/// positive scale: `[1.0, 1.0]` and `[50.0, 50.0]` both mean an even split), like
/// `scipy.stats.chisquare(observed, total·weights/Σweights)`. `None` when the slices differ
/// in length, there are fewer than two arms, no users at all, or any weight is not a finite
/// positive number.
pub fn sample_ratio_mismatch(observed: &[u64], weights: &[f64]) -> Option<SrmCheck> {
    if observed.len() != weights.len() || observed.len() < 2 {
        return None;
    }
    if !weights.iter().all(|&w| is_positive_finite(w)) {
        return None;
    }
    let weight_sum: f64 = weights.iter().sum();
    let total: f64 = observed.iter().map(|&o| o as f64).sum();
    if !is_positive_finite(total) || !is_positive_finite(weight_sum) {
        return None;
    }
    let chi_square: f64 = observed
        .iter()
        .zip(weights)
        .map(|(&o, &w)| {
            let expected = total * (w / weight_sum);
            let deviation = o as f64 - expected;
            deviation * deviation / expected
        })
        .sum();
    if !chi_square.is_finite() {
        return None;
    }
    let df = observed.len() as u64 - 1;
    let p_value = chi_square_survival(chi_square, df as f64)?;
    Some(SrmCheck { chi_square, df, p_value, mismatch: p_value < SRM_P_VALUE_THRESHOLD })
}

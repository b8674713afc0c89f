//! Always-valid confidence intervals, so an experiment's readout may be looked at every day
//! and stopped the moment it is conclusive.
//!
//! A fixed-horizon interval holds its coverage only when read once; checked after every batch
//! of users, sooner or later it excludes the truth by chance. An asymptotic confidence
//! sequence (Waudby-Smith, Arnold, Wu, Ramdas and Rowe, "Time-uniform central limit theory and
//! asymptotic confidence sequences", eq. 9) covers the truth at every sample size at once with
//! probability 1 − α. This follows GrowthBook's `gbstats` `SequentialTwoSidedTTest` (0.8.0),
//! whose results the tests reproduce.

use super::distributions::{is_open_probability, is_positive_finite};

/// GrowthBook's default tuning: the total sample size at which the sequence is tightest.
pub const DEFAULT_SEQUENTIAL_TUNING: f64 = 5000.0;

/// The asymptotic confidence sequence's interval around `estimate` (for example a difference
/// of click rates), whose estimator has variance `variance_of_estimate` after `total_units`
/// units (users in both arms together), at miscoverage `alpha` (0.05 for 95%), tuned to be
/// tightest near `tuning` total units.
///
/// With N = `total_units` and s² = `variance_of_estimate`·N, the half-width is
/// s·√(2(Nρ² + 1)·ln(√(Nρ² + 1)/α) / (Nρ)²) with ρ² = (−2 ln α + ln(−2 ln α + 1)) / tuning.
///
/// `None` when the estimate or variance is not finite, the variance is negative, there are
/// no units, `alpha` is not strictly between 0 and 1, or `tuning` is not a finite positive
/// number.
pub fn sequential_interval(
    estimate: f64,
    variance_of_estimate: f64,
    total_units: u64,
    alpha: f64,
    tuning: f64,
) -> Option<(f64, f64)> {
    if !estimate.is_finite() || !variance_of_estimate.is_finite() || variance_of_estimate < 0.0 || total_units == 0 {
        return None;
    }
    if !is_open_probability(alpha) || !is_positive_finite(tuning) {
        return None;
    }
    let n = total_units as f64;
    let rho_squared = (-2.0 * alpha.ln() + (-2.0 * alpha.ln()).ln_1p()) / tuning;
    let n_rho_squared_plus_one = n * rho_squared + 1.0;
    let s_squared = variance_of_estimate * n;
    let half = (s_squared * 2.0 * n_rho_squared_plus_one * (n_rho_squared_plus_one.sqrt() / alpha).ln()
        / (n * n * rho_squared))
        .sqrt();
    half.is_finite().then_some((estimate - half, estimate + half))
}

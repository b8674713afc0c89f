//! A group's metric with its percentile bootstrap interval, the user as the unit.

use serde::{Deserialize, Serialize};

use crate::stats::{quantile, SplitMix64, UnitTotals};

/// A metric's value and its two-sided bootstrap interval.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    /// The metric on the sample itself: the sum of the users' numerators over the sum of
    /// their denominators.
    pub value: f64,
    /// The interval's lower bound.
    pub low: f64,
    /// The interval's upper bound.
    pub high: f64,
}

/// The ratio of sums `Σ numerator / Σ denominator` over `users` and its percentile bootstrap
/// interval at the two-sided `confidence` (0.95 for 95%).
///
/// Each of the `resamples` resamples draws `users.len()` users with replacement, by a
/// SplitMix64 generator seeded with `seed` (indices ⌊u·n / 2⁶⁴⌋, as
/// [`crate::stats::bootstrap_interval`] draws them), so the same input gives the same
/// interval. The bounds are the `(1 − confidence)/2` and `(1 + confidence)/2` quantiles of
/// the resampled ratios, interpolated linearly between order statistics (numpy's default).
/// Resamples whose denominators sum to 0 are skipped. A user is one unit because one user's
/// lists are correlated; with one list per user and denominators of 1 this is the plain
/// bootstrap of a mean (per-user NDCG, hit or miss).
///
/// `None` when there are no users, no resample or a confidence outside (0, 1), a value is
/// not finite or a denominator is negative, or every denominator is 0.
pub fn bootstrap_ratio(users: &[UnitTotals], resamples: usize, confidence: f64, seed: u64) -> Option<Estimate> {
    let valid = users.iter().all(|u| u.numerator.is_finite() && u.denominator.is_finite() && u.denominator >= 0.0);
    if users.is_empty() || !valid || resamples == 0 || !(confidence > 0.0 && confidence < 1.0) {
        return None;
    }
    let ratio = |sample: &mut dyn Iterator<Item = &UnitTotals>| {
        let (numerator, denominator) = sample.fold((0.0, 0.0), |(n, d), u| (n + u.numerator, d + u.denominator));
        (denominator > 0.0).then(|| numerator / denominator)
    };
    let value = ratio(&mut users.iter())?;
    let mut rng = SplitMix64::new(seed);
    let n = users.len();
    let mut indices = vec![0usize; n];
    let mut estimates = Vec::with_capacity(resamples);
    for _ in 0..resamples {
        for index in indices.iter_mut() {
            *index = rng.below(n);
        }
        estimates.extend(ratio(&mut indices.iter().filter_map(|&i| users.get(i))));
    }
    if estimates.is_empty() {
        return None;
    }
    estimates.sort_by(f64::total_cmp);
    Some(Estimate {
        value,
        low: quantile(&estimates, (1.0 - confidence) / 2.0),
        high: quantile(&estimates, (1.0 + confidence) / 2.0),
    })
}

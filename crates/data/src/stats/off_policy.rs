//! Off-policy evaluation: estimating from a logged policy's slot-level records what reward a
//! different (target) policy would have earned, by inverse propensity scoring. This lets a
//! candidate ranker be judged on logged traffic before it gets any of its own.

use serde::{Deserialize, Serialize};

use super::distributions::is_open_probability;

/// One logged slot: the probability the logging policy showed this item in this slot, the
/// probability the target policy would have, and the reward observed (for example 1 for a
/// click).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LoggedRecord {
    /// The logging policy's probability of the logged action, in (0, 1].
    pub logging_propensity: f64,
    /// The target policy's probability of the same action, in [0, 1].
    pub target_probability: f64,
    /// The reward observed for the logged action.
    pub reward: f64,
}

/// Why an off-policy estimate could not be made.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum OffPolicyError {
    /// There were no records.
    #[error("no logged records")]
    Empty,
    /// A logging propensity was not in (0, 1]: zero would divide by zero, and anything else
    /// is not a probability (usually a logging bug).
    #[error("record {index}: logging propensity {value} is not in (0, 1]")]
    Propensity {
        /// The record's position.
        index: usize,
        /// The offending value.
        value: f64,
    },
    /// A target probability was not in [0, 1].
    #[error("record {index}: target probability {value} is not in [0, 1]")]
    TargetProbability {
        /// The record's position.
        index: usize,
        /// The offending value.
        value: f64,
    },
    /// A reward was NaN or infinite.
    #[error("record {index}: reward {value} is not finite")]
    Reward {
        /// The record's position.
        index: usize,
        /// The offending value.
        value: f64,
    },
    /// Every importance weight was zero, so the self-normalised estimate is 0/0: the target
    /// policy never takes any logged action.
    #[error("every importance weight is zero: the target policy never takes a logged action")]
    ZeroWeights,
    /// The bootstrap was asked for no resamples or a confidence outside (0, 1).
    #[error("the bootstrap needs at least one resample and a confidence strictly between 0 and 1")]
    Bootstrap,
}

/// Which estimator a bootstrap interval is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Estimator {
    /// Inverse propensity scoring, [`ips`].
    Ips,
    /// Self-normalised inverse propensity scoring, [`snips`].
    Snips,
}

/// Checks every record, so the estimators can trust them.
fn validate(records: &[LoggedRecord]) -> Result<(), OffPolicyError> {
    if records.is_empty() {
        return Err(OffPolicyError::Empty);
    }
    for (index, r) in records.iter().enumerate() {
        if !(r.logging_propensity > 0.0 && r.logging_propensity <= 1.0) {
            return Err(OffPolicyError::Propensity { index, value: r.logging_propensity });
        }
        if !(0.0..=1.0).contains(&r.target_probability) {
            return Err(OffPolicyError::TargetProbability { index, value: r.target_probability });
        }
        if !r.reward.is_finite() {
            return Err(OffPolicyError::Reward { index, value: r.reward });
        }
    }
    Ok(())
}

/// The inverse propensity scoring estimate (1/n)·Σ wᵢ·rᵢ with importance weight
/// wᵢ = targetᵢ/loggingᵢ: unbiased for the target policy's mean reward, but with high
/// variance when the logging propensities are small.
pub fn ips(records: &[LoggedRecord]) -> Result<f64, OffPolicyError> {
    validate(records)?;
    Ok(ips_unchecked(records.iter()))
}

/// The self-normalised estimate Σ wᵢ·rᵢ / Σ wᵢ: slightly biased, but far less variable than
/// [`ips`], and it stays within the range of the rewards. Fails with
/// [`OffPolicyError::ZeroWeights`] when every weight is zero.
pub fn snips(records: &[LoggedRecord]) -> Result<f64, OffPolicyError> {
    validate(records)?;
    snips_unchecked(records.iter()).ok_or(OffPolicyError::ZeroWeights)
}

fn weight(r: &LoggedRecord) -> f64 {
    r.target_probability / r.logging_propensity
}

fn ips_unchecked<'a>(records: impl ExactSizeIterator<Item = &'a LoggedRecord>) -> f64 {
    let n = records.len() as f64;
    records.map(|r| weight(r) * r.reward).sum::<f64>() / n
}

fn snips_unchecked<'a>(records: impl Iterator<Item = &'a LoggedRecord>) -> Option<f64> {
    let (weighted, total) = records.fold((0.0, 0.0), |(s, w), r| (s + weight(r) * r.reward, w + weight(r)));
    (total > 0.0).then(|| weighted / total)
}

/// A percentile bootstrap interval of `estimator` at the two-sided `confidence` (for example
/// 0.95) from `resamples` resamples of the records with replacement, drawn by a SplitMix64
/// generator seeded with `seed`, so the same inputs always give the same interval (the
/// crate's `rand` is an optional feature, and a readout must be reproducible).
///
/// Record indices are drawn as ⌊u·n / 2⁶⁴⌋ for each 64-bit output u; the bounds are the
/// `(1 − confidence)/2` and `(1 + confidence)/2` quantiles of the resampled estimates with
/// linear interpolation between order statistics (numpy's default). SNIPS resamples whose
/// weights are all zero are skipped; if every one is, the result is
/// [`OffPolicyError::ZeroWeights`].
pub fn bootstrap_interval(
    records: &[LoggedRecord],
    estimator: Estimator,
    resamples: usize,
    confidence: f64,
    seed: u64,
) -> Result<(f64, f64), OffPolicyError> {
    validate(records)?;
    if resamples == 0 || !is_open_probability(confidence) {
        return Err(OffPolicyError::Bootstrap);
    }
    let mut rng = SplitMix64(seed);
    let n = records.len();
    let mut indices = vec![0usize; n];
    let mut estimates = Vec::with_capacity(resamples);
    for _ in 0..resamples {
        for index in indices.iter_mut() {
            *index = rng.below(n);
        }
        let sample = indices.iter().map(|&i| &records[i]);
        let estimate = match estimator {
            Estimator::Ips => Some(ips_unchecked(sample)),
            Estimator::Snips => snips_unchecked(sample),
        };
        estimates.extend(estimate);
    }
    if estimates.is_empty() {
        return Err(OffPolicyError::ZeroWeights);
    }
    estimates.sort_by(f64::total_cmp);
    Ok((quantile(&estimates, (1.0 - confidence) / 2.0), quantile(&estimates, (1.0 + confidence) / 2.0)))
}

/// The `q` quantile of sorted, non-empty `values` with linear interpolation between order
/// statistics (numpy's default "linear" method). Shared with the fairness bootstrap.
pub(crate) fn quantile(values: &[f64], q: f64) -> f64 {
    let position = q * (values.len() - 1) as f64;
    let below = position.floor() as usize;
    let above = (below + 1).min(values.len() - 1);
    let fraction = position - below as f64;
    values[below] + fraction * (values[above] - values[below])
}

/// SplitMix64 (Steele, Lea and Flood), a tiny generator good enough for resampling and easy to
/// reproduce in the fixture scripts. Shared with the fairness bootstrap.
pub(crate) struct SplitMix64(u64);

impl SplitMix64 {
    pub(crate) fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniform index below `n` by the multiply-shift method, whose bias is negligible for
    /// any realistic `n`.
    pub(crate) fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }
}

/// A seeded SplitMix64 stream for the statistics tests' simulations.
#[cfg(test)]
pub(crate) fn test_rng(seed: u64) -> impl FnMut() -> u64 {
    let mut rng = SplitMix64(seed);
    move || rng.next_u64()
}

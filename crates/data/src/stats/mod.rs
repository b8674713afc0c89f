//! Statistics for online A/B experiments, shared by the edge's admin readout and the trainer's
//! online report so both say the same thing about the same counts.
//!
//! How the readout decides ([`decide`]), and why:
//!
//! - **The user is the unit.** Users are randomised, not lists, and one user's lists are
//!   correlated, so a click rate is per-user totals compared by the delta method
//!   ([`compare_ratios`]); counting lists as independent trials would understate the variance
//!   and declare winners too often.
//! - **A sample ratio mismatch blocks.** If the arms' sizes do not match the configured split
//!   ([`sample_ratio_mismatch`], p < 0.001), assignment or logging is broken and no metric can
//!   be trusted, however significant it looks.
//! - **Sequential intervals allow peeking.** The readout is looked at whenever someone opens
//!   it; a fixed-horizon interval checked repeatedly excludes zero by chance far more often
//!   than its nominal 5%. The verdict uses an asymptotic confidence sequence
//!   ([`sequential_interval`]), valid at every sample size at once.
//!
//! Also here: Welch's t test for per-user means ([`welch_t_test`]), the sign test for
//! interleaving ([`sign_test`]), off-policy estimates from logged propensities ([`ips`],
//! [`snips`]), the one-arm intervals the readout shows ([`wilson_interval`],
//! [`mean_interval`]) and the distribution functions underneath ([`distributions`]).
//!
//! Plain arithmetic: no I/O, no threads, builds for wasm32, and degenerate input (empty
//! samples, zero variance, NaN) gives `None` or an error, never a panic.

mod decision;
pub mod distributions;
mod intervals;
mod off_policy;
mod ratio;
mod sample_ratio;
mod sequential;
mod sign_test;
mod welch;

#[cfg(test)]
mod tests;

pub use decision::{decide, Decision, DecisionInput, DecisionRules, InvalidRules, ValidDecisionRules};
pub use intervals::{mean_interval, wilson_interval, Z_95};
pub use off_policy::{bootstrap_interval, ips, snips, Estimator, LoggedRecord, OffPolicyError};
pub(crate) use off_policy::{quantile, SplitMix64};
pub use ratio::{
    compare_estimates, compare_ratios, ratio_estimate, RatioComparison, RatioEstimate, RelativeDifference, UnitTotals,
};
pub use sample_ratio::{sample_ratio_mismatch, SrmCheck, SRM_P_VALUE_THRESHOLD};
pub use sequential::{sequential_interval, DEFAULT_SEQUENTIAL_TUNING};
pub use sign_test::{sign_test, SignTest};
pub use welch::{welch_t_test, WelchTest};

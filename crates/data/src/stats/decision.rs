//! The readout's verdict for a control/challenger pair: blocked, keep running, promote the
//! challenger or roll it back. The edge and the CLI print it as JSON.

use serde::{Deserialize, Serialize};

use super::distributions::{is_open_probability, is_positive_finite};
use super::ratio::{compare_estimates, ratio_estimate, UnitTotals};
use super::sample_ratio::sample_ratio_mismatch;
use super::sequential::{sequential_interval, DEFAULT_SEQUENTIAL_TUNING};

/// The rules a decision is made by, as configured. Validate them once with
/// [`DecisionRules::validate`] into [`ValidDecisionRules`], which [`decide`] takes.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DecisionRules {
    /// The fewest users each arm must have before any verdict other than "keep running":
    /// below it the delta method's normal approximation is not trustworthy.
    pub min_users_per_arm: u64,
    /// The miscoverage of the sequential interval, between 0 and 1 exclusive: 0.05 gives a
    /// 95% always-valid interval, so at most a 5% chance of ever wrongly promoting or rolling
    /// back however often the readout is looked at.
    pub alpha: f64,
    /// The total number of users (both arms) at which the sequential interval is tightest;
    /// set it near the expected final sample size. Must be finite and positive.
    pub sequential_tuning: f64,
}

impl Default for DecisionRules {
    /// At least 100 users per arm, a 95% always-valid interval, and GrowthBook's tuning
    /// of 5000 users.
    fn default() -> Self {
        DecisionRules { min_users_per_arm: 100, alpha: 0.05, sequential_tuning: DEFAULT_SEQUENTIAL_TUNING }
    }
}

/// Why a [`DecisionRules`] was rejected.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum InvalidRules {
    /// The miscoverage was not strictly between 0 and 1.
    #[error("alpha must be strictly between 0 and 1, not {0}")]
    Alpha(f64),
    /// The tuning was not a finite positive number.
    #[error("sequential_tuning must be a finite positive number, not {0}")]
    Tuning(f64),
    /// The minimum was below 2, the fewest users a variance can be estimated from.
    #[error("min_users_per_arm must be at least 2, not {0}")]
    MinUsers(u64),
}

/// Decision rules known to be valid; only [`DecisionRules::validate`] makes one.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ValidDecisionRules(DecisionRules);

impl ValidDecisionRules {
    /// The rules as configured.
    pub fn rules(&self) -> &DecisionRules {
        &self.0
    }
}

impl Default for ValidDecisionRules {
    /// The default rules, which are valid.
    fn default() -> Self {
        ValidDecisionRules(DecisionRules::default())
    }
}

impl DecisionRules {
    /// Checks the rules once, so [`decide`] need not: the miscoverage must lie strictly
    /// between 0 and 1, the tuning must be finite and positive, and the minimum at least 2.
    pub fn validate(self) -> Result<ValidDecisionRules, InvalidRules> {
        if !is_open_probability(self.alpha) {
            return Err(InvalidRules::Alpha(self.alpha));
        }
        if !is_positive_finite(self.sequential_tuning) {
            return Err(InvalidRules::Tuning(self.sequential_tuning));
        }
        if self.min_users_per_arm < 2 {
            return Err(InvalidRules::MinUsers(self.min_users_per_arm));
        }
        Ok(ValidDecisionRules(self))
    }
}

/// What a decision is made from: each arm's users with their click totals, and the
/// configured traffic weights the sample ratio check compares the arms' sizes with.
#[derive(Debug, Clone, Copy)]
pub struct DecisionInput<'a> {
    /// One entry per control user assigned: clicked lists (numerator) and served lists
    /// (denominator). Users assigned but never served count, with zero totals.
    pub control: &'a [UnitTotals],
    /// The challenger's users, as for `control`.
    pub challenger: &'a [UnitTotals],
    /// The configured traffic weights of control and challenger, on any positive scale.
    pub weights: [f64; 2],
}

/// The verdict on a challenger. Serialised with a `decision` tag in snake_case, for example
/// `{"decision":"keep_running","reason":"…"}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum Decision {
    /// The experiment cannot be read: the sample ratio check failed (or could not run), so
    /// assignment or logging is broken and no comparison can be trusted.
    Blocked {
        /// A sentence saying what failed.
        reason: String,
    },
    /// No verdict yet: too few users, or the sequential interval still contains zero.
    KeepRunning {
        /// A sentence saying what is missing.
        reason: String,
    },
    /// The challenger's click rate is higher: its sequential interval of the difference lies
    /// wholly above zero.
    Promote {
        /// The click-rate difference, challenger − control.
        difference: f64,
        /// The always-valid interval of the difference.
        interval: (f64, f64),
    },
    /// The challenger's click rate is lower: the interval lies wholly below zero.
    RollBack {
        /// The click-rate difference, challenger − control.
        difference: f64,
        /// The always-valid interval of the difference.
        interval: (f64, f64),
    },
}

/// Decides on the challenger by `rules`: blocked on a sample ratio mismatch, keep running
/// below the minimum users or while the sequential interval of the click-rate difference
/// contains zero, else promote or roll back by its sign. The sample ratio check runs first
/// because a broken split makes every later number meaningless.
pub fn decide(input: &DecisionInput<'_>, rules: &ValidDecisionRules) -> Decision {
    let rules = rules.rules();
    let observed = [input.control.len() as u64, input.challenger.len() as u64];
    match sample_ratio_mismatch(&observed, &input.weights) {
        Some(check) if check.mismatch => {
            return Decision::Blocked {
                reason: format!(
                    "sample ratio mismatch: {} control and {} challenger users against weights {:?} \
                     (chi-square {:.2}, p = {:.2e})",
                    observed[0], observed[1], input.weights, check.chi_square, check.p_value
                ),
            };
        }
        Some(_) => {}
        None if observed.iter().all(|&n| n == 0) => {
            return Decision::KeepRunning { reason: "no users have been assigned yet".into() };
        }
        None => {
            return Decision::Blocked {
                reason: format!("the traffic weights {:?} are not positive finite numbers", input.weights),
            };
        }
    }
    let fewest = observed[0].min(observed[1]);
    if fewest < rules.min_users_per_arm {
        return Decision::KeepRunning {
            reason: format!("an arm has {fewest} users, fewer than the {} required", rules.min_users_per_arm),
        };
    }
    let comparison = ratio_estimate(input.control)
        .zip(ratio_estimate(input.challenger))
        .and_then(|(control, challenger)| compare_estimates(control, challenger, 1.0 - rules.alpha));
    let Some(comparison) = comparison else {
        return Decision::KeepRunning {
            reason: "the click rates cannot be compared yet (no lists served, or no variation in clicks)".into(),
        };
    };
    let interval = sequential_interval(
        comparison.difference,
        comparison.difference_standard_error.powi(2),
        observed[0] + observed[1],
        rules.alpha,
        rules.sequential_tuning,
    );
    match interval {
        Some((low, high)) if low > 0.0 => {
            Decision::Promote { difference: comparison.difference, interval: (low, high) }
        }
        Some((low, high)) if high < 0.0 => {
            Decision::RollBack { difference: comparison.difference, interval: (low, high) }
        }
        Some((low, high)) => Decision::KeepRunning {
            reason: format!(
                "the sequential interval of the click-rate difference, [{low:.5}, {high:.5}], still contains 0"
            ),
        },
        None => Decision::KeepRunning { reason: "the sequential interval cannot be computed yet".into() },
    }
}

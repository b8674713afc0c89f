//! An A/B experiment's readout: each arm's users, lists, click rate and MRR; each challenger
//! against the control by the delta method (ratio metrics with the user as the unit) and
//! Welch's t-test on per-user rates; the sample ratio check; the always-valid interval of
//! the click-rate difference; and the decision ([`crate::stats::decide`]).
//!
//! Wasm-safe, so the CLI's `marquee experiment report` and any other reader compute the same
//! readout from the same per-user outcomes.

use std::collections::BTreeMap;

use serde::Serialize;

use super::UserOutcome;
use crate::experiment::Experiment;
use crate::stats::{
    compare_ratios, decide, sample_ratio_mismatch, sequential_interval, welch_t_test, Decision, DecisionInput,
    RatioComparison, SrmCheck, UnitTotals, ValidDecisionRules, WelchTest,
};

/// One arm's totals.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ArmSummary {
    pub variant: String,
    /// The version the experiment gives the arm (`None`: the active version).
    pub version: Option<String>,
    /// Its configured weight (`None` for a variant the log has but the experiment lacks).
    pub weight: Option<u32>,
    /// Users served at least one list.
    pub users: u64,
    pub lists: u64,
    pub clicked_lists: u64,
    /// Clicked lists over lists.
    pub click_rate: f64,
    /// Reciprocal-rank sum over lists.
    pub mrr: f64,
}

/// A metric compared two ways: the ratio of sums by the delta method, and the per-user
/// means by Welch's t-test. Either is `None` when it cannot be computed (fewer than two
/// users, no variation).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MetricComparison {
    pub delta_method: Option<RatioComparison>,
    pub welch_per_user: Option<WelchTest>,
}

/// A challenger against the control.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ChallengerReadout {
    pub variant: String,
    pub click_rate: MetricComparison,
    pub mrr: MetricComparison,
    /// The always-valid interval of the click-rate difference (challenger − control).
    pub sequential_interval: Option<(f64, f64)>,
    pub decision: Decision,
}

/// The whole readout.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ExperimentReadout {
    /// The control: the experiment's first variant.
    pub control: String,
    pub arms: Vec<ArmSummary>,
    /// The sample ratio check over every arm of the experiment, users against weights.
    pub sample_ratio: Option<SrmCheck>,
    pub challengers: Vec<ChallengerReadout>,
}

fn click_totals(users: &[UserOutcome]) -> Vec<UnitTotals> {
    users.iter().map(|u| UnitTotals { numerator: u.clicked_lists as f64, denominator: u.lists as f64 }).collect()
}

fn rank_totals(users: &[UserOutcome]) -> Vec<UnitTotals> {
    users.iter().map(|u| UnitTotals { numerator: u.reciprocal_rank_sum, denominator: u.lists as f64 }).collect()
}

fn per_user(totals: &[UnitTotals]) -> Vec<f64> {
    totals.iter().filter(|t| t.denominator > 0.0).map(|t| t.numerator / t.denominator).collect()
}

fn compare(control: &[UnitTotals], challenger: &[UnitTotals], confidence: f64) -> MetricComparison {
    MetricComparison {
        delta_method: compare_ratios(control, challenger, confidence),
        welch_per_user: welch_t_test(&per_user(control), &per_user(challenger)),
    }
}

/// The readout of `experiment` from each variant's per-user outcomes (see
/// [`super::user_outcomes`]), decided by `rules`.
pub fn experiment_readout(
    outcomes: &BTreeMap<String, Vec<UserOutcome>>,
    experiment: &Experiment,
    rules: &ValidDecisionRules,
) -> ExperimentReadout {
    let empty = Vec::new();
    let users_of = |name: &str| outcomes.get(name).unwrap_or(&empty);
    let summary = |variant: &str, version: Option<String>, weight: Option<u32>| {
        let users = users_of(variant);
        let lists: u64 = users.iter().map(|u| u.lists).sum();
        let clicked_lists: u64 = users.iter().map(|u| u.clicked_lists).sum();
        let reciprocal: f64 = users.iter().map(|u| u.reciprocal_rank_sum).sum();
        let per_list = |value: f64| if lists > 0 { value / lists as f64 } else { 0.0 };
        ArmSummary {
            variant: variant.to_owned(),
            version,
            weight,
            users: users.len() as u64,
            lists,
            clicked_lists,
            click_rate: per_list(clicked_lists as f64),
            mrr: per_list(reciprocal),
        }
    };
    let mut arms: Vec<ArmSummary> = experiment
        .variants
        .iter()
        .map(|variant| summary(&variant.name, variant.version.clone(), Some(variant.weight)))
        .collect();
    for name in outcomes.keys() {
        if !experiment.variants.iter().any(|variant| &variant.name == name) {
            arms.push(summary(name, None, None));
        }
    }
    let observed: Vec<u64> = experiment.variants.iter().map(|variant| users_of(&variant.name).len() as u64).collect();
    let weights: Vec<f64> = experiment.variants.iter().map(|variant| f64::from(variant.weight)).collect();
    let sample_ratio = sample_ratio_mismatch(&observed, &weights);

    let control = experiment.variants.first().map(|variant| variant.name.clone()).unwrap_or_default();
    let control_clicks = click_totals(users_of(&control));
    let control_ranks = rank_totals(users_of(&control));
    let alpha = rules.rules().alpha;
    let challengers = experiment
        .variants
        .iter()
        .skip(1)
        .map(|variant| {
            let users = users_of(&variant.name);
            let clicks = click_totals(users);
            let click_rate = compare(&control_clicks, &clicks, 1.0 - alpha);
            let sequential = click_rate.delta_method.and_then(|comparison| {
                sequential_interval(
                    comparison.difference,
                    comparison.difference_standard_error.powi(2),
                    (control_clicks.len() + clicks.len()) as u64,
                    alpha,
                    rules.rules().sequential_tuning,
                )
            });
            let weights = [f64::from(experiment.variants[0].weight), f64::from(variant.weight)];
            let decision = decide(&DecisionInput { control: &control_clicks, challenger: &clicks, weights }, rules);
            ChallengerReadout {
                variant: variant.name.clone(),
                click_rate,
                mrr: compare(&control_ranks, &rank_totals(users), 1.0 - alpha),
                sequential_interval: sequential,
                decision,
            }
        })
        .collect();
    ExperimentReadout { control, arms, sample_ratio, challengers }
}

//! The rating head: a squared-error model of the newer ratings from features of the older
//! history, kept only if it predicts held-back ratings better than the factorisation's own
//! rating does.

use marquee_model::gbdt::Predictor;
use marquee_model::random::unit_hash;
use marquee_model::recommend::{
    fill_row, ranker_schema, Candidate, CandidateSource, UserContext, FEATURE_COUNT, FEATURE_NAMES,
};

use super::fit_features::FittedFeatures;
use super::interactions::Interaction;
use super::ranker_table::LabelledRows;
use crate::gbdt::{train, Table, ValidParams};
use crate::TrainError;

/// Salts the hash that holds ratings back for the check ("HEAD" in ASCII), so that the
/// choice is independent of the other draws seeded with the same seed.
const CHECK_SALT: u64 = 0x4845_4144;

/// The share of newer ratings held back to check the head against the factorisation.
const CHECK_SHARE: f64 = 0.2;

/// The fewest ratings the head is fitted on: fewer make a head too noisy to be worth a try.
const MIN_FIT_ROWS: usize = 100;

/// The fewest held-back ratings the comparison is decided on: fewer make it a coin toss.
const MIN_CHECK_ROWS: usize = 20;

/// The head fitted on `labels`' ratings (the newer part of the training half) with features
/// from `older`, if there are enough ratings and it beats the factorisation on the
/// held-back ones.
pub(super) fn fit_rating_head(
    labels: &[Interaction],
    older: &FittedFeatures,
    params: &ValidParams,
    seed: u64,
) -> Result<Option<Predictor>, TrainError> {
    let (fit, check) = rating_rows(labels, older, seed);
    if fit.labels.len() < MIN_FIT_ROWS || check.labels.len() < MIN_CHECK_ROWS {
        return Ok(None);
    }
    let table = Table::new(ranker_schema(&older.catalog), fit.features, fit.labels, None)?;
    let head = Predictor::new(train(&table, None, params, &mut |_, _| {})?.ensemble)?;
    Ok(beats_the_factorisation(&head, &check)?.then_some(head))
}

/// Every rated interaction of `labels` as a feature row, split into (fit, check) by a
/// seeded hash of the (user, movie) pair.
fn rating_rows(labels: &[Interaction], older: &FittedFeatures, seed: u64) -> (LabelledRows, LabelledRows) {
    let catalog = &older.catalog;
    let (mut fit, mut check) = (LabelledRows::default(), LabelledRows::default());
    let mut row = [0.0f32; FEATURE_COUNT];
    for event in labels {
        let Some(rating) = event.rating else { continue };
        let profile = &older.profiles[event.user as usize];
        let candidate = Candidate::scored(catalog, profile, event.item, CandidateSource::Factors);
        fill_row(catalog, &UserContext::new(catalog, profile), &candidate, &mut row);
        let pair = u64::from(event.user) << 32 | u64::from(event.item);
        let held_back = unit_hash(seed ^ CHECK_SALT, pair) < CHECK_SHARE;
        if held_back { &mut check } else { &mut fit }.push(&row, rating);
    }
    (fit, check)
}

/// Whether the head's squared error on `check` is below that of the `svd_rating` feature.
fn beats_the_factorisation(head: &Predictor, check: &LabelledRows) -> Result<bool, TrainError> {
    let svd_column = FEATURE_NAMES.iter().position(|&name| name == "svd_rating").unwrap_or(0);
    let (mut head_error, mut svd_error) = (0.0f64, 0.0f64);
    for (row, &label) in check.features.chunks_exact(FEATURE_COUNT).zip(&check.labels) {
        head_error += f64::from(head.predict(row)? - label).powi(2);
        svd_error += f64::from(row[svd_column] - label).powi(2);
    }
    Ok(head_error < svd_error)
}

//! The ranker's training table: for a sample of users, the candidates stage 1 retrieves
//! from features fitted on their older history, labelled by their newer history.

use std::collections::HashSet;

use marquee_model::random::unit_hash;
use marquee_model::recommend::{fill_row, ranker_schema, retrieve, UserContext, FEATURE_COUNT};

use super::fit_features::FittedFeatures;
use super::interactions::Interaction;
use super::params::HybridParams;
use super::sample_users::sample_users;
use crate::gbdt::Table;
use crate::TrainError;

/// Feature rows and their labels, row-major.
#[derive(Default)]
pub(super) struct LabelledRows {
    pub(super) features: Vec<f32>,
    pub(super) labels: Vec<f32>,
}

impl LabelledRows {
    pub(super) fn push(&mut self, row: &[f32], label: f32) {
        self.features.extend_from_slice(row);
        self.labels.push(label);
    }
}

/// One query group per sampled user who has a later interaction among their retrieved
/// candidates: every positive candidate and a seeded sample of the negatives.
///
/// `labels` is the newer part of the training half; `older` was fitted on the older part.
pub(super) fn ranker_table(
    users: usize,
    labels: &[Interaction],
    older: &FittedFeatures,
    params: &HybridParams,
) -> Result<Table, TrainError> {
    let mut labels_by_user: Vec<Vec<&Interaction>> = vec![Vec::new(); users];
    for event in labels {
        labels_by_user[event.user as usize].push(event);
    }
    let labelled_users = (0..users).filter(|&user| !labels_by_user[user].is_empty()).collect();
    let (mut rows, mut groups) = (LabelledRows::default(), Vec::new());
    for user in sample_users(labelled_users, params.max_ranker_users, params.seed) {
        if let Some(group) = add_user_group(&mut rows, user, &labels_by_user[user], older, params) {
            groups.push(group);
        }
    }
    if groups.is_empty() {
        return Err(TrainError::InvalidData(
            "no user's later interactions were among their retrieved candidates; the data is too small to rank".into(),
        ));
    }
    Table::new(ranker_schema(&older.catalog), rows.features, rows.labels, Some(groups))
}

/// Adds `user`'s group to `rows` and returns its size, or adds nothing when none of the
/// user's relevant later movies was retrieved (a group without a positive teaches nothing).
fn add_user_group(
    rows: &mut LabelledRows,
    user: usize,
    later: &[&Interaction],
    older: &FittedFeatures,
    params: &HybridParams,
) -> Option<u32> {
    let catalog = &older.catalog;
    let profile = &older.profiles[user];
    let relevant: HashSet<u32> = later.iter().filter(|event| event.is_relevant()).map(|event| event.item).collect();
    let candidates = retrieve(catalog, &params.retrieval, profile);
    let positives = candidates.iter().filter(|candidate| relevant.contains(&candidate.item)).count();
    if positives == 0 {
        return None;
    }
    let context = UserContext::new(catalog, profile);
    let negatives = candidates.len() - positives;
    let keep_negative = params.negatives_per_user as f64 / negatives.max(1) as f64;
    let mut row = [0.0f32; FEATURE_COUNT];
    let mut group = 0u32;
    for candidate in &candidates {
        let positive = relevant.contains(&candidate.item);
        // The user salts the draw, so each user's negatives are chosen independently.
        if !positive && unit_hash(params.seed ^ user as u64, u64::from(candidate.item)) >= keep_negative {
            continue;
        }
        let item = candidate.item as usize;
        fill_row(catalog, &context, item, candidate.svd_rating, candidate.implicit_score, &mut row);
        rows.push(&row, if positive { 1.0 } else { 0.0 });
        group += 1;
    }
    Some(group)
}

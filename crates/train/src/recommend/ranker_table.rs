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

/// Salts the hash that picks the ranker's validation users ("VALID" in ASCII), so that the
/// choice is independent of the other draws seeded with the same seed.
const VALID_SALT: u64 = 0x56_414c_4944;

/// The ranker's rows: the groups it is fitted on, and the groups of a seeded share of users
/// ([`HybridParams::ranker_valid_fraction`]) that early stopping watches instead (`None`
/// when that share is 0 or drew nobody).
#[derive(Clone, Debug)]
pub struct RankerTables {
    /// The groups the ranker is fitted on.
    pub fit: Table,
    /// The held-aside groups: never fitted on, only watched.
    pub valid: Option<Table>,
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
) -> Result<RankerTables, TrainError> {
    let mut labels_by_user: Vec<Vec<&Interaction>> = vec![Vec::new(); users];
    for event in labels {
        labels_by_user[event.user as usize].push(event);
    }
    let labelled_users = (0..users).filter(|&user| !labels_by_user[user].is_empty()).collect();
    let (mut rows, mut groups) = (LabelledRows::default(), Vec::new());
    let (mut valid_rows, mut valid_groups) = (LabelledRows::default(), Vec::new());
    for user in sample_users(labelled_users, params.max_ranker_users, params.seed) {
        let valid = unit_hash(params.seed ^ VALID_SALT, user as u64) < f64::from(params.ranker_valid_fraction);
        let (rows, groups) = if valid { (&mut valid_rows, &mut valid_groups) } else { (&mut rows, &mut groups) };
        if let Some(group) = add_user_group(rows, user, &labels_by_user[user], older, params) {
            groups.push(group);
        }
    }
    if groups.is_empty() {
        return Err(TrainError::InvalidData(
            "no user's later interactions were among their retrieved candidates; the data is too small to rank".into(),
        ));
    }
    let schema = ranker_schema(&older.catalog);
    let valid = if valid_groups.is_empty() {
        None
    } else {
        Some(Table::new(schema.clone(), valid_rows.features, valid_rows.labels, Some(valid_groups))?)
    };
    Ok(RankerTables { fit: Table::new(schema, rows.features, rows.labels, Some(groups))?, valid })
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
        fill_row(catalog, &context, candidate, &mut row);
        rows.push(&row, if positive { 1.0 } else { 0.0 });
        group += 1;
    }
    Some(group)
}

//! Offline evaluation: every model on the same split, with the same metrics, per
//! demographic group too, so that accuracy, cost and fairness gaps show side by side.

pub mod metrics;
pub mod models;
mod score_lists;

use std::collections::BTreeMap;

use serde::Serialize;

use marquee_model::recommend::Demographics;
use metrics::RatingErrors;
pub use metrics::{score_user, ExposureMetrics, RankingMetrics, UserScores};
pub use models::ListModel;
use score_lists::{score_lists, Audience, GroupLabels, ListScores};

use crate::recommend::{sample_users, user_demographics, Interactions, Split};

/// What an evaluation looks at.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EvaluationParams {
    /// The list length (k of the @k metrics).
    pub list_length: usize,
    /// The most users whose lists are ranked (a seeded sample beyond it); rating accuracy
    /// always uses every held-out rating.
    pub max_users: usize,
    /// Chooses the sample.
    pub seed: u64,
}

impl Default for EvaluationParams {
    fn default() -> Self {
        EvaluationParams { list_length: 20, max_users: 3_000, seed: 0 }
    }
}

/// One group's metrics (a gender, an age bucket, cold or warm users).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GroupReport {
    /// What the users have in common, e.g. `gender=F` or `age=25-34`.
    pub group: String,
    pub rmse: Option<f64>,
    pub mae: Option<f64>,
    pub ranking: RankingMetrics,
    pub exposure: ExposureMetrics,
}

/// One model's evaluation.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ModelReport {
    pub model: String,
    /// Held-out ratings scored (0 when the model predicts no ratings).
    pub rated: usize,
    pub rmse: Option<f64>,
    pub mae: Option<f64>,
    pub ranking: RankingMetrics,
    /// Users who had training history.
    pub warm_users: RankingMetrics,
    /// Users with no training history at all (demographics at most).
    pub cold_users: RankingMetrics,
    /// Held-out relevant interactions with movies that had no training interactions, and
    /// the share of them the lists caught.
    pub cold_movie_interactions: usize,
    pub cold_movie_hit_rate: f64,
    pub exposure: ExposureMetrics,
    /// By gender and by age bucket.
    pub groups: Vec<GroupReport>,
    pub train_seconds: f64,
    /// Mean time to make one user's list, on one thread.
    pub micros_per_user: f64,
    pub disk_bytes: usize,
    pub memory_bytes: usize,
}

/// Evaluates `model` on `split`. Relevant means watched, or rated 4 or more, in the test half.
pub fn evaluate_model(
    model: &dyn ListModel,
    data: &Interactions,
    split: &Split,
    params: &EvaluationParams,
) -> ModelReport {
    let users = data.users.len();
    let audience = Audience::of(data.movies.len(), users, &split.train);
    let labels = group_labels(data);
    let (errors, group_errors) = rating_errors(model, split, &labels);
    let relevant = relevant_by_user(split, users);
    let ranked_users = ranked_users(&relevant, params);
    let lists = score_lists(model, &ranked_users, &relevant, &split.cold_users, &labels, &audience, params.list_length);
    report(model, errors, &group_errors, lists, &audience)
}

/// The users whose lists an evaluation ranks: those with a relevant held-out movie, a
/// seeded sample of them beyond `params.max_users`.
fn ranked_users(relevant: &[Vec<u32>], params: &EvaluationParams) -> Vec<usize> {
    sample_users(
        (0..relevant.len()).filter(|&user| !relevant[user].is_empty()).collect(),
        params.max_users,
        params.seed,
    )
}

/// One evaluated user's list and its scores.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct UserList {
    /// The user's dense index in the data.
    pub user: usize,
    /// The model's list, best first (item indices).
    pub list: Vec<u32>,
    pub scores: UserScores,
}

/// The lists [`evaluate_model`] scores, one per user, for reports that need each user's
/// figures (bootstrap intervals) and the items' counts (popularity deciles).
#[derive(Clone, Debug, PartialEq)]
pub struct EvaluatedLists {
    /// The same users [`evaluate_model`] ranks, in ascending order.
    pub users: Vec<UserList>,
    /// Training interactions per item (the split's training part).
    pub training_counts: Vec<u64>,
    /// Relevant held-out interactions per item (watched, or rated 4 or more).
    pub relevant_counts: Vec<u64>,
}

/// Each evaluated user's `params.list_length`-long list from `model`, scored against their
/// relevant held-out movies: the users, lists and relevance of [`evaluate_model`].
pub fn evaluated_lists(
    model: &dyn ListModel,
    data: &Interactions,
    split: &Split,
    params: &EvaluationParams,
) -> EvaluatedLists {
    let items = data.movies.len();
    let relevant = relevant_by_user(split, data.users.len());
    let mut training_counts = vec![0u64; items];
    for event in &split.train {
        if let Some(count) = training_counts.get_mut(event.item as usize) {
            *count += 1;
        }
    }
    let mut relevant_counts = vec![0u64; items];
    for item in relevant.iter().flatten() {
        if let Some(count) = relevant_counts.get_mut(*item as usize) {
            *count += 1;
        }
    }
    let users = ranked_users(&relevant, params)
        .into_iter()
        .filter_map(|user| {
            let list = model.recommend(user, params.list_length);
            let scores = score_user(&list, &relevant[user], params.list_length)?;
            Some(UserList { user, list, scores })
        })
        .collect();
    EvaluatedLists { users, training_counts, relevant_counts }
}

/// Each user's two group labels: `gender=…` and `age=…`.
fn group_labels(data: &Interactions) -> Vec<GroupLabels> {
    data.users
        .iter()
        .map(|user| {
            let demographics = user_demographics(user, &[]);
            [
                format!("gender={}", demographics.gender_label()),
                format!("age={}", Demographics::age_label(&demographics)),
            ]
        })
        .collect()
}

/// Rating accuracy over every held-out rating, overall and per group; empty for a model
/// that predicts no ratings.
fn rating_errors(
    model: &dyn ListModel,
    split: &Split,
    labels: &[GroupLabels],
) -> (RatingErrors, BTreeMap<String, RatingErrors>) {
    let mut errors = RatingErrors::default();
    let mut group_errors: BTreeMap<String, RatingErrors> = BTreeMap::new();
    for event in &split.test {
        let Some(actual) = event.rating else { continue };
        let Some(predicted) = model.predict_rating(event.user as usize, event.item) else { break };
        errors.add(predicted, actual);
        for label in &labels[event.user as usize] {
            group_errors.entry(label.clone()).or_default().add(predicted, actual);
        }
    }
    (errors, group_errors)
}

/// The relevant held-out movies of each user.
fn relevant_by_user(split: &Split, users: usize) -> Vec<Vec<u32>> {
    let mut relevant: Vec<Vec<u32>> = vec![Vec::new(); users];
    for event in split.test.iter().filter(|event| event.is_relevant()) {
        relevant[event.user as usize].push(event.item);
    }
    relevant
}

/// The report from the measurements.
fn report(
    model: &dyn ListModel,
    errors: RatingErrors,
    group_errors: &BTreeMap<String, RatingErrors>,
    lists: ListScores,
    audience: &Audience,
) -> ModelReport {
    let groups = lists
        .groups
        .into_iter()
        .map(|(label, (sums, counts))| {
            let errors = group_errors.get(&label).copied().unwrap_or_default();
            GroupReport {
                group: label,
                rmse: errors.rmse(),
                mae: errors.mae(),
                ranking: sums.finish(),
                exposure: counts.finish(&audience.counts),
            }
        })
        .collect();
    let cold_movie_hit_rate = if lists.cold_movie_interactions > 0 {
        lists.cold_movie_hits as f64 / lists.cold_movie_interactions as f64
    } else {
        0.0
    };
    ModelReport {
        model: model.name(),
        rated: errors.count(),
        rmse: errors.rmse(),
        mae: errors.mae(),
        ranking: lists.all.finish(),
        warm_users: lists.warm.finish(),
        cold_users: lists.cold.finish(),
        cold_movie_interactions: lists.cold_movie_interactions,
        cold_movie_hit_rate,
        exposure: lists.exposure.finish(&audience.counts),
        groups,
        train_seconds: model.train_seconds(),
        micros_per_user: lists.micros_per_user,
        disk_bytes: model.disk_bytes(),
        memory_bytes: model.memory_bytes(),
    }
}

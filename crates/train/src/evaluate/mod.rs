//! Offline evaluation: every model on the same split, with the same metrics, per
//! demographic group too, so that accuracy, cost and fairness gaps show side by side.

pub mod metrics;
pub mod models;

use std::collections::BTreeMap;
use std::time::Instant;

use serde::Serialize;

use marquee_model::recommend::Demographics;
use metrics::{ExposureCounts, RankingSums, RatingErrors};
pub use metrics::{ExposureMetrics, RankingMetrics};
pub use models::ListModel;

use crate::recommend::{Interactions, Split};
use marquee_model::random::unit_hash;

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
    let items = data.movies.len();
    let users = data.users.len();
    let mut audience = vec![0u32; items];
    let mut train_users = vec![false; users];
    for event in &split.train {
        audience[event.item as usize] += 1;
        train_users[event.user as usize] = true;
    }
    let train_user_count = train_users.iter().filter(|&&active| active).count().max(1) as f64;
    let audience_share = |item: u32| (f64::from(audience[item as usize]) + 1.0) / (train_user_count + 1.0);
    let labels: Vec<[String; 2]> = data
        .users
        .iter()
        .map(|user| {
            let demographics = crate::recommend::user_demographics(user, &[]);
            [
                format!("gender={}", demographics.gender_label()),
                format!("age={}", Demographics::age_label(&demographics)),
            ]
        })
        .collect();
    // Rating accuracy over every held-out rating.
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

    // Ranking: the relevant held-out movies per user, for a seeded sample of users.
    let mut relevant: Vec<Vec<u32>> = vec![Vec::new(); users];
    for event in split.test.iter().filter(|event| event.is_relevant()) {
        relevant[event.user as usize].push(event.item);
    }
    let mut ranked_users: Vec<usize> = (0..users).filter(|&user| !relevant[user].is_empty()).collect();
    if ranked_users.len() > params.max_users {
        ranked_users.sort_by(|&a, &b| unit_hash(params.seed, a as u64).total_cmp(&unit_hash(params.seed, b as u64)));
        ranked_users.truncate(params.max_users);
        ranked_users.sort_unstable();
    }
    let k = params.list_length;
    let (mut all, mut warm, mut cold) = (RankingSums::default(), RankingSums::default(), RankingSums::default());
    let mut exposure = ExposureCounts::new(items);
    let (mut cold_movie_total, mut cold_movie_hits) = (0usize, 0usize);
    let mut group_sums: BTreeMap<String, (RankingSums, ExposureCounts)> = BTreeMap::new();
    let mut elapsed = 0.0f64;
    for &user in &ranked_users {
        let started = Instant::now();
        let list = model.recommend(user, k);
        elapsed += started.elapsed().as_secs_f64();
        let relevant = &relevant[user];
        all.add(&list, relevant, k);
        if split.cold_users.get(user).copied().unwrap_or(false) { &mut cold } else { &mut warm }
            .add(&list, relevant, k);
        exposure.add(&list, audience_share);
        for label in &labels[user] {
            let (sums, counts) =
                group_sums.entry(label.clone()).or_insert_with(|| (RankingSums::default(), ExposureCounts::new(items)));
            sums.add(&list, relevant, k);
            counts.add(&list, audience_share);
        }
        for &item in relevant.iter().filter(|&&item| audience[item as usize] == 0) {
            cold_movie_total += 1;
            cold_movie_hits += usize::from(list.contains(&item));
        }
    }
    let group_reports = group_sums
        .into_iter()
        .map(|(label, (sums, counts))| {
            let errors = group_errors.get(&label).copied().unwrap_or_default();
            GroupReport {
                group: label,
                rmse: errors.rmse(),
                mae: errors.mae(),
                ranking: sums.finish(),
                exposure: counts.finish(&audience),
            }
        })
        .collect();
    ModelReport {
        model: model.name(),
        rated: errors.count(),
        rmse: errors.rmse(),
        mae: errors.mae(),
        ranking: all.finish(),
        warm_users: warm.finish(),
        cold_users: cold.finish(),
        cold_movie_interactions: cold_movie_total,
        cold_movie_hit_rate: if cold_movie_total > 0 { cold_movie_hits as f64 / cold_movie_total as f64 } else { 0.0 },
        exposure: exposure.finish(&audience),
        groups: group_reports,
        train_seconds: model.train_seconds(),
        micros_per_user: if ranked_users.is_empty() { 0.0 } else { elapsed * 1e6 / ranked_users.len() as f64 },
        disk_bytes: model.disk_bytes(),
        memory_bytes: model.memory_bytes(),
    }
}

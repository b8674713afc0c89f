//! The ranking half of an evaluation: each sampled user's list, scored against their
//! relevant held-out movies, overall, for warm and cold users, and per group.

use std::collections::BTreeMap;
use std::time::Instant;

use super::metrics::{ExposureCounts, RankingSums};
use super::models::ListModel;
use crate::recommend::Interaction;

/// A user's group labels: `gender=…` and `age=…`.
pub(super) type GroupLabels = [String; 2];

/// How many training users interacted with each movie.
pub(super) struct Audience {
    /// Training interactions per movie.
    pub(super) counts: Vec<u32>,
    /// Users with any training interaction (at least 1, to divide by).
    train_users: f64,
}

impl Audience {
    pub(super) fn of(items: usize, users: usize, train: &[Interaction]) -> Self {
        let mut counts = vec![0u32; items];
        let mut train_users = vec![false; users];
        for event in train {
            counts[event.item as usize] += 1;
            train_users[event.user as usize] = true;
        }
        let train_users = train_users.iter().filter(|&&active| active).count().max(1) as f64;
        Audience { counts, train_users }
    }

    /// The share of training users who interacted with `item`, smoothed by one.
    fn share(&self, item: u32) -> f64 {
        (f64::from(self.counts[item as usize]) + 1.0) / (self.train_users + 1.0)
    }
}

/// The sums the ranking metrics are finished from.
pub(super) struct ListScores {
    pub(super) all: RankingSums,
    /// Users who had training history.
    pub(super) warm: RankingSums,
    /// Users with no training history at all.
    pub(super) cold: RankingSums,
    pub(super) exposure: ExposureCounts,
    /// Relevant held-out interactions with movies no training interaction touched.
    pub(super) cold_movie_interactions: usize,
    /// How many of those the lists caught.
    pub(super) cold_movie_hits: usize,
    /// Per group label: its ranking sums and exposure.
    pub(super) groups: BTreeMap<String, (RankingSums, ExposureCounts)>,
    /// The mean time to make one user's list, on one thread.
    pub(super) micros_per_user: f64,
}

/// Makes a `k`-long list for each of `users` and scores it against `relevant` (indexed by
/// user, like `cold_users` and `labels`).
pub(super) fn score_lists(
    model: &dyn ListModel,
    users: &[usize],
    relevant: &[Vec<u32>],
    cold_users: &[bool],
    labels: &[GroupLabels],
    audience: &Audience,
    k: usize,
) -> ListScores {
    let items = audience.counts.len();
    let mut scores = ListScores {
        all: RankingSums::default(),
        warm: RankingSums::default(),
        cold: RankingSums::default(),
        exposure: ExposureCounts::new(items),
        cold_movie_interactions: 0,
        cold_movie_hits: 0,
        groups: BTreeMap::new(),
        micros_per_user: 0.0,
    };
    let share = |item: u32| audience.share(item);
    let mut elapsed = 0.0f64;
    for &user in users {
        let started = Instant::now();
        let list = model.recommend(user, k);
        elapsed += started.elapsed().as_secs_f64();
        let relevant = &relevant[user];
        scores.all.add(&list, relevant, k);
        if cold_users.get(user).copied().unwrap_or(false) { &mut scores.cold } else { &mut scores.warm }
            .add(&list, relevant, k);
        scores.exposure.add(&list, share);
        for label in &labels[user] {
            let (sums, counts) = scores
                .groups
                .entry(label.clone())
                .or_insert_with(|| (RankingSums::default(), ExposureCounts::new(items)));
            sums.add(&list, relevant, k);
            counts.add(&list, share);
        }
        for &item in relevant.iter().filter(|&&item| audience.counts[item as usize] == 0) {
            scores.cold_movie_interactions += 1;
            scores.cold_movie_hits += usize::from(list.contains(&item));
        }
    }
    if !users.is_empty() {
        scores.micros_per_user = elapsed * 1e6 / users.len() as f64;
    }
    scores
}

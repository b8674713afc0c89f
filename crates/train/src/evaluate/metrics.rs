//! The metrics: rating error, ranking quality at k, and what the lists do to the catalog.

use serde::Serialize;

/// Sums for RMSE and MAE.
#[derive(Clone, Copy, Debug, Default)]
pub struct RatingErrors {
    count: usize,
    squared: f64,
    absolute: f64,
}

impl RatingErrors {
    pub fn add(&mut self, predicted: f32, actual: f32) {
        let error = f64::from(predicted) - f64::from(actual);
        self.count += 1;
        self.squared += error * error;
        self.absolute += error.abs();
    }

    pub fn count(&self) -> usize {
        self.count
    }

    pub fn rmse(&self) -> Option<f64> {
        (self.count > 0).then(|| (self.squared / self.count as f64).sqrt())
    }

    pub fn mae(&self) -> Option<f64> {
        (self.count > 0).then(|| self.absolute / self.count as f64)
    }
}

/// Ranking quality averaged over users.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct RankingMetrics {
    /// The users averaged over (each has at least one relevant held-out movie).
    pub users: usize,
    /// The share of users with at least one relevant movie in their list.
    pub hit_rate: f64,
    /// Binary-relevance NDCG at the list length.
    pub ndcg: f64,
    /// The mean reciprocal rank of the first relevant movie (0 when there is none).
    pub mrr: f64,
    /// The share of list positions holding a relevant movie.
    pub precision: f64,
}

/// Accumulates [`RankingMetrics`] one user at a time.
#[derive(Clone, Copy, Debug, Default)]
pub struct RankingSums {
    users: usize,
    hits: f64,
    ndcg: f64,
    reciprocal_rank: f64,
    precision: f64,
}

/// One user's list scored against their relevant movies.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct UserScores {
    /// Whether any relevant movie is in the list.
    pub hit: bool,
    /// Binary-relevance NDCG at k.
    pub ndcg: f64,
    /// 1 / the rank of the first relevant movie, 0 without one.
    pub reciprocal_rank: f64,
    /// Relevant movies in the list over k.
    pub precision: f64,
}

/// Scores one user's list (best first) against their relevant movies; `k` is the list
/// length asked for (precision divides by it, so short lists are not flattered). `None` for
/// a user with nothing relevant.
pub fn score_user(list: &[u32], relevant: &[u32], k: usize) -> Option<UserScores> {
    if relevant.is_empty() {
        return None;
    }
    let mut dcg = 0.0;
    let mut first_hit = None;
    let mut hits = 0usize;
    for (rank, item) in list.iter().take(k).enumerate() {
        if relevant.contains(item) {
            dcg += 1.0 / ((rank + 2) as f64).log2();
            hits += 1;
            first_hit.get_or_insert(rank);
        }
    }
    let ideal: f64 = (0..relevant.len().min(k)).map(|rank| 1.0 / ((rank + 2) as f64).log2()).sum();
    Some(UserScores {
        hit: hits > 0,
        ndcg: if ideal > 0.0 { dcg / ideal } else { 0.0 },
        reciprocal_rank: first_hit.map_or(0.0, |rank| 1.0 / (rank + 1) as f64),
        precision: hits as f64 / k.max(1) as f64,
    })
}

impl RankingSums {
    /// Adds one user's list (see [`score_user`]); a user with nothing relevant is skipped.
    pub fn add(&mut self, list: &[u32], relevant: &[u32], k: usize) {
        let Some(scores) = score_user(list, relevant, k) else { return };
        self.users += 1;
        self.hits += f64::from(u8::from(scores.hit));
        self.ndcg += scores.ndcg;
        self.reciprocal_rank += scores.reciprocal_rank;
        self.precision += scores.precision;
    }

    pub fn finish(&self) -> RankingMetrics {
        let n = self.users.max(1) as f64;
        RankingMetrics {
            users: self.users,
            hit_rate: self.hits / n,
            ndcg: self.ndcg / n,
            mrr: self.reciprocal_rank / n,
            precision: self.precision / n,
        }
    }
}

/// What the lists do to the catalog.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct ExposureMetrics {
    /// The share of the catalog that appears in at least one list.
    pub coverage: f64,
    /// The Gini coefficient of how often each catalog movie is shown (0 is perfectly even, 1
    /// is one movie shown to everyone).
    pub gini: f64,
    /// The mean self-information `−log2(share of users who watched it)` of the movies shown:
    /// higher means less obvious recommendations.
    pub novelty: f64,
    /// Pearson's correlation, over the catalog, between how often a movie is shown and how
    /// many users interacted with it in training: the feedback loop the original team found
    /// (0.945 there). Lower means the lists do less to make the popular more popular.
    pub popularity_correlation: f64,
}

/// Counts exposures per movie.
#[derive(Clone, Debug)]
pub struct ExposureCounts {
    shown: Vec<u64>,
    novelty_sum: f64,
    novelty_count: u64,
}

impl ExposureCounts {
    pub fn new(items: usize) -> Self {
        ExposureCounts { shown: vec![0; items], novelty_sum: 0.0, novelty_count: 0 }
    }

    /// Adds a list; `audience_share(item)` is the share of training users who watched it.
    pub fn add(&mut self, list: &[u32], audience_share: impl Fn(u32) -> f64) {
        for &item in list {
            if let Some(count) = self.shown.get_mut(item as usize) {
                *count += 1;
            }
            self.novelty_sum += -audience_share(item).log2();
            self.novelty_count += 1;
        }
    }

    /// The metrics; `audience[item]` is how many training users interacted with each movie.
    pub fn finish(&self, audience: &[u32]) -> ExposureMetrics {
        let items = self.shown.len().max(1) as f64;
        let covered = self.shown.iter().filter(|&&count| count > 0).count() as f64;
        let shown: Vec<f64> = self.shown.iter().map(|&count| count as f64).collect();
        let audience: Vec<f64> = audience.iter().map(|&count| f64::from(count)).collect();
        ExposureMetrics {
            coverage: covered / items,
            gini: gini(&self.shown),
            novelty: if self.novelty_count > 0 { self.novelty_sum / self.novelty_count as f64 } else { 0.0 },
            popularity_correlation: pearson(&shown, &audience),
        }
    }
}

/// Pearson's correlation of two equally long series (0 when either is constant).
pub fn pearson(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len().min(b.len());
    if n == 0 {
        return 0.0;
    }
    let (mean_a, mean_b) = (a[..n].iter().sum::<f64>() / n as f64, b[..n].iter().sum::<f64>() / n as f64);
    let (mut cov, mut var_a, mut var_b) = (0.0, 0.0, 0.0);
    for (x, y) in a[..n].iter().zip(&b[..n]) {
        cov += (x - mean_a) * (y - mean_b);
        var_a += (x - mean_a).powi(2);
        var_b += (y - mean_b).powi(2);
    }
    if var_a > 0.0 && var_b > 0.0 {
        cov / (var_a * var_b).sqrt()
    } else {
        0.0
    }
}

/// The Gini coefficient of non-negative counts, as the fairness report computes it.
pub use marquee_data::fairness::gini;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranking_metrics_match_hand_computed_values() {
        let mut sums = RankingSums::default();
        // Relevant at ranks 2 and 4 (1-based) of a 4-list, out of 3 relevant.
        sums.add(&[9, 1, 8, 2], &[1, 2, 3], 4);
        // No hit at all.
        sums.add(&[9, 8], &[5], 4);
        // A user with nothing relevant is skipped.
        sums.add(&[1], &[], 4);
        let metrics = sums.finish();
        assert_eq!(metrics.users, 2);
        assert!((metrics.hit_rate - 0.5).abs() < 1e-12);
        let dcg = 1.0 / 3f64.log2() + 1.0 / 5f64.log2();
        let ideal = 1.0 + 1.0 / 3f64.log2() + 1.0 / 4f64.log2();
        assert!((metrics.ndcg - dcg / ideal / 2.0).abs() < 1e-12);
        assert!((metrics.mrr - 0.25).abs() < 1e-12);
        assert!((metrics.precision - 0.25).abs() < 1e-12);
    }

    #[test]
    fn gini_is_zero_when_even_and_near_one_when_concentrated() {
        assert_eq!(gini(&[5, 5, 5, 5]), 0.0);
        assert!((gini(&[0, 0, 0, 100]) - 0.75).abs() < 1e-12);
        assert_eq!(gini(&[]), 0.0);
        let mut exposure = ExposureCounts::new(4);
        exposure.add(&[0, 1], |_| 0.5);
        let metrics = exposure.finish(&[9, 8, 1, 0]);
        assert_eq!(metrics.coverage, 0.5);
        assert!(metrics.popularity_correlation > 0.9, "shown the two popular ones");
        assert!((pearson(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]) + 1.0).abs() < 1e-12);
        assert_eq!(pearson(&[1.0, 1.0], &[1.0, 2.0]), 0.0);
        assert!((metrics.novelty - 1.0).abs() < 1e-12);
        let mut errors = RatingErrors::default();
        errors.add(4.0, 3.0);
        errors.add(2.0, 4.0);
        assert!((errors.rmse().unwrap() - 2.5f64.sqrt()).abs() < 1e-12);
        assert_eq!(errors.mae(), Some(1.5));
    }
}

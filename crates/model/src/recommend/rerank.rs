//! The last step: diversity and exploration on top of the ranker's order, to counter the
//! feedback loop in which the most-recommended movies become the most-watched ones.

use serde::{Deserialize, Serialize};

use super::catalog::dot;
use super::retrieve::CandidateSource;
use super::Catalog;
use crate::random::SplitMix64;
use crate::ModelError;

/// The reranker's knobs. All zero means "the ranker's order, untouched".
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct RerankParams {
    /// MMR's trade-off λ in `0..=1`: each pick maximises `(1 − λ)·relevance − λ·similarity`
    /// to the movies already picked. 0 turns diversity off.
    pub diversity: f32,
    /// How similarity mixes its two parts, in `0..=1`: 0 is genre overlap (Jaccard) alone,
    /// 1 is the cosine of the implicit factors alone.
    pub factor_similarity_weight: f32,
    /// Subtracted from a candidate's score per standard deviation of log popularity above
    /// the catalog's mean (and added below it). 0 turns the penalty off.
    pub popularity_penalty: f32,
    /// How many of the last positions go to exploration: movies from further down the
    /// ranked list, chosen by the request's seed, so that the click log learns about them.
    pub exploration_slots: usize,
    /// How far down the list (past the chosen ones) exploration picks from.
    pub exploration_depth: usize,
}

impl Default for RerankParams {
    fn default() -> Self {
        RerankParams {
            diversity: 0.1,
            factor_similarity_weight: 0.5,
            popularity_penalty: 0.05,
            exploration_slots: 1,
            exploration_depth: 40,
        }
    }
}

impl RerankParams {
    /// The ranker's order with nothing changed.
    pub fn off() -> Self {
        RerankParams {
            diversity: 0.0,
            factor_similarity_weight: 0.0,
            popularity_penalty: 0.0,
            exploration_slots: 0,
            exploration_depth: 0,
        }
    }

    /// Refuses knobs outside their ranges (and any NaN).
    pub fn validate(&self) -> Result<(), ModelError> {
        let unit = |value: f32| (0.0..=1.0).contains(&value);
        if !unit(self.diversity) || !unit(self.factor_similarity_weight) {
            return Err(ModelError::InvalidModel("diversity and factor_similarity_weight must be in 0..=1".into()));
        }
        if !(self.popularity_penalty.is_finite() && self.popularity_penalty >= 0.0) {
            return Err(ModelError::InvalidModel("popularity_penalty must be a finite number >= 0".into()));
        }
        if self.exploration_slots > 5 || self.exploration_depth > 1_000 {
            return Err(ModelError::InvalidModel("at most 5 exploration slots, at most 1000 deep".into()));
        }
        Ok(())
    }
}

/// A scored candidate going into the reranker.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Scored {
    /// The catalog index.
    pub item: u32,
    /// The ranker's score (higher is better).
    pub score: f32,
    /// Where the candidate came from.
    pub source: CandidateSource,
}

/// Picks `count` of `scored` (in any order on input): popularity penalty, then MMR, then
/// the exploration slots, which take the last positions. `seed` chooses the explored movies.
pub fn rerank(catalog: &Catalog, params: &RerankParams, scored: &[Scored], count: usize, seed: u64) -> Vec<Scored> {
    let std = if catalog.log_watchers_std > 0.0 { catalog.log_watchers_std } else { 1.0 };
    let mut pool: Vec<Scored> = scored
        .iter()
        .map(|candidate| {
            let log_watchers = catalog.movies.get(candidate.item as usize).map_or(0.0, |movie| movie.log_watchers);
            let z = (log_watchers - catalog.log_watchers_mean) / std;
            let score = if candidate.score.is_nan() { f32::MIN } else { candidate.score };
            Scored { score: score - params.popularity_penalty * z, ..*candidate }
        })
        .collect();
    pool.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.item.cmp(&b.item)));

    let count = count.min(pool.len());
    let explore = params.exploration_slots.min(count).min(pool.len() - count);
    let exploit = count - explore;
    let mut chosen =
        if params.diversity > 0.0 { mmr(catalog, params, &mut pool, exploit) } else { take(&mut pool, exploit) };

    // Exploration: from the next `exploration_depth` of what is left, by the seed.
    let mut random = SplitMix64::new(seed);
    for _ in 0..explore {
        let depth = params.exploration_depth.clamp(1, pool.len().max(1)).min(pool.len());
        if depth == 0 {
            break;
        }
        let picked = pool.remove(random.below(depth));
        chosen.push(Scored { source: CandidateSource::Exploration, ..picked });
    }
    chosen
}

fn take(pool: &mut Vec<Scored>, count: usize) -> Vec<Scored> {
    pool.drain(..count.min(pool.len())).collect()
}

/// Maximal marginal relevance over the best `5 × count` of `pool` (sorted, best first);
/// the picks are removed from `pool`.
fn mmr(catalog: &Catalog, params: &RerankParams, pool: &mut Vec<Scored>, count: usize) -> Vec<Scored> {
    let window = pool.len().min(count.saturating_mul(5).max(count));
    let (best, worst) =
        (pool.first().map_or(0.0, |c| c.score), pool.get(window.saturating_sub(1)).map_or(0.0, |c| c.score));
    let spread = if best > worst { best - worst } else { 1.0 };
    // Per candidate of the window: its highest similarity to the picks so far, and whether
    // it is still open (not picked).
    let mut max_similarity = vec![0.0f32; window];
    let mut open: Vec<bool> = vec![true; window];
    let mut chosen = Vec::with_capacity(count);
    for _ in 0..count.min(window) {
        let mut best_index = None;
        let mut best_value = f32::NEG_INFINITY;
        for (index, ((candidate, &is_open), &similar)) in pool.iter().zip(&open).zip(&max_similarity).enumerate() {
            if !is_open {
                continue;
            }
            let relevance = (candidate.score - worst) / spread;
            let value = (1.0 - params.diversity) * relevance - params.diversity * similar;
            if value > best_value {
                best_value = value;
                best_index = Some(index);
            }
        }
        let Some(picked) = best_index else { break };
        let (Some(is_open), Some(&pick)) = (open.get_mut(picked), pool.get(picked)) else { break };
        *is_open = false;
        chosen.push(pick);
        for ((candidate, &is_open), most_similar) in pool.iter().zip(&open).zip(max_similarity.iter_mut()) {
            if is_open {
                let similarity = similarity(catalog, params, pick.item as usize, candidate.item as usize);
                if similarity > *most_similar {
                    *most_similar = similarity;
                }
            }
        }
    }
    // Past the window every candidate stays.
    let mut open = open.into_iter();
    pool.retain(|_| open.next().unwrap_or(true));
    chosen
}

/// Genre Jaccard and factor cosine, mixed by `factor_similarity_weight`.
fn similarity(catalog: &Catalog, params: &RerankParams, a: usize, b: usize) -> f32 {
    let (Some(movie_a), Some(movie_b)) = (catalog.movies.get(a), catalog.movies.get(b)) else { return 0.0 };
    let union = (movie_a.genre_mask | movie_b.genre_mask).count_ones();
    let jaccard =
        if union == 0 { 0.0 } else { (movie_a.genre_mask & movie_b.genre_mask).count_ones() as f32 / union as f32 };
    let cosine = match (catalog.implicit.row(a), catalog.implicit.row(b)) {
        (Some(x), Some(y)) => {
            let norms = (dot(x, x) * dot(y, y)).sqrt();
            if norms > 0.0 {
                (dot(x, y) / norms).max(0.0)
            } else {
                0.0
            }
        }
        _ => 0.0,
    };
    (1.0 - params.factor_similarity_weight) * jaccard + params.factor_similarity_weight * cosine
}

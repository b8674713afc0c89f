//! Stage 1: a few hundred candidates per user, from five sources, with the factorisation
//! and neighbour scores stage 2 needs.

use serde::{Deserialize, Serialize};

use super::{Catalog, UserProfile};
use crate::rank::top_k;

/// How many candidates each source contributes (before duplicates are merged).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetrievalParams {
    /// The best movies by the implicit factorisation's score, for users it knows.
    pub factor_candidates: usize,
    /// The best movies by the neighbour score of the user's history, for users with one.
    pub neighbour_candidates: usize,
    /// The most popular movies in the user's demographic segment.
    pub segment_candidates: usize,
    /// The most popular movies overall.
    pub popular_candidates: usize,
    /// The newest releases.
    pub new_release_candidates: usize,
}

impl Default for RetrievalParams {
    fn default() -> Self {
        RetrievalParams {
            factor_candidates: 200,
            neighbour_candidates: 200,
            segment_candidates: 100,
            popular_candidates: 50,
            new_release_candidates: 30,
        }
    }
}

impl RetrievalParams {
    /// The most candidates a request can produce; bounded so that a request's work is too.
    pub const MAX_TOTAL: usize = 5_000;

    /// Refuses a configuration whose total exceeds [`RetrievalParams::MAX_TOTAL`].
    pub fn validate(&self) -> Result<(), crate::ModelError> {
        let total = self
            .factor_candidates
            .saturating_add(self.neighbour_candidates)
            .saturating_add(self.segment_candidates)
            .saturating_add(self.popular_candidates)
            .saturating_add(self.new_release_candidates);
        if total == 0 || total > Self::MAX_TOTAL {
            return Err(crate::ModelError::InvalidModel(format!(
                "retrieval asks for {total} candidates; it must be 1 to {}",
                Self::MAX_TOTAL
            )));
        }
        Ok(())
    }
}

/// Which stage-1 source proposed a candidate (the first one, when several did).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CandidateSource {
    /// The implicit factorisation's best scores for the user.
    Factors,
    /// The item neighbours of the user's history.
    Neighbours,
    /// The user's demographic segment's most popular movies.
    Segment,
    /// The most popular movies overall.
    Popular,
    /// The newest releases.
    NewRelease,
    /// Placed by the reranker's exploration slot.
    Exploration,
}

impl CandidateSource {
    /// A short lowercase name for logs and JSON.
    pub fn name(self) -> &'static str {
        match self {
            CandidateSource::Factors => "factors",
            CandidateSource::Neighbours => "neighbours",
            CandidateSource::Segment => "segment",
            CandidateSource::Popular => "popular",
            CandidateSource::NewRelease => "new_release",
            CandidateSource::Exploration => "exploration",
        }
    }
}

/// One retrieved movie with the scores both factorisations and the neighbour lists give it
/// for this user, and its rank among the user's candidates by each.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Candidate {
    /// The catalog index.
    pub item: u32,
    /// The first source that proposed it.
    pub source: CandidateSource,
    /// The explicit factorisation's predicted rating ([`Catalog::svd_rating`]).
    pub svd_rating: f32,
    /// The implicit factorisation's score ([`Catalog::implicit_score`]).
    pub implicit_score: f32,
    /// The neighbour score of the user's history ([`Catalog::neighbour_scores`]).
    pub neighbour_score: f32,
    /// The neighbour score of the user's latest movies alone ([`UserProfile::recent`]).
    pub recent_neighbour_score: f32,
    /// The 0-based rank of `implicit_score` among the user's candidates (ties by order).
    pub implicit_rank: u32,
    /// The 0-based rank of `neighbour_score` among the user's candidates (ties by order).
    pub neighbour_rank: u32,
}

/// Stage 1 for `profile`: unseen movies from every source, each at most once, in source
/// order. Scores every catalog movie with the implicit factors when the user has them, and
/// by the neighbour lists when the user has a history.
pub fn retrieve(catalog: &Catalog, params: &RetrievalParams, profile: &UserProfile) -> Vec<Candidate> {
    let items = catalog.len();
    let mut taken = vec![0u64; items.div_ceil(64)];
    let mark = |taken: &mut [u64], item: usize| -> bool {
        match taken.get_mut(item / 64) {
            Some(word) if *word & (1 << (item % 64)) == 0 => {
                *word |= 1 << (item % 64);
                true
            }
            _ => false,
        }
    };
    for &item in &profile.seen {
        mark(&mut taken, item as usize);
    }
    let mut picked: Vec<(u32, CandidateSource)> = Vec::with_capacity(
        params.factor_candidates
            + params.neighbour_candidates
            + params.segment_candidates
            + params.popular_candidates
            + params.new_release_candidates,
    );

    let mut take_from =
        |list: &[u32], limit: usize, source: CandidateSource, picked: &mut Vec<(u32, CandidateSource)>| {
            let mut added = 0;
            for &item in list {
                if added == limit {
                    break;
                }
                if mark(&mut taken, item as usize) {
                    picked.push((item, source));
                    added += 1;
                }
            }
        };
    if !profile.implicit_factors.is_empty() && params.factor_candidates > 0 {
        let scores: Vec<f32> = (0..items).map(|item| catalog.implicit_score(&profile.implicit_factors, item)).collect();
        let best = best_unseen(scores, &profile.seen, params.factor_candidates, f32::NEG_INFINITY);
        take_from(&best, best.len(), CandidateSource::Factors, &mut picked);
    }
    let neighbour_scores = catalog.neighbour_scores(&profile.seen);
    let recent_scores = catalog.neighbours.sparse_scores(&profile.recent);
    if !profile.seen.is_empty() && !catalog.neighbours.is_empty() && params.neighbour_candidates > 0 {
        // Only movies the history points at: a zero score is no evidence at all.
        let best = best_unseen(neighbour_scores.clone(), &profile.seen, params.neighbour_candidates, 0.0);
        take_from(&best, best.len(), CandidateSource::Neighbours, &mut picked);
    }
    if let Some(segment) = catalog.segments.get(profile.demographics.segment()) {
        take_from(&segment.items, params.segment_candidates, CandidateSource::Segment, &mut picked);
    }
    take_from(&catalog.popular, params.popular_candidates, CandidateSource::Popular, &mut picked);
    take_from(&catalog.new_releases, params.new_release_candidates, CandidateSource::NewRelease, &mut picked);

    let mut candidates: Vec<Candidate> = picked
        .into_iter()
        .map(|(item, source)| Candidate {
            item,
            source,
            svd_rating: catalog.svd_rating(profile.svd_bias, &profile.svd_factors, item as usize),
            implicit_score: catalog.implicit_score(&profile.implicit_factors, item as usize),
            neighbour_score: neighbour_scores.get(item as usize).copied().unwrap_or(0.0),
            recent_neighbour_score: recent_scores
                .binary_search_by_key(&item, |&(movie, _)| movie)
                .ok()
                .and_then(|at| recent_scores.get(at))
                .map_or(0.0, |&(_, score)| score),
            implicit_rank: 0,
            neighbour_rank: 0,
        })
        .collect();
    rank_candidates(&mut candidates);
    candidates
}

/// The `count` best movies by `scores` that are not in `seen` and score above `floor`.
fn best_unseen(mut scores: Vec<f32>, seen: &[u32], count: usize, floor: f32) -> Vec<u32> {
    for &item in seen {
        if let Some(score) = scores.get_mut(item as usize) {
            *score = f32::NEG_INFINITY;
        }
    }
    let mut best = Vec::new();
    top_k(&scores, count, &mut best);
    best.into_iter()
        .filter(|&item| scores.get(item).is_some_and(|&score| score > floor))
        .map(|item| item as u32)
        .collect()
}

impl Candidate {
    /// `item` scored for `profile` outside retrieval (for the rating head and explanations
    /// of movies retrieval did not propose): both factorisations' and the neighbour score,
    /// with no ranks (`u32::MAX`).
    pub fn scored(catalog: &Catalog, profile: &UserProfile, item: u32, source: CandidateSource) -> Candidate {
        let index = item as usize;
        let score_from = |history: &[u32]| -> f32 {
            history
                .iter()
                .flat_map(|&seen| catalog.neighbours.of(seen as usize))
                .filter(|&(neighbour, _)| neighbour == item)
                .map(|(_, weight)| weight)
                .sum()
        };
        Candidate {
            item,
            source,
            svd_rating: catalog.svd_rating(profile.svd_bias, &profile.svd_factors, index),
            implicit_score: catalog.implicit_score(&profile.implicit_factors, index),
            neighbour_score: score_from(&profile.seen),
            recent_neighbour_score: score_from(&profile.recent),
            implicit_rank: u32::MAX,
            neighbour_rank: u32::MAX,
        }
    }
}

/// Fills each candidate's rank by implicit score and by neighbour score (0 is the best;
/// ties keep retrieval order, so the ranks are deterministic everywhere).
fn rank_candidates(candidates: &mut [Candidate]) {
    let mut order: Vec<usize> = (0..candidates.len()).collect();
    let score_of = |candidates: &[Candidate], index: usize, neighbour: bool| {
        candidates
            .get(index)
            .map_or(f32::NEG_INFINITY, |c| if neighbour { c.neighbour_score } else { c.implicit_score })
    };
    for neighbour in [false, true] {
        order.sort_by(|&a, &b| {
            score_of(candidates, b, neighbour).total_cmp(&score_of(candidates, a, neighbour)).then(a.cmp(&b))
        });
        for (rank, &index) in order.iter().enumerate() {
            if let Some(candidate) = candidates.get_mut(index) {
                if neighbour {
                    candidate.neighbour_rank = rank as u32;
                } else {
                    candidate.implicit_rank = rank as u32;
                }
            }
        }
    }
}

//! The catalog: everything the recommender knows about movies, shared by every user.
//!
//! It holds the movies' metadata and history aggregates, the item side of both matrix
//! factorisations, and the precomputed candidate lists (global, per segment, new releases).

use serde::{Deserialize, Serialize};

use super::neighbours::ItemNeighbours;
use super::segment::{GENRE_COUNT, SEGMENT_COUNT};
use crate::ModelError;

/// One movie as the ranker sees it. Unknown metadata is NaN (or `None`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CatalogMovie {
    /// The service's id, the one `/recommend` answers with.
    pub movie_id: String,
    /// The release year.
    pub year: f32,
    /// TMDB's popularity score.
    pub popularity: f32,
    /// TMDB's mean vote, on its ten-point scale.
    pub vote_average: f32,
    /// `ln(1 + TMDB's vote count)`.
    pub log_vote_count: f32,
    /// The running time in minutes.
    pub runtime: f32,
    /// An index into [`Catalog::languages`].
    pub language: Option<u16>,
    /// Bit `g` is set when the movie has genre `g`.
    pub genre_mask: u32,
    /// Days between the release date and [`Catalog::as_of_day`] (NaN when unknown).
    pub days_since_release: f32,
    /// `ln(1 + users who interacted with it)` in the training data.
    pub log_watchers: f32,
    /// `ln(1 + users who interacted with it in the last week of the training data)`.
    pub log_recent_watchers: f32,
    /// The mean training rating, NaN when it has none.
    pub mean_rating: f32,
}

/// The item side of a matrix factorisation: one bias and one factor row per catalog movie.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ItemFactors {
    /// The number of latent factors per movie.
    pub factors: usize,
    /// One bias per movie.
    pub bias: Vec<f32>,
    /// Row-major, movies × factors.
    pub vectors: Vec<f32>,
}

impl ItemFactors {
    /// The factor row of `item`, if it exists.
    pub fn row(&self, item: usize) -> Option<&[f32]> {
        let start = item.checked_mul(self.factors)?;
        self.vectors.get(start..start.checked_add(self.factors)?)
    }

    fn validate(&self, what: &'static str, items: usize) -> Result<(), ModelError> {
        if self.bias.len() != items {
            return Err(ModelError::LengthMismatch { what, expected: items, got: self.bias.len() });
        }
        let expected = items
            .checked_mul(self.factors)
            .ok_or_else(|| ModelError::InvalidModel(format!("{what}: {items} × {} is too large", self.factors)))?;
        if self.vectors.len() != expected {
            return Err(ModelError::LengthMismatch { what, expected, got: self.vectors.len() });
        }
        if self.bias.iter().chain(&self.vectors).any(|value| !value.is_finite()) {
            return Err(ModelError::InvalidModel(format!("{what} holds a non-finite number")));
        }
        Ok(())
    }
}

/// The most popular movies of one demographic segment, with their share of the segment's
/// interactions, most popular first.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SegmentList {
    /// Catalog indices of the segment's most popular movies, most popular first.
    pub items: Vec<u32>,
    /// Each movie's share of the segment's interactions, in the order of `items`.
    pub shares: Vec<f32>,
    /// The segment's genre affinity: the log ratio of its genre shares to everyone's.
    pub genre_affinity: Vec<f32>,
}

/// Everything about the movies, in the order of the dense item index.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Catalog {
    /// Every movie, at its dense item index.
    pub movies: Vec<CatalogMovie>,
    /// The day (since 1970-01-01) the training data ends: "now" for the movies' ages.
    pub as_of_day: i32,
    /// The occupation names the `user_occupation` codes index.
    pub occupations: Vec<String>,
    /// The language codes the `movie_language` codes index.
    pub languages: Vec<String>,
    /// The explicit factorisation's (biased SVD on ratings) global mean rating, μ.
    pub svd_global_mean: f32,
    /// The lowest rating the explicit factorisation predicts (predictions are clipped to it).
    pub svd_min_rating: f32,
    /// The highest rating the explicit factorisation predicts (predictions are clipped to it).
    pub svd_max_rating: f32,
    /// The explicit factorisation's item side.
    pub svd: ItemFactors,
    /// The implicit factorisation (BPR on interactions): retrieval's item side.
    pub implicit: ItemFactors,
    /// Item-to-item neighbour lists (EASE or item-kNN on interactions): the neighbourhood
    /// retrieval source and its ranker features. Empty when fitted without them.
    pub neighbours: ItemNeighbours,
    /// The most interacted-with movies overall, most first.
    pub popular: Vec<u32>,
    /// One list per demographic segment ([`SEGMENT_COUNT`] of them).
    pub segments: Vec<SegmentList>,
    /// The most recently released movies, newest first.
    pub new_releases: Vec<u32>,
    /// The mean of the movies' `log_watchers`, for the popularity penalty.
    pub log_watchers_mean: f32,
    /// The standard deviation of the movies' `log_watchers`, for the popularity penalty.
    pub log_watchers_std: f32,
}

impl Catalog {
    /// The number of movies.
    pub fn len(&self) -> usize {
        self.movies.len()
    }

    /// Whether the catalog has no movies.
    pub fn is_empty(&self) -> bool {
        self.movies.is_empty()
    }

    /// The explicit model's predicted rating of `item` by a user with this bias and these
    /// factors (empty factors: an unknown user, whose terms drop out as in Surprise).
    pub fn svd_rating(&self, user_bias: f32, user_factors: &[f32], item: usize) -> f32 {
        let mut estimate = self.svd_global_mean + user_bias + self.svd.bias.get(item).copied().unwrap_or(0.0);
        if let (Some(q), true) = (self.svd.row(item), user_factors.len() == self.svd.factors) {
            estimate += dot(user_factors, q);
        }
        if estimate < self.svd_min_rating {
            self.svd_min_rating
        } else if estimate > self.svd_max_rating {
            self.svd_max_rating
        } else {
            estimate
        }
    }

    /// The implicit model's score of `item` for a user with these factors (empty: the item
    /// bias alone, which ranks like popularity).
    pub fn implicit_score(&self, user_factors: &[f32], item: usize) -> f32 {
        let mut score = self.implicit.bias.get(item).copied().unwrap_or(0.0);
        if let (Some(q), true) = (self.implicit.row(item), user_factors.len() == self.implicit.factors) {
            score += dot(user_factors, q);
        }
        score
    }

    /// The neighbour score of every catalog movie for a user with this history (all 0 when
    /// the catalog has no neighbour lists or the history is empty).
    pub fn neighbour_scores(&self, history: &[u32]) -> Vec<f32> {
        let mut scores = vec![0.0f32; self.movies.len()];
        self.neighbours.score_history(history, &mut scores);
        scores
    }

    /// A hash of what profiles depend on: the movie ids in order and both factor shapes. A
    /// profile shard built for another catalog carries another fingerprint and is refused.
    pub fn fingerprint(&self) -> u64 {
        let mut hash = crate::hash::Fnv64::new();
        for movie in &self.movies {
            hash.write(movie.movie_id.as_bytes());
            hash.write(&[0]);
        }
        for value in [self.svd.factors, self.implicit.factors, self.occupations.len()] {
            hash.write(&(value as u64).to_le_bytes());
        }
        hash.finish()
    }

    /// Checks every invariant serving relies on, so a loaded catalog can be indexed freely.
    pub fn validate(&self) -> Result<(), ModelError> {
        let items = self.movies.len();
        if items == 0 {
            return Err(ModelError::InvalidModel("the catalog has no movies".into()));
        }
        if u32::try_from(items).is_err() {
            return Err(ModelError::InvalidModel(format!("{items} movies is more than a catalog holds")));
        }
        self.svd.validate("svd item factors", items)?;
        self.implicit.validate("implicit item factors", items)?;
        self.neighbours.validate(items)?;
        for (name, value) in [
            ("svd_global_mean", self.svd_global_mean),
            ("svd_min_rating", self.svd_min_rating),
            ("svd_max_rating", self.svd_max_rating),
            ("log_watchers_mean", self.log_watchers_mean),
            ("log_watchers_std", self.log_watchers_std),
        ] {
            if !value.is_finite() {
                return Err(ModelError::InvalidModel(format!("{name} is {value}, expected a finite number")));
            }
        }
        if self.svd_min_rating > self.svd_max_rating {
            return Err(ModelError::InvalidModel("svd_min_rating is above svd_max_rating".into()));
        }
        if self.segments.len() != SEGMENT_COUNT {
            return Err(ModelError::LengthMismatch {
                what: "segment lists",
                expected: SEGMENT_COUNT,
                got: self.segments.len(),
            });
        }
        let in_range = |list: &[u32]| list.iter().all(|&item| (item as usize) < items);
        if !in_range(&self.popular) || !in_range(&self.new_releases) {
            return Err(ModelError::InvalidModel("a candidate list names a movie outside the catalog".into()));
        }
        for segment in &self.segments {
            if !in_range(&segment.items) || segment.shares.len() != segment.items.len() {
                return Err(ModelError::InvalidModel("a segment list is malformed".into()));
            }
            if segment.genre_affinity.len() != GENRE_COUNT || segment.genre_affinity.iter().any(|v| !v.is_finite()) {
                return Err(ModelError::InvalidModel("a segment's genre affinity is malformed".into()));
            }
        }
        for movie in &self.movies {
            if movie.language.is_some_and(|code| usize::from(code) >= self.languages.len()) {
                return Err(ModelError::InvalidModel(format!("{}: unknown language code", movie.movie_id)));
            }
            if movie.genre_mask >> GENRE_COUNT != 0 {
                return Err(ModelError::InvalidModel(format!("{}: unknown genre bit", movie.movie_id)));
            }
        }
        Ok(())
    }
}

/// The dot product over the shorter of the two slices.
///
/// Eight running sums (lane `j` takes indices `j, j+8, ...`) break the add-latency chain so
/// the loop vectorises, and are combined in a fixed order at the end: float addition is not
/// associative, and a fixed order keeps the result bit-identical natively and in wasm.
pub(crate) fn dot(a: &[f32], b: &[f32]) -> f32 {
    let len = a.len().min(b.len());
    let (Some(a), Some(b)) = (a.get(..len), b.get(..len)) else { return 0.0 };
    let mut lanes = [0.0f32; 8];
    let mut chunks_a = a.chunks_exact(8);
    let mut chunks_b = b.chunks_exact(8);
    for (x, y) in (&mut chunks_a).zip(&mut chunks_b) {
        for ((lane, x), y) in lanes.iter_mut().zip(x).zip(y) {
            *lane += x * y;
        }
    }
    for ((lane, x), y) in lanes.iter_mut().zip(chunks_a.remainder()).zip(chunks_b.remainder()) {
        *lane += x * y;
    }
    ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) + ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]))
}

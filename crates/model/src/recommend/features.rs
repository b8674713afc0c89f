//! The ranker's features: one schema and one row builder, used by the trainer to build its
//! training rows and by serving to build request rows, so the two can never drift apart.

use super::retrieve::Candidate;
use super::segment::GENRE_COUNT;
use super::{Catalog, UserProfile};
use crate::gbdt::{Feature, FeatureKind, FeatureSchema};
use crate::hash::Fnv64;

/// Bumped whenever a feature is added, removed, reordered or computed differently.
pub const FEATURE_SCHEMA_VERSION: u16 = 3;

/// The ranker's columns, in order.
pub const FEATURE_NAMES: [&str; 24] = [
    "user_age",
    "user_gender",
    "user_occupation",
    "user_log_interactions",
    "user_mean_rating",
    "user_genre_affinity",
    "segment_genre_affinity",
    "segment_share",
    "movie_year",
    "movie_popularity",
    "movie_vote_average",
    "movie_log_vote_count",
    "movie_runtime",
    "movie_language",
    "movie_log_watchers",
    "movie_log_recent_watchers",
    "movie_mean_rating",
    "movie_days_since_release",
    "svd_rating",
    "implicit_score",
    "implicit_rank",
    "neighbour_score",
    "neighbour_rank",
    "recent_neighbour_score",
];

/// The number of ranker columns.
pub const FEATURE_COUNT: usize = FEATURE_NAMES.len();

/// The ranker's schema for a catalog: categorical kinds need the catalog's code counts.
pub fn ranker_schema(catalog: &Catalog) -> FeatureSchema {
    let features = FEATURE_NAMES
        .iter()
        .map(|&name| {
            let categories = match name {
                "user_gender" => Some(3),
                "user_occupation" => Some(catalog.occupations.len()),
                "movie_language" => Some(catalog.languages.len()),
                _ => None,
            };
            let kind = match categories {
                Some(count) => FeatureKind::Categorical { categories: count.clamp(1, u32::MAX as usize) as u32 },
                None => FeatureKind::Numeric,
            };
            Feature { name: name.to_owned(), kind }
        })
        .collect();
    FeatureSchema { features }
}

/// The hash a recommender blob's header carries: the schema version and the column names.
pub fn feature_schema_hash() -> u64 {
    let mut hash = Fnv64::new();
    hash.write(&FEATURE_SCHEMA_VERSION.to_le_bytes());
    for name in FEATURE_NAMES {
        hash.write(name.as_bytes());
        hash.write(&[0]);
    }
    hash.finish()
}

/// The per-request half of a row: everything that depends on the user alone, computed once
/// per request rather than once per candidate.
#[derive(Clone, Debug)]
pub struct UserContext<'a> {
    /// The user the rows are for.
    pub profile: &'a UserProfile,
    /// The user's demographic segment ([`crate::recommend::Demographics::segment`]).
    pub segment: usize,
    age: f32,
    gender: f32,
    occupation: f32,
    log_interactions: f32,
    /// The user's segment list as (movie, share), sorted by movie for lookups.
    segment_shares: Vec<(u32, f32)>,
}

impl<'a> UserContext<'a> {
    /// Computes the user's half of every row for `profile`, served with `catalog`.
    pub fn new(catalog: &Catalog, profile: &'a UserProfile) -> Self {
        let demographics = &profile.demographics;
        let segment = demographics.segment();
        let mut segment_shares: Vec<(u32, f32)> = catalog
            .segments
            .get(segment)
            .map(|list| list.items.iter().copied().zip(list.shares.iter().copied()).collect())
            .unwrap_or_default();
        // Stable, so a movie listed twice keeps its first share, as a linear search would.
        segment_shares.sort_by_key(|&(item, _)| item);
        segment_shares.dedup_by_key(|(item, _)| *item);
        UserContext {
            profile,
            segment,
            segment_shares,
            age: demographics.age.map_or(f32::NAN, f32::from),
            gender: demographics.gender.map_or(f32::NAN, |gender| f32::from(gender.code())),
            occupation: demographics.occupation.map_or(f32::NAN, f32::from),
            log_interactions: (profile.interactions as f32).ln_1p(),
        }
    }
}

/// Writes the ranker's row for `candidate` and this user into `row` (which must have
/// [`FEATURE_COUNT`] entries; extra entries are left alone, missing ones skipped).
///
/// The candidate's scores and ranks are taken as given because retrieval computed them; a
/// rank of `u32::MAX` (a movie scored outside retrieval) becomes a missing value.
pub fn fill_row(catalog: &Catalog, user: &UserContext<'_>, candidate: &Candidate, row: &mut [f32]) {
    let item = candidate.item as usize;
    let rank = |rank: u32| if rank == u32::MAX { f32::NAN } else { rank as f32 };
    let Some(movie) = catalog.movies.get(item) else {
        row.iter_mut().for_each(|value| *value = f32::NAN);
        return;
    };
    let segment = catalog.segments.get(user.segment);
    let genre_mean = |affinity: &[f32]| {
        if affinity.len() != GENRE_COUNT || movie.genre_mask == 0 {
            return f32::NAN;
        }
        let (mut sum, mut count, mut mask) = (0.0f32, 0u32, movie.genre_mask);
        while mask != 0 {
            // In range: the modulo, and the length check above.
            sum += affinity.get(mask.trailing_zeros() as usize % GENRE_COUNT).copied().unwrap_or(0.0);
            count += 1;
            mask &= mask - 1;
        }
        sum / count as f32
    };
    let segment_share = user
        .segment_shares
        .binary_search_by_key(&item, |&(candidate, _)| candidate as usize)
        .ok()
        .and_then(|at| user.segment_shares.get(at))
        .map_or(0.0, |&(_, share)| share);
    let values = [
        user.age,
        user.gender,
        user.occupation,
        user.log_interactions,
        user.profile.mean_rating,
        genre_mean(&user.profile.genre_affinity),
        segment.map_or(f32::NAN, |list| genre_mean(&list.genre_affinity)),
        segment_share,
        movie.year,
        movie.popularity,
        movie.vote_average,
        movie.log_vote_count,
        movie.runtime,
        movie.language.map_or(f32::NAN, f32::from),
        movie.log_watchers,
        movie.log_recent_watchers,
        movie.mean_rating,
        movie.days_since_release,
        candidate.svd_rating,
        candidate.implicit_score,
        rank(candidate.implicit_rank),
        candidate.neighbour_score,
        rank(candidate.neighbour_rank),
        candidate.recent_neighbour_score,
    ];
    for (slot, value) in row.iter_mut().zip(values) {
        *slot = value;
    }
}

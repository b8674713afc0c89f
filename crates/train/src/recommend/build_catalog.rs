//! The catalog from training interactions only: movie aggregates, candidate lists and the
//! item side of both factorisations.

use std::collections::HashMap;

use marquee_data::events::days_from_civil;
use marquee_data::records::TMDB_GENRES;
use marquee_data::Movie;
use marquee_model::mf::BiasedSvd;
use marquee_model::recommend::{Catalog, CatalogMovie, ItemFactors, ItemNeighbours, SegmentList, GENRE_COUNT};

use super::count_interactions::{count_interactions, InteractionCounts};
use super::interactions::{Interaction, Interactions};
use super::params::ValidCatalogParams;
use crate::mf::ImplicitFactors;

/// The most category codes a categorical feature may have (the GBDT engine's limit, less
/// one); rarer values beyond it become unknown.
const MAX_CODES: usize = 254;

const SECONDS_PER_DAY: i64 = 86_400;

/// Builds the catalog. `svd`, `implicit` and `neighbours` must be indexed like `data`.
pub fn build_catalog(
    data: &Interactions,
    train: &[Interaction],
    svd: &BiasedSvd,
    implicit: &ImplicitFactors,
    neighbours: ItemNeighbours,
    params: &ValidCatalogParams,
) -> Catalog {
    let p = params.params();
    let last_time = train.iter().map(|event| event.time).max().unwrap_or(0);
    let as_of_day = last_time.div_euclid(SECONDS_PER_DAY);
    let recent_from = last_time - p.recent_days * SECONDS_PER_DAY;
    let genre_masks: Vec<u32> = data.movies.iter().map(genre_mask).collect();
    let occupations = codes(data.users.iter().filter_map(|user| user.occupation.as_deref()));
    let languages = codes(data.movies.iter().filter_map(|movie| movie.original_language.as_deref()));
    let counts = count_interactions(data, train, &genre_masks, &occupations, recent_from);
    let movies = catalog_movies(data, &counts, &genre_masks, &languages, as_of_day);
    let (log_watchers_mean, log_watchers_std) = log_watchers_spread(&movies);
    Catalog {
        movies,
        as_of_day: as_of_day as i32,
        occupations,
        languages,
        svd_global_mean: svd.global_mean,
        svd_min_rating: svd.min_rating,
        svd_max_rating: svd.max_rating,
        svd: ItemFactors { factors: svd.factors, bias: svd.item_bias.clone(), vectors: svd.item_factors.clone() },
        implicit: ItemFactors {
            factors: implicit.item_factors.ncols(),
            bias: implicit.item_bias.clone(),
            vectors: implicit.item_factors.iter().copied().collect(),
        },
        neighbours,
        popular: most_watched(&counts.watchers, p.popular),
        segments: segment_lists(&counts, p.per_segment),
        new_releases: new_releases(data, as_of_day, p.new_releases),
        log_watchers_mean,
        log_watchers_std,
    }
}

/// Each movie's metadata features and training aggregates, as of `as_of_day`.
fn catalog_movies(
    data: &Interactions,
    counts: &InteractionCounts,
    genre_masks: &[u32],
    languages: &[String],
    as_of_day: i64,
) -> Vec<CatalogMovie> {
    data.movies
        .iter()
        .enumerate()
        .map(|(item, movie)| CatalogMovie {
            movie_id: movie.movie_id.clone(),
            year: movie.year.map_or(f32::NAN, f32::from),
            popularity: option(movie.popularity),
            vote_average: option(movie.vote_average),
            log_vote_count: movie.vote_count.map_or(f32::NAN, |count| (count as f32).ln_1p()),
            runtime: movie.runtime.map_or(f32::NAN, |minutes| minutes as f32),
            language: movie
                .original_language
                .as_deref()
                .and_then(|name| languages.binary_search_by(|code| code.as_str().cmp(name)).ok())
                .map(|code| code as u16),
            genre_mask: genre_masks[item],
            days_since_release: release_day(movie).map_or(f32::NAN, |day| (as_of_day - day) as f32),
            log_watchers: (counts.watchers[item] as f32).ln_1p(),
            log_recent_watchers: (counts.recent[item] as f32).ln_1p(),
            mean_rating: if counts.rating_count[item] > 0 {
                (counts.rating_sum[item] / f64::from(counts.rating_count[item])) as f32
            } else {
                f32::NAN
            },
        })
        .collect()
}

/// The `limit` most-watched movies (ties by index), leaving out movies nobody watched.
fn most_watched(watchers: &[u32], limit: usize) -> Vec<u32> {
    let mut order: Vec<u32> = (0..watchers.len() as u32).filter(|&item| watchers[item as usize] > 0).collect();
    order.sort_by_key(|&item| (std::cmp::Reverse(watchers[item as usize]), item));
    order.truncate(limit);
    order
}

/// Each segment's `limit` most-watched movies with their share of the segment's
/// interactions, and the segment's genre lift over everyone's.
fn segment_lists(counts: &InteractionCounts, limit: usize) -> Vec<SegmentList> {
    let all_total: f64 = counts.all_genres.iter().sum();
    counts
        .segment_counts
        .iter()
        .zip(&counts.segment_genres)
        .map(|(segment_counts, genres)| {
            let total: u32 = segment_counts.values().sum();
            let mut items: Vec<(u32, u32)> = segment_counts.iter().map(|(&item, &count)| (item, count)).collect();
            items.sort_by_key(|&(item, count)| (std::cmp::Reverse(count), item));
            items.truncate(limit);
            SegmentList {
                shares: items.iter().map(|&(_, count)| count as f32 / total.max(1) as f32).collect(),
                items: items.into_iter().map(|(item, _)| item).collect(),
                genre_affinity: genre_lift(genres, &counts.all_genres, all_total),
            }
        })
        .collect()
}

/// The `limit` latest movies released by `as_of_day` (ties by index).
fn new_releases(data: &Interactions, as_of_day: i64, limit: usize) -> Vec<u32> {
    let mut releases: Vec<(i64, u32)> = data
        .movies
        .iter()
        .enumerate()
        .filter_map(|(item, movie)| release_day(movie).map(|day| (day, item as u32)))
        .collect();
    releases.sort_by_key(|&(day, item)| (std::cmp::Reverse(day), item));
    releases.retain(|&(day, _)| day <= as_of_day);
    releases.truncate(limit);
    releases.into_iter().map(|(_, item)| item).collect()
}

/// The mean and standard deviation of the movies' `log_watchers`, for the reranker's
/// popularity penalty.
fn log_watchers_spread(movies: &[CatalogMovie]) -> (f32, f32) {
    let log_watchers: Vec<f64> = movies.iter().map(|movie| f64::from(movie.log_watchers)).collect();
    let count = log_watchers.len().max(1) as f64;
    let mean = log_watchers.iter().sum::<f64>() / count;
    let variance = log_watchers.iter().map(|value| (value - mean).powi(2)).sum::<f64>() / count;
    (mean as f32, variance.sqrt() as f32)
}

/// Bit `g` for each of the movie's genres that is one of TMDB's.
pub fn genre_mask(movie: &Movie) -> u32 {
    movie
        .genres
        .iter()
        .filter_map(|name| TMDB_GENRES.iter().position(|genre| genre.eq_ignore_ascii_case(name)))
        .fold(0, |mask, g| mask | 1 << g)
}

/// Spreads one interaction over the movie's genres.
pub(super) fn add_genres(mask: u32, counts: &mut [f64; GENRE_COUNT]) {
    let genres = mask.count_ones();
    if genres == 0 {
        return;
    }
    for (genre, count) in counts.iter_mut().enumerate() {
        if mask & (1 << genre) != 0 {
            *count += 1.0 / f64::from(genres);
        }
    }
}

/// Log lift of a group's genre shares over everyone's, shrunk towards 0 by a prior of ten
/// interactions so that a thin history does not swing it.
pub(super) fn genre_lift(counts: &[f64; GENRE_COUNT], all: &[f64; GENRE_COUNT], all_total: f64) -> Vec<f32> {
    const PRIOR: f64 = 10.0;
    let total: f64 = counts.iter().sum();
    (0..GENRE_COUNT)
        .map(|genre| {
            let global = (all[genre] + 1.0) / (all_total + GENRE_COUNT as f64);
            let share = (counts[genre] + PRIOR * global) / (total + PRIOR);
            (share / global).ln() as f32
        })
        .collect()
}

/// The sorted distinct values, keeping the most frequent ones when there are too many.
pub(super) fn codes<'a>(values: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for value in values {
        *counts.entry(value).or_default() += 1;
    }
    let mut by_count: Vec<(&str, usize)> = counts.into_iter().collect();
    by_count.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    by_count.truncate(MAX_CODES);
    let mut names: Vec<String> = by_count.into_iter().map(|(name, _)| name.to_owned()).collect();
    names.sort();
    names
}

fn option(value: Option<f64>) -> f32 {
    value.map_or(f32::NAN, |value| value as f32)
}

/// The release date in days since 1970 (`YYYY-MM-DD`, else the middle of the year).
fn release_day(movie: &Movie) -> Option<i64> {
    let parsed = movie.release_date.as_deref().and_then(|text| {
        let mut parts = text.trim().splitn(3, '-');
        let year: i64 = parts.next()?.parse().ok()?;
        let month: u32 = parts.next()?.parse().ok()?;
        let day: u32 = parts.next()?.get(..2)?.parse().ok()?;
        ((1..=12).contains(&month) && (1..=31).contains(&day)).then(|| days_from_civil(year, month, day))
    });
    parsed.or_else(|| movie.year.map(|year| days_from_civil(i64::from(year), 7, 1)))
}

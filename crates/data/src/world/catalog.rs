//! The movies: TMDB-like metadata, unique slug ids and each movie's hidden appeal.

use std::collections::HashSet;

use rand::Rng;
use rand_distr::{Distribution, Exp, WeightedAliasIndex};

use super::config::WorldConfig;
use super::names::{ADJECTIVES, LANGUAGES, NOUNS, SUFFIXES};
use super::tastes::{movie_taste, normal, MovieTaste, GENRES, GENRE_WEIGHTS};
use crate::events::civil_from_days;
use crate::records::Movie;

/// Draws every movie with its appeal.
pub(super) fn generate(config: &WorldConfig, rng: &mut impl Rng) -> (Vec<Movie>, Vec<MovieTaste>) {
    let count = config.movies as usize;
    let (start_year, _, _) = civil_from_days(config.start.unix_seconds().div_euclid(86_400));
    let genre_pick = WeightedAliasIndex::new(GENRE_WEIGHTS.to_vec()).ok();
    let languages = WeightedAliasIndex::new(LANGUAGES.iter().map(|l| l.1).collect()).ok();
    let age_years = Exp::new(1.0f64 / 11.0).ok();
    // Membership only: the set is never iterated, so its order cannot leak into the output.
    let mut taken = HashSet::with_capacity(count);
    // Spread the external ids so they look like real ones but stay distinct.
    let tmdb_stride = 7u64;
    let imdb_stride = (8_000_000 / count as u64).clamp(1, 300);

    let mut movies = Vec::with_capacity(count);
    let mut raw = Vec::with_capacity(count);
    for index in 0..count {
        let age = age_years.as_ref().map_or(5.0f64, |e| e.sample(rng)).floor() as i64;
        let year = (start_year - 1 - age).max(1920);
        let release_date = format!("{year:04}-{:02}-{:02}", rng.gen_range(1..=12), rng.gen_range(1..=28));
        let genre_count = match rng.gen_range(0..100) {
            0..=34 => 1,
            35..=74 => 2,
            _ => 3,
        };
        let mut genre_mask = 0u32;
        for _ in 0..genre_count * 4 {
            if genre_mask.count_ones() == genre_count {
                break;
            }
            genre_mask |= 1 << genre_pick.as_ref().map_or(6, |g| g.sample(rng));
        }
        let genres = (0..GENRES.len()).filter(|g| genre_mask & (1 << g) != 0).map(|g| GENRES[g].to_string()).collect();
        let title = title(rng);
        let (title, movie_id) = unique_slug(rng, title, year, &mut taken);
        // Heavy-tailed popularity (Pareto, shape 1.2), boosted for recent releases.
        let pareto = (1.0 - rng.gen::<f64>()).powf(-1.0 / 1.2);
        let popularity = (0.6 * pareto * (1.0 + 2.0 * (-(age as f64) / 4.0).exp())).min(5000.0);
        let vote_count = ((popularity.ln() * 1.3 + 3.0 + 0.8 * f64::from(normal(rng))).exp()).round().min(4.0e5) as u64;
        let vote_average = ((6.3 + 0.9 * f64::from(normal(rng))).clamp(1.0, 10.0) * 10.0).round() / 10.0;
        let runtime = (105.0 + 20.0 * normal(rng)).round().clamp(60.0, 240.0) as u32;
        let original_language = languages.as_ref().map_or("en", |l| LANGUAGES[l.sample(rng)].0).to_string();
        // TMDB writes 0 for an unknown budget or revenue.
        let budget = if rng.gen_bool(0.3) {
            0
        } else {
            ((15.5 + 1.2 * f64::from(normal(rng))).exp() as u64).min(400_000_000) / 1000 * 1000
        };
        let revenue = if budget == 0 || rng.gen_bool(0.1) {
            0
        } else {
            (budget as f64 * (0.2 * popularity.sqrt() + 0.5 * f64::from(normal(rng)).abs())) as u64
        };
        movies.push(Movie {
            movie_id,
            title,
            genres,
            year: u16::try_from(year).ok(),
            tmdb_id: Some(10 + index as u64 * tmdb_stride + rng.gen_range(0..tmdb_stride)),
            imdb_id: Some(format!("tt{:07}", 100_000 + index as u64 * imdb_stride + rng.gen_range(0..imdb_stride))),
            popularity: Some((popularity * 1000.0).round() / 1000.0),
            vote_average: Some(vote_average),
            vote_count: Some(vote_count),
            runtime: Some(runtime),
            release_date: Some(release_date),
            original_language: Some(original_language),
            budget: Some(budget),
            revenue: Some(revenue),
        });
        raw.push((genre_mask, vote_average, popularity.ln()));
    }
    let n = raw.len().max(1) as f64;
    let mean = raw.iter().map(|r| r.2).sum::<f64>() / n;
    let sd = (raw.iter().map(|r| (r.2 - mean).powi(2)).sum::<f64>() / n).sqrt().max(1e-6);
    let tastes =
        raw.into_iter().map(|(mask, vote, log_pop)| movie_taste(rng, mask, vote, ((log_pop - mean) / sd) as f32));
    let tastes = tastes.collect();
    (movies, tastes)
}

/// A title such as "The Silent Harbor" or "Kingdom of Fire".
fn title(rng: &mut impl Rng) -> String {
    let adjective = capitalize(ADJECTIVES[rng.gen_range(0..ADJECTIVES.len())]);
    let noun = capitalize(NOUNS[rng.gen_range(0..NOUNS.len())]);
    let other = capitalize(NOUNS[rng.gen_range(0..NOUNS.len())]);
    match rng.gen_range(0..6) {
        0 => format!("The {adjective} {noun}"),
        1 => format!("{noun} of {other}"),
        2 => format!("{adjective} {noun}"),
        3 => format!("The {noun}"),
        4 => format!("The {noun} and the {other}"),
        _ => format!("{adjective} {other} {noun}"),
    }
}

fn capitalize(word: &str) -> String {
    let mut chars = word.chars();
    chars.next().map_or_else(String::new, |first| first.to_ascii_uppercase().to_string() + chars.as_str())
}

/// The service's slug: lowercase words joined by `+`, then `+<year>`.
pub(super) fn slug(title: &str, year: i64) -> String {
    let mut slug = String::with_capacity(title.len() + 5);
    for word in title.split_whitespace() {
        let word: String = word.chars().filter(char::is_ascii_alphanumeric).map(|c| c.to_ascii_lowercase()).collect();
        if !word.is_empty() {
            slug.push_str(&word);
            slug.push('+');
        }
    }
    slug.push_str(&year.to_string());
    slug
}

/// Makes the title's slug unique by adding a sequel word, then a number, on collision.
fn unique_slug(rng: &mut impl Rng, title: String, year: i64, taken: &mut HashSet<String>) -> (String, String) {
    let mut candidate = title.clone();
    for attempt in 0u32.. {
        let id = slug(&candidate, year);
        if taken.insert(id.clone()) {
            return (candidate, id);
        }
        candidate = if attempt < 2 {
            format!("{title} {}", capitalize(SUFFIXES[rng.gen_range(0..SUFFIXES.len())]))
        } else {
            format!("{title} {}", attempt)
        };
    }
    unreachable!("the numbered titles are all distinct")
}

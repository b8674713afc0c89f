//! A synthetic ratings set shaped like MovieLens 100K (943 users, 1,682 movies, 100,000
//! ratings of 1–5 stars, every user with at least 20), written in ml-100k's own file format.
//!
//! It stands in for the real data set where that cannot be downloaded. Its ratings come
//! from biases, ten latent factors, a demographic genre taste and noise, so absolute RMSE
//! figures on it are not comparable with published MovieLens figures; ratios between
//! engines measured on the same folds are.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Result;
use marquee_model::random::SplitMix64;

const USERS: usize = 943;
const MOVIES: usize = 1_682;
const RATINGS: usize = 100_000;
const FACTORS: usize = 10;
const GENRES: usize = 19;
const OCCUPATIONS: [&str; 6] = ["student", "engineer", "educator", "writer", "programmer", "other"];

/// Writes `u.data`, `u.user` and `u.item` into `dir`.
pub fn write(dir: &Path, seed: u64) -> Result<()> {
    let mut rng = SplitMix64::new(seed);
    let genders: Vec<bool> = (0..USERS).map(|_| rng.unit_open_closed() < 0.29).collect();
    let ages: Vec<u32> = (0..USERS).map(|_| (32.0 + 11.0 * rng.standard_normal()).clamp(7.0, 73.0) as u32).collect();
    let user_bias: Vec<f64> = (0..USERS).map(|_| 0.4 * rng.standard_normal()).collect();
    let user_factors: Vec<f64> = (0..USERS * FACTORS).map(|_| 0.3 * rng.standard_normal()).collect();
    let item_factors: Vec<f64> = (0..MOVIES * FACTORS).map(|_| 0.3 * rng.standard_normal()).collect();
    let genre_masks: Vec<u32> = (0..MOVIES)
        .map(|_| (0..1 + rng.below(3)).fold(0u32, |mask, _| mask | 1 << (1 + rng.below(GENRES - 1))))
        .collect();
    // Popular movies are a little better liked, as in MovieLens.
    let popularity: Vec<f64> = (0..MOVIES).map(|rank| 1.0 / (rank as f64 + 10.0).powf(0.9)).collect();
    let item_bias: Vec<f64> =
        (0..MOVIES).map(|rank| 0.45 * rng.standard_normal() + 0.25 - rank as f64 / MOVIES as f64 * 0.5).collect();
    let gender_genre: Vec<f64> = (0..GENRES).map(|_| 0.25 * rng.standard_normal()).collect();

    // Activity: 20 each, the rest log-normally spread, at most 740 (the real set's maximum).
    const MOST: usize = 740;
    let weights: Vec<f64> = (0..USERS).map(|_| (0.9 * rng.standard_normal()).exp()).collect();
    let total: f64 = weights.iter().sum();
    let mut counts: Vec<usize> = weights
        .iter()
        .map(|weight| (20 + ((RATINGS - 20 * USERS) as f64 * weight / total) as usize).min(MOST))
        .collect();
    let mut assigned: usize = counts.iter().sum();
    while assigned < RATINGS {
        let user = rng.below(USERS);
        if counts[user] < MOST {
            counts[user] += 1;
            assigned += 1;
        }
    }
    let cumulative: Vec<f64> = popularity
        .iter()
        .scan(0.0, |sum, weight| {
            *sum += weight;
            Some(*sum)
        })
        .collect();
    let total_popularity = *cumulative.last().unwrap_or(&1.0);

    let mut data = String::new();
    for user in 0..USERS {
        let mut rated = std::collections::HashSet::new();
        while rated.len() < counts[user] {
            let target = rng.unit_open_closed() * total_popularity;
            let item = cumulative.partition_point(|&sum| sum < target).min(MOVIES - 1);
            if !rated.insert(item) {
                continue;
            }
            let dot: f64 =
                (0..FACTORS).map(|f| user_factors[user * FACTORS + f] * item_factors[item * FACTORS + f]).sum();
            let genre: f64 = (0..GENRES)
                .filter(|g| genre_masks[item] & (1 << g) != 0)
                .map(|g| if genders[user] { gender_genre[g] } else { -gender_genre[g] })
                .sum();
            let value = 3.55 + user_bias[user] + item_bias[item] + dot + genre + 0.85 * rng.standard_normal();
            let stars = value.round().clamp(1.0, 5.0) as u32;
            // 1997-09-20 to 1998-04-22, as the real set.
            let time = 874_724_710 + rng.below(18_500_000) as u64;
            writeln!(data, "{}\t{}\t{stars}\t{time}", user + 1, item + 1)?;
        }
    }
    std::fs::write(dir.join("u.data"), data)?;

    let mut users = String::new();
    for user in 0..USERS {
        let gender = if genders[user] { "F" } else { "M" };
        writeln!(users, "{}|{}|{gender}|{}|00000", user + 1, ages[user], OCCUPATIONS[user % OCCUPATIONS.len()])?;
    }
    std::fs::write(dir.join("u.user"), users)?;

    let mut items = String::new();
    for (item, mask) in genre_masks.iter().enumerate() {
        let year = 1930 + (item * 7919) % 68;
        let flags: Vec<&str> = (0..GENRES).map(|g| if mask & (1 << g) != 0 { "1" } else { "0" }).collect();
        writeln!(
            items,
            "{}|Movie {} ({year})|01-Jan-{year}||http://example.invalid|{}",
            item + 1,
            item + 1,
            flags.join("|")
        )?;
    }
    std::fs::write(dir.join("u.item"), items)?;
    Ok(())
}

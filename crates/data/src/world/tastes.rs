//! The hidden tastes that drive behaviour: per-user genre affinities and latent factors,
//! per-movie factors and quality. They are the world's ground truth.

use rand::Rng;
use rand_distr::StandardNormal;
use serde::{Deserialize, Serialize};

use crate::events::Timestamp;
use crate::records::Gender;

/// TMDB's 19 genre names: the world's movies draw their genres from these.
pub const GENRES: [&str; 19] = crate::records::TMDB_GENRES;

/// How often each of [`GENRES`] is drawn for a movie (Drama and Comedy most common).
pub(super) const GENRE_WEIGHTS: [f64; 19] =
    [8.0, 4.5, 3.0, 16.0, 5.0, 4.0, 22.0, 3.0, 3.0, 2.0, 6.0, 2.0, 3.0, 7.0, 3.0, 1.5, 8.0, 1.5, 1.0];

/// How much younger users (positive) or older users (negative) like each genre.
const YOUTH_SHIFT: [f32; 19] =
    [0.3, 0.25, 0.45, 0.15, 0.0, -0.3, -0.3, 0.1, 0.2, -0.45, 0.25, 0.1, -0.05, 0.0, 0.2, -0.1, 0.05, -0.3, -0.35];

/// How much women (positive) or men (negative) like each genre, relative to each other.
const GENDER_SHIFT: [f32; 19] =
    [-0.25, -0.1, 0.05, 0.05, -0.05, 0.05, 0.15, 0.2, 0.05, -0.1, -0.1, 0.15, 0.05, 0.4, -0.15, 0.1, 0.0, -0.3, -0.2];

/// The number of latent factors per user and movie.
pub const FACTORS: usize = 8;

/// How strongly a movie's popularity raises everyone's utility for it.
pub const POPULARITY_WEIGHT: f32 = 0.15;

/// The spread of latent factors; their dot product has a standard deviation near 0.55.
const FACTOR_SD: f32 = 0.45;

/// One user's hidden tastes and habits.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UserTaste {
    /// Affinity for each of [`GENRES`], roughly standard normal around demographic shifts.
    pub genre_affinity: [f32; 19],
    /// Latent factors, multiplied with a movie's in the utility.
    pub factors: [f32; FACTORS],
    /// Expected watch sessions per day while the account exists (heavy-tailed over users).
    pub activity: f32,
    /// The chance that the user rates a movie after watching it.
    pub rating_propensity: f32,
    /// When the account was created: before the window for most users, inside it for the rest.
    pub joined: Timestamp,
}

/// One movie's hidden appeal.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MovieTaste {
    /// Latent factors, multiplied with a user's in the utility.
    pub factors: [f32; FACTORS],
    /// How good the movie is to everyone (tracks its vote average).
    pub quality: f32,
    /// The standardized log popularity, weighted by [`POPULARITY_WEIGHT`] in the utility.
    pub popularity_bias: f32,
    /// Bit `g` is set when the movie has genre `GENRES[g]`.
    pub genre_mask: u32,
}

/// A user's utility for a movie: factors dot product, plus the mean genre affinity over the
/// movie's genres, plus quality, plus a popularity bias.
pub fn utility(user: &UserTaste, movie: &MovieTaste) -> f32 {
    let dot: f32 = user.factors.iter().zip(&movie.factors).map(|(a, b)| a * b).sum();
    let (mut affinity, mut count, mut mask) = (0.0f32, 0u32, movie.genre_mask);
    while mask != 0 {
        let genre = mask.trailing_zeros() as usize;
        affinity += user.genre_affinity.get(genre).copied().unwrap_or(0.0);
        count += 1;
        mask &= mask - 1;
    }
    let genre_term = if count == 0 { 0.0 } else { affinity / count as f32 };
    dot + genre_term + movie.quality + POPULARITY_WEIGHT * movie.popularity_bias
}

/// How many places a taste shift rotates every user's genre affinities: genre g takes the
/// affinity the user had for genre g + 7.
const SHIFT_ROTATION: usize = 7;

/// The genres a taste shift makes popular with everyone (Animation, Family, Fantasy,
/// Science Fiction), and by how much their affinity rises.
const SHIFT_BLOCK: [usize; 4] = [2, 7, 8, 14];
const SHIFT_BOOST: f32 = 2.0;

/// A user's tastes after a taste shift: genre preferences rotated, the block boosted;
/// factors and habits unchanged.
pub(super) fn shifted(taste: &UserTaste) -> UserTaste {
    let mut shifted = taste.clone();
    let count = GENRES.len();
    for (g, affinity) in shifted.genre_affinity.iter_mut().enumerate() {
        *affinity = taste.genre_affinity[(g + SHIFT_ROTATION) % count];
        if SHIFT_BLOCK.contains(&g) {
            *affinity += SHIFT_BOOST;
        }
    }
    shifted
}

pub(super) fn normal(rng: &mut impl Rng) -> f32 {
    rng.sample::<f32, _>(StandardNormal)
}

/// Draws a user's tastes, shifted by age and gender; `joined` and habits are set by the caller.
pub(super) fn user_taste(rng: &mut impl Rng, age: Option<u8>, gender: Option<Gender>) -> UserTaste {
    // +1 for teenagers, 0 around 33, -1 from about 50 on.
    let youth = age.map_or(0.0, |a| ((33.0 - f32::from(a)) / 16.0).clamp(-1.0, 1.0));
    let femininity = match gender {
        Some(Gender::Female) => 1.0,
        Some(Gender::Male) => -0.6,
        _ => 0.0,
    };
    let mut genre_affinity = [0.0f32; 19];
    for (g, affinity) in genre_affinity.iter_mut().enumerate() {
        *affinity = 0.6 * normal(rng) + 1.4 * youth * YOUTH_SHIFT[g] + femininity * GENDER_SHIFT[g] * 1.2;
    }
    let mut factors = [0.0f32; FACTORS];
    for factor in &mut factors {
        *factor = FACTOR_SD * normal(rng);
    }
    // Factor 0 doubles as a "blockbuster" axis that younger users lean into.
    factors[0] += 0.2 * youth;
    UserTaste { genre_affinity, factors, activity: 0.0, rating_propensity: 0.0, joined: Timestamp(0) }
}

/// Draws a movie's factors and quality from its genres and vote average.
pub(super) fn movie_taste(rng: &mut impl Rng, genre_mask: u32, vote_average: f64, log_popularity_z: f32) -> MovieTaste {
    let mut factors = [0.0f32; FACTORS];
    for factor in &mut factors {
        *factor = FACTOR_SD * normal(rng);
    }
    let blockbuster = (1 << 0) | (1 << 1) | (1 << 2) | (1 << 14);
    if genre_mask & blockbuster != 0 {
        factors[0] += 0.3;
    }
    let quality = 0.5 * ((vote_average as f32 - 6.3) / 0.9) + 0.2 * normal(rng);
    MovieTaste { factors, quality, popularity_bias: log_popularity_z, genre_mask }
}

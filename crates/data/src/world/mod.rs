//! The built-in synthetic world: a deterministic imitation of the movie service, so that
//! training, serving and evaluation have something real to learn from.
//!
//! [`World::generate`] draws users (demographics skewed like a real service's), a catalog
//! with TMDB-like metadata, and hidden tastes (genre affinities and latent factors, shifted
//! by age and gender). [`World::simulate`] then plays `days` days of sessions through the
//! service's stream format, and [`World::write_to`] writes everything a user would bring.
//! [`World::load_truth`] reads a written world back, and [`online`] lets its users visit a
//! recommender after the window (`marquee simulate`).
//!
//! ```no_run
//! use marquee_data::world::{World, WorldConfig};
//! let world = World::generate(WorldConfig { users: 1000, movies: 500, ..WorldConfig::default() })?;
//! let stats = world.write_to(std::path::Path::new("out"), |day| eprintln!("day {day} done"))?;
//! println!("{} stream lines", stats.lines);
//! # Ok::<(), marquee_data::DataError>(())
//! ```

mod catalog;
mod config;
mod malformed;
mod names;
pub mod online;
mod population;
mod simulate;
mod tastes;
mod truth;
mod write;

use std::collections::HashMap;
use std::path::PathBuf;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, WeightedAliasIndex};

pub use config::{DriftKind, WorldConfig, WorldDrift, MAX_DAYS, MAX_MOVIES, MAX_USERS};
pub use online::{ClickModel, OnlineConfig, OnlineSimulator, OnlineSummary, Served, LIST_LENGTH};
pub use simulate::WorldStats;
pub use tastes::{MovieTaste, UserTaste, FACTORS, GENRES, POPULARITY_WEIGHT};

use crate::error::DataError;
use crate::events::UserId;
use crate::records::{Movie, User};

// Separate ChaCha streams per purpose, so that changing one step leaves the others' draws alone.
const STREAM_USERS: u64 = 1;
const STREAM_MOVIES: u64 = 2;
const STREAM_EMIT: u64 = 3;
const STREAM_COHORT: u64 = 4;
const STREAM_DAYS: u64 = 1000;

fn rng(seed: u64, stream: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream);
    rng
}

/// A generated world: its users, movies and their hidden tastes (the ground truth).
pub struct World {
    /// The options it was generated from; regenerating from them gives the same world.
    pub config: WorldConfig,
    /// The users, in increasing user-id order.
    pub users: Vec<User>,
    /// The movies, with TMDB-like metadata.
    pub movies: Vec<Movie>,
    /// Each user's hidden tastes and habits, parallel to `users`.
    pub user_tastes: Vec<UserTaste>,
    /// Each movie's hidden appeal, parallel to `movies`.
    pub movie_tastes: Vec<MovieTaste>,
    /// With a taste shift: each user's tastes from the drift day on, parallel to `users`.
    shifted_tastes: Option<Vec<UserTaste>>,
    popularity: WeightedAliasIndex<f64>,
    /// Per genre: its movies and an alias table over their popularity.
    by_genre: Vec<Option<(Vec<u32>, WeightedAliasIndex<f64>)>>,
    movie_index: HashMap<String, u32>,
}

impl std::fmt::Debug for World {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("World")
            .field("config", &self.config)
            .field("users", &self.users.len())
            .field("movies", &self.movies.len())
            .finish_non_exhaustive()
    }
}

impl World {
    /// Generates the users, movies and their latent tastes (no events yet: see
    /// [`World::simulate`]). Fails if the config does not validate.
    pub fn generate(config: WorldConfig) -> Result<World, DataError> {
        config.validate().map_err(|reason| DataError::Invalid { path: PathBuf::from("world config"), reason })?;
        let (mut users, mut user_tastes) = population::generate(&config, &mut rng(config.seed, STREAM_USERS));
        if let Some(WorldDrift { kind: DriftKind::NewCohort, after_days }) = config.drift {
            population::add_cohort(
                &config,
                after_days,
                &mut users,
                &mut user_tastes,
                &mut rng(config.seed, STREAM_COHORT),
            );
        }
        let (movies, movie_tastes) = catalog::generate(&config, &mut rng(config.seed, STREAM_MOVIES));
        let weight = |m: &Movie| m.popularity.unwrap_or(1.0).max(1e-3);
        let invalid = |e: rand_distr::WeightedError| DataError::Invalid {
            path: PathBuf::from("world config"),
            reason: format!("cannot build the popularity table: {e}"),
        };
        let popularity = WeightedAliasIndex::new(movies.iter().map(weight).collect()).map_err(invalid)?;
        let by_genre = (0..GENRES.len())
            .map(|g| {
                let members: Vec<u32> =
                    (0..movies.len() as u32).filter(|&m| movie_tastes[m as usize].genre_mask & (1 << g) != 0).collect();
                let weights = members.iter().map(|&m| weight(&movies[m as usize])).collect();
                WeightedAliasIndex::new(weights).ok().map(|table| (members, table))
            })
            .collect();
        let movie_index = movies.iter().enumerate().map(|(i, m)| (m.movie_id.clone(), i as u32)).collect();
        let mut world = World {
            config,
            users,
            movies,
            user_tastes,
            movie_tastes,
            shifted_tastes: None,
            popularity,
            by_genre,
            movie_index,
        };
        world.shift_tastes();
        Ok(world)
    }

    /// Derives the tastes after a taste shift from `user_tastes` (again, after a loader
    /// replaces them).
    fn shift_tastes(&mut self) {
        self.shifted_tastes = match self.config.drift {
            Some(WorldDrift { kind: DriftKind::TasteShift, .. }) => {
                Some(self.user_tastes.iter().map(tastes::shifted).collect())
            }
            _ => None,
        };
    }

    /// Each user's tastes on `day` of the window (0-based): `user_tastes`, or after a taste
    /// shift has started, the shifted ones.
    fn tastes_on(&self, day: u32) -> &[UserTaste] {
        match (&self.shifted_tastes, self.config.drift) {
            (Some(shifted), Some(drift)) if day >= drift.after_days => shifted,
            _ => &self.user_tastes,
        }
    }

    /// A user's utility for a movie (by their indices in `users` and `movies`) at the end of
    /// the window (after a taste shift, with the shifted tastes): latent factors' dot product
    /// plus mean genre affinity plus quality plus a popularity bias. Higher means likelier to
    /// be chosen, watched to the end and rated well; it is roughly standard normal.
    ///
    /// # Panics
    /// If either index is out of range.
    pub fn utility(&self, user_index: usize, movie_index: usize) -> f32 {
        let tastes = self.tastes_on(self.config.days);
        tastes::utility(&tastes[user_index], &self.movie_tastes[movie_index])
    }

    /// The index in `users` of a user id, if the world has that user.
    pub fn user_index(&self, user_id: UserId) -> Option<usize> {
        self.users.binary_search_by_key(&user_id, |u| u.user_id).ok()
    }

    /// The index in `movies` of a movie id (slug), if the world has that movie.
    pub fn movie_index(&self, movie_id: &str) -> Option<usize> {
        self.movie_index.get(movie_id).map(|&i| i as usize)
    }

    /// A movie drawn in proportion to its popularity.
    fn popular_movie(&self, rng: &mut impl Rng) -> u32 {
        self.popularity.sample(rng) as u32
    }

    /// A movie of the genre drawn in proportion to its popularity, if the genre has any.
    fn genre_movie(&self, rng: &mut impl Rng, genre: usize) -> Option<u32> {
        let (members, table) = self.by_genre.get(genre)?.as_ref()?;
        members.get(table.sample(rng)).copied()
    }
}

#[cfg(test)]
mod tests;

//! Owned records: users, movies and ratings, whatever source they came from.

use serde::{Deserialize, Serialize};

use crate::events::{Timestamp, UserId};

/// TMDB's 19 genre names, in TMDB's alphabetical order.
pub const TMDB_GENRES: [&str; 19] = [
    "Action",
    "Adventure",
    "Animation",
    "Comedy",
    "Crime",
    "Documentary",
    "Drama",
    "Family",
    "Fantasy",
    "History",
    "Horror",
    "Music",
    "Mystery",
    "Romance",
    "Science Fiction",
    "TV Movie",
    "Thriller",
    "War",
    "Western",
];

/// A user's gender as the metadata API reports it (`M`/`F`), or anything else it says.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Gender {
    Male,
    Female,
    Other,
}

impl Gender {
    /// Reads `M`/`F` (or `male`/`female`, any case); other non-empty text is [`Gender::Other`].
    pub fn parse(text: &str) -> Option<Gender> {
        let text = text.trim();
        if text.eq_ignore_ascii_case("m") || text.eq_ignore_ascii_case("male") {
            Some(Gender::Male)
        } else if text.eq_ignore_ascii_case("f") || text.eq_ignore_ascii_case("female") {
            Some(Gender::Female)
        } else if text.is_empty() {
            None
        } else {
            Some(Gender::Other)
        }
    }

    /// The one-letter code the CSV triple and the API use.
    pub fn code(self) -> &'static str {
        match self {
            Gender::Male => "M",
            Gender::Female => "F",
            Gender::Other => "O",
        }
    }
}

/// A user and whatever demographics are known.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct User {
    pub user_id: UserId,
    pub age: Option<u8>,
    pub gender: Option<Gender>,
    pub occupation: Option<String>,
}

/// A movie and its TMDB-style metadata; every field but the id and title may be unknown.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Movie {
    /// The service's id: a slug such as `the+shawshank+redemption+1994`.
    pub movie_id: String,
    pub title: String,
    /// Genre names, e.g. `Drama`, in the source's order.
    pub genres: Vec<String>,
    pub year: Option<u16>,
    pub tmdb_id: Option<u64>,
    pub imdb_id: Option<String>,
    pub popularity: Option<f64>,
    pub vote_average: Option<f64>,
    pub vote_count: Option<u64>,
    /// Minutes.
    pub runtime: Option<u32>,
    /// `YYYY-MM-DD` as TMDB writes it.
    pub release_date: Option<String>,
    pub original_language: Option<String>,
    pub budget: Option<u64>,
    pub revenue: Option<u64>,
}

/// One explicit rating, on Marquee's common scale of up to five stars (half stars allowed,
/// as in ml-latest; ten-star streams are converted on the way in).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Rating {
    pub user_id: UserId,
    pub movie_id: String,
    pub rating: f32,
    pub time: Timestamp,
}

/// Everything a tabular source (MovieLens, the CSV triple) holds.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Dataset {
    pub users: Vec<User>,
    pub movies: Vec<Movie>,
    pub ratings: Vec<Rating>,
}

/// Distinct user ids of the ratings, ascending, as users with no demographics.
pub(crate) fn users_from_ratings(ratings: &[Rating]) -> Vec<User> {
    let mut ids: Vec<UserId> = ratings.iter().map(|rating| rating.user_id).collect();
    ids.sort_unstable();
    ids.dedup();
    ids.into_iter().map(|user_id| User { user_id, ..User::default() }).collect()
}

//! Every source's data in one shape: users and movies with dense indices, and one
//! interaction per (user, movie) pair that merges its watch sessions and its rating.

use std::collections::HashMap;

use marquee_data::{Movie, Rating, Timestamp, User, UserId};

use crate::TrainError;

/// One user's history with one movie.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Interaction {
    pub user: u32,
    pub item: u32,
    /// The first contact, in Unix seconds: the earliest watch minute or the rating.
    pub time: i64,
    /// The latest rating, if the user rated the movie.
    pub rating: Option<f32>,
    /// Whether the stream showed the user watching it (MovieLens data has ratings only).
    pub watched: bool,
}

impl Interaction {
    /// What ranking metrics count as a hit: watched, or rated 4 stars or more.
    pub fn is_relevant(&self) -> bool {
        self.watched || self.rating.is_some_and(|rating| rating >= 4.0)
    }
}

/// Users, movies and interactions, indexed densely. Interactions are sorted by user, then
/// time, then movie.
#[derive(Clone, Debug, Default)]
pub struct Interactions {
    pub users: Vec<User>,
    pub movies: Vec<Movie>,
    pub events: Vec<Interaction>,
    user_index: HashMap<u64, u32>,
    movie_index: HashMap<String, u32>,
}

impl Interactions {
    /// Merges metadata, ratings and watch sessions, each session given as (user, movie,
    /// first minute watched). Users and movies that appear only in events are added with no
    /// metadata; a rating outside 0–5 or non-finite is an error.
    pub fn from_parts<'a>(
        users: Vec<User>,
        movies: Vec<Movie>,
        ratings: &[Rating],
        sessions: impl IntoIterator<Item = (UserId, &'a str, Timestamp)>,
    ) -> Result<Interactions, TrainError> {
        let mut data = Interactions::default();
        for user in users {
            data.add_user(user);
        }
        for movie in movies {
            data.add_movie(movie);
        }
        let mut merged: HashMap<(u32, u32), Interaction> = HashMap::new();
        for (user_id, movie_id, first_time) in sessions {
            let user = data.user_or_add(user_id);
            let item = data.movie_or_add(movie_id);
            let time = first_time.unix_seconds();
            merged
                .entry((user, item))
                .and_modify(|event| {
                    event.watched = true;
                    event.time = event.time.min(time);
                })
                .or_insert(Interaction { user, item, time, rating: None, watched: true });
        }
        let mut latest_rating: HashMap<(u32, u32), i64> = HashMap::new();
        for (row, rating) in ratings.iter().enumerate() {
            check_stars(row, rating.rating)?;
            let user = data.user_or_add(rating.user_id);
            let item = data.movie_or_add(&rating.movie_id);
            let time = rating.time.unix_seconds();
            let newer = latest_rating.get(&(user, item)).is_none_or(|&seen| time >= seen);
            if newer {
                latest_rating.insert((user, item), time);
            }
            merged
                .entry((user, item))
                .and_modify(|event| {
                    if newer {
                        event.rating = Some(rating.rating);
                    }
                    event.time = event.time.min(time);
                })
                .or_insert(Interaction { user, item, time, rating: Some(rating.rating), watched: false });
        }
        data.events = merged.into_values().collect();
        data.events.sort_by_key(|event| (event.user, event.time, event.item));
        Ok(data)
    }

    /// Reads everything training needs from the event store (with the `store` feature,
    /// which brings SQLite).
    #[cfg(feature = "store")]
    pub fn from_store(store: &marquee_data::store::Store) -> Result<Interactions, TrainError> {
        let data = |error: marquee_data::DataError| TrainError::InvalidData(error.to_string());
        let (users, movies, ratings) =
            (store.users().map_err(data)?, store.movies().map_err(data)?, store.ratings().map_err(data)?);
        let sessions = store.watch_sessions().map_err(data)?;
        let first_watches =
            sessions.iter().map(|session| (session.user_id, session.movie_id.as_str(), session.first_time));
        Interactions::from_parts(users, movies, &ratings, first_watches)
    }

    fn add_user(&mut self, user: User) -> u32 {
        let next = self.users.len() as u32;
        let index = *self.user_index.entry(user.user_id).or_insert(next);
        if index == next {
            self.users.push(user);
        }
        index
    }

    fn add_movie(&mut self, movie: Movie) -> u32 {
        let next = self.movies.len() as u32;
        let index = *self.movie_index.entry(movie.movie_id.clone()).or_insert(next);
        if index == next {
            self.movies.push(movie);
        }
        index
    }

    fn user_or_add(&mut self, user_id: u64) -> u32 {
        match self.user_index.get(&user_id) {
            Some(&index) => index,
            None => self.add_user(User { user_id, ..User::default() }),
        }
    }

    fn movie_or_add(&mut self, movie_id: &str) -> u32 {
        match self.movie_index.get(movie_id) {
            Some(&index) => index,
            None => {
                self.add_movie(Movie { movie_id: movie_id.to_owned(), title: movie_id.to_owned(), ..Movie::default() })
            }
        }
    }

    /// Indexes held-out ratings given from outside (`--test FILE`): users and movies the data
    /// does not know are added without metadata, so they are scored as cold.
    pub fn index_test_ratings(&mut self, ratings: &[Rating]) -> Result<Vec<Interaction>, TrainError> {
        let mut test = Vec::with_capacity(ratings.len());
        for (row, rating) in ratings.iter().enumerate() {
            check_stars(row, rating.rating)?;
            let user = self.user_or_add(rating.user_id);
            let item = self.movie_or_add(&rating.movie_id);
            test.push(Interaction {
                user,
                item,
                time: rating.time.unix_seconds(),
                rating: Some(rating.rating),
                watched: false,
            });
        }
        test.sort_by_key(|event| (event.user, event.time, event.item));
        Ok(test)
    }

    /// The dense index of a user id.
    pub fn user(&self, user_id: u64) -> Option<u32> {
        self.user_index.get(&user_id).copied()
    }

    /// The dense index of a movie id.
    pub fn movie(&self, movie_id: &str) -> Option<u32> {
        self.movie_index.get(movie_id).copied()
    }

    /// The lowest and highest rating in the data (1–5 when there are none).
    pub fn rating_scale(&self) -> (f32, f32) {
        let ratings = self.events.iter().filter_map(|event| event.rating);
        let (low, high) = ratings.fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), r| (lo.min(r), hi.max(r)));
        if low <= high {
            (low, high)
        } else {
            (1.0, 5.0)
        }
    }
}

/// Marquee's common scale is up to five stars; anything else is refused by row.
fn check_stars(row: usize, value: f32) -> Result<(), TrainError> {
    if value.is_finite() && (0.0..=5.0).contains(&value) {
        Ok(())
    } else {
        Err(TrainError::InvalidLabel { row, value, reason: "a rating must be 0 to 5 stars" })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use marquee_data::store::WatchSession;

    #[test]
    fn a_watch_and_a_rating_of_one_movie_are_one_interaction() {
        let second = |s: i64| Timestamp(s * 1_000_000_000);
        let ratings = vec![
            Rating { user_id: 7, movie_id: "m".into(), rating: 3.0, time: second(50) },
            Rating { user_id: 7, movie_id: "m".into(), rating: 5.0, time: second(90) },
        ];
        let sessions = [WatchSession {
            user_id: 7,
            movie_id: "m".into(),
            minutes_watched: 90,
            first_time: second(10),
            last_time: second(40),
        }];
        let sessions = sessions.iter().map(|session| (session.user_id, session.movie_id.as_str(), session.first_time));
        let data = Interactions::from_parts(vec![], vec![], &ratings, sessions).unwrap();
        assert_eq!(data.users.len(), 1);
        assert_eq!(data.movies.len(), 1);
        assert_eq!(data.events, vec![Interaction { user: 0, item: 0, time: 10, rating: Some(5.0), watched: true }]);
        let bad = vec![Rating { rating: f32::NAN, ..ratings[0].clone() }];
        assert!(Interactions::from_parts(vec![], vec![], &bad, []).is_err());
    }
}

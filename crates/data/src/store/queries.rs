//! Reading the store back, in the shapes training needs.

use rusqlite::Row;
use serde::Serialize;

use super::Store;
use crate::events::{Timestamp, UserId};
use crate::records::{Gender, Movie, Rating, User};
use crate::DataError;

/// One user's viewing of one movie, derived from the minute lines.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct WatchSession {
    pub user_id: UserId,
    pub movie_id: String,
    /// Distinct minutes watched.
    pub minutes_watched: u32,
    pub first_time: Timestamp,
    pub last_time: Timestamp,
}

pub(super) fn movie_from_row(movie_id: &str, row: &Row<'_>) -> rusqlite::Result<Movie> {
    let genres: String = row.get(1)?;
    Ok(Movie {
        movie_id: movie_id.to_owned(),
        title: row.get(0)?,
        genres: genres.split('|').filter(|genre| !genre.is_empty()).map(str::to_owned).collect(),
        year: row.get(2)?,
        tmdb_id: row.get::<_, Option<i64>>(3)?.map(|id| id as u64),
        imdb_id: row.get(4)?,
        popularity: row.get(5)?,
        vote_average: row.get(6)?,
        vote_count: row.get::<_, Option<i64>>(7)?.map(|count| count as u64),
        runtime: row.get(8)?,
        release_date: row.get(9)?,
        original_language: row.get(10)?,
        budget: row.get::<_, Option<i64>>(11)?.map(|budget| budget as u64),
        revenue: row.get::<_, Option<i64>>(12)?.map(|revenue| revenue as u64),
    })
}

impl Store {
    /// Every user, in id order.
    pub fn users(&self) -> Result<Vec<User>, DataError> {
        let mut statement = self.conn.prepare("SELECT user_id, age, gender, occupation FROM users ORDER BY user_id")?;
        let rows = statement.query_map([], |row| {
            Ok(User {
                user_id: row.get::<_, i64>(0)? as u64,
                age: row.get(1)?,
                gender: row.get::<_, Option<String>>(2)?.as_deref().and_then(Gender::parse),
                occupation: row.get(3)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Every movie, in id order.
    pub fn movies(&self) -> Result<Vec<Movie>, DataError> {
        let mut statement = self.conn.prepare(
            "SELECT title, genres, year, tmdb_id, imdb_id, popularity, vote_average, vote_count, runtime,
                    release_date, original_language, budget, revenue, movie_id
             FROM movies ORDER BY movie_id",
        )?;
        let rows = statement.query_map([], |row| movie_from_row(&row.get::<_, String>(13)?, row))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The latest rating of every user for every movie, oldest first.
    pub fn ratings(&self) -> Result<Vec<Rating>, DataError> {
        let mut statement = self
            .conn
            .prepare("SELECT user_id, movie_id, rating, time FROM ratings ORDER BY time, user_id, movie_id")?;
        let rows = statement.query_map([], |row| {
            Ok(Rating {
                user_id: row.get::<_, i64>(0)? as u64,
                movie_id: row.get(1)?,
                rating: row.get::<_, f64>(2)? as f32,
                time: Timestamp(row.get(3)?),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Every watch session, in order of when it started.
    pub fn watch_sessions(&self) -> Result<Vec<WatchSession>, DataError> {
        let mut statement = self.conn.prepare(
            "SELECT user_id, movie_id, minutes_watched, first_time, last_time FROM watch_sessions
             ORDER BY first_time, user_id, movie_id",
        )?;
        let rows = statement.query_map([], watch_session)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The watch sessions that started from `from` (inclusive) to `to` (exclusive), in order
    /// of when they started.
    pub fn watch_sessions_between(&self, from: Timestamp, to: Timestamp) -> Result<Vec<WatchSession>, DataError> {
        let mut statement = self.conn.prepare(
            "SELECT user_id, movie_id, minutes_watched, first_time, last_time FROM watch_sessions
             WHERE first_time >= ?1 AND first_time < ?2 ORDER BY first_time, user_id, movie_id",
        )?;
        let rows = statement.query_map(rusqlite::params![from.0, to.0], watch_session)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Every user active from `from` (inclusive) to `to` (exclusive), in id order, with how
    /// active: watch sessions started, recommendation requests in the stream and lists the
    /// edge served (by its clock, in milliseconds) in that time.
    pub fn activity_between(&self, from: Timestamp, to: Timestamp) -> Result<Vec<(UserId, u64)>, DataError> {
        let (from_ms, to_ms) = (from.0.div_euclid(1_000_000), to.0.div_euclid(1_000_000));
        let mut statement = self.conn.prepare(
            "SELECT user_id, count(*) FROM (
                 SELECT user_id FROM watch_sessions WHERE first_time >= ?1 AND first_time < ?2
                 UNION ALL SELECT user_id FROM recommendations WHERE time >= ?1 AND time < ?2
                 UNION ALL SELECT user_id FROM edge_log WHERE kind = 'impression' AND time_ms >= ?3 AND time_ms < ?4
             ) GROUP BY user_id ORDER BY user_id",
        )?;
        let rows = statement.query_map(rusqlite::params![from.0, to.0, from_ms, to_ms], |row| {
            Ok((row.get::<_, i64>(0)? as u64, row.get::<_, i64>(1)? as u64))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// How many ratings one user and movie have had over time, oldest first.
    pub fn rating_history(&self, user_id: UserId, movie_id: &str) -> Result<Vec<(Timestamp, f32)>, DataError> {
        let mut statement = self
            .conn
            .prepare("SELECT time, rating FROM rating_history WHERE user_id = ?1 AND movie_id = ?2 ORDER BY time")?;
        let rows = statement.query_map(rusqlite::params![user_id as i64, movie_id], |row| {
            Ok((Timestamp(row.get(0)?), row.get::<_, f64>(1)? as f32))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

/// A `watch_sessions` row read as `user_id, movie_id, minutes_watched, first_time, last_time`.
fn watch_session(row: &rusqlite::Row<'_>) -> rusqlite::Result<WatchSession> {
    Ok(WatchSession {
        user_id: row.get::<_, i64>(0)? as u64,
        movie_id: row.get(1)?,
        minutes_watched: row.get(2)?,
        first_time: Timestamp(row.get(3)?),
        last_time: Timestamp(row.get(4)?),
    })
}

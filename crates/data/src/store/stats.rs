//! `marquee stats`: a summary of what the store holds.

use std::fmt;

use rusqlite::OptionalExtension;
use serde::Serialize;

use super::Store;
use crate::events::Timestamp;
use crate::DataError;

/// How many of something one movie has.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MovieCount {
    pub movie_id: String,
    /// The title, when the movie's metadata is known.
    pub title: Option<String>,
    pub count: u64,
}

/// A summary of the store's contents.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StoreStats {
    pub users: u64,
    /// Users whose age, gender or occupation is known.
    pub users_with_demographics: u64,
    pub movies: u64,
    pub watch_sessions: u64,
    pub minutes_watched: u64,
    /// Latest ratings (one per user and movie).
    pub ratings: u64,
    /// Every rating ever given.
    pub rating_history: u64,
    pub mean_rating: Option<f64>,
    pub recommendation_requests: u64,
    /// Share of recommendation requests answered with status 200.
    pub recommendation_success_rate: Option<f64>,
    pub mean_recommendation_latency_ms: Option<f64>,
    /// The earliest and latest event time, as written in the stream.
    pub first_event: Option<String>,
    pub last_event: Option<String>,
    /// The 20 movies with the most watch sessions.
    pub most_watched: Vec<MovieCount>,
    /// The 20 movies with the most ratings.
    pub most_rated: Vec<MovieCount>,
}

impl Store {
    /// Counts what the store holds.
    pub fn stats(&self) -> Result<StoreStats, DataError> {
        let count = |sql: &str| -> Result<u64, DataError> {
            Ok(self.conn.query_row(sql, [], |row| row.get::<_, i64>(0))? as u64)
        };
        let number =
            |sql: &str| -> Result<Option<f64>, DataError> { Ok(self.conn.query_row(sql, [], |row| row.get(0))?) };
        let time = |sql: &str| -> Result<Option<String>, DataError> {
            let nanos: Option<i64> = self.conn.query_row(sql, [], |row| row.get(0)).optional()?.flatten();
            Ok(nanos.map(|nanos| Timestamp(nanos).to_string()))
        };
        let top = |table: &str| -> Result<Vec<MovieCount>, DataError> {
            let mut statement = self.conn.prepare(&format!(
                "SELECT t.movie_id, m.title, count(*) AS n FROM {table} t LEFT JOIN movies m ON m.movie_id = t.movie_id
                 GROUP BY t.movie_id ORDER BY n DESC, t.movie_id LIMIT 20"
            ))?;
            let rows = statement.query_map([], |row| {
                Ok(MovieCount { movie_id: row.get(0)?, title: row.get(1)?, count: row.get::<_, i64>(2)? as u64 })
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        };
        Ok(StoreStats {
            users: count("SELECT count(*) FROM users")?,
            users_with_demographics: count(
                "SELECT count(*) FROM users WHERE age IS NOT NULL OR gender IS NOT NULL OR occupation IS NOT NULL",
            )?,
            movies: count("SELECT count(*) FROM movies")?,
            watch_sessions: count("SELECT count(*) FROM watch_sessions")?,
            minutes_watched: count("SELECT coalesce(sum(minutes_watched), 0) FROM watch_sessions")?,
            ratings: count("SELECT count(*) FROM ratings")?,
            rating_history: count("SELECT count(*) FROM rating_history")?,
            mean_rating: number("SELECT avg(rating) FROM ratings")?,
            recommendation_requests: count("SELECT count(*) FROM recommendations")?,
            recommendation_success_rate: number("SELECT avg(status = 200) FROM recommendations")?,
            mean_recommendation_latency_ms: number("SELECT avg(latency_ms) FROM recommendations")?,
            first_event: time(
                "SELECT min(t) FROM (SELECT min(first_time) AS t FROM watch_sessions UNION ALL
                 SELECT min(time) FROM rating_history UNION ALL SELECT min(time) FROM recommendations)",
            )?,
            last_event: time(
                "SELECT max(t) FROM (SELECT max(last_time) AS t FROM watch_sessions UNION ALL
                 SELECT max(time) FROM rating_history UNION ALL SELECT max(time) FROM recommendations)",
            )?,
            most_watched: top("watch_sessions")?,
            most_rated: top("ratings")?,
        })
    }
}

impl fmt::Display for StoreStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let optional = |value: Option<f64>, digits: usize| value.map_or("-".to_owned(), |v| format!("{v:.digits$}"));
        writeln!(f, "users            {:>12} ({} with demographics)", self.users, self.users_with_demographics)?;
        writeln!(f, "movies           {:>12}", self.movies)?;
        writeln!(f, "watch sessions   {:>12} ({} minutes)", self.watch_sessions, self.minutes_watched)?;
        writeln!(
            f,
            "ratings          {:>12} latest, {} in history, mean {}",
            self.ratings,
            self.rating_history,
            optional(self.mean_rating, 2)
        )?;
        writeln!(
            f,
            "recommendations  {:>12} requests, {} ok, mean latency {} ms",
            self.recommendation_requests,
            optional(self.recommendation_success_rate.map(|rate| rate * 100.0), 1) + "%",
            optional(self.mean_recommendation_latency_ms, 1)
        )?;
        writeln!(
            f,
            "time span        {} .. {}",
            self.first_event.as_deref().unwrap_or("-"),
            self.last_event.as_deref().unwrap_or("-")
        )?;
        writeln!(f, "most watched:")?;
        for (rank, movie) in self.most_watched.iter().take(10).enumerate() {
            writeln!(
                f,
                "  {:>2}. {} ({} sessions)",
                rank + 1,
                movie.title.as_deref().unwrap_or(&movie.movie_id),
                movie.count
            )?;
        }
        Ok(())
    }
}

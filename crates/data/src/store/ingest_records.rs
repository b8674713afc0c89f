//! Loading users, movies and ratings from tabular sources (metadata JSON, MovieLens, the
//! CSV triple) into the store.

use rusqlite::params;
use serde::Serialize;

use super::Store;
use crate::records::{Dataset, Movie, Rating, User};
use crate::DataError;

/// What one tabular ingest stored.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RecordIngest {
    /// Users inserted or given new demographics.
    pub users_changed: u64,
    /// Movies inserted or given new metadata.
    pub movies_changed: u64,
    /// Ratings not seen before.
    pub new_ratings: u64,
}

impl Store {
    /// Inserts or updates users. Known demographics are never replaced by unknown ones.
    pub fn ingest_users(&mut self, users: &[User]) -> Result<u64, DataError> {
        let tx = self.conn.transaction()?;
        let mut changed = 0;
        {
            let mut upsert = tx.prepare_cached(
                "INSERT INTO users (user_id, age, gender, occupation) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (user_id) DO UPDATE SET
                     age = coalesce(excluded.age, users.age),
                     gender = coalesce(excluded.gender, users.gender),
                     occupation = coalesce(excluded.occupation, users.occupation)
                 WHERE (excluded.age IS NOT NULL AND excluded.age IS NOT users.age)
                    OR (excluded.gender IS NOT NULL AND excluded.gender IS NOT users.gender)
                    OR (excluded.occupation IS NOT NULL AND excluded.occupation IS NOT users.occupation)",
            )?;
            for user in users {
                changed += upsert.execute(params![
                    user.user_id as i64,
                    user.age,
                    user.gender.map(|gender| gender.code()),
                    user.occupation
                ])? as u64;
            }
        }
        tx.commit()?;
        Ok(changed)
    }

    /// Inserts or replaces movies' metadata.
    pub fn ingest_movies(&mut self, movies: &[Movie]) -> Result<u64, DataError> {
        let tx = self.conn.transaction()?;
        let mut changed = 0;
        {
            let mut read = tx.prepare_cached(
                "SELECT title, genres, year, tmdb_id, imdb_id, popularity, vote_average, vote_count, runtime,
                        release_date, original_language, budget, revenue
                 FROM movies WHERE movie_id = ?1",
            )?;
            let mut upsert = tx.prepare_cached(
                "INSERT OR REPLACE INTO movies (movie_id, title, genres, year, tmdb_id, imdb_id, popularity, vote_average,
                     vote_count, runtime, release_date, original_language, budget, revenue)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
            )?;
            for movie in movies {
                let stored = read
                    .query_map([&movie.movie_id], |row| super::queries::movie_from_row(&movie.movie_id, row))?
                    .next();
                if let Some(Ok(stored)) = stored {
                    if &stored == movie {
                        continue;
                    }
                }
                upsert.execute(params![
                    movie.movie_id,
                    movie.title,
                    movie.genres.join("|"),
                    movie.year,
                    movie.tmdb_id.map(|id| id as i64),
                    movie.imdb_id,
                    movie.popularity,
                    movie.vote_average,
                    movie.vote_count.map(|count| count as i64),
                    movie.runtime,
                    movie.release_date,
                    movie.original_language,
                    movie.budget.map(|budget| budget as i64),
                    movie.revenue.map(|revenue| revenue as i64),
                ])?;
                changed += 1;
            }
        }
        tx.commit()?;
        Ok(changed)
    }

    /// Inserts ratings; the history keeps every one, `ratings` the latest per user and movie.
    pub fn ingest_ratings(&mut self, ratings: &[Rating]) -> Result<u64, DataError> {
        let tx = self.conn.transaction()?;
        let mut new = 0;
        {
            let mut history = tx.prepare_cached(
                "INSERT OR IGNORE INTO rating_history (user_id, movie_id, time, rating) VALUES (?1, ?2, ?3, ?4)",
            )?;
            let mut latest = tx.prepare_cached(
                "INSERT INTO ratings (user_id, movie_id, rating, time) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (user_id, movie_id) DO UPDATE SET rating = excluded.rating, time = excluded.time
                 WHERE excluded.time > ratings.time",
            )?;
            for rating in ratings {
                let user = rating.user_id as i64;
                if history.execute(params![user, rating.movie_id, rating.time.0, rating.rating])? > 0 {
                    new += 1;
                    latest.execute(params![user, rating.movie_id, rating.rating, rating.time.0])?;
                }
            }
        }
        tx.commit()?;
        Ok(new)
    }

    /// Ingests everything a tabular source held.
    pub fn ingest_dataset(&mut self, dataset: &Dataset) -> Result<RecordIngest, DataError> {
        Ok(RecordIngest {
            users_changed: self.ingest_users(&dataset.users)?,
            movies_changed: self.ingest_movies(&dataset.movies)?,
            new_ratings: self.ingest_ratings(&dataset.ratings)?,
        })
    }
}

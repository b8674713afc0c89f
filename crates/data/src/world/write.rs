//! Writing a world to a folder: the stream, the metadata API's JSON, the CSV triple and the
//! ground truth.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use serde::Serialize;

use super::tastes::{MovieTaste, UserTaste, FACTORS, GENRES, POPULARITY_WEIGHT};
use super::{World, WorldConfig, WorldStats};
use crate::csv_triple::{write_movies, write_users, RatingsWriter};
use crate::error::DataError;
use crate::metadata::{movie_to_json, user_to_json};

/// The ground truth's header, written to truth.json.
#[derive(Serialize)]
struct Truth<'a> {
    config: &'a WorldConfig,
    genres: &'a [&'a str],
    factors: usize,
    popularity_weight: f32,
    utility: &'a str,
    users_file: &'a str,
    movies_file: &'a str,
    stats: &'a WorldStats,
}

#[derive(Serialize)]
struct UserTruth<'a> {
    user_id: u64,
    #[serde(flatten)]
    taste: &'a UserTaste,
}

#[derive(Serialize)]
struct MovieTruth<'a> {
    movie_id: &'a str,
    genres: &'a [String],
    #[serde(flatten)]
    taste: &'a MovieTaste,
}

fn create(dir: &Path, name: &str) -> Result<BufWriter<File>, DataError> {
    let path = dir.join(name);
    File::create(&path).map(|f| BufWriter::with_capacity(1 << 20, f)).map_err(|e| DataError::io(path, e))
}

fn finish(mut writer: BufWriter<File>, dir: &Path, name: &str) -> Result<(), DataError> {
    writer.flush().map_err(|e| DataError::io(dir.join(name), e))
}

fn json_error(dir: &Path, name: &str, error: serde_json::Error) -> DataError {
    DataError::Invalid { path: dir.join(name), reason: error.to_string() }
}

impl World {
    /// Simulates the world and writes, into `dir` (created if missing): stream.log;
    /// users.jsonl and movies.jsonl (the metadata API's JSON, one object per line); the CSV
    /// triple ratings.csv, users.csv and movies.csv; and the ground truth: truth.json (the
    /// config, genre names, utility formula and stats) with truth_users.jsonl and
    /// truth_movies.jsonl (every user's and movie's hidden tastes). `on_day(day)` is called
    /// after each simulated day. Returns what the simulation produced.
    pub fn write_to(&self, dir: &Path, on_day: impl FnMut(u32)) -> Result<WorldStats, DataError> {
        std::fs::create_dir_all(dir).map_err(|e| DataError::io(dir, e))?;

        let mut users_json = create(dir, "users.jsonl")?;
        for user in &self.users {
            serde_json::to_writer(&mut users_json, &user_to_json(user))
                .map_err(|e| json_error(dir, "users.jsonl", e))?;
            users_json.write_all(b"\n").map_err(|e| DataError::io(dir.join("users.jsonl"), e))?;
        }
        finish(users_json, dir, "users.jsonl")?;
        let mut movies_json = create(dir, "movies.jsonl")?;
        for movie in &self.movies {
            serde_json::to_writer(&mut movies_json, &movie_to_json(movie))
                .map_err(|e| json_error(dir, "movies.jsonl", e))?;
            movies_json.write_all(b"\n").map_err(|e| DataError::io(dir.join("movies.jsonl"), e))?;
        }
        finish(movies_json, dir, "movies.jsonl")?;
        let mut users_csv = create(dir, "users.csv")?;
        write_users(&mut users_csv, &self.users)?;
        finish(users_csv, dir, "users.csv")?;
        let mut movies_csv = create(dir, "movies.csv")?;
        write_movies(&mut movies_csv, &self.movies)?;
        finish(movies_csv, dir, "movies.csv")?;

        let mut stream = create(dir, "stream.log")?;
        let mut ratings = RatingsWriter::new(create(dir, "ratings.csv")?)?;
        // The callbacks cannot return errors: keep the first and stop writing after it.
        let mut stream_error: Option<std::io::Error> = None;
        let mut ratings_error: Option<DataError> = None;
        let stats = self.simulate(
            |line| {
                if stream_error.is_none() {
                    if let Err(e) = stream.write_all(line.as_bytes()).and_then(|()| stream.write_all(b"\n")) {
                        stream_error = Some(e);
                    }
                }
            },
            |rating| {
                if ratings_error.is_none() {
                    if let Err(e) = ratings.write(rating) {
                        ratings_error = Some(e);
                    }
                }
            },
            on_day,
        );
        if let Some(e) = stream_error {
            return Err(DataError::io(dir.join("stream.log"), e));
        }
        if let Some(e) = ratings_error {
            return Err(e);
        }
        finish(stream, dir, "stream.log")?;
        finish(ratings.finish()?, dir, "ratings.csv")?;

        let mut truth_users = create(dir, "truth_users.jsonl")?;
        for (user, taste) in self.users.iter().zip(&self.user_tastes) {
            let truth = UserTruth { user_id: user.user_id, taste };
            serde_json::to_writer(&mut truth_users, &truth).map_err(|e| json_error(dir, "truth_users.jsonl", e))?;
            truth_users.write_all(b"\n").map_err(|e| DataError::io(dir.join("truth_users.jsonl"), e))?;
        }
        finish(truth_users, dir, "truth_users.jsonl")?;
        let mut truth_movies = create(dir, "truth_movies.jsonl")?;
        for (movie, taste) in self.movies.iter().zip(&self.movie_tastes) {
            let truth = MovieTruth { movie_id: &movie.movie_id, genres: &movie.genres, taste };
            serde_json::to_writer(&mut truth_movies, &truth).map_err(|e| json_error(dir, "truth_movies.jsonl", e))?;
            truth_movies.write_all(b"\n").map_err(|e| DataError::io(dir.join("truth_movies.jsonl"), e))?;
        }
        finish(truth_movies, dir, "truth_movies.jsonl")?;
        let mut truth = create(dir, "truth.json")?;
        let header = Truth {
            config: &self.config,
            genres: &GENRES,
            factors: FACTORS,
            popularity_weight: POPULARITY_WEIGHT,
            utility: "dot(user.factors, movie.factors) + mean(user.genre_affinity[g] for g in movie genres) \
                      + movie.quality + popularity_weight * movie.popularity_bias",
            users_file: "truth_users.jsonl",
            movies_file: "truth_movies.jsonl",
            stats: &stats,
        };
        serde_json::to_writer_pretty(&mut truth, &header).map_err(|e| json_error(dir, "truth.json", e))?;
        finish(truth, dir, "truth.json")?;
        Ok(stats)
    }
}

//! Reading a written world's ground truth back: truth.json's config regenerates the users
//! and catalog, and truth_users.jsonl and truth_movies.jsonl supply the hidden tastes.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

use serde::Deserialize;

use super::tastes::{MovieTaste, UserTaste};
use super::{World, WorldConfig};
use crate::error::DataError;

#[derive(Deserialize)]
struct Header {
    config: WorldConfig,
}

#[derive(Deserialize)]
struct UserRow {
    user_id: u64,
    #[serde(flatten)]
    taste: UserTaste,
}

#[derive(Deserialize)]
struct MovieRow {
    movie_id: String,
    #[serde(flatten)]
    taste: MovieTaste,
}

fn invalid(path: &Path, reason: impl Into<String>) -> DataError {
    DataError::Invalid { path: path.to_path_buf(), reason: reason.into() }
}

/// Parses every non-empty line of a JSON-lines file.
fn read_lines<T: serde::de::DeserializeOwned>(path: &Path) -> Result<Vec<T>, DataError> {
    let file = File::open(path).map_err(|e| DataError::io(path, e))?;
    let mut rows = Vec::new();
    for (index, line) in BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|e| DataError::io(path, e))?;
        if line.trim().is_empty() {
            continue;
        }
        let row = serde_json::from_str(&line).map_err(|e| invalid(path, format!("line {}: {e}", index + 1)))?;
        rows.push(row);
    }
    Ok(rows)
}

impl World {
    /// Loads a world that [`World::write_to`] wrote into `dir`: its config from truth.json
    /// regenerates the users and catalog, and the hidden tastes are taken from
    /// truth_users.jsonl and truth_movies.jsonl. Fails with a clear error if a file is
    /// missing or unreadable, or if the files disagree about which users and movies exist.
    pub fn load_truth(dir: &Path) -> Result<World, DataError> {
        let header_path = dir.join("truth.json");
        let text = std::fs::read_to_string(&header_path).map_err(|e| DataError::io(&header_path, e))?;
        let header: Header = serde_json::from_str(&text).map_err(|e| invalid(&header_path, e.to_string()))?;
        let mut world = World::generate(header.config)?;

        let users_path = dir.join("truth_users.jsonl");
        let users: Vec<UserRow> = read_lines(&users_path)?;
        if users.len() != world.users.len() {
            let reason = format!("holds {} users, but truth.json's config makes {}", users.len(), world.users.len());
            return Err(invalid(&users_path, reason));
        }
        for (row, user) in users.iter().zip(&world.users) {
            if row.user_id != user.user_id {
                let reason = format!(
                    "user {} is not the world's user {}: the folder is not one world",
                    row.user_id, user.user_id
                );
                return Err(invalid(&users_path, reason));
            }
        }
        let movies_path = dir.join("truth_movies.jsonl");
        let movies: Vec<MovieRow> = read_lines(&movies_path)?;
        if movies.len() != world.movies.len() {
            let reason = format!("holds {} movies, but truth.json's config makes {}", movies.len(), world.movies.len());
            return Err(invalid(&movies_path, reason));
        }
        for (row, movie) in movies.iter().zip(&world.movies) {
            if row.movie_id != movie.movie_id {
                let reason = format!(
                    "movie {} is not the world's movie {}: the folder is not one world",
                    row.movie_id, movie.movie_id
                );
                return Err(invalid(&movies_path, reason));
            }
        }
        world.user_tastes = users.into_iter().map(|row| row.taste).collect();
        world.movie_tastes = movies.into_iter().map(|row| row.taste).collect();
        world.shift_tastes();
        Ok(world)
    }
}

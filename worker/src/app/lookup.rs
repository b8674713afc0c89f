//! The admin API's lookups: `GET /v1/admin/users/<user>` (the user's variant, version, shard,
//! published profile and recent log rows) and `GET /v1/admin/movies/<movie>` (the movie's
//! catalog entry in the served version and its exposure in the log).

use marquee_data::records::TMDB_GENRES;
use marquee_model::recommend::{shard_of, CatalogMovie, Recommender, UserProfile};
use serde_json::{json, Value};

use super::error::AppError;
use super::models::{self, Served};
use super::queries;
use super::recommend::user_param;
use super::response::percent_decode;
use super::storage::Storage;
use super::{App, Call, Response};

/// How many of a user's log rows the lookup shows, newest first.
const RECENT_ROWS: i64 = 50;

/// A float as JSON, `null` when it is not finite (unknown metadata is NaN).
fn finite(value: f32) -> Value {
    if value.is_finite() {
        Value::from(f64::from(value))
    } else {
        Value::Null
    }
}

/// A published profile as the lookup shows it, with codes turned into names.
fn profile_json(profile: &UserProfile, recommender: &Recommender) -> Value {
    let demographics = &profile.demographics;
    let catalog = recommender.catalog();
    let occupation =
        demographics.occupation.and_then(|code| catalog.occupations.get(usize::from(code))).map(String::as_str);
    let seen: Vec<&str> = profile.seen.iter().filter_map(|&item| recommender.movie_id(item)).collect();
    let latest: Vec<&str> = profile.recent.iter().filter_map(|&item| recommender.movie_id(item)).collect();
    json!({
        "demographics": {
            "age": demographics.age,
            "gender": demographics.gender.map(|gender| gender.label()),
            "occupation": occupation,
        },
        "segment": format!("{}/{}", demographics.gender_label(), demographics.age_label()),
        "interactions": profile.interactions,
        "ratings": profile.ratings,
        "mean_rating": finite(profile.mean_rating),
        "seen": seen,
        "latest": latest,
    })
}

/// A catalog movie's metadata, with codes turned into names.
fn metadata_json(movie: &CatalogMovie, recommender: &Recommender) -> Value {
    let language = movie.language.and_then(|code| recommender.catalog().languages.get(usize::from(code)));
    let genres: Vec<&str> = TMDB_GENRES
        .iter()
        .enumerate()
        .filter(|(bit, _)| movie.genre_mask & (1 << bit) != 0)
        .map(|(_, name)| *name)
        .collect();
    json!({
        "year": finite(movie.year),
        "popularity": finite(movie.popularity),
        "vote_average": finite(movie.vote_average),
        "runtime": finite(movie.runtime),
        "language": language,
        "genres": genres,
        "days_since_release": finite(movie.days_since_release),
        "mean_rating": finite(movie.mean_rating),
        "log_watchers": finite(movie.log_watchers),
    })
}

impl App {
    /// `GET /v1/admin/users/<user>`: who the user is to the edge: the variant and version they
    /// are served (with the public route's fallbacks), the shard their profile is in, the
    /// profile if that version has one, and their newest log rows.
    pub(super) async fn inspect_user<S: Storage>(&self, call: &Call<'_, S>) -> Result<Response, AppError> {
        let user_id = user_param(call)?;
        let resolved = self.resolve(user_id, None, call.storage, call.now()).await?;
        let (version, shard, profile) = match &resolved.served {
            None => ("none".to_owned(), None, Value::Null),
            Some(served) => {
                let shard = (served.version != models::DEFAULT_VERSION)
                    .then(|| shard_of(user_id, served.recommender.shard_count()));
                let (found, _) = self.profile(user_id, served, call.storage).await;
                let profile = found.map_or(Value::Null, |profile| profile_json(&profile, &served.recommender));
                (served.version.clone(), shard, profile)
            }
        };
        let recent = queries::recent_log_rows(call.storage, user_id, RECENT_ROWS).await?;
        Ok(Response::json(
            200,
            &json!({
                "user_id": user_id,
                "variant": resolved.variant,
                "version": version,
                "shard": shard,
                "profile": profile,
                "recent": recent,
            }),
        ))
    }

    /// `GET /v1/admin/movies/<movie>` (the id percent-encoded as a path segment): the movie in
    /// the served version's catalog and how often the log shows it in lists and clicks it.
    pub(super) async fn inspect_movie<S: Storage>(&self, call: &Call<'_, S>) -> Result<Response, AppError> {
        let raw = call.params.get("movie");
        let movie_id = percent_decode(raw)
            .filter(|id| !id.is_empty())
            .ok_or_else(|| AppError::BadRequest(format!("malformed movie id {raw:?}")))?;
        let served = self.served_model(call.storage, call.now()).await;
        let entry = served.as_ref().and_then(|served| {
            let catalog = served.recommender.catalog();
            catalog.movies.iter().find(|movie| movie.movie_id == movie_id).map(|movie| (movie, served))
        });
        let exposure = queries::movie_exposure(call.storage, &movie_id).await?;
        Ok(Response::json(
            200,
            &json!({
                "movie_id": movie_id,
                "version": served.as_ref().map_or("none", |served| served.version.as_str()),
                "in_catalog": entry.is_some(),
                "metadata": entry.map(|(movie, served)| metadata_json(movie, &served.recommender)),
                "lists_containing": exposure.lists_containing,
                "impressions": exposure.impressions,
                "exposure_share": if exposure.impressions > 0 {
                    Value::from(exposure.lists_containing as f64 / exposure.impressions as f64)
                } else {
                    Value::Null
                },
                "clicked": exposure.clicked,
            }),
        ))
    }

    /// The model the active pointer serves: the active version, else (if it cannot be loaded)
    /// the last good one, else the embedded default.
    async fn served_model<S: Storage>(&self, storage: &S, now_ms: f64) -> Option<Served> {
        let _ = self.refresh_settings(storage, now_ms).await;
        let active = self.cache.borrow().settings.active.clone();
        match active {
            None => self.cache.borrow().default_model().cloned(),
            Some(version) => match self.load_version(storage, &version, now_ms).await {
                Some(served) => Some(served),
                None => self.cache.borrow().fallback(),
            },
        }
    }
}

//! `GET /recommend/<user>` (the original contract: text/plain, up to 20 comma-separated ids)
//! and `GET /v1/recommend/<user>?n=20&explain=1` (JSON with scores and explanations).
//!
//! Both always answer a list: storage or model trouble degrades to the last good model,
//! then the embedded default, then the configured popularity list, and the
//! `x-marquee-fallback` header says which.

use marquee_data::{parse_user_id, EdgeKind, EdgeRow};
use marquee_model::recommend::{shard_of, ProfileShard, Recommendation, UserProfile};
use serde_json::json;

use super::error::AppError;
use super::models::{self, Served};
use super::queries;
use super::storage::Storage;
use super::{App, Call, Request, Response, MAX_RECOMMENDATIONS};

/// The most items `/v1/recommend` answers with (`?n=`).
const MAX_JSON_ITEMS: usize = 100;

/// How a list is answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum ListFormat {
    /// `GET /recommend/<user>`: up to 20 comma-separated ids, the original contract.
    Text,
    /// `GET /v1/recommend/<user>?n=&explain=1`: JSON with scores and explanations.
    Json,
}

/// What one request was served.
struct ServedList {
    items: Vec<(String, f32, u32)>,
    version: String,
    variant: String,
    fallback: Option<&'static str>,
    profile: Option<UserProfile>,
    served: Option<Served>,
}

impl App {
    /// Answers a list and logs it as an impression after the response.
    pub(super) async fn recommend<S: Storage>(
        &self,
        call: &Call<'_, S>,
        format: ListFormat,
    ) -> Result<Response, AppError> {
        let user_id =
            parse_user_id(call.params.get("user")).map_err(|error| AppError::BadRequest(error.to_string()))?;
        let (count, explain) = match format {
            ListFormat::Text => (MAX_RECOMMENDATIONS, false),
            ListFormat::Json => (requested_count(call.request)?, call.request.query_param("explain") == Some("1")),
        };
        let now_ms = call.now();
        let served = self.serve(user_id, count, call.storage, now_ms).await;
        let recommendation_id = self.recommendation_id(user_id, now_ms);
        let latency_us = ((call.now() - call.started_ms).max(0.0) * 1000.0) as i64;

        let ids: Vec<&str> = served.items.iter().map(|(id, _, _)| id.as_str()).collect();
        let mut response = match format {
            ListFormat::Json => Response::json(
                200,
                &json!({
                    "user_id": user_id,
                    "items": json_items(&served, explain),
                    "model_version": served.version,
                    "variant": served.variant,
                    "recommendation_id": recommendation_id,
                    "fallback": served.fallback,
                }),
            ),
            ListFormat::Text => Response::text(200, ids.join(",")),
        };
        response.headers.push(("x-marquee-model-version", served.version.clone()));
        response.headers.push(("x-marquee-variant", served.variant.clone()));
        response.headers.push(("x-marquee-recommendation-id", recommendation_id.clone()));
        if let Some(reason) = served.fallback {
            response.headers.push(("x-marquee-fallback", reason.to_owned()));
        }
        call.defer(queries::insert_log_row(&EdgeRow {
            seq: 0,
            id: recommendation_id,
            kind: EdgeKind::Impression,
            time_ms: now_ms as i64,
            user_id,
            movie_id: None,
            value: Some(ids.join(",")),
            variant: Some(served.variant),
            version: Some(served.version),
            reference: None,
            latency_us: Some(latency_us),
        }));
        Ok(response)
    }

    /// `GET /v1/admin/bench?users=1,2,3&repeat=20`: the CPU time of serving each user, measured
    /// inside the Worker. Each user is served once to load its shard (I/O, not timed), then
    /// `repeat` more times back to back, and the mean is reported: the clock ticks in whole
    /// milliseconds here, so single requests cannot be timed finely.
    pub(super) async fn bench<S: Storage>(&self, call: &Call<'_, S>) -> Result<Response, AppError> {
        let request = call.request;
        let bad = |what: &str| AppError::BadRequest(what.to_owned());
        let users: Vec<u64> = request
            .query_param("users")
            .ok_or_else(|| bad("users=1,2,3 is required"))?
            .split(',')
            .map(|text| parse_user_id(text).map_err(|error| AppError::BadRequest(error.to_string())))
            .collect::<Result<_, _>>()?;
        let repeat: u32 =
            request.query_param("repeat").unwrap_or("20").parse().map_err(|_| bad("repeat must be an integer"))?;
        if users.is_empty() || users.len() > 1000 || !(1..=1000).contains(&repeat) {
            return Err(bad("1 to 1000 users, repeat 1 to 1000"));
        }
        let mut micros = Vec::with_capacity(users.len());
        let mut fallbacks = 0;
        for &user in &users {
            let warm = self.serve(user, MAX_RECOMMENDATIONS, call.storage, call.now()).await;
            fallbacks += usize::from(warm.fallback.is_some());
            let started = call.now();
            for _ in 0..repeat {
                let list = self.serve(user, MAX_RECOMMENDATIONS, call.storage, started).await;
                std::hint::black_box(list.items.len());
            }
            micros.push((call.now() - started) * 1000.0 / f64::from(repeat));
        }
        let version = self.cache.borrow().settings.active.clone();
        Ok(Response::json(
            200,
            &json!({ "micros": micros, "repeat": repeat, "fallbacks": fallbacks, "active_version": version }),
        ))
    }

    /// The list for one user, with every fallback applied.
    async fn serve<S: Storage>(&self, user_id: u64, count: usize, storage: &S, now_ms: f64) -> ServedList {
        let settings_failed = self.refresh_settings(storage, now_ms).await.is_err();
        let (variant, wanted) = {
            let cache = self.cache.borrow();
            let variant = cache.settings.experiment.assign(user_id).clone();
            let wanted = variant.version.clone().or_else(|| cache.settings.active.clone());
            (variant.name, wanted)
        };
        let mut fallback = settings_failed.then_some("storage");
        let served = match &wanted {
            None => self.cache.borrow().default_model().cloned(),
            Some(version) => match self.load_version(storage, version, now_ms).await {
                Some(served) => Some(served),
                None => {
                    fallback = Some("model");
                    self.cache.borrow().fallback()
                }
            },
        };
        let Some(served) = served else {
            // Not even the embedded model: the configured popularity list.
            let items = self.config.popular_movies.iter().take(count).map(|id| (id.clone(), 0.0, 0)).collect();
            return ServedList {
                items,
                version: "none".into(),
                variant,
                fallback: Some("popularity"),
                profile: None,
                served: None,
            };
        };
        let (profile, profile_failed) = self.profile(user_id, &served, storage).await;
        if profile_failed && fallback.is_none() {
            fallback = Some("profile");
        }
        let recommendations: Vec<Recommendation> =
            served.recommender.recommend(&profile, count, user_id ^ now_ms.to_bits());
        let items = recommendations
            .iter()
            .filter_map(|r| served.recommender.movie_id(r.item).map(|id| (id.to_owned(), r.score, r.item)))
            .collect();
        ServedList {
            items,
            version: served.version.clone(),
            variant,
            fallback,
            profile: Some(profile),
            served: Some(served),
        }
    }

    /// The user's published profile, or a cold one. The flag is set when storage failed
    /// (as opposed to the user simply having no profile).
    async fn profile<S: Storage>(&self, user_id: u64, served: &Served, storage: &S) -> (UserProfile, bool) {
        let cold = UserProfile::cold(user_id, Default::default());
        if served.version == models::DEFAULT_VERSION {
            return (cold, false);
        }
        let shard = shard_of(user_id, served.recommender.shard_count());
        let cached = self.cache.borrow_mut().shard(&served.version, shard);
        let decoded = match cached {
            Some(decoded) => decoded,
            None => match storage.get_blob(&models::shard_key(&served.version, shard)).await {
                Ok(Some(bytes)) => match ProfileShard::from_blob(&bytes) {
                    Ok(decoded) => {
                        let decoded = std::rc::Rc::new(decoded);
                        self.cache.borrow_mut().insert_shard(&served.version, shard, decoded.clone());
                        decoded
                    }
                    Err(_) => return (cold, true),
                },
                Ok(None) => return (cold, false),
                Err(_) => return (cold, true),
            },
        };
        match served.recommender.lookup_profile(&decoded, user_id) {
            Ok(Some(profile)) => (profile, false),
            Ok(None) => (cold, false),
            Err(_) => (cold, true),
        }
    }
}

/// `?n=`: how many items the JSON route answers with.
fn requested_count(request: &Request) -> Result<usize, AppError> {
    match request.query_param("n") {
        None => Ok(MAX_RECOMMENDATIONS),
        Some(text) => match text.parse::<usize>() {
            Ok(n) if (1..=MAX_JSON_ITEMS).contains(&n) => Ok(n),
            _ => Err(AppError::BadRequest(format!("n must be an integer from 1 to {MAX_JSON_ITEMS}"))),
        },
    }
}

/// The JSON route's items: ids and scores, and each item's top three feature contributions
/// when asked to explain.
fn json_items(served: &ServedList, explain: bool) -> Vec<serde_json::Value> {
    served
        .items
        .iter()
        .map(|(id, score, item)| {
            let mut entry = json!({ "movie_id": id, "score": score });
            if let (true, Some(served_model), Some(profile)) = (explain, &served.served, &served.profile) {
                let reasons = served_model.recommender.explain(profile, *item, 3).unwrap_or_default();
                entry["explanation"] = reasons
                    .into_iter()
                    .map(|(feature, contribution)| json!({ "feature": feature, "contribution": contribution }))
                    .collect();
            }
            entry
        })
        .collect()
}

//! `GET /recommend/<user>` (the original contract: text/plain, up to 20 comma-separated ids),
//! `GET /v1/recommend/<user>?n=20&explain=1` (JSON with scores and explanations), and the
//! admin playground's `GET /v1/admin/recommend/<user>?version=&seed=`, which answers the same
//! JSON from the same serving path without logging an impression.
//!
//! The public routes always answer a list: storage or model trouble degrades to the last
//! good model, then the embedded default, then the configured popularity list, and the
//! `x-marquee-fallback` header says which.

use marquee_data::experiment::ExperimentMode;
use marquee_data::interleave::{team_draft, teams_string, Team};
use marquee_data::{parse_user_id, EdgeKind, EdgeRow};
use marquee_model::recommend::{shard_of, CandidateSource, ProfileShard, Recommendation, UserProfile};
use serde_json::json;

use super::error::AppError;
use super::models::{self, valid_version, Served};
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

/// What to serve: for whom, how many, from which version and with which seed.
#[derive(Clone, Copy)]
pub(super) struct ListRequest<'a> {
    pub user_id: u64,
    pub count: usize,
    /// A version to serve exactly, with no fallback (`default` names the embedded model);
    /// `None` serves what the user is assigned, with every fallback.
    pub version: Option<&'a str>,
    /// Picks the reranker's exploration slot.
    pub seed: u64,
}

/// The model a user is served and how it was chosen.
pub(super) struct Resolved {
    /// The user's A/B variant.
    pub variant: String,
    /// `None` when not even the embedded model loaded.
    pub served: Option<Served>,
    /// Why the model is not the one wanted, if it is not.
    pub fallback: Option<&'static str>,
}

/// One movie of a served list.
struct ServedItem {
    movie_id: String,
    score: f32,
    /// The catalog index (0 for the popularity list, which has no model to explain with).
    item: u32,
    source: CandidateSource,
}

/// What one request was served.
pub(super) struct ServedList {
    items: Vec<ServedItem>,
    version: String,
    variant: String,
    fallback: Option<&'static str>,
    profile: Option<UserProfile>,
    /// Whether the user's published profile was found (otherwise the list is cold-start).
    profile_found: bool,
    served: Option<Served>,
    seed: u64,
    /// An interleaved list's teams, one letter per item (`A`: the first variant's).
    teams: Option<String>,
}

/// The seed the public routes serve with: the user and the request's time, mixed.
fn default_seed(user_id: u64, now_ms: f64) -> u64 {
    user_id ^ now_ms.to_bits()
}

impl App {
    /// Answers a list and logs it as an impression after the response.
    pub(super) async fn recommend<S: Storage>(
        &self,
        call: &Call<'_, S>,
        format: ListFormat,
    ) -> Result<Response, AppError> {
        let user_id = user_param(call)?;
        let (count, explain) = match format {
            ListFormat::Text => (MAX_RECOMMENDATIONS, false),
            ListFormat::Json => (requested_count(call.request)?, explain_param(call.request)?),
        };
        let now_ms = call.now();
        let request = ListRequest { user_id, count, version: None, seed: default_seed(user_id, now_ms) };
        // Settings first: they say whether an interleaving experiment is running. (Read
        // here, the later read in `resolve` is a cache hit, so a failure is carried over.)
        let settings_failed = self.refresh_settings(call.storage, now_ms).await.is_err();
        let interleaved = match self.interleaved_versions() {
            Some((a, b)) => self.serve_interleaved(&request, (&a, &b), call.storage, now_ms).await,
            None => None,
        };
        let mut served = match interleaved {
            Some(served) => served,
            None => self.serve(&request, call.storage, now_ms).await?,
        };
        if settings_failed && served.fallback.is_none() {
            served.fallback = Some("storage");
        }
        let recommendation_id = self.recommendation_id();
        let latency_us = ((call.now() - call.started_ms).max(0.0) * 1000.0) as i64;

        let ids: Vec<&str> = served.items.iter().map(|item| item.movie_id.as_str()).collect();
        let mut response = match format {
            ListFormat::Json => Response::json(200, &list_json(user_id, &served, &recommendation_id, now_ms, explain)),
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
            teams: served.teams.clone(),
        }));
        Ok(response)
    }

    /// `GET /v1/admin/recommend/<user>?version=&seed=&n=`: what `/v1/recommend/<user>?explain=1`
    /// answers, from an explicit version and seed if given, plus whether the user's profile
    /// was found. It logs nothing: it is the admin playground's parity check.
    pub(super) async fn admin_recommend<S: Storage>(&self, call: &Call<'_, S>) -> Result<Response, AppError> {
        let request = call.request;
        let user_id = user_param(call)?;
        let count = requested_count(request)?;
        let version = request.query_param("version").map(version_query).transpose()?;
        let now_ms = call.now();
        let seed = match request.query_param("seed") {
            None => default_seed(user_id, now_ms),
            Some(text) => {
                text.parse().map_err(|_| AppError::BadRequest("seed must be a whole number below 2^64".into()))?
            }
        };
        let served = self.serve(&ListRequest { user_id, count, version, seed }, call.storage, now_ms).await?;
        let mut body = list_json(user_id, &served, &self.recommendation_id(), now_ms, true);
        body["profile_found"] = served.profile_found.into();
        Ok(Response::json(200, &body))
    }

    /// The model for `user_id`: `version` exactly if given (an error if it cannot be loaded),
    /// otherwise the user's variant's version, else the active one, else the embedded default,
    /// with every fallback.
    pub(super) async fn resolve<S: Storage>(
        &self,
        user_id: u64,
        version: Option<&str>,
        storage: &S,
        now_ms: f64,
    ) -> Result<Resolved, AppError> {
        let settings_failed = self.refresh_settings(storage, now_ms).await.is_err();
        let (variant, wanted) = {
            let cache = self.cache.borrow();
            let variant = cache.settings.experiment.assign(user_id).clone();
            let wanted = variant.version.clone().or_else(|| cache.settings.active.clone());
            (variant.name, wanted)
        };
        if let Some(version) = version {
            let served = if version == models::DEFAULT_VERSION {
                self.cache.borrow().default_model().cloned()
            } else {
                self.load_version(storage, version, now_ms).await
            };
            return match served {
                Some(served) => Ok(Resolved { variant, served: Some(served), fallback: None }),
                None => Err(AppError::Missing(format!("version {version} cannot be loaded"))),
            };
        }
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
        Ok(Resolved { variant, served, fallback })
    }

    /// The list for one request. Only an explicit version that cannot be loaded is an error;
    /// anything else degrades to a fallback.
    async fn serve<S: Storage>(
        &self,
        request: &ListRequest<'_>,
        storage: &S,
        now_ms: f64,
    ) -> Result<ServedList, AppError> {
        let ListRequest { user_id, count, version, seed } = *request;
        let Resolved { variant, served, mut fallback } = self.resolve(user_id, version, storage, now_ms).await?;
        let Some(served) = served else {
            // Not even the embedded model: the configured popularity list.
            let items = self
                .config
                .fallback_movies()
                .into_iter()
                .take(count)
                .map(|id| ServedItem { movie_id: id.to_owned(), score: 0.0, item: 0, source: CandidateSource::Popular })
                .collect();
            return Ok(ServedList {
                items,
                version: "none".into(),
                variant,
                fallback: Some("popularity"),
                profile: None,
                profile_found: false,
                served: None,
                seed,
                teams: None,
            });
        };
        let (found, profile_failed) = self.profile(user_id, &served, storage).await;
        if profile_failed && fallback.is_none() {
            fallback = Some("profile");
        }
        let profile_found = found.is_some();
        let profile = found.unwrap_or_else(|| UserProfile::cold(user_id, Default::default()));
        let recommendations: Vec<Recommendation> = served.recommender.recommend(&profile, count, seed);
        let items = recommendations
            .iter()
            .filter_map(|r| {
                let movie_id = served.recommender.movie_id(r.item)?.to_owned();
                Some(ServedItem { movie_id, score: r.score, item: r.item, source: r.source })
            })
            .collect();
        Ok(ServedList {
            items,
            version: served.version.clone(),
            variant,
            fallback,
            profile: Some(profile),
            profile_found,
            served: Some(served),
            seed,
            teams: None,
        })
    }

    /// The two versions an interleaving experiment merges, if one is running: each variant's
    /// version, or the active one (the embedded default when none is active).
    pub(super) fn interleaved_versions(&self) -> Option<(String, String)> {
        let cache = self.cache.borrow();
        let experiment = &cache.settings.experiment;
        if experiment.mode != ExperimentMode::Interleave {
            return None;
        }
        let version = |index: usize| {
            experiment.variants.get(index).map(|variant| {
                variant
                    .version
                    .clone()
                    .or_else(|| cache.settings.active.clone())
                    .unwrap_or_else(|| models::DEFAULT_VERSION.to_owned())
            })
        };
        Some((version(0)?, version(1)?))
    }

    /// A team-draft interleaving of the two versions' lists for the user
    /// ([`marquee_data::interleave::team_draft`]), or `None` when either cannot be served
    /// exactly (the caller then serves the user's ordinary list).
    async fn serve_interleaved<S: Storage>(
        &self,
        request: &ListRequest<'_>,
        (a, b): (&str, &str),
        storage: &S,
        now_ms: f64,
    ) -> Option<ServedList> {
        let first = self.serve(&ListRequest { version: Some(a), ..*request }, storage, now_ms).await.ok()?;
        let second = self.serve(&ListRequest { version: Some(b), ..*request }, storage, now_ms).await.ok()?;
        let ids = |list: &ServedList| list.items.iter().map(|item| item.movie_id.clone()).collect::<Vec<_>>();
        let (ids_a, ids_b) = (ids(&first), ids(&second));
        let merged = team_draft(&ids_a, &ids_b, request.count, request.seed);
        let teams = teams_string(&merged);
        let picked: Vec<(String, Team)> = merged.iter().map(|(id, team)| ((*id).to_owned(), *team)).collect();
        let ServedList { items: items_a, version: version_a, profile, profile_found, served, fallback, .. } = first;
        let ServedList { items: items_b, version: version_b, fallback: fallback_b, .. } = second;
        let mut from_a: Vec<Option<ServedItem>> = items_a.into_iter().map(Some).collect();
        let mut from_b: Vec<Option<ServedItem>> = items_b.into_iter().map(Some).collect();
        let items = picked
            .iter()
            .filter_map(|(id, team)| {
                let pool = if *team == Team::A { &mut from_a } else { &mut from_b };
                pool.iter_mut().find(|slot| slot.as_ref().is_some_and(|item| &item.movie_id == id))?.take()
            })
            .collect();
        Some(ServedList {
            items,
            version: format!("{version_a}+{version_b}"),
            variant: "interleave".into(),
            fallback: fallback.or(fallback_b),
            profile,
            profile_found,
            served,
            seed: request.seed,
            teams: Some(teams),
        })
    }

    /// The user's published profile, if the version's shard holds it. The flag is set when
    /// storage or the shard failed (as opposed to the user simply having no profile).
    pub(super) async fn profile<S: Storage>(
        &self,
        user_id: u64,
        served: &Served,
        storage: &S,
    ) -> (Option<UserProfile>, bool) {
        if served.version == models::DEFAULT_VERSION {
            return (None, false);
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
                    Err(_) => return (None, true),
                },
                Ok(None) => return (None, false),
                Err(_) => return (None, true),
            },
        };
        match served.recommender.lookup_profile(&decoded, user_id) {
            Ok(found) => (found, false),
            Err(_) => (None, true),
        }
    }
}

/// The `{user}` of a path, checked.
pub(super) fn user_param<S>(call: &Call<'_, S>) -> Result<u64, AppError> {
    parse_user_id(call.params.get("user")).map_err(|error| AppError::BadRequest(error.to_string()))
}

/// A `?version=`: an uploadable version name or `default`.
fn version_query(version: &str) -> Result<&str, AppError> {
    if version == models::DEFAULT_VERSION || valid_version(version) {
        Ok(version)
    } else {
        Err(AppError::BadRequest("version must be \"default\" or 1 to 64 letters, digits, '-', '_' or '.'".into()))
    }
}

/// `?explain=`: `1` or `true` adds each item's top feature contributions; `0`, `false` or
/// no parameter leaves them out; anything else is refused rather than silently ignored.
fn explain_param(request: &Request) -> Result<bool, AppError> {
    match request.query_param("explain") {
        None | Some("0" | "false") => Ok(false),
        Some("1" | "true") => Ok(true),
        Some(_) => Err(AppError::BadRequest("explain must be 1, true, 0 or false".into())),
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

/// The JSON answer both `/v1/recommend` and the admin playground give: the items with their
/// scores and sources (and each item's top three feature contributions when asked to
/// explain), the version, variant, recommendation id and seed (a string: it is a u64, which
/// a JavaScript number would round).
/// The JSON list. `served_ms` is the impression's time (the edge's clock), so that a client
/// can date its events after it.
fn list_json(
    user_id: u64,
    served: &ServedList,
    recommendation_id: &str,
    served_ms: f64,
    explain: bool,
) -> serde_json::Value {
    let items: Vec<serde_json::Value> = served
        .items
        .iter()
        .map(|item| {
            let mut entry = json!({ "movie_id": item.movie_id, "score": item.score, "source": item.source.name() });
            if let (true, Some(served_model), Some(profile)) = (explain, &served.served, &served.profile) {
                let reasons = served_model.recommender.explain(profile, item.item, 3).unwrap_or_default();
                entry["explanation"] = reasons
                    .into_iter()
                    .map(|(feature, contribution)| json!({ "feature": feature, "contribution": contribution }))
                    .collect();
            }
            entry
        })
        .collect();
    json!({
        "user_id": user_id,
        "items": items,
        "model_version": served.version,
        "variant": served.variant,
        "recommendation_id": recommendation_id,
        "served_ms": served_ms as i64,
        "fallback": served.fallback,
        "seed": served.seed.to_string(),
        "teams": served.teams,
    })
}

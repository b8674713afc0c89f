//! The admin API under `/v1/admin/` (bearer token checked before any of this runs):
//! upload and validate blobs, list versions, activate and roll back, set the experiment,
//! and page through the log.

use marquee_model::recommend::{ProfileShard, Recommender};
use serde_json::json;

use super::error::AppError;
use super::experiment::Experiment;
use super::models::{self, valid_version};
use super::storage::{SqlValue, Statement, Storage};
use super::{set_setting, App, Params, Request, Response, Route};

/// The largest blob accepted (workerd's request-body limit is about 100 MB).
const MAX_BLOB_BYTES: usize = 96 << 20;

impl App {
    pub(super) async fn admin<S: Storage>(
        &self,
        route: Route,
        params: &Params,
        request: &Request,
        storage: &S,
        now_ms: f64,
    ) -> Result<Response, AppError> {
        let method = request.method.as_str();
        let version = params.get("version");
        if matches!(route, Route::AdminRecommender | Route::AdminProfiles | Route::AdminActivate)
            && !valid_version(version)
        {
            return Err(AppError::BadRequest(format!(
                "malformed version {:?}: 1 to 64 letters, digits, '-', '_' or '.', and not \"default\"",
                version.chars().take(64).collect::<String>()
            )));
        }
        match (route, method) {
            (Route::AdminModels, "GET") => self.list_versions(storage).await,
            (Route::AdminRecommender, "PUT") => {
                let response = upload_recommender(version, request, storage, now_ms).await?;
                // A re-upload replaces whatever this isolate had loaded or given up on.
                self.cache.borrow_mut().forget(version);
                Ok(response)
            }
            (Route::AdminProfiles, "PUT") => {
                // The version's recommender from the cache (uploads come in thousands).
                let served = self.load_version(storage, version, now_ms).await.ok_or_else(|| {
                    AppError::Conflict(format!("upload version {version}'s recommender before its profiles"))
                })?;
                upload_shard(version, params.get("shard"), &served.recommender, request, storage).await
            }
            (Route::AdminActivate, "POST") => self.activate(version, storage).await,
            (Route::AdminRollback, "POST") => self.rollback(storage).await,
            (Route::AdminExperiment, "GET") => {
                self.cache.borrow_mut().settings_read_ms = None;
                self.refresh_settings(storage, now_ms).await?;
                let experiment = self.cache.borrow().settings.experiment.clone();
                Ok(Response::json(200, &serde_json::to_value(experiment).unwrap_or_default()))
            }
            (Route::AdminExperiment, "PUT") => {
                let experiment: Experiment = serde_json::from_slice(&request.body)
                    .map_err(|error| AppError::BadRequest(format!("invalid experiment JSON: {error}")))?;
                experiment.validate()?;
                for variant in &experiment.variants {
                    if let Some(version) = &variant.version {
                        self.require_version(version, storage).await?;
                    }
                }
                let text = serde_json::to_string(&experiment).unwrap_or_default();
                storage.execute(&[set_setting("experiment", text)]).await?;
                self.cache.borrow_mut().settings_read_ms = None;
                Ok(Response::json(200, &serde_json::to_value(experiment).unwrap_or_default()))
            }
            (Route::AdminLog, "GET") => page_log(request, storage).await,
            (Route::AdminModels | Route::AdminRollback | Route::AdminActivate, _) => {
                Err(AppError::MethodNotAllowed(if route == Route::AdminModels { "GET" } else { "POST" }))
            }
            (Route::AdminRecommender | Route::AdminProfiles, _) => Err(AppError::MethodNotAllowed("PUT")),
            (Route::AdminExperiment, _) => Err(AppError::MethodNotAllowed("GET, PUT")),
            (Route::AdminLog, _) => Err(AppError::MethodNotAllowed("GET")),
            _ => Err(AppError::NotFound),
        }
    }

    async fn list_versions<S: Storage>(&self, storage: &S) -> Result<Response, AppError> {
        let rows = storage
            .query(&Statement::new(
                "SELECT version, uploaded_ms, recommender_size, shard_count, movies FROM model_versions ORDER BY uploaded_ms",
                Vec::new(),
            ))
            .await?;
        let settings = storage.query(&Statement::new("SELECT key, value FROM settings", Vec::new())).await?;
        let setting = |key: &str| {
            settings
                .iter()
                .find(|row| row.get("key").and_then(|v| v.as_str()) == Some(key))
                .and_then(|row| row.get("value").cloned())
        };
        Ok(Response::json(
            200,
            &json!({ "active": setting("active_version"), "previous": setting("previous_version"), "versions": rows }),
        ))
    }

    async fn require_version<S: Storage>(&self, version: &str, storage: &S) -> Result<(), AppError> {
        let rows = storage
            .query(&Statement::new(
                "SELECT version FROM model_versions WHERE version = ?1",
                vec![SqlValue::from(version)],
            ))
            .await?;
        if rows.is_empty() {
            return Err(AppError::Conflict(format!("version {version} has not been uploaded")));
        }
        Ok(())
    }

    async fn activate<S: Storage>(&self, version: &str, storage: &S) -> Result<Response, AppError> {
        self.require_version(version, storage).await?;
        let current = self.current_active(storage).await?;
        let mut statements = vec![set_setting("active_version", version.to_owned())];
        if let Some(current) = current.filter(|current| current != version) {
            statements.push(set_setting("previous_version", current));
        }
        storage.execute(&statements).await?;
        self.cache.borrow_mut().settings_read_ms = None;
        Ok(Response::json(200, &json!({ "active": version })))
    }

    async fn rollback<S: Storage>(&self, storage: &S) -> Result<Response, AppError> {
        let rows = storage
            .query(&Statement::new("SELECT value FROM settings WHERE key = 'previous_version'", Vec::new()))
            .await?;
        let Some(previous) = rows.first().and_then(|row| row.get("value")?.as_str().map(str::to_owned)) else {
            return Err(AppError::Conflict("there is no previous version to roll back to".into()));
        };
        self.activate(&previous, storage).await
    }

    async fn current_active<S: Storage>(&self, storage: &S) -> Result<Option<String>, AppError> {
        let rows = storage
            .query(&Statement::new("SELECT value FROM settings WHERE key = 'active_version'", Vec::new()))
            .await?;
        Ok(rows.first().and_then(|row| row.get("value")?.as_str().map(str::to_owned)))
    }
}

async fn upload_recommender<S: Storage>(
    version: &str,
    request: &Request,
    storage: &S,
    now_ms: f64,
) -> Result<Response, AppError> {
    if request.body.len() > MAX_BLOB_BYTES {
        return Err(AppError::TooLarge { limit: MAX_BLOB_BYTES });
    }
    let recommender = Recommender::from_blob(&request.body)
        .map_err(|error| AppError::Unprocessable(format!("not a valid recommender blob: {error}")))?;
    storage.put_blob(&models::recommender_key(version), &request.body).await?;
    storage
        .execute(&[Statement::new(
            "INSERT INTO model_versions (version, uploaded_ms, recommender_size, shard_count, movies) \
             VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (version) DO UPDATE SET uploaded_ms = excluded.uploaded_ms, \
             recommender_size = excluded.recommender_size, shard_count = excluded.shard_count, movies = excluded.movies",
            vec![
                SqlValue::from(version),
                SqlValue::Integer(now_ms as i64),
                SqlValue::Integer(request.body.len() as i64),
                SqlValue::Integer(i64::from(recommender.shard_count())),
                SqlValue::Integer(recommender.catalog().len() as i64),
            ],
        )])
        .await?;
    Ok(Response::json(
        201,
        &json!({ "version": version, "bytes": request.body.len(), "shard_count": recommender.shard_count(), "movies": recommender.catalog().len() }),
    ))
}

async fn upload_shard<S: Storage>(
    version: &str,
    shard_text: &str,
    recommender: &Recommender,
    request: &Request,
    storage: &S,
) -> Result<Response, AppError> {
    if request.body.len() > MAX_BLOB_BYTES {
        return Err(AppError::TooLarge { limit: MAX_BLOB_BYTES });
    }
    let shard_number: u32 =
        shard_text.parse().map_err(|_| AppError::BadRequest(format!("malformed shard number {shard_text:?}")))?;
    // The shard must belong to the version's recommender: same catalog, same shard layout.
    let shard = ProfileShard::from_blob(&request.body)
        .map_err(|error| AppError::Unprocessable(format!("not a valid profile shard: {error}")))?;
    if shard.catalog_fingerprint() != recommender.fingerprint() {
        return Err(AppError::Unprocessable(format!(
            "the shard was built for another catalog than version {version}'s"
        )));
    }
    if shard.position() != (shard_number, recommender.shard_count()) {
        return Err(AppError::Unprocessable(format!(
            "the blob is shard {} of {}, not shard {shard_number} of {}",
            shard.position().0,
            shard.position().1,
            recommender.shard_count()
        )));
    }
    storage.put_blob(&models::shard_key(version, shard_number), &request.body).await?;
    Ok(Response::json(201, &json!({ "version": version, "shard": shard_number, "profiles": shard.len() })))
}

/// `?since=<seq>&limit=<n>`: log rows after `since`, oldest first, as NDJSON. The
/// `x-marquee-next-cursor` header is the `since` of the next page.
async fn page_log<S: Storage>(request: &Request, storage: &S) -> Result<Response, AppError> {
    let since: i64 = match request.query_param("since") {
        None => 0,
        Some(text) => text.parse().map_err(|_| AppError::BadRequest("since must be an integer cursor".into()))?,
    };
    let limit: i64 = match request.query_param("limit") {
        None => 1000,
        Some(text) => match text.parse() {
            Ok(limit @ 1..=10_000) => limit,
            _ => return Err(AppError::BadRequest("limit must be 1 to 10000".into())),
        },
    };
    let rows = storage
        .query(&Statement::new(
            "SELECT seq, id, kind, time_ms, user_id, movie_id, value, variant, version, ref, latency_us \
             FROM log WHERE seq > ?1 ORDER BY seq LIMIT ?2",
            vec![SqlValue::Integer(since), SqlValue::Integer(limit)],
        ))
        .await?;
    let next = rows.last().and_then(|row| row.get("seq")?.as_i64()).unwrap_or(since);
    let mut body = String::new();
    for row in &rows {
        body.push_str(&serde_json::Value::Object(row.clone()).to_string());
        body.push('\n');
    }
    let mut response = Response::ndjson(200, body);
    response.headers.push(("x-marquee-next-cursor", next.to_string()));
    Ok(response)
}

//! The admin API under `/v1/admin/` (the bearer token is checked before any of this runs):
//! upload and validate blobs, list versions, activate and roll back, set the experiment,
//! and page through the log.

use marquee_model::recommend::{ProfileShard, Recommender};
use serde_json::json;

use super::error::AppError;
use super::experiment::Experiment;
use super::models::{self, valid_version};
use super::queries::{self, ModelVersionRow, SettingKey};
use super::storage::Storage;
use super::{App, Call, Response};

/// The largest blob accepted (workerd's request-body limit is about 100 MB).
const MAX_BLOB_BYTES: usize = 96 << 20;

/// The most log rows one page may hold, and how many a page holds by default.
const MAX_LOG_PAGE: i64 = 10_000;
const DEFAULT_LOG_PAGE: i64 = 1_000;

/// The `{version}` of an admin path, checked.
pub(super) fn version_param<'r, S>(call: &Call<'r, S>) -> Result<&'r str, AppError> {
    let version = call.params.get("version");
    if valid_version(version) {
        Ok(version)
    } else {
        Err(AppError::BadRequest(format!(
            "malformed version {:?}: 1 to 64 letters, digits, '-', '_' or '.', and not \"default\"",
            version.chars().take(64).collect::<String>()
        )))
    }
}

impl App {
    /// `GET /v1/admin/models`: every uploaded version, and which are active and previous.
    pub(super) async fn list_versions<S: Storage>(&self, call: &Call<'_, S>) -> Result<Response, AppError> {
        let versions = queries::model_versions(call.storage).await?;
        let settings = queries::read_settings(call.storage).await?;
        Ok(Response::json(
            200,
            &json!({ "active": settings.active_version, "previous": settings.previous_version, "versions": versions }),
        ))
    }

    /// `PUT /v1/admin/models/<v>/recommender`: a recommender blob, validated before it is stored.
    pub(super) async fn put_recommender<S: Storage>(&self, call: &Call<'_, S>) -> Result<Response, AppError> {
        let version = version_param(call)?;
        let body = &call.request.body;
        if body.len() > MAX_BLOB_BYTES {
            return Err(AppError::TooLarge { limit: MAX_BLOB_BYTES });
        }
        let recommender = Recommender::from_blob(body)
            .map_err(|error| AppError::Unprocessable(format!("not a valid recommender blob: {error}")))?;
        call.storage.put_blob(&models::recommender_key(version), body).await?;
        let row = ModelVersionRow {
            version: version.to_owned(),
            uploaded_ms: call.now() as i64,
            recommender_size: body.len() as i64,
            shard_count: i64::from(recommender.shard_count()),
            movies: recommender.catalog().len() as i64,
        };
        call.storage.execute(&[queries::upsert_model_version(&row)]).await?;
        // A re-upload replaces whatever this isolate had loaded or given up on.
        self.cache.borrow_mut().forget(version);
        Ok(Response::json(
            201,
            &json!({ "version": version, "bytes": body.len(), "shard_count": row.shard_count, "movies": row.movies }),
        ))
    }

    /// `PUT /v1/admin/models/<v>/profiles/<n>`: one profile shard, which must belong to the
    /// version's recommender (same catalog, same shard layout).
    pub(super) async fn put_profile_shard<S: Storage>(&self, call: &Call<'_, S>) -> Result<Response, AppError> {
        let version = version_param(call)?;
        let body = &call.request.body;
        if body.len() > MAX_BLOB_BYTES {
            return Err(AppError::TooLarge { limit: MAX_BLOB_BYTES });
        }
        // The version's recommender comes from the cache (uploads come in thousands).
        let served = self
            .load_version(call.storage, version, call.now())
            .await
            .ok_or_else(|| AppError::Conflict(format!("upload version {version}'s recommender before its profiles")))?;
        let recommender = &served.recommender;
        let shard_text = call.params.get("shard");
        let shard_number: u32 =
            shard_text.parse().map_err(|_| AppError::BadRequest(format!("malformed shard number {shard_text:?}")))?;
        let shard = ProfileShard::from_blob(body)
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
        call.storage.put_blob(&models::shard_key(version, shard_number), body).await?;
        Ok(Response::json(201, &json!({ "version": version, "shard": shard_number, "profiles": shard.len() })))
    }

    /// Makes `version` the active one; the one it replaces becomes the previous.
    pub(super) async fn activate<S: Storage>(&self, version: &str, storage: &S) -> Result<Response, AppError> {
        self.require_version(version, storage).await?;
        let current = queries::read_settings(storage).await?.active_version;
        let mut statements = vec![queries::write_setting(SettingKey::ActiveVersion, version.to_owned())];
        if let Some(current) = current.filter(|current| current != version) {
            statements.push(queries::write_setting(SettingKey::PreviousVersion, current));
        }
        storage.execute(&statements).await?;
        self.cache.borrow_mut().settings_read_ms = None;
        Ok(Response::json(200, &json!({ "active": version })))
    }

    /// `POST /v1/admin/rollback`: activates the previous version.
    pub(super) async fn rollback<S: Storage>(&self, storage: &S) -> Result<Response, AppError> {
        let Some(previous) = queries::read_settings(storage).await?.previous_version else {
            return Err(AppError::Conflict("there is no previous version to roll back to".into()));
        };
        self.activate(&previous, storage).await
    }

    /// `GET /v1/admin/experiment`: the experiment as stored now (not as cached).
    pub(super) async fn get_experiment<S: Storage>(&self, call: &Call<'_, S>) -> Result<Response, AppError> {
        self.cache.borrow_mut().settings_read_ms = None;
        self.refresh_settings(call.storage, call.now()).await?;
        let experiment = self.cache.borrow().settings.experiment.clone();
        Ok(Response::json(200, &serde_json::to_value(experiment).unwrap_or_default()))
    }

    /// `PUT /v1/admin/experiment`: validated, and every version it names must be uploaded.
    pub(super) async fn put_experiment<S: Storage>(&self, call: &Call<'_, S>) -> Result<Response, AppError> {
        let experiment: Experiment = serde_json::from_slice(&call.request.body)
            .map_err(|error| AppError::BadRequest(format!("invalid experiment JSON: {error}")))?;
        experiment.validate()?;
        for version in experiment.variants.iter().filter_map(|variant| variant.version.as_deref()) {
            self.require_version(version, call.storage).await?;
        }
        let text = serde_json::to_string(&experiment).unwrap_or_default();
        call.storage.execute(&[queries::write_setting(SettingKey::Experiment, text)]).await?;
        self.cache.borrow_mut().settings_read_ms = None;
        Ok(Response::json(200, &serde_json::to_value(experiment).unwrap_or_default()))
    }

    async fn require_version<S: Storage>(&self, version: &str, storage: &S) -> Result<(), AppError> {
        if queries::model_version_exists(storage, version).await? {
            Ok(())
        } else {
            Err(AppError::Conflict(format!("version {version} has not been uploaded")))
        }
    }
}

/// `GET /v1/admin/log?since=<seq>&limit=<n>`: log rows after `since`, oldest first, as
/// NDJSON. The `x-marquee-next-cursor` header is the `since` of the next page.
pub(super) async fn read_log<S: Storage>(call: &Call<'_, S>) -> Result<Response, AppError> {
    let request = call.request;
    let since: i64 = match request.query_param("since") {
        None => 0,
        Some(text) => text.parse().map_err(|_| AppError::BadRequest("since must be an integer cursor".into()))?,
    };
    let limit: i64 = match request.query_param("limit") {
        None => DEFAULT_LOG_PAGE,
        Some(text) => match text.parse() {
            Ok(limit @ 1..=MAX_LOG_PAGE) => limit,
            _ => return Err(AppError::BadRequest(format!("limit must be 1 to {MAX_LOG_PAGE}"))),
        },
    };
    let rows = queries::log_page(call.storage, since, limit).await?;
    let next = rows.last().map_or(since, |row| row.seq);
    let mut body = String::new();
    for row in &rows {
        body.push_str(&serde_json::to_string(row).unwrap_or_default());
        body.push('\n');
    }
    let mut response = Response::ndjson(200, body);
    response.headers.push(("x-marquee-next-cursor", next.to_string()));
    Ok(response)
}

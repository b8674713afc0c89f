//! The admin API under `/v1/admin/` (the bearer token is checked before any of this runs):
//! upload, validate and download blobs and manifests, list versions, activate and roll
//! back, set the experiment, and page through the log.

use marquee_model::manifest::Manifest;
use marquee_model::read_header;
use marquee_model::recommend::{ProfileShard, Recommender};
use serde_json::json;

use super::error::AppError;
use super::experiment::Experiment;
use super::models::{self, valid_version, DEFAULT_MODEL, DEFAULT_VERSION};
use super::queries::{self, ListedVersion, ModelVersionRow, SettingKey};
use super::storage::Storage;
use super::{App, Call, Request, Response};

/// The largest blob accepted (workerd's request-body limit is about 100 MB).
pub(super) const MAX_BLOB_BYTES: usize = 96 << 20;

/// The largest manifest accepted (one names every shard: about 60 bytes each).
pub(super) const MAX_MANIFEST_BYTES: usize = 1 << 20;

/// The largest experiment accepted (a few variants, each a name, a version and a weight).
pub(super) const MAX_EXPERIMENT_BYTES: usize = 64 << 10;

/// The most log rows one page may hold, and how many a page holds by default.
const MAX_LOG_PAGE: i64 = 10_000;
const DEFAULT_LOG_PAGE: i64 = 1_000;

/// A 64-bit hash as the listing shows it: 16 lowercase hex digits.
fn hex64(value: u64) -> String {
    format!("{value:016x}")
}

/// The `{version}` of a download path: an uploadable name, or `default` for the embedded model.
fn download_version_param<'r, S>(call: &Call<'r, S>) -> Result<&'r str, AppError> {
    match call.params.get("version") {
        DEFAULT_VERSION => Ok(DEFAULT_VERSION),
        _ => version_param(call),
    }
}

/// A blob download: the bytes, an `etag` of the header's body checksum (a version can be
/// re-uploaded, so caches must revalidate), and 304 when the client already has it.
fn blob_response(request: &Request, bytes: Vec<u8>) -> Response {
    let etag = read_header(&bytes).ok().map(|header| format!("\"{}\"", hex64(header.checksum)));
    let fresh = etag.as_deref().is_some_and(|etag| {
        request.header("if-none-match").is_some_and(|given| {
            given.split(',').map(|tag| tag.trim().trim_start_matches("W/")).any(|tag| tag == etag || tag == "*")
        })
    });
    let mut response = if fresh { Response::bytes(304, Vec::new()) } else { Response::bytes(200, bytes) };
    response.headers.push(("cache-control", "private, no-cache".into()));
    if let Some(etag) = etag {
        response.headers.push(("etag", etag));
    }
    response
}

/// The JSON of one listed version, with its manifest parsed.
fn version_json(row: &ListedVersion) -> serde_json::Value {
    let manifest = row.manifest.as_deref().and_then(|text| serde_json::from_str::<serde_json::Value>(text).ok());
    json!({
        "version": row.version,
        "uploaded_ms": row.uploaded_ms,
        "recommender_size": row.recommender_size,
        "shard_count": row.shard_count,
        "movies": row.movies,
        "schema_hash": row.schema_hash,
        "catalog_fingerprint": row.catalog_fingerprint,
        "format_version": row.format_version,
        "profiles_uploaded": row.profiles_uploaded,
        "profile_bytes": row.profile_bytes,
        "manifest": manifest,
    })
}

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
    /// `GET /v1/admin/models`: every uploaded version with its identity, shards and manifest,
    /// which are active and previous, and the embedded default model.
    pub(super) async fn list_versions<S: Storage>(&self, call: &Call<'_, S>) -> Result<Response, AppError> {
        let versions = queries::listed_versions(call.storage).await?;
        let settings = queries::read_settings(call.storage).await?;
        let default_model = self.cache.borrow().default_model().map(|served| {
            json!({
                "version": DEFAULT_VERSION,
                "movies": served.recommender.catalog().len(),
                "recommender_size": DEFAULT_MODEL.len(),
                "schema_hash": read_header(DEFAULT_MODEL).ok().map(|header| hex64(header.schema_hash)),
                "catalog_fingerprint": hex64(served.recommender.fingerprint()),
            })
        });
        Ok(Response::json(
            200,
            &json!({
                "active": settings.active_version,
                "previous": settings.previous_version,
                "versions": versions.iter().map(version_json).collect::<Vec<_>>(),
                "default_model": default_model,
            }),
        ))
    }

    /// `GET /v1/admin/models/<v>/recommender`: the blob as stored (`default`: the embedded one).
    pub(super) async fn get_recommender<S: Storage>(&self, call: &Call<'_, S>) -> Result<Response, AppError> {
        let version = download_version_param(call)?;
        let bytes = if version == DEFAULT_VERSION {
            DEFAULT_MODEL.to_vec()
        } else {
            call.storage
                .get_blob(&models::recommender_key(version))
                .await?
                .ok_or_else(|| AppError::Missing(format!("version {version} has no recommender")))?
        };
        Ok(blob_response(call.request, bytes))
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
        let header = read_header(body)
            .map_err(|error| AppError::Unprocessable(format!("not a valid recommender blob: {error}")))?;
        // Versions are immutable once they have a recommender: other isolates may be serving
        // the one stored, and shards uploaded for it would fail a new one's fingerprint. The
        // same bytes again (a retried publish) are answered as stored.
        if queries::model_version(call.storage, version).await?.is_some() {
            let stored = call.storage.get_blob(&models::recommender_key(version)).await?;
            if stored.as_deref() == Some(body.as_slice()) {
                return Ok(Response::json(
                    200,
                    &json!({ "version": version, "bytes": body.len(), "shard_count": recommender.shard_count(),
                             "movies": recommender.catalog().len(), "unchanged": true }),
                ));
            }
            return Err(AppError::Conflict(format!(
                "version {version} already has a different recommender; versions are immutable, so publish \
                 this one under a new version name"
            )));
        }
        call.storage.put_blob(&models::recommender_key(version), body).await?;
        let row = ModelVersionRow {
            version: version.to_owned(),
            uploaded_ms: call.now() as i64,
            recommender_size: body.len() as i64,
            shard_count: i64::from(recommender.shard_count()),
            movies: recommender.catalog().len() as i64,
            schema_hash: Some(hex64(header.schema_hash)),
            catalog_fingerprint: Some(hex64(recommender.fingerprint())),
            format_version: Some(i64::from(header.version)),
        };
        call.storage.execute(&[queries::upsert_model_version(&row)]).await?;
        // Whatever this isolate had given up on under this name (before it was uploaded).
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
        let shard_number = shard_param(call)?;
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
        call.storage.execute(&[queries::upsert_model_shard(version, shard_number, body.len(), shard.len())]).await?;
        Ok(Response::json(201, &json!({ "version": version, "shard": shard_number, "profiles": shard.len() })))
    }

    /// Makes `version` the active one; the one it replaces becomes the previous.
    pub(super) async fn activate<S: Storage>(
        &self,
        version: &str,
        storage: &S,
        now_ms: f64,
    ) -> Result<Response, AppError> {
        let Some(row) = queries::model_version(storage, version).await? else {
            return Err(AppError::Conflict(format!("version {version} has not been uploaded")));
        };
        // A half-published version would serve every user as cold: refuse it.
        let uploaded = queries::shards_uploaded(storage, version).await?;
        if uploaded < row.shard_count {
            return Err(AppError::Conflict(format!(
                "version {version} has {uploaded} of its {} profile shards; upload the rest before activating it",
                row.shard_count
            )));
        }
        let current = queries::read_settings(storage).await?.active_version;
        let mut statements = vec![
            queries::write_setting(SettingKey::ActiveVersion, version.to_owned()),
            queries::write_setting(SettingKey::ActiveSince, (now_ms as i64).to_string()),
        ];
        if let Some(current) = current.filter(|current| current != version) {
            statements.push(queries::write_setting(SettingKey::PreviousVersion, current));
        }
        storage.execute(&statements).await?;
        self.cache.borrow_mut().settings_read_ms = None;
        Ok(Response::json(200, &json!({ "active": version })))
    }

    /// `POST /v1/admin/rollback`: activates the previous version.
    pub(super) async fn rollback<S: Storage>(&self, storage: &S, now_ms: f64) -> Result<Response, AppError> {
        let Some(previous) = queries::read_settings(storage).await?.previous_version else {
            return Err(AppError::Conflict("there is no previous version to roll back to".into()));
        };
        self.activate(&previous, storage, now_ms).await
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
        if call.request.body.len() > MAX_EXPERIMENT_BYTES {
            return Err(AppError::TooLarge { limit: MAX_EXPERIMENT_BYTES });
        }
        let experiment: Experiment = serde_json::from_slice(&call.request.body)
            .map_err(|error| AppError::BadRequest(format!("invalid experiment JSON: {error}")))?;
        experiment.validate()?;
        for version in experiment.variants.iter().filter_map(|variant| variant.version.as_deref()) {
            self.require_version(version, call.storage).await?;
        }
        let text = serde_json::to_string(&experiment).unwrap_or_default();
        let started = (call.now() as i64).to_string();
        call.storage
            .execute(&[
                queries::write_setting(SettingKey::Experiment, text),
                queries::write_setting(SettingKey::ExperimentStarted, started),
            ])
            .await?;
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

/// The `{shard}` of an admin path, checked.
fn shard_param<S>(call: &Call<'_, S>) -> Result<u32, AppError> {
    let text = call.params.get("shard");
    text.parse().map_err(|_| AppError::BadRequest(format!("malformed shard number {text:?}")))
}

/// `GET /v1/admin/models/<v>/profiles/<n>`: one shard as stored (the embedded default
/// model has none).
pub(super) async fn get_profile_shard<S: Storage>(call: &Call<'_, S>) -> Result<Response, AppError> {
    let version = download_version_param(call)?;
    let shard = shard_param(call)?;
    if version == DEFAULT_VERSION {
        return Err(AppError::Missing("the default model has no profile shards".into()));
    }
    let bytes = call
        .storage
        .get_blob(&models::shard_key(version, shard))
        .await?
        .ok_or_else(|| AppError::Missing(format!("version {version} has no profile shard {shard}")))?;
    Ok(blob_response(call.request, bytes))
}

/// `PUT /v1/admin/models/<v>/manifest`: the train manifest, stored as uploaded once it is
/// known to describe the version's recommender (same size and shard count). Its own
/// `version` may differ from the path's: an upload may be named apart from the content hash.
pub(super) async fn put_manifest<S: Storage>(call: &Call<'_, S>) -> Result<Response, AppError> {
    let version = version_param(call)?;
    let body = &call.request.body;
    if body.len() > MAX_MANIFEST_BYTES {
        return Err(AppError::TooLarge { limit: MAX_MANIFEST_BYTES });
    }
    let manifest: Manifest = serde_json::from_slice(body)
        .map_err(|error| AppError::BadRequest(format!("not a marquee train manifest: {error}")))?;
    // It parsed as JSON, so it is UTF-8.
    let text = std::str::from_utf8(body).map_err(|_| AppError::BadRequest("the manifest is not UTF-8".into()))?;
    let Some(stored) = queries::model_version(call.storage, version).await? else {
        return Err(AppError::Conflict(format!("upload version {version}'s recommender before its manifest")));
    };
    let mismatch = |what: &str, manifest: String, stored: String| {
        Err(AppError::Unprocessable(format!(
            "the manifest's {what} is {manifest}, but version {version}'s upload has {stored}"
        )))
    };
    if manifest.recommender.bytes as i64 != stored.recommender_size {
        return mismatch(
            "recommender size",
            manifest.recommender.bytes.to_string(),
            stored.recommender_size.to_string(),
        );
    }
    if i64::from(manifest.shard_count) != stored.shard_count {
        return mismatch("shard count", manifest.shard_count.to_string(), stored.shard_count.to_string());
    }
    call.storage.execute(&[queries::set_manifest(version, text)]).await?;
    Ok(Response::json(201, &json!({ "version": version })))
}

/// `GET /v1/admin/log?since=<seq>&limit=<n>`: log rows after `since`, oldest first, as
/// NDJSON. The `x-marquee-next-cursor` header is the `since` of the next page. With
/// `?tail=1`, no rows and the cursor of the log's end.
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
    if request.query_param("tail").is_some() {
        // Where the log ends now: a reader that starts here sees only what is logged next.
        let end = queries::log_end(call.storage).await?;
        let mut response = Response::ndjson(200, String::new());
        response.headers.push(("x-marquee-next-cursor", end.to_string()));
        return Ok(response);
    }
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

//! Every SQL statement the edge runs, each behind a typed function, with the row types its
//! queries return. The tables are defined by `worker/migrations/`; D1 is SQLite, so the
//! native tests run these same statements against SQLite.
//!
//! Reads are `async` functions that run their query; writes return a [`Statement`] so
//! that the caller decides whether it runs now, in a batch, or after the response.

use marquee_data::EdgeRow;
use serde::{Deserialize, Serialize};

use super::storage::{SqlValue, Statement, Storage, StorageError};

// ---------------------------------------------------------------------------------------
// Settings: small mutable values (the active version, the previous one, the experiment).

/// The keys of the `settings` table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SettingKey {
    /// The model version the edge serves.
    ActiveVersion,
    /// The version that was active before it, which a rollback returns to.
    PreviousVersion,
    /// The A/B experiment, as JSON.
    Experiment,
    /// When the experiment was last set, in ms since the epoch: its readout starts there.
    ExperimentStarted,
    /// When the active version was activated, in ms since the epoch (the stale-model alert).
    ActiveSince,
}

impl SettingKey {
    fn as_str(self) -> &'static str {
        match self {
            SettingKey::ActiveVersion => "active_version",
            SettingKey::PreviousVersion => "previous_version",
            SettingKey::Experiment => "experiment",
            SettingKey::ExperimentStarted => "experiment_started_ms",
            SettingKey::ActiveSince => "active_since_ms",
        }
    }
}

/// The settings as stored: each `None` when never set.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StoredSettings {
    pub active_version: Option<String>,
    pub previous_version: Option<String>,
    /// The experiment's JSON text (validated by whoever reads it).
    pub experiment: Option<String>,
    /// When it was set (ms since the epoch, as text).
    pub experiment_started_ms: Option<String>,
    /// When the active version was activated (ms since the epoch, as text).
    pub active_since_ms: Option<String>,
}

#[derive(Deserialize)]
struct SettingRow {
    key: String,
    value: String,
}

/// Reads every setting in one query.
pub async fn read_settings<S: Storage>(storage: &S) -> Result<StoredSettings, StorageError> {
    let rows: Vec<SettingRow> = storage.query(&Statement::new("SELECT key, value FROM settings", Vec::new())).await?;
    let mut settings = StoredSettings::default();
    for row in rows {
        let slot = match row.key.as_str() {
            key if key == SettingKey::ActiveVersion.as_str() => &mut settings.active_version,
            key if key == SettingKey::PreviousVersion.as_str() => &mut settings.previous_version,
            key if key == SettingKey::Experiment.as_str() => &mut settings.experiment,
            key if key == SettingKey::ExperimentStarted.as_str() => &mut settings.experiment_started_ms,
            key if key == SettingKey::ActiveSince.as_str() => &mut settings.active_since_ms,
            // A key a newer Worker wrote: not this build's business.
            _ => continue,
        };
        *slot = Some(row.value);
    }
    Ok(settings)
}

/// Sets one setting, replacing its value.
pub fn write_setting(key: SettingKey, value: String) -> Statement {
    Statement::new(
        "INSERT INTO settings (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        vec![SqlValue::from(key.as_str()), SqlValue::from(value)],
    )
}

/// A trivial query: succeeds when the database answers.
pub async fn ping<S: Storage>(storage: &S) -> Result<(), StorageError> {
    storage.query::<serde::de::IgnoredAny>(&Statement::new("SELECT 1 AS ok", Vec::new())).await.map(drop)
}

// ---------------------------------------------------------------------------------------
// Model versions: one row per uploaded version (the blobs themselves are in R2).

/// One uploaded model version: what its recommender upload recorded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelVersionRow {
    pub version: String,
    /// When the recommender blob was uploaded, in milliseconds since the Unix epoch.
    pub uploaded_ms: i64,
    /// The recommender blob's size in bytes.
    pub recommender_size: i64,
    /// How many profile shards the version has.
    pub shard_count: i64,
    /// How many movies its catalog holds.
    pub movies: i64,
    /// The feature schema's hash from the blob header, as 16 lowercase hex digits (`None`
    /// for versions uploaded before it was recorded).
    pub schema_hash: Option<String>,
    /// The catalog's fingerprint, which its profile shards carry, as 16 lowercase hex digits.
    pub catalog_fingerprint: Option<String>,
    /// The blob format version from the header.
    pub format_version: Option<i64>,
}

/// One version as `GET /v1/admin/models` lists it: its upload (the fields of
/// [`ModelVersionRow`]), its manifest and its shards. Spelt out rather than flattened: a
/// flattened struct would read D1's numbers through serde's untyped buffer.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct ListedVersion {
    pub version: String,
    pub uploaded_ms: i64,
    pub recommender_size: i64,
    pub shard_count: i64,
    pub movies: i64,
    pub schema_hash: Option<String>,
    pub catalog_fingerprint: Option<String>,
    pub format_version: Option<i64>,
    /// The train manifest's JSON text as uploaded, if it has been.
    pub manifest: Option<String>,
    /// How many of its profile shards are stored.
    pub profiles_uploaded: i64,
    /// Their bytes in all.
    pub profile_bytes: i64,
}

/// Every uploaded version with its manifest and shard totals, oldest first.
pub async fn listed_versions<S: Storage>(storage: &S) -> Result<Vec<ListedVersion>, StorageError> {
    storage
        .query(&Statement::new(
            "SELECT v.version, v.uploaded_ms, v.recommender_size, v.shard_count, v.movies, v.schema_hash, \
             v.catalog_fingerprint, v.format_version, v.manifest, \
             coalesce(s.shards, 0) AS profiles_uploaded, coalesce(s.bytes, 0) AS profile_bytes \
             FROM model_versions v LEFT JOIN \
             (SELECT version, count(*) AS shards, sum(bytes) AS bytes FROM model_shards GROUP BY version) s \
             ON s.version = v.version ORDER BY v.uploaded_ms",
            Vec::new(),
        ))
        .await
}

/// One version's upload record, if it has been uploaded.
pub async fn model_version<S: Storage>(storage: &S, version: &str) -> Result<Option<ModelVersionRow>, StorageError> {
    let rows: Vec<ModelVersionRow> = storage
        .query(&Statement::new(
            "SELECT version, uploaded_ms, recommender_size, shard_count, movies, schema_hash, catalog_fingerprint, \
             format_version FROM model_versions WHERE version = ?1",
            vec![SqlValue::from(version)],
        ))
        .await?;
    Ok(rows.into_iter().next())
}

/// How many of a version's profile shards have been uploaded.
pub async fn shards_uploaded<S: Storage>(storage: &S, version: &str) -> Result<i64, StorageError> {
    #[derive(Deserialize)]
    struct Count {
        n: i64,
    }
    let rows: Vec<Count> = storage
        .query(&Statement::new(
            "SELECT count(*) AS n FROM model_shards WHERE version = ?1",
            vec![SqlValue::from(version)],
        ))
        .await?;
    Ok(rows.first().map_or(0, |row| row.n))
}

/// Whether `version` has been uploaded.
pub async fn model_version_exists<S: Storage>(storage: &S, version: &str) -> Result<bool, StorageError> {
    #[derive(Deserialize)]
    struct Found {
        found: i64,
    }
    let rows: Vec<Found> = storage
        .query(&Statement::new(
            "SELECT count(*) AS found FROM model_versions WHERE version = ?1",
            vec![SqlValue::from(version)],
        ))
        .await?;
    Ok(rows.first().is_some_and(|row| row.found > 0))
}

/// Records an upload, replacing what an earlier upload of the same version recorded (its
/// manifest and shard records stay: [`clear_manifest`] and [`forget_shards`] drop them when
/// they no longer fit).
pub fn upsert_model_version(row: &ModelVersionRow) -> Statement {
    Statement::new(
        "INSERT INTO model_versions (version, uploaded_ms, recommender_size, shard_count, movies, schema_hash, \
         catalog_fingerprint, format_version) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) \
         ON CONFLICT (version) DO UPDATE SET uploaded_ms = excluded.uploaded_ms, \
         recommender_size = excluded.recommender_size, shard_count = excluded.shard_count, movies = excluded.movies, \
         schema_hash = excluded.schema_hash, catalog_fingerprint = excluded.catalog_fingerprint, \
         format_version = excluded.format_version",
        vec![
            SqlValue::from(row.version.as_str()),
            SqlValue::Integer(row.uploaded_ms),
            SqlValue::Integer(row.recommender_size),
            SqlValue::Integer(row.shard_count),
            SqlValue::Integer(row.movies),
            SqlValue::from(row.schema_hash.clone()),
            SqlValue::from(row.catalog_fingerprint.clone()),
            SqlValue::from(row.format_version),
        ],
    )
}

/// Drops a version's manifest, for a re-upload whose recommender it no longer describes.
pub fn clear_manifest(version: &str) -> Statement {
    Statement::new("UPDATE model_versions SET manifest = NULL WHERE version = ?1", vec![SqlValue::from(version)])
}

/// Drops a version's shard records, for a re-upload whose catalog or layout they no longer fit.
pub fn forget_shards(version: &str) -> Statement {
    Statement::new("DELETE FROM model_shards WHERE version = ?1", vec![SqlValue::from(version)])
}

/// Stores a version's train manifest (JSON text, as uploaded).
pub fn set_manifest(version: &str, manifest: &str) -> Statement {
    Statement::new(
        "UPDATE model_versions SET manifest = ?2 WHERE version = ?1",
        vec![SqlValue::from(version), SqlValue::from(manifest)],
    )
}

/// Records a stored profile shard, replacing an earlier upload of the same shard.
pub fn upsert_model_shard(version: &str, shard: u32, bytes: usize, profiles: usize) -> Statement {
    Statement::new(
        "INSERT INTO model_shards (version, shard, bytes, profiles) VALUES (?1, ?2, ?3, ?4) \
         ON CONFLICT (version, shard) DO UPDATE SET bytes = excluded.bytes, profiles = excluded.profiles",
        vec![
            SqlValue::from(version),
            SqlValue::Integer(i64::from(shard)),
            SqlValue::Integer(bytes as i64),
            SqlValue::Integer(profiles as i64),
        ],
    )
}

// ---------------------------------------------------------------------------------------
// The log: impressions and events, one sequence ([`EdgeRow`] is its one definition).

/// Stores a log row; a row whose id the log already has is ignored, so retries are safe.
/// The log assigns `seq`.
pub fn insert_log_row(row: &EdgeRow) -> Statement {
    Statement::new(
        "INSERT OR IGNORE INTO log (id, kind, time_ms, user_id, movie_id, value, variant, version, ref, latency_us, teams) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        vec![
            SqlValue::from(row.id.as_str()),
            SqlValue::from(row.kind.as_str()),
            SqlValue::Integer(row.time_ms),
            // User ids are at most MAX_USER_ID (2^53 − 1): exact in an i64 and a JS number.
            SqlValue::Integer(row.user_id as i64),
            SqlValue::from(row.movie_id.clone()),
            SqlValue::from(row.value.clone()),
            SqlValue::from(row.variant.clone()),
            SqlValue::from(row.version.clone()),
            SqlValue::from(row.reference.clone()),
            row.latency_us.map_or(SqlValue::Null, SqlValue::Integer),
            SqlValue::from(row.teams.clone()),
        ],
    )
}

/// The most ids one [`served_lists`] query takes, keeping its one parameter well under D1's
/// size limit for a bound value.
pub const MAX_IDS_PER_QUERY: usize = 1000;

/// A served list: its recommendation id, its user and its comma-separated movie ids.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct ServedListRow {
    pub id: String,
    pub user_id: u64,
    pub value: Option<String>,
}

/// The impressions among `ids`, found by the log's unique id index. The ids travel as one
/// JSON array (`json_each`), since D1 binds at most 100 parameters.
pub async fn served_lists<S: Storage>(storage: &S, ids: &[&str]) -> Result<Vec<ServedListRow>, StorageError> {
    let ids = serde_json::to_string(ids).unwrap_or_else(|_| "[]".into());
    storage
        .query(&Statement::new(
            "SELECT id, user_id, value FROM log \
             WHERE kind = 'impression' AND id IN (SELECT value FROM json_each(?1))",
            vec![SqlValue::from(ids)],
        ))
        .await
}

/// The log's last sequence number (0 when empty), by its primary key.
pub async fn log_end<S: Storage>(storage: &S) -> Result<i64, StorageError> {
    #[derive(Deserialize)]
    struct End {
        end: Option<i64>,
    }
    let rows: Vec<End> = storage.query(&Statement::new("SELECT max(seq) AS end FROM log", Vec::new())).await?;
    Ok(rows.first().and_then(|row| row.end).unwrap_or(0))
}

/// Up to `limit` log rows after the cursor `since`, oldest first.
pub async fn log_page<S: Storage>(storage: &S, since: i64, limit: i64) -> Result<Vec<EdgeRow>, StorageError> {
    storage
        .query(&Statement::new(
            "SELECT seq, id, kind, time_ms, user_id, movie_id, value, variant, version, ref, latency_us, teams \
             FROM log WHERE seq > ?1 ORDER BY seq LIMIT ?2",
            vec![SqlValue::Integer(since), SqlValue::Integer(limit)],
        ))
        .await
}

/// Lists served and clicks on them per A/B variant (`""` for none), as the log's triggers
/// keep them (`0004_operations.sql`): one row per variant, whatever the log's size.
pub async fn variant_counts<S: Storage>(storage: &S) -> Result<Vec<VariantCounts>, StorageError> {
    storage
        .query(&Statement::new("SELECT variant, impressions, clicks FROM variant_counts ORDER BY variant", Vec::new()))
        .await
}

/// One A/B variant's served lists and clicks.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct VariantCounts {
    pub variant: String,
    pub impressions: i64,
    pub clicks: i64,
}

/// The newest `limit` log rows of one user, newest first.
pub async fn recent_log_rows<S: Storage>(storage: &S, user_id: u64, limit: i64) -> Result<Vec<EdgeRow>, StorageError> {
    storage
        .query(&Statement::new(
            "SELECT seq, id, kind, time_ms, user_id, movie_id, value, variant, version, ref, latency_us, teams \
             FROM log WHERE user_id = ?1 ORDER BY seq DESC LIMIT ?2",
            vec![SqlValue::Integer(user_id as i64), SqlValue::Integer(limit)],
        ))
        .await
}

/// Impressions and the lists clicked among them, per variant and time step.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct VariantStep {
    /// The variant ("" for impressions logged without one).
    pub variant: String,
    /// The step's index from the window's start.
    pub step: i64,
    pub impressions: i64,
    /// Impressions that at least one click or watch refers to.
    pub clicked_lists: i64,
}

/// Impressions per variant and step of `step_ms` from `start_ms` up to `end_ms`, and how
/// many of them were clicked (a click or watch whose `ref` is the impression's id), counted
/// at the impression's time.
pub async fn variant_steps<S: Storage>(
    storage: &S,
    start_ms: i64,
    step_ms: i64,
    end_ms: i64,
) -> Result<Vec<VariantStep>, StorageError> {
    // CAST: D1 may bind the numbers as REALs, which would make the division fractional.
    storage
        .query(&Statement::new(
            "SELECT coalesce(i.variant, '') AS variant, CAST((i.time_ms - ?1) / ?2 AS INTEGER) AS step, \
             count(*) AS impressions, \
             sum(EXISTS (SELECT 1 FROM log c WHERE c.ref = i.id AND c.kind IN ('click', 'watch'))) AS clicked_lists \
             FROM log i WHERE i.kind = 'impression' AND i.time_ms >= ?1 AND i.time_ms < ?3 GROUP BY 1, 2",
            vec![SqlValue::Integer(start_ms), SqlValue::Integer(step_ms), SqlValue::Integer(end_ms)],
        ))
        .await
}

/// Per variant, the clicked lists and the sum (and sum of squares) of their reciprocal
/// ranks: the rank of the first clicked or watched movie in the list, 1-based, and a
/// reciprocal rank of 0 when that movie is not in the list.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct VariantRanks {
    /// The variant ("" for impressions logged without one).
    pub variant: String,
    pub clicked_lists: i64,
    pub reciprocal_rank_sum: f64,
    pub reciprocal_rank_sum_sq: f64,
}

/// Every clicked list's reciprocal rank, added up per variant. Clicks are attributed by
/// recommendation id (`ref`); the first event by time (then by log order) counts.
pub async fn reciprocal_ranks<S: Storage>(storage: &S) -> Result<Vec<VariantRanks>, StorageError> {
    // The rank is one more than the commas before the movie in ",a,b,c," (the list with a
    // comma at each end, so that every id is matched whole).
    storage
        .query(&Statement::new(
            "WITH first AS (\
               SELECT ref AS id, movie_id AS movie, \
               row_number() OVER (PARTITION BY ref ORDER BY time_ms, seq) AS n \
               FROM log WHERE kind IN ('click', 'watch') AND ref IS NOT NULL), \
             hit AS (\
               SELECT coalesce(i.variant, '') AS variant, ',' || coalesce(i.value, '') || ',' AS list, \
               coalesce(instr(',' || coalesce(i.value, '') || ',', ',' || f.movie || ','), 0) AS at \
               FROM first f JOIN log i ON i.id = f.id AND i.kind = 'impression' WHERE f.n = 1), \
             ranked AS (\
               SELECT variant, CASE WHEN at = 0 THEN 0.0 ELSE 1.0 / \
               (length(substr(list, 1, at)) - length(replace(substr(list, 1, at), ',', ''))) END AS rr FROM hit) \
             SELECT variant, count(*) AS clicked_lists, total(rr) AS reciprocal_rank_sum, \
             total(rr * rr) AS reciprocal_rank_sum_sq FROM ranked GROUP BY variant",
            Vec::new(),
        ))
        .await
}

/// One user's lists under one variant served since `since_ms`, with the clicked ones and
/// their reciprocal ranks, attributed by recommendation id (`ref`) as [`reciprocal_ranks`]
/// does (whatever the events' own times say).
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct UserRanks {
    pub variant: String,
    pub user_id: u64,
    pub lists: u64,
    pub clicked_lists: u64,
    pub reciprocal_rank_sum: f64,
}

/// Every (variant, user)'s lists since `since_ms`: the unit of the experiment's readout.
pub async fn user_ranks<S: Storage>(storage: &S, since_ms: i64) -> Result<Vec<UserRanks>, StorageError> {
    storage
        .query(&Statement::new(
            "WITH served AS (\
               SELECT id, coalesce(variant, '') AS variant, user_id, ',' || coalesce(value, '') || ',' AS list \
               FROM log WHERE kind = 'impression' AND time_ms >= ?1), \
             first AS (\
               SELECT ref AS id, movie_id AS movie, \
               row_number() OVER (PARTITION BY ref ORDER BY time_ms, seq) AS n \
               FROM log WHERE kind IN ('click', 'watch') AND ref IN (SELECT id FROM served)), \
             hit AS (\
               SELECT s.variant, s.user_id, s.list, \
               CASE WHEN f.movie IS NULL THEN NULL ELSE instr(s.list, ',' || f.movie || ',') END AS at \
               FROM served s LEFT JOIN first f ON f.id = s.id AND f.n = 1) \
             SELECT variant, user_id, count(*) AS lists, count(at) AS clicked_lists, \
             total(CASE WHEN at IS NULL OR at = 0 THEN 0.0 ELSE 1.0 / \
               (length(substr(list, 1, at)) - length(replace(substr(list, 1, at), ',', ''))) END) \
               AS reciprocal_rank_sum \
             FROM hit GROUP BY variant, user_id ORDER BY variant, user_id",
            vec![SqlValue::Integer(since_ms)],
        ))
        .await
}

/// How much a movie was shown and clicked.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct MovieExposure {
    /// Impressions whose list holds the movie.
    pub lists_containing: i64,
    /// Every impression.
    pub impressions: i64,
    /// Clicks and watches of the movie that refer to a list.
    pub clicked: i64,
}

/// A movie's exposure in the log. The list count reads every impression: it is for the
/// admin API, not for serving.
pub async fn movie_exposure<S: Storage>(storage: &S, movie_id: &str) -> Result<MovieExposure, StorageError> {
    let rows: Vec<MovieExposure> = storage
        .query(&Statement::new(
            "SELECT \
             (SELECT count(*) FROM log WHERE kind = 'impression' \
               AND instr(',' || coalesce(value, '') || ',', ',' || ?1 || ',') > 0) AS lists_containing, \
             (SELECT count(*) FROM log WHERE kind = 'impression') AS impressions, \
             (SELECT count(*) FROM log WHERE movie_id = ?1 AND kind IN ('click', 'watch') AND ref IS NOT NULL) \
               AS clicked",
            vec![SqlValue::from(movie_id)],
        ))
        .await?;
    Ok(rows.into_iter().next().unwrap_or(MovieExposure { lists_containing: 0, impressions: 0, clicked: 0 }))
}

// ---------------------------------------------------------------------------------------
// Request metrics: counters and the latency histogram, added to by every isolate.

/// Requests answered per route and status.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct RequestCount {
    pub route: String,
    pub status: i64,
    pub count: i64,
}

/// Requests per route whose latency fell in the bucket `le` (not cumulative).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct LatencyBucket {
    pub route: String,
    /// The bucket's upper bound in milliseconds, or `+Inf`.
    pub le: String,
    pub count: i64,
}

/// The sum of latencies per route, and how many requests it adds up.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct LatencySum {
    pub route: String,
    pub sum_us: i64,
    pub count: i64,
}

/// Adds `count` requests to a route and status.
pub fn add_request_count(route: &str, status: u16, count: i64) -> Statement {
    Statement::new(
        "INSERT INTO request_counts (route, status, count) VALUES (?1, ?2, ?3) \
         ON CONFLICT (route, status) DO UPDATE SET count = count + excluded.count",
        vec![SqlValue::from(route), SqlValue::Integer(i64::from(status)), SqlValue::Integer(count)],
    )
}

/// Adds `count` requests to a route's latency bucket.
pub fn add_latency_bucket(route: &str, le: &str, count: i64) -> Statement {
    Statement::new(
        "INSERT INTO latency_buckets (route, le, count) VALUES (?1, ?2, ?3) \
         ON CONFLICT (route, le) DO UPDATE SET count = count + excluded.count",
        vec![SqlValue::from(route), SqlValue::from(le), SqlValue::Integer(count)],
    )
}

/// Adds `count` requests taking `sum_us` microseconds in all to a route's latency sum.
pub fn add_latency_sum(route: &str, sum_us: i64, count: i64) -> Statement {
    Statement::new(
        "INSERT INTO latency_sums (route, sum_us, count) VALUES (?1, ?2, ?3) \
         ON CONFLICT (route) DO UPDATE SET sum_us = sum_us + excluded.sum_us, count = count + excluded.count",
        vec![SqlValue::from(route), SqlValue::Integer(sum_us), SqlValue::Integer(count)],
    )
}

/// Adds `count` fallback answers of a route for a reason.
pub fn add_fallback_count(route: &str, reason: &str, count: i64) -> Statement {
    Statement::new(
        "INSERT INTO fallback_counts (route, reason, count) VALUES (?1, ?2, ?3) \
         ON CONFLICT (route, reason) DO UPDATE SET count = count + excluded.count",
        vec![SqlValue::from(route), SqlValue::from(reason), SqlValue::Integer(count)],
    )
}

/// Adds `count` model-load failures for a reason.
pub fn add_load_failures(reason: &str, count: i64) -> Statement {
    Statement::new(
        "INSERT INTO model_load_failures (reason, count) VALUES (?1, ?2) \
         ON CONFLICT (reason) DO UPDATE SET count = count + excluded.count",
        vec![SqlValue::from(reason), SqlValue::Integer(count)],
    )
}

/// Every fallback counter.
pub async fn fallback_counts<S: Storage>(storage: &S) -> Result<Vec<FallbackCount>, StorageError> {
    storage
        .query(&Statement::new("SELECT route, reason, count FROM fallback_counts ORDER BY route, reason", Vec::new()))
        .await
}

/// Fallback answers of one route for one reason.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct FallbackCount {
    pub route: String,
    pub reason: String,
    pub count: i64,
}

/// Every model-load failure counter.
pub async fn load_failure_counts<S: Storage>(storage: &S) -> Result<Vec<LoadFailureCount>, StorageError> {
    storage.query(&Statement::new("SELECT reason, count FROM model_load_failures ORDER BY reason", Vec::new())).await
}

/// Model versions that failed to load for one reason.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct LoadFailureCount {
    pub reason: String,
    pub count: i64,
}

// ---------------------------------------------------------------------------------------
// Health reports: the latest drift and fairness summaries the trainer published.

/// The kinds of report `monitor_reports` keeps, one row each.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReportKind {
    Drift,
    Fairness,
}

impl ReportKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ReportKind::Drift => "drift",
            ReportKind::Fairness => "fairness",
        }
    }
}

/// Replaces the stored report of a kind.
pub fn write_report(kind: ReportKind, body: String, stored_ms: i64) -> Statement {
    Statement::new(
        "INSERT INTO monitor_reports (kind, body, stored_ms) VALUES (?1, ?2, ?3) \
         ON CONFLICT (kind) DO UPDATE SET body = excluded.body, stored_ms = excluded.stored_ms",
        vec![SqlValue::from(kind.as_str()), SqlValue::from(body), SqlValue::Integer(stored_ms)],
    )
}

/// Every stored report (at most one per kind).
pub async fn reports<S: Storage>(storage: &S) -> Result<Vec<StoredReport>, StorageError> {
    storage.query(&Statement::new("SELECT kind, body, stored_ms FROM monitor_reports", Vec::new())).await
}

/// A report as stored.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct StoredReport {
    pub kind: String,
    pub body: String,
    pub stored_ms: i64,
}

/// Every request counter.
pub async fn request_counts<S: Storage>(storage: &S) -> Result<Vec<RequestCount>, StorageError> {
    storage
        .query(&Statement::new("SELECT route, status, count FROM request_counts ORDER BY route, status", Vec::new()))
        .await
}

/// Every latency bucket.
pub async fn latency_buckets<S: Storage>(storage: &S) -> Result<Vec<LatencyBucket>, StorageError> {
    storage.query(&Statement::new("SELECT route, le, count FROM latency_buckets", Vec::new())).await
}

/// Every route's latency sum.
pub async fn latency_sums<S: Storage>(storage: &S) -> Result<Vec<LatencySum>, StorageError> {
    storage.query(&Statement::new("SELECT route, sum_us, count FROM latency_sums ORDER BY route", Vec::new())).await
}

/// Adds to one minute's request counts for a route.
pub fn add_request_window(minute: i64, route: &str, requests: i64, errors: i64, fallbacks: i64) -> Statement {
    Statement::new(
        "INSERT INTO request_windows (minute, route, requests, errors, fallbacks) VALUES (?1, ?2, ?3, ?4, ?5) \
         ON CONFLICT (minute, route) DO UPDATE SET requests = requests + excluded.requests, \
         errors = errors + excluded.errors, fallbacks = fallbacks + excluded.fallbacks",
        vec![
            SqlValue::Integer(minute),
            SqlValue::from(route),
            SqlValue::Integer(requests),
            SqlValue::Integer(errors),
            SqlValue::Integer(fallbacks),
        ],
    )
}

/// Adds `count` requests to one minute's latency bucket for a route.
pub fn add_latency_window(minute: i64, route: &str, le: &str, count: i64) -> Statement {
    Statement::new(
        "INSERT INTO latency_windows (minute, route, le, count) VALUES (?1, ?2, ?3, ?4) \
         ON CONFLICT (minute, route, le) DO UPDATE SET count = count + excluded.count",
        vec![SqlValue::Integer(minute), SqlValue::from(route), SqlValue::from(le), SqlValue::Integer(count)],
    )
}

/// Deletes the windows of minutes before `minute`.
pub fn prune_windows(minute: i64) -> [Statement; 2] {
    [
        Statement::new("DELETE FROM request_windows WHERE minute < ?1", vec![SqlValue::Integer(minute)]),
        Statement::new("DELETE FROM latency_windows WHERE minute < ?1", vec![SqlValue::Integer(minute)]),
    ]
}

/// One step's request counts, added over routes and minutes.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct StepCounts {
    /// The step's index from the window's start.
    pub step: i64,
    pub requests: i64,
    pub errors: i64,
    pub fallbacks: i64,
}

/// One step's count in one latency bucket, added over routes and minutes.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct StepBucket {
    /// The step's index from the window's start.
    pub step: i64,
    /// The bucket's upper bound in milliseconds, or `+Inf`.
    pub le: String,
    pub count: i64,
}

/// Per-minute rows to add up in steps: two routes' minutes `first_minute..end_minute`, in
/// steps of `step_minutes`.
#[derive(Clone, Copy, Debug)]
pub struct MinuteSteps<'a> {
    pub routes: [&'a str; 2],
    pub first_minute: i64,
    pub step_minutes: i64,
    pub end_minute: i64,
}

impl MinuteSteps<'_> {
    /// ?1 first minute, ?2 step, ?3 end, ?4 and ?5 the routes.
    fn bindings(&self) -> Vec<SqlValue> {
        vec![
            SqlValue::Integer(self.first_minute),
            SqlValue::Integer(self.step_minutes),
            SqlValue::Integer(self.end_minute),
            SqlValue::from(self.routes[0]),
            SqlValue::from(self.routes[1]),
        ]
    }
}

/// The request windows, added up per step.
pub async fn request_steps<S: Storage>(storage: &S, window: MinuteSteps<'_>) -> Result<Vec<StepCounts>, StorageError> {
    // CAST: D1 may bind the numbers as REALs, which would make the division fractional.
    storage
        .query(&Statement::new(
            "SELECT CAST((minute - ?1) / ?2 AS INTEGER) AS step, sum(requests) AS requests, sum(errors) AS errors, \
             sum(fallbacks) AS fallbacks FROM request_windows \
             WHERE minute >= ?1 AND minute < ?3 AND route IN (?4, ?5) GROUP BY 1",
            window.bindings(),
        ))
        .await
}

/// The latency buckets of the same minutes, added up per step.
pub async fn latency_steps<S: Storage>(storage: &S, window: MinuteSteps<'_>) -> Result<Vec<StepBucket>, StorageError> {
    storage
        .query(&Statement::new(
            "SELECT CAST((minute - ?1) / ?2 AS INTEGER) AS step, le, sum(count) AS count FROM latency_windows \
             WHERE minute >= ?1 AND minute < ?3 AND route IN (?4, ?5) GROUP BY 1, 2",
            window.bindings(),
        ))
        .await
}

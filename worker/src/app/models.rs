//! Which model serves a request, and the per-isolate cache that keeps it loaded.
//!
//! Blobs live in R2 under `models/<version>/recommender.blob` and
//! `models/<version>/profiles/<shard>.blob`; the active version and the experiment live in
//! D1's `settings`, re-read at most every [`SETTINGS_TTL_MS`]. A version whose blob fails to
//! load is remembered as bad for [`BAD_RETRY_MS`] and never replaces a good model: requests
//! keep the last good version, or the default model embedded in the Worker.

use std::rc::Rc;

use marquee_model::recommend::{ProfileShard, Recommender};

use super::experiment::Experiment;

/// The default model, trained on the built-in world by `cargo xtask default-model`: the
/// first-run model and the last fallback, so an empty storage still serves lists.
pub const DEFAULT_MODEL: &[u8] = include_bytes!("../../default-model/recommender.blob");

/// The version name the embedded model serves under.
pub const DEFAULT_VERSION: &str = "default";

/// How long settings (active version, experiment) are trusted before being re-read.
pub const SETTINGS_TTL_MS: f64 = 3_000.0;

/// How long a version that failed to load is left alone before it is tried again.
pub const BAD_RETRY_MS: f64 = 30_000.0;

/// The bytes of profile shards kept per isolate (a Worker isolate has 128 MB).
const SHARD_CACHE_BYTES: usize = 24 << 20;

/// Models kept per isolate (the active one, the variants', a previous one).
const MODEL_CACHE: usize = 4;

/// The blob key of a version's recommender.
pub fn recommender_key(version: &str) -> String {
    format!("models/{version}/recommender.blob")
}

/// The blob key of a version's profile shard.
pub fn shard_key(version: &str, shard: u32) -> String {
    format!("models/{version}/profiles/{shard:05}.blob")
}

/// Version names are what `marquee train` writes (`m` and hex) or any short slug.
pub fn valid_version(version: &str) -> bool {
    !version.is_empty()
        && version.len() <= 64
        && version != DEFAULT_VERSION
        && version.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
}

/// What D1's settings say.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Settings {
    pub active: Option<String>,
    pub previous: Option<String>,
    pub experiment: Experiment,
}

/// A decoded profile shard, keyed by version and shard number: decoded (and its checksum
/// checked) once when fetched, not on every request.
type CachedShard = ((String, u32), Rc<ProfileShard>);

/// A loaded model and the version it serves under.
#[derive(Clone)]
pub struct Served {
    pub version: String,
    pub recommender: Rc<Recommender>,
}

/// The per-isolate cache.
pub struct ModelCache {
    default: Option<Served>,
    loaded: Vec<Served>,
    bad: Vec<(String, f64)>,
    /// The last version that loaded from storage, served when the wanted one cannot be.
    last_good: Option<Served>,
    pub settings: Settings,
    pub settings_read_ms: Option<f64>,
    /// Whether that read failed (the settings are then the last good ones, or none).
    pub settings_failed: bool,
    shards: Vec<CachedShard>,
}

impl ModelCache {
    /// Loads the embedded default model (a corrupt embedded blob leaves only the
    /// popularity list, and `/healthz` says so).
    pub fn new() -> Self {
        let default = Recommender::from_blob(DEFAULT_MODEL)
            .ok()
            .map(|recommender| Served { version: DEFAULT_VERSION.into(), recommender: Rc::new(recommender) });
        ModelCache {
            default,
            loaded: Vec::new(),
            bad: Vec::new(),
            last_good: None,
            settings: Settings::default(),
            settings_read_ms: None,
            settings_failed: false,
            shards: Vec::new(),
        }
    }

    pub fn default_model(&self) -> Option<&Served> {
        self.default.as_ref()
    }

    pub fn settings_stale(&self, now_ms: f64) -> bool {
        self.settings_read_ms.is_none_or(|read| now_ms - read >= SETTINGS_TTL_MS || now_ms < read)
    }

    /// A loaded version, if cached.
    pub fn get(&self, version: &str) -> Option<Served> {
        if version == DEFAULT_VERSION {
            return self.default.clone();
        }
        self.loaded.iter().find(|served| served.version == version).cloned()
    }

    /// Whether `version` failed recently and should not be fetched again yet.
    pub fn is_bad(&self, version: &str, now_ms: f64) -> bool {
        self.bad.iter().any(|(bad, at)| bad == version && now_ms - at < BAD_RETRY_MS && now_ms >= *at)
    }

    pub fn mark_bad(&mut self, version: &str, now_ms: f64) {
        self.bad.retain(|(bad, _)| bad != version);
        self.bad.push((version.to_owned(), now_ms));
    }

    /// Drops a version from the cache and from the bad list (after a re-upload).
    pub fn forget(&mut self, version: &str) {
        self.loaded.retain(|served| served.version != version);
        self.bad.retain(|(bad, _)| bad != version);
        self.shards.retain(|((shard_version, _), _)| shard_version != version);
    }

    pub fn insert(&mut self, served: Served) {
        self.loaded.retain(|other| other.version != served.version);
        if self.loaded.len() >= MODEL_CACHE {
            self.loaded.remove(0);
        }
        self.bad.retain(|(bad, _)| *bad != served.version);
        self.last_good = Some(served.clone());
        self.loaded.push(served);
    }

    /// What to serve when the wanted version cannot be: the last good one, else the default.
    pub fn fallback(&self) -> Option<Served> {
        self.last_good.clone().or_else(|| self.default.clone())
    }

    pub fn shard(&mut self, version: &str, shard: u32) -> Option<Rc<ProfileShard>> {
        let position = self.shards.iter().position(|((v, s), _)| v == version && *s == shard)?;
        // Move to the back: the front is evicted first.
        let entry = self.shards.remove(position);
        let bytes = entry.1.clone();
        self.shards.push(entry);
        Some(bytes)
    }

    pub fn insert_shard(&mut self, version: &str, shard: u32, decoded: Rc<ProfileShard>) {
        let mut total: usize =
            self.shards.iter().map(|(_, cached)| cached.size_bytes()).sum::<usize>() + decoded.size_bytes();
        while total > SHARD_CACHE_BYTES && !self.shards.is_empty() {
            total -= self.shards.remove(0).1.size_bytes();
        }
        self.shards.push(((version.to_owned(), shard), decoded));
    }
}

impl Default for ModelCache {
    fn default() -> Self {
        ModelCache::new()
    }
}

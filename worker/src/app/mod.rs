//! Target-independent request handling: routing, validation, model serving, logging and
//! the admin API. `cargo test` runs all of it natively against SQLite (`tests/support/`);
//! the wasm adapter only moves requests, bindings and responses across.

mod admin;
pub mod auth;
pub mod error;
mod events;
pub mod experiment;
mod insights;
pub mod last_resort;
mod lookup;
mod metrics;
pub mod models;
mod monitor_reports;
pub mod queries;
mod recommend;
pub mod response;
pub mod routes;
pub mod storage;

use std::cell::{Cell, RefCell};

use marquee_model::hash::Fnv64;
use serde_json::json;

use error::AppError;
use models::{ModelCache, Settings};
pub use response::{Request, Response};
use routes::{Access, ErrorFormat, Handler, Matched, Params, RouteTable};
use storage::{Statement, Storage};

/// How many movies `/recommend/<userid>` answers with at most.
pub const MAX_RECOMMENDATIONS: usize = 20;

/// What the Worker is configured with (its variables and secrets).
#[derive(Clone, Debug, Default)]
pub struct AppConfig {
    /// The admin API's bearer token (a Worker secret); `None` closes the admin API.
    pub admin_token: Option<String>,
    /// A popularity list to serve when even the embedded model is unusable (empty: the
    /// built-in [`last_resort::LAST_RESORT_MOVIES`]).
    pub popular_movies: Vec<String>,
}

impl AppConfig {
    /// The list served when no model can be used: the configured one, or the built-in list
    /// of last resort, so that the answer is never empty.
    pub fn fallback_movies(&self) -> Vec<&str> {
        if self.popular_movies.is_empty() {
            last_resort::LAST_RESORT_MOVIES.to_vec()
        } else {
            self.popular_movies.iter().map(String::as_str).collect()
        }
    }

    /// Reads the comma-separated `POPULAR_MOVIES` variable; blanks and spaces are dropped.
    pub fn with_popular_list(mut self, list: &str) -> Self {
        self.popular_movies = list.split(',').map(str::trim).filter(|id| !id.is_empty()).map(str::to_owned).collect();
        self
    }
}

/// A response, the writes that can happen after it is sent (`ctx.waitUntil`), and what
/// went wrong inside, for the Worker's log (clients never see it).
pub struct Outcome {
    pub response: Response,
    pub deferred: Vec<Statement>,
    pub internal_error: Option<String>,
}

/// The Worker's request handler; one per isolate.
pub struct App {
    config: AppConfig,
    routes: RouteTable,
    cache: RefCell<ModelCache>,
    metrics: RefCell<metrics::MetricsBuffer>,
    /// The first part of this isolate's recommendation ids: its seed, mixed, in 16 hex digits.
    isolate_tag: String,
    /// Recommendation ids this isolate has issued.
    ids_issued: Cell<u64>,
    /// Deferred writes that failed, to go out with the next request's (see `keep_unwritten`).
    unwritten: RefCell<Vec<Statement>>,
    /// Failed writes dropped because too many were kept.
    unwritten_dropped: Cell<u64>,
    /// Whether a write of the buffered counts is pending (see `schedule_flush`).
    flush_scheduled: Cell<bool>,
}

/// The most failed writes an isolate keeps for retry: about a minute of a busy isolate's
/// impressions and counters.
pub const MAX_UNWRITTEN: usize = 20_000;

/// One request being answered: what its handler reads, and the writes it leaves for after
/// the response (`ctx.waitUntil`).
pub(crate) struct Call<'r, S> {
    pub request: &'r Request,
    pub params: Params<'r>,
    pub storage: &'r S,
    clock: &'r dyn Fn() -> f64,
    /// When the request arrived, by `clock`.
    pub started_ms: f64,
    deferred: RefCell<Vec<Statement>>,
}

impl<S> Call<'_, S> {
    /// The clock's time now, in milliseconds.
    pub fn now(&self) -> f64 {
        (self.clock)()
    }

    /// Runs `statement` after the response is sent (not at all for `HEAD`).
    pub fn defer(&self, statement: Statement) {
        self.deferred.borrow_mut().push(statement);
    }
}

/// The latency histogram's upper bounds in milliseconds (Prometheus `le` labels).
pub const LATENCY_BUCKETS_MS: [f64; 11] = [0.5, 1.0, 2.0, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0];

impl App {
    /// Builds the handler; `isolate_seed` tells this isolate's recommendation ids from other
    /// isolates' (the Worker passes its start time mixed with a random draw).
    pub fn new(config: AppConfig, isolate_seed: u64) -> Self {
        let mut hash = Fnv64::new();
        hash.write_u64(isolate_seed);
        App {
            config,
            routes: RouteTable::new(),
            cache: RefCell::new(ModelCache::new()),
            metrics: RefCell::new(metrics::MetricsBuffer::default()),
            isolate_tag: format!("{:016x}", hash.finish()),
            ids_issued: Cell::new(0),
            unwritten: RefCell::new(Vec::new()),
            unwritten_dropped: Cell::new(0),
            flush_scheduled: Cell::new(false),
        }
    }

    /// Answers one request. Never fails: every problem becomes a status code, and the
    /// recommendation routes answer a fallback list rather than an error. `clock` gives
    /// milliseconds since the Unix epoch.
    pub async fn handle<S: Storage>(&self, request: &Request, storage: &S, clock: &dyn Fn() -> f64) -> Outcome {
        let started_ms = clock();
        let (label, result, format, mut deferred) = match self.routes.find(&request.method, &request.path) {
            Matched::NotFound => ("not_found", Err(AppError::NotFound), ErrorFormat::Json, Vec::new()),
            Matched::Found { route, handler, params } => {
                let call = Call { request, params, storage, clock, started_ms, deferred: RefCell::new(Vec::new()) };
                let result = match (route.access, handler) {
                    (Access::Admin, _) if !self.authorized(request) => Err(AppError::Unauthorized),
                    (_, None) => Err(AppError::MethodNotAllowed(route.allow())),
                    (_, Some(handler)) => self.dispatch(handler, &call).await,
                };
                (route.label, result, route.errors, call.deferred.into_inner())
            }
        };
        let (mut response, internal_error) = match result {
            Ok(response) => (response, None),
            Err(error) => (error.to_response(format), error.internal_detail().map(str::to_owned)),
        };
        if request.method == "HEAD" {
            // Answered as GET is, without its body or its writes (no impression is logged).
            response.body.clear();
            deferred.clear();
        }
        let elapsed_ms = (clock() - started_ms).max(0.0);
        response.headers.push(("server-timing", format!("app;dur={elapsed_ms:.3}")));
        let answered = metrics::Answered {
            route: label,
            status: response.status,
            fallback: response.header("x-marquee-fallback"),
            elapsed_ms,
        };
        deferred.extend(self.metrics.borrow_mut().record(answered, clock()));
        if !deferred.is_empty() {
            // Writes that failed before go first, in the same batch.
            let mut unwritten = std::mem::take(&mut *self.unwritten.borrow_mut());
            unwritten.append(&mut deferred);
            deferred = unwritten;
        }
        Outcome { response, deferred, internal_error }
    }

    /// The most body bytes a request may bring, known before its body is read: the
    /// handler's limit, or 0 (read nothing) when the path is unknown, the method is not one
    /// it takes, or an admin route lacks the token, so those are answered without ever
    /// reading what was sent. `request.body` is ignored.
    pub fn body_limit(&self, request: &Request) -> usize {
        match self.routes.find(&request.method, &request.path) {
            Matched::Found { route, handler: Some(handler), .. } => {
                if route.access == Access::Admin && !self.authorized(request) {
                    0
                } else {
                    handler.max_body_bytes()
                }
            }
            _ => 0,
        }
    }

    /// The answer to a body over `limit` bytes, refused before it was read.
    pub fn too_large(limit: usize) -> Response {
        AppError::TooLarge { limit }.to_response(ErrorFormat::Json)
    }

    /// Whether the request carries the admin token.
    pub fn authorized(&self, request: &Request) -> bool {
        auth::require_admin(request, self.config.admin_token.as_deref()).is_ok()
    }

    async fn dispatch<S: Storage>(&self, handler: Handler, call: &Call<'_, S>) -> Result<Response, AppError> {
        match handler {
            Handler::Recommend => self.recommend(call, recommend::ListFormat::Text).await,
            Handler::RecommendJson => self.recommend(call, recommend::ListFormat::Json).await,
            Handler::PostEvents => events::ingest(call).await,
            Handler::Health => Ok(Response::json(200, &self.health(call.storage, call.now()).await)),
            Handler::Metrics => {
                // A scrape reads what is stored and writes this isolate's buffered counts
                // after answering: no write stands between Prometheus and its answer, and the
                // totals it reads only ever grow (a counter that dipped would read as a reset).
                let rendered = metrics::render(call.storage, self.served_version().as_deref()).await;
                for statement in self.metrics.borrow_mut().drain() {
                    call.defer(statement);
                }
                rendered
            }
            Handler::ListModels => self.list_versions(call).await,
            Handler::GetRecommender => self.get_recommender(call).await,
            Handler::PutRecommender => self.put_recommender(call).await,
            Handler::GetProfileShard => admin::get_profile_shard(call).await,
            Handler::PutProfileShard => self.put_profile_shard(call).await,
            Handler::PutManifest => admin::put_manifest(call).await,
            Handler::Activate => self.activate(admin::version_param(call)?, call.storage, call.now()).await,
            Handler::Rollback => self.rollback(call.storage, call.now()).await,
            Handler::GetExperiment => self.get_experiment(call).await,
            Handler::PutExperiment => self.put_experiment(call).await,
            Handler::ReadLog => admin::read_log(call).await,
            Handler::Summary => self.summary(call).await,
            Handler::Readout => self.readout(call).await,
            Handler::AdminRecommend => self.admin_recommend(call).await,
            Handler::InspectUser => self.inspect_user(call).await,
            Handler::InspectMovie => self.inspect_movie(call).await,
            Handler::GetReport => monitor_reports::get_report(call).await,
            Handler::PutReport => monitor_reports::put_report(call).await,
        }
    }

    /// Writes this isolate's buffered counts, so that a reader sees its own requests. If the
    /// write fails they are kept for the next request's deferred writes, not lost.
    async fn flush_metrics<S: Storage>(&self, storage: &S) -> Result<(), AppError> {
        let pending = self.metrics.borrow_mut().drain();
        if let Err(error) = storage.execute(&pending).await {
            self.keep_unwritten(pending);
            return Err(error.into());
        }
        Ok(())
    }

    /// Whether the Worker should write this isolate's buffered counts after a pause (true
    /// once per pause, when counts are waiting and no such write is pending): with the write
    /// given to `ctx.waitUntil`, an isolate that goes idle still writes what it counted.
    pub fn schedule_flush(&self) -> bool {
        if self.flush_scheduled.get() || self.metrics.borrow().is_empty() {
            return false;
        }
        self.flush_scheduled.set(true);
        true
    }

    /// The buffered counts as writes, for the scheduled flush.
    pub fn drain_metrics(&self) -> Vec<Statement> {
        self.flush_scheduled.set(false);
        self.metrics.borrow_mut().drain()
    }

    /// Keeps deferred writes that failed (after the Worker's retries), to go out first with
    /// the next request's. D1 runs a batch as one transaction, so a failed batch wrote
    /// nothing and replaying it cannot count twice; log rows are `INSERT OR IGNORE` besides.
    /// At most [`MAX_UNWRITTEN`] statements are kept; the oldest beyond that are dropped and
    /// counted in `/healthz`, so an outage cannot grow the isolate's memory without bound.
    pub fn keep_unwritten(&self, statements: Vec<Statement>) {
        let mut unwritten = self.unwritten.borrow_mut();
        unwritten.extend(statements);
        let excess = unwritten.len().saturating_sub(MAX_UNWRITTEN);
        if excess > 0 {
            unwritten.drain(..excess);
            self.unwritten_dropped.set(self.unwritten_dropped.get() + excess as u64);
        }
    }

    /// Re-reads the active version and the experiment when the cached copy is stale. A
    /// failure keeps the previous settings (and is reported by `/healthz`).
    async fn refresh_settings<S: Storage>(&self, storage: &S, now_ms: f64) -> Result<(), AppError> {
        if !self.cache.borrow().settings_stale(now_ms) {
            // Until the next read, answers go on saying the settings could not be read.
            return match self.cache.borrow().settings_failed {
                true => Err(AppError::Unavailable("the settings could not be read".into())),
                false => Ok(()),
            };
        }
        let stored = queries::read_settings(storage).await;
        let mut cache = self.cache.borrow_mut();
        // Even on failure, wait a full period before asking again, so a storage outage
        // does not add a failing query to every request.
        cache.settings_read_ms = Some(now_ms);
        cache.settings_failed = stored.is_err();
        let stored = stored?;
        cache.settings = Settings {
            active: stored.active_version,
            previous: stored.previous_version,
            experiment: experiment::Experiment::from_stored(stored.experiment.as_deref()),
        };
        Ok(())
    }

    /// The version the last request was served with, for `/metrics`.
    fn served_version(&self) -> Option<String> {
        let cache = self.cache.borrow();
        cache.settings.active.clone().or_else(|| cache.default_model().map(|served| served.version.clone()))
    }

    /// What `/healthz` answers (the admin summary carries it too).
    async fn health<S: Storage>(&self, storage: &S, now_ms: f64) -> serde_json::Value {
        let storage_ok = queries::ping(storage).await.is_ok();
        let settings = self.refresh_settings(storage, now_ms).await;
        let (active, default_loaded) = {
            let cache = self.cache.borrow();
            (cache.settings.active.clone(), cache.default_model().is_some())
        };
        let loaded = match &active {
            Some(version) => self.load_version(storage, version, now_ms).await.map(|served| served.version),
            None => None,
        };
        let model_loaded = loaded.is_some() || default_loaded;
        json!({
            "status": if model_loaded && storage_ok { "ok" } else { "degraded" },
            "model_loaded": model_loaded,
            "model_version": loaded.unwrap_or_else(|| models::DEFAULT_VERSION.to_owned()),
            "active_version": active,
            "default_model_loaded": default_loaded,
            "storage_reachable": storage_ok && settings.is_ok(),
            "fallback_movies": self.config.fallback_movies().len(),
            "writes_pending_retry": self.unwritten.borrow().len(),
            "writes_dropped": self.unwritten_dropped.get(),
        })
    }

    /// A version's recommender, from the cache or storage; `None` when it cannot be loaded
    /// (missing, corrupt, storage down), after which the version is left alone for a while.
    async fn load_version<S: Storage>(&self, storage: &S, version: &str, now_ms: f64) -> Option<models::Served> {
        if let Some(served) = self.cache.borrow().get(version) {
            return Some(served);
        }
        if self.cache.borrow().is_bad(version, now_ms) {
            return None;
        }
        let loaded = match storage.get_blob(&models::recommender_key(version)).await {
            Ok(Some(bytes)) => marquee_model::recommend::Recommender::from_blob(&bytes).map_err(|_| "corrupt"),
            Ok(None) => Err("missing"),
            Err(_) => Err("storage"),
        };
        let mut cache = self.cache.borrow_mut();
        match loaded {
            Ok(recommender) => {
                let served = models::Served { version: version.to_owned(), recommender: std::rc::Rc::new(recommender) };
                cache.insert(served.clone());
                Some(served)
            }
            Err(reason) => {
                cache.mark_bad(version, now_ms);
                self.metrics.borrow_mut().record_load_failure(reason);
                None
            }
        }
    }

    /// A unique id for one served list: the isolate's tag and the number of ids it has
    /// issued, taken and advanced in one step (an isolate runs one piece of code at a time),
    /// so no two lists of an isolate share an id whatever their requests await in between.
    fn recommendation_id(&self) -> String {
        let issued = self.ids_issued.get();
        self.ids_issued.set(issued.wrapping_add(1));
        format!("r{}{issued:x}", self.isolate_tag)
    }
}

//! Target-independent request handling: routing, validation, model serving, logging and
//! the admin API. `cargo test` runs all of it natively against [`crate::MemoryStorage`];
//! the wasm adapter only moves requests, bindings and responses across.

mod admin;
pub mod auth;
pub mod error;
mod events;
pub mod experiment;
mod metrics;
pub mod models;
mod recommend;
pub mod response;
pub mod storage;

use std::cell::{Cell, RefCell};

use marquee_model::hash::Fnv64;
use matchit::Router;
use serde_json::json;

use error::AppError;
use models::{ModelCache, Settings};
pub use response::{Request, Response};
use storage::{SqlValue, Statement, Storage};

/// How many movies `/recommend/<userid>` answers with at most.
pub const MAX_RECOMMENDATIONS: usize = 20;

/// What the Worker is configured with (its variables and secrets).
#[derive(Clone, Debug, Default)]
pub struct AppConfig {
    /// The admin API's bearer token (a Worker secret); `None` closes the admin API.
    pub admin_token: Option<String>,
    /// A popularity list to serve when even the embedded model is unusable.
    pub popular_movies: Vec<String>,
}

impl AppConfig {
    /// Reads the comma-separated `POPULAR_MOVIES` variable; blanks and spaces are dropped.
    pub fn with_popular_list(mut self, list: &str) -> Self {
        self.popular_movies = list.split(',').map(str::trim).filter(|id| !id.is_empty()).map(str::to_owned).collect();
        self
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Route {
    Recommend,
    RecommendJson,
    Events,
    Health,
    Metrics,
    AdminModels,
    AdminRecommender,
    AdminProfiles,
    AdminActivate,
    AdminRollback,
    AdminExperiment,
    AdminLog,
    AdminBench,
}

impl Route {
    /// The `route` label of the request metrics.
    fn label(self) -> &'static str {
        match self {
            Route::Recommend => "recommend",
            Route::RecommendJson => "v1_recommend",
            Route::Events => "v1_events",
            Route::Health => "healthz",
            Route::Metrics => "metrics",
            _ => "admin",
        }
    }
}

/// The path parameters a route matched.
pub(crate) struct Params(Vec<(String, String)>);

impl Params {
    /// A parameter's value ("" when absent).
    pub(crate) fn get(&self, name: &str) -> &str {
        self.0.iter().find(|(key, _)| key == name).map_or("", |(_, value)| value.as_str())
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
    router: Router<Route>,
    cache: RefCell<ModelCache>,
    metrics: RefCell<metrics::MetricsBuffer>,
    /// Seeds recommendation ids: the isolate's start time and a request counter.
    isolate_seed: u64,
    requests: Cell<u64>,
}

/// The latency histogram's upper bounds in milliseconds (Prometheus `le` labels).
pub const LATENCY_BUCKETS_MS: [f64; 11] = [0.5, 1.0, 2.0, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0];

impl App {
    /// Builds the handler; `now_ms` seeds the recommendation ids of this isolate.
    pub fn new(config: AppConfig, now_ms: f64) -> Self {
        let mut router = Router::new();
        let routes = [
            ("/recommend/{user}", Route::Recommend),
            ("/v1/recommend/{user}", Route::RecommendJson),
            ("/v1/events", Route::Events),
            ("/healthz", Route::Health),
            ("/metrics", Route::Metrics),
            ("/v1/admin/models", Route::AdminModels),
            ("/v1/admin/models/{version}/recommender", Route::AdminRecommender),
            ("/v1/admin/models/{version}/profiles/{shard}", Route::AdminProfiles),
            ("/v1/admin/models/{version}/activate", Route::AdminActivate),
            ("/v1/admin/rollback", Route::AdminRollback),
            ("/v1/admin/experiment", Route::AdminExperiment),
            ("/v1/admin/log", Route::AdminLog),
            ("/v1/admin/bench", Route::AdminBench),
        ];
        for (path, route) in routes {
            if let Err(error) = router.insert(path, route) {
                unreachable!("the route table is static and conflict-free: {error}");
            }
        }
        App {
            config,
            router,
            cache: RefCell::new(ModelCache::new()),
            metrics: RefCell::new(metrics::MetricsBuffer::default()),
            isolate_seed: now_ms.to_bits(),
            requests: Cell::new(0),
        }
    }

    /// Answers one request. Never fails: every problem becomes a status code, and the
    /// recommendation routes answer a fallback list rather than an error.
    /// `clock` gives milliseconds (for latencies); `now_ms` is the request's wall time.
    pub async fn handle<S: Storage>(&self, request: &Request, storage: &S, clock: &dyn Fn() -> f64) -> Outcome {
        let started = clock();
        self.requests.set(self.requests.get().wrapping_add(1));
        let (label, mut outcome) = match self.router.at(&request.path) {
            Err(_) => (
                "not_found",
                Outcome { response: AppError::NotFound.to_response(), deferred: Vec::new(), internal_error: None },
            ),
            Ok(matched) => {
                let route = *matched.value;
                let params =
                    Params(matched.params.iter().map(|(key, value)| (key.to_owned(), value.to_owned())).collect());
                let outcome = self.route(route, &params, request, storage, started, clock).await;
                (route.label(), outcome)
            }
        };
        let elapsed_ms = (clock() - started).max(0.0);
        outcome.response.headers.push(("server-timing", format!("app;dur={elapsed_ms:.3}")));
        let flush = self.metrics.borrow_mut().record(label, outcome.response.status, elapsed_ms, clock());
        outcome.deferred.extend(flush);
        outcome
    }

    async fn route<S: Storage>(
        &self,
        route: Route,
        params: &Params,
        request: &Request,
        storage: &S,
        started: f64,
        clock: &dyn Fn() -> f64,
    ) -> Outcome {
        let method = request.method.as_str();
        let allow = |allowed: &'static str| -> Result<(), AppError> {
            let ok = allowed.split(", ").any(|m| m == method) || (method == "HEAD" && allowed.contains("GET"));
            if ok {
                Ok(())
            } else {
                Err(AppError::MethodNotAllowed(allowed))
            }
        };
        let plain = |result: Result<Response, AppError>| match result {
            Ok(response) => Outcome { response, deferred: Vec::new(), internal_error: None },
            Err(error) => Outcome {
                response: error.to_response(),
                deferred: Vec::new(),
                internal_error: match &error {
                    AppError::Unavailable(detail) => Some(detail.clone()),
                    _ => None,
                },
            },
        };
        match route {
            Route::Recommend | Route::RecommendJson => {
                if let Err(error) = allow("GET") {
                    return plain(Err(error));
                }
                let json = route == Route::RecommendJson;
                self.recommend(params.get("user"), request, storage, json, started, clock).await
            }
            Route::Events => plain(match allow("POST") {
                Ok(()) => events::ingest(request, storage, clock()).await,
                Err(error) => Err(error),
            }),
            Route::Health => plain(match allow("GET") {
                Ok(()) => Ok(self.health(storage, clock()).await),
                Err(error) => Err(error),
            }),
            Route::Metrics => plain(match allow("GET") {
                Ok(()) => {
                    // This isolate's buffered counts first, so a scrape sees its own requests.
                    let pending = self.metrics.borrow_mut().drain();
                    match storage.execute(&pending).await {
                        Ok(()) => metrics::render(storage, self.served_version().as_deref()).await,
                        Err(error) => Err(error.into()),
                    }
                }
                Err(error) => Err(error),
            }),
            _ => plain(match auth::require_admin(request, self.config.admin_token.as_deref()) {
                Err(error) => Err(error),
                Ok(()) if route == Route::AdminBench => match allow("GET") {
                    Ok(()) => self.bench(request, storage, clock).await,
                    Err(error) => Err(error),
                },
                Ok(()) => self.admin(route, params, request, storage, clock()).await,
            }),
        }
    }

    /// Re-reads the active version and the experiment when the cached copy is stale. A
    /// failure keeps the previous settings (and is reported by `/healthz`).
    async fn refresh_settings<S: Storage>(&self, storage: &S, now_ms: f64) -> Result<(), AppError> {
        if !self.cache.borrow().settings_stale(now_ms) {
            return Ok(());
        }
        let rows = storage.query(&Statement::new("SELECT key, value FROM settings", Vec::new())).await;
        let mut cache = self.cache.borrow_mut();
        // Even on failure, wait a full period before asking again, so a storage outage
        // does not add a failing query to every request.
        cache.settings_read_ms = Some(now_ms);
        let rows = rows?;
        let value = |key: &str| {
            rows.iter()
                .find(|row| row.get("key").and_then(|k| k.as_str()) == Some(key))
                .and_then(|row| row.get("value")?.as_str().map(str::to_owned))
        };
        cache.settings = Settings {
            active: value("active_version"),
            previous: value("previous_version"),
            experiment: value("experiment")
                .and_then(|text| serde_json::from_str(&text).ok())
                .filter(|experiment: &experiment::Experiment| experiment.validate().is_ok())
                .unwrap_or_default(),
        };
        Ok(())
    }

    /// The version the last request was served with, for `/metrics`.
    fn served_version(&self) -> Option<String> {
        let cache = self.cache.borrow();
        cache.settings.active.clone().or_else(|| cache.default_model().map(|served| served.version.clone()))
    }

    async fn health<S: Storage>(&self, storage: &S, now_ms: f64) -> Response {
        let storage_ok = storage.query(&Statement::new("SELECT 1 AS ok", Vec::new())).await.is_ok();
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
        Response::json(
            200,
            &json!({
                "status": if model_loaded && storage_ok { "ok" } else { "degraded" },
                "model_loaded": model_loaded,
                "model_version": loaded.unwrap_or_else(|| models::DEFAULT_VERSION.to_owned()),
                "active_version": active,
                "default_model_loaded": default_loaded,
                "storage_reachable": storage_ok && settings.is_ok(),
                "fallback_movies": self.config.popular_movies.len(),
            }),
        )
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
            Ok(Some(bytes)) => marquee_model::recommend::Recommender::from_blob(&bytes).ok(),
            Ok(None) | Err(_) => None,
        };
        let mut cache = self.cache.borrow_mut();
        match loaded {
            Some(recommender) => {
                let served = models::Served { version: version.to_owned(), recommender: std::rc::Rc::new(recommender) };
                cache.insert(served.clone());
                Some(served)
            }
            None => {
                cache.mark_bad(version, now_ms);
                None
            }
        }
    }

    /// A unique id for one served list: the isolate's seed, a counter and the user, mixed.
    fn recommendation_id(&self, user_id: u64, now_ms: f64) -> String {
        let mut hash = Fnv64::new();
        for word in [self.isolate_seed, self.requests.get(), user_id, now_ms.to_bits()] {
            hash.write_u64(word);
        }
        format!("r{:x}{:04x}", hash.finish(), self.requests.get() & 0xffff)
    }
}

/// Parses a movie service user id: a non-negative integer.
pub fn parse_user_id(text: &str) -> Result<u64, String> {
    if text.is_empty() || text.len() > 20 || !text.bytes().all(|byte| byte.is_ascii_digit()) {
        let shown: String = text.chars().take(40).collect();
        return Err(format!("malformed user id {shown:?}: expected a non-negative integer"));
    }
    text.parse().map_err(|_| format!("user id {text} is out of range"))
}

/// A `settings` upsert.
fn set_setting(key: &'static str, value: String) -> Statement {
    Statement::new(
        "INSERT INTO settings (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        vec![SqlValue::from(key), SqlValue::from(value)],
    )
}

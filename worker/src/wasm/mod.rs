//! The thin wasm adapter: `entry.mjs` hands each request, the Worker's `env` and the
//! request's `ctx` to [`handle`]; R2 and D1 are reached through [`JsStorage`], which
//! implements the same `Storage` trait the native tests use, over the typed declarations
//! of [`bindings`]. Rows and responses cross with serde-wasm-bindgen.

mod bindings;
mod faults;
#[cfg(feature = "row-conversion-bench")]
mod row_conversion_bench;

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Array, Uint8Array};
use serde::de::DeserializeOwned;
use serde::Serialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

use crate::app::storage::{SqlValue, Statement, Storage, StorageError};
use crate::app::{App, AppConfig, Request, Response};
use bindings::{D1Database, D1PreparedStatement, D1Result, Env, ExecutionContext, R2Bucket, R2ObjectBody};

thread_local! {
    // Built on first use and kept for the isolate's life (workers reuse isolates), keyed by
    // the configuration so that new variables or secrets rebuild it.
    static APP: RefCell<Option<(String, Rc<App>)>> = const { RefCell::new(None) };
}

/// R2 (`MODELS`) and D1 (`DB`) from the Worker's `env`; either may be unconfigured.
#[derive(Clone)]
struct JsStorage {
    models: Option<R2Bucket>,
    db: Option<D1Database>,
    /// Injected faults (`FAULT_INJECTION` runs only; see [`faults`]).
    faults: Option<faults::Faults>,
}

/// A JavaScript exception as a storage error (its message, for the Worker's log).
fn js_error(error: JsValue) -> StorageError {
    let message = match error.dyn_ref::<js_sys::Error>() {
        Some(error) => String::from(error.message()),
        None => error.as_string().unwrap_or_else(|| format!("{error:?}")),
    };
    StorageError(message)
}

/// Awaits a promise a binding returned (or the exception it threw).
async fn settle(promise: Result<js_sys::Promise, JsValue>) -> Result<JsValue, StorageError> {
    JsFuture::from(promise.map_err(js_error)?).await.map_err(js_error)
}

fn sql_value(value: &SqlValue) -> JsValue {
    match value {
        SqlValue::Null => JsValue::NULL,
        // D1 binds JavaScript numbers: exact for Marquee's integers (ids are at most 2^53 − 1,
        // times are milliseconds, counts are small).
        SqlValue::Integer(v) => JsValue::from_f64(*v as f64),
        SqlValue::Real(v) => JsValue::from_f64(*v),
        SqlValue::Text(v) => JsValue::from_str(v),
    }
}

impl JsStorage {
    fn bucket(&self) -> Result<&R2Bucket, StorageError> {
        self.models.as_ref().ok_or_else(|| StorageError("the MODELS (R2) binding is not configured".into()))
    }

    fn prepare(&self, statement: &Statement) -> Result<D1PreparedStatement, StorageError> {
        let db = self.db.as_ref().ok_or_else(|| StorageError("the DB (D1) binding is not configured".into()))?;
        let prepared = db.prepare(statement.sql).map_err(js_error)?;
        if statement.params.is_empty() {
            return Ok(prepared);
        }
        let params: Array = statement.params.iter().map(sql_value).collect();
        prepared.bind(&params).map_err(js_error)
    }
}

impl Storage for JsStorage {
    async fn get_blob(&self, key: &str) -> Result<Option<Vec<u8>>, StorageError> {
        if let Some(faults) = &self.faults {
            faults::before_call(faults, faults::Store::R2).await?;
        }
        let found = settle(self.bucket()?.get(key)).await?;
        if found.is_null() || found.is_undefined() {
            return Ok(None);
        }
        let buffer = settle(found.unchecked_into::<R2ObjectBody>().array_buffer()).await?;
        let bytes = Uint8Array::new(&buffer).to_vec();
        Ok(Some(match &self.faults {
            Some(faults) => faults::after_read(faults, key, bytes),
            None => bytes,
        }))
    }

    async fn put_blob(&self, key: &str, bytes: &[u8]) -> Result<(), StorageError> {
        settle(self.bucket()?.put(key, &Uint8Array::from(bytes))).await.map(drop)
    }

    async fn query<T: DeserializeOwned>(&self, statement: &Statement) -> Result<Vec<T>, StorageError> {
        if let Some(faults) = &self.faults {
            faults::before_call(faults, faults::Store::D1).await?;
        }
        let result: D1Result = settle(self.prepare(statement)?.all()).await?.unchecked_into();
        serde_wasm_bindgen::from_value(result.results())
            .map_err(|error| StorageError(format!("D1 returned unexpected rows for {:?}: {error}", statement.sql)))
    }

    async fn execute(&self, statements: &[Statement]) -> Result<Vec<u64>, StorageError> {
        let Some(db) = &self.db else {
            return Err(StorageError("the DB (D1) binding is not configured".into()));
        };
        if statements.is_empty() {
            return Ok(Vec::new());
        }
        if let Some(faults) = &self.faults {
            faults::before_call(faults, faults::Store::D1).await?;
        }
        let batch = statements.iter().map(|statement| self.prepare(statement)).collect::<Result<Array, _>>()?;
        let results: Array = settle(db.batch(&batch)).await?.unchecked_into();
        if results.length() as usize != statements.len() {
            return Err(StorageError(format!(
                "D1 answered a batch of {} statements with {} results",
                statements.len(),
                results.length()
            )));
        }
        results
            .iter()
            .map(|result| {
                let changes = result.unchecked_into::<D1Result>().meta().changes();
                changes
                    .filter(|n| n.is_finite() && *n >= 0.0)
                    .map(|n| n as u64)
                    .ok_or_else(|| StorageError("D1 answered a batch without meta.changes".into()))
            })
            .collect()
    }
}

/// `console.error`, which workerd writes to the Worker's log.
fn console_error(message: &str) {
    web_sys::console::error_1(&JsValue::from_str(message));
}

fn app_for(env: &Env) -> Rc<App> {
    let token = env.admin_token().as_string().unwrap_or_default();
    let popular = env.popular_movies().as_string().unwrap_or_default();
    let key = format!("{token}\u{0}{popular}");
    APP.with(|cell| {
        let mut slot = cell.borrow_mut();
        if let Some((existing, app)) = slot.as_ref() {
            if *existing == key {
                return app.clone();
            }
        }
        let config = AppConfig { admin_token: (!token.is_empty()).then_some(token), ..AppConfig::default() }
            .with_popular_list(&popular);
        // The start time alone could match another isolate's; a random draw makes a clash
        // of recommendation ids across isolates vanishingly unlikely.
        let random = (js_sys::Math::random() * 9_007_199_254_740_992.0) as u64;
        let app = Rc::new(App::new(config, js_sys::Date::now().to_bits() ^ random.rotate_left(11)));
        *slot = Some((key, app.clone()));
        app
    })
}

/// The answer `entry.mjs` turns into a `Response`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Answer<'a> {
    status: u16,
    content_type: &'a str,
    /// `[name, value]` pairs, as the `Headers` constructor takes them.
    headers: &'a [(&'static str, String)],
    #[serde(with = "serde_bytes")]
    body: &'a [u8],
}

/// How long to wait before each retry of a failed deferred write, in milliseconds.
const DEFERRED_RETRY_BACKOFF_MS: [i32; 2] = [50, 400];

/// Resolves after `ms` milliseconds (a timer is I/O to workerd: the request stays alive
/// through `ctx.waitUntil`).
async fn sleep_ms(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        let _ = bindings::set_timeout(&resolve, ms);
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

/// How long buffered counts wait for a request to carry them before being written alone.
const SCHEDULED_FLUSH_MS: i32 = 1_000;

/// Writes deferred statements, retrying with backoff (a batch is one transaction, so a retry
/// cannot write twice); if they still fail, the app keeps them for the next request's batch.
async fn write_or_keep(app: &App, storage: &JsStorage, statements: Vec<Statement>) {
    for (attempt, backoff_ms) in DEFERRED_RETRY_BACKOFF_MS.iter().enumerate() {
        match storage.execute(&statements).await {
            Ok(_) => return,
            Err(error) => console_error(&format!("deferred write failed (attempt {}): {}", attempt + 1, error.0)),
        }
        sleep_ms(*backoff_ms).await;
    }
    if let Err(error) = storage.execute(&statements).await {
        console_error(&format!("deferred write failed again, kept for the next request: {}", error.0));
        app.keep_unwritten(statements);
    }
}

/// Answers one request. `headers` is `[...request.headers]`. Writes that can wait (the
/// impression, counters) are handed to `ctx.waitUntil`, after the response.
#[wasm_bindgen]
pub async fn handle(
    method: String,
    path: String,
    query: String,
    headers: JsValue,
    body: Vec<u8>,
    env: Env,
    ctx: ExecutionContext,
) -> Result<JsValue, JsValue> {
    let app = app_for(&env);
    let headers: Vec<(String, String)> = serde_wasm_bindgen::from_value(headers).unwrap_or_default();
    let request = Request {
        method,
        path,
        query,
        headers: headers.into_iter().map(|(name, value)| (name.to_ascii_lowercase(), value)).collect(),
        body,
    };
    let fault_injection = env.fault_injection().as_string().as_deref() == Some("1");
    if fault_injection && request.path.starts_with("/v1/admin/faults") {
        return answer(&configure_faults(&app, &request));
    }
    let storage =
        JsStorage { models: env.models(), db: env.db(), faults: fault_injection.then(faults::current).flatten() };
    let clock = || js_sys::Date::now();
    let outcome = app.handle(&request, &storage, &clock).await;
    if let Some(detail) = &outcome.internal_error {
        console_error(&format!("{} {}: {detail}", request.method, request.path));
    }
    if !outcome.deferred.is_empty() {
        let (app, storage, statements) = (app.clone(), storage.clone(), outcome.deferred);
        ctx.wait_until(&wasm_bindgen_futures::future_to_promise(async move {
            write_or_keep(&app, &storage, statements).await;
            Ok(JsValue::UNDEFINED)
        }));
    }
    if app.schedule_flush() {
        // Counts buffered and not yet written: written after the flush interval even if no
        // other request comes (the isolate stays alive for ctx.waitUntil).
        ctx.wait_until(&wasm_bindgen_futures::future_to_promise(async move {
            sleep_ms(SCHEDULED_FLUSH_MS).await;
            let statements = app.drain_metrics();
            if !statements.is_empty() {
                write_or_keep(&app, &storage, statements).await;
            }
            Ok(JsValue::UNDEFINED)
        }));
    }
    answer(&outcome.response)
}

/// A response as `entry.mjs` reads it: plain objects, not Maps, so it reads fields as it
/// would any object's.
fn answer(response: &Response) -> Result<JsValue, JsValue> {
    let answer = Answer {
        status: response.status,
        content_type: response.content_type,
        headers: &response.headers,
        body: &response.body,
    };
    answer.serialize(&serde_wasm_bindgen::Serializer::new()).map_err(JsValue::from)
}

/// `PUT /v1/admin/faults` (set this isolate's faults, JSON) and `POST
/// /v1/admin/faults/restart` (drop the isolate's app), for fault-injection runs only.
fn configure_faults(app: &App, request: &Request) -> Response {
    let json = |status: u16, body: serde_json::Value| Response::json(status, &body);
    if !app.authorized(request) {
        return json(401, serde_json::json!({ "error": "unauthorized", "message": "missing or wrong bearer token" }));
    }
    match (request.method.as_str(), request.path.as_str()) {
        ("PUT", "/v1/admin/faults") => match serde_json::from_slice::<faults::Faults>(&request.body) {
            Ok(new) => match new.validate() {
                Ok(()) => {
                    faults::set(new.clone());
                    json(200, serde_json::json!({ "faults": new }))
                }
                Err(message) => json(422, serde_json::json!({ "error": "unprocessable", "message": message })),
            },
            Err(error) => json(400, serde_json::json!({ "error": "bad_request", "message": error.to_string() })),
        },
        ("POST", "/v1/admin/faults/restart") => {
            APP.with(|slot| *slot.borrow_mut() = None);
            json(200, serde_json::json!({ "restarted": true }))
        }
        _ => json(404, serde_json::json!({ "error": "not_found", "message": "no such route" })),
    }
}

/// The most body bytes `entry.mjs` may read for this request (see `App::body_limit`):
/// decided from the method, the path and the `authorization` header alone.
#[wasm_bindgen(js_name = bodyLimit)]
pub fn body_limit(method: String, path: String, authorization: Option<String>, env: Env) -> f64 {
    let app = app_for(&env);
    let headers = authorization.map(|value| vec![("authorization".to_owned(), value)]).unwrap_or_default();
    let request = Request { method, path, query: String::new(), headers, body: Vec::new() };
    let fault_injection = env.fault_injection().as_string().as_deref() == Some("1");
    if fault_injection && request.path.starts_with("/v1/admin/faults") && app.authorized(&request) {
        return FAULTS_BODY_BYTES as f64;
    }
    app.body_limit(&request) as f64
}

/// The largest fault configuration read (a few numbers and a key fragment).
const FAULTS_BODY_BYTES: usize = 4 << 10;

/// The 413 answer to a body over `limit` bytes, refused before it was read.
#[wasm_bindgen(js_name = tooLarge)]
pub fn too_large(limit: f64) -> Result<JsValue, JsValue> {
    answer(&App::too_large(limit as usize))
}

/// The embedded default model's most popular movies, for `entry.mjs` to answer with after
/// a trap reset the instance (the built-in list of last resort if even that model fails).
#[wasm_bindgen(js_name = fallbackList)]
pub fn fallback_list() -> String {
    crate::app::models::ModelCache::new()
        .default_model()
        .map(|served| {
            let catalog = served.recommender.catalog();
            catalog
                .popular
                .iter()
                .take(crate::app::MAX_RECOMMENDATIONS)
                .filter_map(|&item| catalog.movies.get(item as usize).map(|movie| movie.movie_id.clone()))
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_else(|| crate::app::last_resort::LAST_RESORT_MOVIES.join(","))
}

/// A model blob loaded once and scored many times from JavaScript: the benchmark's wasm
/// figures and the cross-runtime parity test use it.
#[wasm_bindgen]
pub struct LoadedModel {
    predictor: marquee_model::gbdt::Predictor,
}

#[wasm_bindgen]
impl LoadedModel {
    /// Validates and loads a blob; a corrupt blob is an error, never a trap.
    #[wasm_bindgen(constructor)]
    pub fn new(blob: &[u8]) -> Result<LoadedModel, JsError> {
        let predictor =
            marquee_model::gbdt::Predictor::from_blob(blob).map_err(|error| JsError::new(&error.to_string()))?;
        Ok(LoadedModel { predictor })
    }

    /// How many features a row has.
    #[wasm_bindgen(getter, js_name = numFeatures)]
    pub fn num_features(&self) -> usize {
        self.predictor.num_features()
    }

    /// Predictions for row-major `rows`, written into `out` (one per row).
    pub fn predict(&self, rows: &[f32], out: &mut [f32]) -> Result<(), JsError> {
        self.predictor.predict_batch(rows, out).map_err(|error| JsError::new(&error.to_string()))
    }
}

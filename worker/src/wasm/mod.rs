//! The thin wasm adapter: `entry.mjs` hands each request and the Worker's bindings to
//! [`handle`]; R2 and D1 are reached through [`JsStorage`], which implements the same
//! `Storage` trait the native tests use.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Array, Function, Object, Promise, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

use crate::app::storage::{Row, SqlValue, Statement, Storage, StorageError};
use crate::app::{App, AppConfig, Request};

thread_local! {
    // Built on first use and kept for the isolate's life (workers reuse isolates), keyed by
    // the configuration so that new variables or secrets rebuild it.
    static APP: RefCell<Option<(String, Rc<App>)>> = const { RefCell::new(None) };
}

/// R2 (`MODELS`) and D1 (`DB`) from the Worker's `env`.
#[derive(Clone)]
struct JsStorage {
    models: JsValue,
    db: JsValue,
}

fn js_error(error: JsValue) -> StorageError {
    StorageError(error.as_string().unwrap_or_else(|| format!("{error:?}")))
}

/// Calls `target[name](...args)` and awaits it if it returns a promise.
async fn call(target: &JsValue, name: &str, args: &[JsValue]) -> Result<JsValue, StorageError> {
    if target.is_undefined() || target.is_null() {
        return Err(StorageError(format!("the binding for {name} is not configured")));
    }
    let function: Function =
        Reflect::get(target, &JsValue::from_str(name)).map_err(js_error)?.dyn_into().map_err(js_error)?;
    let arguments: Array = args.iter().collect();
    let result = function.apply(target, &arguments).map_err(js_error)?;
    match result.dyn_into::<Promise>() {
        Ok(promise) => JsFuture::from(promise).await.map_err(js_error),
        Err(value) => Ok(value),
    }
}

fn sql_value(value: &SqlValue) -> JsValue {
    match value {
        SqlValue::Null => JsValue::NULL,
        // D1 binds JavaScript numbers; Marquee's integers (ids, times, counts) fit in 2^53.
        SqlValue::Integer(v) => JsValue::from_f64(*v as f64),
        SqlValue::Real(v) => JsValue::from_f64(*v),
        SqlValue::Text(v) => JsValue::from_str(v),
    }
}

impl JsStorage {
    async fn prepare(&self, statement: &Statement) -> Result<JsValue, StorageError> {
        let prepared = call(&self.db, "prepare", &[JsValue::from_str(statement.sql)]).await?;
        if statement.params.is_empty() {
            return Ok(prepared);
        }
        let params: Vec<JsValue> = statement.params.iter().map(sql_value).collect();
        call(&prepared, "bind", &params).await
    }
}

impl Storage for JsStorage {
    async fn get_blob(&self, key: &str) -> Result<Option<Vec<u8>>, StorageError> {
        let object = call(&self.models, "get", &[JsValue::from_str(key)]).await?;
        if object.is_null() || object.is_undefined() {
            return Ok(None);
        }
        let buffer = call(&object, "arrayBuffer", &[]).await?;
        Ok(Some(Uint8Array::new(&buffer).to_vec()))
    }

    async fn put_blob(&self, key: &str, bytes: &[u8]) -> Result<(), StorageError> {
        call(&self.models, "put", &[JsValue::from_str(key), Uint8Array::from(bytes).into()]).await.map(|_| ())
    }

    async fn query(&self, statement: &Statement) -> Result<Vec<Row>, StorageError> {
        let bound = self.prepare(statement).await?;
        let result = call(&bound, "all", &[]).await?;
        let rows = Reflect::get(&result, &JsValue::from_str("results")).map_err(js_error)?;
        let text = js_sys::JSON::stringify(&rows).map_err(js_error)?.as_string().unwrap_or_default();
        serde_json::from_str(&text).map_err(|error| StorageError(format!("D1 returned unexpected rows: {error}")))
    }

    async fn execute(&self, statements: &[Statement]) -> Result<(), StorageError> {
        if statements.is_empty() {
            return Ok(());
        }
        let batch = Array::new();
        for statement in statements {
            batch.push(&self.prepare(statement).await?);
        }
        call(&self.db, "batch", &[batch.into()]).await.map(|_| ())
    }
}

/// `console.error`, which workerd writes to the Worker's log.
fn console_error(message: &str) {
    let console = Reflect::get(&js_sys::global(), &JsValue::from_str("console")).unwrap_or(JsValue::UNDEFINED);
    if let Ok(error) = Reflect::get(&console, &JsValue::from_str("error")) {
        if let Ok(function) = error.dyn_into::<Function>() {
            let _ = function.call1(&console, &JsValue::from_str(message));
        }
    }
}

fn env_string(env: &JsValue, name: &str) -> String {
    Reflect::get(env, &JsValue::from_str(name)).ok().and_then(|value| value.as_string()).unwrap_or_default()
}

fn app_for(env: &JsValue) -> Rc<App> {
    let token = env_string(env, "ADMIN_TOKEN");
    let popular = env_string(env, "POPULAR_MOVIES");
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
        let app = Rc::new(App::new(config, js_sys::Date::now()));
        *slot = Some((key, app.clone()));
        app
    })
}

/// Answers one request. Returns `{status, contentType, headers, body, deferred}`, where
/// `deferred` is a promise of the writes to hand to `ctx.waitUntil`.
#[wasm_bindgen]
pub async fn handle(
    method: String,
    path: String,
    query: String,
    headers: Array,
    body: Uint8Array,
    env: JsValue,
) -> Result<JsValue, JsValue> {
    let app = app_for(&env);
    let storage = JsStorage {
        models: Reflect::get(&env, &JsValue::from_str("MODELS")).unwrap_or(JsValue::UNDEFINED),
        db: Reflect::get(&env, &JsValue::from_str("DB")).unwrap_or(JsValue::UNDEFINED),
    };
    let request = Request {
        method,
        path,
        query,
        headers: headers
            .iter()
            .filter_map(|pair| {
                let pair: Array = pair.dyn_into().ok()?;
                Some((pair.get(0).as_string()?.to_ascii_lowercase(), pair.get(1).as_string()?))
            })
            .collect(),
        body: body.to_vec(),
    };
    let clock = || js_sys::Date::now();
    let outcome = app.handle(&request, &storage, &clock).await;
    if let Some(detail) = &outcome.internal_error {
        console_error(&format!("{} {}: {detail}", request.method, request.path));
    }

    let deferred_storage = storage.clone();
    let statements = outcome.deferred;
    let deferred = wasm_bindgen_futures::future_to_promise(async move {
        deferred_storage.execute(&statements).await.map(|()| JsValue::UNDEFINED).map_err(|e| JsValue::from_str(&e.0))
    });
    let response = outcome.response;
    let header_pairs = Array::new();
    for (name, value) in &response.headers {
        header_pairs.push(&Array::of2(&JsValue::from_str(name), &JsValue::from_str(value)));
    }
    let answer = Object::new();
    let set = |key: &str, value: &JsValue| Reflect::set(&answer, &JsValue::from_str(key), value).map(|_| ());
    set("status", &JsValue::from(response.status))?;
    set("contentType", &JsValue::from_str(response.content_type))?;
    set("headers", &header_pairs)?;
    set("body", &Uint8Array::from(response.body.as_slice()))?;
    set("deferred", &deferred)?;
    Ok(answer.into())
}

/// The embedded default model's most popular movies, for `entry.mjs` to answer with after
/// a trap reset the instance.
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
        .unwrap_or_default()
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

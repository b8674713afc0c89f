//! Typed declarations of the workerd objects the Worker uses, the way workers-rs's
//! `worker-sys` declares them: D1 (`DB`), R2 (`MODELS`), the Worker's `env` and the
//! request's execution context. Every call that can throw in JavaScript is `catch`, so a
//! failing binding is an `Err`, never a trap.

use js_sys::{Array, Promise, Uint8Array};
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    /// The Worker's `env`: its bindings, variables and secrets.
    pub type Env;

    /// The R2 bucket of model blobs.
    #[wasm_bindgen(method, getter, js_name = MODELS)]
    pub fn models(this: &Env) -> Option<R2Bucket>;

    /// The D1 database of settings, versions, the log and the counters.
    #[wasm_bindgen(method, getter, js_name = DB)]
    pub fn db(this: &Env) -> Option<D1Database>;

    /// The admin API's bearer token (a secret).
    #[wasm_bindgen(method, getter, js_name = ADMIN_TOKEN)]
    pub fn admin_token(this: &Env) -> JsValue;

    /// `"1"` enables `/v1/admin/faults` (fault-injection runs only; see `wasm/faults.rs`).
    #[wasm_bindgen(method, getter, js_name = FAULT_INJECTION)]
    pub fn fault_injection(this: &Env) -> JsValue;

    /// A comma-separated popularity list, the fallback of last resort.
    #[wasm_bindgen(method, getter, js_name = POPULAR_MOVIES)]
    pub fn popular_movies(this: &Env) -> JsValue;
}

#[wasm_bindgen]
extern "C" {
    /// The request's `ctx`.
    pub type ExecutionContext;

    /// Keeps the isolate alive until `promise` settles, after the response is sent.
    #[wasm_bindgen(method, js_name = waitUntil)]
    pub fn wait_until(this: &ExecutionContext, promise: &Promise);
}

#[wasm_bindgen]
extern "C" {
    /// A D1 database.
    #[derive(Clone)]
    pub type D1Database;

    /// Compiles one statement (throws on a syntax error).
    #[wasm_bindgen(method, catch)]
    pub fn prepare(this: &D1Database, query: &str) -> Result<D1PreparedStatement, JsValue>;

    /// Runs statements as one transaction; resolves to their results.
    #[wasm_bindgen(method, catch)]
    pub fn batch(this: &D1Database, statements: &Array) -> Result<Promise, JsValue>;

    /// A compiled statement, with or without its parameters bound.
    pub type D1PreparedStatement;

    /// Binds `?1`, `?2`, ... to the array's values, returning the bound statement.
    #[wasm_bindgen(method, catch, variadic)]
    pub fn bind(this: &D1PreparedStatement, values: &Array) -> Result<D1PreparedStatement, JsValue>;

    /// Runs the statement; resolves to a [`D1Result`] holding every row.
    #[wasm_bindgen(method, catch)]
    pub fn all(this: &D1PreparedStatement) -> Result<Promise, JsValue>;

    /// What `all()` resolves to.
    pub type D1Result;

    /// The rows, as plain objects keyed by column name.
    #[wasm_bindgen(method, getter)]
    pub fn results(this: &D1Result) -> JsValue;

    /// What the statement did: `changes` (rows it changed), `duration`, `rows_written`, ...
    #[wasm_bindgen(method, getter)]
    pub fn meta(this: &D1Result) -> D1Meta;

    /// A [`D1Result`]'s `meta`.
    pub type D1Meta;

    /// Rows the statement itself inserted, updated or deleted (SQLite's `changes()`).
    #[wasm_bindgen(method, getter)]
    pub fn changes(this: &D1Meta) -> Option<f64>;
}

#[wasm_bindgen]
extern "C" {
    /// An R2 bucket.
    #[derive(Clone)]
    pub type R2Bucket;

    /// Resolves to the object under `key` with its body, or `null`.
    #[wasm_bindgen(method, catch)]
    pub fn get(this: &R2Bucket, key: &str) -> Result<Promise, JsValue>;

    /// Stores `value` under `key`, replacing any object there.
    #[wasm_bindgen(method, catch)]
    pub fn put(this: &R2Bucket, key: &str, value: &Uint8Array) -> Result<Promise, JsValue>;

    /// An object `get` found, with its body.
    pub type R2ObjectBody;

    /// Resolves to the whole body as an `ArrayBuffer`.
    #[wasm_bindgen(method, catch, js_name = arrayBuffer)]
    pub fn array_buffer(this: &R2ObjectBody) -> Result<Promise, JsValue>;
}

#[wasm_bindgen]
extern "C" {
    /// The global `setTimeout`, for the backoff between retries of a failed write.
    #[wasm_bindgen(catch, js_name = setTimeout)]
    pub fn set_timeout(handler: &js_sys::Function, timeout_ms: i32) -> Result<JsValue, JsValue>;
}

//! The thin wasm adapter: workerd calls `handle` through `entry.mjs`.

use std::cell::RefCell;

use wasm_bindgen::prelude::*;

use crate::app::{App, AppConfig};

thread_local! {
    // Built on first use and kept for the isolate's life: workers reuse isolates across requests.
    static APP: RefCell<Option<(String, App)>> = const { RefCell::new(None) };
}

/// Answers one request; `entry.mjs` turns the result into a `Response`.
#[wasm_bindgen]
pub fn handle(method: &str, path: &str, popular_movies: &str) -> WorkerResponse {
    APP.with(|cell| {
        let mut slot = cell.borrow_mut();
        // Rebuild only when the configuration changed (a redeploy with new variables).
        if slot.as_ref().is_none_or(|(list, _)| list != popular_movies) {
            *slot = Some((popular_movies.to_owned(), App::new(AppConfig::from_popular_list(popular_movies))));
        }
        let Some((_, app)) = slot.as_ref() else { unreachable!("the slot was filled just above") };
        let response = app.handle(method, path);
        let headers = js_sys::Array::new();
        for (name, value) in &response.headers {
            headers.push(&js_sys::Array::of2(&JsValue::from_str(name), &JsValue::from_str(value)));
        }
        WorkerResponse { status: response.status, content_type: response.content_type, body: response.body, headers }
    })
}

/// A response in a shape JavaScript can read.
#[wasm_bindgen(getter_with_clone)]
pub struct WorkerResponse {
    pub status: u16,
    content_type: &'static str,
    pub body: String,
    pub headers: js_sys::Array,
}

#[wasm_bindgen]
impl WorkerResponse {
    /// The response's `content-type`.
    #[wasm_bindgen(getter, js_name = contentType)]
    pub fn content_type(&self) -> String {
        self.content_type.to_owned()
    }
}

/// A model blob loaded once and scored many times from JavaScript: the benchmark's wasm
/// figures and the cross-runtime parity test use it, the request path will too.
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

//! A micro-benchmark export, built only with the `row-conversion-bench` feature (never in
//! the shipped Worker): converts the same D1-shaped log rows to Rust values the way the
//! adapter does now (serde-wasm-bindgen, straight into typed rows) and the way it used to
//! (`JSON.stringify` in JavaScript, then serde_json into a map per row). Run by
//! `cargo xtask bench-rows`, which times each call in Node.

use marquee_data::EdgeRow;
use wasm_bindgen::prelude::*;

/// Converts `rows` (an array of plain objects, as D1's `all()` returns them) `repeat`
/// times by `path`, and returns how many rows came out, so no work can be skipped.
/// Paths: `serde-wasm-bindgen` (typed rows, the adapter today), `json-map` (the earlier
/// adapter: stringify, then a `serde_json::Map` per row), `json-typed` (stringify, then
/// typed rows through serde_json, for reference).
#[wasm_bindgen(js_name = convertLogRows)]
pub fn convert_log_rows(rows: JsValue, path: &str, repeat: u32) -> Result<usize, JsError> {
    let mut converted = 0;
    for _ in 0..repeat {
        converted += match path {
            "serde-wasm-bindgen" => serde_wasm_bindgen::from_value::<Vec<EdgeRow>>(rows.clone())?.len(),
            "json-map" => {
                serde_json::from_str::<Vec<serde_json::Map<String, serde_json::Value>>>(&stringify(&rows)?)?.len()
            }
            "json-typed" => serde_json::from_str::<Vec<EdgeRow>>(&stringify(&rows)?)?.len(),
            other => return Err(JsError::new(&format!("unknown conversion path {other:?}"))),
        };
    }
    Ok(converted)
}

fn stringify(rows: &JsValue) -> Result<String, JsError> {
    js_sys::JSON::stringify(rows).map(String::from).map_err(|_| JsError::new("the rows cannot be stringified"))
}

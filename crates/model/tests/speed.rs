//! A quick inference timing, run by hand in release:
//! `cargo test --release -p marquee-model --test speed -- --ignored --nocapture`.

mod common;

// In headless Chromium (`cargo xtask test`), `#[test]` is wasm-bindgen-test's: the same
// tests run in the browser the admin UI runs the model in.
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;
#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

use std::time::Instant;

use common::{random_ensemble, random_rows, Shape};
use marquee_model::Predictor;

#[test]
#[ignore]
fn nanoseconds_per_row() {
    // The benchmark's shape: 200 full depth-6 trees over 30 numeric features.
    let shape = Shape { trees: 200, depth: 6, numeric: 30, categorical: 0, early_leaf: 0.0 };
    let ensemble = random_ensemble(1, shape);
    let predictor = Predictor::new(ensemble.clone()).unwrap();
    let rows = random_rows(2, &ensemble, 1000);
    let mut out = vec![0.0; 1000];
    let mut best_batch = f64::MAX;
    for _ in 0..50 {
        let start = Instant::now();
        predictor.predict_batch(&rows, &mut out).unwrap();
        best_batch = best_batch.min(start.elapsed().as_nanos() as f64 / 1000.0);
    }
    let mut best_single = f64::MAX;
    let mut sink = 0.0;
    for _ in 0..50 {
        let start = Instant::now();
        for row in rows.chunks(30) {
            sink += predictor.predict(row).unwrap();
        }
        best_single = best_single.min(start.elapsed().as_nanos() as f64 / 1000.0);
    }
    let mut contributions = vec![0.0; 31];
    let start = Instant::now();
    for row in rows.chunks(30).take(100) {
        predictor.contributions(row, &mut contributions).unwrap();
    }
    let shap = start.elapsed().as_nanos() as f64 / 100.0;
    println!("batch of 1000: {best_batch:.0} ns/row; one row at a time: {best_single:.0} ns/row; contributions: {shap:.0} ns/row ({sink})");
}

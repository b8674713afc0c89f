//! The committed parity fixture (tests/fixtures/parity) predicts bit-identically in
//! headless Chromium, as natively and in workerd.
#![cfg(target_arch = "wasm32")]

use marquee_model::gbdt::Predictor;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn f32s(bytes: &[u8]) -> Vec<f32> {
    bytes.chunks_exact(4).map(|chunk| f32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]])).collect()
}

#[wasm_bindgen_test]
fn the_committed_blob_predicts_the_committed_bits_in_the_browser() {
    let blob = include_bytes!("../../tests/fixtures/parity/model.blob");
    let rows = f32s(include_bytes!("../../tests/fixtures/parity/rows.f32"));
    let expected = f32s(include_bytes!("../../tests/fixtures/parity/expected.f32"));
    let predictor = Predictor::from_blob(blob).expect("the fixture loads");
    // Every committed row has its expected prediction, and there are rows at all: a
    // truncated fixture must fail here, not shorten the comparison.
    let width = predictor.schema().len();
    assert!(!expected.is_empty(), "the fixture has no expected predictions");
    assert_eq!(rows.len(), expected.len() * width, "{} values for {} rows of {width}", rows.len(), expected.len());
    let mut predictions = vec![0.0; expected.len()];
    predictor.predict_batch(&rows, &mut predictions).expect("predicts");
    for (index, (ours, wanted)) in predictions.iter().zip(&expected).enumerate() {
        assert_eq!(ours.to_bits(), wanted.to_bits(), "row {index}");
    }
}

//! One committed blob, one set of rows, one set of expected predictions (as f32 bits):
//! natively here, in workerd (`worker/tests/parity.test.mjs`) and in headless Chromium
//! (`web/tests/parity_in_browser.rs`) the predictions must be bit-identical.

use std::path::PathBuf;

use marquee_model::gbdt::{Feature, FeatureKind, FeatureSchema, Objective, Predictor};
use marquee_train::gbdt::{train, Table, TrainParams};
use marquee_train::Validate;

fn fixture_dir() -> PathBuf {
    marquee_e2e::workspace_root().join("tests/fixtures/parity")
}

fn f32s(bytes: &[u8]) -> Vec<f32> {
    bytes.chunks_exact(4).map(|chunk| f32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]])).collect()
}

#[test]
fn the_committed_blob_predicts_the_committed_bits_natively() {
    let dir = fixture_dir();
    let blob = std::fs::read(dir.join("model.blob")).expect("the fixture blob");
    let rows = f32s(&std::fs::read(dir.join("rows.f32")).expect("the fixture rows"));
    let expected = f32s(&std::fs::read(dir.join("expected.f32")).expect("the expected predictions"));
    let predictor = Predictor::from_blob(&blob).expect("the fixture loads");
    // Every committed row has its expected prediction, and there are rows at all: a
    // truncated fixture must fail here, not shorten the comparison.
    let width = predictor.schema().len();
    assert!(!expected.is_empty(), "the fixture has no expected predictions");
    assert_eq!(rows.len(), expected.len() * width, "{} values for {} rows of {width}", rows.len(), expected.len());
    let mut predictions = vec![0.0; expected.len()];
    predictor.predict_batch(&rows, &mut predictions).expect("predicts");
    for (index, (ours, wanted)) in predictions.iter().zip(&expected).enumerate() {
        assert_eq!(ours.to_bits(), wanted.to_bits(), "row {index}: {ours} != {wanted}");
    }
}

/// The committed blob's checksum, pinned: the checksum (FNV-1a over the body) must never
/// change, or every published blob would stop loading.
#[test]
fn the_blob_checksum_is_pinned() {
    let blob = std::fs::read(fixture_dir().join("model.blob")).expect("the fixture blob");
    let header = marquee_model::blob::read_header(&blob).expect("a header");
    assert_eq!(header.checksum, 0x4de1_5060_d6da_aa9e);
    assert_eq!(
        marquee_model::hash::fnv64(blob.get(marquee_model::blob::HEADER_LEN..).unwrap_or_default()),
        header.checksum
    );
}

/// Regenerates the fixture (run once, then commit): a logistic model (so the sigmoid is
/// exercised) over numeric, missing and categorical inputs.
#[test]
#[ignore = "writes tests/fixtures/parity; run by hand when the blob format changes"]
fn regenerate_the_parity_fixture() {
    let rows = 2000;
    let mut state = 12345u64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f32 / (1u64 << 53) as f32
    };
    let mut features = Vec::new();
    let mut labels = Vec::new();
    for _ in 0..rows {
        let (a, b, category) = (next() * 4.0 - 2.0, next(), (next() * 5.0).floor());
        let b = if next() < 0.2 { f32::NAN } else { b };
        let score = a + if b.is_nan() { 1.0 } else { b } - [0.0, 1.5, -1.0, 0.5, 2.0][category as usize] + next() - 0.5;
        features.extend_from_slice(&[a, b, category, next()]);
        labels.push(f32::from(u8::from(score > 0.5)));
    }
    let schema = FeatureSchema {
        features: vec![
            Feature { name: "a".into(), kind: FeatureKind::Numeric },
            Feature { name: "b".into(), kind: FeatureKind::Numeric },
            Feature { name: "genre".into(), kind: FeatureKind::Categorical { categories: 5 } },
            Feature { name: "noise".into(), kind: FeatureKind::Numeric },
        ],
    };
    let table = Table::new(schema, features, labels, None).unwrap();
    let params = TrainParams { objective: Objective::Logistic, rounds: 30, max_depth: 4, ..TrainParams::default() }
        .validate()
        .unwrap();
    let output = train(&table, None, &params, &mut |_, _| {}).unwrap();
    let blob = output.ensemble.to_blob().unwrap();
    let predictor = Predictor::from_blob(&blob).unwrap();
    let sample = &table.features[..200 * 4];
    let mut predictions = vec![0.0; 200];
    predictor.predict_batch(sample, &mut predictions).unwrap();
    let bytes = |values: &[f32]| values.iter().flat_map(|value| value.to_le_bytes()).collect::<Vec<u8>>();
    let dir = fixture_dir();
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("model.blob"), &blob).unwrap();
    std::fs::write(dir.join("rows.f32"), bytes(sample)).unwrap();
    std::fs::write(dir.join("expected.f32"), bytes(&predictions)).unwrap();
}

//! Model blobs: round trips, the frozen version-1 and version-2 fixtures, and damage never
//! panicking.

mod common;

// In headless Chromium (`cargo xtask test`), `#[test]` is wasm-bindgen-test's: the same
// tests run in the browser the admin UI runs the model in.
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;
#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

use common::{hand_built, random_ensemble, random_rows, Shape};
use marquee_model::blob::{self, BlobKind, HEADER_LEN};
use marquee_model::gbdt::{Ensemble, Node, Objective, Tree};
use marquee_model::{ModelError, Predictor};

/// Version 1's fixture: [`fixture_model`] as written by the first release of the format.
const FIXTURE_V1: &[u8] = include_bytes!("fixtures/ensemble_v1.blob");

/// Version 2's fixture: [`fixture_model`] as written by the first release of version 2.
const FIXTURE_V2: &[u8] = include_bytes!("fixtures/ensemble_v2.blob");

/// The fixture's model: the hand-built trees under a logistic objective.
fn fixture_model() -> Ensemble {
    hand_built(Objective::Logistic)
}

/// Rewrites the fixture. Run it only when adding a fixture for a new format version, never
/// to "fix" a failing version-1 test: that failure means old blobs no longer load.
#[test]
#[ignore]
fn regenerate_v1_fixture() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/ensemble_v1.blob");
    std::fs::write(path, fixture_model().to_blob_version(1).unwrap()).unwrap();
}

/// Rewrites version 2's fixture. Same rule as for version 1: never to "fix" a failing test.
#[test]
#[ignore]
fn regenerate_v2_fixture() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/ensemble_v2.blob");
    std::fs::write(path, fixture_model().to_blob_version(2).unwrap()).unwrap();
}

/// Every prediction and contribution of `ensemble` on `rows`, as bits.
fn outputs(ensemble: &Ensemble, rows: &[f32]) -> (Vec<u32>, Vec<u32>) {
    let predictor = Predictor::new(ensemble.clone()).unwrap();
    let width = predictor.num_features();
    let count = rows.len().checked_div(width).unwrap_or(0);
    let mut predictions = vec![0.0; count];
    predictor.predict_batch(rows, &mut predictions).unwrap();
    let mut contributions = vec![0.0; count * (width + 1)];
    if width > 0 {
        for (row, out) in rows.chunks_exact(width).zip(contributions.chunks_exact_mut(width + 1)) {
            predictor.contributions(row, out).unwrap();
        }
    }
    (predictions.iter().map(|x| x.to_bits()).collect(), contributions.iter().map(|x| x.to_bits()).collect())
}

/// True when every split's left child is the node right after it (version 2's layout).
fn is_preorder(ensemble: &Ensemble) -> bool {
    ensemble
        .trees
        .iter()
        .all(|tree| tree.nodes.iter().enumerate().all(|(at, node)| node.is_leaf() || node.left as usize == at + 1))
}

#[test]
fn the_v1_fixture_still_loads_and_predicts() {
    let header = blob::read_header(FIXTURE_V1).unwrap();
    assert_eq!(header.version, 1);
    assert_eq!(header.kind, BlobKind::GbdtEnsemble.code());
    assert_eq!(header.schema_hash, fixture_model().schema.hash64());
    let predictor = Predictor::from_blob(FIXTURE_V1).unwrap();
    assert_eq!(predictor.ensemble(), &fixture_model());
    // Pinned predictions: margin 1.0 and 2.75 through the deterministic sigmoid.
    assert_eq!(predictor.predict_margin(&[20.0, 0.2, 1.0]).unwrap(), 1.0);
    assert_eq!(predictor.predict(&[20.0, 0.2, 1.0]).unwrap().to_bits(), 0x3f3b_26a8);
    assert_eq!(predictor.predict_margin(&[f32::NAN, f32::NAN, f32::NAN]).unwrap(), 2.75);
}

/// The fixture model in pre-order, written out by hand: what version 2 stores and returns.
fn fixture_model_in_preorder() -> Ensemble {
    let mut ensemble = fixture_model();
    let [root, score, three, one, two] = ensemble.trees[0].nodes[..] else { panic!("five nodes") };
    ensemble.trees[0] = Tree {
        nodes: vec![Node { right: 4, ..root }, Node { left: 2, right: 3, ..score }, one, two, three],
        category_sets: vec![],
    };
    ensemble
}

#[test]
fn the_v1_writer_still_writes_the_v1_fixture() {
    assert_eq!(fixture_model().to_blob_version(1).unwrap(), FIXTURE_V1);
}

#[test]
fn the_v2_fixture_still_loads_and_predicts() {
    let header = blob::read_header(FIXTURE_V2).unwrap();
    assert_eq!(header.version, 2);
    assert_eq!(header.kind, BlobKind::GbdtEnsemble.code());
    assert_eq!(header.schema_hash, fixture_model().schema.hash64());
    let predictor = Predictor::from_blob(FIXTURE_V2).unwrap();
    assert_eq!(predictor.ensemble(), &fixture_model_in_preorder());
    assert_eq!(predictor.ensemble(), &fixture_model().canonical().unwrap());
    // The same pinned predictions as version 1's.
    assert_eq!(predictor.predict_margin(&[20.0, 0.2, 1.0]).unwrap(), 1.0);
    assert_eq!(predictor.predict(&[20.0, 0.2, 1.0]).unwrap().to_bits(), 0x3f3b_26a8);
    assert_eq!(predictor.predict_margin(&[f32::NAN, f32::NAN, f32::NAN]).unwrap(), 2.75);
    // The current writer still writes it, byte for byte.
    assert_eq!(fixture_model().to_blob().unwrap(), FIXTURE_V2);
}

#[test]
fn v1_and_v2_blobs_of_one_ensemble_predict_identically() {
    let (v1, v2) = (Ensemble::from_blob(FIXTURE_V1).unwrap(), Ensemble::from_blob(FIXTURE_V2).unwrap());
    let rows = random_rows(7, &v1, 200);
    assert_eq!(outputs(&v1, &rows), outputs(&v2, &rows));
    for seed in 0..10 {
        let ensemble =
            random_ensemble(seed, Shape { trees: 20, depth: 5, numeric: 8, categorical: 2, early_leaf: 0.2 });
        let v1 = Ensemble::from_blob(&ensemble.to_blob_version(1).unwrap()).unwrap();
        let v2 = Ensemble::from_blob(&ensemble.to_blob_version(2).unwrap()).unwrap();
        assert_eq!(v1, ensemble);
        assert_eq!(v2, ensemble.canonical().unwrap());
        let rows = random_rows(seed, &ensemble, 100);
        assert_eq!(outputs(&v1, &rows), outputs(&v2, &rows));
    }
}

#[test]
fn round_trips_give_identical_predictions() {
    for seed in 0..10 {
        let ensemble =
            random_ensemble(seed, Shape { trees: 20, depth: 5, numeric: 8, categorical: 2, early_leaf: 0.2 });
        let bytes = ensemble.to_blob().unwrap();
        let loaded = Ensemble::from_blob(&bytes).unwrap();
        // Version 2 stores the pre-order layout; the random trees are breadth first.
        assert!(is_preorder(&loaded));
        assert_eq!(loaded, ensemble.canonical().unwrap());
        assert_eq!(loaded.to_blob().unwrap(), bytes, "writing the loaded model again changes nothing");
        let (before, after) = (Predictor::new(ensemble.clone()).unwrap(), Predictor::from_blob(&bytes).unwrap());
        let rows = random_rows(seed, &ensemble, 100);
        let (mut a, mut b) = (vec![0.0; 100], vec![0.0; 100]);
        before.predict_batch(&rows, &mut a).unwrap();
        after.predict_batch(&rows, &mut b).unwrap();
        assert_eq!(
            a.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
            b.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
        );
        assert_eq!(outputs(&ensemble, &rows), outputs(&loaded, &rows));
    }
}

/// Run with `--nocapture` to see the figures; fails if version 2 is not at least 15% smaller.
#[test]
fn v2_is_smaller_than_v1() {
    let ensemble = random_ensemble(42, Shape { trees: 200, depth: 6, numeric: 20, categorical: 2, early_leaf: 0.1 });
    let (v1, v2) = (ensemble.to_blob_version(1).unwrap().len(), ensemble.to_blob_version(2).unwrap().len());
    let nodes: usize = ensemble.trees.iter().map(|tree| tree.nodes.len()).sum();
    println!(
        "200 trees, depth 6, {nodes} nodes: v1 {v1} bytes, v2 {v2} bytes ({:.1}% smaller, {:.2} bytes/node vs {:.2})",
        100.0 * (1.0 - v2 as f64 / v1 as f64),
        v2 as f64 / nodes as f64,
        v1 as f64 / nodes as f64
    );
    assert!(v2 * 100 <= v1 * 85, "v1 {v1} bytes, v2 {v2} bytes");
}

#[test]
fn invalid_models_are_not_written() {
    let mut ensemble = hand_built(Objective::SquaredError);
    ensemble.trees[0].nodes[0].value = f32::NAN;
    assert!(matches!(ensemble.to_blob(), Err(ModelError::InvalidModel(_))));
}

#[test]
fn a_header_naming_another_schema_is_refused() {
    let mut bytes = hand_built(Objective::SquaredError).to_blob().unwrap();
    bytes[12] ^= 0xff;
    let body = hand_built(Objective::SquaredError).schema.hash64();
    let header = body ^ 0xff;
    assert_eq!(Ensemble::from_blob(&bytes), Err(ModelError::SchemaMismatch { header, body }));
}

#[test]
fn other_kinds_and_garbage_are_refused() {
    let mut bytes = hand_built(Objective::SquaredError).to_blob().unwrap();
    bytes[10] = 2;
    assert_eq!(Ensemble::from_blob(&bytes), Err(ModelError::WrongKind { expected: 1, found: 2 }));
    assert_eq!(Ensemble::from_blob(b"not a model"), Err(ModelError::Truncated { needed: HEADER_LEN, got: 11 }));
    assert_eq!(Ensemble::from_blob(&[0; 64]), Err(ModelError::BadMagic));
}

#[cfg(not(target_arch = "wasm32"))]
mod properties {
    use marquee_model::hash::fnv64;
    use proptest::prelude::*;

    use super::*;

    /// A model blob's bytes, or the damage done to them, must never panic the reader: the
    /// result is an error or a model that passed validation.
    fn loads_or_refuses(bytes: &[u8]) {
        if let Ok(ensemble) = Ensemble::from_blob(bytes) {
            marquee_model::validate(&ensemble).unwrap();
            let predictor = Predictor::new(ensemble).unwrap();
            let row = vec![0.5; predictor.num_features()];
            predictor.predict(&row).unwrap();
        }
    }

    /// A small random model's blob, in version 1 for odd seeds and version 2 for even ones.
    fn sample_blob(seed: u64) -> Vec<u8> {
        random_ensemble(seed, Shape { trees: 3, depth: 3, numeric: 3, categorical: 1, early_leaf: 0.3 })
            .to_blob_version(if seed % 2 == 1 { 1 } else { 2 })
            .unwrap()
    }

    /// Recomputes the checksum, so that damage to the body reaches the decoder and validator
    /// instead of stopping at the checksum.
    fn reseal(bytes: &mut [u8]) {
        if bytes.len() >= HEADER_LEN {
            let body_len = (bytes.len() - HEADER_LEN) as u32;
            bytes[20..24].copy_from_slice(&body_len.to_le_bytes());
            let hash = fnv64(&bytes[HEADER_LEN..]);
            bytes[24..32].copy_from_slice(&hash.to_le_bytes());
        }
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            loads_or_refuses(&bytes);
            for version in 1..=blob::FORMAT_VERSION {
                let mut with_header = blob::BlobHeader {
                    version, kind: 1, schema_hash: 0, body_len: 0, checksum: 0,
                }.to_bytes().to_vec();
                with_header.extend_from_slice(&bytes);
                reseal(&mut with_header);
                loads_or_refuses(&with_header);
            }
        }

        #[test]
        fn flipping_a_byte_never_panics(seed in 0u64..50, at in any::<prop::sample::Index>(), xor in 1u8..=255, resealed in any::<bool>()) {
            let good = sample_blob(seed);
            let mut bytes = good.clone();
            let at = at.index(bytes.len());
            bytes[at] ^= xor;
            if resealed {
                reseal(&mut bytes);
            }
            let result = Ensemble::from_blob(&bytes);
            if !resealed {
                // Without resealing, any change is caught.
                prop_assert!(result.is_err());
            }
            loads_or_refuses(&bytes);
        }

        #[test]
        fn truncating_or_extending_never_panics(seed in 0u64..50, cut in any::<prop::sample::Index>(), extra in proptest::collection::vec(any::<u8>(), 1..16), resealed in any::<bool>()) {
            let good = sample_blob(seed);
            let mut short = good[..cut.index(good.len())].to_vec();
            let mut long = [good.clone(), extra].concat();
            if resealed {
                reseal(&mut short);
                reseal(&mut long);
            } else {
                prop_assert!(Ensemble::from_blob(&short).is_err());
                prop_assert!(Ensemble::from_blob(&long).is_err());
            }
            loads_or_refuses(&short);
            loads_or_refuses(&long);
        }

        #[test]
        fn random_valid_ensembles_round_trip(seed in any::<u64>(), trees in 0usize..8, depth in 0usize..7, numeric in 0usize..6, categorical in 0usize..3) {
            let ensemble = random_ensemble(seed, Shape { trees, depth, numeric, categorical, early_leaf: 0.25 });
            let loaded = Ensemble::from_blob(&ensemble.to_blob().unwrap()).unwrap();
            prop_assert!(is_preorder(&loaded));
            prop_assert_eq!(&loaded, &ensemble.canonical().unwrap());
            let rows = random_rows(seed, &ensemble, 20);
            prop_assert_eq!(outputs(&loaded, &rows), outputs(&ensemble, &rows));
            prop_assert_eq!(Ensemble::from_blob(&ensemble.to_blob_version(1).unwrap()).unwrap(), ensemble);
        }
    }
}

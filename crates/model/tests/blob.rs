//! Model blobs: round trips, the frozen version-1 fixture, and damage never panicking.

mod common;

use common::{hand_built, random_ensemble, random_rows, Shape};
use marquee_model::blob::{self, BlobKind, HEADER_LEN};
use marquee_model::gbdt::{Ensemble, Objective};
use marquee_model::{ModelError, Predictor};

/// Version 1's fixture: [`fixture_model`] as written by the first release of the format.
const FIXTURE_V1: &[u8] = include_bytes!("fixtures/ensemble_v1.blob");

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
    std::fs::write(path, fixture_model().to_blob().unwrap()).unwrap();
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

#[test]
fn round_trips_give_identical_predictions() {
    for seed in 0..10 {
        let ensemble =
            random_ensemble(seed, Shape { trees: 20, depth: 5, numeric: 8, categorical: 2, early_leaf: 0.2 });
        let bytes = ensemble.to_blob().unwrap();
        let loaded = Ensemble::from_blob(&bytes).unwrap();
        assert_eq!(loaded, ensemble);
        let (before, after) = (Predictor::new(ensemble.clone()).unwrap(), Predictor::from_blob(&bytes).unwrap());
        let rows = random_rows(seed, &ensemble, 100);
        let (mut a, mut b) = (vec![0.0; 100], vec![0.0; 100]);
        before.predict_batch(&rows, &mut a).unwrap();
        after.predict_batch(&rows, &mut b).unwrap();
        assert_eq!(
            a.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
            b.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
        );
    }
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

    fn sample_blob(seed: u64) -> Vec<u8> {
        random_ensemble(seed, Shape { trees: 3, depth: 3, numeric: 3, categorical: 1, early_leaf: 0.3 })
            .to_blob()
            .unwrap()
    }

    /// Recomputes the checksum, so that damage to the body reaches the decoder and validator
    /// instead of stopping at the checksum.
    fn reseal(bytes: &mut [u8]) {
        if bytes.len() >= HEADER_LEN {
            let body_len = (bytes.len() - HEADER_LEN) as u32;
            bytes[20..24].copy_from_slice(&body_len.to_le_bytes());
            let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
            for &byte in &bytes[HEADER_LEN..] {
                hash ^= u64::from(byte);
                hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
            }
            bytes[24..32].copy_from_slice(&hash.to_le_bytes());
        }
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            loads_or_refuses(&bytes);
            let mut with_header = blob::BlobHeader {
                version: 1, kind: 1, schema_hash: 0, body_len: 0, checksum: 0,
            }.to_bytes().to_vec();
            with_header.extend_from_slice(&bytes);
            reseal(&mut with_header);
            loads_or_refuses(&with_header);
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
            let bytes = ensemble.to_blob().unwrap();
            prop_assert_eq!(Ensemble::from_blob(&bytes).unwrap(), ensemble);
        }
    }
}

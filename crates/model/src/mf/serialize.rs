//! Biased-SVD blobs: the shared header ([`crate::blob`], kind [`BlobKind::BiasedSvd`]) and a
//! postcard body whose layout is frozen per format version, like the ensembles'.

use serde::{Deserialize, Serialize};

use super::BiasedSvd;
use crate::blob::{self, BlobKind, FORMAT_VERSION};
use crate::hash::fnv64;
use crate::ModelError;

/// The body as format version 2 (the first to hold factorisations) lays it out.
#[derive(Serialize, Deserialize)]
struct BiasedSvdV2 {
    factors: u32,
    global_mean: f32,
    min_rating: f32,
    max_rating: f32,
    user_bias: Vec<f32>,
    item_bias: Vec<f32>,
    user_factors: Vec<f32>,
    item_factors: Vec<f32>,
}

/// The header's schema hash for a factorisation: its shape, so that per-user profiles or
/// item lists built for another model are refused rather than misread.
pub fn shape_hash(users: usize, items: usize, factors: usize) -> u64 {
    let mut bytes = Vec::with_capacity(24);
    for value in [users, items, factors] {
        bytes.extend_from_slice(&(value as u64).to_le_bytes());
    }
    fnv64(&bytes)
}

impl BiasedSvd {
    /// The model as a blob; an invalid model is refused rather than written.
    pub fn to_blob(&self) -> Result<Vec<u8>, ModelError> {
        self.validate()?;
        let factors = u32::try_from(self.factors)
            .map_err(|_| ModelError::InvalidModel(format!("{} factors do not fit a blob", self.factors)))?;
        let body = BiasedSvdV2 {
            factors,
            global_mean: self.global_mean,
            min_rating: self.min_rating,
            max_rating: self.max_rating,
            user_bias: self.user_bias.clone(),
            item_bias: self.item_bias.clone(),
            user_factors: self.user_factors.clone(),
            item_factors: self.item_factors.clone(),
        };
        blob::encode(BlobKind::BiasedSvd, shape_hash(self.users(), self.items(), self.factors), &body)
    }

    /// Loads and validates a blob written by [`BiasedSvd::to_blob`]; any other bytes are an
    /// error, never a panic.
    pub fn from_blob(bytes: &[u8]) -> Result<BiasedSvd, ModelError> {
        let (header, body) = blob::checked_body(bytes, BlobKind::BiasedSvd)?;
        let model = match header.version {
            2 => {
                let body: BiasedSvdV2 = blob::decode_exact(body)?;
                BiasedSvd {
                    factors: body.factors as usize,
                    global_mean: body.global_mean,
                    min_rating: body.min_rating,
                    max_rating: body.max_rating,
                    user_bias: body.user_bias,
                    item_bias: body.item_bias,
                    user_factors: body.user_factors,
                    item_factors: body.item_factors,
                }
            }
            found => return Err(ModelError::UnsupportedVersion { found, newest: FORMAT_VERSION }),
        };
        model.validate()?;
        let hash = shape_hash(model.users(), model.items(), model.factors);
        if hash != header.schema_hash {
            return Err(ModelError::SchemaMismatch { header: header.schema_hash, body: hash });
        }
        Ok(model)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model() -> BiasedSvd {
        BiasedSvd {
            factors: 2,
            global_mean: 3.5,
            min_rating: 1.0,
            max_rating: 5.0,
            user_bias: vec![0.1, -0.2, 0.3],
            item_bias: vec![0.5, -0.5],
            user_factors: vec![0.1, 0.2, 0.3, 0.4, -0.5, 0.6],
            item_factors: vec![1.0, -1.0, 0.25, 0.75],
        }
    }

    #[test]
    fn round_trips_bit_for_bit() {
        let model = model();
        let loaded = BiasedSvd::from_blob(&model.to_blob().unwrap()).unwrap();
        assert_eq!(loaded, model);
        for user in [Some(0), Some(2), None] {
            for item in [Some(0), Some(1), None] {
                assert_eq!(loaded.predict(user, item).to_bits(), model.predict(user, item).to_bits());
            }
        }
    }

    #[test]
    fn refuses_other_kinds_damage_and_invalid_models() {
        let bytes = model().to_blob().unwrap();
        let mut flipped = bytes.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 0x40;
        assert!(matches!(BiasedSvd::from_blob(&flipped), Err(ModelError::ChecksumMismatch)));
        assert!(BiasedSvd::from_blob(&bytes[..bytes.len() - 1]).is_err());
        // A tree ensemble's blob is not a factorisation.
        let ensemble = crate::gbdt::Ensemble {
            schema: crate::gbdt::FeatureSchema::numeric(["x"]),
            objective: crate::gbdt::Objective::SquaredError,
            base_score: 0.0,
            trees: vec![crate::gbdt::Tree {
                nodes: vec![crate::gbdt::Node::leaf(1.0, 1.0)],
                category_sets: Vec::new(),
            }],
        };
        assert!(matches!(BiasedSvd::from_blob(&ensemble.to_blob().unwrap()), Err(ModelError::WrongKind { .. })));
        let mut broken = model();
        broken.item_factors.pop();
        assert!(broken.to_blob().is_err());
        // A body whose lengths disagree, under a correct header, is refused by validation.
        let body = BiasedSvdV2 {
            factors: 2,
            global_mean: 3.0,
            min_rating: 1.0,
            max_rating: 5.0,
            user_bias: vec![0.0],
            item_bias: vec![0.0],
            user_factors: vec![0.0],
            item_factors: vec![0.0, 0.0],
        };
        let bytes = blob::encode(BlobKind::BiasedSvd, shape_hash(1, 1, 2), &body).unwrap();
        assert!(BiasedSvd::from_blob(&bytes).is_err());
    }

    #[cfg(not(target_arch = "wasm32"))]
    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
                let _ = BiasedSvd::from_blob(&bytes);
            }

            #[test]
            fn flipping_any_byte_never_panics(index in 0usize..4096, bit in 0u8..8) {
                let mut bytes = model().to_blob().unwrap();
                let index = index % bytes.len();
                bytes[index] ^= 1 << bit;
                let _ = BiasedSvd::from_blob(&bytes);
            }
        }
    }
}

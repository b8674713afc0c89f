//! SVD++ and item-kNN blobs: the shared header ([`crate::blob`], kinds
//! [`BlobKind::SvdPlusPlus`] and [`BlobKind::ItemKnn`]) around a postcard body that is the
//! model struct itself, whose field order is frozen for format version 2. Loading validates
//! the model, so a damaged or inconsistent blob is an error, never a panic later.

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::serialize::shape_hash;
use super::{ItemKnn, SvdPlusPlus};
use crate::blob::{self, BlobKind, FORMAT_VERSION};
use crate::ModelError;

impl SvdPlusPlus {
    /// The model as a blob; an invalid model is refused rather than written.
    pub fn to_blob(&self) -> Result<Vec<u8>, ModelError> {
        self.validate()?;
        blob::encode(BlobKind::SvdPlusPlus, shape_hash(self.users(), self.items(), self.factors), self)
    }

    /// Loads and validates a blob written by [`SvdPlusPlus::to_blob`].
    pub fn from_blob(bytes: &[u8]) -> Result<SvdPlusPlus, ModelError> {
        let (hash, model): (u64, SvdPlusPlus) = load(bytes, BlobKind::SvdPlusPlus)?;
        model.validate()?;
        check_hash(hash, shape_hash(model.users(), model.items(), model.factors))?;
        Ok(model)
    }
}

impl ItemKnn {
    /// The model as a blob; an invalid model is refused rather than written.
    pub fn to_blob(&self) -> Result<Vec<u8>, ModelError> {
        self.validate()?;
        blob::encode(BlobKind::ItemKnn, shape_hash(self.user_bias.len(), self.items(), self.k), self)
    }

    /// Loads and validates a blob written by [`ItemKnn::to_blob`].
    pub fn from_blob(bytes: &[u8]) -> Result<ItemKnn, ModelError> {
        let (hash, model): (u64, ItemKnn) = load(bytes, BlobKind::ItemKnn)?;
        model.validate()?;
        check_hash(hash, shape_hash(model.user_bias.len(), model.items(), model.k))?;
        Ok(model)
    }
}

/// Checks the header and decodes a version-2 body; returns the header's schema hash.
pub(crate) fn load<T: DeserializeOwned + Serialize>(bytes: &[u8], kind: BlobKind) -> Result<(u64, T), ModelError> {
    let (header, body) = blob::checked_body(bytes, kind)?;
    match header.version {
        2 => Ok((header.schema_hash, blob::decode_exact(body)?)),
        found => Err(ModelError::UnsupportedVersion { found, newest: FORMAT_VERSION }),
    }
}

pub(crate) fn check_hash(header: u64, body: u64) -> Result<(), ModelError> {
    if header == body {
        Ok(())
    } else {
        Err(ModelError::SchemaMismatch { header, body })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mf::{item_knn, svd_plus_plus};

    fn damaged(bytes: &[u8]) -> Vec<Vec<u8>> {
        let mut out = vec![bytes[..bytes.len() - 1].to_vec(), Vec::new(), bytes[..10].to_vec()];
        for index in [0, 11, 13, 40, bytes.len() - 1] {
            let mut copy = bytes.to_vec();
            copy[index] ^= 0x20;
            out.push(copy);
        }
        out
    }

    #[test]
    fn svd_plus_plus_round_trips_and_refuses_damage() {
        let model = svd_plus_plus::tests::model();
        let bytes = model.to_blob().unwrap();
        assert_eq!(SvdPlusPlus::from_blob(&bytes).unwrap(), model);
        for bad in damaged(&bytes) {
            assert!(SvdPlusPlus::from_blob(&bad).is_err());
        }
        assert!(matches!(ItemKnn::from_blob(&bytes), Err(ModelError::WrongKind { .. })));
        // A consistent header around an inconsistent body is refused by validation.
        let mut broken = model.clone();
        broken.implicit_factors.pop();
        let bytes = blob::encode(BlobKind::SvdPlusPlus, shape_hash(2, 3, 1), &broken).unwrap();
        assert!(matches!(SvdPlusPlus::from_blob(&bytes), Err(ModelError::LengthMismatch { .. })));
        assert!(broken.to_blob().is_err());
    }

    #[test]
    fn item_knn_round_trips_and_refuses_damage() {
        let model = item_knn::tests::model();
        let bytes = model.to_blob().unwrap();
        assert_eq!(ItemKnn::from_blob(&bytes).unwrap(), model);
        for bad in damaged(&bytes) {
            assert!(ItemKnn::from_blob(&bad).is_err());
        }
        let mut broken = model.clone();
        broken.neighbour_items[1] = 7;
        let bytes = blob::encode(BlobKind::ItemKnn, shape_hash(1, 3, 2), &broken).unwrap();
        assert!(matches!(ItemKnn::from_blob(&bytes), Err(ModelError::InvalidModel(_))));
    }

    #[cfg(not(target_arch = "wasm32"))]
    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn flipping_any_byte_never_panics(index in 0usize..4096, bit in 0u8..8) {
                for mut bytes in [svd_plus_plus::tests::model().to_blob().unwrap(), item_knn::tests::model().to_blob().unwrap()] {
                    let index = index % bytes.len();
                    bytes[index] ^= 1 << bit;
                    let _ = SvdPlusPlus::from_blob(&bytes);
                    let _ = ItemKnn::from_blob(&bytes);
                }
            }
        }
    }
}

//! The rating blend: SVD, SVD++ and item kNN, combined by a tree ensemble that also sees
//! how much evidence there is for the user and the item (count, mean and spread of their
//! ratings), so it can lean on the neighbourhood for well-known items and on the biases for
//! sparse ones. It predicts for a user given by their rating history, with no I/O.
//!
//! Blob (kind [`BlobKind::RatingBlend`], format 2): one postcard body holding each part's
//! own blob (so every part is checked by its own loader) and the per-item statistics.

use serde::{Deserialize, Serialize};

use crate::blob::{self, BlobKind};
use crate::gbdt::{FeatureSchema, Predictor};
use crate::mf::serialize_rating::{check_hash, load};
use crate::mf::{BiasedSvd, ItemKnn, SvdPlusPlus};
use crate::ModelError;

/// The combiner's input columns, in order.
pub const BLEND_FEATURES: [&str; 9] =
    ["svd", "svd_plus_plus", "item_knn", "user_count", "user_mean", "user_std", "item_count", "item_mean", "item_std"];

/// The count, mean and standard deviation of some ratings; mean and spread are NaN (a
/// missing value to the trees) when there are none.
pub fn rating_stats(ratings: impl IntoIterator<Item = f32>) -> [f32; 3] {
    let (mut count, mut sum, mut squares) = (0.0f64, 0.0f64, 0.0f64);
    for rating in ratings {
        count += 1.0;
        sum += f64::from(rating);
        squares += f64::from(rating) * f64::from(rating);
    }
    if count == 0.0 {
        return [0.0, f32::NAN, f32::NAN];
    }
    let mean = sum / count;
    [count as f32, mean as f32, (squares / count - mean * mean).max(0.0).sqrt() as f32]
}

/// The combiner's input row ([`BLEND_FEATURES`]) from the parts of a blend: the trainer
/// builds its out-of-fold rows with this very function, so training and serving agree.
pub fn blend_features(
    svd: &BiasedSvd,
    svd_plus_plus: &SvdPlusPlus,
    item_knn: &ItemKnn,
    item_stats: &[[f32; 3]],
    user: Option<usize>,
    history: &[(u32, f32)],
    item: usize,
) -> [f32; 9] {
    let rated: Vec<u32> = history.iter().map(|&(item, _)| item).collect();
    let user_stats = rating_stats(history.iter().map(|&(_, rating)| rating));
    let item_stats = item_stats.get(item).copied().unwrap_or([0.0, f32::NAN, f32::NAN]);
    [
        svd.predict(user, Some(item)),
        svd_plus_plus.predict(user, &rated, item),
        item_knn.predict(user, history, item),
        user_stats[0],
        user_stats[1],
        user_stats[2],
        item_stats[0],
        item_stats[1],
        item_stats[2],
    ]
}

/// A fitted rating blend. The three base models share the item index space; `item_stats`
/// holds `[count, mean, std]` of each item's training ratings.
#[derive(Clone, Debug, PartialEq)]
pub struct RatingBlend {
    /// Biased SVD.
    pub svd: BiasedSvd,
    /// SVD++.
    pub svd_plus_plus: SvdPlusPlus,
    /// Item kNN with baselines.
    pub item_knn: ItemKnn,
    /// The tree ensemble over [`BLEND_FEATURES`] that predicts the rating.
    pub combiner: Predictor,
    /// `[count, mean, std]` of every item's training ratings.
    pub item_stats: Vec<[f32; 3]>,
}

impl RatingBlend {
    /// Checks that the parts agree: the combiner reads [`BLEND_FEATURES`], and the base
    /// models and statistics cover the same items (each part was validated on its own).
    pub fn validate(&self) -> Result<(), ModelError> {
        self.svd.validate()?;
        self.svd_plus_plus.validate()?;
        self.item_knn.validate()?;
        if self.combiner.schema() != &FeatureSchema::numeric(BLEND_FEATURES) {
            return Err(ModelError::InvalidModel("the combiner does not read the blend's features".into()));
        }
        let items = self.svd.items();
        for (what, got) in [
            ("svd_plus_plus items", self.svd_plus_plus.items()),
            ("item_knn items", self.item_knn.items()),
            ("item_stats", self.item_stats.len()),
        ] {
            if got != items {
                return Err(ModelError::LengthMismatch { what, expected: items, got });
            }
        }
        if self.item_stats.iter().flatten().any(|value| value.is_infinite()) {
            return Err(ModelError::InvalidModel("an item statistic is infinite".into()));
        }
        Ok(())
    }

    /// The combiner's input row for `item` and a user with index `user` (`None`: not seen
    /// in training) and rating history `history` (item index, rating).
    pub fn features(&self, user: Option<usize>, history: &[(u32, f32)], item: usize) -> [f32; 9] {
        blend_features(&self.svd, &self.svd_plus_plus, &self.item_knn, &self.item_stats, user, history, item)
    }

    /// The predicted rating, clipped to the rating scale. Never panics; errors only if the
    /// combiner refuses its row, which a validated blend never does.
    pub fn predict(&self, user: Option<usize>, history: &[(u32, f32)], item: usize) -> Result<f32, ModelError> {
        let row = self.features(user, history, item);
        let est = self.combiner.predict(&row)?;
        Ok(crate::mf::svd_plus_plus::clip(est, self.svd.min_rating, self.svd.max_rating))
    }

    /// The blend as one blob; an invalid blend is refused.
    pub fn to_blob(&self) -> Result<Vec<u8>, ModelError> {
        self.validate()?;
        let body = RatingBlendV2 {
            svd: self.svd.to_blob()?,
            svd_plus_plus: self.svd_plus_plus.to_blob()?,
            item_knn: self.item_knn.to_blob()?,
            combiner: self.combiner.ensemble().to_blob()?,
            item_stats: self.item_stats.clone(),
        };
        blob::encode(BlobKind::RatingBlend, self.combiner.schema().hash64(), &body)
    }

    /// Loads a blob written by [`RatingBlend::to_blob`], checking every part.
    pub fn from_blob(bytes: &[u8]) -> Result<RatingBlend, ModelError> {
        let (hash, body): (u64, RatingBlendV2) = load(bytes, BlobKind::RatingBlend)?;
        let blend = RatingBlend {
            svd: BiasedSvd::from_blob(&body.svd)?,
            svd_plus_plus: SvdPlusPlus::from_blob(&body.svd_plus_plus)?,
            item_knn: ItemKnn::from_blob(&body.item_knn)?,
            combiner: Predictor::from_blob(&body.combiner)?,
            item_stats: body.item_stats,
        };
        check_hash(hash, blend.combiner.schema().hash64())?;
        blend.validate()?;
        Ok(blend)
    }
}

/// The blob body as format version 2 lays it out: each part as its own blob.
#[derive(Serialize, Deserialize)]
struct RatingBlendV2 {
    svd: Vec<u8>,
    svd_plus_plus: Vec<u8>,
    item_knn: Vec<u8>,
    combiner: Vec<u8>,
    item_stats: Vec<[f32; 3]>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gbdt::{Ensemble, Node, Objective, Tree};
    use crate::mf::{item_knn, svd_plus_plus};

    /// A blend over three items whose combiner splits on the SVD++ prediction.
    fn blend() -> RatingBlend {
        let svd = BiasedSvd {
            factors: 1,
            global_mean: 3.0,
            min_rating: 1.0,
            max_rating: 5.0,
            user_bias: vec![0.1, 0.2],
            item_bias: vec![0.0, 0.5, -0.5],
            user_factors: vec![1.0, 0.5],
            item_factors: vec![0.1, 0.2, 0.3],
        };
        let root =
            Node { feature: 1, value: 4.0, left: 1, right: 2, default_left: true, categorical: false, cover: 2.0 };
        let combiner = Ensemble {
            schema: FeatureSchema::numeric(BLEND_FEATURES),
            objective: Objective::SquaredError,
            base_score: 3.0,
            trees: vec![Tree {
                nodes: vec![root, Node::leaf(-1.0, 1.0), Node::leaf(1.0, 1.0)],
                category_sets: Vec::new(),
            }],
        };
        RatingBlend {
            svd,
            svd_plus_plus: svd_plus_plus::tests::model(),
            item_knn: item_knn::tests::model(),
            combiner: Predictor::new(combiner).unwrap(),
            item_stats: vec![[2.0, 4.0, 1.0], [1.0, 3.0, 0.0], [0.0, f32::NAN, f32::NAN]],
        }
    }

    #[test]
    fn predicts_through_the_combiner_and_round_trips() {
        let blend = blend();
        assert_eq!(blend.validate(), Ok(()));
        let features = blend.features(None, &[(1, 5.0), (2, 3.0)], 0);
        assert_eq!(&features[3..6], &[2.0, 4.0, 1.0]);
        // SVD++ for a history-only user on item 0: 3 + 0.25 + 0.5 * (0.5 - 4) / √2 < 4: left leaf.
        assert_eq!(blend.predict(None, &[(1, 5.0), (2, 3.0)], 0).unwrap(), 2.0);
        // No history: SVD++ = 3.25 + 0.5 * 0 + user 0's terms = 4.25 > 4: right leaf.
        assert_eq!(blend.predict(Some(0), &[], 0).unwrap(), 4.0);
        let bytes = blend.to_blob().unwrap();
        let loaded = RatingBlend::from_blob(&bytes).unwrap();
        assert_eq!(loaded.predict(Some(0), &[(2, 1.0)], 1), blend.predict(Some(0), &[(2, 1.0)], 1));
        for index in [0, 12, 40, bytes.len() / 2, bytes.len() - 1] {
            let mut bad = bytes.clone();
            bad[index] ^= 0x10;
            assert!(RatingBlend::from_blob(&bad).is_err());
        }
        assert!(RatingBlend::from_blob(&bytes[..bytes.len() - 3]).is_err());
    }

    #[test]
    fn refuses_parts_that_disagree() {
        let mut blend = blend();
        blend.item_stats.pop();
        assert!(blend.validate().is_err());
        assert!(blend.to_blob().is_err());
        let _ = blend.predict(Some(5), &[(9, 1.0)], 7);
    }
}

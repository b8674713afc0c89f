//! The item-based neighbourhood model with baselines (Koren 2010, Surprise's `KNNBaseline`):
//! a baseline `μ + b_u + b_i` corrected by the user's residuals on the most similar items
//! they rated. Only each item's strongest neighbours are stored, never a dense matrix.

use serde::{Deserialize, Serialize};

use super::svd_plus_plus::{check_finite, check_scale, clip};
use crate::ModelError;

/// A fitted item-kNN-with-baselines model.
///
/// The prediction for user `u` and item `i` is
/// `b_ui + Σ_j s_ij (r_uj − b_uj) / Σ_j s_ij` over the `k` neighbours `j` of `i` with the
/// highest similarity `s_ij > 0` among the items `u` rated, where `b_ui = μ + b_u + b_i`;
/// with no such neighbour it is the baseline alone.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ItemKnn {
    /// How many of the user's rated neighbours a prediction averages over.
    pub k: usize,
    /// The mean training rating μ.
    pub global_mean: f32,
    /// The lowest rating predictions are clipped to.
    pub min_rating: f32,
    /// The highest rating predictions are clipped to.
    pub max_rating: f32,
    /// The shrinkage of a user's bias toward 0 when it is computed from a history alone:
    /// `b_u = Σ (r − μ − b_i) / (user_regularization + n)`.
    pub user_regularization: f32,
    /// `b_u` of every user seen in training.
    pub user_bias: Vec<f32>,
    /// `b_i` of every item seen in training.
    pub item_bias: Vec<f32>,
    /// Item `i`'s neighbours are `neighbour_items[neighbour_start[i]..neighbour_start[i + 1]]`,
    /// most similar first; `neighbour_start` has `items + 1` entries.
    pub neighbour_start: Vec<u32>,
    /// The neighbours' item indices, item after item.
    pub neighbour_items: Vec<u32>,
    /// The similarity of each stored neighbour, positive and in the same order.
    pub neighbour_similarity: Vec<f32>,
}

impl ItemKnn {
    /// The number of items the model has baselines and neighbours for.
    pub fn items(&self) -> usize {
        self.item_bias.len()
    }

    /// Checks the neighbour lists' offsets (starting at 0, never decreasing, ending at the
    /// lists' length), that every neighbour is a known item with a finite positive
    /// similarity, and that every number is finite.
    pub fn validate(&self) -> Result<(), ModelError> {
        check_scale(self.global_mean, self.min_rating, self.max_rating)?;
        if !(self.user_regularization.is_finite() && self.user_regularization >= 0.0) {
            return Err(ModelError::InvalidModel(format!(
                "user_regularization is {}, expected a finite number >= 0",
                self.user_regularization
            )));
        }
        check_finite("user_bias", &self.user_bias)?;
        check_finite("item_bias", &self.item_bias)?;
        let expected = self.items().saturating_add(1);
        if self.neighbour_start.len() != expected {
            return Err(ModelError::LengthMismatch {
                what: "neighbour_start",
                expected,
                got: self.neighbour_start.len(),
            });
        }
        if self.neighbour_similarity.len() != self.neighbour_items.len() {
            return Err(ModelError::LengthMismatch {
                what: "neighbour_similarity",
                expected: self.neighbour_items.len(),
                got: self.neighbour_similarity.len(),
            });
        }
        let offsets_ok = self.neighbour_start.first() == Some(&0)
            && self.neighbour_start.windows(2).all(|pair| matches!(pair, [a, b] if a <= b))
            && self.neighbour_start.last().map(|&end| end as usize) == Some(self.neighbour_items.len());
        if !offsets_ok {
            return Err(ModelError::InvalidModel(
                "neighbour_start must start at 0, never decrease and end at the number of neighbours".into(),
            ));
        }
        if let Some(bad) = self.neighbour_items.iter().find(|&&item| item as usize >= self.items()) {
            return Err(ModelError::InvalidModel(format!("neighbour {bad} is not one of the {} items", self.items())));
        }
        if let Some(bad) = self.neighbour_similarity.iter().find(|s| !(s.is_finite() && **s > 0.0)) {
            return Err(ModelError::InvalidModel(format!("a similarity is {bad}, expected a finite number above 0")));
        }
        Ok(())
    }

    /// The neighbours of `item` and their similarities, most similar first (empty for an
    /// unknown item or a broken model).
    pub fn neighbours(&self, item: usize) -> (&[u32], &[f32]) {
        let range = (|| {
            let start = *self.neighbour_start.get(item)? as usize;
            let end = *self.neighbour_start.get(item.checked_add(1)?)? as usize;
            Some((self.neighbour_items.get(start..end)?, self.neighbour_similarity.get(start..end)?))
        })();
        range.unwrap_or((&[], &[]))
    }

    /// The bias of a user known only by `history` (item index, rating), shrunk toward 0.
    pub fn bias_from_history(&self, history: &[(u32, f32)]) -> f32 {
        let residual: f32 =
            history.iter().map(|&(item, rating)| rating - self.global_mean - self.item_bias_of(item as usize)).sum();
        residual / (self.user_regularization + history.len() as f32).max(f32::MIN_POSITIVE)
    }

    /// The predicted rating of `item` by the user with index `user` (`None` or out of range:
    /// not seen in training, so its bias comes from the history) who rated `history`
    /// (item index, rating; any order, unknown items ignored). Never panics.
    pub fn predict(&self, user: Option<usize>, history: &[(u32, f32)], item: usize) -> f32 {
        let mut sorted = history.to_vec();
        sorted.sort_unstable_by_key(|&(item, _)| item);
        let user_bias = match user.and_then(|u| self.user_bias.get(u)) {
            Some(&bias) => bias,
            None => self.bias_from_history(&sorted),
        };
        self.predict_sorted(user_bias, &sorted, item)
    }

    /// Like [`ItemKnn::predict`], with the user's bias given and `history` already sorted by
    /// item index (as it must be: the neighbours are looked up by binary search), for
    /// scoring many items of one user.
    pub fn predict_sorted(&self, user_bias: f32, history: &[(u32, f32)], item: usize) -> f32 {
        let baseline = self.global_mean + user_bias + self.item_bias_of(item);
        let (items, similarity) = self.neighbours(item);
        let (mut weighted, mut total, mut used) = (0.0f32, 0.0f32, 0usize);
        for (&neighbour, &s) in items.iter().zip(similarity) {
            if used >= self.k {
                break;
            }
            if let Ok(found) = history.binary_search_by_key(&neighbour, |&(item, _)| item) {
                if let Some(&(_, rating)) = history.get(found) {
                    let neighbour_baseline = self.global_mean + user_bias + self.item_bias_of(neighbour as usize);
                    weighted += s * (rating - neighbour_baseline);
                    total += s;
                    used += 1;
                }
            }
        }
        let est = if total > 0.0 { baseline + weighted / total } else { baseline };
        clip(est, self.min_rating, self.max_rating)
    }

    fn item_bias_of(&self, item: usize) -> f32 {
        self.item_bias.get(item).copied().unwrap_or(0.0)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Three items; item 0's neighbours are 1 (0.8) and 2 (0.2).
    pub(crate) fn model() -> ItemKnn {
        ItemKnn {
            k: 2,
            global_mean: 3.0,
            min_rating: 1.0,
            max_rating: 5.0,
            user_regularization: 0.0,
            user_bias: vec![0.5],
            item_bias: vec![0.0, 1.0, -1.0],
            neighbour_start: vec![0, 2, 3, 3],
            neighbour_items: vec![1, 2, 0],
            neighbour_similarity: vec![0.8, 0.2, 0.5],
        }
    }

    #[test]
    fn hand_computed_predictions() {
        let m = model();
        assert_eq!(m.validate(), Ok(()));
        // User 0 rated item 1 with 5 (baseline 4.5, residual 0.5) and item 2 with 2 (baseline
        // 2.5, residual -0.5): 3.5 + (0.8 * 0.5 - 0.2 * 0.5) / 1.0 = 3.8.
        let p = m.predict(Some(0), &[(2, 2.0), (1, 5.0)], 0);
        assert!((p - 3.8).abs() < 1e-6, "{p}");
        // With k = 1 only the most similar counts: 3.5 + 0.5.
        let one = ItemKnn { k: 1, ..model() };
        assert!((one.predict(Some(0), &[(2, 2.0), (1, 5.0)], 0) - 4.0).abs() < 1e-6);
        // No rated neighbour: the baseline alone.
        assert_eq!(m.predict(Some(0), &[(0, 1.0)], 2), 2.5);
        // A user known by history only: bias = ((5 - 4) + (2 - 2)) / 2 = 0.5, the same answer.
        assert!((m.predict(None, &[(1, 5.0), (2, 2.0)], 0) - 3.8).abs() < 1e-6);
    }

    #[test]
    fn validate_refuses_broken_lists_and_predict_never_panics() {
        let cases: [fn(&mut ItemKnn); 5] = [
            |m| m.neighbour_start = vec![0, 3, 2, 3],
            |m| m.neighbour_start = vec![0, 2, 3],
            |m| m.neighbour_items[0] = 9,
            |m| m.neighbour_similarity[1] = -0.1,
            |m| m.item_bias[0] = f32::NAN,
        ];
        for break_it in cases {
            let mut m = model();
            break_it(&mut m);
            assert!(m.validate().is_err(), "{m:?}");
            for item in 0..5 {
                let _ = m.predict(Some(0), &[(1, 5.0), (9, 1.0)], item);
                let _ = m.predict(None, &[], item);
            }
        }
    }
}

//! Biased SVD in the Funk style, as Surprise's `SVD` algorithm fits it: a global mean, one
//! bias per user and per item, and one latent-factor vector per user and per item.
//!
//! Predictions stay in `f32` with a fixed summation order (`μ`, then `b_u`, then `b_i`, then
//! the dot product summed in factor-index order), so that they are bit-identical natively and
//! in wasm.

use serde::{Deserialize, Serialize};

use crate::ModelError;

/// r̂(u,i) = μ + b_u + b_i + p_u·q_i, clipped to [min_rating, max_rating]; unknown users/items
/// drop their terms (Surprise's behaviour).
///
/// An unknown user drops `b_u` and the dot product, an unknown item drops `b_i` and the dot
/// product, so a pair where neither is known scores the global mean.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BiasedSvd {
    /// The number of latent factors per user and per item.
    pub factors: usize,
    /// The mean of all training ratings (μ).
    pub global_mean: f32,
    /// The lowest rating a prediction is clipped to.
    pub min_rating: f32,
    /// The highest rating a prediction is clipped to.
    pub max_rating: f32,
    /// One bias per user (b_u), indexed by dense user id; its length is the number of users.
    pub user_bias: Vec<f32>,
    /// One bias per item (b_i), indexed by dense item id; its length is the number of items.
    pub item_bias: Vec<f32>,
    /// The user factors p_u, row-major: users × factors.
    pub user_factors: Vec<f32>,
    /// The item factors q_i, row-major: items × factors.
    pub item_factors: Vec<f32>,
}

impl BiasedSvd {
    /// The number of users the model knows.
    pub fn users(&self) -> usize {
        self.user_bias.len()
    }

    /// The number of items the model knows.
    pub fn items(&self) -> usize {
        self.item_bias.len()
    }

    /// Checks the model's invariants: the factor matrices hold `factors` values per user and
    /// per item, every number is finite, and `min_rating <= max_rating`.
    pub fn validate(&self) -> Result<(), ModelError> {
        let expected_user = self.users().checked_mul(self.factors).ok_or_else(|| too_big("user_factors"))?;
        if self.user_factors.len() != expected_user {
            return Err(ModelError::LengthMismatch {
                what: "user_factors",
                expected: expected_user,
                got: self.user_factors.len(),
            });
        }
        let expected_item = self.items().checked_mul(self.factors).ok_or_else(|| too_big("item_factors"))?;
        if self.item_factors.len() != expected_item {
            return Err(ModelError::LengthMismatch {
                what: "item_factors",
                expected: expected_item,
                got: self.item_factors.len(),
            });
        }
        for (name, value) in
            [("global_mean", self.global_mean), ("min_rating", self.min_rating), ("max_rating", self.max_rating)]
        {
            if !value.is_finite() {
                return Err(ModelError::InvalidModel(format!("{name} is {value}, expected a finite number")));
            }
        }
        if self.min_rating > self.max_rating {
            return Err(ModelError::InvalidModel(format!(
                "min_rating {} is above max_rating {}",
                self.min_rating, self.max_rating
            )));
        }
        for (name, values) in [
            ("user_bias", &self.user_bias),
            ("item_bias", &self.item_bias),
            ("user_factors", &self.user_factors),
            ("item_factors", &self.item_factors),
        ] {
            if let Some((index, value)) = values.iter().enumerate().find(|(_, v)| !v.is_finite()) {
                return Err(ModelError::InvalidModel(format!("{name}[{index}] is {value}, expected a finite number")));
            }
        }
        Ok(())
    }

    /// The predicted rating of `item` by `user`; `None` or an out-of-range index is an unknown
    /// user or item, whose terms are dropped. Never panics; on a model that fails
    /// [`BiasedSvd::validate`] the result is meaningless (but still a number or NaN).
    pub fn predict(&self, user: Option<usize>, item: Option<usize>) -> f32 {
        let (base, user_row) = self.user_part(user);
        let mut est = base;
        if let Some((i, bias)) = item.and_then(|i| Some((i, *self.item_bias.get(i)?))) {
            est += bias;
            if let (Some(p), Some(q)) = (user_row, row(&self.item_factors, i, self.factors)) {
                est += dot(p, q);
            }
        }
        self.clip(est)
    }

    /// The predicted rating of every item by `user`, into `out[item]`. `out` should have one
    /// entry per item; if it is shorter only its entries are filled, if it is longer the
    /// entries past the last item are left untouched. Each value equals
    /// [`BiasedSvd::predict`]`(user, Some(item))` bit for bit.
    pub fn score_items(&self, user: Option<usize>, out: &mut [f32]) {
        let (base, user_row) = self.user_part(user);
        for (i, (slot, bias)) in out.iter_mut().zip(&self.item_bias).enumerate() {
            let mut est = base + bias;
            if let (Some(p), Some(q)) = (user_row, row(&self.item_factors, i, self.factors)) {
                est += dot(p, q);
            }
            *slot = self.clip(est);
        }
    }

    /// `μ + b_u` (or `μ` alone for an unknown user) and the user's factor row, if any.
    fn user_part(&self, user: Option<usize>) -> (f32, Option<&[f32]>) {
        match user.and_then(|u| Some((u, *self.user_bias.get(u)?))) {
            Some((u, bias)) => (self.global_mean + bias, row(&self.user_factors, u, self.factors)),
            None => (self.global_mean, None),
        }
    }

    /// Clips into `[min_rating, max_rating]` without `f32::clamp` (which panics on NaN bounds
    /// or `min > max`).
    fn clip(&self, est: f32) -> f32 {
        if est < self.min_rating {
            self.min_rating
        } else if est > self.max_rating {
            self.max_rating
        } else {
            est
        }
    }
}

/// Row `index` of a row-major matrix with `width` columns, or `None` if it is out of range.
fn row(matrix: &[f32], index: usize, width: usize) -> Option<&[f32]> {
    let start = index.checked_mul(width)?;
    matrix.get(start..start.checked_add(width)?)
}

/// The dot product, summed in index order.
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut sum = 0.0f32;
    for (x, y) in a.iter().zip(b) {
        sum += x * y;
    }
    sum
}

fn too_big(what: &str) -> ModelError {
    ModelError::InvalidModel(format!("{what} would need more than usize::MAX entries"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two users, three items, two factors.
    fn model() -> BiasedSvd {
        BiasedSvd {
            factors: 2,
            global_mean: 3.0,
            min_rating: 1.0,
            max_rating: 5.0,
            user_bias: vec![0.5, -0.25],
            item_bias: vec![0.25, -0.5, 1.0],
            user_factors: vec![1.0, 0.5, -1.0, 2.0],
            item_factors: vec![0.5, 0.5, 1.0, -1.0, 2.0, 2.0],
        }
    }

    #[test]
    fn known_pairs_give_hand_computed_predictions() {
        let m = model();
        assert_eq!(m.validate(), Ok(()));
        // 3 + 0.5 + 0.25 + (0.5 + 0.25) = 4.5
        assert_eq!(m.predict(Some(0), Some(0)), 4.5);
        // 3 + 0.5 - 0.5 + (1.0 - 0.5) = 3.5
        assert_eq!(m.predict(Some(0), Some(1)), 3.5);
        // 3 - 0.25 - 0.5 + (-1.0 - 2.0) = -0.75, clipped to 1
        assert_eq!(m.predict(Some(1), Some(1)), 1.0);
        // 3 - 0.25 + 0.25 + (-0.5 + 1.0) = 3.5
        assert_eq!(m.predict(Some(1), Some(0)), 3.5);
    }

    #[test]
    fn unknown_user_or_item_drops_its_terms() {
        let m = model();
        // Unknown user: μ + b_i.
        assert_eq!(m.predict(None, Some(1)), 2.5);
        assert_eq!(m.predict(Some(2), Some(1)), 2.5);
        assert_eq!(m.predict(Some(usize::MAX), Some(0)), 3.25);
        // Unknown item: μ + b_u.
        assert_eq!(m.predict(Some(1), None), 2.75);
        assert_eq!(m.predict(Some(0), Some(3)), 3.5);
        assert_eq!(m.predict(Some(0), Some(usize::MAX)), 3.5);
        // Neither: μ.
        assert_eq!(m.predict(None, None), 3.0);
        assert_eq!(m.predict(Some(9), Some(9)), 3.0);
    }

    #[test]
    fn predictions_are_clipped_to_the_rating_scale() {
        let m = model();
        // 3 + 0.5 + 1.0 + (2.0 + 1.0) = 7.5 -> 5
        assert_eq!(m.predict(Some(0), Some(2)), 5.0);
        assert_eq!(m.predict(Some(1), Some(1)), 1.0);
        let mut low = model();
        low.global_mean = -100.0;
        assert_eq!(low.predict(None, None), 1.0);
    }

    #[test]
    fn score_items_matches_predict_and_tolerates_any_length() {
        let m = model();
        for user in [Some(0), Some(1), Some(7), None] {
            let mut out = [0.0f32; 3];
            m.score_items(user, &mut out);
            for (i, &score) in out.iter().enumerate() {
                assert_eq!(score.to_bits(), m.predict(user, Some(i)).to_bits());
            }
            let mut short = [0.0f32; 2];
            m.score_items(user, &mut short);
            assert_eq!(short, [out[0], out[1]]);
            let mut long = [-9.0f32; 5];
            m.score_items(user, &mut long);
            assert_eq!(long, [out[0], out[1], out[2], -9.0, -9.0]);
            m.score_items(user, &mut []);
        }
    }

    #[test]
    fn validate_rejects_bad_lengths() {
        let mut m = model();
        m.user_factors.pop();
        assert_eq!(m.validate(), Err(ModelError::LengthMismatch { what: "user_factors", expected: 4, got: 3 }));
        let mut m = model();
        m.item_bias.push(0.0);
        assert_eq!(m.validate(), Err(ModelError::LengthMismatch { what: "item_factors", expected: 8, got: 6 }));
        let mut m = model();
        m.factors = usize::MAX;
        assert!(m.validate().is_err());
    }

    #[test]
    fn validate_rejects_non_finite_values_and_inverted_scale() {
        let cases: [fn(&mut BiasedSvd); 7] = [
            |m| m.global_mean = f32::NAN,
            |m| m.min_rating = f32::NEG_INFINITY,
            |m| m.max_rating = f32::NAN,
            |m| m.user_bias[1] = f32::NAN,
            |m| m.item_bias[0] = f32::INFINITY,
            |m| m.user_factors[3] = f32::NAN,
            |m| {
                m.min_rating = 5.0;
                m.max_rating = 1.0;
            },
        ];
        for break_it in cases {
            let mut m = model();
            break_it(&mut m);
            assert!(matches!(m.validate(), Err(ModelError::InvalidModel(_))), "{m:?}");
        }
        let mut m = model();
        m.item_factors[5] = f32::NAN;
        assert!(matches!(m.validate(), Err(ModelError::InvalidModel(_))));
    }

    #[test]
    fn broken_models_never_panic() {
        let mut m = model();
        m.user_factors.truncate(1);
        m.item_factors.clear();
        m.min_rating = f32::NAN;
        m.max_rating = -1.0;
        m.factors = usize::MAX;
        let _ = m.predict(Some(1), Some(2));
        let mut out = [0.0f32; 4];
        m.score_items(Some(0), &mut out);
        let _ = m.validate();
    }
}

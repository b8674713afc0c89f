//! SVD++ (Koren 2008): biased SVD whose user vector is `p_u` plus the normalised sum of
//! implicit factors `y_j` over the items the user rated, so a user known only by the list of
//! what they rated still gets a personal prediction.

use serde::{Deserialize, Serialize};

use crate::ModelError;

/// A fitted SVD++ model. Predictions are
/// `μ + b_u + b_i + q_i · (p_u + |N(u)|^-½ Σ_{j ∈ N(u)} y_j)`, clipped to the rating scale,
/// where `N(u)` is the list of items the user rated.
///
/// Matrices are row-major: `user_factors` is `users × factors`, `item_factors` and
/// `implicit_factors` are `items × factors`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SvdPlusPlus {
    /// Latent factors per user and per item.
    pub factors: usize,
    /// The mean training rating μ.
    pub global_mean: f32,
    /// The lowest rating predictions are clipped to.
    pub min_rating: f32,
    /// The highest rating predictions are clipped to.
    pub max_rating: f32,
    /// `b_u`, one per user.
    pub user_bias: Vec<f32>,
    /// `b_i`, one per item.
    pub item_bias: Vec<f32>,
    /// `p_u`, `users × factors`.
    pub user_factors: Vec<f32>,
    /// `q_i`, `items × factors`.
    pub item_factors: Vec<f32>,
    /// `y_j`, `items × factors`: what having rated item `j` says about a user's taste.
    pub implicit_factors: Vec<f32>,
}

impl SvdPlusPlus {
    /// The number of users the model has factors for.
    pub fn users(&self) -> usize {
        self.user_bias.len()
    }

    /// The number of items the model has factors for.
    pub fn items(&self) -> usize {
        self.item_bias.len()
    }

    /// Checks that the matrices have the lengths their shape implies and every value is
    /// finite, with `min_rating <= max_rating`.
    pub fn validate(&self) -> Result<(), ModelError> {
        let too_big = |what: &str| ModelError::InvalidModel(format!("{what} would need more than usize::MAX entries"));
        let expected_user = self.users().checked_mul(self.factors).ok_or_else(|| too_big("user_factors"))?;
        let expected_item = self.items().checked_mul(self.factors).ok_or_else(|| too_big("item_factors"))?;
        for (what, expected, got) in [
            ("user_factors", expected_user, self.user_factors.len()),
            ("item_factors", expected_item, self.item_factors.len()),
            ("implicit_factors", expected_item, self.implicit_factors.len()),
        ] {
            if expected != got {
                return Err(ModelError::LengthMismatch { what, expected, got });
            }
        }
        check_scale(self.global_mean, self.min_rating, self.max_rating)?;
        for (name, values) in [
            ("user_bias", &self.user_bias),
            ("item_bias", &self.item_bias),
            ("user_factors", &self.user_factors),
            ("item_factors", &self.item_factors),
            ("implicit_factors", &self.implicit_factors),
        ] {
            check_finite(name, values)?;
        }
        Ok(())
    }

    /// The user's taste vector `|N(u)|^-½ Σ y_j` over `rated` (item indices; unknown ones
    /// are skipped), into `out` (one entry per factor). Compute it once per user and pass it
    /// to [`SvdPlusPlus::predict_with_implicit`] to score many items.
    pub fn implicit_sum(&self, rated: &[u32], out: &mut Vec<f32>) {
        out.clear();
        // A broken model may claim more factors than it holds; never allocate past its data.
        out.resize(self.factors.min(self.implicit_factors.len()), 0.0);
        let mut count = 0usize;
        for &item in rated {
            if let Some(y) = row(&self.implicit_factors, item as usize, self.factors) {
                for (slot, value) in out.iter_mut().zip(y) {
                    *slot += value;
                }
                count += 1;
            }
        }
        if count > 0 {
            let scale = 1.0 / (count as f32).sqrt();
            out.iter_mut().for_each(|value| *value *= scale);
        }
    }

    /// The predicted rating of `item` by a user with the given index (`None` or out of
    /// range: a user the model was not fitted on, whose bias and `p_u` drop out) who rated
    /// the items `rated`. Never panics.
    pub fn predict(&self, user: Option<usize>, rated: &[u32], item: usize) -> f32 {
        let mut implicit = Vec::new();
        self.implicit_sum(rated, &mut implicit);
        self.predict_with_implicit(user, &implicit, item)
    }

    /// Like [`SvdPlusPlus::predict`], with the user's implicit sum from
    /// [`SvdPlusPlus::implicit_sum`] computed once.
    pub fn predict_with_implicit(&self, user: Option<usize>, implicit: &[f32], item: usize) -> f32 {
        let user_bias = user.and_then(|u| self.user_bias.get(u));
        let mut est = self.global_mean + user_bias.copied().unwrap_or(0.0);
        let Some(bias) = self.item_bias.get(item) else { return clip(est, self.min_rating, self.max_rating) };
        est += bias;
        if let Some(q) = row(&self.item_factors, item, self.factors) {
            let p = user_bias.and(user).and_then(|u| row(&self.user_factors, u, self.factors));
            for (f, q) in q.iter().enumerate() {
                let taste = p.and_then(|p| p.get(f)).copied().unwrap_or(0.0) + implicit.get(f).copied().unwrap_or(0.0);
                est += q * taste;
            }
        }
        clip(est, self.min_rating, self.max_rating)
    }
}

/// Row `index` of a row-major matrix with `width` columns, or `None` if it is out of range.
pub(crate) fn row(matrix: &[f32], index: usize, width: usize) -> Option<&[f32]> {
    let start = index.checked_mul(width)?;
    matrix.get(start..start.checked_add(width)?)
}

/// Clips into `[low, high]` without `f32::clamp` (which panics on NaN bounds or `low > high`).
pub(crate) fn clip(est: f32, low: f32, high: f32) -> f32 {
    if est < low {
        low
    } else if est > high {
        high
    } else {
        est
    }
}

/// Refuses a non-finite mean or scale and an inverted scale.
pub(crate) fn check_scale(global_mean: f32, min_rating: f32, max_rating: f32) -> Result<(), ModelError> {
    for (name, value) in [("global_mean", global_mean), ("min_rating", min_rating), ("max_rating", max_rating)] {
        if !value.is_finite() {
            return Err(ModelError::InvalidModel(format!("{name} is {value}, expected a finite number")));
        }
    }
    if min_rating > max_rating {
        return Err(ModelError::InvalidModel(format!("min_rating {min_rating} is above max_rating {max_rating}")));
    }
    Ok(())
}

/// Refuses the first non-finite value of `values`, naming it.
pub(crate) fn check_finite(name: &str, values: &[f32]) -> Result<(), ModelError> {
    match values.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        Some((index, value)) => {
            Err(ModelError::InvalidModel(format!("{name}[{index}] is {value}, expected a finite number")))
        }
        None => Ok(()),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Two users, three items, one factor.
    pub(crate) fn model() -> SvdPlusPlus {
        SvdPlusPlus {
            factors: 1,
            global_mean: 3.0,
            min_rating: 1.0,
            max_rating: 5.0,
            user_bias: vec![0.5, -0.5],
            item_bias: vec![0.25, 0.0, -0.25],
            user_factors: vec![1.0, -1.0],
            item_factors: vec![0.5, 1.0, 2.0],
            implicit_factors: vec![2.0, 0.5, -4.0],
        }
    }

    #[test]
    fn hand_computed_predictions_use_the_implicit_sum() {
        let m = model();
        assert_eq!(m.validate(), Ok(()));
        // No history: 3 + 0.5 + 0.25 + 0.5 * 1 = 4.25.
        assert_eq!(m.predict(Some(0), &[], 0), 4.25);
        // Rated items 0 and 2: implicit (2 - 4) / √2 = -√2; 3 + 0.5 + 0.25 + 0.5 (1 - √2).
        let expected = 3.75 + 0.5 * (1.0 - 2f32.sqrt());
        assert!((m.predict(Some(0), &[0, 2], 0) - expected).abs() < 1e-6);
        // A user known only by history: 3 + 0 + 0 + 1 * 0.5 = 3.5 for item 1 after rating item 1.
        assert_eq!(m.predict(None, &[1], 1), 3.5);
        // Unknown items in the history are skipped; an unknown item drops its terms.
        assert_eq!(m.predict(None, &[1, 99], 1), 3.5);
        assert_eq!(m.predict(Some(1), &[0], 7), 2.5);
        // Clipped to the scale.
        assert_eq!(m.predict(None, &[0], 2), 5.0);
    }

    #[test]
    fn validate_and_broken_models_never_panic() {
        let mut m = model();
        m.implicit_factors.pop();
        assert_eq!(m.validate(), Err(ModelError::LengthMismatch { what: "implicit_factors", expected: 3, got: 2 }));
        let _ = m.predict(Some(1), &[0, 1, 2], 2);
        let mut m = model();
        m.user_factors[1] = f32::NAN;
        assert!(matches!(m.validate(), Err(ModelError::InvalidModel(_))));
        let mut m = model();
        m.factors = usize::MAX;
        assert!(m.validate().is_err());
        let _ = m.predict(Some(0), &[0, 1], 1);
    }
}

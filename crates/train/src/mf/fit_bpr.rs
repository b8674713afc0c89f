//! Bayesian personalised ranking (Rendle et al., 2009) for implicit feedback: it learns from
//! which movies a user watched, not how they rated them, by preferring each watched movie to
//! a randomly drawn unwatched one.

use ndarray::Array2;

use crate::TrainError;
use marquee_model::random::SplitMix64;

/// BPR's knobs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BprParams {
    /// The number of latent factors per user and per item; at least 1.
    pub factors: usize,
    /// Passes over all positive pairs (each pass draws fresh negatives); at least 1.
    pub epochs: usize,
    /// The SGD step size; finite and above 0.
    pub learning_rate: f32,
    /// The L2 weight on the factors; finite and at least 0.
    pub regularization: f32,
    /// The L2 weight on the item biases; finite and at least 0.
    pub bias_regularization: f32,
    /// The standard deviation of the initial factors; finite and at least 0.
    pub init_std: f32,
    /// Seeds the initial factors, the visiting order and the negative draws.
    pub seed: u64,
}

impl Default for BprParams {
    fn default() -> Self {
        BprParams {
            factors: 32,
            epochs: 30,
            learning_rate: 0.05,
            regularization: 0.01,
            bias_regularization: 0.001,
            init_std: 0.1,
            seed: 0,
        }
    }
}

impl BprParams {
    /// Checks every knob once, so that fitting cannot meet an invalid one.
    pub fn validate(self) -> Result<ValidBprParams, TrainError> {
        let invalid = |name: &'static str, reason: &str| Err(TrainError::InvalidParam { name, reason: reason.into() });
        if self.factors == 0 || self.factors > 1024 {
            return invalid("factors", "must be 1 to 1024");
        }
        if self.epochs == 0 || self.epochs > 10_000 {
            return invalid("epochs", "must be 1 to 10000");
        }
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            return invalid("learning_rate", "must be a finite number above 0");
        }
        for (name, value) in [
            ("regularization", self.regularization),
            ("bias_regularization", self.bias_regularization),
            ("init_std", self.init_std),
        ] {
            if !(value.is_finite() && value >= 0.0) {
                return invalid(name, "must be a finite number of at least 0");
            }
        }
        Ok(ValidBprParams { params: self })
    }
}

/// Parameters that passed [`BprParams::validate`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ValidBprParams {
    params: BprParams,
}

impl ValidBprParams {
    pub fn params(&self) -> &BprParams {
        &self.params
    }
}

/// A fitted implicit factorisation: score(u, i) = b_i + p_u · q_i.
#[derive(Clone, Debug, PartialEq)]
pub struct ImplicitFactors {
    pub user_factors: Array2<f32>,
    pub item_factors: Array2<f32>,
    pub item_bias: Vec<f32>,
}

impl ImplicitFactors {
    /// The score of `item` for `user`.
    pub fn score(&self, user: usize, item: usize) -> f32 {
        let p = self.user_factors.row(user);
        let q = self.item_factors.row(item);
        self.item_bias[item] + p.dot(&q)
    }
}

/// Fits BPR by SGD on distinct `(user, item)` positive pairs. Negatives are drawn uniformly
/// from the items the user has no positive for, so popular items earn higher biases.
///
/// Errors: no pairs, an index outside the id space, or a user who has interacted with every
/// item (there is nothing to prefer a positive to).
pub fn fit_bpr(
    pairs: &[(u32, u32)],
    n_users: usize,
    n_items: usize,
    params: &ValidBprParams,
) -> Result<ImplicitFactors, TrainError> {
    let p = params.params;
    if pairs.is_empty() {
        return Err(TrainError::EmptyTable);
    }
    let mut positives: Vec<Vec<u32>> = vec![Vec::new(); n_users];
    for (row, &(user, item)) in pairs.iter().enumerate() {
        if user as usize >= n_users || item as usize >= n_items {
            return Err(TrainError::InvalidData(format!(
                "pair {row}: ({user}, {item}) is outside {n_users} users × {n_items} items"
            )));
        }
        positives[user as usize].push(item);
    }
    for (user, items) in positives.iter_mut().enumerate() {
        items.sort_unstable();
        items.dedup();
        if !items.is_empty() && items.len() >= n_items {
            return Err(TrainError::InvalidData(format!(
                "user {user} interacted with every item; BPR needs negatives"
            )));
        }
    }
    let k = p.factors;
    let mut rng = SplitMix64::new(p.seed);
    let mut user_factors = Array2::from_shape_simple_fn((n_users, k), || rng.normal(p.init_std));
    let mut item_factors = Array2::from_shape_simple_fn((n_items, k), || rng.normal(p.init_std));
    let mut item_bias = vec![0.0f32; n_items];
    let not_contiguous = || TrainError::InvalidData("factor matrix is not contiguous".into());
    let users_flat = user_factors.as_slice_mut().ok_or_else(not_contiguous)?;
    let items_flat = item_factors.as_slice_mut().ok_or_else(not_contiguous)?;

    let mut order: Vec<usize> = (0..pairs.len()).collect();
    let mut step = vec![0.0f32; k];
    let (lr, reg, reg_bias) = (p.learning_rate, p.regularization, p.bias_regularization);
    for _ in 0..p.epochs {
        for index in (1..order.len()).rev() {
            order.swap(index, rng.below(index + 1));
        }
        for &pair in &order {
            let (user, positive) = (pairs[pair].0 as usize, pairs[pair].1 as usize);
            let negative = loop {
                let candidate = rng.below(n_items);
                if positives[user].binary_search(&(candidate as u32)).is_err() {
                    break candidate;
                }
            };
            let pu = &users_flat[user * k..(user + 1) * k];
            let qi = &items_flat[positive * k..(positive + 1) * k];
            let qj = &items_flat[negative * k..(negative + 1) * k];
            let mut x = item_bias[positive] - item_bias[negative];
            for f in 0..k {
                x += pu[f] * (qi[f] - qj[f]);
            }
            // d/dx ln σ(x) = σ(−x).
            let g = 1.0 / (1.0 + x.exp());
            for f in 0..k {
                step[f] = g * (qi[f] - qj[f]) - reg * pu[f];
            }
            for f in 0..k {
                let pu_f = users_flat[user * k + f];
                items_flat[positive * k + f] += lr * (g * pu_f - reg * items_flat[positive * k + f]);
                items_flat[negative * k + f] += lr * (-g * pu_f - reg * items_flat[negative * k + f]);
                users_flat[user * k + f] += lr * step[f];
            }
            item_bias[positive] += lr * (g - reg_bias * item_bias[positive]);
            item_bias[negative] += lr * (-g - reg_bias * item_bias[negative]);
        }
    }
    Ok(ImplicitFactors { user_factors, item_factors, item_bias })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two taste groups: users 0..20 watch items 0..10, users 20..40 items 10..20.
    fn two_groups(held_out: bool) -> Vec<(u32, u32)> {
        let mut pairs = Vec::new();
        for user in 0..40u32 {
            let base = if user < 20 { 0 } else { 10 };
            for item in base..base + 10 {
                // Hold out each user's item (user % 10) to test generalisation.
                if !held_out || item % 10 != user % 10 {
                    pairs.push((user, item));
                }
            }
        }
        pairs
    }

    #[test]
    fn ranks_held_out_items_of_the_users_group_above_the_other_group() {
        let params = BprParams { epochs: 60, ..BprParams::default() }.validate().unwrap();
        let model = fit_bpr(&two_groups(true), 40, 30, &params).unwrap();
        let mut correct = 0;
        for user in 0..40usize {
            let base = if user < 20 { 0 } else { 10 };
            let held_out = base + user % 10;
            let other = (10 + held_out) % 20;
            if model.score(user, held_out) > model.score(user, other) {
                correct += 1;
            }
        }
        assert!(correct >= 38, "only {correct} of 40 users rank their group's held-out item first");
    }

    #[test]
    fn the_same_seed_gives_the_same_factors() {
        let params = BprParams { epochs: 3, ..BprParams::default() }.validate().unwrap();
        let a = fit_bpr(&two_groups(false), 40, 30, &params).unwrap();
        let b = fit_bpr(&two_groups(false), 40, 30, &params).unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn bad_inputs_are_errors() {
        let params = BprParams::default().validate().unwrap();
        assert!(matches!(fit_bpr(&[], 1, 1, &params), Err(TrainError::EmptyTable)));
        assert!(fit_bpr(&[(5, 0)], 1, 2, &params).is_err());
        assert!(fit_bpr(&[(0, 0), (0, 1)], 1, 2, &params).is_err(), "no negatives left");
        assert!(BprParams { factors: 0, ..BprParams::default() }.validate().is_err());
        assert!(BprParams { learning_rate: f32::NAN, ..BprParams::default() }.validate().is_err());
    }
}

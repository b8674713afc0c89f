//! Bayesian personalised ranking (Rendle et al., 2009) for implicit feedback: it learns from
//! which movies a user watched, not how they rated them, by preferring each watched movie to
//! a randomly drawn unwatched one.

use marquee_model::random::SplitMix64;
use ndarray::Array2;

use super::params::ValidBprParams;
use crate::TrainError;

/// A fitted implicit factorisation: score(u, i) = b_i + p_u · q_i.
///
/// The factors are `ndarray` matrices because they are read as matrices: rows are copied
/// into profiles and the catalog, and [`ImplicitFactors::score`] is a row dot product whose
/// summation order the evaluation's BPR figures depend on. The trainer's other tables
/// (`gbdt::Table`, batch prediction inputs) stay flat row-major slices on purpose: the model
/// crate, which has no `ndarray` (it builds for wasm), predicts from `&[f32]` rows, and
/// the histogram builder walks rows by offset, so a matrix type there would only add
/// conversions.
#[derive(Clone, Debug, PartialEq)]
pub struct ImplicitFactors {
    /// One row `p_u` per user.
    pub user_factors: Array2<f32>,
    /// One row `q_i` per item.
    pub item_factors: Array2<f32>,
    /// One bias `b_i` per item.
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
    let p = params.params();
    if pairs.is_empty() {
        return Err(TrainError::EmptyTable);
    }
    let positives = positives_by_user(pairs, n_users, n_items)?;
    let k = p.factors;
    // One generator, drawn in a fixed order (user factors, item factors, then each epoch's
    // shuffle and negatives), so that the result depends on the seed alone.
    let mut rng = SplitMix64::new(p.seed);
    let mut user_factors = Array2::from_shape_simple_fn((n_users, k), || rng.normal(p.init_std));
    let mut item_factors = Array2::from_shape_simple_fn((n_items, k), || rng.normal(p.init_std));
    let mut item_bias = vec![0.0f32; n_items];
    let not_contiguous = || TrainError::InvalidData("factor matrix is not contiguous".into());
    let mut model = Sgd {
        users: user_factors.as_slice_mut().ok_or_else(not_contiguous)?,
        items: item_factors.as_slice_mut().ok_or_else(not_contiguous)?,
        item_bias: &mut item_bias,
        step: vec![0.0f32; k],
        k,
        learning_rate: p.learning_rate,
        regularization: p.regularization,
        bias_regularization: p.bias_regularization,
    };
    let mut order: Vec<usize> = (0..pairs.len()).collect();
    for _ in 0..p.epochs {
        for index in (1..order.len()).rev() {
            order.swap(index, rng.below(index + 1));
        }
        for &pair in &order {
            let (user, positive) = (pairs[pair].0 as usize, pairs[pair].1 as usize);
            let negative = draw_negative(&mut rng, &positives[user], n_items);
            model.update(user, positive, negative);
        }
    }
    Ok(ImplicitFactors { user_factors, item_factors, item_bias })
}

/// Each user's distinct positive items, sorted; checks every pair's indices and that every
/// user with positives has a negative left to draw.
fn positives_by_user(pairs: &[(u32, u32)], n_users: usize, n_items: usize) -> Result<Vec<Vec<u32>>, TrainError> {
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
    Ok(positives)
}

/// A uniformly drawn item the user has no positive for (`positives` is sorted).
fn draw_negative(rng: &mut SplitMix64, positives: &[u32], n_items: usize) -> usize {
    loop {
        let candidate = rng.below(n_items);
        if positives.binary_search(&(candidate as u32)).is_err() {
            return candidate;
        }
    }
}

/// The factors being fitted, as flat row-major slices, and the constants of one fit.
struct Sgd<'a> {
    users: &'a mut [f32],
    items: &'a mut [f32],
    item_bias: &'a mut [f32],
    /// Scratch for the user row's step, computed before the item rows move.
    step: Vec<f32>,
    k: usize,
    learning_rate: f32,
    regularization: f32,
    bias_regularization: f32,
}

impl Sgd<'_> {
    /// One ascent step on ln σ(x) with x = b_i − b_j + p_u · (q_i − q_j).
    fn update(&mut self, user: usize, positive: usize, negative: usize) {
        let k = self.k;
        let (lr, reg, reg_bias) = (self.learning_rate, self.regularization, self.bias_regularization);
        let pu = &self.users[user * k..(user + 1) * k];
        let qi = &self.items[positive * k..(positive + 1) * k];
        let qj = &self.items[negative * k..(negative + 1) * k];
        let mut x = self.item_bias[positive] - self.item_bias[negative];
        for f in 0..k {
            x += pu[f] * (qi[f] - qj[f]);
        }
        // d/dx ln σ(x) = σ(−x).
        let g = 1.0 / (1.0 + x.exp());
        for f in 0..k {
            self.step[f] = g * (qi[f] - qj[f]) - reg * pu[f];
        }
        for f in 0..k {
            let pu_f = self.users[user * k + f];
            self.items[positive * k + f] += lr * (g * pu_f - reg * self.items[positive * k + f]);
            self.items[negative * k + f] += lr * (-g * pu_f - reg * self.items[negative * k + f]);
            self.users[user * k + f] += lr * self.step[f];
        }
        self.item_bias[positive] += lr * (g - reg_bias * self.item_bias[positive]);
        self.item_bias[negative] += lr * (-g - reg_bias * self.item_bias[negative]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mf::BprParams;
    use crate::Validate;

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

//! Fits [`SvdPlusPlus`] by stochastic gradient descent (Koren 2008, the update rule of
//! Surprise's `SVDpp`), visiting the ratings user by user: each user's implicit sum
//! `|N(u)|^-½ Σ y_j` is computed once per visit and the `y_j` are updated once at its end
//! with the gradient accumulated over the user's ratings. That makes an epoch cost
//! O(ratings × factors) instead of Surprise's O(Σ_u |N(u)|² × factors), with the same
//! fixed point. Single-threaded and seeded: the result depends only on the inputs and seed.

use marquee_model::mf::SvdPlusPlus;
use marquee_model::random::SplitMix64;

use super::fit_biased_svd::{check_allocation, check_ratings};
use super::params::ValidSvdPlusPlusParams;
use crate::TrainError;

/// Fits SVD++ on `ratings` (user index, item index, rating) with dense indices below
/// `n_users` and `n_items`; predictions are clipped to `min_rating..=max_rating`. A user's
/// implicit set `N(u)` is the items they rated in `ratings`.
///
/// Each epoch visits users in a fresh seeded order and each user's ratings in a fresh
/// order. With `z = p_u + |N(u)|^-½ Σ y_j` and `err = r − (μ + b_u + b_i + q_i·z)`, a rating
/// updates `b_u += lr(err − reg_b·b_u)`, `b_i += lr(err − reg_b·b_i)`,
/// `p_u += lr(err·q_i − reg·p_u)`, `q_i += lr(err·z − reg·q_i)` and adds `err·q_i` to the
/// user's accumulated gradient `g`; after the user's ratings every `j ∈ N(u)` gets
/// `y_j += lr(|N(u)|^-½ g − |N(u)|·reg·y_j)`, the sum of Surprise's per-rating steps.
///
/// Errors: no ratings, an index outside the id space, a non-finite rating, a bad rating
/// scale, an id space too large to allocate, or a diverged fit (non-finite values).
pub fn fit_svd_plus_plus(
    ratings: &[(u32, u32, f32)],
    n_users: usize,
    n_items: usize,
    min_rating: f32,
    max_rating: f32,
    params: &ValidSvdPlusPlusParams,
) -> Result<SvdPlusPlus, TrainError> {
    let p = params.params();
    let k = p.factors;
    let global_mean = check_ratings(ratings, n_users, n_items, min_rating, max_rating)?;
    check_allocation(n_users, n_items, k)?;
    let by_user = group_by_user(ratings, n_users);

    let mut rng = SplitMix64::new(p.seed);
    let mut model = SvdPlusPlus {
        factors: k,
        global_mean,
        min_rating,
        max_rating,
        user_bias: vec![0.0; n_users],
        item_bias: vec![0.0; n_items],
        user_factors: vec![0.0; n_users * k],
        item_factors: vec![0.0; n_items * k],
        implicit_factors: vec![0.0; n_items * k],
    };
    rng.fill_normal(&mut model.user_factors, p.init_std);
    rng.fill_normal(&mut model.item_factors, p.init_std);
    rng.fill_normal(&mut model.implicit_factors, p.init_std);

    let mut user_order: Vec<usize> = (0..n_users).filter(|&u| !by_user[u].is_empty()).collect();
    let (mut implicit, mut gradient, mut z) = (vec![0.0f32; k], vec![0.0f32; k], vec![0.0f32; k]);
    let mut visit: Vec<(u32, f32)> = Vec::new();
    let mut lr = p.learning_rate;
    for _ in 0..p.epochs {
        shuffle(&mut user_order, &mut rng);
        for &u in &user_order {
            visit.clear();
            visit.extend_from_slice(&by_user[u]);
            shuffle(&mut visit, &mut rng);
            let scale = 1.0 / (visit.len() as f32).sqrt();
            implicit.fill(0.0);
            for &(j, _) in &visit {
                let y = &model.implicit_factors[j as usize * k..(j as usize + 1) * k];
                implicit.iter_mut().zip(y).for_each(|(sum, y)| *sum += y);
            }
            implicit.iter_mut().for_each(|value| *value *= scale);
            gradient.fill(0.0);
            for &(i, r) in &visit {
                let i = i as usize;
                let pu = &mut model.user_factors[u * k..(u + 1) * k];
                let qi = &mut model.item_factors[i * k..(i + 1) * k];
                let mut dot = 0.0f32;
                for f in 0..k {
                    z[f] = pu[f] + implicit[f];
                    dot += qi[f] * z[f];
                }
                let err = r - (global_mean + model.user_bias[u] + model.item_bias[i] + dot);
                model.user_bias[u] += lr * (err - p.bias_regularization * model.user_bias[u]);
                model.item_bias[i] += lr * (err - p.bias_regularization * model.item_bias[i]);
                for f in 0..k {
                    let (puf, qif) = (pu[f], qi[f]);
                    gradient[f] += err * qif;
                    pu[f] += lr * (err * qif - p.regularization * puf);
                    qi[f] += lr * (err * z[f] - p.regularization * qif);
                }
            }
            let shrink = visit.len() as f32 * p.regularization;
            for &(j, _) in &visit {
                let y = &mut model.implicit_factors[j as usize * k..(j as usize + 1) * k];
                for (y, g) in y.iter_mut().zip(&gradient) {
                    *y += lr * (scale * g - shrink * *y);
                }
            }
        }
        lr *= p.learning_rate_decay;
    }
    zero_untrained(&by_user, ratings, &mut model);
    model.validate().map_err(|error| TrainError::InvalidData(format!("SVD++ diverged: {error}")))?;
    Ok(model)
}

/// Each user's ratings as (item, rating), in input order.
pub(crate) fn group_by_user(ratings: &[(u32, u32, f32)], n_users: usize) -> Vec<Vec<(u32, f32)>> {
    let mut by_user = vec![Vec::new(); n_users];
    for &(u, i, r) in ratings {
        by_user[u as usize].push((i, r));
    }
    by_user
}

/// Fisher–Yates from the seeded generator.
fn shuffle<T>(values: &mut [T], rng: &mut SplitMix64) {
    for index in (1..values.len()).rev() {
        values.swap(index, rng.below(index + 1));
    }
}

/// Users and items without ratings were never trained: zero their random start so their
/// terms drop out, as an unknown user's or item's do.
fn zero_untrained(by_user: &[Vec<(u32, f32)>], ratings: &[(u32, u32, f32)], model: &mut SvdPlusPlus) {
    let k = model.factors;
    for (u, rated) in by_user.iter().enumerate() {
        if rated.is_empty() {
            model.user_factors[u * k..(u + 1) * k].fill(0.0);
        }
    }
    let mut item_rated = vec![false; model.items()];
    for &(_, i, _) in ratings {
        item_rated[i as usize] = true;
    }
    for (i, _) in item_rated.iter().enumerate().filter(|(_, &rated)| !rated) {
        model.item_factors[i * k..(i + 1) * k].fill(0.0);
        model.implicit_factors[i * k..(i + 1) * k].fill(0.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mf::{fit_biased_svd, BiasedSvdParams, SvdPlusPlusParams};
    use crate::Validate;

    fn rmse(test: &[(u32, u32, f32)], predict: impl Fn(usize, usize) -> f32) -> f64 {
        let sq: f64 = test.iter().map(|&(u, i, r)| f64::from(predict(u as usize, i as usize) - r).powi(2)).sum();
        (sq / test.len() as f64).sqrt()
    }

    #[test]
    fn the_implicit_term_carries_information_plain_svd_cannot_use() {
        // Group-specific "marker" items (40..45 for group 0 and 45..50 for group 1) are rated
        // 3 by everyone who rates them, so their explicit ratings say nothing; only the
        // fact of rating them tells the group, and with it the ratings of items 0..40.
        let mut rng = SplitMix64::new(9);
        let (mut train, mut test) = (Vec::new(), Vec::new());
        for u in 0..400u32 {
            let group = u % 2;
            for marker in 0..5 {
                train.push((u, 40 + group * 5 + marker, 3.0));
            }
            let light = u >= 300;
            for i in 0..40u32 {
                let rating = if i / 20 == group { 5.0 } else { 1.0 };
                if light {
                    if rng.below(4) == 0 {
                        test.push((u, i, rating));
                    }
                } else if rng.below(2) == 0 {
                    train.push((u, i, rating));
                }
            }
        }
        let params = SvdPlusPlusParams {
            factors: 4,
            epochs: 40,
            learning_rate: 0.01,
            regularization: 0.02,
            bias_regularization: 0.02,
            init_std: 0.1,
            ..Default::default()
        };
        let model = fit_svd_plus_plus(&train, 400, 50, 1.0, 5.0, &params.validate().unwrap()).unwrap();
        let by_user = group_by_user(&train, 400);
        let history = |u: usize| by_user[u].iter().map(|&(i, _)| i).collect::<Vec<u32>>();
        let with_implicit = rmse(&test, |u, i| model.predict(Some(u), &history(u), i));
        let without = rmse(&test, |u, i| model.predict(Some(u), &[], i));
        let svd_params = BiasedSvdParams { factors: 4, epochs: 40, learning_rate: 0.01, ..Default::default() };
        let svd = fit_biased_svd(&train, 400, 50, 1.0, 5.0, &svd_params.validate().unwrap()).unwrap();
        let plain = rmse(&test, |u, i| svd.predict(Some(u), Some(i)));
        eprintln!("test RMSE: SVD++ {with_implicit:.3}, SVD++ without history {without:.3}, biased SVD {plain:.3}");
        assert!(with_implicit < 0.5 * plain, "SVD++ {with_implicit} vs SVD {plain}");
        assert!(with_implicit < 0.5 * without, "with history {with_implicit} vs without {without}");
    }

    #[test]
    fn deterministic_per_seed_and_learns_a_low_rank_matrix() {
        let mut rng = SplitMix64::new(3);
        let (users, items, rank) = (150usize, 100usize, 3usize);
        let a: Vec<f32> = (0..users * rank).map(|_| rng.normal(0.8)).collect();
        let b: Vec<f32> = (0..items * rank).map(|_| rng.normal(0.8)).collect();
        let (mut train, mut test) = (Vec::new(), Vec::new());
        for u in 0..users {
            for i in 0..items {
                if rng.below(3) != 0 {
                    continue;
                }
                let dot: f32 = (0..rank).map(|f| a[u * rank + f] * b[i * rank + f]).sum();
                let r = (3.0 + dot + rng.normal(0.1)).clamp(1.0, 5.0);
                if rng.below(5) == 0 { &mut test } else { &mut train }.push((u as u32, i as u32, r));
            }
        }
        let params =
            SvdPlusPlusParams { factors: 8, epochs: 40, learning_rate: 0.01, ..Default::default() }.validate().unwrap();
        let model = fit_svd_plus_plus(&train, users, items, 1.0, 5.0, &params).unwrap();
        assert_eq!(model, fit_svd_plus_plus(&train, users, items, 1.0, 5.0, &params).unwrap());
        let other = SvdPlusPlusParams { seed: 1, ..*params.params() }.validate().unwrap();
        assert_ne!(model, fit_svd_plus_plus(&train, users, items, 1.0, 5.0, &other).unwrap());
        let by_user = group_by_user(&train, users);
        let history = |u: usize| by_user[u].iter().map(|&(i, _)| i).collect::<Vec<u32>>();
        let fitted = rmse(&test, |u, i| model.predict(Some(u), &history(u), i));
        let baseline = rmse(&test, |_, _| model.global_mean);
        assert!(fitted < 0.5 * baseline, "fitted {fitted} vs global mean {baseline}");
    }

    #[test]
    fn refuses_bad_input_and_bad_params() {
        let params = SvdPlusPlusParams::default().validate().unwrap();
        assert!(fit_svd_plus_plus(&[], 1, 1, 1.0, 5.0, &params).is_err());
        assert!(fit_svd_plus_plus(&[(1, 0, 3.0)], 1, 1, 1.0, 5.0, &params).is_err());
        assert!(fit_svd_plus_plus(&[(0, 0, f32::NAN)], 1, 1, 1.0, 5.0, &params).is_err());
        let defaults = SvdPlusPlusParams::default();
        for bad in [
            SvdPlusPlusParams { factors: 0, ..defaults },
            SvdPlusPlusParams { epochs: 0, ..defaults },
            SvdPlusPlusParams { learning_rate: f32::NAN, ..defaults },
            SvdPlusPlusParams { learning_rate_decay: 1.5, ..defaults },
            SvdPlusPlusParams { regularization: -1.0, ..defaults },
        ] {
            assert!(bad.validate().is_err(), "{bad:?}");
        }
        // A huge step diverges: an error, not a model full of NaN.
        let huge = SvdPlusPlusParams { learning_rate: 1e30, ..defaults }.validate().unwrap();
        assert!(fit_svd_plus_plus(&[(0, 0, 5.0), (0, 1, 1.0), (1, 0, 2.0)], 2, 2, 1.0, 5.0, &huge).is_err());
    }
}

//! Fits a [`BiasedSvd`] by stochastic gradient descent with Surprise's `SVD` update rule
//! (Funk's SVD with biases) and defaults. The visiting order differs: user by user as
//! Surprise's, but in a seeded shuffled order, two users' ratings alternating, within the
//! blocks of a stratified schedule that lets two or more cores train at once (see
//! `sgd_blocks`), so the result depends only on the inputs, the seed and `blocks`.

use marquee_model::mf::BiasedSvd;
use marquee_model::random::SplitMix64;

use super::params::ValidBiasedSvdParams;
use super::sgd_blocks::{from_blocks, random_blocks, ratings_by_block_pair, row_width, run_epochs, Step};
use crate::TrainError;

/// Fits Surprise's biased SVD.
///
/// ratings: (user index, item index, rating) with dense indices; n_users/n_items the id space
/// sizes. `min_rating..=max_rating` is the rating scale predictions are clipped to.
///
/// μ is the mean rating; biases start at 0 and factors at N(0, init_std). Each epoch visits
/// every rating once, block by block in one seeded order (users in a shuffled order, two at
/// a time, their ratings alternating; see `sgd_blocks`), and, with `err = r − (μ + b_u + b_i + q_i·p_u)`,
/// updates `b_u += lr(err − reg·b_u)`, `b_i += lr(err − reg·b_i)`, then for each factor `f`
/// simultaneously `p_uf += lr(err·q_if − reg·p_uf)` and `q_if += lr(err·p_uf − reg·q_if)`.
///
/// Errors: no ratings, an index outside the id space, a non-finite rating, a bad rating
/// scale, or an id space too large to allocate.
pub fn fit_biased_svd(
    ratings: &[(u32, u32, f32)],
    n_users: usize,
    n_items: usize,
    min_rating: f32,
    max_rating: f32,
    params: &ValidBiasedSvdParams,
) -> Result<BiasedSvd, TrainError> {
    let p = params.params();
    let k = p.factors;
    let global_mean = check_ratings(ratings, n_users, n_items, min_rating, max_rating)?;
    check_allocation(n_users, n_items, k)?;

    // One generator, drawn in a fixed order (user factors, item factors, then the shuffles),
    // so that the result depends on the seed alone.
    let mut rng = SplitMix64::new(p.seed);
    let mut users = random_blocks(&mut rng, n_users, k, p.blocks, p.init_std);
    let mut items = random_blocks(&mut rng, n_items, k, p.blocks, p.init_std);
    let mut pairs = ratings_by_block_pair(ratings, p.blocks);
    let step =
        Step { row_width: row_width(k), global_mean, learning_rate: p.learning_rate, regularization: p.regularization };
    run_epochs(&mut users, &mut items, &mut pairs, step, p.epochs, &mut rng);

    let (user_bias, mut user_factors) = from_blocks(&users, n_users, k);
    let (item_bias, mut item_factors) = from_blocks(&items, n_items, k);
    zero_untrained_factors(ratings, k, &mut user_factors, &mut item_factors);
    let model =
        BiasedSvd { factors: k, global_mean, min_rating, max_rating, user_bias, item_bias, user_factors, item_factors };
    // Diverged training (e.g. a huge learning rate) leaves NaN or infinite values.
    model.validate()?;
    Ok(model)
}

/// Checks the rating scale and every rating (indices inside the id space, a finite value),
/// and returns the mean rating μ.
pub(super) fn check_ratings(
    ratings: &[(u32, u32, f32)],
    n_users: usize,
    n_items: usize,
    min_rating: f32,
    max_rating: f32,
) -> Result<f32, TrainError> {
    if ratings.is_empty() {
        return Err(TrainError::EmptyTable);
    }
    if !(min_rating.is_finite() && max_rating.is_finite() && min_rating <= max_rating) {
        return Err(TrainError::InvalidData(format!(
            "the rating scale {min_rating}..={max_rating} must be finite with min <= max"
        )));
    }
    let mut sum = 0.0f64;
    for (row, &(u, i, r)) in ratings.iter().enumerate() {
        if u as usize >= n_users {
            return Err(TrainError::InvalidData(format!(
                "rating {row}: user index {u} is not below n_users {n_users}"
            )));
        }
        if i as usize >= n_items {
            return Err(TrainError::InvalidData(format!(
                "rating {row}: item index {i} is not below n_items {n_items}"
            )));
        }
        if !r.is_finite() {
            return Err(TrainError::InvalidLabel { row, value: r, reason: "a rating must be a finite number" });
        }
        sum += f64::from(r);
    }
    Ok((sum / ratings.len() as f64) as f32)
}

/// Refuses id spaces whose factor matrices could not be allocated.
pub(super) fn check_allocation(n_users: usize, n_items: usize, k: usize) -> Result<(), TrainError> {
    for (what, n) in [("n_users", n_users), ("n_items", n_items)] {
        if n.checked_mul(k).is_none_or(|len| len > isize::MAX as usize / 4) {
            return Err(TrainError::InvalidData(format!("{what} {n} × {k} factors is too large to allocate")));
        }
    }
    Ok(())
}

/// Users and items without ratings were never trained: zero their random start so that
/// they score exactly as Surprise scores unknowns (their terms drop out).
fn zero_untrained_factors(ratings: &[(u32, u32, f32)], k: usize, user_factors: &mut [f32], item_factors: &mut [f32]) {
    let (mut user_rated, mut item_rated) = (vec![false; user_factors.len() / k], vec![false; item_factors.len() / k]);
    for &(u, i, _) in ratings {
        user_rated[u as usize] = true;
        item_rated[i as usize] = true;
    }
    for (factors, rated) in [(user_factors, &user_rated), (item_factors, &item_rated)] {
        for (row, _) in rated.iter().enumerate().filter(|(_, &rated)| !rated) {
            factors[row * k..(row + 1) * k].fill(0.0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mf::BiasedSvdParams;
    use crate::Validate;

    /// A rank-3 rating matrix on 1..=5 with noise, `density` of it observed, split into
    /// (train, test) with one test rating in five.
    #[allow(clippy::type_complexity)]
    fn synthetic(
        users: usize,
        items: usize,
        density: f64,
        noise: f32,
        seed: u64,
    ) -> (Vec<(u32, u32, f32)>, Vec<(u32, u32, f32)>) {
        let mut rng = SplitMix64::new(seed);
        let rank = 3;
        let a: Vec<f32> = (0..users * rank).map(|_| rng.normal(0.8)).collect();
        let b: Vec<f32> = (0..items * rank).map(|_| rng.normal(0.8)).collect();
        let ub: Vec<f32> = (0..users).map(|_| rng.normal(0.3)).collect();
        let ib: Vec<f32> = (0..items).map(|_| rng.normal(0.5)).collect();
        let (mut train, mut test) = (Vec::new(), Vec::new());
        for u in 0..users {
            for i in 0..items {
                if rng.unit_open_closed() > density {
                    continue;
                }
                let dot: f32 = (0..rank).map(|f| a[u * rank + f] * b[i * rank + f]).sum();
                let r = (3.5 + ub[u] + ib[i] + dot + rng.normal(noise)).clamp(1.0, 5.0);
                if rng.below(5) == 0 { &mut test } else { &mut train }.push((u as u32, i as u32, r));
            }
        }
        (train, test)
    }

    fn rmse(test: &[(u32, u32, f32)], predict: impl Fn(usize, usize) -> f32) -> f64 {
        let sq: f64 = test.iter().map(|&(u, i, r)| f64::from(predict(u as usize, i as usize) - r).powi(2)).sum();
        (sq / test.len() as f64).sqrt()
    }

    fn defaults() -> ValidBiasedSvdParams {
        BiasedSvdParams::default().validate().unwrap()
    }

    #[test]
    fn learns_a_low_rank_matrix_far_better_than_the_global_mean() {
        let (train, test) = synthetic(200, 150, 0.3, 0.1, 7);
        let params = BiasedSvdParams { factors: 10, epochs: 60, learning_rate: 0.01, ..Default::default() };
        let model = fit_biased_svd(&train, 200, 150, 1.0, 5.0, &params.validate().unwrap()).unwrap();
        assert_eq!(model.validate(), Ok(()));
        let baseline = rmse(&test, |_, _| model.global_mean);
        let fitted = rmse(&test, |u, i| model.predict(Some(u), Some(i)));
        eprintln!("held-out RMSE: global mean {baseline:.4}, biased SVD {fitted:.4}");
        assert!(fitted < 0.5 * baseline, "fitted {fitted} vs baseline {baseline}");
    }

    #[test]
    fn same_seed_gives_an_identical_model_and_another_seed_does_not() {
        let (train, _) = synthetic(40, 30, 0.3, 0.1, 3);
        let params = BiasedSvdParams { factors: 5, epochs: 5, seed: 11, ..Default::default() }.validate().unwrap();
        let a = fit_biased_svd(&train, 40, 30, 1.0, 5.0, &params).unwrap();
        let b = fit_biased_svd(&train, 40, 30, 1.0, 5.0, &params).unwrap();
        assert_eq!(a, b);
        let other = BiasedSvdParams { seed: 12, ..*params.params() }.validate().unwrap();
        assert_ne!(a, fit_biased_svd(&train, 40, 30, 1.0, 5.0, &other).unwrap());
    }

    #[test]
    fn params_validation() {
        let defaults = BiasedSvdParams::default();
        assert_eq!(defaults.factors, 100);
        assert_eq!(defaults.epochs, 20);
        assert!(defaults.validate().is_ok());
        let bad = [
            ("factors", BiasedSvdParams { factors: 0, ..defaults }),
            ("epochs", BiasedSvdParams { epochs: 0, ..defaults }),
            ("learning_rate", BiasedSvdParams { learning_rate: 0.0, ..defaults }),
            ("learning_rate", BiasedSvdParams { learning_rate: f32::NAN, ..defaults }),
            ("learning_rate", BiasedSvdParams { learning_rate: f32::INFINITY, ..defaults }),
            ("regularization", BiasedSvdParams { regularization: -0.1, ..defaults }),
            ("regularization", BiasedSvdParams { regularization: f32::NAN, ..defaults }),
            ("init_std", BiasedSvdParams { init_std: -1.0, ..defaults }),
            ("init_std", BiasedSvdParams { init_std: f32::INFINITY, ..defaults }),
        ];
        for (name, params) in bad {
            match params.validate() {
                Err(TrainError::InvalidParam { name: got, .. }) => assert_eq!(got, name),
                other => panic!("{name}: expected InvalidParam, got {other:?}"),
            }
        }
        assert!(BiasedSvdParams { regularization: 0.0, init_std: 0.0, ..defaults }.validate().is_ok());
    }

    #[test]
    fn bad_inputs_are_errors() {
        let p = BiasedSvdParams { factors: 2, epochs: 1, ..Default::default() }.validate().unwrap();
        let ok = [(0u32, 0u32, 4.0f32), (1, 2, 3.0)];
        assert!(fit_biased_svd(&ok, 2, 3, 1.0, 5.0, &p).is_ok());
        assert!(matches!(fit_biased_svd(&[], 2, 3, 1.0, 5.0, &p), Err(TrainError::EmptyTable)));
        assert!(matches!(fit_biased_svd(&ok, 1, 3, 1.0, 5.0, &p), Err(TrainError::InvalidData(_))));
        assert!(matches!(fit_biased_svd(&ok, 2, 2, 1.0, 5.0, &p), Err(TrainError::InvalidData(_))));
        for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
            let ratings = [(0, 0, 4.0), (1, 1, bad)];
            assert!(matches!(
                fit_biased_svd(&ratings, 2, 3, 1.0, 5.0, &p),
                Err(TrainError::InvalidLabel { row: 1, .. })
            ));
        }
        assert!(matches!(fit_biased_svd(&ok, 2, 3, 5.0, 1.0, &p), Err(TrainError::InvalidData(_))));
        assert!(matches!(fit_biased_svd(&ok, 2, 3, f32::NAN, 5.0, &p), Err(TrainError::InvalidData(_))));
        assert!(matches!(fit_biased_svd(&ok, usize::MAX, 3, 1.0, 5.0, &p), Err(TrainError::InvalidData(_))));
        let diverging = BiasedSvdParams { learning_rate: 1e30, epochs: 3, ..*p.params() }.validate().unwrap();
        assert!(fit_biased_svd(&[(0, 0, 5.0), (0, 0, 1.0)], 1, 1, 1.0, 5.0, &diverging).is_err());
    }

    #[test]
    fn users_and_items_without_ratings_keep_zero_bias() {
        let p = BiasedSvdParams { factors: 3, epochs: 4, ..Default::default() }.validate().unwrap();
        let model = fit_biased_svd(&[(0, 0, 4.0), (0, 1, 2.0)], 3, 4, 1.0, 5.0, &p).unwrap();
        assert_eq!((model.user_bias.len(), model.item_bias.len()), (3, 4));
        assert_eq!((model.user_factors.len(), model.item_factors.len()), (9, 12));
        assert_eq!(model.global_mean, 3.0);
        assert_eq!((model.user_bias[2], model.item_bias[3]), (0.0, 0.0));
    }

    /// `cargo test -p marquee-train --release fit_biased_svd_timing -- --ignored --nocapture`
    #[test]
    #[ignore]
    fn fit_biased_svd_timing() {
        let (users, items) = (943usize, 1682usize);
        let mut rng = SplitMix64::new(42);
        let ratings: Vec<(u32, u32, f32)> = (0..100_000)
            .map(|_| (rng.below(users) as u32, rng.below(items) as u32, (1 + rng.below(5)) as f32))
            .collect();
        let start = std::time::Instant::now();
        let model = fit_biased_svd(&ratings, users, items, 1.0, 5.0, &defaults()).unwrap();
        let seconds = start.elapsed().as_secs_f64();
        eprintln!("fit_biased_svd: 100,000 ratings, 943 × 1,682, defaults: {seconds:.3} s");
        assert_eq!(model.validate(), Ok(()));
    }
}

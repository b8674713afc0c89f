//! Fits a [`BiasedSvd`] by stochastic gradient descent with Surprise's `SVD` update rule
//! (Funk's SVD with biases) and defaults. The visiting order differs: ratings are shuffled
//! every epoch from a seeded generator, within the blocks of a stratified schedule that lets
//! two or more cores train at once (see `sgd_blocks`), so the result depends only on the
//! inputs, the seed and `blocks`.

use marquee_model::mf::BiasedSvd;
use ndarray::Array2;

use super::sgd_blocks::{run_epochs, Block, Step};
use crate::TrainError;
use marquee_model::random::SplitMix64;

/// Surprise's SVD defaults: factors 100, epochs 20, init_mean 0, init_std 0.1, lr_all 0.005,
/// reg_all 0.02, biased true; plus four blocks, so that two cores stay busy.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BiasedSvdParams {
    /// The number of latent factors per user and per item; it must be at least 1.
    pub factors: usize,
    /// The number of passes of SGD over all ratings; it must be at least 1.
    pub epochs: usize,
    /// The standard deviation of the zero-mean normal distribution the factors start from; it
    /// must be finite and at least 0.
    pub init_std: f32,
    /// The SGD step size for every bias and factor; it must be finite and above 0.
    pub learning_rate: f32,
    /// The L2 regularisation weight for every bias and factor; it must be finite and at least 0.
    pub regularization: f32,
    /// The seed of the generator that draws the initial factors and shuffles the ratings.
    pub seed: u64,
    /// How many blocks users and items are split into for the stratified schedule, 1 to 64:
    /// up to this many cores train at once. The result depends on it (and not on the
    /// number of threads); 1 visits all ratings in one shuffled order, as Surprise does.
    pub blocks: usize,
}

impl Default for BiasedSvdParams {
    fn default() -> Self {
        BiasedSvdParams {
            factors: 100,
            epochs: 20,
            init_std: 0.1,
            learning_rate: 0.005,
            regularization: 0.02,
            seed: 0,
            blocks: 4,
        }
    }
}

/// Parameters that passed [`BiasedSvdParams::validate`]; the only kind [`fit_biased_svd`]
/// accepts.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ValidBiasedSvdParams {
    params: BiasedSvdParams,
}

impl ValidBiasedSvdParams {
    /// The checked parameters.
    pub fn params(&self) -> &BiasedSvdParams {
        &self.params
    }
}

impl BiasedSvdParams {
    /// Checks every parameter's range (see each field's documentation).
    pub fn validate(self) -> Result<ValidBiasedSvdParams, TrainError> {
        if self.factors == 0 {
            return Err(invalid("factors", "must be at least 1".into()));
        }
        if !(1..=64).contains(&self.blocks) {
            return Err(invalid("blocks", format!("must be 1 to 64, got {}", self.blocks)));
        }
        if self.epochs == 0 {
            return Err(invalid("epochs", "must be at least 1".into()));
        }
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            return Err(invalid("learning_rate", format!("must be a finite number > 0, got {}", self.learning_rate)));
        }
        for (name, value) in [("regularization", self.regularization), ("init_std", self.init_std)] {
            if !(value.is_finite() && value >= 0.0) {
                return Err(invalid(name, format!("must be a finite number >= 0, got {value}")));
            }
        }
        Ok(ValidBiasedSvdParams { params: self })
    }
}

fn invalid(name: &'static str, reason: String) -> TrainError {
    TrainError::InvalidParam { name, reason }
}

/// Fits Surprise's biased SVD.
///
/// ratings: (user index, item index, rating) with dense indices; n_users/n_items the id space
/// sizes. `min_rating..=max_rating` is the rating scale predictions are clipped to.
///
/// μ is the mean rating; biases start at 0 and factors at N(0, init_std). Each epoch visits
/// every rating once, block by block in a seeded shuffled order, and, with `err = r − (μ + b_u + b_i + q_i·p_u)`,
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
    let p = params.params;
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
    let global_mean = (sum / ratings.len() as f64) as f32;
    let k = p.factors;
    for (what, n) in [("n_users", n_users), ("n_items", n_items)] {
        if n.checked_mul(k).is_none_or(|len| len > isize::MAX as usize / 4) {
            return Err(TrainError::InvalidData(format!("{what} {n} × {k} factors is too large to allocate")));
        }
    }

    let mut rng = SplitMix64::new(p.seed);
    let mut user_factors = Array2::zeros((n_users, k));
    let mut item_factors = Array2::zeros((n_items, k));
    for matrix in [&mut user_factors, &mut item_factors] {
        rng.fill_normal(
            matrix.as_slice_mut().ok_or_else(|| TrainError::InvalidData("not contiguous".into()))?,
            p.init_std,
        );
    }

    // Index `x` lives in block `x % B` at local index `x / B` (see `sgd_blocks`).
    let blocks = p.blocks;
    let split = |matrix: &Array2<f32>, n: usize| -> Vec<Block> {
        (0..blocks)
            .map(|block| {
                let members: Vec<usize> = (block..n).step_by(blocks).collect();
                Block {
                    bias: vec![0.0; members.len()],
                    factors: members.iter().flat_map(|&row| matrix.row(row).to_vec()).collect(),
                }
            })
            .collect()
    };
    let mut users = split(&user_factors, n_users);
    let mut items = split(&item_factors, n_items);
    let mut pairs: Vec<Vec<(u32, u32, f32)>> = vec![Vec::new(); blocks * blocks];
    for &(u, i, rating) in ratings {
        let (u, i) = (u as usize, i as usize);
        pairs[(u % blocks) * blocks + i % blocks].push(((u / blocks) as u32, (i / blocks) as u32, rating));
    }
    let step = Step { factors: k, global_mean, learning_rate: p.learning_rate, regularization: p.regularization };
    run_epochs(&mut users, &mut items, &mut pairs, step, p.epochs, &mut rng);

    let join = |parts: &[Block], n: usize| -> (Vec<f32>, Vec<f32>) {
        let (mut bias, mut factors) = (vec![0.0f32; n], vec![0.0f32; n * k]);
        for (block, part) in parts.iter().enumerate() {
            for (local, row) in (block..n).step_by(blocks).enumerate() {
                bias[row] = part.bias[local];
                factors[row * k..(row + 1) * k].copy_from_slice(&part.factors[local * k..(local + 1) * k]);
            }
        }
        (bias, factors)
    };
    let (user_bias, mut user_factors) = join(&users, n_users);
    let (item_bias, mut item_factors) = join(&items, n_items);
    // Users and items without ratings were never trained: zero their random start so that
    // they score exactly as Surprise scores unknowns (their terms drop out).
    let (mut user_rated, mut item_rated) = (vec![false; n_users], vec![false; n_items]);
    for &(u, i, _) in ratings {
        user_rated[u as usize] = true;
        item_rated[i as usize] = true;
    }
    for (factors, rated) in [(&mut user_factors, &user_rated), (&mut item_factors, &item_rated)] {
        for (row, _) in rated.iter().enumerate().filter(|(_, &rated)| !rated) {
            factors[row * k..(row + 1) * k].fill(0.0);
        }
    }

    let model =
        BiasedSvd { factors: k, global_mean, min_rating, max_rating, user_bias, item_bias, user_factors, item_factors };
    // Diverged training (e.g. a huge learning rate) leaves NaN or infinite values.
    model.validate()?;
    Ok(model)
}

#[cfg(test)]
mod tests {
    use super::*;

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

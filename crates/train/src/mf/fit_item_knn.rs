//! Fits [`ItemKnn`]: baselines by alternating least squares, then the shrunk
//! baseline-adjusted Pearson similarity between items (Surprise's `pearson_baseline`), of
//! which each item keeps only its `stored_neighbours` strongest positive ones.
//!
//! The similarity rows are computed item by item into one dense scratch row per thread, so
//! memory stays O(items × stored neighbours); the rows are independent and run on rayon's
//! pool, and the result does not depend on the thread count.

use marquee_model::mf::ItemKnn;
use rayon::prelude::*;

use super::fit_biased_svd::check_ratings;
use super::fit_svd_plus_plus::group_by_user;
use super::params::ValidItemKnnParams;
use crate::TrainError;

/// Fits item kNN with baselines on `ratings` (user index, item index, rating).
///
/// Baselines: starting from 0, each of `baseline_epochs` passes sets
/// `b_i = Σ_u (r_ui − μ − b_u) / (item_regularization + |R(i)|)`, then
/// `b_u = Σ_i (r_ui − μ − b_i) / (user_regularization + |R(u)|)`.
/// Similarity of items `i` and `j` over their `n` common raters, with residuals
/// `e = r − μ − b_u − b_i`: `Σ e_ui e_uj / √(Σ e_ui² Σ e_uj²) · (n − 1) / (n − 1 + shrinkage)`.
///
/// Errors: as [`super::fit_biased_svd()`] for the ratings.
pub fn fit_item_knn(
    ratings: &[(u32, u32, f32)],
    n_users: usize,
    n_items: usize,
    min_rating: f32,
    max_rating: f32,
    params: &ValidItemKnnParams,
) -> Result<ItemKnn, TrainError> {
    let p = params.params();
    let global_mean = check_ratings(ratings, n_users, n_items, min_rating, max_rating)?;
    if u32::try_from(ratings.len()).is_err() {
        return Err(TrainError::InvalidData("item kNN holds at most u32::MAX ratings".into()));
    }
    let by_user = group_by_user(ratings, n_users);
    let mut by_item: Vec<Vec<(u32, f32)>> = vec![Vec::new(); n_items];
    for &(u, i, r) in ratings {
        by_item[i as usize].push((u, r));
    }
    let (mut user_bias, mut item_bias) = (vec![0.0f32; n_users], vec![0.0f32; n_items]);
    for _ in 0..p.baseline_epochs {
        for (i, raters) in by_item.iter().enumerate() {
            let sum: f32 = raters.iter().map(|&(u, r)| r - global_mean - user_bias[u as usize]).sum();
            item_bias[i] = sum / (p.item_regularization + raters.len() as f32).max(f32::MIN_POSITIVE);
        }
        for (u, rated) in by_user.iter().enumerate() {
            let sum: f32 = rated.iter().map(|&(i, r)| r - global_mean - item_bias[i as usize]).sum();
            user_bias[u] = sum / (p.user_regularization + rated.len() as f32).max(f32::MIN_POSITIVE);
        }
    }
    // Residuals per user, so that a row's pass reads them without recomputing.
    let residuals: Vec<Vec<(u32, f32)>> = by_user
        .iter()
        .enumerate()
        .map(|(u, rated)| {
            rated.iter().map(|&(i, r)| (i, r - global_mean - user_bias[u] - item_bias[i as usize])).collect()
        })
        .collect();
    let rows: Vec<Vec<(u32, f32)>> = (0..n_items)
        .into_par_iter()
        .map_init(
            || Scratch::new(n_items),
            |scratch, i| similarity_row(i, &by_item[i], &residuals, &user_bias, &item_bias, global_mean, p, scratch),
        )
        .collect();
    let mut neighbour_start = Vec::with_capacity(n_items + 1);
    let (mut neighbour_items, mut neighbour_similarity) = (Vec::new(), Vec::new());
    neighbour_start.push(0u32);
    for row in rows {
        for (j, s) in row {
            neighbour_items.push(j);
            neighbour_similarity.push(s);
        }
        let end = u32::try_from(neighbour_items.len())
            .map_err(|_| TrainError::InvalidData("too many stored neighbours for u32 offsets".into()))?;
        neighbour_start.push(end);
    }
    let model = ItemKnn {
        k: p.k,
        global_mean,
        min_rating,
        max_rating,
        user_regularization: p.user_regularization,
        user_bias,
        item_bias,
        neighbour_start,
        neighbour_items,
        neighbour_similarity,
    };
    model.validate()?;
    Ok(model)
}

/// Dense accumulators for one item's similarity row, reset between rows through `touched`.
struct Scratch {
    products: Vec<f64>,
    own_squares: Vec<f64>,
    other_squares: Vec<f64>,
    common: Vec<u32>,
    touched: Vec<u32>,
}

impl Scratch {
    fn new(n_items: usize) -> Self {
        Scratch {
            products: vec![0.0; n_items],
            own_squares: vec![0.0; n_items],
            other_squares: vec![0.0; n_items],
            common: vec![0; n_items],
            touched: Vec::new(),
        }
    }
}

/// Item `i`'s strongest positive neighbours, most similar first (ties by item index).
#[allow(clippy::too_many_arguments)]
fn similarity_row(
    i: usize,
    raters: &[(u32, f32)],
    residuals: &[Vec<(u32, f32)>],
    user_bias: &[f32],
    item_bias: &[f32],
    global_mean: f32,
    p: &super::ItemKnnParams,
    scratch: &mut Scratch,
) -> Vec<(u32, f32)> {
    for &(u, r) in raters {
        let own = f64::from(r - global_mean - user_bias[u as usize] - item_bias[i]);
        for &(j, other) in &residuals[u as usize] {
            let j = j as usize;
            if j == i {
                continue;
            }
            if scratch.common[j] == 0 {
                scratch.touched.push(j as u32);
            }
            let other = f64::from(other);
            scratch.common[j] += 1;
            scratch.products[j] += own * other;
            scratch.own_squares[j] += own * own;
            scratch.other_squares[j] += other * other;
        }
    }
    let mut row: Vec<(u32, f32)> = Vec::with_capacity(scratch.touched.len());
    for &j in &scratch.touched {
        let j = j as usize;
        let n = f64::from(scratch.common[j]);
        let denominator = (scratch.own_squares[j] * scratch.other_squares[j]).sqrt();
        if denominator > 0.0 {
            let shrunk = scratch.products[j] / denominator * (n - 1.0) / (n - 1.0 + f64::from(p.shrinkage));
            let s = shrunk as f32;
            if s.is_finite() && s > 0.0 {
                row.push((j as u32, s));
            }
        }
        scratch.common[j] = 0;
        scratch.products[j] = 0.0;
        scratch.own_squares[j] = 0.0;
        scratch.other_squares[j] = 0.0;
    }
    scratch.touched.clear();
    row.sort_unstable_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    row.truncate(p.stored_neighbours);
    row
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mf::ItemKnnParams;
    use crate::Validate;
    use marquee_model::random::SplitMix64;

    #[test]
    fn twin_items_predict_each_other() {
        // Items come in twins (2t, 2t + 1) that every user rates alike; a user's held-out
        // rating of an odd twin is predicted from the even one (always rated, and with k = 1
        // the only neighbour used) far better than by the baseline.
        let mut rng = SplitMix64::new(4);
        let (users, items) = (200u32, 30u32);
        let taste: Vec<f32> = (0..users * items / 2).map(|_| rng.normal(1.2)).collect();
        let (mut train, mut test) = (Vec::new(), Vec::new());
        for u in 0..users {
            for i in 0..items {
                let r = (3.0 + taste[(u * items / 2 + i / 2) as usize]).clamp(1.0, 5.0).round();
                if i % 2 == 1 && rng.below(4) == 0 {
                    test.push((u, i, r));
                } else {
                    train.push((u, i, r));
                }
            }
        }
        let params = ItemKnnParams { k: 1, stored_neighbours: 10, shrinkage: 10.0, ..Default::default() };
        let model =
            fit_item_knn(&train, users as usize, items as usize, 1.0, 5.0, &params.validate().unwrap()).unwrap();
        // Each odd item's strongest neighbour is its twin.
        for i in (1..items as usize).step_by(2) {
            assert_eq!(model.neighbours(i).0.first(), Some(&(i as u32 - 1)), "item {i}");
        }
        let by_user = group_by_user(&train, users as usize);
        let (mut knn, mut baseline) = (0.0f64, 0.0f64);
        for &(u, i, r) in &test {
            let u = u as usize;
            knn += f64::from(model.predict(Some(u), &by_user[u], i as usize) - r).powi(2);
            let b = model.global_mean + model.user_bias[u] + model.item_bias[i as usize];
            baseline += f64::from(b - r).powi(2);
        }
        assert!(knn < 0.3 * baseline, "kNN {knn} vs baseline {baseline}");
        // The thread count does not change the model.
        let one = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
        let again = one
            .install(|| fit_item_knn(&train, users as usize, items as usize, 1.0, 5.0, &params.validate().unwrap()))
            .unwrap();
        assert_eq!(model, again);
    }

    #[test]
    fn refuses_bad_params_and_input() {
        let defaults = ItemKnnParams::default();
        for bad in [
            ItemKnnParams { k: 0, ..defaults },
            ItemKnnParams { stored_neighbours: 10, ..defaults },
            ItemKnnParams { shrinkage: f32::NAN, ..defaults },
            ItemKnnParams { baseline_epochs: 0, ..defaults },
            ItemKnnParams { user_regularization: -1.0, ..defaults },
        ] {
            assert!(bad.validate().is_err(), "{bad:?}");
        }
        let params = defaults.validate().unwrap();
        assert!(fit_item_knn(&[], 1, 1, 1.0, 5.0, &params).is_err());
        assert!(fit_item_knn(&[(0, 3, 4.0)], 1, 2, 1.0, 5.0, &params).is_err());
    }
}

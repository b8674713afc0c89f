//! Fits a [`RatingBlend`]: SVD, SVD++ and item kNN, combined by a GBDT trained on their
//! *out-of-fold* predictions. The training ratings are dealt into `inner_folds` folds; each
//! fold's rows get their base predictions and user/item statistics from models and counts
//! fitted on the other folds only, so no row's own label reaches its features. The base
//! models are then refitted on all the training ratings, which is what serving uses.
//!
//! The fit sees only the ratings it is given: the caller's test ratings never enter it.

use std::time::Instant;

use marquee_model::blend::{blend_features, rating_stats, RatingBlend, BLEND_FEATURES};
use marquee_model::gbdt::{FeatureSchema, Predictor};
use marquee_model::mf::{BiasedSvd, ItemKnn, SvdPlusPlus};
use marquee_model::random::SplitMix64;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::gbdt::{train, Table, TrainParams};
use crate::mf::{fit_biased_svd, fit_item_knn, fit_svd_plus_plus, BiasedSvdParams, ItemKnnParams, SvdPlusPlusParams};
use crate::validate::{count_in, Validate};
use crate::TrainError;

/// How to fit the rating blend. Defaults were tuned on MovieLens 100K on an inner
/// validation split of the training data only.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RatingBlendParams {
    /// The biased SVD part.
    pub svd: BiasedSvdParams,
    /// The SVD++ part.
    pub svd_plus_plus: SvdPlusPlusParams,
    /// The item-kNN part.
    pub item_knn: ItemKnnParams,
    /// The combiner (squared error on the rating).
    pub combiner: TrainParams,
    /// Folds of the out-of-fold predictions the combiner learns from, 2 to 20.
    pub inner_folds: usize,
    /// Seeds the fold assignment (each part has its own seed in its parameters).
    pub seed: u64,
}

impl Default for RatingBlendParams {
    fn default() -> Self {
        RatingBlendParams {
            svd: BiasedSvdParams {
                factors: 100,
                epochs: 60,
                init_std: 0.05,
                learning_rate: 0.005,
                regularization: 0.1,
                ..BiasedSvdParams::default()
            },
            svd_plus_plus: SvdPlusPlusParams::default(),
            item_knn: ItemKnnParams::default(),
            combiner: TrainParams {
                rounds: 300,
                learning_rate: 0.05,
                max_depth: 5,
                min_child_weight: 50.0,
                subsample: 0.8,
                ..TrainParams::default()
            },
            inner_folds: 5,
            seed: 0,
        }
    }
}

/// The checked parameters: each part's and the combiner's, validated once.
pub struct ValidRatingBlendParams {
    svd: crate::mf::ValidBiasedSvdParams,
    svd_plus_plus: crate::mf::ValidSvdPlusPlusParams,
    item_knn: crate::mf::ValidItemKnnParams,
    combiner: crate::gbdt::ValidParams,
    inner_folds: usize,
    seed: u64,
}

impl Validate for RatingBlendParams {
    type Valid = ValidRatingBlendParams;

    /// Validates every part's parameters, the combiner's (which must use squared error) and
    /// `inner_folds`.
    fn validate(self) -> Result<ValidRatingBlendParams, TrainError> {
        count_in("inner_folds", self.inner_folds, 2..=20)?;
        if self.combiner.objective != marquee_model::gbdt::Objective::SquaredError {
            return Err(crate::validate::invalid("combiner.objective", "the blend predicts ratings: squared error"));
        }
        Ok(ValidRatingBlendParams {
            svd: self.svd.validate()?,
            svd_plus_plus: self.svd_plus_plus.validate()?,
            item_knn: self.item_knn.validate()?,
            combiner: self.combiner.validate()?,
            inner_folds: self.inner_folds,
            seed: self.seed,
        })
    }
}

/// A fitted blend and how long each step took (wall seconds, on the caller's rayon pool).
pub struct RatingBlendFit {
    /// The servable model.
    pub blend: RatingBlend,
    /// Building the out-of-fold rows: `inner_folds` fits of every base model.
    pub out_of_fold_seconds: f64,
    /// Training the combiner.
    pub combiner_seconds: f64,
    /// Refitting each base model on all the ratings: SVD, SVD++, item kNN.
    pub refit_seconds: [f64; 3],
}

/// Fits the blend on `ratings` (user index, item index, rating) with dense indices below
/// `n_users` and `n_items`; predictions are clipped to `min_rating..=max_rating`.
pub fn fit_rating_blend(
    ratings: &[(u32, u32, f32)],
    n_users: usize,
    n_items: usize,
    min_rating: f32,
    max_rating: f32,
    params: &ValidRatingBlendParams,
) -> Result<RatingBlendFit, TrainError> {
    let started = Instant::now();
    let rows = out_of_fold_features(ratings, n_users, n_items, min_rating, max_rating, params)?;
    let out_of_fold_seconds = started.elapsed().as_secs_f64();

    let started = Instant::now();
    let features: Vec<f32> = rows.iter().flatten().copied().collect();
    let labels: Vec<f32> = ratings.iter().map(|&(_, _, r)| r).collect();
    let table = Table::new(FeatureSchema::numeric(BLEND_FEATURES), features, labels, None)?;
    let output = train(&table, None, &params.combiner, &mut |_, _| {})?;
    let combiner = Predictor::new(output.ensemble)?;
    let combiner_seconds = started.elapsed().as_secs_f64();

    let mut refit_seconds = [0.0; 3];
    let (svd, svd_plus_plus, item_knn) =
        fit_bases(ratings, n_users, n_items, min_rating, max_rating, params, &mut refit_seconds)?;
    let blend = RatingBlend { svd, svd_plus_plus, item_knn, combiner, item_stats: item_stats(ratings, n_items) };
    blend.validate()?;
    Ok(RatingBlendFit { blend, out_of_fold_seconds, combiner_seconds, refit_seconds })
}

/// The combiner's row for every rating, in input order, each built from base models and
/// statistics fitted on the other inner folds only (see the module documentation).
pub fn out_of_fold_features(
    ratings: &[(u32, u32, f32)],
    n_users: usize,
    n_items: usize,
    min_rating: f32,
    max_rating: f32,
    params: &ValidRatingBlendParams,
) -> Result<Vec<[f32; 9]>, TrainError> {
    let folds = params.inner_folds;
    let mut order: Vec<usize> = (0..ratings.len()).collect();
    let mut rng = SplitMix64::new(params.seed);
    for index in (1..order.len()).rev() {
        order.swap(index, rng.below(index + 1));
    }
    let mut fold_of = vec![0usize; ratings.len()];
    for (position, &index) in order.iter().enumerate() {
        fold_of[index] = position % folds;
    }
    let per_fold: Vec<Result<FoldRows, TrainError>> = (0..folds)
        .into_par_iter()
        .map(|fold| {
            let fitting: Vec<(u32, u32, f32)> =
                ratings.iter().zip(&fold_of).filter(|(_, &of)| of != fold).map(|(r, _)| *r).collect();
            let mut unused = [0.0; 3];
            let (svd, svdpp, knn) = fit_bases(&fitting, n_users, n_items, min_rating, max_rating, params, &mut unused)?;
            let stats = item_stats(&fitting, n_items);
            let mut history: Vec<Vec<(u32, f32)>> = vec![Vec::new(); n_users];
            for &(u, i, r) in &fitting {
                history[u as usize].push((i, r));
            }
            Ok(ratings
                .iter()
                .enumerate()
                .filter(|&(index, _)| fold_of[index] == fold)
                .map(|(index, &(u, i, _))| {
                    let row =
                        blend_features(&svd, &svdpp, &knn, &stats, Some(u as usize), &history[u as usize], i as usize);
                    (index, row)
                })
                .collect())
        })
        .collect();
    let mut rows = vec![[0.0f32; 9]; ratings.len()];
    for fold in per_fold {
        for (index, row) in fold? {
            rows[index] = row;
        }
    }
    Ok(rows)
}

/// One inner fold's rows: (rating index, combiner row).
type FoldRows = Vec<(usize, [f32; 9])>;

/// Fits the three base models, recording each fit's wall seconds.
fn fit_bases(
    ratings: &[(u32, u32, f32)],
    n_users: usize,
    n_items: usize,
    min_rating: f32,
    max_rating: f32,
    params: &ValidRatingBlendParams,
    seconds: &mut [f64; 3],
) -> Result<(BiasedSvd, SvdPlusPlus, ItemKnn), TrainError> {
    let started = Instant::now();
    let svd = fit_biased_svd(ratings, n_users, n_items, min_rating, max_rating, &params.svd)?;
    seconds[0] = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let svdpp = fit_svd_plus_plus(ratings, n_users, n_items, min_rating, max_rating, &params.svd_plus_plus)?;
    seconds[1] = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let knn = fit_item_knn(ratings, n_users, n_items, min_rating, max_rating, &params.item_knn)?;
    seconds[2] = started.elapsed().as_secs_f64();
    Ok((svd, svdpp, knn))
}

/// `[count, mean, std]` of each item's ratings.
fn item_stats(ratings: &[(u32, u32, f32)], n_items: usize) -> Vec<[f32; 3]> {
    let mut by_item: Vec<Vec<f32>> = vec![Vec::new(); n_items];
    for &(_, i, r) in ratings {
        by_item[i as usize].push(r);
    }
    by_item.into_iter().map(rating_stats).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small rank-2 rating set on 1..=5.
    fn ratings(users: u32, items: u32, seed: u64) -> Vec<(u32, u32, f32)> {
        let mut rng = SplitMix64::new(seed);
        let a: Vec<f32> = (0..users * 2).map(|_| rng.normal(0.8)).collect();
        let b: Vec<f32> = (0..items * 2).map(|_| rng.normal(0.8)).collect();
        let mut out = Vec::new();
        for u in 0..users {
            for i in 0..items {
                if rng.below(3) == 0 {
                    let dot =
                        a[(u * 2) as usize] * b[(i * 2) as usize] + a[(u * 2 + 1) as usize] * b[(i * 2 + 1) as usize];
                    out.push((u, i, (3.2 + dot + rng.normal(0.3)).clamp(1.0, 5.0).round()));
                }
            }
        }
        out
    }

    fn small() -> ValidRatingBlendParams {
        let d = RatingBlendParams::default();
        RatingBlendParams {
            svd: BiasedSvdParams { factors: 4, epochs: 20, ..d.svd },
            svd_plus_plus: SvdPlusPlusParams { factors: 4, epochs: 20, ..d.svd_plus_plus },
            item_knn: ItemKnnParams { k: 10, stored_neighbours: 20, ..d.item_knn },
            combiner: TrainParams { rounds: 30, min_child_weight: 5.0, threads: 1, ..d.combiner },
            inner_folds: 3,
            seed: 1,
        }
        .validate()
        .unwrap()
    }

    #[test]
    fn a_rows_own_label_never_reaches_its_features() {
        let mut data = ratings(60, 40, 2);
        let params = small();
        let before = out_of_fold_features(&data, 60, 40, 1.0, 5.0, &params).unwrap();
        let changed = 17;
        data[changed].2 = if data[changed].2 > 3.0 { 1.0 } else { 5.0 };
        let after = out_of_fold_features(&data, 60, 40, 1.0, 5.0, &params).unwrap();
        // The changed row's features are bit-identical; rows of other folds saw the change.
        assert_eq!(before[changed].map(f32::to_bits), after[changed].map(f32::to_bits));
        assert!(before.iter().zip(&after).any(|(a, b)| a != b), "the label change reached no other row");
    }

    #[test]
    fn the_fit_depends_only_on_the_training_ratings_and_beats_the_mean() {
        let all = ratings(80, 50, 3);
        let (mut train, mut test): (Vec<_>, Vec<_>) = (Vec::new(), Vec::new());
        for (index, rating) in all.iter().enumerate() {
            if index % 5 == 0 { &mut test } else { &mut train }.push(*rating);
        }
        let params = small();
        let fit = fit_rating_blend(&train, 80, 50, 1.0, 5.0, &params).unwrap();
        // Other test ratings, same training ratings: the same model, bit for bit.
        let again = fit_rating_blend(&train, 80, 50, 1.0, 5.0, &params).unwrap();
        assert_eq!(fit.blend.to_blob().unwrap(), again.blend.to_blob().unwrap());
        let mut history: Vec<Vec<(u32, f32)>> = vec![Vec::new(); 80];
        for &(u, i, r) in &train {
            history[u as usize].push((i, r));
        }
        let mean = train.iter().map(|r| r.2).sum::<f32>() / train.len() as f32;
        let (mut blend, mut flat) = (0.0f64, 0.0f64);
        for &(u, i, r) in &test {
            let p = fit.blend.predict(Some(u as usize), &history[u as usize], i as usize).unwrap();
            blend += f64::from(p - r).powi(2);
            flat += f64::from(mean - r).powi(2);
        }
        assert!(blend < 0.8 * flat, "blend {blend} vs mean {flat}");
        let loaded = RatingBlend::from_blob(&fit.blend.to_blob().unwrap()).unwrap();
        assert_eq!(loaded.predict(Some(3), &history[3], 7), fit.blend.predict(Some(3), &history[3], 7));
    }

    #[test]
    fn refuses_bad_params() {
        assert!(RatingBlendParams { inner_folds: 1, ..Default::default() }.validate().is_err());
        let bad_part = RatingBlendParams {
            svd_plus_plus: SvdPlusPlusParams { factors: 0, ..Default::default() },
            ..Default::default()
        };
        assert!(bad_part.validate().is_err());
        let ranking = RatingBlendParams {
            combiner: TrainParams { objective: marquee_model::gbdt::Objective::Logistic, ..Default::default() },
            ..Default::default()
        };
        assert!(ranking.validate().is_err());
    }
}

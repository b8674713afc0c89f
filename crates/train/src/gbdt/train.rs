//! The boosting loop: bin once, then per round compute gradients, subsample, grow a tree,
//! update margins and report metrics, with optional early stopping.

use marquee_model::gbdt::{Ensemble, Objective, Tree};
use serde::{Deserialize, Serialize};

use super::bin_features::{bin_features, compute_bin_stats};
use super::booster::Booster;
use super::early_stopping::EarlyStopping;
use super::evaluator::Evaluator;
use super::feature_importance::FeatureImportance;
use super::objective::{base_margin, check_labels};
use super::params::{TrainParams, ValidParams};
use super::table::Table;
use crate::TrainError;

/// The metrics after one boosting round.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RoundMetrics {
    /// The round, counted from 0.
    pub round: usize,
    /// The evaluation metric on the training table, when `TrainParams::eval_train` asked for it.
    pub train: Option<f32>,
    /// The evaluation metric on the validation table, when one was given.
    pub valid: Option<f32>,
}

/// What training produces.
#[derive(Clone, Debug)]
pub struct TrainOutput {
    /// The trained model. With early stopping, it keeps rounds `0..=best_round` only.
    pub ensemble: Ensemble,
    /// Per-feature importance over the ensemble's trees.
    pub importance: FeatureImportance,
    /// Every round's metrics, including rounds early stopping discarded.
    pub history: Vec<RoundMetrics>,
    /// With a validation table, the round (from 0) with the best validation metric.
    pub best_round: Option<usize>,
}

/// Trains a gradient-boosted ensemble on `train`, reporting each round's metrics (on
/// `valid` too, when given) to `on_round`.
///
/// With `early_stopping_rounds`, training stops once the validation metric has not improved
/// for that many rounds, and the ensemble is truncated to the best round, as XGBoost's
/// `best_iteration` is used for prediction. Results depend only on the data, the
/// parameters and the seed, never on the thread count.
pub fn train(
    train: &Table,
    valid: Option<&Table>,
    params: &ValidParams,
    on_round: &mut dyn FnMut(usize, &RoundMetrics),
) -> Result<TrainOutput, TrainError> {
    let p = params.params();
    check_inputs(train, valid, p)?;
    let pool = thread_pool(p.threads)?;
    let binned = pool.install(|| compute_bin_stats(train, p.max_bin, p.seed).map(|bins| bin_features(train, bins)))?;
    let base = base_margin(p.objective, &train.labels, p.base_score);
    let metric = params.metric();
    let mut train_eval = Evaluator::new(metric, p.objective, train, base);
    let mut valid_eval = valid.map(|valid| Evaluator::new(metric, p.objective, valid, base));
    // Scoring the starting margins surfaces metric errors (no groups, one class) up front.
    train_eval.score()?;
    if let Some(valid_eval) = &mut valid_eval {
        valid_eval.score()?;
    }

    let mut booster = Booster::new(train, p);
    let mut trees = GrownTrees::default();
    let mut history = Vec::new();
    let mut stopping = EarlyStopping::new(p.early_stopping_rounds, metric.higher_is_better());
    for round in 0..p.rounds as usize {
        let grown = booster.grow_tree(&pool, &binned, &train_eval.margins);
        pool.install(|| train_eval.add_leaves(&grown.leaves, booster.rows()));
        let valid_value = match &mut valid_eval {
            Some(valid_eval) => {
                valid_eval.add_tree(&grown.tree)?;
                Some(valid_eval.score()?)
            }
            None => None,
        };
        let train_value = if p.eval_train { Some(train_eval.score()?) } else { None };
        let metrics = RoundMetrics { round, train: train_value, valid: valid_value };
        on_round(round, &metrics);
        history.push(metrics);
        trees.trees.push(grown.tree);
        trees.splits.push(grown.splits);
        if valid_value.is_some_and(|value| stopping.update(round, value)) {
            break;
        }
    }

    let best_round = valid.and_then(|_| stopping.best_round());
    if p.early_stopping_rounds.is_some() {
        if let Some(best) = best_round {
            trees.trees.truncate(best + 1);
        }
    }
    Ok(trees.finish(train, p.objective, base, history, best_round))
}

/// Refuses tables and parameter combinations training cannot use, before any work starts.
fn check_inputs(train: &Table, valid: Option<&Table>, p: &TrainParams) -> Result<(), TrainError> {
    train.check()?;
    if train.rows() == 0 {
        return Err(TrainError::EmptyTable);
    }
    if u32::try_from(train.rows()).is_err() {
        return Err(TrainError::LengthMismatch { what: "rows", expected: u32::MAX as usize, got: train.rows() });
    }
    check_labels(p.objective, &train.labels)?;
    if let Some(valid) = valid {
        valid.check()?;
        if valid.schema != train.schema {
            return Err(TrainError::SchemaMismatch);
        }
        check_labels(p.objective, &valid.labels)?;
    }
    if p.early_stopping_rounds.is_some() && valid.is_none() {
        return Err(TrainError::EarlyStoppingNeedsValidation);
    }
    let ranking = matches!(p.objective, Objective::RankPairwise | Objective::RankNdcg);
    if ranking && train.groups.is_none() {
        return Err(TrainError::MissingGroups("a ranking objective"));
    }
    Ok(())
}

/// The pool training runs on: `threads` workers, or one per core for 0.
fn thread_pool(threads: usize) -> Result<rayon::ThreadPool, TrainError> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|error| TrainError::ThreadPool(error.to_string()))
}

/// The trees grown so far and each one's splits (for feature importance).
#[derive(Default)]
struct GrownTrees {
    trees: Vec<Tree>,
    splits: Vec<Vec<(usize, f64, f64)>>,
}

impl GrownTrees {
    /// The output: the ensemble of the kept trees and their importance.
    fn finish(
        self,
        train: &Table,
        objective: Objective,
        base_score: f32,
        history: Vec<RoundMetrics>,
        best_round: Option<usize>,
    ) -> TrainOutput {
        let kept = self.trees.len();
        let importance = FeatureImportance::from_splits(train.schema.len(), self.splits.iter().take(kept).flatten());
        let ensemble = Ensemble { schema: train.schema.clone(), objective, base_score, trees: self.trees };
        TrainOutput { ensemble, importance, history, best_round }
    }
}

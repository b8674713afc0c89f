//! The boosting loop: bin once, then per round compute gradients, subsample, grow a tree,
//! update margins and report metrics, with optional early stopping.

use marquee_model::gbdt::{Ensemble, Objective, Predictor};
use serde::{Deserialize, Serialize};

use super::bin_features::{bin_features, compute_bin_stats};
use super::build_histograms::HistogramPool;
use super::choose_best_split::SplitParams;
use super::early_stopping::EarlyStopping;
use super::feature_importance::FeatureImportance;
use super::metrics::{compute, Metric};
use super::objective::{base_margin, check_labels, compute_gradients, transform, GradHess};
use super::params::ValidParams;
use super::sample::{sample_columns, sample_rows, SplitMix64};
use super::table::Table;
use super::train_tree::{train_tree, TreeSettings};
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
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(p.threads)
        .build()
        .map_err(|error| TrainError::ThreadPool(error.to_string()))?;

    let binned = pool.install(|| compute_bin_stats(train, p.max_bin, p.seed).map(|bins| bin_features(train, bins)))?;
    let n = train.rows();
    let width = train.schema.len();
    let groups = train.group_ranges().unwrap_or_default();
    let base = base_margin(p.objective, &train.labels, p.base_score);
    let metric = params.metric();
    let mut train_eval = Evaluator::new(metric, p.objective, train, base);
    let mut valid_eval = valid.map(|valid| Evaluator::new(metric, p.objective, valid, base));
    // Scoring the starting margins surfaces metric errors (no groups, one class) up front.
    train_eval.score()?;
    if let Some(valid_eval) = &mut valid_eval {
        valid_eval.score()?;
    }

    let settings = TreeSettings {
        split: SplitParams {
            lambda: f64::from(p.lambda),
            alpha: f64::from(p.alpha),
            gamma: f64::from(p.gamma),
            min_child_weight: f64::from(p.min_child_weight),
        },
        learning_rate: f64::from(p.learning_rate),
        max_depth: p.max_depth,
        max_leaves: p.max_leaves,
    };
    let mut rng = SplitMix64::new(p.seed);
    let all_columns: Vec<usize> = (0..width).collect();
    let sampled_rows = ((n as f64 * f64::from(p.subsample)).round() as usize).max(1);
    let sampled_columns = ((width as f64 * f64::from(p.colsample)).round() as usize).max(1);
    let mut gradients: Vec<GradHess> = vec![[0.0; 2]; n];
    let mut mask = Vec::new();
    let mut rows: Vec<u32> = Vec::with_capacity(n);
    let histograms = HistogramPool::default();
    let mut trees = Vec::new();
    let mut tree_splits = Vec::new();
    let mut history = Vec::new();
    let mut stopping = EarlyStopping::new(p.early_stopping_rounds, metric.higher_is_better());

    for round in 0..p.rounds as usize {
        let columns =
            if p.colsample < 1.0 { sample_columns(&mut rng, width, sampled_columns) } else { all_columns.clone() };
        let grown = pool.install(|| {
            compute_gradients(p.objective, &train_eval.margins, &train.labels, &groups, &mut gradients);
            if p.subsample < 1.0 {
                // As in XGBoost, unsampled rows keep their place but weigh nothing.
                sample_rows(&mut rng, n, sampled_rows, &mut mask);
                for (gradient, &keep) in gradients.iter_mut().zip(&mask) {
                    if !keep {
                        *gradient = [0.0, 0.0];
                    }
                }
            }
            rows.clear();
            rows.extend(0..n as u32);
            train_tree(&binned, &gradients, &mut rows, &columns, settings, &histograms)
        });
        for (range, value) in &grown.leaves {
            for &row in &rows[range.clone()] {
                train_eval.margins[row as usize] += value;
            }
        }
        let valid_value = match &mut valid_eval {
            Some(valid_eval) => {
                let single = Ensemble {
                    schema: train.schema.clone(),
                    objective: p.objective,
                    base_score: 0.0,
                    trees: vec![grown.tree.clone()],
                };
                valid_eval.add_tree(&Predictor::new(single)?)?;
                Some(valid_eval.score()?)
            }
            None => None,
        };
        let train_value = if p.eval_train { Some(train_eval.score()?) } else { None };
        let metrics = RoundMetrics { round, train: train_value, valid: valid_value };
        on_round(round, &metrics);
        history.push(metrics);
        trees.push(grown.tree);
        tree_splits.push(grown.splits);
        if valid_value.is_some_and(|value| stopping.update(round, value)) {
            break;
        }
    }

    let best_round = valid.and_then(|_| stopping.best_round());
    if let (Some(_), Some(best)) = (p.early_stopping_rounds, best_round) {
        trees.truncate(best + 1);
    }
    let importance = FeatureImportance::from_splits(width, tree_splits.iter().take(trees.len()).flatten());
    let ensemble = Ensemble { schema: train.schema.clone(), objective: p.objective, base_score: base, trees };
    Ok(TrainOutput { ensemble, importance, history, best_round })
}

/// A table's running margins and its metric.
struct Evaluator<'a> {
    metric: Metric,
    objective: Objective,
    table: &'a Table,
    groups: Option<Vec<std::ops::Range<usize>>>,
    margins: Vec<f32>,
    scratch: Vec<f32>,
}

impl<'a> Evaluator<'a> {
    fn new(metric: Metric, objective: Objective, table: &'a Table, base: f32) -> Self {
        let margins = vec![base; table.rows()];
        Evaluator { metric, objective, table, groups: table.group_ranges(), margins, scratch: Vec::new() }
    }

    /// Adds one tree's output (a predictor over that tree alone, base 0) to the margins.
    fn add_tree(&mut self, tree: &Predictor) -> Result<(), TrainError> {
        self.scratch.resize(self.table.rows(), 0.0);
        tree.predict_margins(&self.table.features, &mut self.scratch)?;
        for (margin, add) in self.margins.iter_mut().zip(&self.scratch) {
            *margin += add;
        }
        Ok(())
    }

    fn score(&mut self) -> Result<f32, TrainError> {
        self.scratch.clear();
        self.scratch.extend(self.margins.iter().map(|&margin| transform(self.objective, margin)));
        compute(self.metric, &self.scratch, &self.table.labels, self.groups.as_deref())
    }
}

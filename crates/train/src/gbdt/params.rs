//! Training parameters, checked once into [`ValidParams`] so that the trainer never meets
//! an out-of-range value.

use marquee_model::gbdt::Objective;
use serde::{Deserialize, Serialize};

use super::metrics::Metric;
use crate::validate::{invalid, non_negative, positive, Validate};
use crate::TrainError;

/// How to train a gradient-boosted ensemble. Names and defaults follow XGBoost's `hist`
/// tree method so that tuned settings carry over.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TrainParams {
    /// The loss to minimise and what predictions mean.
    pub objective: Objective,
    /// How many boosting rounds (one tree each) to run.
    pub rounds: u32,
    /// The shrinkage applied to every leaf weight (XGBoost's `eta`).
    pub learning_rate: f32,
    /// The deepest a tree may grow (the root is depth 0). 0 means unlimited and is only
    /// allowed with loss-guided growth (`max_leaves > 0`).
    pub max_depth: u32,
    /// 0 grows trees depth-wise. Above 0, trees grow best-first (the leaf with the largest
    /// gain splits next) until they have this many leaves, still respecting `max_depth`.
    pub max_leaves: u32,
    /// L2 regularisation of leaf weights.
    pub lambda: f32,
    /// L1 regularisation of leaf weights.
    pub alpha: f32,
    /// The least hessian sum each child of a split must keep.
    pub min_child_weight: f32,
    /// The least loss reduction a split must bring (XGBoost's `min_split_loss`).
    pub gamma: f32,
    /// The fraction of rows each tree sees, drawn without replacement, in (0, 1].
    pub subsample: f32,
    /// The fraction of features each tree may split on, in (0, 1].
    pub colsample: f32,
    /// The most histogram bins per feature, 2 to 256. One byte code is reserved for
    /// missing values, so at most 255 bins hold values.
    pub max_bin: u32,
    /// The starting prediction (a probability for logistic). `None` estimates it like
    /// XGBoost 2.x: the label mean for squared error, logit of the positive rate for
    /// logistic, 0 for ranking.
    pub base_score: Option<f32>,
    /// Worker threads; 0 uses every core.
    pub threads: usize,
    /// Seeds row and column subsampling and the quantile sketch's row sample.
    pub seed: u64,
    /// Stop after this many rounds without improvement of the validation metric.
    pub early_stopping_rounds: Option<u32>,
    /// The metric reported each round and watched by early stopping. `None` picks RMSE for
    /// squared error, log loss for logistic and NDCG@`ndcg_k` for ranking.
    pub eval_metric: Option<Metric>,
    /// The cut-off of the default ranking metric.
    pub ndcg_k: u32,
    /// Also score the training table every round (into `RoundMetrics::train`). Off by
    /// default, as in XGBoost without a training eval set: on a million rows it costs a pass
    /// of log or sigmoid per round.
    pub eval_train: bool,
}

impl Default for TrainParams {
    fn default() -> Self {
        TrainParams {
            objective: Objective::SquaredError,
            rounds: 100,
            learning_rate: 0.3,
            max_depth: 6,
            max_leaves: 0,
            lambda: 1.0,
            alpha: 0.0,
            min_child_weight: 1.0,
            gamma: 0.0,
            subsample: 1.0,
            colsample: 1.0,
            max_bin: 256,
            base_score: None,
            threads: 0,
            seed: 0,
            early_stopping_rounds: None,
            eval_metric: None,
            ndcg_k: 10,
            eval_train: false,
        }
    }
}

/// Parameters that passed [`Validate::validate`]; the only kind [`super::train`] accepts.
#[derive(Clone, Debug, PartialEq)]
pub struct ValidParams {
    params: TrainParams,
    metric: Metric,
}

impl ValidParams {
    /// The checked parameters.
    pub fn params(&self) -> &TrainParams {
        &self.params
    }

    /// The evaluation metric, with the objective's default filled in.
    pub fn metric(&self) -> Metric {
        self.metric
    }
}

/// Accepts a sampled share in `(0, 1]`.
fn fraction(name: &'static str, value: f32) -> Result<(), TrainError> {
    if value > 0.0 && value <= 1.0 {
        Ok(())
    } else {
        Err(invalid(name, format!("must be in (0, 1], got {value}")))
    }
}

impl Validate for TrainParams {
    type Valid = ValidParams;

    /// Checks every parameter and resolves the default metric.
    fn validate(self) -> Result<ValidParams, TrainError> {
        if self.rounds == 0 {
            return Err(invalid("rounds", "must be at least 1"));
        }
        positive("learning_rate", self.learning_rate)?;
        if self.max_depth == 0 && self.max_leaves == 0 {
            return Err(invalid("max_depth", "0 (unlimited) needs loss-guided growth (max_leaves > 0)"));
        }
        if self.max_depth > 64 {
            return Err(invalid("max_depth", format!("must be at most 64, got {}", self.max_depth)));
        }
        if self.max_leaves == 1 {
            return Err(invalid("max_leaves", "must be 0 (depth-wise growth) or at least 2"));
        }
        non_negative("lambda", self.lambda)?;
        non_negative("alpha", self.alpha)?;
        non_negative("min_child_weight", self.min_child_weight)?;
        non_negative("gamma", self.gamma)?;
        fraction("subsample", self.subsample)?;
        fraction("colsample", self.colsample)?;
        if !(2..=256).contains(&self.max_bin) {
            return Err(invalid("max_bin", format!("must be between 2 and 256, got {}", self.max_bin)));
        }
        if let Some(base) = self.base_score {
            let ok = match self.objective {
                // A probability: its logit must be finite.
                Objective::Logistic => base > 0.0 && base < 1.0,
                _ => base.is_finite(),
            };
            if !ok {
                return Err(invalid("base_score", format!("{base} is not a valid starting prediction")));
            }
        }
        if self.early_stopping_rounds == Some(0) {
            return Err(invalid("early_stopping_rounds", "must be at least 1"));
        }
        if self.ndcg_k == 0 {
            return Err(invalid("ndcg_k", "must be at least 1"));
        }
        let metric = self.eval_metric.unwrap_or(match self.objective {
            Objective::SquaredError => Metric::Rmse,
            Objective::Logistic => Metric::LogLoss,
            Objective::RankPairwise | Objective::RankNdcg => Metric::Ndcg(self.ndcg_k),
        });
        match metric {
            Metric::Ndcg(0) => return Err(invalid("eval_metric", "ndcg@0 is empty")),
            // Log loss reads predictions as probabilities, which only logistic produces.
            Metric::LogLoss if self.objective != Objective::Logistic => {
                return Err(invalid("eval_metric", "logloss needs the logistic objective"))
            }
            _ => {}
        }
        Ok(ValidParams { params: self, metric })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rejects(params: TrainParams, name: &str) {
        match params.validate() {
            Err(TrainError::InvalidParam { name: got, .. }) => assert_eq!(got, name),
            other => panic!("expected {name} to be rejected, got {other:?}"),
        }
    }

    #[test]
    fn defaults_are_valid_and_pick_the_objectives_metric() {
        assert_eq!(TrainParams::default().validate().unwrap().metric(), Metric::Rmse);
        let logistic = TrainParams { objective: Objective::Logistic, ..TrainParams::default() };
        assert_eq!(logistic.validate().unwrap().metric(), Metric::LogLoss);
        let rank = TrainParams { objective: Objective::RankNdcg, ndcg_k: 5, ..TrainParams::default() };
        assert_eq!(rank.validate().unwrap().metric(), Metric::Ndcg(5));
    }

    #[test]
    fn out_of_range_parameters_are_rejected() {
        let d = TrainParams::default;
        rejects(TrainParams { rounds: 0, ..d() }, "rounds");
        rejects(TrainParams { learning_rate: 0.0, ..d() }, "learning_rate");
        rejects(TrainParams { learning_rate: f32::NAN, ..d() }, "learning_rate");
        rejects(TrainParams { max_depth: 0, ..d() }, "max_depth");
        rejects(TrainParams { max_leaves: 1, ..d() }, "max_leaves");
        rejects(TrainParams { lambda: -1.0, ..d() }, "lambda");
        rejects(TrainParams { alpha: f32::INFINITY, ..d() }, "alpha");
        rejects(TrainParams { min_child_weight: f32::NAN, ..d() }, "min_child_weight");
        rejects(TrainParams { gamma: -0.1, ..d() }, "gamma");
        rejects(TrainParams { subsample: 0.0, ..d() }, "subsample");
        rejects(TrainParams { colsample: 1.5, ..d() }, "colsample");
        rejects(TrainParams { max_bin: 1, ..d() }, "max_bin");
        rejects(TrainParams { max_bin: 257, ..d() }, "max_bin");
        rejects(TrainParams { objective: Objective::Logistic, base_score: Some(1.0), ..d() }, "base_score");
        rejects(TrainParams { base_score: Some(f32::NAN), ..d() }, "base_score");
        rejects(TrainParams { early_stopping_rounds: Some(0), ..d() }, "early_stopping_rounds");
        rejects(TrainParams { ndcg_k: 0, ..d() }, "ndcg_k");
        rejects(TrainParams { eval_metric: Some(Metric::LogLoss), ..d() }, "eval_metric");
        rejects(TrainParams { eval_metric: Some(Metric::Ndcg(0)), ..d() }, "eval_metric");
        assert!(TrainParams { max_depth: 0, max_leaves: 8, ..d() }.validate().is_ok());
    }
}

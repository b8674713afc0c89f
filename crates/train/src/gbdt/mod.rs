//! Gradient-boosted decision trees, trained the way XGBoost's `hist` tree method does.
//!
//! One file per step of the algorithm: `table` (the input), `params` (checked once),
//! `bin_features` (quantile bins, one byte per value), `objective` (gradients and
//! hessians), `sample` (row and column subsampling), `build_histograms`,
//! `choose_best_split`, `partition_rows`, `train_tree` (growth of one tree), `booster`
//! (one round's tree), `evaluator` (running margins and metrics), `metrics`,
//! `early_stopping`, `feature_importance` and `train` (the boosting loop). The output is a
//! [`marquee_model::gbdt::Ensemble`] that the model crate serves.

mod bin_features;
mod booster;
mod build_histograms;
mod choose_best_split;
mod early_stopping;
mod evaluator;
mod feature_importance;
mod metrics;
mod objective;
mod params;
mod partition_rows;
mod sample;
mod table;
mod train;
mod train_tree;

pub use feature_importance::FeatureImportance;
pub use marquee_model::gbdt::{Ensemble, Feature, FeatureKind, FeatureSchema, Objective};
pub use metrics::{evaluate, Metric};
pub use params::{TrainParams, ValidParams};
pub use table::Table;
pub use train::{train, RoundMetrics, TrainOutput};

#[cfg(test)]
mod tests;

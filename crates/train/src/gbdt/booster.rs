//! One boosting round's tree: gradients at the current margins, row and column
//! subsampling, then the growth of one tree.

use super::bin_features::BinnedTable;
use super::build_histograms::HistogramPool;
use super::choose_best_split::SplitParams;
use super::objective::{compute_gradients, GradHess};
use super::params::TrainParams;
use super::sample::{sample_columns, sample_rows, SplitMix64};
use super::table::Table;
use super::train_tree::{train_tree, GrownTree, TreeSettings};

/// What every round reuses: the sampling generator, the gradient and row buffers and the
/// histogram pool, so that a round allocates nothing it can borrow.
pub(crate) struct Booster<'a> {
    params: &'a TrainParams,
    table: &'a Table,
    groups: Vec<std::ops::Range<usize>>,
    settings: TreeSettings,
    rng: SplitMix64,
    all_columns: Vec<usize>,
    sampled_rows: usize,
    sampled_columns: usize,
    gradients: Vec<GradHess>,
    mask: Vec<bool>,
    rows: Vec<u32>,
    histograms: HistogramPool,
}

impl<'a> Booster<'a> {
    /// Ready to boost on `table` (checked, with at least one row).
    pub(crate) fn new(table: &'a Table, params: &'a TrainParams) -> Self {
        let (n, width) = (table.rows(), table.schema.len());
        Booster {
            params,
            table,
            groups: table.group_ranges().unwrap_or_default(),
            settings: tree_settings(params),
            rng: SplitMix64::new(params.seed),
            all_columns: (0..width).collect(),
            sampled_rows: ((n as f64 * f64::from(params.subsample)).round() as usize).max(1),
            sampled_columns: ((width as f64 * f64::from(params.colsample)).round() as usize).max(1),
            gradients: vec![[0.0; 2]; n],
            mask: Vec::new(),
            rows: Vec::with_capacity(n),
            histograms: HistogramPool::default(),
        }
    }

    /// Grows the next tree on the gradients at `margins`, on `pool`'s threads.
    pub(crate) fn grow_tree(&mut self, pool: &rayon::ThreadPool, binned: &BinnedTable, margins: &[f32]) -> GrownTree {
        let p = self.params;
        let (n, width) = (self.table.rows(), self.table.schema.len());
        // Columns are drawn before rows: the generator's order is part of the result.
        let columns = if p.colsample < 1.0 {
            sample_columns(&mut self.rng, width, self.sampled_columns)
        } else {
            self.all_columns.clone()
        };
        let Booster { table, groups, settings, rng, sampled_rows, gradients, mask, rows, histograms, .. } = self;
        pool.install(|| {
            compute_gradients(p.objective, margins, &table.labels, groups, gradients);
            if p.subsample < 1.0 {
                // As in XGBoost, unsampled rows keep their place but weigh nothing.
                sample_rows(rng, n, *sampled_rows, mask);
                for (gradient, &keep) in gradients.iter_mut().zip(mask.iter()) {
                    if !keep {
                        *gradient = [0.0, 0.0];
                    }
                }
            }
            rows.clear();
            rows.extend(0..n as u32);
            train_tree(binned, gradients, rows, &columns, *settings, histograms)
        })
    }

    /// The row-index array the last tree's leaf ranges point into.
    pub(crate) fn rows(&self) -> &[u32] {
        &self.rows
    }
}

/// How every tree of the run grows, from the checked parameters.
fn tree_settings(p: &TrainParams) -> TreeSettings {
    TreeSettings {
        split: SplitParams {
            lambda: f64::from(p.lambda),
            alpha: f64::from(p.alpha),
            gamma: f64::from(p.gamma),
            min_child_weight: f64::from(p.min_child_weight),
        },
        learning_rate: f64::from(p.learning_rate),
        max_depth: p.max_depth,
        max_leaves: p.max_leaves,
    }
}

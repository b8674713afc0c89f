//! A table's running margins and its metric, updated once per boosting round.

use std::ops::Range;

use rayon::prelude::*;

use marquee_model::gbdt::{Ensemble, Objective, Predictor, Tree};

use super::metrics::{compute, Metric};
use super::objective::transform;
use super::table::Table;
use crate::TrainError;

/// A table's running margins and its metric.
pub(crate) struct Evaluator<'a> {
    metric: Metric,
    objective: Objective,
    table: &'a Table,
    groups: Option<Vec<Range<usize>>>,
    /// Each row's margin: the base margin plus every tree so far.
    pub(crate) margins: Vec<f32>,
    scratch: Vec<f32>,
}

impl<'a> Evaluator<'a> {
    pub(crate) fn new(metric: Metric, objective: Objective, table: &'a Table, base: f32) -> Self {
        let margins = vec![base; table.rows()];
        Evaluator { metric, objective, table, groups: table.group_ranges(), margins, scratch: Vec::new() }
    }

    /// Adds a tree grown on this table: each leaf's value to the rows it holds (`rows` is
    /// the row-index array the leaf ranges point into), without walking the tree.
    ///
    /// Runs on the current rayon pool: each task owns a block of margins and takes, from
    /// every leaf, the rows inside its block (a leaf's rows are increasing, so two binary
    /// searches find them). Every margin gets exactly its one leaf's value, so the result
    /// does not depend on the blocks.
    pub(crate) fn add_leaves(&mut self, leaves: &[(Range<usize>, f32)], rows: &[u32]) {
        const BLOCK_ROWS: usize = 16 * 1024;
        self.margins.par_chunks_mut(BLOCK_ROWS).enumerate().for_each(|(block, margins)| {
            let first = (block * BLOCK_ROWS) as u32;
            let end = first.saturating_add(margins.len() as u32);
            for (range, value) in leaves {
                let leaf = rows.get(range.clone()).unwrap_or_default();
                let inside = leaf.partition_point(|&row| row < first)..leaf.partition_point(|&row| row < end);
                for &row in leaf.get(inside).unwrap_or_default() {
                    if let Some(margin) = margins.get_mut((row - first) as usize) {
                        *margin += value;
                    }
                }
            }
        });
    }

    /// Adds a tree grown on another table, by predicting every row with it.
    pub(crate) fn add_tree(&mut self, tree: &Tree) -> Result<(), TrainError> {
        let single = Ensemble {
            schema: self.table.schema.clone(),
            objective: self.objective,
            base_score: 0.0,
            trees: vec![tree.clone()],
        };
        let predictor = Predictor::new(single)?;
        self.scratch.resize(self.table.rows(), 0.0);
        predictor.predict_margins(&self.table.features, &mut self.scratch)?;
        for (margin, add) in self.margins.iter_mut().zip(&self.scratch) {
            *margin += add;
        }
        Ok(())
    }

    /// The metric at the current margins.
    pub(crate) fn score(&mut self) -> Result<f32, TrainError> {
        self.scratch.clear();
        self.scratch.extend(self.margins.iter().map(|&margin| transform(self.objective, margin)));
        compute(self.metric, &self.scratch, &self.table.labels, self.groups.as_deref())
    }
}

//! Inference: a validated, compiled ensemble that scores rows one at a time or in batches.

use super::compile::{FlatForest, BLOCK};
use super::{validate, Ensemble, FeatureSchema, Objective};
use crate::sigmoid::sigmoid;
use crate::ModelError;

/// A validated ensemble compiled for fast inference.
///
/// Every prediction is a pure function of the model and the row, and is bit-identical on
/// every target: leaves are summed in f32 in tree order after the base score, and the
/// sigmoid is [`crate::sigmoid::sigmoid`].
#[derive(Clone, Debug, PartialEq)]
pub struct Predictor {
    ensemble: Ensemble,
    forest: FlatForest,
}

impl Predictor {
    /// Validates `ensemble` (see [`validate`]) and compiles it.
    pub fn new(ensemble: Ensemble) -> Result<Predictor, ModelError> {
        validate(&ensemble)?;
        let forest = FlatForest::compile(&ensemble)?;
        Ok(Predictor { ensemble, forest })
    }

    /// Loads a model blob (see [`Ensemble::from_blob`]) and compiles it.
    pub fn from_blob(bytes: &[u8]) -> Result<Predictor, ModelError> {
        Predictor::new(Ensemble::from_blob(bytes)?)
    }

    /// The ensemble this predictor was built from.
    pub fn ensemble(&self) -> &Ensemble {
        &self.ensemble
    }

    /// Gives back the ensemble this predictor was built from.
    pub fn into_ensemble(self) -> Ensemble {
        self.ensemble
    }

    /// How many values a row must have.
    pub fn num_features(&self) -> usize {
        self.forest.num_features
    }

    /// How margins become predictions.
    pub fn objective(&self) -> Objective {
        self.ensemble.objective
    }

    /// The columns a row holds, in order.
    pub fn schema(&self) -> &FeatureSchema {
        &self.ensemble.schema
    }

    pub(crate) fn forest(&self) -> &FlatForest {
        &self.forest
    }

    /// The raw score: base score plus every tree's leaf, summed in f32 in tree order.
    ///
    /// NaN means missing. The row must have one value per schema feature.
    pub fn predict_margin(&self, row: &[f32]) -> Result<f32, ModelError> {
        self.check_row(row)?;
        let mut margin = self.forest.base_score;
        for tree in &self.forest.trees {
            margin += self.forest.sparse_leaf(tree, row);
        }
        Ok(margin)
    }

    /// The prediction: the margin through the objective's link (sigmoid for
    /// [`Objective::Logistic`], the margin itself otherwise).
    pub fn predict(&self, row: &[f32]) -> Result<f32, ModelError> {
        Ok(self.link(self.predict_margin(row)?))
    }

    /// Margins of row-major `rows` (`out.len()` rows of [`Self::num_features`] values) into
    /// `out`, bit-identical to [`Self::predict_margin`] row by row. Allocates one scratch
    /// buffer per call (64 rows' worth), nothing per row.
    pub fn predict_margins(&self, rows: &[f32], out: &mut [f32]) -> Result<(), ModelError> {
        let width = self.num_features();
        let expected = out.len().saturating_mul(width);
        if rows.len() != expected {
            return Err(ModelError::LengthMismatch { what: "rows", expected, got: rows.len() });
        }
        if width == 0 {
            // No features: every tree is a lone leaf, and every row is the empty row.
            let margin = self.predict_margin(&[])?;
            out.fill(margin);
            return Ok(());
        }
        // One scratch buffer per call (none per row): a block's rows, doubled, column-major.
        let mut columns = vec![0.0; self.forest.columns_len()];
        for (block, margins) in rows.chunks(BLOCK * width).zip(out.chunks_mut(BLOCK)) {
            self.block_margins(block, &mut columns, margins);
        }
        Ok(())
    }

    /// Predictions of row-major `rows` into `out`, bit-identical to [`Self::predict`] row by
    /// row. Allocates like [`Self::predict_margins`].
    pub fn predict_batch(&self, rows: &[f32], out: &mut [f32]) -> Result<(), ModelError> {
        self.predict_margins(rows, out)?;
        if self.ensemble.objective == Objective::Logistic {
            for value in out.iter_mut() {
                *value = sigmoid(*value);
            }
        }
        Ok(())
    }

    /// The objective's link applied to a margin.
    fn link(&self, margin: f32) -> f32 {
        match self.ensemble.objective {
            Objective::Logistic => sigmoid(margin),
            Objective::SquaredError | Objective::RankPairwise | Objective::RankNdcg => margin,
        }
    }

    pub(crate) fn check_row(&self, row: &[f32]) -> Result<(), ModelError> {
        if row.len() != self.num_features() {
            return Err(ModelError::RowLength { expected: self.num_features(), got: row.len() });
        }
        Ok(())
    }

    /// Margins of up to [`BLOCK`] rows: every tree passes over the whole block (walking its
    /// rows in lockstep), adding its leaf to each row's sum in turn, so each row still sums
    /// in tree order.
    fn block_margins(&self, rows: &[f32], columns: &mut [f32], margins: &mut [f32]) {
        let width = self.num_features();
        let forest = &self.forest;
        forest.fill_columns(rows, columns);
        margins.fill(forest.base_score);
        for tree in &forest.trees {
            if tree.dense {
                forest.add_dense(tree, columns, margins);
            } else {
                for (margin, row) in margins.iter_mut().zip(rows.chunks_exact(width)) {
                    *margin += forest.sparse_leaf(tree, row);
                }
            }
        }
    }
}

#[cfg(all(test, target_arch = "wasm32"))]
mod browser_tests {
    use wasm_bindgen_test::*;

    use super::Predictor;
    use crate::gbdt::{Ensemble, Feature, FeatureKind, FeatureSchema, Node, Objective, Tree};

    wasm_bindgen_test_configure!(run_in_browser);

    #[wasm_bindgen_test]
    fn predicts_a_hand_built_ensemble_in_the_browser() {
        let mut schema = FeatureSchema::numeric(["age"]);
        schema.features.push(Feature { name: "genre".into(), kind: FeatureKind::Categorical { categories: 4 } });
        let split = |feature, value, categorical| Node {
            feature,
            value,
            left: 1,
            right: 2,
            default_left: true,
            categorical,
            cover: 2.0,
        };
        let ensemble = Ensemble {
            schema,
            objective: Objective::Logistic,
            base_score: 0.5,
            trees: vec![
                Tree {
                    nodes: vec![split(0, 30.0, false), Node::leaf(1.0, 1.0), Node::leaf(-1.0, 1.0)],
                    category_sets: vec![],
                },
                Tree {
                    nodes: vec![split(1, 0.0, true), Node::leaf(0.25, 1.0), Node::leaf(0.0, 1.0)],
                    category_sets: vec![vec![2]],
                },
            ],
        };
        let predictor = Predictor::new(ensemble).unwrap();
        assert_eq!(predictor.predict_margin(&[20.0, 2.0]).unwrap(), 1.75);
        assert_eq!(predictor.predict_margin(&[f32::NAN, f32::NAN]).unwrap(), 1.75);
        assert_eq!(predictor.predict_margin(&[40.0, 1.0]).unwrap(), -0.5);
        // sigmoid(1.75), pinned bit for bit from a native run.
        assert_eq!(predictor.predict(&[20.0, 2.0]).unwrap().to_bits(), 0x3f5a_1994);
        let mut out = [0.0; 3];
        predictor.predict_margins(&[20.0, 2.0, f32::NAN, f32::NAN, 40.0, 1.0], &mut out).unwrap();
        assert_eq!(out, [1.75, 1.75, -0.5]);
        let mut contributions = [0.0; 3];
        predictor.contributions(&[20.0, 2.0], &mut contributions).unwrap();
        assert!((contributions.iter().sum::<f32>() - 1.75).abs() < 1e-5);
    }
}

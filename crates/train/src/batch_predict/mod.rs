//! Scoring large batches natively: sixteen rows per instruction with AVX-512 where the CPU
//! has it and the ensemble allows it, and over several threads. The model crate stays
//! portable, single-threaded and free of `unsafe` (it must run in workerd and the browser);
//! the trainer, the evaluator and the CLI score their batches out here, with exactly the
//! values [`Predictor::predict_batch`] gives.
//!
//! * [`sixteen_lane_forest`]: the layout the walk reads (trees padded to six levels, three
//!   64-entry tables each) and the block's columns.
//! * [`walk_avx512`]: the walk itself.

mod sixteen_lane_forest;
#[cfg(target_arch = "x86_64")]
mod walk_avx512;

use marquee_model::gbdt::{Objective, Predictor};
use marquee_model::{sigmoid, ModelError};
use rayon::prelude::*;

use sixteen_lane_forest::{SixteenLaneForest, BLOCK};

/// Rows per task of [`BatchPredictor::predict_batch_parallel`]: enough work to amortise a
/// task, small enough to balance two cores on a batch of a thousand rows; whole blocks.
const ROWS_PER_TASK: usize = 2 * BLOCK;

/// Which loop scores a [`BatchPredictor`]'s batches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BatchEngine {
    /// Sixteen rows per instruction with AVX-512 ([`walk_avx512`]).
    SixteenLaneAvx512,
    /// The model crate's portable batch walk, as in the Worker and the browser: the CPU
    /// lacks AVX-512F, or the ensemble has a categorical split, a tree deeper than six
    /// levels, no features or more than 32,768.
    Portable,
}

impl std::fmt::Display for BatchEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            BatchEngine::SixteenLaneAvx512 => "AVX-512, 16 rows per instruction",
            BatchEngine::Portable => "portable (the model crate's batch walk)",
        })
    }
}

/// A predictor with the fastest native batch loop this CPU and ensemble allow.
#[derive(Clone, Debug)]
pub struct BatchPredictor {
    predictor: Predictor,
    /// The sixteen-lane layout, when the walk can run here.
    sixteen_lanes: Option<SixteenLaneForest>,
}

impl BatchPredictor {
    /// Compiles the sixteen-lane layout when the CPU has AVX-512F and the ensemble fits it.
    pub fn new(predictor: Predictor) -> BatchPredictor {
        let sixteen_lanes = if avx512_available() { SixteenLaneForest::compile(predictor.ensemble()) } else { None };
        BatchPredictor { predictor, sixteen_lanes }
    }

    /// The loop that scores batches.
    pub fn engine(&self) -> BatchEngine {
        if self.sixteen_lanes.is_some() {
            BatchEngine::SixteenLaneAvx512
        } else {
            BatchEngine::Portable
        }
    }

    /// Predictions of row-major `rows` into `out` on this thread, bit-identical to
    /// [`Predictor::predict_batch`]. Allocates one block's columns per call.
    pub fn predict_batch(&self, rows: &[f32], out: &mut [f32]) -> Result<(), ModelError> {
        let Some(forest) = &self.sixteen_lanes else {
            return self.predictor.predict_batch(rows, out);
        };
        self.check_rows(rows, out)?;
        let width = forest.num_features();
        let mut columns = vec![0.0; forest.columns_len()];
        for (block, out) in rows.chunks(BLOCK * width).zip(out.chunks_mut(BLOCK)) {
            forest.fill_columns(block, &mut columns);
            let mut margins = [forest.base_score; BLOCK];
            add_trees(forest, &columns, &mut margins);
            out.copy_from_slice(&margins[..out.len()]);
        }
        if self.predictor.objective() == Objective::Logistic {
            for value in out.iter_mut() {
                *value = sigmoid(*value);
            }
        }
        Ok(())
    }

    /// [`Self::predict_batch`] split over the current rayon pool, with the same values.
    pub fn predict_batch_parallel(&self, rows: &[f32], out: &mut [f32]) -> Result<(), ModelError> {
        // Checked whole: chunks of a short batch would each look fine but one.
        self.check_rows(rows, out)?;
        let width = self.predictor.num_features();
        rows.par_chunks(ROWS_PER_TASK * width.max(1))
            .zip(out.par_chunks_mut(ROWS_PER_TASK))
            .try_for_each(|(rows, out)| self.predict_batch(rows, out))
    }

    /// The error [`Predictor::predict_batch`] gives when `rows` is not `out.len()` rows.
    fn check_rows(&self, rows: &[f32], out: &[f32]) -> Result<(), ModelError> {
        let expected = out.len().saturating_mul(self.predictor.num_features());
        if rows.len() != expected {
            return Err(ModelError::LengthMismatch { what: "rows", expected, got: rows.len() });
        }
        Ok(())
    }
}

/// Whether the sixteen-lane walk can run on this CPU.
fn avx512_available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512f")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Adds every tree's leaf to a block's margins with the sixteen-lane walk.
fn add_trees(forest: &SixteenLaneForest, columns: &[f32], margins: &mut [f32; BLOCK]) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a `SixteenLaneForest` is only compiled after `avx512_available()`.
    unsafe {
        walk_avx512::add_trees(forest, columns, margins)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (forest, columns, margins);
        unreachable!("no sixteen-lane layout is compiled off x86_64")
    }
}

#[cfg(test)]
mod tests {
    use super::sixteen_lane_forest::{MAX_FEATURES, SLOTS};
    use super::*;
    use marquee_model::gbdt::{Ensemble, FeatureSchema, Node, Tree};
    use marquee_model::random::SplitMix64;

    /// Values rows and thresholds share, so that rows land exactly on thresholds.
    const GRID: [f32; 8] = [-1.5, -0.25, 0.0, 0.5, 0.75, 1.0, 2.5, 4.0];

    /// A random numeric ensemble with trees up to `depth` deep (shallow leaves included),
    /// thresholds on [`GRID`], random missing-value directions.
    fn random_ensemble(seed: u64, features: usize, trees: usize, depth: u32, objective: Objective) -> Ensemble {
        let mut rng = SplitMix64::new(seed);
        let mut built = Vec::with_capacity(trees);
        for _ in 0..trees {
            let mut tree = Tree { nodes: vec![Node::leaf(0.0, 1.0)], category_sets: Vec::new() };
            let mut queue = std::collections::VecDeque::from([(0usize, 0u32)]);
            while let Some((at, level)) = queue.pop_front() {
                if level == depth || (level > 0 && rng.below(5) == 0) {
                    tree.nodes[at].value = (rng.unit() as f32 - 0.5) * 0.3;
                    continue;
                }
                let left = tree.nodes.len() as u32;
                tree.nodes[at] = Node {
                    feature: rng.below(features) as u32,
                    value: GRID[rng.below(GRID.len())],
                    left,
                    right: left + 1,
                    default_left: rng.below(2) == 0,
                    categorical: false,
                    cover: 1.0,
                };
                tree.nodes.extend([Node::leaf(0.0, 1.0), Node::leaf(0.0, 1.0)]);
                queue.extend([(left as usize, level + 1), (left as usize + 1, level + 1)]);
            }
            built.push(tree);
        }
        let names: Vec<String> = (0..features).map(|i| format!("x{i}")).collect();
        Ensemble { schema: FeatureSchema::numeric(names), objective, base_score: 0.125, trees: built }
    }

    /// Rows on [`GRID`] with NaN, infinities and values between grid points mixed in.
    fn random_rows(seed: u64, features: usize, rows: usize) -> Vec<f32> {
        let mut rng = SplitMix64::new(seed);
        (0..rows * features)
            .map(|_| match rng.below(12) {
                0 => f32::NAN,
                1 => f32::INFINITY,
                2 => f32::NEG_INFINITY,
                3 => rng.unit() as f32 * 5.0 - 2.0,
                _ => GRID[rng.below(GRID.len())],
            })
            .collect()
    }

    fn bits(values: &[f32]) -> Vec<u32> {
        values.iter().map(|v| v.to_bits()).collect()
    }

    #[test]
    fn trees_pad_to_six_levels_and_what_the_walk_cannot_take_does_not_compile() {
        let lone = Tree { nodes: vec![Node::leaf(0.5, 1.0)], category_sets: Vec::new() };
        let mut ensemble = random_ensemble(1, 3, 1, 6, Objective::SquaredError);
        ensemble.trees.push(lone);
        let forest = SixteenLaneForest::compile(&ensemble).expect("numeric trees six deep compile");
        assert_eq!(forest.trees[1].leaves, [0.5; SLOTS], "a lone leaf fills every leaf slot");

        let deeper = random_ensemble(2, 3, 1, 7, Objective::SquaredError);
        assert!(deeper.trees[0].nodes.len() > 64, "the generator grew past six levels");
        assert_eq!(SixteenLaneForest::compile(&deeper), None);
        let mut categorical = random_ensemble(3, 3, 2, 3, Objective::SquaredError);
        categorical.trees[1].nodes[0].categorical = true;
        assert_eq!(SixteenLaneForest::compile(&categorical), None);
        let mut infinite = random_ensemble(4, 3, 1, 2, Objective::SquaredError);
        infinite.trees[0].nodes[0].value = f32::INFINITY;
        assert_eq!(SixteenLaneForest::compile(&infinite), None);
        let wide = random_ensemble(5, MAX_FEATURES + 1, 1, 2, Objective::SquaredError);
        assert_eq!(SixteenLaneForest::compile(&wide), None);
        let widest = random_ensemble(5, MAX_FEATURES, 1, 2, Objective::SquaredError);
        assert!(SixteenLaneForest::compile(&widest).is_some());
    }

    #[test]
    fn the_layout_walked_one_lane_at_a_time_gives_the_predictors_margins() {
        for (seed, features, depth) in [(10, 1, 6), (11, 5, 6), (12, 29, 4), (13, 7, 1)] {
            let ensemble = random_ensemble(seed, features, 40, depth, Objective::SquaredError);
            let forest = SixteenLaneForest::compile(&ensemble).unwrap();
            let predictor = Predictor::new(ensemble).unwrap();
            for rows in [1, 17, BLOCK] {
                let values = random_rows(seed + 100, features, rows);
                let mut expected = vec![0.0; rows];
                predictor.predict_margins(&values, &mut expected).unwrap();
                let mut columns = vec![f32::NAN; forest.columns_len()];
                forest.fill_columns(&values, &mut columns);
                let mut margins = [forest.base_score; BLOCK];
                forest.add_trees_one_lane_at_a_time(&columns, &mut margins);
                assert_eq!(bits(&margins[..rows]), bits(&expected), "seed {seed}, {rows} rows");
            }
        }
    }

    #[test]
    fn batches_give_the_predictors_values_bit_for_bit_at_every_length() {
        if !avx512_available() {
            eprintln!("this CPU has no AVX-512F: the batch predictor is the portable one, checked below");
        }
        for (seed, features, objective) in [(20, 29, Objective::SquaredError), (21, 3, Objective::Logistic)] {
            let ensemble = random_ensemble(seed, features, 60, 6, objective);
            let predictor = Predictor::new(ensemble).unwrap();
            let batch = BatchPredictor::new(predictor.clone());
            assert_eq!(batch.engine() == BatchEngine::SixteenLaneAvx512, avx512_available());
            let values = random_rows(seed + 100, features, 1000);
            let mut expected = vec![0.0; 1000];
            predictor.predict_batch(&values, &mut expected).unwrap();
            for rows in (0..=130).chain([1000]) {
                let mut out = vec![f32::NAN; rows];
                batch.predict_batch(&values[..rows * features], &mut out).unwrap();
                assert_eq!(bits(&out), bits(&expected[..rows]), "seed {seed}, {rows} rows");
            }
            let pool = rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap();
            let mut parallel = vec![f32::NAN; 1000];
            pool.install(|| batch.predict_batch_parallel(&values, &mut parallel)).unwrap();
            assert_eq!(bits(&parallel), bits(&expected));
            assert!(batch.predict_batch(&values[1..], &mut parallel[..999]).is_err(), "rows one value short");
            assert!(batch.predict_batch_parallel(&values[1..], &mut parallel).is_err(), "rows one value short");
        }
    }

    #[test]
    fn ensembles_the_walk_cannot_take_score_on_the_portable_path() {
        let ensemble = random_ensemble(30, 4, 20, 8, Objective::SquaredError);
        let predictor = Predictor::new(ensemble).unwrap();
        let batch = BatchPredictor::new(predictor.clone());
        assert_eq!(batch.engine(), BatchEngine::Portable);
        let values = random_rows(31, 4, 300);
        let (mut expected, mut out) = (vec![0.0; 300], vec![0.0; 300]);
        predictor.predict_batch(&values, &mut expected).unwrap();
        batch.predict_batch(&values, &mut out).unwrap();
        assert_eq!(bits(&out), bits(&expected));
    }
}

//! Inference on hand-built trees with known outputs, and batch against row predictions.

mod common;

// In headless Chromium (`cargo xtask test`), `#[test]` is wasm-bindgen-test's: the same
// tests run in the browser the admin UI runs the model in.
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;
#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

use common::{hand_built, random_ensemble, random_rows, split, Shape};
use marquee_model::gbdt::{Ensemble, FeatureSchema, Node, Objective, Tree};
use marquee_model::{sigmoid, ModelError, Predictor};

const NAN: f32 = f32::NAN;

#[test]
fn hand_built_trees_give_known_margins() {
    let predictor = Predictor::new(hand_built(Objective::SquaredError)).unwrap();
    let cases: [([f32; 3], f32); 12] = [
        ([20.0, 0.2, 1.0], 0.5 + 1.0 - 0.5),
        ([20.0, 0.7, 0.0], 0.5 + 2.0 + 0.25),
        ([30.0, 0.2, 3.0], 0.5 + 3.0 - 0.5),   // x == threshold goes right
        ([40.0, NAN, 3.0], 0.5 + 3.0 - 0.5),   // missing below a split not taken
        ([NAN, 0.2, 2.0], 0.5 + 1.0 + 0.25),   // missing age goes left (default_left)
        ([NAN, NAN, NAN], 0.5 + 2.0 + 0.25),   // missing score goes right; missing genre right
        ([20.0, 0.2, 3.5], 0.5 + 1.0 + 0.25),  // fractional code is missing
        ([20.0, 0.2, -1.0], 0.5 + 1.0 + 0.25), // negative code is missing
        ([20.0, 0.2, 5.0], 0.5 + 1.0 + 0.25),  // code == categories is missing
        ([20.0, 0.2, 1e30], 0.5 + 1.0 + 0.25), // huge code is missing
        ([20.0, 0.2, -0.0], 0.5 + 1.0 + 0.25), // -0.0 is category 0, not in the set
        ([f32::NEG_INFINITY, f32::INFINITY, 3.0], 0.5 + 2.0 - 0.5),
    ];
    for (row, expected) in cases {
        assert_eq!(predictor.predict_margin(&row).unwrap(), expected, "{row:?}");
        assert_eq!(predictor.predict(&row).unwrap(), expected, "{row:?}");
    }
    // The same rows as one batch: the dense walk, with its own comparison, agrees.
    let rows: Vec<f32> = cases.iter().flat_map(|(row, _)| *row).collect();
    let mut margins = [0.0; 12];
    predictor.predict_margins(&rows, &mut margins).unwrap();
    for ((row, expected), margin) in cases.iter().zip(margins) {
        assert_eq!(margin, *expected, "{row:?} in a batch");
    }
}

#[test]
fn missing_values_follow_the_default_direction_both_ways() {
    let mut ensemble = hand_built(Objective::SquaredError);
    ensemble.trees[0].nodes[0].default_left = false;
    ensemble.trees[0].nodes[1].default_left = true;
    ensemble.trees[1].nodes[0].default_left = true;
    let predictor = Predictor::new(ensemble).unwrap();
    // Missing age now goes right (3); missing genre and invalid codes go left (-0.5).
    assert_eq!(predictor.predict_margin(&[NAN, 0.9, NAN]).unwrap(), 0.5 + 3.0 - 0.5);
    assert_eq!(predictor.predict_margin(&[10.0, NAN, 7.0]).unwrap(), 0.5 + 1.0 - 0.5);
    assert_eq!(predictor.predict_margin(&[10.0, NAN, 2.5]).unwrap(), 0.5 + 1.0 - 0.5);
    // A valid code outside the set still goes right.
    assert_eq!(predictor.predict_margin(&[10.0, NAN, 4.0]).unwrap(), 0.5 + 1.0 + 0.25);
}

#[test]
fn logistic_applies_the_sigmoid() {
    let predictor = Predictor::new(hand_built(Objective::Logistic)).unwrap();
    let row = [20.0, 0.2, 1.0];
    let margin = predictor.predict_margin(&row).unwrap();
    assert_eq!(predictor.predict(&row).unwrap(), sigmoid(margin));
    assert!((predictor.predict(&row).unwrap() - 1.0 / (1.0 + (-1.0f32).exp())).abs() < 1e-6);
}

#[test]
fn rows_of_the_wrong_length_are_refused() {
    let predictor = Predictor::new(hand_built(Objective::SquaredError)).unwrap();
    assert_eq!(predictor.predict(&[1.0, 2.0]), Err(ModelError::RowLength { expected: 3, got: 2 }));
    assert_eq!(predictor.predict_margin(&[1.0; 4]), Err(ModelError::RowLength { expected: 3, got: 4 }));
    let mut out = [0.0; 2];
    assert!(matches!(predictor.predict_batch(&[0.0; 5], &mut out), Err(ModelError::LengthMismatch { .. })));
    assert!(matches!(predictor.predict_margins(&[0.0; 9], &mut out), Err(ModelError::LengthMismatch { .. })));
    let mut contributions = [0.0; 3];
    assert!(predictor.contributions(&[0.0; 3], &mut contributions).is_err());
}

#[test]
fn an_invalid_ensemble_is_refused() {
    let mut ensemble = hand_built(Objective::SquaredError);
    ensemble.trees[0].nodes[1].left = 0;
    assert!(matches!(Predictor::new(ensemble), Err(ModelError::InvalidModel(_))));
}

#[test]
fn accessors_describe_the_model() {
    let ensemble = hand_built(Objective::Logistic);
    let predictor = Predictor::new(ensemble.clone()).unwrap();
    assert_eq!(predictor.num_features(), 3);
    assert_eq!(predictor.objective(), Objective::Logistic);
    assert_eq!(predictor.schema(), &ensemble.schema);
    assert_eq!(predictor.ensemble(), &ensemble);
}

#[test]
fn degenerate_models_predict() {
    let featureless = Ensemble {
        schema: FeatureSchema::default(),
        objective: Objective::SquaredError,
        base_score: 1.0,
        trees: vec![Tree { nodes: vec![Node::leaf(0.25, 1.0)], category_sets: vec![] }; 3],
    };
    let predictor = Predictor::new(featureless).unwrap();
    assert_eq!(predictor.predict(&[]).unwrap(), 1.75);
    let mut out = [0.0; 4];
    predictor.predict_batch(&[], &mut out).unwrap();
    assert_eq!(out, [1.75; 4]);

    let treeless = Ensemble { trees: vec![], ..hand_built(Objective::SquaredError) };
    let predictor = Predictor::new(treeless).unwrap();
    let mut out = [0.0; 2];
    predictor.predict_batch(&[1.0; 6], &mut out).unwrap();
    assert_eq!(out, [0.5; 2]);
    predictor.predict_batch(&[], &mut []).unwrap();
}

#[test]
fn deep_lopsided_trees_take_the_row_by_row_path() {
    // A 40-deep chain: deeper than batch inference walks in lockstep.
    let mut nodes = Vec::new();
    for level in 0..40u32 {
        nodes.push(split(0, level as f32, 2 * level + 1, 2 * level + 2, level % 2 == 0, 1.0));
        nodes.push(Node::leaf(level as f32, 0.5));
    }
    // The last split's right child.
    nodes.push(Node::leaf(100.0, 0.5));
    // Chain: each split's left is a leaf, its right the next split.
    for level in 0..40u32 {
        let at = (2 * level) as usize;
        nodes[at].left = 2 * level + 1;
        nodes[at].right = 2 * level + 2;
    }
    let ensemble = Ensemble {
        schema: FeatureSchema::numeric(["x"]),
        objective: Objective::SquaredError,
        base_score: 0.0,
        trees: vec![Tree { nodes, category_sets: vec![] }],
    };
    let predictor = Predictor::new(ensemble).unwrap();
    let rows = [-1.0, 0.5, 17.5, 39.5, 1000.0, NAN];
    let mut out = [0.0; 6];
    predictor.predict_margins(&rows, &mut out).unwrap();
    assert_eq!(out, [0.0, 1.0, 18.0, 100.0, 100.0, 0.0]);
}

#[test]
fn batch_matches_rows_bit_for_bit() {
    for seed in 0..12 {
        let shape = Shape { trees: 30, depth: 1 + seed as usize % 7, numeric: 6, categorical: 2, early_leaf: 0.2 };
        let ensemble = random_ensemble(seed, shape);
        let predictor = Predictor::new(ensemble.clone()).unwrap();
        // 150 rows: two full blocks of 64 and a partial one.
        let rows = random_rows(seed + 100, &ensemble, 150);
        let mut margins = vec![0.0; 150];
        let mut predictions = vec![0.0; 150];
        predictor.predict_margins(&rows, &mut margins).unwrap();
        predictor.predict_batch(&rows, &mut predictions).unwrap();
        for (index, row) in rows.chunks(8).enumerate() {
            assert_eq!(margins[index].to_bits(), predictor.predict_margin(row).unwrap().to_bits());
            assert_eq!(predictions[index].to_bits(), predictor.predict(row).unwrap().to_bits());
        }
    }
}

#[test]
fn batches_of_numeric_trees_match_rows_bit_for_bit_at_every_length() {
    // Numeric trees walk a block's rows in groups of eight in lockstep: every batch length
    // from 0 to 130 leaves a different partial group and block, and missing values test both
    // default directions.
    for seed in 0..6 {
        let shape = Shape { trees: 40, depth: 1 + seed as usize % 7, numeric: 9, categorical: 0, early_leaf: 0.2 };
        let ensemble = random_ensemble(seed + 40, shape);
        let predictor = Predictor::new(ensemble.clone()).unwrap();
        let rows = random_rows(seed + 140, &ensemble, 130);
        assert!(rows.iter().any(|x| x.is_nan()), "some values are missing");
        let single: Vec<u32> = rows.chunks(9).map(|row| predictor.predict_margin(row).unwrap().to_bits()).collect();
        for length in 0..=130 {
            let mut margins = vec![0.0; length];
            predictor.predict_margins(&rows[..length * 9], &mut margins).unwrap();
            let bits: Vec<u32> = margins.iter().map(|margin| margin.to_bits()).collect();
            assert_eq!(bits, single[..length], "seed {seed}, {length} rows");
        }
    }
}

#[test]
fn margins_sum_leaves_in_tree_order() {
    // The naive reference: walk the stored nodes and add leaves in f32 in tree order.
    let ensemble = random_ensemble(7, Shape { trees: 50, depth: 6, numeric: 5, categorical: 3, early_leaf: 0.1 });
    let predictor = Predictor::new(ensemble.clone()).unwrap();
    for row in random_rows(8, &ensemble, 200).chunks(8) {
        let mut margin = ensemble.base_score;
        for tree in &ensemble.trees {
            let mut at = 0;
            while !tree.nodes[at].is_leaf() {
                let node = tree.nodes[at];
                let left = common::goes_left(&ensemble, tree, &node, row);
                at = if left { node.left } else { node.right } as usize;
            }
            margin += tree.nodes[at].value;
        }
        assert_eq!(predictor.predict_margin(row).unwrap().to_bits(), margin.to_bits());
    }
}

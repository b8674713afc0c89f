//! TreeSHAP contributions: they sum to the margin and equal brute-force Shapley values.

mod common;

// In headless Chromium (`cargo xtask test`), `#[test]` is wasm-bindgen-test's: the same
// tests run in the browser the admin UI runs the model in.
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;
#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

use common::{goes_left, hand_built, random_ensemble, random_rows, split, Rng, Shape};
use marquee_model::gbdt::{Ensemble, Node, Objective, Tree};
use marquee_model::{ModelError, Predictor};

/// The expected margin when only the features in `known` (a bit mask) are known: unknown
/// splits average both branches by cover, as path-dependent TreeSHAP defines it.
fn conditional_margin(ensemble: &Ensemble, row: &[f32], known: u32) -> f64 {
    fn walk(ensemble: &Ensemble, tree: &Tree, at: usize, row: &[f32], known: u32) -> f64 {
        let node = &tree.nodes[at];
        if node.is_leaf() {
            return f64::from(node.value);
        }
        if known & (1 << node.feature) != 0 {
            let next = if goes_left(ensemble, tree, node, row) { node.left } else { node.right };
            return walk(ensemble, tree, next as usize, row, known);
        }
        let (left, right) = (&tree.nodes[node.left as usize], &tree.nodes[node.right as usize]);
        // Each branch weighted by its share of the children's covers (evenly without cover).
        let total = f64::from(left.cover) + f64::from(right.cover);
        let (to_left, to_right) =
            if total > 0.0 { (f64::from(left.cover) / total, f64::from(right.cover) / total) } else { (0.5, 0.5) };
        to_left * walk(ensemble, tree, node.left as usize, row, known)
            + to_right * walk(ensemble, tree, node.right as usize, row, known)
    }
    f64::from(ensemble.base_score) + ensemble.trees.iter().map(|tree| walk(ensemble, tree, 0, row, known)).sum::<f64>()
}

/// Shapley values by enumerating every subset of the (few) features.
fn brute_force_shapley(ensemble: &Ensemble, row: &[f32]) -> Vec<f64> {
    let n = ensemble.schema.len();
    let factorial = |k: usize| (1..=k).product::<usize>() as f64;
    let mut phi = vec![0.0; n + 1];
    for (feature, slot) in phi.iter_mut().enumerate().take(n) {
        for subset in 0u32..(1 << n) {
            if subset & (1 << feature) != 0 {
                continue;
            }
            let size = subset.count_ones() as usize;
            let weight = factorial(size) * factorial(n - size - 1) / factorial(n);
            *slot += weight
                * (conditional_margin(ensemble, row, subset | (1 << feature))
                    - conditional_margin(ensemble, row, subset));
        }
    }
    phi[n] = conditional_margin(ensemble, row, 0);
    phi
}

fn check_against_brute_force(ensemble: &Ensemble, rows: &[f32]) {
    let predictor = Predictor::new(ensemble.clone()).unwrap();
    let width = ensemble.schema.len();
    let mut out = vec![0.0; width + 1];
    for row in rows.chunks(width) {
        predictor.contributions(row, &mut out).unwrap();
        let expected = brute_force_shapley(ensemble, row);
        for (got, want) in out.iter().zip(&expected) {
            assert!((f64::from(*got) - want).abs() < 1e-5, "row {row:?}: got {out:?}, brute force {expected:?}");
        }
        let margin = predictor.predict_margin(row).unwrap();
        let sum: f32 = out.iter().sum();
        assert!((sum - margin).abs() <= 1e-4 * margin.abs().max(1.0), "sum {sum} vs margin {margin}");
    }
}

#[test]
fn matches_brute_force_shapley_on_a_hand_built_model() {
    let mut ensemble = hand_built(Objective::SquaredError);
    // A third tree that splits on age twice on one path and mixes in the categorical genre.
    ensemble.trees.push(Tree {
        nodes: vec![
            split(0, 25.0, 1, 2, false, 8.0),
            split(0, 10.0, 3, 4, true, 5.0),
            Node::leaf(0.75, 3.0),
            Node::leaf(-1.0, 2.0),
            common::categorical(2, 0, 5, 6, true, 3.0),
            Node::leaf(0.5, 1.0),
            Node::leaf(1.5, 2.0),
        ],
        category_sets: vec![vec![0, 4]],
    });
    let rows = [
        20.0,
        0.2,
        1.0,
        5.0,
        0.9,
        4.0,
        40.0,
        f32::NAN,
        3.0,
        f32::NAN,
        f32::NAN,
        f32::NAN,
        15.0,
        0.4,
        0.0,
        15.0,
        0.6,
        2.5,
    ];
    check_against_brute_force(&ensemble, &rows);
}

#[test]
fn matches_brute_force_shapley_on_random_models() {
    for seed in 0..20 {
        let shape = Shape { trees: 5, depth: 5, numeric: 2, categorical: 1, early_leaf: 0.2 };
        let mut ensemble = random_ensemble(seed, shape);
        if seed % 2 == 1 {
            // Covers that do not add up (e.g. a hand-edited import), and some zero covers.
            let mut rng = Rng::new(seed);
            for node in ensemble.trees.iter_mut().flat_map(|tree| tree.nodes.iter_mut()) {
                node.cover = if rng.below(8) == 0 { 0.0 } else { rng.unit() * 10.0 };
            }
        }
        let rows = random_rows(seed + 1, &ensemble, 20);
        check_against_brute_force(&ensemble, &rows);
    }
}

#[test]
fn contributions_sum_to_the_margin_on_big_models() {
    let ensemble = random_ensemble(3, Shape { trees: 100, depth: 8, numeric: 20, categorical: 4, early_leaf: 0.1 });
    let predictor = Predictor::new(ensemble.clone()).unwrap();
    let mut out = vec![0.0; 25];
    for row in random_rows(4, &ensemble, 50).chunks(24) {
        predictor.contributions(row, &mut out).unwrap();
        let margin = predictor.predict_margin(row).unwrap();
        let sum: f32 = out.iter().sum();
        assert!((sum - margin).abs() <= 1e-4 * margin.abs().max(1.0), "sum {sum} vs margin {margin}");
    }
}

#[test]
fn top_contributions_rank_by_magnitude() {
    let predictor = Predictor::new(hand_built(Objective::SquaredError)).unwrap();
    let row = [20.0, 0.2, 1.0];
    let mut all = [0.0; 4];
    predictor.contributions(&row, &mut all).unwrap();
    let top = predictor.top_contributions(&row, 2).unwrap();
    assert_eq!(top.len(), 2);
    assert!(top[0].1.abs() >= top[1].1.abs());
    for (feature, value) in &top {
        assert_eq!(all[*feature], *value);
    }
    let every = predictor.top_contributions(&row, 10).unwrap();
    assert_eq!(every.len(), 3);
    assert!(every.windows(2).all(|pair| pair[0].1.abs() >= pair[1].1.abs()));
}

#[test]
fn contributions_check_their_inputs() {
    let predictor = Predictor::new(hand_built(Objective::SquaredError)).unwrap();
    let mut out = [0.0; 3];
    assert_eq!(
        predictor.contributions(&[0.0; 3], &mut out),
        Err(ModelError::LengthMismatch { what: "contributions", expected: 4, got: 3 })
    );
    assert_eq!(predictor.top_contributions(&[0.0; 2], 1), Err(ModelError::RowLength { expected: 3, got: 2 }));
}

#[test]
fn too_deep_trees_are_refused_not_overflowed() {
    // A 300-deep chain.
    let depth = 300u32;
    let mut nodes = Vec::new();
    for level in 0..depth {
        nodes.push(split(0, level as f32, 2 * level + 1, 2 * level + 2, true, 1.0));
        nodes.push(Node::leaf(1.0, 0.5));
    }
    nodes.push(Node::leaf(2.0, 0.5));
    let ensemble = Ensemble {
        schema: marquee_model::gbdt::FeatureSchema::numeric(["x"]),
        objective: Objective::SquaredError,
        base_score: 0.0,
        trees: vec![Tree { nodes, category_sets: vec![] }],
    };
    let predictor = Predictor::new(ensemble).unwrap();
    assert_eq!(predictor.predict(&[1000.0]).unwrap(), 2.0);
    let mut out = [0.0; 2];
    assert_eq!(predictor.contributions(&[1.0], &mut out), Err(ModelError::TooDeep { tree: 0, depth: 300, limit: 256 }));
}

/// Found by the `ensemble_blob` fuzz target: a loaded model whose split covers are not the
/// sums of their children's. With shares taken against the split's own cover, a row's
/// contributions summed to -5.2e17 against a margin of -3.05.
#[test]
fn a_model_whose_covers_do_not_add_up_still_explains_its_margin() {
    let blob = include_bytes!("fixtures/ensemble_inconsistent_covers.blob");
    // The fuzzer's input as it mutated it; the target loads its body under a repaired
    // header, in each format version.
    let body = &blob[marquee_model::blob::HEADER_LEN..];
    let schema_hash = u64::from_le_bytes(blob[12..20].try_into().unwrap());
    let predictor = (1..=marquee_model::blob::FORMAT_VERSION)
        .find_map(|version| {
            let header = marquee_model::blob::BlobHeader {
                version,
                kind: marquee_model::blob::BlobKind::GbdtEnsemble.code(),
                schema_hash,
                body_len: body.len() as u32,
                checksum: marquee_model::blob::checksum(body),
            };
            let mut repaired = header.to_bytes().to_vec();
            repaired.extend_from_slice(body);
            Predictor::from_blob(&repaired).ok()
        })
        .expect("the fuzzer's model loads under a repaired header");
    let width = predictor.num_features();
    // The fuzz target's rows: values from the blob's bytes, all missing, all zero.
    let from_bytes: Vec<f32> = (0..width).map(|i| blob.get(i).map_or(f32::NAN, |&b| f32::from(b) - 128.0)).collect();
    for row in [from_bytes, vec![f32::NAN; width], vec![0.0; width]] {
        let mut out = vec![0.0; width + 1];
        predictor.contributions(&row, &mut out).unwrap();
        let margin = predictor.predict_margin(&row).unwrap();
        let sum: f64 = out.iter().map(|&c| f64::from(c)).sum();
        let scale: f64 = out.iter().map(|&c| f64::from(c).abs()).sum::<f64>() + f64::from(margin).abs();
        assert!(scale < 1e6, "contributions blew up: {out:?}");
        assert!((sum - f64::from(margin)).abs() <= 1e-4 * (1.0 + scale), "sum {sum} vs margin {margin}");
    }
}

//! End-to-end tests of training on small synthetic problems.

use marquee_model::gbdt::{Feature, FeatureKind, FeatureSchema, Objective, Predictor};

use super::sample::SplitMix64;
use super::*;
use crate::{TrainError, Validate};

fn uniform(rng: &mut SplitMix64) -> f32 {
    (rng.next_u64() >> 40) as f32 / (1u64 << 24) as f32
}

/// `rows × width` uniform features in [0, 1) and labels from `label(row)`.
fn synthetic(rows: usize, width: usize, seed: u64, label: impl Fn(&[f32], &mut SplitMix64) -> f32) -> Table {
    let mut rng = SplitMix64::new(seed);
    let features: Vec<f32> = (0..rows * width).map(|_| uniform(&mut rng)).collect();
    let labels = features.chunks(width).map(|row| label(row, &mut rng)).collect();
    let names: Vec<String> = (0..width).map(|i| format!("f{i}")).collect();
    Table::new(FeatureSchema::numeric(names), features, labels, None).unwrap()
}

fn params(objective: Objective, rounds: u32) -> ValidParams {
    TrainParams { objective, rounds, eval_train: true, ..TrainParams::default() }.validate().unwrap()
}

fn fit(table: &Table, valid: Option<&Table>, params: &ValidParams) -> TrainOutput {
    train(table, valid, params, &mut |_, _| {}).unwrap()
}

fn predictions(output: &TrainOutput, table: &Table) -> Vec<f32> {
    let predictor = Predictor::new(output.ensemble.clone()).unwrap();
    (0..table.rows()).map(|row| predictor.predict(table.row(row).unwrap()).unwrap()).collect()
}

fn mse(predictions: &[f32], labels: &[f32]) -> f32 {
    predictions.iter().zip(labels).map(|(p, y)| (p - y) * (p - y)).sum::<f32>() / labels.len() as f32
}

#[test]
fn squared_error_fits_a_step_function_and_a_linear_signal() {
    let step = synthetic(2000, 3, 1, |row, _| if row[1] < 0.4 { 1.0 } else { 5.0 });
    let output = fit(&step, None, &params(Objective::SquaredError, 30));
    let fitted = predictions(&output, &step);
    assert!(mse(&fitted, &step.labels) < 1e-3, "{}", mse(&fitted, &step.labels));
    // A bin straddles the step, so the other features get a few small splits too.
    let gain = &output.importance.gain;
    assert!(gain[1] > 100.0 * (gain[0] + gain[2]), "{gain:?}");

    let linear = synthetic(2000, 3, 2, |row, _| 3.0 * row[0] - 2.0 * row[2]);
    let output = fit(&linear, None, &params(Objective::SquaredError, 50));
    let base = mse(&vec![output.ensemble.base_score; linear.rows()], &linear.labels);
    let trained = mse(&predictions(&output, &linear), &linear.labels);
    assert!(trained < base / 50.0, "trained {trained}, base {base}");
    let history = &output.history;
    assert_eq!(history.len(), 50);
    assert!(history.last().unwrap().train.unwrap() < history[0].train.unwrap());
}

#[test]
fn training_margins_agree_with_the_predictor() {
    // Few distinct values and quantile bins alike: thresholds must reproduce the bins. The
    // larger table's margins are updated in several blocks, on two threads.
    for (rows, threads) in [(5000, 1), (40_000, 2)] {
        let mut table = synthetic(rows, 4, 3, |row, rng| row[0] * 4.0 + row[3] + uniform(rng) * 0.1);
        for (index, value) in table.features.iter_mut().enumerate() {
            if index % 4 == 2 {
                *value = (*value * 5.0).floor();
            }
            if index % 13 == 0 {
                *value = f32::NAN;
            }
        }
        let p = TrainParams { rounds: 20, max_bin: 16, eval_train: true, threads, ..TrainParams::default() };
        let output = fit(&table, None, &p.validate().unwrap());
        let fitted = predictions(&output, &table);
        let rmse = evaluate(Metric::Rmse, &fitted, &table).unwrap();
        assert!(
            (rmse - output.history.last().unwrap().train.unwrap()).abs() < 1e-5,
            "{rows} rows: {rmse} vs {:?}",
            output.history.last()
        );
    }
}

#[test]
fn logistic_separates_a_separable_problem() {
    let table = synthetic(2000, 2, 4, |row, _| if row[0] + row[1] > 1.0 { 1.0 } else { 0.0 });
    let valid = synthetic(1000, 2, 5, |row, _| if row[0] + row[1] > 1.0 { 1.0 } else { 0.0 });
    let p = TrainParams {
        objective: Objective::Logistic,
        rounds: 30,
        eval_metric: Some(Metric::Auc),
        ..Default::default()
    };
    let output = fit(&table, Some(&valid), &p.validate().unwrap());
    let auc = evaluate(Metric::Auc, &predictions(&output, &valid), &valid).unwrap();
    assert!(auc > 0.95, "AUC {auc}");
    assert_eq!(output.history.last().unwrap().valid, Some(auc));
    let probabilities = predictions(&output, &table);
    assert!(probabilities.iter().all(|p| (0.0..=1.0).contains(p)));
}

fn ranking_table(groups: usize, per_group: usize, seed: u64) -> Table {
    let mut rng = SplitMix64::new(seed);
    let mut features = Vec::new();
    let mut labels = Vec::new();
    for _ in 0..groups * per_group {
        let (signal, noise) = (uniform(&mut rng), uniform(&mut rng));
        features.extend([signal, noise]);
        labels.push((signal * 4.0).floor().min(3.0));
    }
    let schema = FeatureSchema::numeric(["signal", "noise"]);
    Table::new(schema, features, labels, Some(vec![per_group as u32; groups])).unwrap()
}

#[test]
fn ranking_beats_random_order_on_ndcg() {
    let table = ranking_table(60, 20, 6);
    let valid = ranking_table(30, 20, 7);
    let mut rng = SplitMix64::new(8);
    let random: Vec<f32> = (0..valid.rows()).map(|_| uniform(&mut rng)).collect();
    let random_ndcg = evaluate(Metric::Ndcg(10), &random, &valid).unwrap();
    for objective in [Objective::RankPairwise, Objective::RankNdcg] {
        let output = fit(&table, Some(&valid), &params(objective, 20));
        let ndcg = evaluate(Metric::Ndcg(10), &predictions(&output, &valid), &valid).unwrap();
        assert!(ndcg > random_ndcg + 0.1 && ndcg > 0.9, "{objective:?}: {ndcg} vs random {random_ndcg}");
        assert!(output.importance.gain[0] > output.importance.gain[1]);
    }
}

#[test]
fn missing_values_learn_a_default_direction() {
    // Missing means "high": rows without a value have the large label.
    let mut table = synthetic(1000, 1, 9, |row, _| if row[0] > 0.7 { 10.0 } else { 0.0 });
    for (value, label) in table.features.iter_mut().zip(&table.labels) {
        if *label == 10.0 {
            *value = f32::NAN;
        }
    }
    let output = fit(&table, None, &params(Objective::SquaredError, 20));
    let predictor = Predictor::new(output.ensemble.clone()).unwrap();
    assert!(predictor.predict(&[f32::NAN]).unwrap() > 9.9);
    assert!(predictor.predict(&[0.3]).unwrap() < 0.1);
    let root = output.ensemble.trees[0].nodes[0];
    assert!(root.default_left, "missing-vs-present split sends missing left: {root:?}");
}

#[test]
fn six_categories_are_split_as_a_set() {
    let schema = FeatureSchema {
        features: vec![
            Feature { name: "genre".into(), kind: FeatureKind::Categorical { categories: 6 } },
            Feature { name: "noise".into(), kind: FeatureKind::Numeric },
        ],
    };
    let mut rng = SplitMix64::new(10);
    let mut features = Vec::new();
    let mut labels = Vec::new();
    for row in 0..1200 {
        let genre = (row % 6) as f32;
        features.extend([genre, uniform(&mut rng)]);
        labels.push(if [1.0, 3.0, 4.0].contains(&genre) { 2.0 } else { -2.0 });
    }
    let table = Table::new(schema, features, labels, None).unwrap();
    let output = fit(&table, None, &params(Objective::SquaredError, 20));
    let tree = &output.ensemble.trees[0];
    let root = tree.nodes[0];
    assert!(root.categorical && root.feature == 0, "{root:?}");
    let set = &tree.category_sets[root.value as usize];
    assert!(set == &vec![1, 3, 4] || set == &vec![0, 2, 5], "{set:?}");
    assert!(tree.nodes[root.left as usize].is_leaf() && tree.nodes[root.right as usize].is_leaf());
    let predictor = Predictor::new(output.ensemble.clone()).unwrap();
    assert!(predictor.predict(&[3.0, 0.5]).unwrap() > 1.9);
    assert!(predictor.predict(&[5.0, 0.5]).unwrap() < -1.9);
}

#[test]
fn same_seed_same_ensemble_whatever_the_thread_count() {
    // Large enough for parallel histogram chunks and parallel partitioning.
    let table = synthetic(100_000, 5, 11, |row, rng| row[0] * 2.0 + row[1] * row[2] + uniform(rng));
    let run = |threads: usize, seed: u64| {
        let p = TrainParams { rounds: 8, subsample: 0.7, colsample: 0.6, threads, seed, ..Default::default() };
        fit(&table, None, &p.validate().unwrap())
    };
    let one = run(1, 42);
    let two = run(2, 42);
    assert_eq!(one.ensemble, two.ensemble);
    assert_eq!(one.history, two.history);
    assert_eq!(one.ensemble, run(2, 42).ensemble);
    assert_ne!(one.ensemble, run(2, 43).ensemble);
    let lossguided = |threads: usize| {
        let p = TrainParams { rounds: 4, max_depth: 0, max_leaves: 12, threads, ..Default::default() };
        fit(&table, None, &p.validate().unwrap()).ensemble
    };
    assert_eq!(lossguided(1), lossguided(2));
}

#[test]
fn loss_guided_trees_respect_max_leaves() {
    let table = synthetic(3000, 3, 12, |row, _| (row[0] * 10.0).sin() + row[1]);
    let p = TrainParams { rounds: 3, max_depth: 0, max_leaves: 7, ..Default::default() }.validate().unwrap();
    let output = fit(&table, None, &p);
    for tree in &output.ensemble.trees {
        assert_eq!(tree.nodes.iter().filter(|node| node.is_leaf()).count(), 7);
    }
}

#[test]
fn early_stopping_stops_and_truncates_to_the_best_round() {
    // Pure noise: validation error stops improving almost at once.
    let table = synthetic(500, 3, 13, |_, rng| uniform(rng));
    let valid = synthetic(500, 3, 14, |_, rng| uniform(rng));
    let p = TrainParams { rounds: 200, learning_rate: 0.5, early_stopping_rounds: Some(3), ..Default::default() };
    let mut reported = 0;
    let output = train(&table, Some(&valid), &p.validate().unwrap(), &mut |_, _| reported += 1).unwrap();
    let best = output.best_round.unwrap();
    assert!(output.history.len() < 200);
    assert_eq!(reported, output.history.len());
    assert_eq!(output.history.len(), best + 4);
    assert_eq!(output.ensemble.trees.len(), best + 1);
    let best_valid = output.history[best].valid.unwrap();
    assert!(output.history.iter().all(|m| m.valid.unwrap() >= best_valid));
    let frequency: u32 = output.importance.frequency.iter().sum();
    let splits = output.ensemble.trees.iter().flat_map(|t| &t.nodes).filter(|n| !n.is_leaf()).count();
    assert_eq!(frequency as usize, splits);
}

#[test]
fn bad_inputs_are_errors() {
    let table = synthetic(100, 2, 15, |row, _| row[0]);
    let ranking = params(Objective::RankNdcg, 2);
    assert!(matches!(train(&table, None, &ranking, &mut |_, _| {}), Err(TrainError::MissingGroups(_))));
    let logistic = params(Objective::Logistic, 2);
    let labels = synthetic(100, 2, 15, |_, _| 3.0);
    assert!(matches!(train(&labels, None, &logistic, &mut |_, _| {}), Err(TrainError::InvalidLabel { .. })));
    let stopping = TrainParams { early_stopping_rounds: Some(2), ..Default::default() }.validate().unwrap();
    assert!(matches!(train(&table, None, &stopping, &mut |_, _| {}), Err(TrainError::EarlyStoppingNeedsValidation)));
    let other = synthetic(10, 3, 16, |row, _| row[0]);
    let p = params(Objective::SquaredError, 2);
    assert!(matches!(train(&table, Some(&other), &p, &mut |_, _| {}), Err(TrainError::SchemaMismatch)));
    let empty = Table::new(FeatureSchema::numeric(["a"]), vec![], vec![], None).unwrap();
    assert!(matches!(train(&empty, None, &p, &mut |_, _| {}), Err(TrainError::EmptyTable)));
    let mut broken = table.clone();
    broken.labels.pop();
    assert!(matches!(train(&broken, None, &p, &mut |_, _| {}), Err(TrainError::LengthMismatch { .. })));
    let auc = TrainParams { eval_metric: Some(Metric::Auc), ..Default::default() }.validate().unwrap();
    let one_class = synthetic(10, 2, 17, |_, _| 1.0);
    assert!(matches!(train(&one_class, None, &auc, &mut |_, _| {}), Err(TrainError::UndefinedMetric { .. })));
}

/// The performance figure: `cargo test --release -p marquee-train -- --ignored --nocapture benchmark`.
#[test]
#[ignore]
fn benchmark_one_million_rows() {
    let started = std::time::Instant::now();
    let table = synthetic(1_000_000, 30, 17, |row, rng| {
        row[0] * 3.0 + (row[1] * 6.0).sin() + row[2] * row[3] + if row[4] > 0.5 { 1.0 } else { 0.0 } + uniform(rng)
    });
    eprintln!("data: {:.1}s", started.elapsed().as_secs_f64());
    let p =
        TrainParams { rounds: 200, max_depth: 6, learning_rate: 0.1, max_bin: 256, threads: 2, ..Default::default() };
    let started = std::time::Instant::now();
    let output = fit(&table, None, &p.validate().unwrap());
    let seconds = started.elapsed().as_secs_f64();
    eprintln!(
        "1,000,000 rows x 30 features, 200 trees, depth 6, 2 threads: {seconds:.1}s, train rmse {:?}",
        output.history.last().unwrap().train
    );
}

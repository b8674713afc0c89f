//! XGBoost parity: models saved by real XGBoost (fixtures made by
//! `tests/fixtures/xgboost/make_fixtures.py`) predict the same in Marquee, to 1e-5.

use std::path::PathBuf;

use marquee_model::gbdt::{FeatureKind, Objective, Predictor};
use marquee_train::import_xgboost::import_xgboost_json;
use marquee_train::TrainError;

fn fixture(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/xgboost").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// Rows with empty cells as NaN, row-major.
fn inputs(case: &str) -> (usize, Vec<f32>) {
    let text = fixture(&format!("{case}.inputs.csv"));
    let mut lines = text.lines();
    let width = lines.next().expect("a header").split(',').count();
    let values: Vec<f32> = lines
        .flat_map(|line| line.split(','))
        .map(|cell| if cell.is_empty() { f32::NAN } else { cell.parse().expect("a number") })
        .collect();
    (width, values)
}

fn expected(case: &str) -> Vec<(f32, f32)> {
    fixture(&format!("{case}.expected.csv"))
        .lines()
        .skip(1)
        .map(|line| {
            let (prediction, margin) = line.split_once(',').expect("two columns");
            (prediction.parse().expect("a number"), margin.parse().expect("a number"))
        })
        .collect()
}

fn assert_matches_xgboost(case: &str, objective: Objective) {
    let ensemble = import_xgboost_json(&fixture(&format!("{case}.model.json"))).expect("imports");
    assert_eq!(ensemble.objective, objective);
    assert_eq!(ensemble.trees.len(), 20);
    let predictor = Predictor::new(ensemble).expect("a valid ensemble");
    let (width, rows) = inputs(case);
    let expected = expected(case);
    assert_eq!(rows.len(), width * expected.len());
    let mut worst = 0.0f32;
    for (row, &(prediction, margin)) in rows.chunks(width).zip(&expected) {
        let ours = predictor.predict(row).expect("predicts");
        let our_margin = predictor.predict_margin(row).expect("predicts");
        worst = worst.max((ours - prediction).abs()).max((our_margin - margin).abs());
    }
    assert!(worst <= 1e-5, "{case}: largest difference from XGBoost {worst}");
}

#[test]
fn regression_matches_xgboost() {
    assert_matches_xgboost("regression", Objective::SquaredError);
}

#[test]
fn logistic_matches_xgboost() {
    assert_matches_xgboost("logistic", Objective::Logistic);
}

#[test]
fn pairwise_ranking_matches_xgboost() {
    assert_matches_xgboost("rank_pairwise", Objective::RankPairwise);
}

#[test]
fn ndcg_ranking_matches_xgboost() {
    assert_matches_xgboost("rank_ndcg", Objective::RankNdcg);
}

#[test]
fn categorical_splits_match_xgboost() {
    let ensemble = import_xgboost_json(&fixture("categorical.model.json")).expect("imports");
    assert!(matches!(ensemble.schema.features[4].kind, FeatureKind::Categorical { .. }));
    assert!(ensemble.trees.iter().any(|tree| tree.nodes.iter().any(|node| node.categorical)));
    assert_matches_xgboost("categorical", Objective::SquaredError);
}

#[test]
fn unsupported_models_are_refused_with_what_is_missing() {
    let message = |name: &str| match import_xgboost_json(&fixture(name)) {
        Err(TrainError::UnsupportedModel(reason)) => reason,
        other => panic!("{name}: expected UnsupportedModel, got {other:?}"),
    };
    assert!(message("unsupported_gblinear.model.json").contains("gblinear"));
    assert!(message("unsupported_multiclass.model.json").contains("multi-output"));
    assert!(matches!(import_xgboost_json("{\"learner\": 5"), Err(TrainError::UnsupportedModel(_))));
    assert!(matches!(import_xgboost_json("[]"), Err(TrainError::UnsupportedModel(_))));
}

//! The tree engine through the `marquee` binary: train on a CSV, predict, evaluate, and
//! import an XGBoost model, as a user would.

use std::fmt::Write as _;

use marquee_e2e::{json, marquee, marquee_unchecked, workspace_root};

/// A regression table whose label depends on two features, one with missing cells, plus
/// an integer-coded category.
fn write_table(path: &std::path::Path, rows: usize, seed: u64) {
    let mut state = seed;
    let mut next = || {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (state >> 33) as f64 / (1u64 << 31) as f64
    };
    let mut text = String::from("x,maybe,genre,label\n");
    for _ in 0..rows {
        let (x, maybe, genre) = (next() * 4.0 - 2.0, next(), (next() * 3.0).floor());
        let missing = next() < 0.2;
        let label = 2.0 * x + if missing { 1.0 } else { maybe } + [0.0, 3.0, -2.0][genre as usize];
        let maybe = if missing { String::new() } else { format!("{maybe}") };
        writeln!(text, "{x},{maybe},{genre},{label}").unwrap();
    }
    std::fs::write(path, text).unwrap();
}

#[test]
fn train_predict_and_eval_a_csv() {
    let dir = tempfile::tempdir().unwrap();
    let (train, valid, model) = (dir.path().join("train.csv"), dir.path().join("valid.csv"), dir.path().join("m.blob"));
    write_table(&train, 2000, 1);
    write_table(&valid, 500, 2);
    let (train, valid, model) = (train.to_str().unwrap(), valid.to_str().unwrap(), model.to_str().unwrap());
    let summary = json(&marquee(&[
        "gbdt",
        "train",
        "--csv",
        train,
        "--target",
        "label",
        "--categorical",
        "genre",
        "--rounds",
        "60",
        "--max-depth",
        "4",
        "--valid",
        valid,
        "--early-stopping",
        "5",
        "--out",
        model,
        "--json",
    ]));
    assert!(summary["trees"].as_u64().unwrap() > 10, "{summary}");
    let importance = summary["importance"].as_array().unwrap();
    assert_eq!(importance[0][0], "x", "x carries most of the signal: {summary}");

    let predictions = marquee(&["gbdt", "predict", "--model", model, "--csv", valid]);
    let predictions = String::from_utf8(predictions.stdout).unwrap();
    assert_eq!(predictions.lines().count(), 500);
    assert!(predictions.lines().all(|line| line.parse::<f32>().is_ok()));

    let metrics = json(&marquee(&["gbdt", "eval", "--model", model, "--csv", valid, "--target", "label", "--json"]));
    let rmse = metrics["rmse"].as_f64().unwrap();
    assert!(rmse < 0.5, "the label is almost deterministic, RMSE {rmse}");
}

#[test]
fn bad_tables_and_models_get_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("t.csv");
    std::fs::write(&csv, "title,label\nheat,1\n").unwrap();
    let out = dir.path().join("m.blob");
    let output = marquee_unchecked(&[
        "gbdt",
        "train",
        "--csv",
        csv.to_str().unwrap(),
        "--target",
        "label",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("--categorical title"));
    assert!(!out.exists(), "nothing is written when training fails");

    let garbage = dir.path().join("garbage.blob");
    std::fs::write(&garbage, b"MARQUEE\0 not really a model").unwrap();
    let output =
        marquee_unchecked(&["gbdt", "predict", "--model", garbage.to_str().unwrap(), "--csv", csv.to_str().unwrap()]);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("not a valid Marquee model"));
}

#[test]
fn an_imported_xgboost_model_predicts_what_xgboost_did() {
    let fixtures = workspace_root().join("crates/train/tests/fixtures/xgboost");
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("logistic.blob");
    let model = model.to_str().unwrap();
    marquee(&["import", "xgboost", fixtures.join("logistic.model.json").to_str().unwrap(), "--out", model]);
    let inputs = fixtures.join("logistic.inputs.csv");
    let ours =
        String::from_utf8(marquee(&["gbdt", "predict", "--model", model, "--csv", inputs.to_str().unwrap()]).stdout)
            .unwrap();
    let expected = std::fs::read_to_string(fixtures.join("logistic.expected.csv")).unwrap();
    let mut compared = 0;
    for (ours, line) in ours.lines().zip(expected.lines().skip(1)) {
        let theirs: f32 = line.split(',').next().unwrap().parse().unwrap();
        let ours: f32 = ours.parse().unwrap();
        assert!((ours - theirs).abs() <= 1e-5, "{ours} vs XGBoost's {theirs}");
        compared += 1;
    }
    assert_eq!(compared, 300);

    let output = marquee_unchecked(&[
        "import",
        "xgboost",
        fixtures.join("unsupported_gblinear.model.json").to_str().unwrap(),
        "--out",
        model,
    ]);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("gblinear"));
}

//! Properties of GBDT training that must hold on any data.

use marquee_model::gbdt::{Ensemble, Feature, FeatureKind, FeatureSchema, Objective, Predictor};
use marquee_train::gbdt::{train, Metric, Table, TrainOutput, TrainParams};
use marquee_train::Validate;
use proptest::prelude::*;

/// A small table: `width` features whose values come from a few levels (so ties and
/// few-distinct-value bins happen) with some missing, the last feature categorical.
fn table() -> impl Strategy<Value = Table> {
    (4usize..120, 1usize..4).prop_flat_map(|(rows, width)| {
        let values =
            prop::collection::vec(prop_oneof![1 => Just(f32::NAN), 8 => (0u8..12).prop_map(f32::from)], rows * width);
        let labels = prop::collection::vec(-10i8..10, rows);
        (Just(width), values, labels).prop_map(|(width, values, labels)| {
            let mut features: Vec<Feature> =
                (0..width).map(|i| Feature { name: format!("f{i}"), kind: FeatureKind::Numeric }).collect();
            features[width - 1].kind = FeatureKind::Categorical { categories: 8 };
            let labels = labels.into_iter().map(f32::from).collect();
            Table::new(FeatureSchema { features }, values, labels, None).unwrap()
        })
    })
}

fn fit(table: &Table, params: TrainParams) -> TrainOutput {
    train(table, None, &params.validate().unwrap(), &mut |_, _| {}).unwrap()
}

fn margins(ensemble: &Ensemble, table: &Table) -> Vec<f32> {
    let predictor = Predictor::new(ensemble.clone()).unwrap();
    let mut out = vec![0.0; table.rows()];
    predictor.predict_margins(&table.features, &mut out).unwrap();
    out
}

fn rmse(predictions: &[f32], labels: &[f32]) -> f64 {
    let sum: f64 = predictions.iter().zip(labels).map(|(&p, &y)| (f64::from(p) - f64::from(y)).powi(2)).sum();
    (sum / labels.len() as f64).sqrt()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Each leaf takes a (shrunk, regularised) Newton step of the squared loss, which can
    /// only lower it when the learning rate is at most 1.
    #[test]
    fn squared_error_training_loss_never_rises(
        table in table(),
        learning_rate in 0.05f32..=1.0,
        lambda in 0.0f32..4.0,
        alpha in 0.0f32..2.0,
        max_depth in 1u32..6,
        max_leaves in prop_oneof![Just(0u32), 2u32..10],
    ) {
        let params = TrainParams {
            rounds: 8, learning_rate, lambda, alpha, max_depth, max_leaves,
            min_child_weight: 0.0, eval_metric: Some(Metric::Rmse), eval_train: true, threads: 1, ..TrainParams::default()
        };
        let output = fit(&table, params);
        let base = rmse(&vec![output.ensemble.base_score; table.rows()], &table.labels) as f32;
        let mut previous = base;
        for round in &output.history {
            let train = round.train.expect("eval_train is on");
            prop_assert!(train <= previous * (1.0 + 1e-5) + 1e-5, "{train} after {previous}");
            previous = train;
        }
    }

    /// With labels that vary and a feature that orders the rows, some split pays off.
    #[test]
    fn a_trained_model_beats_the_base_score(table in table(), shift in 1u8..5) {
        let mut table = table;
        let width = table.schema.len();
        for (row, label) in table.labels.iter_mut().enumerate() {
            table.features[row * width] = row as f32;
            if row % 2 == 0 {
                *label += f32::from(shift);
            }
        }
        let output = fit(&table, TrainParams { rounds: 5, threads: 1, ..TrainParams::default() });
        let base = rmse(&vec![output.ensemble.base_score; table.rows()], &table.labels);
        let trained = rmse(&margins(&output.ensemble, &table), &table.labels);
        prop_assert!(trained < base, "trained {trained} vs base {base}");
    }

    /// A saved and reloaded ensemble predicts bit for bit the same.
    #[test]
    fn blob_round_trip_keeps_predictions(table in table(), logistic in any::<bool>()) {
        let mut table = table;
        let objective = if logistic {
            for label in &mut table.labels {
                *label = if *label > 0.0 { 1.0 } else { 0.0 };
            }
            Objective::Logistic
        } else {
            Objective::SquaredError
        };
        let output = fit(&table, TrainParams { objective, rounds: 4, subsample: 0.8, colsample: 0.7, threads: 1, ..TrainParams::default() });
        let restored = Ensemble::from_blob(&output.ensemble.to_blob().unwrap()).unwrap();
        // The blob stores (and so returns) each tree in pre-order, the canonical layout.
        prop_assert_eq!(&restored, &output.ensemble.canonical().unwrap());
        let before: Vec<u32> = margins(&output.ensemble, &table).iter().map(|m| m.to_bits()).collect();
        let after: Vec<u32> = margins(&restored, &table).iter().map(|m| m.to_bits()).collect();
        prop_assert_eq!(before, after);
    }
}

//! Scoring large batches natively on several threads. The model crate stays single-threaded
//! (it must run in workerd and the browser); the trainer and CLI share a batch out here.

use marquee_model::gbdt::Predictor;
use marquee_model::ModelError;
use rayon::prelude::*;

/// Rows per task: enough work to amortise a task, small enough to balance two cores on
/// a batch of a thousand rows.
const ROWS_PER_TASK: usize = 128;

/// Predictions for row-major `rows` into `out`, split over the current rayon pool. Each row
/// gets exactly the value [`Predictor::predict_batch`] would give it.
pub fn predict_batch_parallel(predictor: &Predictor, rows: &[f32], out: &mut [f32]) -> Result<(), ModelError> {
    let width = predictor.num_features().max(1);
    if rows.len() != out.len() * predictor.num_features() {
        return Err(ModelError::RowLength { expected: out.len() * predictor.num_features(), got: rows.len() });
    }
    rows.par_chunks(ROWS_PER_TASK * width)
        .zip(out.par_chunks_mut(ROWS_PER_TASK))
        .try_for_each(|(rows, out)| predictor.predict_batch(rows, out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use marquee_model::gbdt::{Ensemble, FeatureSchema, Node, Objective, Tree};

    #[test]
    fn parallel_batches_match_the_single_threaded_batch_bit_for_bit() {
        let split =
            Node { feature: 0, value: 0.5, left: 1, right: 2, default_left: true, categorical: false, cover: 2.0 };
        let tree = Tree { nodes: vec![split, Node::leaf(-1.0, 1.0), Node::leaf(2.0, 1.0)], category_sets: Vec::new() };
        let ensemble = Ensemble {
            schema: FeatureSchema::numeric(["x"]),
            objective: Objective::Logistic,
            base_score: 0.1,
            trees: vec![tree],
        };
        let predictor = Predictor::new(ensemble).unwrap();
        let rows: Vec<f32> = (0..1000).map(|i| if i % 7 == 0 { f32::NAN } else { i as f32 / 1000.0 }).collect();
        let (mut serial, mut parallel) = (vec![0.0; 1000], vec![0.0; 1000]);
        predictor.predict_batch(&rows, &mut serial).unwrap();
        predict_batch_parallel(&predictor, &rows, &mut parallel).unwrap();
        assert_eq!(
            serial.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            parallel.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
        );
        assert!(predict_batch_parallel(&predictor, &rows[1..], &mut parallel).is_err(), "999 values are not 1000 rows");
    }
}

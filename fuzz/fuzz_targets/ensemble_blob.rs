//! Tree-ensemble blobs: any byte string is an ensemble or an error. One that loads predicts
//! and explains without panicking, its batch predictions equal its one-row predictions bit
//! for bit, its contributions sum to its margin (whether or not its covers add up: TreeSHAP
//! shares a split by its children's covers), and it re-encodes to a blob that decodes to the
//! same bytes again.
#![no_main]

use libfuzzer_sys::fuzz_target;
use marquee_fuzz::with_repaired_headers;
use marquee_model::blob::BlobKind;
use marquee_model::gbdt::{Ensemble, Predictor};

fuzz_target!(|bytes: &[u8]| {
    for input in with_repaired_headers(bytes, BlobKind::GbdtEnsemble) {
        if let Ok(ensemble) = Ensemble::from_blob(&input) {
            check_reencoding(&ensemble);
            if let Ok(predictor) = Predictor::new(ensemble) {
                use_predictor(&predictor, bytes);
            }
        }
    }
});

/// Encoding what was decoded, then decoding and encoding again, gives the same bytes.
fn check_reencoding(ensemble: &Ensemble) {
    let Ok(blob) = ensemble.to_blob() else { return };
    let again = Ensemble::from_blob(&blob).expect("a re-encoded ensemble loads");
    assert_eq!(again.to_blob().expect("it encodes again"), blob, "re-encoding is not stable");
}

fn use_predictor(predictor: &Predictor, bytes: &[u8]) {
    let width = predictor.num_features();
    // Three rows: values from the input, all missing, and all zero.
    let mut rows: Vec<f32> = (0..width).map(|i| bytes.get(i).map_or(f32::NAN, |&b| f32::from(b) - 128.0)).collect();
    rows.extend(std::iter::repeat_n(f32::NAN, width));
    rows.extend(std::iter::repeat_n(0.0, width));
    let mut batch = [0.0f32; 3];
    predictor.predict_batch(&rows, &mut batch).expect("rows of the schema's width predict");
    for (row, batched) in rows.chunks(width.max(1)).zip(batch).take(if width == 0 { 1 } else { 3 }) {
        let row = if width == 0 { &[][..] } else { row };
        let single = predictor.predict(row).expect("a row of the schema's width predicts");
        assert_eq!(single.to_bits(), batched.to_bits(), "batch {batched} and one-row {single} predictions differ");
        let mut contributions = vec![0.0f32; width + 1];
        predictor.contributions(row, &mut contributions).expect("a row of the schema's width explains");
        let margin = predictor.predict_margin(row).expect("a row of the schema's width has a margin");
        let sum: f64 = contributions.iter().map(|&c| f64::from(c)).sum();
        let scale: f64 = contributions.iter().map(|&c| f64::from(c).abs()).sum::<f64>() + f64::from(margin).abs();
        if sum.is_finite() && scale.is_finite() && scale < 1e30 {
            let tolerance = 1e-3 * (1.0 + scale);
            assert!((sum - f64::from(margin)).abs() <= tolerance, "contributions sum to {sum}, the margin is {margin}");
        }
        let _ = predictor.top_contributions(row, 3);
    }
}

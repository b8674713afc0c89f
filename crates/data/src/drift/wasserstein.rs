//! The first Wasserstein distance between two samples, over the reference's standard
//! deviation (Evidently's `wasserstein`).

use super::column::clean_numeric;

/// The smallest standard deviation Evidently divides by, so a constant reference does not
/// divide by zero.
const MIN_NORM: f64 = 0.001;

/// W₁(reference, current) / max(σ(reference), 0.001), σ the population standard deviation
/// (`scipy.stats.wasserstein_distance` over `numpy.std`): the area between the two empirical
/// CDFs in units of the reference's spread. NaN and infinities are dropped. `None` when
/// either sample is empty after cleaning, or when values near the largest floats overflow
/// both the area and the spread.
pub fn wasserstein_normed(reference: &[f64], current: &[f64]) -> Option<f64> {
    let (reference, current) = (clean_numeric(reference), clean_numeric(current));
    if reference.is_empty() || current.is_empty() {
        return None;
    }
    let (n1, n2) = (reference.len() as f64, current.len() as f64);
    // Walk the pooled values in order; between consecutive values both CDFs are constant.
    let (mut i, mut j, mut area) = (0usize, 0usize, 0.0);
    let mut previous: Option<f64> = None;
    loop {
        let value = match (reference.get(i), current.get(j)) {
            (Some(&a), Some(&b)) => a.min(b),
            (Some(&a), None) => a,
            (None, Some(&b)) => b,
            (None, None) => break,
        };
        if let Some(previous) = previous {
            area += ((i as f64 / n1) - (j as f64 / n2)).abs() * (value - previous);
        }
        while reference.get(i) == Some(&value) {
            i += 1;
        }
        while current.get(j) == Some(&value) {
            j += 1;
        }
        previous = Some(value);
    }
    let mean = reference.iter().sum::<f64>() / n1;
    let variance = reference.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n1;
    // Values near the float range's ends can overflow the area or the variance; an infinite
    // distance is the largest float (certainly drifted), an undefined one is no answer.
    let distance = area / variance.sqrt().max(MIN_NORM);
    (!distance.is_nan()).then_some(distance.min(f64::MAX))
}

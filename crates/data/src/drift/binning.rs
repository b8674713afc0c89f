//! The shares the distances compare: per category, or per histogram bin for numeric columns
//! with many values (Evidently's `get_binned_data`).

use super::column::{distinct_sorted, Samples};

/// Numeric columns with more distinct reference values than this are binned; fewer are
/// compared value by value.
const MAX_DISTINCT_UNBINNED: usize = 20;

/// The reference's and the current window's shares per category, or, for a numeric column
/// with more than 20 distinct reference values, per bin of a histogram over both windows with
/// Sturges' number of equal-width bins (`numpy.histogram_bin_edges(..., bins='sturges')`:
/// bins half-open except the last). With `fill_zeros` (for PSI, whose logarithm needs it),
/// empty shares become the smallest non-empty share over 10⁶ when that is at most 10⁻⁴, and
/// 10⁻⁴ otherwise, as Evidently does.
pub(super) fn binned_shares(samples: &Samples, fill_zeros: bool) -> (Vec<f64>, Vec<f64>) {
    let (mut reference, mut current) = match samples {
        Samples::Numeric { reference, current } if distinct_sorted(reference) > MAX_DISTINCT_UNBINNED => {
            let edges = sturges_edges(reference, current);
            (histogram_shares(reference, &edges), histogram_shares(current, &edges))
        }
        other => match other.to_categories() {
            Samples::Categorical { reference, current } => (shares(&reference), shares(&current)),
            Samples::Numeric { .. } => (Vec::new(), Vec::new()),
        },
    };
    if fill_zeros {
        fill_empty(&mut reference);
        fill_empty(&mut current);
    }
    (reference, current)
}

fn shares(counts: &[u64]) -> Vec<f64> {
    let total = counts.iter().sum::<u64>().max(1) as f64;
    counts.iter().map(|&count| count as f64 / total).collect()
}

/// Sturges' bin edges over both (sorted, non-empty) samples, computed with numpy's exact
/// steps: width = range / (log₂ n + 1), bins = ⌈range / width⌉, edges by `linspace`.
fn sturges_edges(reference: &[f64], current: &[f64]) -> Vec<f64> {
    let first = reference.first().copied().unwrap_or(0.0).min(current.first().copied().unwrap_or(f64::INFINITY));
    let last = reference.last().copied().unwrap_or(0.0).max(current.last().copied().unwrap_or(f64::NEG_INFINITY));
    let size = (reference.len() + current.len()) as f64;
    let range = last - first;
    let width = range / (size.log2() + 1.0);
    let (first, last) = if first == last { (first - 0.5, last + 0.5) } else { (first, last) };
    let bins = if width != 0.0 && width.is_finite() {
        // At most one bin per value: a cap only absurd ranges reach.
        ((last - first) / width).ceil().clamp(1.0, size.max(1.0)) as usize
    } else {
        1
    };
    let step = (last - first) / bins as f64;
    let mut edges: Vec<f64> = (0..=bins).map(|i| i as f64 * step + first).collect();
    if let Some(end) = edges.last_mut() {
        *end = last;
    }
    edges
}

/// Shares of a sorted sample per bin: [e₀, e₁), [e₁, e₂), …, [eₖ₋₁, eₖ].
fn histogram_shares(sorted: &[f64], edges: &[f64]) -> Vec<f64> {
    let Some((&last, inner)) = edges.split_last() else { return Vec::new() };
    let mut cumulative: Vec<usize> = inner.iter().map(|&edge| sorted.partition_point(|&v| v < edge)).collect();
    cumulative.push(sorted.partition_point(|&v| v <= last));
    let total = sorted.len().max(1) as f64;
    cumulative.windows(2).map(|pair| pair[1].saturating_sub(pair[0]) as f64 / total).collect()
}

fn fill_empty(shares: &mut [f64]) {
    let smallest = shares.iter().copied().filter(|&s| s > 0.0).fold(f64::INFINITY, f64::min);
    if !smallest.is_finite() {
        return;
    }
    let fill = if smallest <= 1e-4 { smallest / 1e6 } else { 1e-4 };
    for share in shares.iter_mut().filter(|s| **s == 0.0) {
        *share = fill;
    }
}

//! The Gini coefficient of exposure.

/// The Gini coefficient of `counts` (how often each item was shown, every catalog item
/// included, zeros too): 0 when all are equal, `(n − 1)/n` when one item has everything, 0
/// for an empty or all-zero series. Always in `[0, 1)`.
///
/// `G = Σᵢ (2i − n − 1)·xᵢ / (n·Σ x)` over the counts sorted ascending, `i = 1..n`: the mean
/// absolute difference between all pairs over twice the mean.
pub fn gini(counts: &[u64]) -> f64 {
    let n = counts.len();
    // Summed in f64: a u64 total could overflow, and f64 is what the division needs.
    let total: f64 = counts.iter().map(|&count| count as f64).sum();
    if n == 0 || total <= 0.0 {
        return 0.0;
    }
    let mut sorted = counts.to_vec();
    sorted.sort_unstable();
    let weighted: f64 =
        sorted.iter().enumerate().map(|(i, &count)| (2.0 * (i as f64 + 1.0) - n as f64 - 1.0) * count as f64).sum();
    (weighted / (n as f64 * total)).clamp(0.0, 1.0)
}

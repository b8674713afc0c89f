//! The two-proportion z-test for a column of two categories (Evidently's `z`).

use crate::stats::distributions::normal_two_sided_p_value;

/// The two-sided p-value of the difference between the share of the first category in the
/// reference and in the current window, with the pooled variance
/// P(1 − P)(1/n₁ + 1/n₂). Evidently compares the first (smallest) category against all
/// others; which category comes first does not change a two-sided p-value. It computes the
/// tail as 1 − Φ(|z|), which reads 0 below about 10⁻¹⁶; this is the accurate tail, so tiny
/// p-values keep their size. When both windows hold the same single category the p-value is
/// 1. `None` for empty or mismatched counts.
pub fn z_test(reference: &[u64], current: &[u64]) -> Option<f64> {
    if reference.len() != current.len() {
        return None;
    }
    let (n1, n2) = (reference.iter().sum::<u64>(), current.iter().sum::<u64>());
    if n1 == 0 || n2 == 0 {
        return None;
    }
    // The first category present in either window.
    let first = reference.iter().zip(current).position(|(r, c)| r + c > 0)?;
    let (r_first, c_first) = (reference.get(first).copied()?, current.get(first).copied()?);
    if r_first == n1 && c_first == n2 {
        return Some(1.0);
    }
    let (n1, n2) = (n1 as f64, n2 as f64);
    let p1 = (n1 - r_first as f64) / n1;
    let p2 = (n2 - c_first as f64) / n2;
    let pooled = (p1 * n1 + p2 * n2) / (n1 + n2);
    let z = (p1 - p2) / (pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2)).sqrt();
    if z.is_nan() {
        return Some(1.0);
    }
    normal_two_sided_p_value(z)
}

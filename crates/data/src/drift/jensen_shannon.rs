//! The Jensen–Shannon distance between two distributions (Evidently's `jensenshannon`,
//! through `scipy.spatial.distance.jensenshannon`).

/// √(½·KL(p‖m) + ½·KL(q‖m)) with m = (p + q)/2 and natural logarithms, after scaling each of
/// `p` and `q` to sum to 1: 0 for equal distributions, at most √(ln 2) ≈ 0.833. `None` for
/// mismatched lengths, or weights that are negative, not finite, or all zero.
pub fn jensen_shannon(p: &[f64], q: &[f64]) -> Option<f64> {
    if p.len() != q.len() || p.iter().chain(q).any(|w| !w.is_finite() || *w < 0.0) {
        return None;
    }
    let (sum_p, sum_q) = (p.iter().sum::<f64>(), q.iter().sum::<f64>());
    if sum_p <= 0.0 || sum_q <= 0.0 {
        return None;
    }
    let (mut left, mut right) = (0.0, 0.0);
    for (&a, &b) in p.iter().zip(q) {
        let (a, b) = (a / sum_p, b / sum_q);
        let m = (a + b) / 2.0;
        left += relative_entropy(a, m);
        right += relative_entropy(b, m);
    }
    Some(((left + right) / 2.0).max(0.0).sqrt())
}

/// x·ln(x/y), with 0·ln(0/y) = 0 (`scipy.special.rel_entr` for y ≥ x/2 > 0, as here).
fn relative_entropy(x: f64, y: f64) -> f64 {
    if x > 0.0 && y > 0.0 {
        x * (x / y).ln()
    } else {
        0.0
    }
}

//! Pearson's chi-square test of the current window's category counts against the counts the
//! reference's shares predict (Evidently's `chisquare`).

use crate::stats::distributions::chi_square_survival;

/// The p-value of the current counts against the reference's shares scaled to the current
/// window's size, over the categories of both windows (`reference[k]` and `current[k]` count
/// the same category). A category the reference never saw but the current window holds
/// makes the statistic infinite and the p-value 0, as scipy's `chisquare` does. `None` for
/// empty or mismatched counts; 1 with fewer than two categories.
pub fn chi_square_test(reference: &[u64], current: &[u64]) -> Option<f64> {
    if reference.len() != current.len() {
        return None;
    }
    let (reference_rows, current_rows) = (reference.iter().sum::<u64>(), current.iter().sum::<u64>());
    if reference_rows == 0 || current_rows == 0 {
        return None;
    }
    let categories = reference.iter().zip(current).filter(|(r, c)| **r + **c > 0).count();
    if categories < 2 {
        return Some(1.0);
    }
    let scale = current_rows as f64 / reference_rows as f64;
    let mut statistic = 0.0;
    for (&expected, &observed) in reference.iter().zip(current) {
        if expected + observed == 0 {
            continue;
        }
        let expected = expected as f64 * scale;
        if expected == 0.0 {
            return Some(0.0);
        }
        let difference = observed as f64 - expected;
        statistic += difference * difference / expected;
    }
    chi_square_survival(statistic, (categories - 1) as f64)
}

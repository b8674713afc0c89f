//! Fixed-horizon confidence intervals of one arm's metric: a click rate (a proportion) and a
//! mean such as MRR. The edge's admin readout shows them next to each arm's value; they are
//! valid only when read once, at a horizon fixed in advance (see `sequential` for peeking).

/// The normal quantile for a two-sided 95% interval.
pub const Z_95: f64 = 1.959_963_984_540_054;

/// The Wilson score interval of a proportion: `successes` out of `n` trials, at `z` standard
/// normal deviations (use [`Z_95`] for 95%). Unlike the normal approximation it stays within
/// [0, 1] and is sensible at 0 or `n` successes. `None` when `n` is 0 or `successes`
/// exceeds `n`.
pub fn wilson_interval(successes: u64, n: u64, z: f64) -> Option<(f64, f64)> {
    if n == 0 || successes > n {
        return None;
    }
    let n = n as f64;
    let p = successes as f64 / n;
    let z2 = z * z;
    let denominator = 1.0 + z2 / n;
    let center = (p + z2 / (2.0 * n)) / denominator;
    let half = z * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt() / denominator;
    // Rounding can leave the bounds a hair outside [0, 1].
    Some(((center - half).max(0.0), (center + half).min(1.0)))
}

/// The normal-approximation interval of a mean, from the sum and the sum of squares of `n`
/// observations, at `z` standard normal deviations: mean ± z·s/√n with `s` the sample
/// standard deviation. `None` when `n` is below 2 (no spread can be estimated).
pub fn mean_interval(sum: f64, sum_sq: f64, n: u64, z: f64) -> Option<(f64, f64)> {
    if n < 2 {
        return None;
    }
    let count = n as f64;
    let mean = sum / count;
    // Σx² − (Σx)²/n can come out slightly negative by cancellation when all values agree.
    let variance = ((sum_sq - sum * sum / count) / (count - 1.0)).max(0.0);
    let half = z * (variance / count).sqrt();
    Some((mean - half, mean + half))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(actual: Option<(f64, f64)>, expected: (f64, f64)) {
        let (low, high) = actual.expect("an interval");
        assert!((low - expected.0).abs() < 1e-9 && (high - expected.1).abs() < 1e-9, "{actual:?} != {expected:?}");
    }

    #[test]
    fn wilson_matches_known_values() {
        // Computed independently from the textbook formula.
        close(wilson_interval(5, 10, Z_95), (0.236_593_090_512_564, 0.763_406_909_487_436));
        close(wilson_interval(81, 263, Z_95), (0.255_288_519_878_274_2, 0.366_209_576_982_800));
        close(wilson_interval(3, 4, Z_95), (0.300_641_842_582_401_8, 0.954_412_739_190_299_5));
        // At the edges the interval stays inside [0, 1] and is not degenerate.
        close(wilson_interval(0, 10, Z_95), (0.0, 0.277_532_799_862_889_2));
        close(wilson_interval(10, 10, Z_95), (0.722_467_200_137_110_7, 1.0));
        assert_eq!(wilson_interval(0, 0, Z_95), None);
        assert_eq!(wilson_interval(3, 2, Z_95), None);
    }

    #[test]
    fn wilson_narrows_with_more_trials() {
        let (low_small, high_small) = wilson_interval(10, 100, Z_95).unwrap();
        let (low_big, high_big) = wilson_interval(1000, 10_000, Z_95).unwrap();
        assert!(high_big - low_big < high_small - low_small);
        assert!(low_big < 0.1 && 0.1 < high_big);
    }

    #[test]
    fn mean_interval_matches_known_values() {
        // 2, 4, 4, 4, 5, 5, 7, 9: mean 5, sample variance 32/7.
        let values = [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0];
        let sum: f64 = values.iter().sum();
        let sum_sq: f64 = values.iter().map(|v| v * v).sum();
        close(mean_interval(sum, sum_sq, 8, Z_95), (3.518_406_490_932_507, 6.481_593_509_067_493));
        // Reciprocal ranks 1, 1/4, 0, 0: an MRR of 0.3125.
        close(mean_interval(1.25, 1.0625, 4, Z_95), (-0.151_268_992_886_353, 0.776_268_992_886_353));
        // No spread: a zero-width interval, never NaN.
        close(mean_interval(3.0, 3.0, 3, Z_95), (1.0, 1.0));
        assert_eq!(mean_interval(1.0, 1.0, 1, Z_95), None);
        assert_eq!(mean_interval(0.0, 0.0, 0, Z_95), None);
    }
}

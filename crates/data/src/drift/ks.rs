//! The two-sample Kolmogorov–Smirnov test, as `scipy.stats.ks_2samp` computes it by default.

use serde::Serialize;

use super::column::clean_numeric;
use crate::stats::distributions::{kolmogorov_survival, ks_two_sample_exact_survival};

/// Up to this many values in each sample the p-value is exact (scipy's `method='auto'`
/// limit); above it the Kolmogorov limit is used.
pub const KS_EXACT_MAX_ROWS: usize = 10_000;

/// A two-sample Kolmogorov–Smirnov test.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct KsTest {
    /// The largest gap between the two empirical CDFs.
    pub statistic: f64,
    /// The two-sided p-value.
    pub p_value: f64,
    /// Whether the p-value is exact (both samples up to [`KS_EXACT_MAX_ROWS`]) or from the
    /// limiting distribution.
    pub exact: bool,
}

/// The two-sided two-sample Kolmogorov–Smirnov test of `reference` against `current`, NaN and
/// infinities dropped. Ties are handled as scipy does (the CDFs are compared after every
/// distinct value). The p-value is exact while both samples have at most
/// [`KS_EXACT_MAX_ROWS`] values, as `scipy.stats.ks_2samp` does by default. Above that it is
/// the Kolmogorov limit at √(n₁n₂/(n₁+n₂))·D: scipy instead evaluates the finite-n
/// distribution of the one-sample statistic at n = round(n₁n₂/(n₁+n₂)), which is larger by
/// about 2% relative at those sizes; the limit is the classical choice and needs no further
/// special functions. `None` when either sample is empty after cleaning.
pub fn ks_test(reference: &[f64], current: &[f64]) -> Option<KsTest> {
    let (reference, current) = (clean_numeric(reference), clean_numeric(current));
    let (n1, n2) = (reference.len() as u64, current.len() as u64);
    if n1 == 0 || n2 == 0 {
        return None;
    }
    // The gap in units of 1/lcm(n1, n2): |c1·n2/g − c2·n1/g|, a whole number.
    let g = gcd(n1, n2);
    let (scale1, scale2) = (i128::from(n2 / g), i128::from(n1 / g));
    let lcm = u128::from(n1 / g) * u128::from(n2);
    let (mut i, mut j, mut gap) = (0usize, 0usize, 0u128);
    while i < reference.len() || j < current.len() {
        let value = match (reference.get(i), current.get(j)) {
            (Some(&a), Some(&b)) => a.min(b),
            (Some(&a), None) => a,
            (None, Some(&b)) => b,
            (None, None) => break,
        };
        while reference.get(i) == Some(&value) {
            i += 1;
        }
        while current.get(j) == Some(&value) {
            j += 1;
        }
        gap = gap.max((i as i128 * scale1 - j as i128 * scale2).unsigned_abs());
    }
    let statistic = gap as f64 / lcm as f64;
    let exact = reference.len().max(current.len()) <= KS_EXACT_MAX_ROWS;
    let p_value = if exact {
        ks_two_sample_exact_survival(n1, n2, u64::try_from(gap).ok()?)?
    } else {
        let effective = (n1 as f64) * (n2 as f64) / (n1 as f64 + n2 as f64);
        kolmogorov_survival(effective.sqrt() * statistic)?
    };
    Some(KsTest { statistic, p_value, exact })
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

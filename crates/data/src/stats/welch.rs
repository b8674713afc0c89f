//! Welch's unequal-variance t test of two independent samples: the test for a per-user metric
//! (one value per user in each arm) when the arms' spreads may differ.

use serde::Serialize;

use super::distributions::{is_open_probability, is_positive_finite, student_t_quantile, student_t_two_sided_p_value};

/// The result of Welch's t test comparing sample `b` (the treatment) with sample `a` (the
/// control).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct WelchTest {
    /// The difference of the sample means, `mean(b) − mean(a)`.
    pub mean_difference: f64,
    /// The standard error of that difference, √(s²_a/n_a + s²_b/n_b).
    pub standard_error: f64,
    /// The Welch–Satterthwaite degrees of freedom (not a whole number in general).
    pub degrees_of_freedom: f64,
    /// The t statistic, the difference divided by its standard error.
    pub t: f64,
    /// The two-sided p-value of the t statistic under the null of equal means.
    pub p_value: f64,
    /// The two-sided 95% confidence interval of the difference.
    pub interval_95: (f64, f64),
}

impl WelchTest {
    /// The two-sided confidence interval of the difference at `confidence` (for example 0.9
    /// for 90%). `None` unless `confidence` lies strictly between 0 and 1.
    pub fn interval(&self, confidence: f64) -> Option<(f64, f64)> {
        if !is_open_probability(confidence) {
            return None;
        }
        let t = student_t_quantile(0.5 + confidence / 2.0, self.degrees_of_freedom)?;
        let half = t * self.standard_error;
        Some((self.mean_difference - half, self.mean_difference + half))
    }
}

/// Welch's t test of `b` against `a` (`scipy.stats.ttest_ind(b, a, equal_var=False)`).
/// `None` when either sample has fewer than two values, any value is not finite, or both
/// samples have zero variance (no t statistic exists).
pub fn welch_t_test(a: &[f64], b: &[f64]) -> Option<WelchTest> {
    let (n_a, mean_a, var_a) = mean_and_variance(a)?;
    let (n_b, mean_b, var_b) = mean_and_variance(b)?;
    let share_a = var_a / n_a;
    let share_b = var_b / n_b;
    let variance = share_a + share_b;
    if !is_positive_finite(variance) {
        return None;
    }
    let standard_error = variance.sqrt();
    let degrees_of_freedom = variance * variance / (share_a * share_a / (n_a - 1.0) + share_b * share_b / (n_b - 1.0));
    let mean_difference = mean_b - mean_a;
    let t = mean_difference / standard_error;
    let p_value = student_t_two_sided_p_value(t, degrees_of_freedom)?;
    let mut test =
        WelchTest { mean_difference, standard_error, degrees_of_freedom, t, p_value, interval_95: (0.0, 0.0) };
    test.interval_95 = test.interval(0.95)?;
    Some(test)
}

/// The count, mean and sample variance (n − 1 denominator) of `values`, by two passes so a
/// large common offset does not cancel away the spread. `None` below two values or on a
/// non-finite value or result.
pub(crate) fn mean_and_variance(values: &[f64]) -> Option<(f64, f64, f64)> {
    if values.len() < 2 || values.iter().any(|v| !v.is_finite()) {
        return None;
    }
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let variance = values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / (n - 1.0);
    (mean.is_finite() && variance.is_finite()).then_some((n, mean, variance))
}

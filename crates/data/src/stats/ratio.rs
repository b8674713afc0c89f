//! Ratio metrics with the user as the unit of analysis, by the delta method.
//!
//! A click rate is clicked lists over served lists, but lists from one user are not
//! independent: a user who clicks once tends to click again. Treating lists as independent
//! trials understates the variance. Randomisation is by user, so each user contributes one
//! (numerator, denominator) pair and the metric is the ratio of the two means; the delta
//! method turns the per-user variances and covariance into the variance of that ratio.

use serde::Serialize;

use super::distributions::{is_open_probability, is_positive_finite, normal_quantile, normal_two_sided_p_value};

/// One user's totals for a ratio metric, for example clicked lists and served lists, or the
/// sum of reciprocal ranks and served lists.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, serde::Deserialize)]
pub struct UnitTotals {
    /// The user's total of the metric's numerator.
    pub numerator: f64,
    /// The user's total of the metric's denominator.
    pub denominator: f64,
}

/// A ratio metric over one arm's users, with the delta-method variance of the estimate.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RatioEstimate {
    /// The ratio Σnumerator / Σdenominator (equal to the ratio of the per-user means).
    pub value: f64,
    /// The delta-method variance of `value`: with per-user means m̄ and d̄, sample
    /// variances s²_m and s²_d and covariance s_md (n − 1 denominators), it is
    /// (s²_m/d̄² − 2·m̄·s_md/d̄³ + m̄²·s²_d/d̄⁴) / n.
    pub variance: f64,
    /// The number of users (units) the estimate is over.
    pub units: u64,
}

/// The ratio metric of `units`, one entry per user. `None` below two users, on any
/// non-finite total, or when the denominators sum to zero or less (the ratio is undefined).
pub fn ratio_estimate(units: &[UnitTotals]) -> Option<RatioEstimate> {
    if units.len() < 2 || units.iter().any(|u| !u.numerator.is_finite() || !u.denominator.is_finite()) {
        return None;
    }
    let n = units.len() as f64;
    let mean_m = units.iter().map(|u| u.numerator).sum::<f64>() / n;
    let mean_d = units.iter().map(|u| u.denominator).sum::<f64>() / n;
    if !is_positive_finite(mean_d) || !mean_m.is_finite() {
        return None;
    }
    // Deviations from the means, not raw sums of squares, so large totals do not cancel.
    let (mut var_m, mut var_d, mut cov) = (0.0, 0.0, 0.0);
    for u in units {
        let dm = u.numerator - mean_m;
        let dd = u.denominator - mean_d;
        var_m += dm * dm;
        var_d += dd * dd;
        cov += dm * dd;
    }
    let (var_m, var_d, cov) = (var_m / (n - 1.0), var_d / (n - 1.0), cov / (n - 1.0));
    let value = mean_m / mean_d;
    let per_unit =
        var_m / (mean_d * mean_d) - 2.0 * value * cov / (mean_d * mean_d) + value * value * var_d / (mean_d * mean_d);
    // The expression is a variance and so never negative in exact arithmetic; rounding can
    // leave a tiny negative value when all users have the same ratio.
    let variance = (per_unit / n).max(0.0);
    (value.is_finite() && variance.is_finite()).then_some(RatioEstimate { value, variance, units: units.len() as u64 })
}

/// A comparison of a ratio metric between a control and a treatment arm.
///
/// Intervals and the p-value use the normal distribution, not Student's t: the estimates
/// are over hundreds or thousands of users, where the two agree to well under the
/// estimates' own uncertainty, and the delta method is itself a large-sample approximation.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RatioComparison {
    /// The control arm's estimate.
    pub control: RatioEstimate,
    /// The treatment arm's estimate.
    pub treatment: RatioEstimate,
    /// The absolute difference, treatment − control.
    pub difference: f64,
    /// The standard error of the absolute difference (the arms are independent, so the
    /// variances add).
    pub difference_standard_error: f64,
    /// The two-sided confidence interval of the absolute difference.
    pub difference_interval: (f64, f64),
    /// The relative difference, treatment/control − 1, or `None` when the control's value
    /// is zero.
    pub relative: Option<RelativeDifference>,
    /// The z statistic of the absolute difference.
    pub z: f64,
    /// The two-sided p-value of `z` under the null of no difference.
    pub p_value: f64,
}

/// The relative difference treatment/control − 1 of a ratio metric, with a delta-method
/// interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RelativeDifference {
    /// The relative difference, treatment/control − 1.
    pub value: f64,
    /// Its delta-method standard error: √(var_t/c² + t²·var_c/c⁴) for values t and c.
    pub standard_error: f64,
    /// Its two-sided confidence interval, value ± z·standard_error.
    pub interval: (f64, f64),
}

/// Compares the ratio metric of the `treatment` users with that of the `control` users at
/// the two-sided `confidence` level (for example 0.95). `None` when either arm's estimate
/// is `None`, `confidence` is not strictly between 0 and 1, or the difference has zero
/// variance (no test statistic exists).
pub fn compare_ratios(control: &[UnitTotals], treatment: &[UnitTotals], confidence: f64) -> Option<RatioComparison> {
    compare_estimates(ratio_estimate(control)?, ratio_estimate(treatment)?, confidence)
}

/// [`compare_ratios`] for estimates already computed, so a caller who keeps per-arm
/// estimates need not keep the users.
pub fn compare_estimates(control: RatioEstimate, treatment: RatioEstimate, confidence: f64) -> Option<RatioComparison> {
    if !is_open_probability(confidence) {
        return None;
    }
    let z_critical = normal_quantile(0.5 + confidence / 2.0)?;
    let difference = treatment.value - control.value;
    let variance = treatment.variance + control.variance;
    if !is_positive_finite(variance) || !difference.is_finite() {
        return None;
    }
    let difference_standard_error = variance.sqrt();
    let half = z_critical * difference_standard_error;
    let z = difference / difference_standard_error;
    let relative = (control.value != 0.0).then(|| {
        let c = control.value;
        let value = treatment.value / c - 1.0;
        let standard_error = (treatment.variance / (c * c)
            + treatment.value * treatment.value * control.variance / (c * c * c * c))
            .sqrt();
        let half = z_critical * standard_error;
        RelativeDifference { value, standard_error, interval: (value - half, value + half) }
    });
    Some(RatioComparison {
        control,
        treatment,
        difference,
        difference_standard_error,
        difference_interval: (difference - half, difference + half),
        relative: relative.filter(|r| r.value.is_finite() && r.standard_error.is_finite()),
        z,
        p_value: normal_two_sided_p_value(z)?,
    })
}

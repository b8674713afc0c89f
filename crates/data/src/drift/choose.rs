//! Which test judges a column: Evidently's default choice (`_get_default_stattest`).

use super::{ColumnKind, DriftOptions, DriftTest};

/// The test Evidently picks for a column of `kind` whose reference holds `reference_rows`
/// rows and whose two windows hold `distinct` distinct values together. Up to
/// `options.max_rows_for_p_values` reference rows: Kolmogorov–Smirnov for numeric columns
/// with more than `options.max_categorical_distinct` values, otherwise chi-square for more
/// than two values and the z-test for two or fewer. Above: the normed Wasserstein distance
/// for numeric columns with more than that many values, the Jensen–Shannon distance
/// otherwise.
pub fn choose_test(kind: ColumnKind, reference_rows: usize, distinct: usize, options: &DriftOptions) -> DriftTest {
    let many_values = distinct > options.max_categorical_distinct;
    if reference_rows <= options.max_rows_for_p_values {
        match kind {
            ColumnKind::Numeric if many_values => DriftTest::Ks,
            _ if distinct > 2 => DriftTest::ChiSquare,
            _ => DriftTest::Z,
        }
    } else {
        match kind {
            ColumnKind::Numeric if many_values => DriftTest::Wasserstein,
            _ => DriftTest::JensenShannon,
        }
    }
}

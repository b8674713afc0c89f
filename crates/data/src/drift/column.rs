//! One column's drift: its kind, the test chosen for it, and the verdict.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::binning::binned_shares;
use super::chi_square::chi_square_test;
use super::choose::choose_test;
use super::jensen_shannon::jensen_shannon;
use super::ks::ks_test;
use super::psi::{psi, PsiSeverity};
use super::wasserstein::wasserstein_normed;
use super::z_test::z_test;
use super::{DriftError, DriftMethod, DriftOptions, DriftTest, Side};

/// One column's values in one window.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", tag = "kind", content = "values")]
pub enum ColumnValues {
    /// Numbers; NaN and infinities are dropped before testing, as Evidently drops them.
    Numeric(Vec<f64>),
    /// Labels, compared for equality only.
    Categorical(Vec<String>),
}

impl ColumnValues {
    fn kind_name(&self) -> &'static str {
        match self {
            ColumnValues::Numeric(_) => "numeric",
            ColumnValues::Categorical(_) => "categorical",
        }
    }
}

/// How a column is treated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ColumnKind {
    Numeric,
    Categorical,
}

/// The verdict on one column.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ColumnDrift {
    pub kind: ColumnKind,
    pub test: DriftTest,
    /// A p-value for `ks`, `chisquare` and `z`; a distance or index otherwise.
    pub score: f64,
    /// The threshold the score was compared with.
    pub threshold: f64,
    pub drifted: bool,
    /// Rows tested on each side, after dropping NaN and infinities.
    pub reference_rows: usize,
    pub current_rows: usize,
    /// Distinct values over both windows.
    pub distinct_values: usize,
    /// For PSI only: how large the shift is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub psi_severity: Option<PsiSeverity>,
}

/// A column's two windows, cleaned and in the shape the tests read.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Samples {
    /// Finite values, sorted, with −0 folded into 0.
    Numeric { reference: Vec<f64>, current: Vec<f64> },
    /// Counts per category, aligned over the categories of both windows.
    Categorical { reference: Vec<u64>, current: Vec<u64> },
}

impl Samples {
    pub(super) fn reference_rows(&self) -> usize {
        match self {
            Samples::Numeric { reference, .. } => reference.len(),
            Samples::Categorical { reference, .. } => reference.iter().sum::<u64>() as usize,
        }
    }

    pub(super) fn current_rows(&self) -> usize {
        match self {
            Samples::Numeric { current, .. } => current.len(),
            Samples::Categorical { current, .. } => current.iter().sum::<u64>() as usize,
        }
    }

    /// Distinct values over both windows.
    pub(super) fn distinct(&self) -> usize {
        match self {
            Samples::Numeric { reference, current } => {
                let mut all: Vec<f64> = reference.iter().chain(current).copied().collect();
                all.sort_by(f64::total_cmp);
                distinct_sorted(&all)
            }
            Samples::Categorical { reference, .. } => reference.len(),
        }
    }

    /// The same windows as category counts (a numeric column's values become categories).
    pub(super) fn to_categories(&self) -> Samples {
        match self {
            Samples::Numeric { reference, current } => {
                let (reference, current) = merge_counts(reference, current);
                Samples::Categorical { reference, current }
            }
            categorical => categorical.clone(),
        }
    }
}

/// Finite values sorted, −0 folded into 0 (they are one value to a test).
pub(super) fn clean_numeric(values: &[f64]) -> Vec<f64> {
    let mut clean: Vec<f64> =
        values.iter().filter(|v| v.is_finite()).map(|&v| if v == 0.0 { 0.0 } else { v }).collect();
    clean.sort_by(f64::total_cmp);
    clean
}

/// The number of distinct values of a sorted slice.
pub(super) fn distinct_sorted(sorted: &[f64]) -> usize {
    if sorted.is_empty() {
        return 0;
    }
    1 + sorted.windows(2).filter(|pair| pair[0] != pair[1]).count()
}

/// Counts per distinct value of two sorted slices, aligned over the values of both.
fn merge_counts(reference: &[f64], current: &[f64]) -> (Vec<u64>, Vec<u64>) {
    let (mut counts_reference, mut counts_current) = (Vec::new(), Vec::new());
    let (mut i, mut j) = (0, 0);
    while i < reference.len() || j < current.len() {
        let value = match (reference.get(i), current.get(j)) {
            (Some(&a), Some(&b)) => a.min(b),
            (Some(&a), None) => a,
            (None, Some(&b)) => b,
            (None, None) => break,
        };
        let start_i = i;
        while reference.get(i) == Some(&value) {
            i += 1;
        }
        let start_j = j;
        while current.get(j) == Some(&value) {
            j += 1;
        }
        counts_reference.push((i - start_i) as u64);
        counts_current.push((j - start_j) as u64);
    }
    (counts_reference, counts_current)
}

/// Cleans both windows; an empty side or sides of different kinds are errors.
pub(super) fn prepare(reference: &ColumnValues, current: &ColumnValues) -> Result<Samples, DriftError> {
    let samples = match (reference, current) {
        (ColumnValues::Numeric(reference), ColumnValues::Numeric(current)) => {
            Samples::Numeric { reference: clean_numeric(reference), current: clean_numeric(current) }
        }
        (ColumnValues::Categorical(reference), ColumnValues::Categorical(current)) => {
            let mut counts: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
            for value in reference {
                counts.entry(value).or_default().0 += 1;
            }
            for value in current {
                counts.entry(value).or_default().1 += 1;
            }
            Samples::Categorical {
                reference: counts.values().map(|c| c.0).collect(),
                current: counts.values().map(|c| c.1).collect(),
            }
        }
        (reference, current) => {
            return Err(DriftError::MixedKinds { reference: reference.kind_name(), current: current.kind_name() })
        }
    };
    if samples.reference_rows() == 0 {
        return Err(DriftError::Empty { side: Side::Reference });
    }
    if samples.current_rows() == 0 {
        return Err(DriftError::Empty { side: Side::Current });
    }
    Ok(samples)
}

/// A column's kind: numeric when it holds numbers with more than
/// `options.max_categorical_distinct` distinct finite reference values, categorical
/// otherwise.
pub fn column_kind(reference: &ColumnValues, options: &DriftOptions) -> ColumnKind {
    match reference {
        ColumnValues::Numeric(values) if distinct_sorted(&clean_numeric(values)) > options.max_categorical_distinct => {
            ColumnKind::Numeric
        }
        _ => ColumnKind::Categorical,
    }
}

/// Judges one column: its kind, the test Evidently would choose for it (or PSI), the score
/// and whether it drifted. Errors for an empty side, sides of different kinds, or invalid
/// options.
pub fn column_drift(
    reference: &ColumnValues,
    current: &ColumnValues,
    options: &DriftOptions,
) -> Result<ColumnDrift, DriftError> {
    options.validate()?;
    let samples = prepare(reference, current)?;
    let kind = column_kind(reference, options);
    let samples = if kind == ColumnKind::Categorical { samples.to_categories() } else { samples };
    let test = match options.method {
        DriftMethod::Default => choose_test(kind, samples.reference_rows(), samples.distinct(), options),
        DriftMethod::Psi => DriftTest::Psi,
    };
    // A numeric test only ever meets a numeric column (the kind decides both), and a
    // category test reads any column as categories.
    let (reference_values, current_values) = match &samples {
        Samples::Numeric { reference, current } => (reference.as_slice(), current.as_slice()),
        Samples::Categorical { .. } => (&[][..], &[][..]),
    };
    let (score, threshold, drifted) = match test {
        DriftTest::Ks => {
            let p = ks_test(reference_values, current_values).map_or(1.0, |ks| ks.p_value);
            (p, options.p_value_threshold, p <= options.p_value_threshold)
        }
        DriftTest::Wasserstein => {
            let distance = wasserstein_normed(reference_values, current_values).unwrap_or(0.0);
            (distance, options.distance_threshold, distance >= options.distance_threshold)
        }
        DriftTest::ChiSquare | DriftTest::Z => {
            let categories = samples.to_categories();
            let (reference, current) = match &categories {
                Samples::Categorical { reference, current } => (reference.as_slice(), current.as_slice()),
                Samples::Numeric { .. } => (&[][..], &[][..]),
            };
            let p = if test == DriftTest::Z { z_test(reference, current) } else { chi_square_test(reference, current) };
            let p = p.unwrap_or(1.0);
            (p, options.p_value_threshold, p < options.p_value_threshold)
        }
        DriftTest::JensenShannon => {
            let (p, q) = binned_shares(&samples, false);
            let distance = jensen_shannon(&p, &q).unwrap_or(0.0);
            (distance, options.distance_threshold, distance >= options.distance_threshold)
        }
        DriftTest::Psi => {
            let (p, q) = binned_shares(&samples, true);
            let index = psi(&p, &q).unwrap_or(0.0);
            (index, options.psi_threshold, index >= options.psi_threshold)
        }
    };
    let psi_severity = (test == DriftTest::Psi).then(|| PsiSeverity::of(score, options));
    Ok(ColumnDrift {
        kind,
        test,
        score,
        threshold,
        drifted,
        reference_rows: samples.reference_rows(),
        current_rows: samples.current_rows(),
        distinct_values: samples.distinct(),
        psi_severity,
    })
}

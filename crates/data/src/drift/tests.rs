//! The drift tests checked against Evidently's own stattest functions and scipy
//! (`crates/data/tests/fixtures/drift/make_fixtures.py`), and for robustness on any input.

use proptest::prelude::*;
use serde::Deserialize;

use super::column::{clean_numeric, prepare, Samples};
use super::*;
use crate::stats::distributions::{kolmogorov_survival, ks_two_sample_exact_survival};

const FIXTURES: &str = include_str!("../../tests/fixtures/drift/fixtures.json");
/// Fixture values are compared to this relative tolerance.
const TOLERANCE: f64 = 1e-9;

#[derive(Deserialize)]
struct Fixtures {
    kolmogorov_survival: Vec<Survival>,
    ks: Vec<Ks>,
    chisquare: Vec<Counted>,
    z: Vec<Counted>,
    wasserstein: Vec<Wasserstein>,
    jensenshannon: Vec<Binned>,
    psi: Vec<Binned>,
    columns: Vec<Column>,
}

#[derive(Deserialize)]
struct Survival {
    x: f64,
    p: f64,
}

/// A sample written out, or described by the generator both languages share.
#[derive(Deserialize)]
#[serde(rename_all = "lowercase")]
enum Sample {
    Values(Vec<f64>),
    Generator { count: u64, multiplier: u64, modulus: u64, scale: f64, shift: f64 },
}

impl Sample {
    fn values(&self) -> Vec<f64> {
        match self {
            Sample::Values(values) => values.clone(),
            Sample::Generator { count, multiplier, modulus, scale, shift } => {
                (0..*count).map(|i| ((i * multiplier) % modulus) as f64 / *modulus as f64 * scale + shift).collect()
            }
        }
    }
}

#[derive(Deserialize)]
struct Ks {
    reference: Sample,
    current: Sample,
    statistic: f64,
    p_value: f64,
    asymptotic: bool,
    evidently_drifted: bool,
}

#[derive(Deserialize)]
struct Counted {
    reference: Vec<(String, u64)>,
    current: Vec<(String, u64)>,
    p_value: f64,
    drifted: bool,
}

#[derive(Deserialize)]
struct Wasserstein {
    reference: Sample,
    current: Sample,
    distance: f64,
    drifted: bool,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum BinnedSample {
    Counts(Vec<(String, u64)>),
    Sample(Sample),
}

#[derive(Deserialize)]
struct Binned {
    reference: BinnedSample,
    current: BinnedSample,
    score: f64,
    drifted: bool,
}

#[derive(Deserialize)]
struct Column {
    reference: Vec<f64>,
    current: Vec<f64>,
    kind: ColumnKind,
    test: DriftTest,
    score: Option<f64>,
    threshold: f64,
    drifted: bool,
}

fn fixtures() -> Fixtures {
    serde_json::from_str(FIXTURES).expect("fixtures.json parses")
}

fn assert_close(actual: f64, expected: f64, what: &str) {
    let scale = expected.abs().max(f64::MIN_POSITIVE);
    assert!(
        (actual - expected).abs() <= TOLERANCE * scale,
        "{what}: {actual:e} != {expected:e} (relative error {:e})",
        (actual - expected).abs() / scale
    );
}

/// A categorical column holding each label as often as counted.
fn labels(counts: &[(String, u64)]) -> ColumnValues {
    ColumnValues::Categorical(
        counts.iter().flat_map(|(label, count)| std::iter::repeat_n(label.clone(), *count as usize)).collect(),
    )
}

fn column(sample: &BinnedSample) -> ColumnValues {
    match sample {
        BinnedSample::Counts(counts) => labels(counts),
        BinnedSample::Sample(sample) => ColumnValues::Numeric(sample.values()),
    }
}

fn category_counts(reference: &ColumnValues, current: &ColumnValues) -> (Vec<u64>, Vec<u64>) {
    match prepare(reference, current).expect("non-empty").to_categories() {
        Samples::Categorical { reference, current } => (reference, current),
        Samples::Numeric { .. } => unreachable!("to_categories gives categories"),
    }
}

#[test]
fn kolmogorov_limit_matches_scipy() {
    for case in fixtures().kolmogorov_survival {
        assert_close(kolmogorov_survival(case.x).unwrap(), case.p, &format!("kstwobign.sf({})", case.x));
    }
}

#[test]
fn kolmogorov_smirnov_matches_scipy() {
    let options = DriftOptions::default();
    for (index, case) in fixtures().ks.iter().enumerate() {
        let (reference, current) = (case.reference.values(), case.current.values());
        let ks = ks_test(&reference, &current).unwrap();
        assert_close(ks.statistic, case.statistic, &format!("ks case {index} statistic"));
        assert_close(ks.p_value, case.p_value, &format!("ks case {index} p-value"));
        assert_eq!(ks.exact, !case.asymptotic, "ks case {index}");
        assert_eq!(ks.p_value <= options.p_value_threshold, case.evidently_drifted, "ks case {index} verdict");
    }
}

#[test]
fn exact_kolmogorov_smirnov_tail_has_known_values() {
    // Two samples of one value each: D is 1 whenever they differ, with probability 1.
    assert_eq!(ks_two_sample_exact_survival(1, 1, 1), Some(1.0));
    // Sizes 2 and 1: lcm 2; the single value lands first, between or last with chances 1/3,
    // so D = 1 with probability 2/3 (h = 2) and D ≥ 1/2 always.
    assert_close(ks_two_sample_exact_survival(2, 1, 2).unwrap(), 2.0 / 3.0, "P(D = 1 | 2, 1)");
    assert_close(ks_two_sample_exact_survival(2, 1, 1).unwrap(), 1.0, "P(D ≥ 1/2 | 2, 1)");
    assert_eq!(ks_two_sample_exact_survival(3, 4, 0), Some(1.0));
    assert_eq!(ks_two_sample_exact_survival(0, 4, 1), None);
    assert_eq!(ks_two_sample_exact_survival(3, 4, 13), None, "h beyond lcm");
}

#[test]
fn chi_square_matches_evidently() {
    for (index, case) in fixtures().chisquare.iter().enumerate() {
        let (reference, current) = category_counts(&labels(&case.reference), &labels(&case.current));
        let p = chi_square_test(&reference, &current).unwrap();
        assert_close(p, case.p_value, &format!("chi-square case {index}"));
        assert_eq!(p < 0.05, case.drifted, "chi-square case {index} verdict");
    }
}

#[test]
fn z_test_matches_evidently_with_the_accurate_tail() {
    for (index, case) in fixtures().z.iter().enumerate() {
        let (reference, current) = category_counts(&labels(&case.reference), &labels(&case.current));
        let p = z_test(&reference, &current).unwrap();
        assert_close(p, case.p_value, &format!("z case {index}"));
        assert_eq!(p < 0.05, case.drifted, "z case {index} verdict");
    }
}

#[test]
fn wasserstein_matches_evidently() {
    for (index, case) in fixtures().wasserstein.iter().enumerate() {
        let distance = wasserstein_normed(&case.reference.values(), &case.current.values()).unwrap();
        assert_close(distance, case.distance, &format!("wasserstein case {index}"));
        assert_eq!(distance >= 0.1, case.drifted, "wasserstein case {index} verdict");
    }
}

#[test]
fn jensen_shannon_and_psi_match_evidently() {
    let fixtures = fixtures();
    for (test, cases) in [(DriftTest::JensenShannon, &fixtures.jensenshannon), (DriftTest::Psi, &fixtures.psi)] {
        for (index, case) in cases.iter().enumerate() {
            let samples = prepare(&column(&case.reference), &column(&case.current)).unwrap();
            let (p, q) = super::binning::binned_shares(&samples, test == DriftTest::Psi);
            let score = if test == DriftTest::Psi { psi(&p, &q) } else { jensen_shannon(&p, &q) }.unwrap();
            assert_close(score, case.score, &format!("{} case {index}", test.name()));
            assert_eq!(score >= 0.1, case.drifted, "{} case {index} verdict", test.name());
        }
    }
}

#[test]
fn columns_get_evidently_s_kind_test_and_verdict() {
    let options = DriftOptions::default();
    for (index, case) in fixtures().columns.iter().enumerate() {
        let reference = ColumnValues::Numeric(case.reference.clone());
        let current = ColumnValues::Numeric(case.current.clone());
        let drift = column_drift(&reference, &current, &options).unwrap();
        assert_eq!((drift.kind, drift.test), (case.kind, case.test), "column case {index}");
        if let Some(score) = case.score {
            assert_close(drift.score, score, &format!("column case {index} score"));
        }
        assert_eq!(drift.threshold, case.threshold, "column case {index} threshold");
        assert_eq!(drift.drifted, case.drifted, "column case {index} verdict");
    }
}

#[test]
fn psi_option_judges_every_column_by_psi() {
    let options = DriftOptions { method: DriftMethod::Psi, ..DriftOptions::default() };
    let reference = ColumnValues::Categorical(["a", "a", "b", "c"].map(String::from).to_vec());
    let same = column_drift(&reference, &reference, &options).unwrap();
    assert_eq!(
        (same.test, same.score, same.drifted, same.psi_severity),
        (DriftTest::Psi, 0.0, false, Some(PsiSeverity::None))
    );
    let current = ColumnValues::Categorical(["c", "c", "c", "b"].map(String::from).to_vec());
    let moved = column_drift(&reference, &current, &options).unwrap();
    assert!(moved.drifted && moved.score >= 0.2, "{moved:?}");
    assert_eq!(moved.psi_severity, Some(PsiSeverity::Significant));
    assert_eq!(PsiSeverity::of(0.15, &options), PsiSeverity::Moderate);
}

#[test]
fn degenerate_columns_give_a_clear_answer() {
    let options = DriftOptions::default();
    let numbers = |v: &[f64]| ColumnValues::Numeric(v.to_vec());
    assert_eq!(
        column_drift(&numbers(&[f64::NAN, f64::INFINITY]), &numbers(&[1.0]), &options),
        Err(DriftError::Empty { side: Side::Reference })
    );
    assert_eq!(column_drift(&numbers(&[1.0]), &numbers(&[]), &options), Err(DriftError::Empty { side: Side::Current }));
    assert!(matches!(
        column_drift(&numbers(&[1.0]), &ColumnValues::Categorical(vec!["a".into()]), &options),
        Err(DriftError::MixedKinds { .. })
    ));
    // The same constant on both sides: no drift; different constants: drift.
    let same = column_drift(&numbers(&[3.0; 50]), &numbers(&[3.0; 70]), &options).unwrap();
    assert_eq!((same.kind, same.test, same.score, same.drifted), (ColumnKind::Categorical, DriftTest::Z, 1.0, false));
    let other = column_drift(&numbers(&[3.0; 50]), &numbers(&[4.0; 70]), &options).unwrap();
    assert!(other.drifted && other.score < 1e-20, "{other:?}");
    // A constant reference with many rows: the distance of two equal constants is 0.
    let large = column_drift(&numbers(&[2.0; 1500]), &numbers(&[2.0; 10]), &options).unwrap();
    assert_eq!((large.test, large.score, large.drifted), (DriftTest::JensenShannon, 0.0, false));
    // NaN is dropped, -0 is 0.
    assert_eq!(clean_numeric(&[f64::NAN, -0.0, 1.0, f64::NEG_INFINITY]), vec![0.0, 1.0]);
    assert_eq!(dataset_drift(&[], &options), Err(DriftError::NoColumns));
    let bad = DriftOptions { drift_share: f64::NAN, ..DriftOptions::default() };
    assert!(matches!(column_drift(&numbers(&[1.0]), &numbers(&[1.0]), &bad), Err(DriftError::InvalidOption { .. })));
}

#[test]
fn dataset_drifts_when_half_its_columns_do() {
    let options = DriftOptions::default();
    let verdict = dataset_drift(&[true, false, true, false], &options).unwrap();
    assert_eq!((verdict.drifted_columns, verdict.share_drifted, verdict.dataset_drifted), (2, 0.5, true));
    let verdict = dataset_drift(&[true, false, false], &options).unwrap();
    assert!(!verdict.dataset_drifted && (verdict.share_drifted - 1.0 / 3.0).abs() < 1e-15);
}

#[test]
fn the_test_depends_on_kind_size_and_values() {
    let options = DriftOptions::default();
    let choose = |kind, rows, distinct| choose_test(kind, rows, distinct, &options);
    assert_eq!(choose(ColumnKind::Numeric, 1000, 6), DriftTest::Ks);
    assert_eq!(choose(ColumnKind::Numeric, 1001, 6), DriftTest::Wasserstein);
    assert_eq!(choose(ColumnKind::Categorical, 1000, 3), DriftTest::ChiSquare);
    assert_eq!(choose(ColumnKind::Categorical, 10, 2), DriftTest::Z);
    assert_eq!(choose(ColumnKind::Categorical, 1001, 2), DriftTest::JensenShannon);
    let ages = |n: usize| ColumnValues::Numeric((0..n).map(|i| (i % 6) as f64).collect());
    assert_eq!(column_kind(&ages(100), &options), ColumnKind::Numeric);
    let few = ColumnValues::Numeric((0..100).map(|i| (i % 5) as f64).collect());
    assert_eq!(column_kind(&few, &options), ColumnKind::Categorical);
}

fn any_column() -> impl Strategy<Value = ColumnValues> {
    prop_oneof![
        proptest::collection::vec(proptest::num::f64::ANY, 0..40).prop_map(ColumnValues::Numeric),
        proptest::collection::vec(prop_oneof![Just(0.0), Just(1.0), Just(-0.0), Just(f64::NAN), -3.0f64..3.0], 0..1300)
            .prop_map(ColumnValues::Numeric),
        proptest::collection::vec("[a-c]{0,2}", 0..60).prop_map(ColumnValues::Categorical),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn nothing_panics_and_scores_stay_in_range(reference in any_column(), current in any_column(), psi_method in any::<bool>()) {
        let options = DriftOptions { method: if psi_method { DriftMethod::Psi } else { DriftMethod::Default }, ..DriftOptions::default() };
        if let Ok(drift) = column_drift(&reference, &current, &options) {
            prop_assert!(!drift.score.is_nan(), "{drift:?}");
            if drift.test.is_p_value() {
                prop_assert!((0.0..=1.0).contains(&drift.score), "{drift:?}");
            } else {
                prop_assert!(drift.score >= 0.0, "{drift:?}");
            }
        }
        if let (ColumnValues::Numeric(a), ColumnValues::Numeric(b)) = (&reference, &current) {
            let _ = ks_test(a, b);
            let _ = wasserstein_normed(a, b);
            let _ = jensen_shannon(a, b);
            let _ = psi(a, b);
        }
    }

    #[test]
    fn exact_tail_is_a_probability(n1 in 1u64..60, n2 in 1u64..60, h in 0u64..4000) {
        if let Some(p) = ks_two_sample_exact_survival(n1, n2, h) {
            prop_assert!((0.0..=1.0).contains(&p));
        }
        let _ = kolmogorov_survival(h as f64 / 1000.0);
    }
}

//! The statistics checked against values computed independently by scipy, numpy and gbstats
//! (`crates/data/tests/fixtures/stats/make_fixtures.py`), for robustness on arbitrary input,
//! and for the error rate of repeated peeking in simulated A/A experiments.

use proptest::prelude::*;
use serde::Deserialize;

use super::distributions::{
    chi_square_survival, ln_gamma, normal_cdf, normal_quantile, student_t_cdf, student_t_quantile,
};
use super::off_policy::test_rng;
use super::*;

const FIXTURES: &str = include_str!("../../tests/fixtures/stats/fixtures.json");

#[derive(Deserialize)]
struct Fixtures {
    normal_cdf: Vec<NormalCdf>,
    normal_quantile: Vec<NormalQuantile>,
    student_t_cdf: Vec<TCdf>,
    student_t_quantile: Vec<TQuantile>,
    chi_square_survival: Vec<ChiSquare>,
    welch: Vec<Welch>,
    srm: Vec<Srm>,
    sign_test: Vec<Sign>,
    ratio: Vec<Ratio>,
    sequential: Vec<Sequential>,
    off_policy: Vec<OffPolicy>,
}

#[derive(Deserialize)]
struct NormalCdf {
    x: f64,
    p: f64,
}

#[derive(Deserialize)]
struct NormalQuantile {
    p: f64,
    x: f64,
}

#[derive(Deserialize)]
struct TCdf {
    t: f64,
    df: f64,
    p: f64,
}

#[derive(Deserialize)]
struct TQuantile {
    p: f64,
    df: f64,
    t: f64,
}

#[derive(Deserialize)]
struct ChiSquare {
    x: f64,
    df: f64,
    p: f64,
}

#[derive(Deserialize)]
struct Welch {
    a: Vec<f64>,
    b: Vec<f64>,
    mean_difference: f64,
    t: f64,
    df: f64,
    p_value: f64,
    interval_95: (f64, f64),
    interval_90: (f64, f64),
}

#[derive(Deserialize)]
struct Srm {
    observed: Vec<u64>,
    weights: Vec<f64>,
    chi_square: f64,
    p_value: f64,
}

#[derive(Deserialize)]
struct Sign {
    wins_a: u64,
    wins_b: u64,
    p_value: f64,
}

#[derive(Deserialize)]
struct Ratio {
    control: Vec<(f64, f64)>,
    treatment: Vec<(f64, f64)>,
    control_value: f64,
    control_variance: f64,
    treatment_value: f64,
    treatment_variance: f64,
    difference: f64,
    difference_interval: (f64, f64),
    relative: f64,
    relative_interval: (f64, f64),
    z: f64,
    p_value: f64,
}

#[derive(Deserialize)]
struct Sequential {
    estimate: f64,
    variance: f64,
    total_units: u64,
    alpha: f64,
    tuning: f64,
    interval: (f64, f64),
}

#[derive(Deserialize)]
struct OffPolicy {
    records: Vec<(f64, f64, f64)>,
    ips: f64,
    snips: f64,
    seed: u64,
    resamples: usize,
    ips_interval: (f64, f64),
    snips_interval: (f64, f64),
}

fn fixtures() -> Fixtures {
    serde_json::from_str(FIXTURES).expect("the fixture file parses")
}

/// Asserts `actual` is within `relative` of `expected` (absolutely, for an expected zero).
#[track_caller]
fn assert_close(actual: f64, expected: f64, relative: f64, what: &str) {
    let scale = expected.abs().max(if expected == 0.0 { 1.0 } else { 0.0 });
    assert!(
        (actual - expected).abs() <= relative * scale,
        "{what}: {actual:e} != {expected:e} (relative error {:e})",
        (actual - expected).abs() / scale
    );
}

#[track_caller]
fn assert_pair_close(actual: (f64, f64), expected: (f64, f64), relative: f64, what: &str) {
    assert_close(actual.0, expected.0, relative, what);
    assert_close(actual.1, expected.1, relative, what);
}

/// Fixture values are compared to this relative tolerance.
const TOLERANCE: f64 = 1e-9;

fn units(pairs: &[(f64, f64)]) -> Vec<UnitTotals> {
    pairs.iter().map(|&(numerator, denominator)| UnitTotals { numerator, denominator }).collect()
}

#[test]
fn ln_gamma_matches_factorials() {
    // ln Γ(n) = ln (n − 1)!, and Γ(½) = √π.
    assert_close(ln_gamma(1.0).unwrap(), 0.0, TOLERANCE, "lnΓ(1)");
    assert_close(ln_gamma(11.0).unwrap(), 3_628_800f64.ln(), 1e-14, "lnΓ(11)");
    assert_close(ln_gamma(0.5).unwrap(), std::f64::consts::PI.sqrt().ln(), 1e-14, "lnΓ(½)");
    assert_eq!(ln_gamma(0.0), None);
    assert_eq!(ln_gamma(f64::NAN), None);
}

#[test]
fn distributions_match_scipy() {
    let f = fixtures();
    for c in &f.normal_cdf {
        assert_close(normal_cdf(c.x).unwrap(), c.p, TOLERANCE, &format!("Φ({})", c.x));
    }
    for c in &f.normal_quantile {
        assert_close(normal_quantile(c.p).unwrap(), c.x, TOLERANCE, &format!("Φ⁻¹({})", c.p));
    }
    for c in &f.student_t_cdf {
        assert_close(student_t_cdf(c.t, c.df).unwrap(), c.p, TOLERANCE, &format!("T({}; {})", c.t, c.df));
    }
    for c in &f.student_t_quantile {
        assert_close(student_t_quantile(c.p, c.df).unwrap(), c.t, TOLERANCE, &format!("T⁻¹({}; {})", c.p, c.df));
    }
    for c in &f.chi_square_survival {
        assert_close(chi_square_survival(c.x, c.df).unwrap(), c.p, TOLERANCE, &format!("χ² sf({}; {})", c.x, c.df));
    }
}

#[test]
fn welch_matches_scipy() {
    for (i, c) in fixtures().welch.iter().enumerate() {
        let test = welch_t_test(&c.a, &c.b).expect("a test");
        let what = format!("welch case {i}");
        assert_close(test.mean_difference, c.mean_difference, TOLERANCE, &what);
        assert_close(test.t, c.t, TOLERANCE, &what);
        assert_close(test.degrees_of_freedom, c.df, TOLERANCE, &what);
        assert_close(test.p_value, c.p_value, TOLERANCE, &what);
        assert_pair_close(test.interval_95, c.interval_95, TOLERANCE, &what);
        assert_pair_close(test.interval(0.9).unwrap(), c.interval_90, TOLERANCE, &what);
    }
}

#[test]
fn sample_ratio_matches_scipy() {
    let f = fixtures();
    for c in &f.srm {
        let check = sample_ratio_mismatch(&c.observed, &c.weights).expect("a check");
        let what = format!("SRM {:?}", c.observed);
        assert_close(check.chi_square, c.chi_square, TOLERANCE, &what);
        assert_close(check.p_value, c.p_value, TOLERANCE, &what);
        assert_eq!(check.df, c.observed.len() as u64 - 1);
        assert_eq!(check.mismatch, c.p_value < 0.001, "{what}");
    }
    // The fixtures include a clear mismatch and a fine split.
    assert!(sample_ratio_mismatch(&[5300, 4700], &[1.0, 1.0]).unwrap().mismatch);
    assert!(!sample_ratio_mismatch(&[5050, 4950], &[50.0, 50.0]).unwrap().mismatch);
}

#[test]
fn sign_test_matches_scipy() {
    for c in &fixtures().sign_test {
        let test = sign_test(c.wins_a, c.wins_b).expect("a test");
        let what = format!("sign test {} vs {}", c.wins_a, c.wins_b);
        assert_close(test.p_value, c.p_value, TOLERANCE, &what);
        let total = (c.wins_a + c.wins_b) as f64;
        assert_close(test.preference, (c.wins_b as f64 - c.wins_a as f64) / total, 1e-15, &what);
    }
}

#[test]
fn ratios_match_numpy() {
    for (i, c) in fixtures().ratio.iter().enumerate() {
        let (control, treatment) = (units(&c.control), units(&c.treatment));
        let what = format!("ratio case {i}");
        let estimate = ratio_estimate(&control).unwrap();
        assert_close(estimate.value, c.control_value, TOLERANCE, &what);
        assert_close(estimate.variance, c.control_variance, TOLERANCE, &what);
        assert_eq!(estimate.units, control.len() as u64);
        let comparison = compare_ratios(&control, &treatment, 0.95).unwrap();
        assert_close(comparison.treatment.value, c.treatment_value, TOLERANCE, &what);
        assert_close(comparison.treatment.variance, c.treatment_variance, TOLERANCE, &what);
        assert_close(comparison.difference, c.difference, TOLERANCE, &what);
        assert_pair_close(comparison.difference_interval, c.difference_interval, TOLERANCE, &what);
        let relative = comparison.relative.unwrap();
        assert_close(relative.value, c.relative, TOLERANCE, &what);
        assert_pair_close(relative.interval, c.relative_interval, TOLERANCE, &what);
        assert_close(comparison.z, c.z, TOLERANCE, &what);
        assert_close(comparison.p_value, c.p_value, TOLERANCE, &what);
    }
}

#[test]
fn sequential_matches_gbstats() {
    for (i, c) in fixtures().sequential.iter().enumerate() {
        let interval = sequential_interval(c.estimate, c.variance, c.total_units, c.alpha, c.tuning).unwrap();
        assert_pair_close(interval, c.interval, TOLERANCE, &format!("sequential case {i}"));
    }
}

#[test]
fn off_policy_matches_numpy() {
    for (i, c) in fixtures().off_policy.iter().enumerate() {
        let records: Vec<LoggedRecord> = c
            .records
            .iter()
            .map(|&(logging_propensity, target_probability, reward)| LoggedRecord {
                logging_propensity,
                target_probability,
                reward,
            })
            .collect();
        let what = format!("off-policy case {i}");
        assert_close(ips(&records).unwrap(), c.ips, TOLERANCE, &what);
        assert_close(snips(&records).unwrap(), c.snips, TOLERANCE, &what);
        let ips_interval = bootstrap_interval(&records, Estimator::Ips, c.resamples, 0.95, c.seed).unwrap();
        assert_pair_close(ips_interval, c.ips_interval, TOLERANCE, &what);
        let snips_interval = bootstrap_interval(&records, Estimator::Snips, c.resamples, 0.95, c.seed).unwrap();
        assert_pair_close(snips_interval, c.snips_interval, TOLERANCE, &what);
        // The same seed gives the same interval.
        assert_eq!(bootstrap_interval(&records, Estimator::Ips, c.resamples, 0.95, c.seed).unwrap(), ips_interval);
    }
}

#[test]
fn degenerate_inputs_are_refused() {
    assert!(welch_t_test(&[], &[1.0, 2.0]).is_none());
    assert!(welch_t_test(&[1.0], &[1.0, 2.0]).is_none());
    assert!(welch_t_test(&[3.0, 3.0], &[3.0, 3.0, 3.0]).is_none(), "zero variance");
    assert!(welch_t_test(&[1.0, f64::NAN], &[1.0, 2.0]).is_none());

    let same = [UnitTotals { numerator: 1.0, denominator: 2.0 }; 5];
    assert_eq!(ratio_estimate(&same).unwrap().variance, 0.0);
    assert!(compare_ratios(&same, &same, 0.95).is_none(), "zero variance");
    assert!(ratio_estimate(&[UnitTotals { numerator: 0.0, denominator: 0.0 }; 3]).is_none(), "no denominator");
    assert!(ratio_estimate(&[]).is_none());
    let varied = [UnitTotals { numerator: 0.0, denominator: 1.0 }, UnitTotals { numerator: 1.0, denominator: 1.0 }];
    assert!(compare_ratios(&varied, &varied, 1.0).is_none());
    assert!(compare_ratios(&varied, &varied, 0.95).unwrap().relative.is_some());

    assert!(sample_ratio_mismatch(&[], &[]).is_none());
    assert!(sample_ratio_mismatch(&[0, 0], &[1.0, 1.0]).is_none());
    assert!(sample_ratio_mismatch(&[5, 5], &[1.0]).is_none());
    assert!(sample_ratio_mismatch(&[5, 5], &[1.0, 0.0]).is_none());
    assert!(sample_ratio_mismatch(&[5, 5], &[1.0, f64::NAN]).is_none());

    assert!(sign_test(0, 0).is_none());
    assert!(sequential_interval(0.1, 0.01, 0, 0.05, 5000.0).is_none());
    assert!(sequential_interval(0.1, -0.01, 10, 0.05, 5000.0).is_none());
    assert!(sequential_interval(0.1, 0.01, 10, 1.0, 5000.0).is_none());
    assert!(sequential_interval(f64::NAN, 0.01, 10, 0.05, 5000.0).is_none());

    let record = |logging_propensity, target_probability, reward| LoggedRecord {
        logging_propensity,
        target_probability,
        reward,
    };
    assert_eq!(ips(&[]), Err(OffPolicyError::Empty));
    assert!(matches!(ips(&[record(0.0, 0.5, 1.0)]), Err(OffPolicyError::Propensity { index: 0, .. })));
    assert!(matches!(
        snips(&[record(0.5, 0.5, 1.0), record(1.5, 0.5, 1.0)]),
        Err(OffPolicyError::Propensity { index: 1, .. })
    ));
    assert!(matches!(ips(&[record(-0.1, 0.5, 1.0)]), Err(OffPolicyError::Propensity { .. })));
    assert!(matches!(ips(&[record(0.5, 1.5, 1.0)]), Err(OffPolicyError::TargetProbability { .. })));
    assert!(matches!(ips(&[record(0.5, 0.5, f64::NAN)]), Err(OffPolicyError::Reward { .. })));
    assert_eq!(snips(&[record(0.5, 0.0, 1.0)]), Err(OffPolicyError::ZeroWeights));
    assert_eq!(
        bootstrap_interval(&[record(0.5, 0.5, 1.0)], Estimator::Ips, 0, 0.95, 1),
        Err(OffPolicyError::Bootstrap)
    );

    assert!(normal_quantile(0.0).is_none() && normal_quantile(1.0).is_none() && normal_quantile(f64::NAN).is_none());
    assert!(student_t_cdf(1.0, 0.0).is_none() && student_t_quantile(0.5, -1.0).is_none());
    assert!(chi_square_survival(-1.0, 1.0).is_none());
}

#[test]
fn decision_rules_validate_once() {
    assert!(DecisionRules::default().validate().is_ok());
    assert_eq!(DecisionRules::default().min_users_per_arm, 100);
    let bad_alpha = DecisionRules { alpha: 1.0, ..DecisionRules::default() };
    assert_eq!(bad_alpha.validate(), Err(InvalidRules::Alpha(1.0)));
    let bad_tuning = DecisionRules { sequential_tuning: f64::INFINITY, ..DecisionRules::default() };
    assert!(matches!(bad_tuning.validate(), Err(InvalidRules::Tuning(_))));
    let bad_minimum = DecisionRules { min_users_per_arm: 1, ..DecisionRules::default() };
    assert_eq!(bad_minimum.validate(), Err(InvalidRules::MinUsers(1)));
}

/// `n` users with one served list each, the first `clicks` of whom clicked.
fn bernoulli_users(n: usize, clicks: usize) -> Vec<UnitTotals> {
    (0..n).map(|i| UnitTotals { numerator: if i < clicks { 1.0 } else { 0.0 }, denominator: 1.0 }).collect()
}

#[test]
fn decisions_follow_the_rules() {
    let rules = ValidDecisionRules::default();
    let decide_on = |control: &[UnitTotals], challenger: &[UnitTotals]| {
        decide(&DecisionInput { control, challenger, weights: [1.0, 1.0] }, &rules)
    };
    // A 6000/4000 split against even weights is a mismatch, whatever the click rates say.
    let blocked = decide_on(&bernoulli_users(6000, 600), &bernoulli_users(4000, 1200));
    assert!(matches!(blocked, Decision::Blocked { .. }), "{blocked:?}");
    // Too few users.
    assert!(matches!(decide_on(&bernoulli_users(50, 5), &bernoulli_users(50, 30)), Decision::KeepRunning { .. }));
    // No clicks anywhere: nothing to compare yet.
    assert!(matches!(decide_on(&bernoulli_users(500, 0), &bernoulli_users(500, 0)), Decision::KeepRunning { .. }));
    // Equal click rates: the interval contains 0.
    assert!(matches!(
        decide_on(&bernoulli_users(3000, 300), &bernoulli_users(3000, 310)),
        Decision::KeepRunning { .. }
    ));
    // A large lift is promoted and a large drop rolled back.
    let promote = decide_on(&bernoulli_users(3000, 300), &bernoulli_users(3000, 450));
    assert!(matches!(promote, Decision::Promote { difference, interval } if difference > 0.0 && interval.0 > 0.0));
    let roll_back = decide_on(&bernoulli_users(3000, 450), &bernoulli_users(3000, 300));
    assert!(matches!(roll_back, Decision::RollBack { interval, .. } if interval.1 < 0.0));
    // The JSON the edge and the CLI print.
    let json = serde_json::to_value(&promote).unwrap();
    assert_eq!(json["decision"], "promote");
    let json = serde_json::to_value(&blocked).unwrap();
    assert_eq!(json["decision"], "blocked");
    assert!(json["reason"].as_str().unwrap().contains("sample ratio mismatch"));
    let json = serde_json::to_value(decide_on(&bernoulli_users(5, 0), &bernoulli_users(5, 1))).unwrap();
    assert_eq!(json["decision"], "keep_running");
    assert_eq!(serde_json::to_value(&roll_back).unwrap()["decision"], "roll_back");
}

/// How many of 100 seeded A/A experiments (2,000 Bernoulli users per arm with a 10% click
/// rate, read after every 100 users per arm) ever exclude 0 from the interval of the
/// click-rate difference: the sequential interval's, and a fixed-horizon 95% z interval's.
fn aa_false_positives() -> (usize, usize) {
    let mut next = test_rng(0x5eed_a0a0);
    let mut click = move || (next() >> 11) as f64 / (1u64 << 53) as f64 <= 0.1;
    let (mut sequential_hits, mut naive_hits) = (0, 0);
    for _ in 0..100 {
        let arm = |click: &mut dyn FnMut() -> bool| -> Vec<UnitTotals> {
            (0..2000).map(|_| UnitTotals { numerator: if click() { 1.0 } else { 0.0 }, denominator: 1.0 }).collect()
        };
        let control = arm(&mut click);
        let challenger = arm(&mut click);
        let (mut sequential_excluded, mut naive_excluded) = (false, false);
        for users in (100..=2000).step_by(100) {
            let Some(comparison) = compare_ratios(&control[..users], &challenger[..users], 0.95) else { continue };
            let (low, high) = comparison.difference_interval;
            naive_excluded |= low > 0.0 || high < 0.0;
            let variance = comparison.difference_standard_error.powi(2);
            let (low, high) =
                sequential_interval(comparison.difference, variance, 2 * users as u64, 0.05, DEFAULT_SEQUENTIAL_TUNING)
                    .unwrap();
            sequential_excluded |= low > 0.0 || high < 0.0;
        }
        sequential_hits += usize::from(sequential_excluded);
        naive_hits += usize::from(naive_excluded);
    }
    (sequential_hits, naive_hits)
}

#[test]
fn sequential_intervals_survive_peeking_in_aa_tests() {
    let (sequential, naive) = aa_false_positives();
    // Measured with this seed: the sequential interval excluded 0 at some peek in 1 of 100
    // experiments; the fixed-horizon 95% z interval, read at the same 20 peeks, in 28 of 100.
    assert!(sequential <= 5, "the sequential interval excluded 0 in {sequential} of 100 A/A experiments");
    // The check has teeth: the fixed-horizon interval read 20 times fails it.
    assert!(naive > 5, "the naive interval excluded 0 in only {naive} of 100 A/A experiments");
    eprintln!("A/A experiments excluding 0 at some peek: sequential {sequential}/100, naive {naive}/100");
}

proptest! {
    #[test]
    fn nothing_panics_on_arbitrary_floats(
        a in proptest::collection::vec(proptest::num::f64::ANY, 0..6),
        b in proptest::collection::vec(proptest::num::f64::ANY, 0..6),
        x in proptest::num::f64::ANY,
        y in proptest::num::f64::ANY,
        z in proptest::num::f64::ANY,
        n in any::<u64>(),
        m in any::<u64>(),
    ) {
        let _ = welch_t_test(&a, &b);
        let totals: Vec<UnitTotals> = a.iter().zip(&b).map(|(&numerator, &denominator)| UnitTotals { numerator, denominator }).collect();
        let _ = ratio_estimate(&totals);
        let _ = compare_ratios(&totals, &totals[totals.len() / 2..], x);
        let _ = sample_ratio_mismatch(&[n, m], &[x, y]);
        let _ = sample_ratio_mismatch(&[n % 1000, m % 1000, 7], &[x, y, z]);
        let _ = sequential_interval(x, y, n, z, x);
        let _ = sign_test(n % 100_000, m % 100_000);
        let _ = sign_test(n, m);
        let _ = normal_cdf(x);
        let _ = normal_quantile(x);
        let _ = student_t_cdf(x, y);
        let _ = student_t_quantile(x, y);
        let _ = chi_square_survival(x, y);
        let _ = ln_gamma(x);
        let _ = wilson_interval(n, m, x);
        let _ = mean_interval(x, y, n, z);
        let records: Vec<LoggedRecord> = a.iter().zip(&b).map(|(&logging_propensity, &target_probability)| LoggedRecord { logging_propensity, target_probability, reward: x }).collect();
        let _ = ips(&records);
        let _ = snips(&records);
        let _ = bootstrap_interval(&records, Estimator::Snips, 3, y, n);
        let rules = DecisionRules { min_users_per_arm: n % 10, alpha: x, sequential_tuning: y };
        if let Ok(rules) = rules.validate() {
            let _ = decide(&DecisionInput { control: &totals, challenger: &totals, weights: [z, 1.0] }, &rules);
        }
    }

    #[test]
    fn probabilities_stay_in_range(x in -50.0f64..50.0, df in 0.01f64..1e6, p in 1e-12f64..1.0) {
        let cdf = student_t_cdf(x, df).unwrap();
        prop_assert!((0.0..=1.0).contains(&cdf));
        let normal = normal_cdf(x).unwrap();
        prop_assert!((0.0..=1.0).contains(&normal));
        if p < 1.0 {
            let q = normal_quantile(p).unwrap();
            prop_assert!((normal_cdf(q).unwrap() - p).abs() <= 1e-12 * p.max(1e-300).max(1.0 - p));
        }
    }
}

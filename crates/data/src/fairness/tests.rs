//! The fairness figures against hand-computed cases, against numpy
//! (`crates/data/tests/fixtures/fairness/make_fixtures.py`), and on arbitrary input.

use proptest::prelude::*;
use serde::Deserialize;

use super::*;
use crate::stats::UnitTotals;

const FIXTURES: &str = include_str!("../../tests/fixtures/fairness/fixtures.json");

#[derive(Deserialize)]
struct Fixtures {
    gini: Vec<GiniCase>,
    bootstrap: Vec<BootstrapCase>,
}

#[derive(Deserialize)]
struct GiniCase {
    counts: Vec<u64>,
    gini: f64,
}

#[derive(Deserialize)]
struct BootstrapCase {
    name: String,
    numerators: Vec<f64>,
    denominators: Vec<f64>,
    seed: u64,
    resamples: usize,
    confidence: f64,
    value: f64,
    low: f64,
    high: f64,
}

fn close(actual: f64, expected: f64, what: &str) {
    let tolerance = 1e-9 * expected.abs().max(1.0);
    assert!((actual - expected).abs() <= tolerance, "{what}: {actual} != {expected}");
}

fn units(values: &[(f64, f64)]) -> Vec<UnitTotals> {
    values.iter().map(|&(numerator, denominator)| UnitTotals { numerator, denominator }).collect()
}

fn group(name: &str, value: f64, eligible: bool) -> GroupValue {
    GroupValue { group: name.into(), value, eligible }
}

#[test]
fn gini_matches_hand_computed_values_and_numpy() {
    // Sorted weights -3, -1, 1, 3 over [1, 2, 3, 4]: 10 / (4 * 10); pairwise, 20 / (2 * 16 * 2.5).
    close(gini(&[4, 1, 3, 2]), 0.25, "[1,2,3,4]");
    close(gini(&[0, 0, 0, 5]), 0.75, "one item has everything");
    assert_eq!(gini(&[3, 3, 3]), 0.0);
    assert_eq!(gini(&[]), 0.0);
    assert_eq!(gini(&[0, 0]), 0.0);
    let fixtures: Fixtures = serde_json::from_str(FIXTURES).unwrap();
    for case in &fixtures.gini {
        close(gini(&case.counts), case.gini, &format!("gini of {} counts", case.counts.len()));
    }
}

#[test]
fn bootstrap_value_is_the_ratio_of_sums_and_its_interval_matches_numpy() {
    // One user clicked 1 of 1 list, the other 0 of 3: 1/4, not the mean of 1 and 0.
    let two = bootstrap_ratio(&units(&[(1.0, 1.0), (0.0, 3.0)]), 200, 0.95, 1).unwrap();
    close(two.value, 0.25, "ratio of sums");
    assert!(two.low >= 0.0 && two.high <= 1.0 && two.low <= two.value && two.value <= two.high);
    // Identical users: every resample is the same, so the interval has no width.
    let same = bootstrap_ratio(&units(&[(0.5, 1.0); 10]), 100, 0.95, 9).unwrap();
    assert_eq!((same.value, same.low, same.high), (0.5, 0.5, 0.5));

    let fixtures: Fixtures = serde_json::from_str(FIXTURES).unwrap();
    for case in &fixtures.bootstrap {
        let users: Vec<UnitTotals> = case
            .numerators
            .iter()
            .zip(&case.denominators)
            .map(|(&numerator, &denominator)| UnitTotals { numerator, denominator })
            .collect();
        let estimate = bootstrap_ratio(&users, case.resamples, case.confidence, case.seed).unwrap();
        close(estimate.value, case.value, &case.name);
        close(estimate.low, case.low, &format!("{} low", case.name));
        close(estimate.high, case.high, &format!("{} high", case.name));
        assert_eq!(bootstrap_ratio(&users, case.resamples, case.confidence, case.seed), Some(estimate));
        if case.name == "ndcg" {
            // Continuous per-user values: another seed draws other resamples, other bounds.
            assert_ne!(bootstrap_ratio(&users, case.resamples, case.confidence, case.seed + 1), Some(estimate));
        }
    }
}

#[test]
fn bootstrap_refuses_what_it_cannot_resample() {
    assert_eq!(bootstrap_ratio(&[], 100, 0.95, 1), None);
    assert_eq!(bootstrap_ratio(&units(&[(1.0, 1.0)]), 0, 0.95, 1), None);
    assert_eq!(bootstrap_ratio(&units(&[(1.0, 1.0)]), 10, 1.0, 1), None);
    assert_eq!(bootstrap_ratio(&units(&[(1.0, 0.0), (0.0, 0.0)]), 10, 0.95, 1), None, "no denominator");
    assert_eq!(bootstrap_ratio(&units(&[(f64::NAN, 1.0)]), 10, 0.95, 1), None);
    assert_eq!(bootstrap_ratio(&units(&[(1.0, -1.0), (1.0, 2.0)]), 10, 0.95, 1), None);
}

#[test]
fn deciles_split_the_catalog_by_training_popularity() {
    assert_eq!(popularity_ranks(&[5, 9, 5, 0]), vec![1, 0, 2, 3], "ties go to the earlier item");
    // Twenty items, item i with 20 - i training interactions: two items per decile.
    let training: Vec<u64> = (0..20).map(|i| 20 - i).collect();
    let mut exposure = vec![0u64; 20];
    (exposure[0], exposure[19]) = (10, 30);
    let mut relevant = vec![0u64; 20];
    (relevant[2], relevant[5]) = (3, 1);
    let deciles = decile_shares(&training, &exposure, &relevant).unwrap();
    assert_eq!(deciles.len(), DECILES);
    assert!(deciles.iter().all(|d| d.items == 2));
    assert_eq!((deciles[0].decile, deciles[0].training_interactions), (1, 20 + 19));
    close(deciles[0].exposure_share, 0.25, "decile 1 exposure");
    close(deciles[9].exposure_share, 0.75, "decile 10 exposure");
    close(deciles[1].relevant_share, 0.75, "decile 2 relevant (item 2)");
    close(deciles[2].relevant_share, 0.25, "decile 3 relevant (item 5)");
    assert_eq!(deciles[4].exposure_share + deciles[4].relevant_share, 0.0);
    // Seven items: ranks 0..6 fall in deciles 1, 2, 3, 5, 6, 8, 9.
    let small = decile_shares(&[7, 6, 5, 4, 3, 2, 1], &[1; 7], &[0; 7]).unwrap();
    let sizes: Vec<usize> = small.iter().map(|d| d.items).collect();
    assert_eq!(sizes, vec![1, 1, 1, 0, 1, 1, 0, 1, 1, 0]);
    assert!(small.iter().all(|d| d.relevant_share == 0.0), "nothing relevant: shares 0");
    assert_eq!(decile_shares(&[1, 2], &[1], &[1, 1]), None);
    assert_eq!(decile_shares(&[], &[], &[]).map(|d| d.iter().map(|d| d.items).sum::<usize>()), Some(0));
}

#[test]
fn the_long_tail_is_outside_the_most_popular_fifth() {
    // Ten items, the two most popular (items 3 and 7) are the head.
    let training = [1, 2, 3, 90, 4, 5, 6, 80, 7, 8];
    let tail = long_tail_items(&training, DEFAULT_HEAD_SHARE).unwrap();
    let head: Vec<usize> = tail.iter().enumerate().filter(|(_, &long)| !long).map(|(item, _)| item).collect();
    assert_eq!(head, vec![3, 7]);
    let exposure = [1, 0, 0, 3, 0, 0, 2, 3, 1, 0];
    close(long_tail_share(&training, &exposure, DEFAULT_HEAD_SHARE).unwrap(), 4.0 / 10.0, "tail slots");
    assert_eq!(long_tail_share(&training, &exposure, 0.0), Some(1.0));
    assert_eq!(long_tail_share(&training, &exposure, 1.0), Some(0.0));
    // Eleven items at 20%: a head of ⌈2.2⌉ = 3.
    assert_eq!(long_tail_items(&[1; 11], 0.2).unwrap().iter().filter(|&&long| !long).count(), 3);
    assert_eq!(long_tail_share(&training, &[0; 10], 0.2), None, "nothing shown");
    assert_eq!(long_tail_share(&training, &[1; 9], 0.2), None);
    assert_eq!(long_tail_items(&training, 1.5), None);
    assert_eq!(long_tail_items(&training, f64::NAN), None);
}

#[test]
fn the_ratio_is_worst_over_best_among_eligible_groups() {
    let groups = [group("F 25-34", 0.5, true), group("M 25-34", 0.4, true), group("F <18", 0.1, false)];
    let ratio = worst_to_best(&groups).unwrap();
    assert_eq!((ratio.worst_group.as_str(), ratio.best_group.as_str()), ("M 25-34", "F 25-34"));
    close(ratio.ratio, 0.8, "0.4 / 0.5");
    assert!(!ratio.flagged, "exactly four fifths passes");
    assert_eq!(ratio.groups, 2, "the small group is left out");
    let flagged = worst_to_best(&[groups[0].clone(), group("M 55+", 0.39, true)]).unwrap();
    close(flagged.ratio, 0.78, "0.39 / 0.5");
    assert!(flagged.flagged);
    assert_eq!(worst_to_best(&[group("a", 0.0, true), group("b", 0.0, true)]), None, "all zero");
    assert_eq!(worst_to_best(&[group("a", 0.3, true), group("b", 0.9, false)]), None, "one group");
    assert_eq!(worst_to_best(&[]), None);
    let zero = worst_to_best(&[group("a", 0.0, true), group("b", 0.2, true), group("c", f64::NAN, true)]).unwrap();
    assert_eq!((zero.ratio, zero.flagged, zero.groups), (0.0, true, 2));
}

proptest! {
    #[test]
    fn never_panics_and_stays_in_range(
        counts in proptest::collection::vec(0u64..1_000_000, 0..60),
        values in proptest::collection::vec((-1e3f64..1e3, -1.0f64..10.0), 0..40),
        share in -0.5f64..1.5,
        seed in any::<u64>(),
    ) {
        let g = gini(&counts);
        prop_assert!((0.0..=1.0).contains(&g));
        let exposure: Vec<u64> = counts.iter().rev().copied().collect();
        if let Some(deciles) = decile_shares(&counts, &exposure, &counts) {
            let total: f64 = deciles.iter().map(|d| d.exposure_share).sum();
            prop_assert!(total == 0.0 || (total - 1.0).abs() < 1e-9);
        }
        if let Some(share) = long_tail_share(&counts, &exposure, share) {
            prop_assert!((0.0..=1.0).contains(&share));
        }
        let users = units(&values);
        if let Some(estimate) = bootstrap_ratio(&users, 20, 0.9, seed) {
            prop_assert!(estimate.low <= estimate.high);
        }
        let groups: Vec<GroupValue> =
            values.iter().enumerate().map(|(i, &(value, _))| group(&i.to_string(), value, i % 3 != 0)).collect();
        if let Some(ratio) = worst_to_best(&groups) {
            prop_assert!((0.0..=1.0).contains(&ratio.ratio));
        }
    }
}

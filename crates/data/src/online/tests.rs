//! Small hand-made logs whose figures are worked out in the comments.

use super::*;

fn impression(id: &str, user: u64, time_ms: i64, variant: &str, list: &str) -> EdgeRow {
    EdgeRow {
        seq: 0,
        id: id.into(),
        kind: EdgeKind::Impression,
        time_ms,
        user_id: user,
        movie_id: None,
        value: Some(list.into()),
        variant: Some(variant.into()),
        version: Some("v1".into()),
        reference: None,
        latency_us: Some(100),
        teams: None,
    }
}

fn event(kind: EdgeKind, user: u64, time_ms: i64, movie: &str, value: &str, reference: Option<&str>) -> EdgeRow {
    EdgeRow {
        seq: 0,
        id: format!("{}-{user}-{time_ms}-{movie}", kind.as_str()),
        kind,
        time_ms,
        user_id: user,
        movie_id: Some(movie.into()),
        value: Some(value.into()),
        variant: None,
        version: None,
        reference: reference.map(Into::into),
        latency_us: None,
        teams: None,
    }
}

fn outcomes(rows: &[EdgeRow], window_ms: i64) -> Vec<Result<Attributed, Unattributed>> {
    attribute(rows, window_ms).into_iter().map(|attribution| attribution.outcome).collect()
}

fn close(actual: f64, expected: f64) {
    assert!((actual - expected).abs() < 1e-9, "{actual} != {expected}");
}

#[test]
fn an_event_with_a_ref_belongs_to_that_impression_whatever_the_times() {
    let rows = vec![
        impression("r1", 1, 1_000, "A", "a,b,c"),
        // Before the impression by the clock, but the ref ties them: rank 2.
        event(EdgeKind::Click, 1, 500, "b", "", Some("r1")),
        // A movie the list lacks: still the list's, with no rank.
        event(EdgeKind::Click, 1, 2_000, "z", "", Some("r1")),
    ];
    assert_eq!(
        outcomes(&rows, DEFAULT_WINDOW_MS),
        vec![
            Ok(Attributed { impression: 0, rank: Some(2), by_ref: true }),
            Ok(Attributed { impression: 0, rank: None, by_ref: true }),
        ]
    );
    assert_eq!(attribute(&rows, DEFAULT_WINDOW_MS)[0].event, 1);
}

#[test]
fn an_event_without_a_ref_belongs_to_the_users_list_that_holds_its_movie() {
    let rows = vec![
        impression("r1", 1, 0, "A", "a,b"),
        event(EdgeKind::Watch, 1, 60_000, "b", "0", None), // user 1's list, rank 2
        event(EdgeKind::Watch, 2, 60_000, "b", "0", None), // user 2 was served nothing
        event(EdgeKind::Rate, 1, 60_000, "z", "4", None),  // user 1's list lacks z
    ];
    assert_eq!(
        outcomes(&rows, DEFAULT_WINDOW_MS),
        vec![
            Ok(Attributed { impression: 0, rank: Some(2), by_ref: false }),
            Err(Unattributed::NoListInWindow),
            Err(Unattributed::MovieNotListed),
        ]
    );
}

#[test]
fn the_window_includes_its_end_and_never_reaches_forward() {
    let rows = vec![
        impression("r1", 1, 0, "A", "a"),
        event(EdgeKind::Watch, 1, 1_000, "a", "0", None), // exactly window_ms later: counts
        event(EdgeKind::Watch, 1, 1_001, "a", "1", None), // one ms past: r1 is out of reach
        impression("r2", 1, 5_000, "A", "a"),
        event(EdgeKind::Watch, 1, 4_999, "a", "2", None), // r2 comes later, r1 is too old
        event(EdgeKind::Watch, 1, 5_000, "a", "3", None), // the same millisecond as r2: counts
    ];
    assert_eq!(
        outcomes(&rows, 1_000),
        vec![
            Ok(Attributed { impression: 0, rank: Some(1), by_ref: false }),
            Err(Unattributed::NoListInWindow),
            Err(Unattributed::NoListInWindow),
            Ok(Attributed { impression: 3, rank: Some(1), by_ref: false }),
        ]
    );
}

#[test]
fn a_click_on_a_list_never_served_is_unattributed() {
    let rows = vec![
        impression("r1", 1, 0, "A", "a"),
        // The user holds a list with the movie, but the ref names another: no fallback.
        event(EdgeKind::Click, 1, 10, "a", "", Some("never-served")),
    ];
    assert_eq!(outcomes(&rows, DEFAULT_WINDOW_MS), vec![Err(Unattributed::UnknownImpression)]);
}

#[test]
fn the_latest_list_holding_the_movie_wins() {
    let rows = vec![
        impression("r1", 1, 0, "A", "a,b"),
        impression("r2", 1, 100, "B", "b,c"),
        impression("r3", 1, 200, "A", "c"), // the latest, but without b
        event(EdgeKind::Watch, 1, 300, "b", "0", None),
    ];
    assert_eq!(
        outcomes(&rows, DEFAULT_WINDOW_MS),
        vec![Ok(Attributed { impression: 1, rank: Some(1), by_ref: false })]
    );
}

/// Variant A serves a,b,c to users 1-3; variant B serves d,e to user 4.
fn two_variant_log() -> Vec<EdgeRow> {
    vec![
        impression("r1", 1, 0, "A", "a,b,c"),
        impression("r2", 2, 0, "A", "a,b,c"),
        impression("r3", 3, 0, "A", "a,b,c"),
        impression("r4", 4, 0, "B", "d,e"),
        // r1: first watched/clicked by time is c (rank 3), then b: reciprocal rank 1/3.
        event(EdgeKind::Watch, 1, 10, "c", "0", None),
        event(EdgeKind::Watch, 1, 20, "c", "1", None),
        event(EdgeKind::Click, 1, 30, "b", "", Some("r1")),
        event(EdgeKind::Rate, 1, 40, "c", "2", None),
        // r2: a click on a (rank 1): reciprocal rank 1; rated 4.
        event(EdgeKind::Click, 2, 5, "a", "", Some("r2")),
        event(EdgeKind::Rate, 2, 50, "a", "4", Some("r2")),
        // r3: nothing. r4: a watch of e (rank 2): reciprocal rank 1/2.
        event(EdgeKind::Watch, 4, 100, "e", "0", None),
    ]
}

#[test]
fn metrics_per_variant() {
    let rows = two_variant_log();
    let attributions = attribute(&rows, DEFAULT_WINDOW_MS);
    let report = online_metrics(&rows, &attributions, Grouping::default(), DEFAULT_WINDOW_MS);
    assert_eq!((report.rows, report.impressions, report.catalog), (11, 4, 5));
    assert_eq!(
        report.attribution,
        AttributionCounts { events: 7, attributed: 7, by_ref: 3, ..AttributionCounts::default() }
    );
    let [a, b] = &report.groups[..] else { panic!("two groups: {:?}", report.groups) };
    assert_eq!((a.variant.as_str(), a.window_start_ms), ("A", None));
    assert_eq!((a.lists, a.clicked_lists, a.watch_minutes, a.ratings, a.movies_shown), (3, 2, 2, 2, 3));
    close(a.click_rate, 2.0 / 3.0);
    close(a.mrr, (1.0 / 3.0 + 1.0 + 0.0) / 3.0); // 4/9
    close(a.watch_minutes_per_impression, 2.0 / 3.0);
    close(a.mean_rating.unwrap(), 3.0); // (2 + 4) / 2
    close(a.coverage, 3.0 / 5.0);
    // Exposure over a..e is [3,3,3,0,0]; ascending [0,0,3,3,3], weights 2i-n-1 = -4,-2,0,2,4:
    // (6 + 12) / (5 * 9) = 0.4.
    close(a.exposure_gini, 0.4);
    // x = [3,3,3,0,0], y (watchers) = [0,0,1,0,0]: sxy = 1.2, sxx = 10.8, syy = 0.8,
    // r = 1.2 / sqrt(8.64) = sqrt(1/6).
    close(a.recommended_watched_correlation.unwrap(), (1.0f64 / 6.0).sqrt());
    assert_eq!((b.variant.as_str(), b.lists, b.clicked_lists, b.watch_minutes, b.ratings), ("B", 1, 1, 1, 0));
    close(b.mrr, 0.5);
    assert_eq!(b.mean_rating, None);
    close(b.coverage, 2.0 / 5.0);
    // [0,0,0,1,1]: (2 + 4) / (5 * 2) = 0.6.
    close(b.exposure_gini, 0.6);
    // The whole log: x = [3,3,3,1,1], y = [0,0,1,0,1]: sxy = -0.4, sxx = 4.8, syy = 1.2,
    // r = -0.4 / 2.4 = -1/6.
    close(report.recommended_watched_correlation.unwrap(), -1.0 / 6.0);

    // Against a catalog of 10, the five unseen movies add zeros.
    let report = online_metrics(&rows, &attributions, Grouping { catalog_size: Some(10), ..Grouping::default() }, 0);
    close(report.groups[0].coverage, 0.3);
    // [0 x7, 3,3,3]: weights 2i-11 for i = 8..10 are 5,7,9: 3 * 21 / (10 * 9) = 0.7.
    close(report.groups[0].exposure_gini, 0.7);
}

#[test]
fn time_windows_are_aligned_to_the_epoch_by_impression_time() {
    let rows = vec![
        impression("r1", 1, 3_599_999, "A", "a"),
        impression("r2", 1, 3_600_000, "A", "b"),
        // Watched in the second hour, but r1's list: it counts in r1's hour.
        event(EdgeKind::Watch, 1, 3_700_000, "a", "0", None),
    ];
    let attributions = attribute(&rows, DEFAULT_WINDOW_MS);
    let report = online_metrics(&rows, &attributions, Grouping { by: GroupBy::Hour, catalog_size: None }, 0);
    let starts: Vec<Option<i64>> = report.groups.iter().map(|group| group.window_start_ms).collect();
    assert_eq!(starts, vec![Some(0), Some(3_600_000)]);
    assert_eq!((report.groups[0].clicked_lists, report.groups[1].clicked_lists), (1, 0));
    let rounds = online_metrics(&rows, &attributions, Grouping { by: GroupBy::Round, catalog_size: None }, 0);
    // 3_599_999 ms lies in round 4 (2_880_000..3_600_000).
    assert_eq!(rounds.groups[0].window_start_ms, Some(2_880_000));
    let days = online_metrics(&rows, &attributions, Grouping { by: GroupBy::Day, catalog_size: None }, 0);
    assert_eq!((days.groups.len(), days.groups[0].lists), (1, 2));
}

#[test]
fn gini_of_equal_and_one_hot_exposure() {
    assert_eq!(gini(&[2, 2, 2, 2]), 0.0);
    // Ascending [0,0,0,5], weights -3,-1,1,3: 15 / (4 * 5) = 0.75 = (n - 1) / n.
    close(gini(&[0, 5, 0, 0]), 0.75);
    assert_eq!(gini(&[]), 0.0);
    assert_eq!(gini(&[0, 0]), 0.0);
}

#[test]
fn pearson_correlation() {
    close(pearson(&[1.0, 2.0, 3.0], &[2.0, 4.0, 6.0]).unwrap(), 1.0);
    close(pearson(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]).unwrap(), -1.0);
    // Means 2.5; dx = [-1.5,-.5,.5,1.5], dy = [-1.5,.5,-.5,1.5]: sxy = 4, sxx = syy = 5: 0.8.
    close(pearson(&[1.0, 2.0, 3.0, 4.0], &[1.0, 3.0, 2.0, 4.0]).unwrap(), 0.8);
    assert_eq!(pearson(&[1.0, 1.0], &[1.0, 2.0]), None);
    assert_eq!(pearson(&[1.0], &[1.0]), None);
}

#[test]
fn user_outcomes_count_each_users_lists_clicks_and_first_ranks() {
    let mut rows = two_variant_log();
    // User 1 gets a second list under A, unclicked; user 4 a second under B, clicked at rank 1.
    rows.push(impression("r5", 1, 200, "A", "a,b"));
    rows.push(impression("r6", 4, 200, "B", "f,d"));
    rows.push(event(EdgeKind::Click, 4, 210, "f", "", Some("r6")));
    let attributions = attribute(&rows, DEFAULT_WINDOW_MS);
    let outcomes = user_outcomes(&rows, &attributions);
    let a = &outcomes["A"];
    assert_eq!(
        a.iter().map(|u| (u.user_id, u.lists, u.clicked_lists)).collect::<Vec<_>>(),
        [(1, 2, 1), (2, 1, 1), (3, 1, 0)]
    );
    close(a[0].reciprocal_rank_sum, 1.0 / 3.0);
    close(a[1].reciprocal_rank_sum, 1.0);
    close(a[2].reciprocal_rank_sum, 0.0);
    let b = &outcomes["B"];
    assert_eq!((b.len(), b[0].user_id, b[0].lists, b[0].clicked_lists), (1, 4, 2, 2));
    close(b[0].reciprocal_rank_sum, 0.5 + 1.0);
    // The per-user sums add up to what the per-variant report says.
    let report = online_metrics(&rows, &attributions, Grouping::default(), DEFAULT_WINDOW_MS);
    for group in &report.groups {
        let users = &outcomes[&group.variant];
        assert_eq!(users.iter().map(|u| u.lists).sum::<u64>(), group.lists);
        assert_eq!(users.iter().map(|u| u.clicked_lists).sum::<u64>(), group.clicked_lists);
        close(users.iter().map(|u| u.reciprocal_rank_sum).sum::<f64>() / group.lists as f64, group.mrr);
    }
}

/// `count` users with one list each, the first `clicked` of them clicked at rank 1.
fn users(count: u64, clicked: u64, first_id: u64) -> Vec<UserOutcome> {
    (0..count)
        .map(|index| UserOutcome {
            user_id: first_id + index,
            lists: 1,
            clicked_lists: u64::from(index < clicked),
            reciprocal_rank_sum: if index < clicked { 1.0 } else { 0.0 },
        })
        .collect()
}

fn two_arms(
    control: Vec<UserOutcome>,
    challenger: Vec<UserOutcome>,
) -> std::collections::BTreeMap<String, Vec<UserOutcome>> {
    [("control".to_owned(), control), ("challenger".to_owned(), challenger)].into_iter().collect()
}

fn half_and_half() -> crate::experiment::Experiment {
    serde_json::from_value(serde_json::json!({
        "salt": "t",
        "variants": [
            { "name": "control", "version": null, "weight": 1 },
            { "name": "challenger", "version": "v2", "weight": 1 }
        ]
    }))
    .unwrap()
}

#[test]
fn the_readout_promotes_a_better_challenger_and_rolls_back_a_worse_one() {
    use crate::stats::Decision;
    let rules = crate::stats::ValidDecisionRules::default();
    let experiment = half_and_half();
    let better = experiment_readout(&two_arms(users(1000, 200, 0), users(1000, 600, 5000)), &experiment, &rules);
    assert_eq!(better.control, "control");
    assert_eq!(
        better.arms.iter().map(|arm| (arm.users, arm.clicked_lists)).collect::<Vec<_>>(),
        [(1000, 200), (1000, 600)]
    );
    let challenger = &better.challengers[0];
    assert!(matches!(challenger.decision, Decision::Promote { .. }), "{:?}", challenger.decision);
    let delta = challenger.click_rate.delta_method.unwrap();
    close(delta.difference, 0.4);
    // One list per user: the per-user means are the ratios, so both methods agree.
    close(challenger.click_rate.welch_per_user.unwrap().mean_difference, 0.4);
    let (low, high) = challenger.sequential_interval.unwrap();
    assert!(low > 0.0 && high < 1.0 && low < delta.difference_interval.0, "always valid is wider");

    let worse = experiment_readout(&two_arms(users(1000, 600, 0), users(1000, 200, 5000)), &experiment, &rules);
    assert!(matches!(worse.challengers[0].decision, Decision::RollBack { .. }));
    let same = experiment_readout(&two_arms(users(1000, 300, 0), users(1000, 305, 5000)), &experiment, &rules);
    assert!(matches!(same.challengers[0].decision, Decision::KeepRunning { .. }));
    let few = experiment_readout(&two_arms(users(50, 10, 0), users(50, 40, 5000)), &experiment, &rules);
    assert!(matches!(few.challengers[0].decision, Decision::KeepRunning { .. }), "below the minimum sample");
}

#[test]
fn a_sample_ratio_mismatch_blocks_the_readout() {
    use crate::stats::Decision;
    let readout = experiment_readout(
        &two_arms(users(1000, 200, 0), users(800, 600, 5000)),
        &half_and_half(),
        &crate::stats::ValidDecisionRules::default(),
    );
    assert!(readout.sample_ratio.unwrap().mismatch);
    assert!(matches!(readout.challengers[0].decision, Decision::Blocked { .. }));
}

#[test]
fn interleaved_lists_credit_the_team_whose_movies_were_chosen() {
    let with_teams = |row: EdgeRow, teams: &str| EdgeRow { teams: Some(teams.into()), ..row };
    let rows = vec![
        with_teams(impression("r1", 1, 0, "interleave", "a,b,c,d"), "ABBA"),
        with_teams(impression("r2", 2, 0, "interleave", "a,b,c,d"), "BAAB"),
        with_teams(impression("r3", 3, 0, "interleave", "a,b,c,d"), "ABAB"),
        // r1: two minutes of b (team B, counted once) and a click on d (A): a tie.
        event(EdgeKind::Watch, 1, 10, "b", "0", Some("r1")),
        event(EdgeKind::Watch, 1, 20, "b", "1", Some("r1")),
        event(EdgeKind::Click, 1, 30, "d", "", Some("r1")),
        // r2: a watch of c by time (team A).
        event(EdgeKind::Watch, 2, 10, "c", "0", None),
        // r3: nothing.
    ];
    let credits = interleaving_credits(&rows, &attribute(&rows, DEFAULT_WINDOW_MS));
    use crate::interleave::Team;
    assert_eq!(credits, [(1, None), (2, Some(Team::A)), (3, None)]);
}

//! `marquee report online` end to end: a store holding a known edge log, the report's JSON
//! checked against figures worked out by hand.

use marquee_data::edge_log::{EdgeKind, EdgeRow};
use marquee_data::store::Store;
use marquee_e2e::{json, marquee, marquee_unchecked};

/// 2024-01-01T00:00:00Z, a whole day since the epoch.
const BASE: i64 = 1_704_067_200_000;

fn row(seq: i64, kind: EdgeKind, user: u64, offset_ms: i64, movie: Option<&str>, value: &str) -> EdgeRow {
    EdgeRow {
        seq,
        id: format!("e{seq}"),
        kind,
        time_ms: BASE + offset_ms,
        user_id: user,
        movie_id: movie.map(Into::into),
        value: Some(value.into()),
        variant: None,
        version: None,
        reference: None,
        latency_us: None,
        teams: None,
    }
}

fn impression(seq: i64, id: &str, user: u64, variant: &str, list: &str) -> EdgeRow {
    EdgeRow { id: id.into(), variant: Some(variant.into()), ..row(seq, EdgeKind::Impression, user, 0, None, list) }
}

fn with_ref(row: EdgeRow, reference: &str) -> EdgeRow {
    EdgeRow { reference: Some(reference.into()), ..row }
}

/// Variant A serves a,b,c to users 1-3, variant B serves d,e to user 4, all at BASE.
fn edge_log() -> Vec<EdgeRow> {
    vec![
        impression(1, "r1", 1, "A", "a,b,c"),
        impression(2, "r2", 2, "A", "a,b,c"),
        impression(3, "r3", 3, "A", "a,b,c"),
        impression(4, "r4", 4, "B", "d,e"),
        // r1: two minutes of c (rank 3, the first by time), a click on b, c rated 2.
        row(5, EdgeKind::Watch, 1, 60_000, Some("c"), "0"),
        row(6, EdgeKind::Watch, 1, 120_000, Some("c"), "1"),
        with_ref(row(7, EdgeKind::Click, 1, 180_000, Some("b"), ""), "r1"),
        row(8, EdgeKind::Rate, 1, 240_000, Some("c"), "2"),
        // r2: a click on a (rank 1), a rated 4.
        with_ref(row(9, EdgeKind::Click, 2, 30_000, Some("a"), ""), "r2"),
        with_ref(row(10, EdgeKind::Rate, 2, 300_000, Some("a"), "4"), "r2"),
        // r4: a minute of e (rank 2).
        row(11, EdgeKind::Watch, 4, 60_000, Some("e"), "0"),
        // Unattributed: a click on a list never served, a watch 25 hours on (outside the
        // default 24-hour window), a watch of a movie user 4 was never shown.
        with_ref(row(12, EdgeKind::Click, 3, 60_000, Some("a"), ""), "nowhere"),
        row(13, EdgeKind::Watch, 3, 25 * 3_600_000, Some("a"), "0"),
        row(14, EdgeKind::Watch, 4, 120_000, Some("a"), "0"),
    ]
}

fn close(value: &serde_json::Value, expected: f64) {
    let actual = value.as_f64().unwrap_or_else(|| panic!("{value} is not a number"));
    assert!((actual - expected).abs() < 1e-9, "{actual} != {expected}");
}

#[test]
fn report_online_attributes_the_stores_edge_log_and_gives_the_figures_by_hand() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("store.db");
    Store::open(&db).unwrap().ingest_edge_rows(&edge_log()).unwrap();
    let db = db.to_str().unwrap();

    let report = json(&marquee(&["report", "online", "--db", db, "--json"]));
    assert_eq!(report["rows"], 14);
    assert_eq!(report["impressions"], 4);
    assert_eq!(report["catalog"], 5);
    assert_eq!(report["window_ms"], 86_400_000);
    assert_eq!(report["by"], "variant");
    let counts = &report["attribution"];
    assert_eq!(
        (&counts["events"], &counts["attributed"], &counts["by_ref"]),
        (&serde_json::json!(10), &serde_json::json!(7), &serde_json::json!(3))
    );
    assert_eq!(
        (&counts["unknown_impression"], &counts["no_list_in_window"], &counts["movie_not_listed"]),
        (&serde_json::json!(1), &serde_json::json!(1), &serde_json::json!(1))
    );
    let groups = report["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 2);
    let (a, b) = (&groups[0], &groups[1]);
    assert_eq!((&a["variant"], &a["window_start_ms"]), (&serde_json::json!("A"), &serde_json::Value::Null));
    assert_eq!((&a["lists"], &a["clicked_lists"], &a["watch_minutes"]), (&3.into(), &2.into(), &2.into()));
    close(&a["click_rate"], 2.0 / 3.0);
    close(&a["mrr"], (1.0 / 3.0 + 1.0) / 3.0);
    close(&a["watch_minutes_per_impression"], 2.0 / 3.0);
    close(&a["mean_rating"], 3.0);
    close(&a["coverage"], 0.6);
    close(&a["exposure_gini"], 0.4); // [0,0,3,3,3]: (6 + 12) / 45
    close(&a["recommended_watched_correlation"], (1.0f64 / 6.0).sqrt());
    assert_eq!((&b["variant"], &b["lists"], &b["clicked_lists"]), (&serde_json::json!("B"), &1.into(), &1.into()));
    close(&b["mrr"], 0.5);
    assert_eq!(b["mean_rating"], serde_json::Value::Null);
    close(&b["coverage"], 0.4);
    // Exposure [0,0,0,1,1]: 6 / 10.
    close(&b["exposure_gini"], 0.6);

    // The whole log, every watch row, attributed or not: shown [3,3,3,1,1] (a..e) against
    // distinct watchers [2,0,1,0,1] (a by users 3 and 4, c by 1, e by 4). Means 2.2 and 0.8,
    // sxy = 0.96 - 0.64 + 0.16 + 0.96 - 0.24 = 1.2, sxx = 4.8, syy = 2.8: r = 1.2 / sqrt(13.44).
    close(&report["recommended_watched_correlation"], 1.2 / 13.44f64.sqrt());

    // By hour: every list was served in the hour starting at BASE.
    let hourly = json(&marquee(&["report", "online", "--db", db, "--by", "hour", "--json"]));
    assert_eq!(hourly["groups"][0]["window_start_ms"], BASE);
    assert_eq!(hourly["groups"].as_array().unwrap().len(), 2);
    // A 26-hour window reaches the late watch of a (user 3, rank 1): r3 is clicked too.
    let wide = json(&marquee(&["report", "online", "--db", db, "--window-hours", "26", "--json"]));
    assert_eq!(wide["groups"][0]["clicked_lists"], 3);
    close(&wide["groups"][0]["mrr"], (1.0 / 3.0 + 1.0 + 1.0) / 3.0);

    // The table names each variant; a report needs a source.
    let table = marquee(&["report", "online", "--db", db]);
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(text.contains("10 events: 7 attributed (3 by ref)"), "{text}");
    assert!(!marquee_unchecked(&["report", "online"]).status.success());
}

#[test]
fn report_online_splits_each_variant_by_demographic_group() {
    use marquee_data::records::{Gender, User};
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("store.db");
    let mut store = Store::open(&db).unwrap();
    store.ingest_edge_rows(&edge_log()).unwrap();
    // Users 1 and 2 are women, 3 a man; user 4 is unknown to the store.
    let user =
        |id: u64, gender: Gender, age: u8| User { user_id: id, age: Some(age), gender: Some(gender), occupation: None };
    store.ingest_users(&[user(1, Gender::Female, 17), user(2, Gender::Female, 30), user(3, Gender::Male, 60)]).unwrap();
    drop(store);
    let db = db.to_str().unwrap();
    let report =
        json(&marquee(&["report", "online", "--db", db, "--group-by", "gender", "--users-from", db, "--json"]));
    let groups: Vec<(String, u64, u64)> = report["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["variant"].as_str().unwrap().to_owned(),
                g["lists"].as_u64().unwrap(),
                g["clicked_lists"].as_u64().unwrap(),
            )
        })
        .collect();
    // r1 and r2 (women) were clicked; r3 (the man) was not; r4 (user 4) was.
    assert_eq!(groups, [("A/F".to_owned(), 2, 2), ("A/M".to_owned(), 1, 0), ("B/?".to_owned(), 1, 1)]);
    let by_age = json(&marquee(&["report", "online", "--db", db, "--group-by", "age", "--users-from", db, "--json"]));
    let names: Vec<&str> =
        by_age["groups"].as_array().unwrap().iter().map(|g| g["variant"].as_str().unwrap()).collect();
    // Groups sort by name within the report.
    assert_eq!(names, ["A/25-34", "A/55+", "A/<18", "B/?"]);
    assert!(!marquee_unchecked(&["report", "online", "--db", db, "--group-by", "gender"]).status.success());
}

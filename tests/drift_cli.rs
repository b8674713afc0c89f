//! `marquee drift` both ways on real worlds: it finds the drift `marquee world --drift`
//! injected, and raises no dataset alarm on the undrifted world of the same seed over the
//! same windows.
//!
//! The worlds run 21 days (800 users, 400 movies); the drift starts on day 14. The reference
//! is days 7 to 14 and the current window days 14 to 21, so the model of the `--model` test
//! is trained on days 0 to 7, before both, as a deployed model would be: a model judged on
//! the window it was trained on sees its own training data as a shift.

use std::path::Path;

use marquee_e2e::{json, marquee, marquee_binary, marquee_unchecked};

const REFERENCE: &str = "@2024-01-08..2024-01-15";
const CURRENT: &str = "@2024-01-15..";

/// Writes a world (with `--drift KIND --drift-after-days 14` unless `kind` is `None`) and
/// ingests it; returns the store's path.
fn world(dir: &Path, kind: Option<&str>) -> String {
    let out = dir.join("world");
    let out = out.to_str().unwrap();
    let mut args = vec!["world", "--out", out, "--users", "800", "--movies", "400", "--days", "21", "--json"];
    if let Some(kind) = kind {
        args.extend(["--drift", kind, "--drift-after-days", "14"]);
    }
    marquee(&args);
    let db = dir.join("world.db");
    let db = db.to_str().unwrap().to_owned();
    marquee(&["ingest", out, "--db", &db, "--json"]);
    db
}

/// `marquee drift --json` over the two windows.
fn drift(db: &str, extra: &[&str]) -> serde_json::Value {
    let (reference, current) = (format!("{db}{REFERENCE}"), format!("{db}{CURRENT}"));
    let mut args = vec!["drift", "--reference", &reference, "--current", &current, "--json"];
    args.extend(extra);
    json(&marquee(&args))
}

fn drifted(report: &serde_json::Value, column: &str) -> bool {
    let columns = report["columns"].as_array().unwrap();
    let found = columns.iter().find(|c| c["name"] == column).unwrap_or_else(|| panic!("no column {column}"));
    found["drifted"].as_bool().unwrap()
}

fn dataset_drifted(report: &serde_json::Value) -> bool {
    report["dataset"]["dataset_drifted"].as_bool().unwrap()
}

#[test]
fn the_injected_drifts_are_found_and_the_undrifted_world_raises_no_alarm() {
    let plain_dir = tempfile::tempdir().unwrap();
    let plain = drift(&world(plain_dir.path(), None), &[]);
    assert!(!dataset_drifted(&plain), "an undrifted world: {}", plain["dataset"]);
    for column in ["age", "gender", "occupation", "movie_genre", "user_occupation"] {
        assert!(!drifted(&plain, column), "{column} drifted in an undrifted world");
    }
    assert_eq!(plain["reference"]["lists_served"], 0);
    assert!(plain["notes"].as_array().unwrap().iter().any(|n| n.as_str().unwrap().contains("no edge log")));

    let cohort_dir = tempfile::tempdir().unwrap();
    let cohort = drift(&world(cohort_dir.path(), Some("new-cohort")), &[]);
    assert!(dataset_drifted(&cohort), "a new cohort: {}", cohort["dataset"]);
    for column in ["age", "gender", "occupation", "user_age", "user_occupation"] {
        assert!(drifted(&cohort, column), "{column} did not drift with a new cohort");
    }

    let shift_dir = tempfile::tempdir().unwrap();
    let shift = drift(&world(shift_dir.path(), Some("taste-shift")), &[]);
    assert!(dataset_drifted(&shift), "a taste shift: {}", shift["dataset"]);
    assert!(drifted(&shift, "movie_genre"), "the genre mix moves with a taste shift");
    for column in ["age", "gender", "occupation"] {
        assert!(!drifted(&shift, column), "{column} drifted, but a taste shift keeps the same users");
    }
}

/// With the served model, every ranker feature is compared; a model trained before both
/// windows sees the taste shift in the affinities and scores, and nothing on the undrifted
/// world.
#[test]
fn with_a_model_the_ranker_features_show_a_taste_shift() {
    for (kind, expect_drift) in [(None, false), (Some("taste-shift"), true)] {
        let dir = tempfile::tempdir().unwrap();
        let db = world(dir.path(), kind);
        // The first seven days of the world, for training.
        let past = dir.path().join("past");
        std::fs::create_dir_all(&past).unwrap();
        for file in ["users.jsonl", "movies.jsonl"] {
            std::fs::copy(dir.path().join("world").join(file), past.join(file)).unwrap();
        }
        let stream = std::fs::read_to_string(dir.path().join("world/stream.log")).unwrap();
        let early: String =
            stream.lines().filter(|line| line < &"2024-01-08").map(|line| format!("{line}\n")).collect();
        std::fs::write(past.join("stream.log"), early).unwrap();
        let models = dir.path().join("models");
        marquee(&["train", "--data", past.to_str().unwrap(), "--out", models.to_str().unwrap()]);
        let report = drift(&db, &["--model", models.to_str().unwrap()]);
        assert_eq!(dataset_drifted(&report), expect_drift, "{kind:?}: {}", report["dataset"]);
        assert_eq!(
            report["columns"].as_array().unwrap().len(),
            27,
            "every ranker feature but the two candidate ranks, the population, the genre"
        );
        // A candidate's rank among the user's retrieved candidates needs the whole retrieval,
        // which drift does not run: those two features are always missing there, so skipped.
        let skipped: Vec<&str> =
            report["skipped"].as_array().unwrap().iter().filter_map(|column| column["name"].as_str()).collect();
        for rank in ["implicit_rank", "neighbour_rank"] {
            assert!(skipped.contains(&rank), "{kind:?}: {rank} is not among the skipped {skipped:?}");
        }
        for column in ["user_genre_affinity", "segment_genre_affinity", "movie_genre"] {
            assert_eq!(drifted(&report, column), expect_drift, "{kind:?}: {column}");
        }
    }
}

#[test]
fn the_table_psi_and_bad_windows() {
    let dir = tempfile::tempdir().unwrap();
    let db = world(dir.path(), Some("new-cohort"));
    let (reference, current) = (format!("{db}{REFERENCE}"), format!("{db}{CURRENT}"));
    let output = marquee(&["drift", "--reference", &reference, "--current", &current]);
    assert!(output.status.success(), "drift found is a report, not a failure");
    let table = String::from_utf8(output.stdout).unwrap();
    assert!(table.contains("column") && table.contains("threshold") && table.contains("drifted"), "{table}");
    assert!(table.contains("dataset:") && table.contains("DRIFT"), "{table}");
    let psi = drift(&db, &["--psi"]);
    let columns = psi["columns"].as_array().unwrap();
    assert!(columns.iter().all(|c| c["test"] == "psi" && c["threshold"] == 0.1));
    assert!(columns.iter().any(|c| c["psi_severity"] == "significant"), "{psi}");

    for (window, message) in [
        (format!("{db}@2024-01-15..2024-01-08"), "empty"),
        (format!("{db}@yesterday.."), "not a time"),
        (dir.path().join("missing.db").to_str().unwrap().to_owned(), "not an event store"),
    ] {
        let output = marquee_unchecked(&["drift", "--reference", &window, "--current", &current]);
        assert!(!output.status.success(), "{window} was accepted");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(message), "{window}: {stderr}");
    }
    let output = std::process::Command::new(marquee_binary())
        .args(["drift", "--reference", &reference, "--current", &current, "--publish", "http://127.0.0.1:9"])
        .env_remove("MARQUEE_ADMIN_TOKEN")
        .output()
        .unwrap();
    assert!(!output.status.success() && String::from_utf8_lossy(&output.stderr).contains("token"));
}

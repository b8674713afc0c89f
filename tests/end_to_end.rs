//! The data layer end to end, through the `marquee` binary: world → ingest → stats →
//! export → ingest again, as a user would run it.

use marquee_e2e::{json, marquee, marquee_unchecked};

#[test]
fn a_world_ingests_idempotently_and_round_trips_through_the_csv_triple() {
    let dir = tempfile::tempdir().unwrap();
    let world = dir.path().join("world");
    let db = dir.path().join("store.db");
    let (world, db) = (world.to_str().unwrap(), db.to_str().unwrap());

    let stats =
        json(&marquee(&["world", "--out", world, "--users", "300", "--movies", "200", "--days", "5", "--json"]));
    assert!(stats["lines"].as_u64().unwrap() > 1000, "{stats}");

    let first = json(&marquee(&["ingest", world, "--db", db, "--json"]));
    let stream = &first[0];
    assert!(stream["source"].as_str().unwrap().starts_with("stream lines"));
    assert!(stream["stream"]["watch_lines"].as_u64().unwrap() > 0);
    // The world injects malformed lines: they are counted, not fatal.
    assert!(stream["report"]["skipped"].as_object().map_or(0, |kinds| kinds.len()) > 0, "{stream}");
    let before = json(&marquee(&["stats", "--db", db, "--json"]));
    assert_eq!(before["users"].as_u64(), Some(300));
    assert_eq!(before["movies"].as_u64(), Some(200));

    let again = json(&marquee(&["ingest", world, "--db", db, "--json"]));
    assert_eq!(again[0]["stream"]["sessions_changed"].as_u64(), Some(0));
    assert_eq!(again[0]["stream"]["new_ratings"].as_u64(), Some(0));
    assert_eq!(json(&marquee(&["stats", "--db", db, "--json"])), before, "a second ingest changed the store");

    let export = dir.path().join("export");
    let export = export.to_str().unwrap();
    marquee(&["export", "--db", db, "--out", export]);
    let copy = dir.path().join("copy.db");
    let copy = copy.to_str().unwrap();
    marquee(&["ingest", export, "--db", copy]);
    let copied = json(&marquee(&["stats", "--db", copy, "--json"]));
    for field in ["users", "movies", "ratings"] {
        assert_eq!(copied[field], before[field], "{field} differs after export and re-ingest");
    }
}

#[test]
fn bad_input_gets_a_clear_error_and_touches_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("store.db");
    let missing = dir.path().join("no-such-file");
    let output = marquee_unchecked(&["ingest", missing.to_str().unwrap(), "--db", db.to_str().unwrap()]);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("no-such-file"));
    assert!(!db.exists(), "a failed detection must not create the store");

    let output = marquee_unchecked(&["stats", "--db", db.to_str().unwrap()]);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("marquee ingest"));
}

#[test]
fn every_subcommand_has_help() {
    for command in ["world", "ingest", "stats", "export", "bench"] {
        let output = marquee(&[command, "--help"]);
        assert!(String::from_utf8_lossy(&output.stdout).contains("Usage"), "{command}");
    }
}

#[test]
fn a_stream_on_stdin_ingests_like_kcat_would_pipe_it() {
    use std::io::Write;
    use std::process::{Command, Stdio};

    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("store.db");
    let mut child = Command::new(marquee_e2e::marquee_binary())
        .args(["ingest", "-", "--db", db.to_str().unwrap(), "--rating-scale", "10", "--json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(
            b"2025-10-17T01:33:45.122692921,42,GET /data/m/the+shawshank+redemption+1994/0.mpg\n\
              2025-10-17T01:34:45,42,GET /rate/the+shawshank+redemption+1994=9\n\
              <script>alert(1)</script>\n",
        )
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stdout));
    let summary = marquee_e2e::json(&output);
    assert_eq!(summary[0]["source"], "stream lines from stdin");
    assert_eq!(summary[0]["stream"]["watch_lines"], 1);
    assert_eq!(summary[0]["report"]["lines"], 3);
    let stats = json(&marquee(&["stats", "--db", db.to_str().unwrap(), "--json"]));
    assert_eq!(stats["mean_rating"], 4.5, "9 of 10 stars is 4.5 of 5");
}

#[test]
fn a_token_in_argv_is_warned_about_and_one_in_the_environment_is_not() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("store.db");
    // Port 9 (discard) on loopback: the pull fails either way; only the warning differs.
    let pull = |token_in_argv: bool| {
        let mut command = std::process::Command::new(marquee_e2e::marquee_binary());
        command.args(["pull-events", "--from", "http://127.0.0.1:9", "--db", db.to_str().unwrap()]);
        if token_in_argv {
            command.args(["--token", "s3cret"]);
        } else {
            command.env("MARQUEE_ADMIN_TOKEN", "s3cret");
        }
        let output = command.output().unwrap();
        assert!(!output.status.success());
        String::from_utf8_lossy(&output.stderr).into_owned()
    };
    let warning = "--token puts the admin token where other users can read it";
    assert!(pull(true).contains(warning), "{}", pull(true));
    assert!(!pull(false).contains(warning), "{}", pull(false));
}

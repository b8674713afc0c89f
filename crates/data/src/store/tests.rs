//! The store's contract: idempotent ingest, sessions from minutes, latest rating wins.

use super::*;
use crate::events::{RatingScale, Timestamp};
use crate::records::{Dataset, Gender, Movie, Rating, User};
use crate::ParseReport;

const STREAM: &str = "\
2024-01-01T10:00:00,7,GET /create_account
2024-01-01T10:01:00.000001,7,GET /data/m/the+shawshank+redemption+1994/0.mpg
2024-01-01T10:02:00,7,GET /data/m/the+shawshank+redemption+1994/1.mpg
2024-01-01T10:03:00,7,GET /data/m/the+shawshank+redemption+1994/1.mpg
2024-01-01T10:04:00,7,GET /data/m/monsters_+inc.+2001/0.mpg
2024-01-01T11:00:00,7,GET /rate/the+shawshank+redemption+1994=4
2024-01-02T11:00:00,7,GET /rate/the+shawshank+redemption+1994=5
2024-01-01T12:00:00,8,recommendation request 17645-team25.isri.cmu.edu:8082, status 200, result: the+shawshank+redemption+1994, monsters_+inc.+2001, 131 ms
this line is garbage
2024-01-01T12:00:00,8,GET /rate/monsters_+inc.+2001=9
";

fn ingest(store: &mut Store, text: &str) -> StreamIngest {
    store.ingest_stream(text.as_bytes(), RatingScale::FIVE, |_| {}).unwrap()
}

#[test]
fn stream_ingest_derives_sessions_and_keeps_rating_history() {
    let mut store = Store::open_in_memory().unwrap();
    let summary = ingest(&mut store, STREAM);
    assert_eq!(summary.watch_lines, 4);
    assert_eq!(summary.rate_lines, 2);
    assert_eq!(summary.recommendation_lines, 1);
    assert_eq!(summary.account_lines, 1);
    assert_eq!(summary.report.skipped_total(), 2, "{}", summary.report);

    let sessions = store.watch_sessions().unwrap();
    assert_eq!(sessions.len(), 2);
    let shawshank = sessions.iter().find(|s| s.movie_id == "the+shawshank+redemption+1994").unwrap();
    assert_eq!(shawshank.minutes_watched, 2, "minute 1 twice counts once");
    assert_eq!(shawshank.first_time, Timestamp::parse("2024-01-01T10:01:00.000001").unwrap());
    assert_eq!(shawshank.last_time, Timestamp::parse("2024-01-01T10:03:00").unwrap());

    let ratings = store.ratings().unwrap();
    assert_eq!(ratings.len(), 1);
    assert_eq!(ratings[0].rating, 5.0, "the latest rating wins");
    assert_eq!(store.rating_history(7, "the+shawshank+redemption+1994").unwrap().len(), 2);

    let stats = store.stats().unwrap();
    assert_eq!(stats.users, 1);
    assert_eq!(stats.recommendation_requests, 1);
    assert_eq!(stats.most_watched[0].count, 1);
}

#[test]
fn ingesting_the_same_stream_twice_changes_nothing() {
    let mut store = Store::open_in_memory().unwrap();
    ingest(&mut store, STREAM);
    let before = store.stats().unwrap();
    let again = ingest(&mut store, STREAM);
    assert_eq!(again.sessions_changed, 0);
    assert_eq!(again.new_ratings, 0);
    assert_eq!(again.new_recommendations, 0);
    assert_eq!(store.stats().unwrap(), before);
}

#[test]
fn lines_batched_one_by_one_store_what_the_whole_stream_does_and_count_bad_lines_at_their_positions() {
    let mut whole = Store::open_in_memory().unwrap();
    let expected = ingest(&mut whole, STREAM);

    let mut store = Store::open_in_memory().unwrap();
    let mut batch = StreamBatch::new(RatingScale::FIVE);
    let mut report = ParseReport::default();
    let mut total = StreamIngest::default();
    for (offset, line) in STREAM.lines().enumerate() {
        batch.add_line(line.as_bytes(), 100 + offset as u64, &mut report);
        if batch.lines() == 3 {
            total.merge(store.write_stream_batch(&mut batch).unwrap());
            assert!(batch.is_empty());
        }
    }
    total.merge(store.write_stream_batch(&mut batch).unwrap());
    assert_eq!(report.skipped_total(), 2);
    assert_eq!(report.examples["truncated"][0].line, 100 + 8, "the garbage line's position");
    assert_eq!(report.examples["rating_out_of_scale"][0].line, 100 + 9);
    assert_eq!(
        (total.events(), total.new_ratings, total.new_recommendations),
        (expected.events(), expected.new_ratings, expected.new_recommendations)
    );
    assert_eq!(store.stats().unwrap(), whole.stats().unwrap());
    assert_eq!(store.watch_sessions().unwrap(), whole.watch_sessions().unwrap());
    assert_eq!(store.ratings().unwrap(), whole.ratings().unwrap());

    // Writing the same lines again (a consumer re-reading after a crash) changes nothing.
    for line in STREAM.lines() {
        batch.add_line(line.as_bytes(), 0, &mut ParseReport::default());
    }
    let again = store.write_stream_batch(&mut batch).unwrap();
    assert_eq!((again.sessions_changed, again.new_ratings, again.new_recommendations), (0, 0, 0));
    assert_eq!(store.stats().unwrap(), whole.stats().unwrap());
}

#[test]
fn a_later_stream_extends_sessions_and_an_older_rating_does_not_win() {
    let mut store = Store::open_in_memory().unwrap();
    ingest(&mut store, STREAM);
    let later = "2024-01-03T10:00:00,7,GET /data/m/monsters_+inc.+2001/5.mpg\n\
                 2023-12-31T10:00:00,7,GET /rate/the+shawshank+redemption+1994=1\n";
    let summary = ingest(&mut store, later);
    assert_eq!(summary.sessions_changed, 1);
    let monsters = store.watch_sessions().unwrap().into_iter().find(|s| s.movie_id == "monsters_+inc.+2001").unwrap();
    assert_eq!(monsters.minutes_watched, 2);
    assert_eq!(store.ratings().unwrap()[0].rating, 5.0);
    assert_eq!(store.rating_history(7, "the+shawshank+redemption+1994").unwrap().len(), 3);
}

#[test]
fn ten_star_streams_are_stored_on_the_five_star_scale() {
    let mut store = Store::open_in_memory().unwrap();
    let line = "2024-01-01T12:00:00,8,GET /rate/monsters_+inc.+2001=9\n";
    store.ingest_stream(line.as_bytes(), RatingScale::TEN, |_| {}).unwrap();
    assert_eq!(store.ratings().unwrap()[0].rating, 4.5);
}

#[test]
fn records_upsert_without_losing_known_demographics() {
    let mut store = Store::open_in_memory().unwrap();
    let user = User { user_id: 1, age: Some(30), gender: Some(Gender::Female), occupation: Some("writer".into()) };
    let movie = Movie {
        movie_id: "m+2000".into(),
        title: "M".into(),
        genres: vec!["Drama".into()],
        year: Some(2000),
        ..Movie::default()
    };
    let rating = Rating { user_id: 1, movie_id: "m+2000".into(), rating: 3.5, time: Timestamp::from_unix_seconds(100) };
    let dataset = Dataset { users: vec![user.clone()], movies: vec![movie.clone()], ratings: vec![rating] };
    let first = store.ingest_dataset(&dataset).unwrap();
    assert_eq!((first.users_changed, first.movies_changed, first.new_ratings), (1, 1, 1));
    let second = store.ingest_dataset(&dataset).unwrap();
    assert_eq!((second.users_changed, second.movies_changed, second.new_ratings), (0, 0, 0));

    // A bare user id (as ml-latest gives) must not erase what the metadata said.
    store.ingest_users(&[User { user_id: 1, ..User::default() }]).unwrap();
    assert_eq!(store.users().unwrap(), vec![user]);
    assert_eq!(store.movies().unwrap(), vec![movie]);
}

#[test]
fn the_store_persists_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/marquee.db");
    ingest(&mut Store::open(&path).unwrap(), STREAM);
    assert_eq!(Store::open(&path).unwrap().stats().unwrap().watch_sessions, 2);
}

#[test]
fn the_edge_log_is_stored_once_feeds_training_and_gives_click_rates() {
    use crate::edge_log::{EdgeKind, EdgeRow};
    let mut store = Store::open_in_memory().unwrap();
    let row = |seq: i64,
               id: &str,
               kind: EdgeKind,
               movie: Option<&str>,
               value: Option<&str>,
               variant: Option<&str>,
               reference: Option<&str>| EdgeRow {
        seq,
        id: id.into(),
        kind,
        time_ms: 1_704_067_200_000 + seq * 1000,
        user_id: 7,
        movie_id: movie.map(Into::into),
        value: value.map(Into::into),
        variant: variant.map(Into::into),
        version: Some("m1".into()),
        reference: reference.map(Into::into),
        latency_us: None,
        teams: None,
    };
    let rows = vec![
        row(1, "r1", EdgeKind::Impression, None, Some("a+2000,b+2001"), Some("control"), None),
        row(2, "r2", EdgeKind::Impression, None, Some("a+2000"), Some("treatment"), None),
        row(3, "c1", EdgeKind::Click, Some("a+2000"), None, None, Some("r1")),
        row(4, "w1", EdgeKind::Watch, Some("a+2000"), Some("3"), None, None),
        row(5, "s1", EdgeKind::Rate, Some("a+2000"), Some("4"), None, None),
    ];
    assert_eq!(store.ingest_edge_rows(&rows).unwrap(), 5);
    assert_eq!(store.ingest_edge_rows(&rows).unwrap(), 0, "pulling the same page twice adds nothing");
    assert_eq!(store.ratings().unwrap().len(), 1);
    assert_eq!(store.watch_sessions().unwrap().len(), 1);
    let figures = store.variant_figures().unwrap();
    assert_eq!(figures.len(), 2);
    assert_eq!((figures[0].variant.as_str(), figures[0].impressions, figures[0].clicks), ("control", 1, 1));
    assert_eq!((figures[1].variant.as_str(), figures[1].clicks), ("treatment", 0));
    assert_eq!(store.edge_rows().unwrap(), rows, "the rows read back as they were pulled");
    assert_eq!(store.edge_cursor("http://edge").unwrap(), 0);
    store.set_edge_cursor("http://edge", 5).unwrap();
    assert_eq!(store.edge_cursor("http://edge").unwrap(), 5);

    // A page with its cursor: the rows, their training events and the cursor together. The
    // events are built from the rows, so a movie id an older edge let through still trains.
    let odd = vec![row(6, "w2", EdgeKind::Watch, Some("the/odd id"), Some("9"), None, None)];
    assert_eq!(store.ingest_edge_page(&odd, Some(("http://edge", 6))).unwrap(), 1);
    assert_eq!(store.edge_cursor("http://edge").unwrap(), 6);
    assert!(store.watch_sessions().unwrap().iter().any(|session| session.movie_id == "the/odd id"));

    // If deriving the training events fails, nothing of the page is kept and the cursor
    // stays: the next pull fetches the page again instead of skipping its events.
    store.conn.execute_batch("DROP TABLE watch_sessions").unwrap();
    let page = vec![row(7, "w3", EdgeKind::Watch, Some("b+2001"), Some("1"), None, None)];
    assert!(store.ingest_edge_page(&page, Some(("http://edge", 7))).is_err());
    assert_eq!(store.edge_cursor("http://edge").unwrap(), 6);
    assert!(store.edge_rows().unwrap().iter().all(|row| row.id != "w3"), "the page's rows were rolled back");
}

/// The edge's D1 `log` table (after every Worker migration) and the store's `edge_log`
/// mirror hold exactly [`EdgeRow`](crate::EdgeRow)'s columns, with the same types.
#[test]
fn the_edge_log_tables_agree_with_the_row_type_column_for_column() {
    let migrations = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../worker/migrations");
    let mut files: Vec<_> = std::fs::read_dir(&migrations)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "sql"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no migrations in {}", migrations.display());
    let d1 = rusqlite::Connection::open_in_memory().unwrap();
    for file in &files {
        d1.execute_batch(&std::fs::read_to_string(file).unwrap()).unwrap();
    }
    let store = Store::open_in_memory().unwrap();

    let columns = |conn: &rusqlite::Connection, table: &str| -> Vec<(String, String)> {
        let mut statement = conn.prepare(&format!("SELECT name, type FROM pragma_table_info('{table}')")).unwrap();
        let mut columns: Vec<(String, String)> =
            statement.query_map([], |row| Ok((row.get(0)?, row.get(1)?))).unwrap().map(Result::unwrap).collect();
        columns.sort();
        columns
    };
    let d1_columns = columns(&d1, "log");
    assert_eq!(d1_columns, columns(&store.conn, "edge_log"), "the D1 log and the store's mirror differ");
    let mut names: Vec<&str> = d1_columns.iter().map(|(name, _)| name.as_str()).collect();
    let mut expected = crate::edge_log::EDGE_LOG_COLUMNS.to_vec();
    names.sort_unstable();
    expected.sort_unstable();
    assert_eq!(names, expected, "the tables and EdgeRow differ");

    // The D1 table refuses exactly the kinds EdgeKind does not have.
    for kind in crate::EdgeKind::ALL {
        d1.execute(
            "INSERT INTO log (id, kind, time_ms, user_id) VALUES (?1, ?2, 0, 0)",
            rusqlite::params![kind.as_str(), kind.as_str()],
        )
        .unwrap();
    }
    assert!(d1.execute("INSERT INTO log (id, kind, time_ms, user_id) VALUES ('x', 'view', 0, 0)", []).is_err());
}

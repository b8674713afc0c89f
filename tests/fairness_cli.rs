//! `marquee fairness` end to end on a small generated world and a trained model, with an
//! edge log built by hand: the online figures per group checked against counts worked out
//! here, and the report's invariants (intervals around their estimates, ratio = worst/best,
//! shares summing to 1, Gini in [0, 1]); `--publish` sends the summary to a stand-in edge.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;

use marquee_data::edge_log::{EdgeKind, EdgeRow};
use marquee_data::monitor::FairnessSummary;
use marquee_data::store::Store;
use marquee_e2e::{json, marquee, marquee_unchecked};
use marquee_train::recommend::user_demographics;
use serde_json::Value;

const LIST: usize = 20;

fn impression(id: String, user: u64, variant: &str, movies: &[String]) -> EdgeRow {
    EdgeRow {
        seq: 0,
        id,
        kind: EdgeKind::Impression,
        time_ms: 1_704_067_200_000,
        user_id: user,
        movie_id: None,
        value: Some(movies.join(",")),
        variant: Some(variant.into()),
        version: None,
        reference: None,
        latency_us: None,
        teams: None,
    }
}

fn click(id: String, user: u64, movie: &str, reference: &str) -> EdgeRow {
    EdgeRow {
        kind: EdgeKind::Click,
        time_ms: 1_704_067_260_000,
        movie_id: Some(movie.into()),
        value: None,
        variant: None,
        reference: Some(reference.into()),
        ..impression(id, user, "", &[])
    }
}

fn number(value: &Value) -> f64 {
    value.as_f64().unwrap_or_else(|| panic!("{value} is not a number"))
}

fn close(actual: f64, expected: f64, what: &str) {
    assert!((actual - expected).abs() < 1e-9, "{what}: {actual} != {expected}");
}

/// An estimate's interval holds its value, and all three are rates.
fn check_estimate(estimate: &Value, what: &str) -> f64 {
    let (value, low, high) = (number(&estimate["value"]), number(&estimate["low"]), number(&estimate["high"]));
    assert!(0.0 <= low && low <= value && value <= high && high <= 1.0, "{what}: {value} [{low}, {high}]");
    value
}

#[test]
fn fairness_reports_groups_ratios_and_exposure_from_a_model_and_a_log() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_owned();
    let (world, models, db) = (path("world"), path("models"), path("edge.db"));
    marquee(&["world", "--out", &world, "--users", "400", "--movies", "250", "--days", "6"]);
    marquee(&["train", "--data", &world, "--out", &models]);

    // The edge served one control list of 20 to every user (and a challenger list to every
    // fifth user, which --variant control leaves out); two users in three clicked rank
    // 1 + i % 4 of theirs.
    let (dataset, _) = marquee_data::csv_triple::load(&dir.path().join("world")).unwrap();
    let movies: Vec<String> = dataset.movies.iter().map(|movie| movie.movie_id.clone()).collect();
    let mut rows = Vec::new();
    // Per group label: (lists, clicked lists, reciprocal-rank sum).
    let mut expected: BTreeMap<String, (u64, u64, f64)> = BTreeMap::new();
    for (i, user) in dataset.users.iter().enumerate() {
        let list: Vec<String> = (0..LIST).map(|slot| movies[(i * 7 + slot) % movies.len()].clone()).collect();
        let demographics = user_demographics(user, &[]);
        let group = format!("{} {}", demographics.gender_label(), demographics.age_label());
        let entry = expected.entry(group).or_default();
        entry.0 += 1;
        rows.push(impression(format!("r{i}"), user.user_id, "control", &list));
        if i % 3 != 0 {
            let rank = 1 + i % 4;
            rows.push(click(format!("c{i}"), user.user_id, &list[rank - 1], &format!("r{i}")));
            entry.1 += 1;
            entry.2 += 1.0 / rank as f64;
        }
        if i % 5 == 0 {
            rows.push(impression(format!("x{i}"), user.user_id, "challenger", &list));
            rows.push(click(format!("xc{i}"), user.user_id, &list[0], &format!("x{i}")));
        }
    }
    // The log's sequence numbers, as the edge assigns them.
    for (seq, row) in rows.iter_mut().enumerate() {
        row.seq = seq as i64 + 1;
    }
    Store::open(std::path::Path::new(&db)).unwrap().ingest_edge_rows(&rows).unwrap();

    let min_users = 8;
    let report = json(&marquee(&[
        "fairness",
        "--data",
        &world,
        "--model",
        &models,
        "--db",
        &db,
        "--variant",
        "control",
        "--min-users",
        &min_users.to_string(),
        "--resamples",
        "300",
        "--json",
    ]));

    // Per group: online figures as counted above; every interval holds its estimate.
    let groups = report["groups"].as_array().unwrap();
    let online_groups: BTreeMap<String, &Value> = groups
        .iter()
        .filter(|g| !g["online"].is_null())
        .map(|g| (g["group"].as_str().unwrap().to_owned(), &g["online"]))
        .collect();
    assert_eq!(online_groups.keys().collect::<Vec<_>>(), expected.keys().collect::<Vec<_>>());
    for (group, &(lists, clicked, reciprocal)) in &expected {
        let online = online_groups[group];
        assert_eq!((online["users"].as_u64(), online["lists"].as_u64()), (Some(lists), Some(lists)), "{group}");
        close(check_estimate(&online["click_rate"], group), clicked as f64 / lists as f64, group);
        close(check_estimate(&online["mrr"], group), reciprocal / lists as f64, group);
    }
    let mut offline_users = 0;
    for group in groups.iter().filter(|g| !g["offline"].is_null()) {
        let name = group["group"].as_str().unwrap();
        check_estimate(&group["offline"]["ndcg"], name);
        check_estimate(&group["offline"]["hit_rate"], name);
        offline_users += group["offline"]["users"].as_u64().unwrap();
    }
    assert!(offline_users > 50, "{offline_users} held-out users scored");

    // Each ratio is the worst eligible group's value over the best's; small groups are named.
    let ratios = report["ratios"].as_array().unwrap();
    let metrics: Vec<&str> = ratios.iter().map(|r| r["metric"].as_str().unwrap()).collect();
    assert_eq!(metrics, ["ndcg", "hit_rate", "click_rate", "mrr"]);
    for ratio in ratios {
        let metric = ratio["metric"].as_str().unwrap();
        let side = if matches!(metric, "ndcg" | "hit_rate") { "offline" } else { "online" };
        let values: Vec<(String, u64, f64)> = groups
            .iter()
            .filter(|g| !g[side].is_null())
            .map(|g| {
                let users = g[side]["users"].as_u64().unwrap();
                (g["group"].as_str().unwrap().to_owned(), users, number(&g[side][metric]["value"]))
            })
            .collect();
        let small: Vec<&str> = values.iter().filter(|v| v.1 < min_users).map(|v| v.0.as_str()).collect();
        let listed: Vec<&str> = ratio["too_small"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
        assert_eq!(listed, small, "{metric}");
        let eligible: Vec<f64> = values.iter().filter(|v| v.1 >= min_users).map(|v| v.2).collect();
        let r = &ratio["ratio"];
        assert!(eligible.len() >= 2, "{metric}: the world has groups of {min_users} users or more");
        let (worst, best) = (number(&r["worst"]), number(&r["best"]));
        close(worst, eligible.iter().copied().fold(f64::INFINITY, f64::min), metric);
        close(best, eligible.iter().copied().fold(0.0, f64::max), metric);
        close(number(&r["ratio"]), worst / best, metric);
        assert_eq!(r["flagged"].as_bool(), Some(worst / best < 0.8), "{metric}");
        assert_eq!(r["groups"].as_u64(), Some(eligible.len() as u64));
    }

    // Items: shares sum to 1 over the deciles, the Gini and long-tail shares are in [0, 1].
    let items = &report["items"];
    let catalog = items["catalog"].as_u64().unwrap();
    assert_eq!(catalog, movies.len() as u64);
    assert_eq!(items["head_items"].as_u64(), Some((catalog as f64 * 0.2).ceil() as u64));
    let deciles = items["deciles"].as_array().unwrap();
    assert_eq!(deciles.len(), 10);
    assert_eq!(deciles.iter().map(|d| d["items"].as_u64().unwrap()).sum::<u64>(), catalog);
    for column in ["relevant_share", "offline_exposure_share", "online_exposure_share"] {
        close(deciles.iter().map(|d| number(&d[column])).sum::<f64>(), 1.0, column);
    }
    let training: Vec<u64> = deciles.iter().map(|d| d["training_interactions"].as_u64().unwrap()).collect();
    assert!(training.windows(2).all(|pair| pair[0] >= pair[1]), "deciles go from most to least popular");
    let online = &items["online"];
    assert_eq!(online["lists"].as_u64(), Some(dataset.users.len() as u64), "control lists only");
    assert_eq!(online["slots"].as_u64(), Some((dataset.users.len() * LIST) as u64));
    assert_eq!(online["outside_catalog"].as_u64(), Some(0));
    for source in ["offline", "online"] {
        let gini = number(&items[source]["gini"]);
        let tail = number(&items[source]["long_tail_share"]);
        assert!((0.0..=1.0).contains(&gini) && (0.0..=1.0).contains(&tail), "{source}: {gini} {tail}");
    }
    // Every list rotates through the catalog by 7, so online exposure is far more even than
    // the model's own lists.
    assert!(number(&online["gini"]) < number(&items["offline"]["gini"]));

    // The summary carries every ratio with labels /metrics can render, and the online items.
    let summary: FairnessSummary = serde_json::from_value(report["summary"].clone()).unwrap();
    assert_eq!(summary.validate(), Ok(()));
    assert_eq!(summary.ratios.len(), 4);
    for (sent, ratio) in summary.ratios.iter().zip(ratios) {
        assert_eq!(sent.metric, ratio["metric"].as_str().unwrap());
        close(sent.ratio, number(&ratio["ratio"]["ratio"]), &sent.metric);
    }
    close(summary.exposure_gini, number(&online["gini"]), "summary gini");
    close(summary.long_tail_share, number(&online["long_tail_share"]), "summary long tail");

    // Without a log the report is offline only; the table names what it left out.
    let table = marquee(&["fairness", "--data", &world, "--model", &models, "--resamples", "50"]);
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(text.contains("worst-to-best ratios") && text.contains("left out, fewer than 30 users"), "{text}");
    assert!(text.contains("online: no log given"), "{text}");

    // Bad input gets a clear error.
    let bad = marquee_unchecked(&["fairness", "--data", &world, "--model", &world]);
    assert!(String::from_utf8_lossy(&bad.stderr).contains("params.json"), "{}", String::from_utf8_lossy(&bad.stderr));
    let bad = marquee_unchecked(&["fairness", "--data", &world, "--model", &models, "--resamples", "0"]);
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--resamples"));
}

/// A stand-in edge that answers one request with 200 and hands back (request line,
/// authorization header, body).
fn one_request_edge() -> (String, std::thread::JoinHandle<(String, String, String)>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let handle = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut request_line = String::new();
        reader.read_line(&mut request_line).unwrap();
        let (mut authorization, mut length) = (String::new(), 0usize);
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            let (name, value) = line.split_once(':').unwrap();
            match name.to_ascii_lowercase().as_str() {
                "authorization" => authorization = value.trim().to_owned(),
                "content-length" => length = value.trim().parse().unwrap(),
                _ => {}
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}").unwrap();
        (request_line.trim_end().to_owned(), authorization, String::from_utf8(body).unwrap())
    });
    (url, handle)
}

#[test]
fn fairness_publishes_its_summary_to_the_edge() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_owned();
    let (world, models) = (path("world"), path("models"));
    marquee(&["world", "--out", &world, "--users", "300", "--movies", "200", "--days", "5"]);
    marquee(&["train", "--data", &world, "--out", &models]);
    let (url, edge) = one_request_edge();
    let output = marquee(&[
        "fairness",
        "--data",
        &world,
        "--model",
        &models,
        "--resamples",
        "50",
        "--min-users",
        "5",
        "--publish",
        &format!("{url}/"),
        "--token",
        "secret",
    ]);
    let (request_line, authorization, body) = edge.join().unwrap();
    assert_eq!(request_line, "PUT /v1/admin/monitor/fairness HTTP/1.1");
    assert_eq!(authorization, "Bearer secret");
    let summary: FairnessSummary = serde_json::from_str(&body).unwrap();
    assert_eq!(summary.validate(), Ok(()));
    assert!(summary.generated_ms > 1_700_000_000_000);
    assert!(summary.ratios.iter().all(|r| !r.worst_group.contains('<') && !r.worst_group.contains('?')));
    assert!(String::from_utf8_lossy(&output.stdout).contains("published the summary"));
    // Publishing needs a token.
    let refused = std::process::Command::new(marquee_e2e::marquee_binary())
        .args(["fairness", "--data", &world, "--model", &models, "--publish", &url])
        .env_remove("MARQUEE_ADMIN_TOKEN")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--publish needs --token"));
}

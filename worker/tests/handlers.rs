//! The Worker's request logic, natively, against in-memory storage (SQLite with the D1
//! migrations applied): every route, auth, malformed input, fallbacks, A/B and swaps.

mod support;

use std::cell::Cell;
use std::future::Future as _;
use std::sync::OnceLock;

use marquee_data::store::Store;
use marquee_data::world::{World, WorldConfig};
use marquee_data::{Dataset, RatingScale};
use marquee_model::recommend::UserProfile;
use marquee_train::recommend::{fit_hybrid, profile_shards, HybridParams, Interactions};
use marquee_worker::app::experiment::Experiment;
use marquee_worker::app::storage::{Statement, Storage};
use marquee_worker::{App, AppConfig, Request, Response};
use support::{block_on, MemoryStorage};

const TOKEN: &str = "test-token";

/// A small trained model: its recommender blob, its profile shards, and one known user.
struct Model {
    recommender: Vec<u8>,
    shards: Vec<Vec<u8>>,
    known_user: u64,
    /// The known user's published profile.
    known_profile: UserProfile,
}

fn model() -> &'static Model {
    static MODEL: OnceLock<Model> = OnceLock::new();
    MODEL.get_or_init(|| {
        let world = World::generate(WorldConfig {
            users: 300,
            movies: 200,
            days: 5,
            malformed_rate: 0.0,
            ..Default::default()
        })
        .unwrap();
        let mut stream = String::new();
        world.simulate(|line| stream.push_str(&format!("{line}\n")), |_| {}, |_| {});
        let mut store = Store::open_in_memory().unwrap();
        store.ingest_stream(stream.as_bytes(), RatingScale::FIVE, |_| {}).unwrap();
        store
            .ingest_dataset(&Dataset { users: world.users.clone(), movies: world.movies.clone(), ratings: vec![] })
            .unwrap();
        let data = Interactions::from_store(&store).unwrap();
        let fitted = fit_hybrid(&data, &data.events, &HybridParams { shard_count: 3, ..Default::default() }).unwrap();
        let shards = profile_shards(&fitted.recommender, &fitted.profiles).unwrap();
        let known_profile = fitted.profiles.iter().find(|profile| profile.interactions >= 3).unwrap().clone();
        Model {
            recommender: fitted.recommender.to_blob().unwrap(),
            shards,
            known_user: known_profile.user_id,
            known_profile,
        }
    })
}

struct Edge {
    app: App,
    storage: MemoryStorage,
    now: Cell<f64>,
    /// How far the clock moves each time it is read, in milliseconds.
    tick: Cell<f64>,
}

impl Edge {
    fn new() -> Self {
        let config = AppConfig { admin_token: Some(TOKEN.into()), ..Default::default() }.with_popular_list("p1,p2,p3");
        Edge {
            app: App::new(config, 1),
            storage: MemoryStorage::new(),
            now: Cell::new(1_700_000_000_000.0),
            tick: Cell::new(0.25),
        }
    }

    /// Sends a request, then runs its deferred writes as `ctx.waitUntil` would, keeping
    /// them for the next request if they fail (as the Worker does after its retries).
    fn send(&self, request: Request) -> Response {
        let clock = || {
            self.now.set(self.now.get() + self.tick.get());
            self.now.get()
        };
        let outcome = block_on(self.app.handle(&request, &self.storage, &clock));
        if block_on(self.storage.execute(&outcome.deferred)).is_err() {
            self.app.keep_unwritten(outcome.deferred);
        }
        outcome.response
    }

    fn admin(&self, method: &str, path: &str, body: Vec<u8>) -> Response {
        self.send(Request::new(method, path, body).with_header("authorization", &format!("Bearer {TOKEN}")))
    }

    fn publish(&self, version: &str) {
        let model = model();
        let response = self.admin("PUT", &format!("/v1/admin/models/{version}/recommender"), model.recommender.clone());
        // 201 stored; 200 when the version already has exactly these bytes (a retried publish).
        assert!(matches!(response.status, 200 | 201), "{} {}", response.status, response.body_text());
        for (shard, bytes) in model.shards.iter().enumerate() {
            let response = self.admin("PUT", &format!("/v1/admin/models/{version}/profiles/{shard}"), bytes.clone());
            assert_eq!(response.status, 201, "{}", response.body_text());
        }
    }

    /// A fresh isolate on the same storage: nothing cached.
    fn restart(&mut self) {
        let config = AppConfig { admin_token: Some(TOKEN.into()), ..Default::default() }.with_popular_list("p1,p2,p3");
        self.app = App::new(config, self.now.get().to_bits());
    }

    /// Lets the settings cache expire.
    fn wait(&self, ms: f64) {
        self.now.set(self.now.get() + ms);
    }

    /// The one number a `SELECT count(*) AS n ...` answers.
    fn count(&self, sql: &'static str) -> i64 {
        #[derive(serde::Deserialize)]
        struct Count {
            n: i64,
        }
        let rows: Vec<Count> = block_on(self.storage.query(&Statement::new(sql, vec![]))).unwrap();
        rows[0].n
    }
}

fn json(response: &Response) -> serde_json::Value {
    serde_json::from_slice(&response.body).unwrap_or_else(|_| panic!("not JSON: {}", response.body_text()))
}

#[test]
fn empty_storage_serves_the_embedded_default_model() {
    let edge = Edge::new();
    let response = edge.send(Request::get("/recommend/42"));
    assert_eq!(response.status, 200);
    assert!(response.content_type.starts_with("text/plain"));
    let body = response.body_text();
    let ids: Vec<&str> = body.split(',').collect();
    assert_eq!(ids.len(), 20);
    assert!(!body.contains(' ') && !body.contains('\n'));
    assert_eq!(response.header("x-marquee-model-version"), Some("default"));
    assert_eq!(response.header("x-marquee-variant"), Some("control"));
    assert!(response.header("x-marquee-recommendation-id").unwrap().starts_with('r'));
    assert_eq!(edge.count("SELECT count(*) AS n FROM log WHERE kind = 'impression'"), 1, "the impression is logged");
}

#[test]
fn malformed_input_gets_a_clear_400() {
    let edge = Edge::new();
    for bad in ["abc", "-1", "1.5", "99999999999999999999999"] {
        let response = edge.send(Request::get(&format!("/recommend/{bad}")));
        assert_eq!(response.status, 400, "{bad}");
        assert!(!response.body_text().contains('\n'));
    }
    assert_eq!(edge.send(Request::get("/v1/recommend/1?n=0")).status, 400);
    assert_eq!(edge.send(Request::get("/v1/recommend/1?n=many")).status, 400);
    assert_eq!(edge.send(Request::get("/nope")).status, 404);
    assert_eq!(edge.send(Request::new("POST", "/recommend/1", vec![])).status, 405);
}

#[test]
fn the_json_route_returns_scores_ids_and_explanations() {
    let edge = Edge::new();
    let response = edge.send(Request::get("/v1/recommend/7?n=5&explain=1"));
    assert_eq!(response.status, 200);
    let body = json(&response);
    assert_eq!(body["items"].as_array().unwrap().len(), 5);
    assert_eq!(body["model_version"], "default");
    assert_eq!(body["variant"], "control");
    assert!(body["recommendation_id"].as_str().unwrap().starts_with('r'));
    let explanation = body["items"][0]["explanation"].as_array().unwrap();
    assert_eq!(explanation.len(), 3);
    assert!(explanation[0]["feature"].as_str().is_some() && explanation[0]["contribution"].as_f64().is_some());
    // `true` is as good as `1`; `false` leaves the reasons out; anything else is refused.
    let with_true = json(&edge.send(Request::get("/v1/recommend/7?n=5&explain=true")));
    assert_eq!(with_true["items"][0]["explanation"].as_array().map(Vec::len), Some(3));
    let without = json(&edge.send(Request::get("/v1/recommend/7?n=5&explain=false")));
    assert!(without["items"][0].get("explanation").is_none());
    assert_eq!(edge.send(Request::get("/v1/recommend/7?explain=yes")).status, 400);
}

#[test]
fn the_admin_api_needs_the_token() {
    let edge = Edge::new();
    for request in [
        Request::get("/v1/admin/models"),
        Request::get("/v1/admin/models").with_header("authorization", "Bearer wrong"),
        Request::new("PUT", "/v1/admin/models/v1/recommender", vec![1, 2, 3]),
        Request::new("POST", "/v1/admin/rollback", vec![]),
    ] {
        let response = edge.send(request);
        assert_eq!(response.status, 401);
        assert_eq!(response.header("www-authenticate"), Some("Bearer"));
    }
    assert!(edge.storage.blob_keys().is_empty(), "nothing was stored");
    let closed = App::new(AppConfig::default(), 0);
    let outcome = block_on(closed.handle(
        &Request::get("/v1/admin/models").with_header("authorization", "Bearer "),
        &edge.storage,
        &|| 0.0,
    ));
    assert_eq!(outcome.response.status, 401, "no secret configured: the admin API is closed");
}

#[test]
fn uploads_are_validated_and_activation_switches_the_model() {
    let edge = Edge::new();
    let corrupt = edge.admin("PUT", "/v1/admin/models/v1/recommender", b"MARQUEE\0 definitely not a model".to_vec());
    assert_eq!(corrupt.status, 422);
    assert_eq!(json(&corrupt)["error"], "unprocessable");
    let mut damaged = model().recommender.clone();
    let middle = damaged.len() / 2;
    damaged[middle] ^= 1;
    assert_eq!(edge.admin("PUT", "/v1/admin/models/v1/recommender", damaged).status, 422);
    assert_eq!(edge.admin("PUT", "/v1/admin/models/v1/profiles/0", model().shards[0].clone()).status, 409);
    assert_eq!(edge.admin("PUT", "/v1/admin/models/bad%20name/recommender", vec![]).status, 400);

    edge.publish("v1");
    assert_eq!(
        edge.admin("PUT", "/v1/admin/models/v1/profiles/0", model().shards[1].clone()).status,
        422,
        "wrong shard"
    );
    let listed = json(&edge.admin("GET", "/v1/admin/models", vec![]));
    assert_eq!(listed["versions"][0]["version"], "v1");
    assert_eq!(listed["active"], serde_json::Value::Null);

    assert_eq!(edge.admin("POST", "/v1/admin/models/v9/activate", vec![]).status, 409, "unknown version");
    assert_eq!(edge.admin("POST", "/v1/admin/models/v1/activate", vec![]).status, 200);
    let user = model().known_user;
    let served = edge.send(Request::get(&format!("/recommend/{user}")));
    assert_eq!(served.header("x-marquee-model-version"), Some("v1"));
    assert_eq!(served.header("x-marquee-fallback"), None);
    assert_eq!(served.body_text().split(',').count(), 20);

    // A second version, then a rollback to the first.
    edge.publish("v2");
    assert_eq!(edge.admin("POST", "/v1/admin/models/v2/activate", vec![]).status, 200);
    assert_eq!(edge.send(Request::get("/recommend/1")).header("x-marquee-model-version"), Some("v2"));
    let rolled = edge.admin("POST", "/v1/admin/rollback", vec![]);
    assert_eq!(json(&rolled)["active"], "v1");
    assert_eq!(edge.send(Request::get("/recommend/1")).header("x-marquee-model-version"), Some("v1"));
}

#[test]
fn a_corrupt_active_blob_never_replaces_a_good_model() {
    let mut edge = Edge::new();
    edge.publish("good");
    edge.admin("POST", "/v1/admin/models/good/activate", vec![]);
    // Damage a second version behind the API's back, as a bad disk or a buggy tool might,
    // and serve from an isolate that has not loaded it yet.
    edge.publish("broken");
    block_on(edge.storage.put_blob("models/broken/recommender.blob", b"garbage")).unwrap();
    edge.restart();
    assert_eq!(edge.send(Request::get("/recommend/5")).header("x-marquee-model-version"), Some("good"));
    edge.admin("POST", "/v1/admin/models/broken/activate", vec![]);
    for _ in 0..3 {
        let response = edge.send(Request::get("/recommend/5"));
        assert_eq!(response.status, 200);
        assert_eq!(response.header("x-marquee-model-version"), Some("good"), "the last good model keeps serving");
        assert_eq!(response.header("x-marquee-fallback"), Some("model"));
        assert_eq!(response.body_text().split(',').count(), 20);
    }
    // What the alert rules read: one failed load (the version is then left alone a while),
    // three fallback answers, and when the version was activated.
    edge.send(Request::get("/metrics"));
    let text = edge.send(Request::get("/metrics")).body_text();
    for expected in [
        "marquee_model_load_failures_total{reason=\"corrupt\"} 1",
        "marquee_model_load_failures_total{reason=\"missing\"} 0",
        "marquee_fallbacks_total{route=\"recommend\",reason=\"model\"} 3",
        "marquee_model_activated_timestamp_seconds 1700000",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in\n{text}");
    }
}

#[test]
fn writes_that_fail_in_an_outage_are_kept_and_land_after_it() {
    let edge = Edge::new();
    edge.send(Request::get("/recommend/1"));
    edge.storage.failing.set(true);
    edge.wait(10_000.0);
    for user in [2, 3] {
        assert_eq!(edge.send(Request::get(&format!("/recommend/{user}"))).status, 200);
    }
    assert_eq!(json(&edge.send(Request::get("/healthz")))["writes_pending_retry"].as_u64().map(|n| n > 0), Some(true));
    edge.storage.failing.set(false);
    edge.wait(10_000.0);
    edge.send(Request::get("/recommend/4"));
    assert_eq!(edge.count("SELECT count(*) AS n FROM log WHERE kind = 'impression'"), 4, "no served list is lost");
    assert_eq!(edge.count("SELECT sum(impressions) AS n FROM variant_counts"), 4);
    assert_eq!(json(&edge.send(Request::get("/healthz")))["writes_pending_retry"], 0);
    // Every recommend answer is counted, the ones answered in the outage included.
    edge.send(Request::get("/metrics"));
    let text = edge.send(Request::get("/metrics")).body_text();
    assert!(text.contains("marquee_requests_total{route=\"recommend\",status=\"200\"} 4"), "{text}");
}

#[test]
fn a_scrape_reads_small_counter_tables_never_the_log() {
    let edge = Edge::new();
    for user in 1..=5 {
        let served = edge.send(Request::get(&format!("/recommend/{user}")));
        let id = served.header("x-marquee-recommendation-id").unwrap().to_owned();
        let movie = served.body_text().split(',').next().unwrap().to_owned();
        let line = format!(
            r#"{{"type":"click","id":"c{user}","user_id":{user},"movie_id":"{movie}","recommendation_id":"{id}"}}"#
        );
        // Sent twice: the retry is a duplicate, stored and counted once.
        for _ in 0..2 {
            assert_eq!(edge.send(Request::new("POST", "/v1/events", line.clone().into_bytes())).status, 200);
        }
    }
    edge.storage.queried.borrow_mut().clear();
    let text = edge.send(Request::get("/metrics")).body_text();
    let queried = edge.storage.queried.borrow().clone();
    assert!(!queried.is_empty());
    for sql in &queried {
        let words: Vec<&str> = sql.split_whitespace().collect();
        assert!(!words.windows(2).any(|pair| matches!(pair[0], "FROM" | "JOIN") && pair[1] == "log"), "{sql}");
    }
    assert!(text.contains("marquee_impressions_total{variant=\"control\"} 5"), "{text}");
    assert!(text.contains("marquee_clicks_total{variant=\"control\"} 5"), "{text}");
    assert_eq!(edge.count("SELECT count(*) AS n FROM log WHERE kind = 'click'"), 5);
}

#[test]
fn health_reports_are_validated_kept_and_exported_for_alerting() {
    let edge = Edge::new();
    let drift = serde_json::json!({
        "generated_ms": 1_700_000_000_000i64,
        "share_drifted": 0.6,
        "dataset_drifted": true,
        "columns": [
            {"name": "age", "scope": "input", "test": "wasserstein", "score": 0.31, "threshold": 0.1, "drifted": true},
            {"name": "genre", "scope": "output", "test": "jensenshannon", "score": 0.02, "threshold": 0.1, "drifted": false}
        ]
    });
    let fairness = serde_json::json!({
        "generated_ms": 1_700_000_000_000i64,
        "ratios": [{"metric": "ndcg", "worst_group": "F 56+", "best_group": "M 25-34", "ratio": 0.71, "flagged": true}],
        "exposure_gini": 0.83,
        "long_tail_share": 0.04
    });
    let put = |kind: &str, body: &serde_json::Value| {
        edge.admin("PUT", &format!("/v1/admin/monitor/{kind}"), serde_json::to_vec(body).unwrap())
    };
    assert_eq!(edge.send(Request::new("PUT", "/v1/admin/monitor/drift", b"{}".to_vec())).status, 401);
    assert_eq!(admin_get(&edge, "/v1/admin/monitor/drift").status, 404);
    assert_eq!(put("drift", &drift).status, 200);
    assert_eq!(put("fairness", &fairness).status, 200);
    assert_eq!(put("weather", &fairness).status, 404);
    let mut out_of_range = fairness.clone();
    out_of_range["exposure_gini"] = 1.5.into();
    let refused = put("fairness", &out_of_range);
    assert_eq!(refused.status, 422);
    assert!(json(&refused)["message"].as_str().unwrap().contains("exposure_gini"));
    let mut injected = drift.clone();
    injected["columns"][0]["name"] = "age\"} 1\nmarquee_up 0".into();
    assert_eq!(put("drift", &injected).status, 422);
    assert_eq!(json(&admin_get(&edge, "/v1/admin/monitor/fairness"))["report"], fairness);
    // The admin UI's overview reads them from the summary.
    let summary = json(&admin_get(&edge, "/v1/admin/summary?window_s=3600&step_s=60"));
    assert_eq!(summary["reports"]["drift"], drift);
    assert_eq!(summary["reports"]["fairness"], fairness);

    let text = edge.send(Request::get("/metrics")).body_text();
    for expected in [
        "marquee_drift_share_drifted 0.6",
        "marquee_drift_dataset_drifted 1",
        "marquee_drift_column_score{column=\"age\",scope=\"input\",test=\"wasserstein\"} 0.31",
        "marquee_drift_column_drifted{column=\"genre\",scope=\"output\"} 0",
        "marquee_drift_report_timestamp_seconds 1700000000",
        "marquee_fairness_ratio{metric=\"ndcg\",worst_group=\"F 56+\",best_group=\"M 25-34\"} 0.71",
        "marquee_fairness_flagged{metric=\"ndcg\"} 1",
        "marquee_exposure_gini 0.83",
        "marquee_long_tail_share 0.04",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in\n{text}");
    }
}

#[test]
fn a_storage_outage_still_answers_a_list() {
    let edge = Edge::new();
    edge.publish("v1");
    edge.admin("POST", "/v1/admin/models/v1/activate", vec![]);
    edge.send(Request::get("/recommend/3"));
    edge.storage.failing.set(true);
    edge.wait(10_000.0);
    for user in [3, 4, 999_999] {
        let response = edge.send(Request::get(&format!("/recommend/{user}")));
        assert_eq!(response.status, 200);
        assert_eq!(response.body_text().split(',').count(), 20);
        assert!(response.header("x-marquee-fallback").is_some());
    }
    let health = json(&edge.send(Request::get("/healthz")));
    assert_eq!(health["storage_reachable"], false);
    assert_eq!(health["status"], "degraded");
    assert_eq!(edge.send(Request::get("/metrics")).status, 503);
}

#[test]
fn events_keep_good_lines_report_bad_ones_and_never_duplicate() {
    let edge = Edge::new();
    let body = [
        // With a time, a retry is the same event (without one, the arrival time is its time).
        r#"{"type":"watch","user_id":1,"movie_id":"heat+1995","minute":3,"time_ms":1704103200000}"#,
        r#"{"type":"rate","user_id":1,"movie_id":"heat+1995","rating":9}"#,
        "2024-01-01T10:00:00,2,GET /rate/heat+1995=4",
        "2024-01-01T10:00:00,2,GET /data/m/heat+1995/7.mpg",
        "not an event",
        r#"{"id":"c-1","type":"click","user_id":1,"movie_id":"heat+1995","recommendation_id":"r1"}"#,
        "",
    ]
    .join("\n");
    let response = edge.send(Request::new("POST", "/v1/events", body.clone().into_bytes()));
    assert_eq!(response.status, 200, "{}", response.body_text());
    let result = json(&response);
    assert_eq!((result["stored"].as_u64(), result["duplicates"].as_u64()), (Some(3), Some(0)));
    let rejected: Vec<u64> =
        result["rejected"].as_array().unwrap().iter().map(|r| r["line"].as_u64().unwrap()).collect();
    // Line 6 clicks a list the edge never served.
    assert_eq!(rejected, vec![2, 5, 6]);
    assert_eq!(result["rejected_unlisted"], 1);
    // A retry of the same request stores nothing new.
    edge.send(Request::new("POST", "/v1/events", body.into_bytes()));
    assert_eq!(edge.count("SELECT count(*) AS n FROM log WHERE kind != 'impression'"), 3);

    let too_big = vec![b'x'; (1 << 20) + 1];
    assert_eq!(edge.send(Request::new("POST", "/v1/events", too_big)).status, 413);
    // A form upload is refused whole: its envelope is not event lines.
    let form = "--x\r\nContent-Disposition: form-data; name=\"f\"\r\n\r\n2024-01-01T10:00:00,2,GET /data/m/heat+1995/8.mpg\r\n--x--\r\n";
    let upload = Request::new("POST", "/v1/events", form.as_bytes().to_vec())
        .with_header("content-type", "multipart/form-data; boundary=x");
    let refused = edge.send(upload);
    assert_eq!(refused.status, 415, "{}", refused.body_text());
    assert_eq!(edge.count("SELECT count(*) AS n FROM log WHERE kind = 'watch' AND value = '8'"), 0);
    // Too many lines is its own refusal, saying so (not a message about bytes).
    let many = "2024-01-01T10:00:00,2,GET /data/m/heat+1995/7.mpg\n".repeat(5_001);
    let refused = edge.send(Request::new("POST", "/v1/events", many.into_bytes()));
    assert_eq!(refused.status, 413);
    assert!(refused.body_text().contains("over 5000 lines"), "{}", refused.body_text());
    let garbage = edge.send(Request::new("POST", "/v1/events", b"garbage".to_vec()));
    assert_eq!(garbage.status, 400);
    // Refused whole: the shape of every error, with the per-line report beside it.
    let refusal = json(&garbage);
    assert_eq!(refusal["error"], "bad_request");
    assert!(refusal["message"].as_str().unwrap().contains("all 1 lines were rejected"), "{refusal}");
    assert_eq!(refusal["lines"][0]["status"], "rejected");
    assert_eq!(edge.send(Request::get("/v1/events")).status, 405);
}

#[test]
fn every_event_line_is_reported_stored_duplicate_or_rejected_by_its_identity() {
    let edge = Edge::new();
    let served = edge.send(Request::get("/recommend/1"));
    let impression = served.header("x-marquee-recommendation-id").unwrap().to_owned();
    let statuses = |body: &str| -> (u16, Vec<String>, serde_json::Value) {
        let response = edge.send(Request::new("POST", "/v1/events", body.as_bytes().to_vec()));
        let result = json(&response);
        let lines = result["lines"].as_array().unwrap();
        (response.status, lines.iter().map(|line| line["status"].as_str().unwrap().to_owned()).collect(), result)
    };
    let first = [
        r#"{"type":"watch","user_id":1,"movie_id":"heat+1995","minute":3,"time_ms":1704103200000}"#.to_owned(),
        // A client id equal to an impression's id names the client's event, not the list.
        format!(r#"{{"id":"{impression}","type":"watch","user_id":1,"movie_id":"heat+1995","minute":4}}"#),
        // The same line twice in one request: the second is a duplicate.
        "2024-01-01T10:00:05,2,GET /rate/heat+1995=4".to_owned(),
        "2024-01-01T10:00:05,2,GET /rate/heat+1995=4".to_owned(),
        "not an event".to_owned(),
    ]
    .join("\n");
    let (status, lines, result) = statuses(&first);
    assert_eq!(status, 200);
    assert_eq!(lines, ["stored", "stored", "stored", "duplicate", "rejected"], "{result}");
    assert_eq!((result["stored"].as_u64(), result["duplicates"].as_u64()), (Some(3), Some(1)));
    assert_eq!(result["lines"][1]["id"], format!("c:1:{impression}"));
    assert!(result["lines"][4]["error"].as_str().unwrap().contains("invalid stream line"), "{result}");
    // The impression is untouched: one row under its id, still an impression.
    let kinds: Vec<String> = {
        let db = edge.storage.raw();
        let mut query = db.prepare("SELECT kind FROM log WHERE id = ?1").unwrap();
        query.query_map([&impression], |row| row.get(0)).unwrap().map(Result::unwrap).collect()
    };
    assert_eq!(kinds, ["impression"]);

    // A retry re-serialised with other key order, and the first watch as a stream line,
    // are the same events: acknowledged (200), nothing stored twice.
    let retry = [
        r#"{"time_ms":1704103200000,"minute":3,"movie_id":"heat+1995","user_id":1,"type":"watch"}"#,
        "2024-01-01T10:00:00,1,GET /data/m/heat+1995/3.mpg",
    ]
    .join("\n");
    let (status, lines, _) = statuses(&retry);
    assert_eq!((status, lines), (200, vec!["duplicate".to_owned(), "duplicate".to_owned()]));
    // The same kind of watch again, later, is a new event.
    let (_, lines, _) =
        statuses(r#"{"type":"watch","user_id":1,"movie_id":"heat+1995","minute":3,"time_ms":1704103260000}"#);
    assert_eq!(lines, ["stored"]);
    // Another user may use the same client id.
    let (_, lines, _) =
        statuses(&format!(r#"{{"id":"{impression}","type":"watch","user_id":2,"movie_id":"heat+1995","minute":4}}"#));
    assert_eq!(lines, ["stored"]);
    assert_eq!(edge.count("SELECT count(*) AS n FROM log WHERE kind != 'impression'"), 5);
}

#[test]
fn events_naming_a_list_are_stored_only_for_its_user_and_its_movies() {
    let edge = Edge::new();
    let served = edge.send(Request::get("/recommend/7"));
    let id = served.header("x-marquee-recommendation-id").unwrap().to_owned();
    let list: Vec<String> = served.body_text().split(',').map(str::to_owned).collect();
    let other_list = edge.send(Request::get("/recommend/8")).body_text();
    let unlisted = other_list.split(',').find(|movie| !list.iter().any(|listed| listed == movie)).unwrap();
    let event = |kind: &str, user: u64, movie: &str, extra: &str| {
        format!(r#"{{"type":"{kind}","user_id":{user},"movie_id":"{movie}","recommendation_id":"{id}"{extra}}}"#)
    };
    let body = [
        event("click", 7, &list[2], ""),
        event("watch", 7, &list[2], r#","minute":0"#),
        event("rate", 7, &list[2], r#","rating":4"#),
        // Another user's click on user 7's list.
        event("click", 8, &list[2], ""),
        // A movie the list did not contain.
        event("click", 7, unlisted, ""),
        // A list never served.
        r#"{"type":"click","user_id":7,"movie_id":"x","recommendation_id":"r-forged"}"#.to_owned(),
        // The same without naming a list: the movie service's own record, stored.
        format!(r#"{{"type":"watch","user_id":7,"movie_id":"{unlisted}","minute":1}}"#),
    ]
    .join("\n");
    let result = json(&edge.send(Request::new("POST", "/v1/events", body.into_bytes())));
    assert_eq!((result["stored"].as_u64(), result["rejected_unlisted"].as_u64()), (Some(4), Some(3)));
    let reasons: Vec<(u64, &str)> = result["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["line"].as_u64().unwrap(), r["error"].as_str().unwrap()))
        .collect();
    assert_eq!(reasons.iter().map(|r| r.0).collect::<Vec<_>>(), [4, 5, 6]);
    assert!(reasons[0].1.contains("another user"), "{reasons:?}");
    assert!(reasons[1].1.contains("was not in recommendation"), "{reasons:?}");
    assert!(reasons[2].1.contains("names no list"), "{reasons:?}");
    let referencing = edge.count("SELECT count(*) AS n FROM log WHERE ref IS NOT NULL");
    assert_eq!(referencing, 3, "the click, watch and rating of the listed movie name their list");
}

#[test]
fn the_experiment_splits_users_between_versions_without_a_redeploy() {
    let edge = Edge::new();
    edge.publish("a");
    edge.publish("b");
    edge.admin("POST", "/v1/admin/models/a/activate", vec![]);
    let experiment = serde_json::json!({
        "salt": "spring",
        "variants": [
            { "name": "control", "version": "a", "weight": 1 },
            { "name": "treatment", "version": "b", "weight": 1 }
        ]
    });
    let bad = serde_json::json!({ "salt": "s", "variants": [{ "name": "x", "version": "zzz", "weight": 1 }] });
    assert_eq!(edge.admin("PUT", "/v1/admin/experiment", bad.to_string().into_bytes()).status, 409);
    assert_eq!(edge.admin("PUT", "/v1/admin/experiment", b"{".to_vec()).status, 400);
    assert_eq!(edge.admin("PUT", "/v1/admin/experiment", experiment.to_string().into_bytes()).status, 200);
    assert_eq!(json(&edge.admin("GET", "/v1/admin/experiment", vec![]))["salt"], "spring");
    let mut seen = std::collections::HashMap::new();
    for user in 0..200u64 {
        let response = edge.send(Request::get(&format!("/recommend/{user}")));
        let variant = response.header("x-marquee-variant").unwrap().to_owned();
        let version = response.header("x-marquee-model-version").unwrap().to_owned();
        assert_eq!(version, if variant == "control" { "a" } else { "b" });
        let again = edge.send(Request::get(&format!("/recommend/{user}")));
        assert_eq!(again.header("x-marquee-variant").unwrap(), variant, "assignment is sticky");
        *seen.entry(variant).or_insert(0) += 1;
    }
    assert!(seen["control"] > 60 && seen["treatment"] > 60, "{seen:?}");
}

#[test]
fn metrics_and_the_log_come_from_storage() {
    let edge = Edge::new();
    let served = edge.send(Request::get("/recommend/1"));
    let recommendation_id = served.header("x-marquee-recommendation-id").unwrap().to_owned();
    edge.send(Request::get("/recommend/abc"));
    let movie = served.body_text().split(',').next().unwrap().to_owned();
    let click =
        format!(r#"{{"type":"click","user_id":1,"movie_id":"{movie}","recommendation_id":"{recommendation_id}"}}"#);
    assert_eq!(edge.send(Request::new("POST", "/v1/events", click.into_bytes())).status, 200);
    // A scrape reads what is stored and writes this isolate's buffered counts after
    // answering, so the second scrape sees every request before the first.
    edge.send(Request::get("/metrics"));
    let metrics = edge.send(Request::get("/metrics"));
    assert_eq!(metrics.status, 200);
    let text = metrics.body_text();
    for expected in [
        "marquee_requests_total{route=\"recommend\",status=\"200\"} 1",
        "marquee_requests_total{route=\"recommend\",status=\"400\"} 1",
        "marquee_request_io_seconds_bucket{route=\"recommend\",le=\"+Inf\"} 2",
        "marquee_request_io_seconds_count{route=\"recommend\"} 2",
        "marquee_model_info{version=\"default\"} 1",
        "marquee_impressions_total{variant=\"control\"} 1",
        "marquee_clicks_total{variant=\"control\"} 1",
        "marquee_fallbacks_total{route=\"recommend\",reason=\"model\"} 0",
        "marquee_model_load_failures_total{reason=\"corrupt\"} 0",
        "# TYPE marquee_request_io_seconds histogram",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in\n{text}");
    }

    let page = edge.admin("GET", "/v1/admin/log?since=0&limit=1", vec![]);
    assert_eq!(page.content_type, "application/x-ndjson");
    let cursor = page.header("x-marquee-next-cursor").unwrap().to_owned();
    let first: serde_json::Value = serde_json::from_str(page.body_text().trim()).unwrap();
    assert_eq!(first["kind"], "impression");
    let rest = edge.admin("GET", &format!("/v1/admin/log?since={cursor}"), vec![]);
    let lines: Vec<serde_json::Value> =
        rest.body_text().lines().map(|line| serde_json::from_str(line).unwrap()).collect();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["kind"], "click");
    assert_eq!(edge.admin("GET", "/v1/admin/log?since=x", vec![]).status, 400);
}

#[test]
fn healthz_reports_the_model_and_storage() {
    let edge = Edge::new();
    let health = json(&edge.send(Request::get("/healthz")));
    assert_eq!(health["model_loaded"], true);
    assert_eq!(health["model_version"], "default");
    assert_eq!(health["storage_reachable"], true);
    assert_eq!(health["status"], "ok");
}

#[test]
fn there_is_no_bench_route_reporting_cpu_time_from_the_workers_clock() {
    // workerd's Date.now does not advance during CPU work, so a CPU figure timed inside the
    // Worker is meaningless; `marquee bench edge` times the Worker's wasm in Node instead.
    let edge = Edge::new();
    edge.publish("v1");
    edge.admin("POST", "/v1/admin/models/v1/activate", vec![]);
    assert_eq!(edge.admin("GET", "/v1/admin/bench?users=1,2,3&repeat=4", vec![]).status, 404);
}

#[test]
fn user_ids_are_refused_unless_every_store_holds_them_exactly() {
    let edge = Edge::new();
    // 2^53 and above: a JavaScript number would round them, and u64::MAX was once logged as -1.
    for too_big in ["9007199254740992", "18446744073709551615"] {
        let response = edge.send(Request::get(&format!("/recommend/{too_big}")));
        assert_eq!(response.status, 400, "{too_big}");
        assert!(response.content_type.starts_with("text/plain"));
        assert!(response.body_text().contains("out of range"), "{}", response.body_text());
    }
    let largest = marquee_data::MAX_USER_ID;
    assert_eq!(edge.send(Request::get(&format!("/recommend/{largest}"))).status, 200);
    let event = format!(r#"{{"type":"watch","user_id":{},"movie_id":"m","minute":1}}"#, largest + 1);
    assert_eq!(edge.send(Request::new("POST", "/v1/events", event.into_bytes())).status, 400);
    // The log serves the largest id exactly, and it reads back as the one row type.
    let page = edge.admin("GET", "/v1/admin/log", vec![]);
    let rows: Vec<marquee_data::EdgeRow> =
        page.body_text().lines().map(|line| serde_json::from_str(line).unwrap()).collect();
    assert_eq!(rows.len(), 1);
    assert_eq!((rows[0].kind, rows[0].user_id), (marquee_data::EdgeKind::Impression, largest));
}

#[test]
fn errors_take_the_route_s_form_and_405_lists_what_is_allowed() {
    let edge = Edge::new();
    let text = edge.send(Request::get("/recommend/abc"));
    assert!(text.content_type.starts_with("text/plain"));
    assert_eq!(text.body_text().lines().count(), 1);
    let wrong_method = edge.send(Request::new("DELETE", "/recommend/1", vec![]));
    assert_eq!(wrong_method.status, 405);
    assert!(wrong_method.content_type.starts_with("text/plain"));
    assert_eq!(wrong_method.header("allow"), Some("GET, HEAD"));
    // /recommend answers its list whatever the query says: `n` belongs to /v1.
    assert_eq!(edge.send(Request::get("/recommend/1?n=0")).body_text().split(',').count(), 20);

    let json_error = edge.send(Request::get("/v1/recommend/abc"));
    assert_eq!(json_error.status, 400);
    assert_eq!(json(&json_error)["error"], "bad_request");
    let experiment = edge.admin("DELETE", "/v1/admin/experiment", vec![]);
    assert_eq!((experiment.status, experiment.header("allow")), (405, Some("GET, PUT, HEAD")));
    assert_eq!(json(&experiment)["error"], "method_not_allowed");
    assert_eq!(json(&edge.send(Request::get("/nope")))["error"], "not_found");
}

#[test]
fn head_answers_like_get_without_side_effects() {
    let edge = Edge::new();
    let head = edge.send(Request::new("HEAD", "/recommend/5", vec![]));
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    assert!(head.content_type.starts_with("text/plain"));
    assert_eq!(head.header("x-marquee-model-version"), Some("default"));
    assert_eq!(edge.count("SELECT count(*) AS n FROM log"), 0, "HEAD logs no impression");
    assert_eq!(edge.send(Request::new("HEAD", "/healthz", vec![])).status, 200);
    assert_eq!(edge.send(Request::new("HEAD", "/v1/events", vec![])).status, 405);
    edge.send(Request::get("/recommend/5"));
    assert_eq!(edge.count("SELECT count(*) AS n FROM log"), 1, "GET logs one");
}

// ---------------------------------------------------------------------------------------
// The admin UI's API (issue #10).

fn admin_get(edge: &Edge, path: &str) -> Response {
    edge.admin("GET", path, vec![])
}

/// Published, activated and serving: `v1` from the test model.
fn serving_v1() -> Edge {
    let edge = Edge::new();
    edge.publish("v1");
    assert_eq!(edge.admin("POST", "/v1/admin/models/v1/activate", vec![]).status, 200);
    edge
}

fn manifest_json(version: &str) -> serde_json::Value {
    let model = model();
    let shard = |path: String, bytes: usize| serde_json::json!({ "path": path, "bytes": bytes });
    serde_json::json!({
        "version": version,
        "feature_schema_version": 1,
        "users": 300,
        "movies": 200,
        "interactions": 1234,
        // A float serde_json's fast parser reads one ulp off: the edge must give it back as sent.
        "train_seconds": 1.939_582_103_999_999_9,
        "recommender": shard("recommender.blob".into(), model.recommender.len()),
        "shard_count": model.shards.len(),
        "profile_shards": model.shards.iter().enumerate()
            .map(|(index, bytes)| shard(format!("profiles/{index:05}.blob"), bytes.len())).collect::<Vec<_>>(),
        "popular": ["a", "b"],
    })
}

fn hex16(value: u64) -> String {
    format!("{value:016x}")
}

#[test]
fn every_migration_is_applied_by_the_native_tests() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    let files = std::fs::read_dir(dir)
        .unwrap()
        .filter(|entry| entry.as_ref().unwrap().path().extension().is_some_and(|extension| extension == "sql"));
    assert_eq!(files.count(), support::memory_storage::MIGRATIONS.len());
}

#[test]
fn the_models_listing_carries_identity_shards_manifest_and_the_default_model() {
    let edge = Edge::new();
    edge.publish("v1");
    let recommender = marquee_model::recommend::Recommender::from_blob(&model().recommender).unwrap();
    let header = marquee_model::read_header(&model().recommender).unwrap();
    let listed = json(&admin_get(&edge, "/v1/admin/models"));
    let version = &listed["versions"][0];
    assert_eq!(version["version"], "v1");
    assert_eq!(version["schema_hash"], hex16(header.schema_hash));
    assert_eq!(version["catalog_fingerprint"], hex16(recommender.fingerprint()));
    assert_eq!(version["format_version"], 2);
    assert_eq!(version["recommender_size"], model().recommender.len());
    assert_eq!(version["profiles_uploaded"], model().shards.len());
    assert_eq!(version["profile_bytes"], model().shards.iter().map(Vec::len).sum::<usize>());
    assert_eq!(version["manifest"], serde_json::Value::Null);
    for hash in [&version["schema_hash"], &version["catalog_fingerprint"]] {
        let text = hash.as_str().unwrap();
        assert!(text.len() == 16 && text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)), "{text}");
    }

    let default_blob = marquee_worker::app::models::DEFAULT_MODEL;
    let embedded = marquee_model::recommend::Recommender::from_blob(default_blob).unwrap();
    let default = &listed["default_model"];
    assert_eq!(default["version"], "default");
    assert_eq!(default["movies"], embedded.catalog().len());
    assert_eq!(default["recommender_size"], default_blob.len());
    assert_eq!(default["schema_hash"], hex16(marquee_model::read_header(default_blob).unwrap().schema_hash));
    assert_eq!(default["catalog_fingerprint"], hex16(embedded.fingerprint()));

    // A re-upload of the same blob (a retried publish) is answered as stored and keeps the
    // shard records.
    let again = edge.admin("PUT", "/v1/admin/models/v1/recommender", model().recommender.clone());
    assert_eq!((again.status, &json(&again)["unchanged"]), (200, &serde_json::json!(true)));
    assert_eq!(json(&admin_get(&edge, "/v1/admin/models"))["versions"][0]["profiles_uploaded"], 3);
}

#[test]
fn manifests_are_checked_against_the_upload_and_stored_as_sent() {
    let edge = Edge::new();
    let put = |version: &str, body: Vec<u8>| edge.admin("PUT", &format!("/v1/admin/models/{version}/manifest"), body);
    let manifest = manifest_json("v1");
    assert_eq!(put("v1", manifest.to_string().into_bytes()).status, 409, "no recommender yet");
    edge.publish("v1");

    assert_eq!(put("v1", b"{".to_vec()).status, 400);
    let not_a_manifest = put("v1", br#"{"version":"v1"}"#.to_vec());
    assert_eq!((not_a_manifest.status, json(&not_a_manifest)["error"].as_str()), (400, Some("bad_request")));
    assert_eq!(put("bad%20name", manifest.to_string().into_bytes()).status, 400);
    let mut wrong_size = manifest.clone();
    wrong_size["recommender"]["bytes"] = 12.into();
    let refused = put("v1", wrong_size.to_string().into_bytes());
    assert_eq!(refused.status, 422);
    assert!(json(&refused)["message"].as_str().unwrap().contains("recommender size"));
    let mut wrong_shards = manifest.clone();
    wrong_shards["shard_count"] = 4.into();
    assert_eq!(put("v1", wrong_shards.to_string().into_bytes()).status, 422);
    assert_eq!(json(&admin_get(&edge, "/v1/admin/models"))["versions"][0]["manifest"], serde_json::Value::Null);

    let stored = put("v1", serde_json::to_vec_pretty(&manifest).unwrap());
    assert_eq!(stored.status, 201, "{}", stored.body_text());
    assert_eq!(json(&stored), serde_json::json!({ "version": "v1" }));
    assert_eq!(json(&admin_get(&edge, "/v1/admin/models"))["versions"][0]["manifest"], manifest);
    assert_eq!(
        edge.send(Request::new("PUT", "/v1/admin/models/v1/manifest", manifest.to_string().into_bytes())).status,
        401
    );

    // Another recommender under the same name is refused: versions are immutable, so the
    // manifest and shards keep describing what is stored.
    let other = marquee_worker::app::models::DEFAULT_MODEL.to_vec();
    let refused = edge.admin("PUT", "/v1/admin/models/v1/recommender", other);
    assert_eq!(refused.status, 409);
    assert!(json(&refused)["message"].as_str().unwrap().contains("immutable"));
    let listed = json(&admin_get(&edge, "/v1/admin/models"));
    assert_eq!(listed["versions"][0]["manifest"], manifest);
    assert_eq!(listed["versions"][0]["profiles_uploaded"], 3);
    assert_eq!(admin_get(&edge, "/v1/admin/models/v1/recommender").body, model().recommender);
}

#[test]
fn only_a_completely_published_version_can_be_activated_and_an_active_one_cannot_change() {
    let edge = Edge::new();
    edge.publish("v1");
    assert_eq!(edge.admin("POST", "/v1/admin/models/v1/activate", vec![]).status, 200);
    // A publish that died after the recommender and one shard.
    let model = model();
    assert_eq!(edge.admin("PUT", "/v1/admin/models/half/recommender", model.recommender.clone()).status, 201);
    assert_eq!(edge.admin("PUT", "/v1/admin/models/half/profiles/0", model.shards[0].clone()).status, 201);
    let refused = edge.admin("POST", "/v1/admin/models/half/activate", vec![]);
    assert_eq!(refused.status, 409);
    assert!(
        json(&refused)["message"].as_str().unwrap().contains("1 of its 3 profile shards"),
        "{}",
        refused.body_text()
    );
    let served = edge.send(Request::get(&format!("/recommend/{}", model.known_user)));
    assert_eq!(served.header("x-marquee-model-version"), Some("v1"));
    assert_eq!(served.header("x-marquee-fallback"), None);
    // The rest of the shards, and it activates.
    for shard in 1..model.shards.len() {
        let path = format!("/v1/admin/models/half/profiles/{shard}");
        assert_eq!(edge.admin("PUT", &path, model.shards[shard].clone()).status, 201);
    }
    assert_eq!(edge.admin("POST", "/v1/admin/models/half/activate", vec![]).status, 200);
    // The active version's recommender cannot be swapped under the isolates serving it.
    let swap =
        edge.admin("PUT", "/v1/admin/models/half/recommender", marquee_worker::app::models::DEFAULT_MODEL.to_vec());
    assert_eq!(swap.status, 409);
    let served = edge.send(Request::get(&format!("/recommend/{}", model.known_user)));
    assert_eq!(served.header("x-marquee-model-version"), Some("half"));
    assert_eq!(served.header("x-marquee-fallback"), None);
}

#[test]
fn blobs_download_byte_identical_with_an_etag() {
    let edge = Edge::new();
    edge.publish("v1");
    let blob = admin_get(&edge, "/v1/admin/models/v1/recommender");
    assert_eq!(blob.status, 200);
    assert_eq!(blob.body, model().recommender);
    assert_eq!(blob.content_type, "application/octet-stream");
    assert_eq!(blob.header("cache-control"), Some("private, no-cache"));
    let checksum = marquee_model::read_header(&model().recommender).unwrap().checksum;
    let etag = format!("\"{}\"", hex16(checksum));
    assert_eq!(blob.header("etag"), Some(etag.as_str()));
    let revalidated = edge.send(
        Request::get("/v1/admin/models/v1/recommender")
            .with_header("authorization", &format!("Bearer {TOKEN}"))
            .with_header("if-none-match", &etag),
    );
    assert_eq!((revalidated.status, revalidated.body.len()), (304, 0));
    assert_eq!(revalidated.header("etag"), Some(etag.as_str()));

    for (shard, bytes) in model().shards.iter().enumerate() {
        let got = admin_get(&edge, &format!("/v1/admin/models/v1/profiles/{shard}"));
        assert_eq!((got.status, &got.body), (200, bytes));
    }
    let default = admin_get(&edge, "/v1/admin/models/default/recommender");
    assert_eq!(default.body, marquee_worker::app::models::DEFAULT_MODEL);
    for (path, status) in [
        ("/v1/admin/models/v1/profiles/7", 404),
        ("/v1/admin/models/v9/recommender", 404),
        ("/v1/admin/models/default/profiles/0", 404),
        ("/v1/admin/models/v1/profiles/x", 400),
        ("/v1/admin/models/bad%20name/recommender", 400),
    ] {
        let response = admin_get(&edge, path);
        assert_eq!(response.status, status, "{path}");
        assert_eq!(response.content_type, "application/json", "{path}");
    }
    assert_eq!(json(&admin_get(&edge, "/v1/admin/models/v9/recommender"))["error"], "not_found");
    let head = edge.admin("HEAD", "/v1/admin/models/v1/recommender", vec![]);
    assert_eq!((head.status, head.body.len()), (200, 0));
    assert_eq!(edge.send(Request::get("/v1/admin/models/v1/recommender")).status, 401);
}

/// The server-timing duration of a response, in milliseconds.
fn duration_ms(response: &Response) -> f64 {
    response.header("server-timing").unwrap().strip_prefix("app;dur=").unwrap().parse().unwrap()
}

#[test]
fn the_summary_reports_each_step_s_traffic_latency_and_clicks() {
    let mut edge = Edge::new();
    edge.publish("good");
    edge.publish("bad");
    block_on(edge.storage.put_blob("models/bad/recommender.blob", b"garbage")).unwrap();
    assert_eq!(edge.admin("POST", "/v1/admin/models/good/activate", vec![]).status, 200);
    // How many times a recommendation reads the clock after it starts: latencies are then
    // set exactly through the clock's tick.
    edge.tick.set(1.0);
    let reads = duration_ms(&edge.send(Request::get("/recommend/1")));
    assert_eq!(reads, duration_ms(&edge.send(Request::get("/v1/recommend/1?n=5"))));

    // A fresh isolate, well after the calibration, at the start of a minute.
    let minute = 28_400_000i64;
    edge.now.set((minute * 60_000 + 1_000) as f64);
    edge.restart();
    edge.tick.set(3.0 / reads);
    let mut ids = Vec::new();
    for user in 0..10 {
        let response = edge.send(Request::get(&format!("/recommend/{user}")));
        assert!((duration_ms(&response) - 3.0).abs() < 1e-6);
        assert_eq!(response.header("x-marquee-fallback"), None);
        let first = response.body_text().split(',').next().unwrap().to_owned();
        ids.push((user, response.header("x-marquee-recommendation-id").unwrap().to_owned(), first));
    }
    edge.tick.set(0.25);
    edge.admin("POST", "/v1/admin/models/bad/activate", vec![]);
    assert_eq!(edge.send(Request::get("/healthz")).status, 200, "other routes are not counted");
    edge.now.set(((minute + 1) * 60_000 + 1_000) as f64);
    edge.tick.set(30.0 / reads);
    for user in 0..10 {
        let response = edge.send(Request::get(&format!("/v1/recommend/{user}?n=5")));
        assert_eq!(response.header("x-marquee-fallback"), Some("model"));
    }
    edge.tick.set(0.25);
    // Two clicks on one list count it once; a click on a third list of the first minute.
    for (user, id, movie) in [&ids[0], &ids[0], &ids[2]] {
        let click = format!(r#"{{"type":"click","user_id":{user},"movie_id":"{movie}","recommendation_id":"{id}"}}"#);
        assert_eq!(edge.send(Request::new("POST", "/v1/events", click.into_bytes())).status, 200);
    }

    let summary = json(&admin_get(&edge, "/v1/admin/summary?window_s=600&step_s=60"));
    assert_eq!((summary["window_s"].as_i64(), summary["step_s"].as_i64()), (Some(600), Some(60)));
    assert_eq!(summary["active_version"], "bad");
    let health = json(&edge.send(Request::get("/healthz")));
    assert_eq!(summary["health"], health);
    let series = summary["series"].as_array().unwrap();
    assert_eq!(series.len(), 10);
    let start = (minute - 8) * 60_000;
    for (index, point) in series.iter().enumerate() {
        assert_eq!(point["start_ms"], start + index as i64 * 60_000);
    }
    let close = |value: &serde_json::Value, expected: f64| {
        assert!((value.as_f64().unwrap() - expected).abs() < 1e-9, "{value} != {expected}")
    };
    for point in &series[..8] {
        assert_eq!((point["requests"].as_i64(), point["fallbacks"].as_i64()), (Some(0), Some(0)));
        assert!(point["p50_ms"].is_null() && point["p99_ms"].is_null());
    }
    // Ten at 3 ms, in the bucket (2, 5]; ten at 30 ms, in (25, 50], all fallbacks.
    let first = &series[8];
    assert_eq!(
        (first["requests"].as_i64(), first["errors"].as_i64(), first["fallbacks"].as_i64()),
        (Some(10), Some(0), Some(0))
    );
    close(&first["p50_ms"], 3.5);
    close(&first["p99_ms"], 4.97);
    let second = &series[9];
    assert_eq!((second["requests"].as_i64(), second["fallbacks"].as_i64()), (Some(10), Some(10)));
    close(&second["p50_ms"], 37.5);
    close(&second["p99_ms"], 49.75);
    let totals = &summary["totals"];
    assert_eq!(
        (totals["requests"].as_i64(), totals["errors"].as_i64(), totals["fallbacks"].as_i64()),
        (Some(20), Some(0), Some(10))
    );
    close(&totals["fallback_rate"], 0.5);
    close(&totals["p50_ms"], 5.0);
    close(&totals["p99_ms"], 49.5);
    let covered_s = (summary["now_ms"].as_f64().unwrap() - start as f64) / 1000.0;
    close(&totals["requests_per_second"], 20.0 / covered_s);

    let variants = summary["variants"].as_array().unwrap();
    assert_eq!(variants.len(), 1);
    let control = &variants[0];
    assert_eq!(control["variant"], "control");
    assert_eq!((control["impressions"].as_i64(), control["clicked_lists"].as_i64()), (Some(20), Some(2)));
    close(&control["click_rate"], 0.1);
    let points = control["points"].as_array().unwrap();
    assert_eq!(points.len(), 10);
    assert_eq!(points[8], serde_json::json!({ "start_ms": start + 8 * 60_000, "impressions": 10, "clicked_lists": 2 }));
    assert_eq!(points[9]["impressions"], 10);
    assert_eq!(points[0], serde_json::json!({ "start_ms": start, "impressions": 0, "clicked_lists": 0 }));

    // The defaults: an hour in minutes.
    let default = json(&admin_get(&edge, "/v1/admin/summary"));
    assert_eq!(default["series"].as_array().unwrap().len(), 60);
    assert_eq!(default["totals"]["requests"], 20);
    for bad in ["step_s=30", "step_s=90", "window_s=10", "window_s=604800&step_s=60", "window_s=x", "step_s=172800"] {
        assert_eq!(admin_get(&edge, &format!("/v1/admin/summary?{bad}")).status, 400, "{bad}");
    }
    assert_eq!(edge.send(Request::get("/v1/admin/summary")).status, 401);
}

/// Serves the first `count` users of each variant of `experiment` once; each list's id and
/// movies, by variant.
fn lists_by_variant(
    edge: &Edge,
    experiment: &serde_json::Value,
    count: usize,
) -> std::collections::BTreeMap<String, Vec<(String, u64, Vec<String>)>> {
    let experiment: Experiment = serde_json::from_value(experiment.clone()).unwrap();
    let mut lists: std::collections::BTreeMap<String, Vec<(String, u64, Vec<String>)>> = Default::default();
    for user in 0..1000u64 {
        let entry = lists.entry(experiment.assign(user).name.clone()).or_default();
        if entry.len() == count {
            continue;
        }
        let response = edge.send(Request::get(&format!("/recommend/{user}")));
        let id = response.header("x-marquee-recommendation-id").unwrap().to_owned();
        entry.push((id, user, response.body_text().split(',').map(str::to_owned).collect()));
    }
    assert!(lists.values().all(|lists| lists.len() == count));
    lists
}

/// Posts a click by `user` on a served list; the edge's status.
fn click(edge: &Edge, recommendation_id: &str, user: u64, movie_id: &str, time_ms: i64) -> u16 {
    let event = serde_json::json!({
        "type": "click", "user_id": user, "movie_id": movie_id, "recommendation_id": recommendation_id,
        "time_ms": time_ms
    });
    edge.send(Request::new("POST", "/v1/events", event.to_string().into_bytes())).status
}

#[test]
fn the_readout_gives_each_variant_s_click_rate_and_mrr_with_intervals() {
    let edge = Edge::new();
    edge.publish("a");
    edge.publish("b");
    edge.admin("POST", "/v1/admin/models/a/activate", vec![]);
    let experiment = serde_json::json!({
        "salt": "readout",
        "variants": [
            { "name": "control", "version": null, "weight": 1 },
            { "name": "treatment", "version": "b", "weight": 3 }
        ]
    });
    assert_eq!(edge.admin("PUT", "/v1/admin/experiment", experiment.to_string().into_bytes()).status, 200);
    let lists = lists_by_variant(&edge, &experiment, 4);
    let control = &lists["control"];
    let treatment = &lists["treatment"];
    // Control: a click at rank 1; a first click at rank 4 (a later one at rank 2 does not
    // count); a click on a movie not in the list (refused, so the list counts as unclicked);
    // no click.
    assert_eq!(click(&edge, &control[0].0, control[0].1, &control[0].2[0], 1_000), 200);
    assert_eq!(click(&edge, &control[1].0, control[1].1, &control[1].2[3], 1_000), 200);
    assert_eq!(click(&edge, &control[1].0, control[1].1, &control[1].2[1], 2_000), 200);
    assert_eq!(click(&edge, &control[2].0, control[2].1, "not-in-the-list", 1_000), 400);
    // Treatment: one click at rank 2.
    assert_eq!(click(&edge, &treatment[0].0, treatment[0].1, &treatment[0].2[1], 1_000), 200);
    // A variant only the log knows, from an earlier experiment.
    block_on(edge.storage.execute(&[Statement::new(
        "INSERT INTO log (id, kind, time_ms, user_id, value, variant) VALUES ('old-1', 'impression', 5, 9, 'x,y', 'retired')",
        vec![],
    )]))
    .unwrap();

    let readout = json(&admin_get(&edge, "/v1/admin/readout"));
    assert!(readout["method"].as_str().unwrap().contains("Wilson"));
    let variants = readout["variants"].as_array().unwrap();
    let names: Vec<&str> = variants.iter().map(|v| v["variant"].as_str().unwrap()).collect();
    assert_eq!(names, ["control", "treatment", "retired"]);
    let close = |value: &serde_json::Value, expected: f64| {
        assert!((value.as_f64().unwrap() - expected).abs() < 1e-9, "{value} != {expected}")
    };

    let control = &variants[0];
    assert_eq!((control["version"].as_str(), control["weight"].as_i64()), (Some("a"), Some(1)));
    assert_eq!((control["impressions"].as_i64(), control["clicked_lists"].as_i64()), (Some(4), Some(2)));
    close(&control["click_rate"], 0.5);
    let (low, high) = marquee_data::stats::wilson_interval(2, 4, marquee_data::stats::Z_95).unwrap();
    close(&control["click_rate_ci"][0], low);
    close(&control["click_rate_ci"][1], high);
    // Reciprocal ranks 1, 1/4, 0, 0: MRR 0.3125, its interval clipped at 0.
    close(&control["mrr"], 0.3125);
    close(&control["mrr_ci"][0], 0.0);
    close(&control["mrr_ci"][1], 0.776_268_992_886_353);

    let treatment = &variants[1];
    assert_eq!((treatment["version"].as_str(), treatment["weight"].as_i64()), (Some("b"), Some(3)));
    assert_eq!((treatment["impressions"].as_i64(), treatment["clicked_lists"].as_i64()), (Some(4), Some(1)));
    close(&treatment["click_rate"], 0.25);
    close(&treatment["mrr"], 0.125);
    let (low, high) = marquee_data::stats::wilson_interval(1, 4, marquee_data::stats::Z_95).unwrap();
    close(&treatment["click_rate_ci"][0], low);
    close(&treatment["click_rate_ci"][1], high);
    let (low, high) = marquee_data::stats::mean_interval(0.5, 0.25, 4, marquee_data::stats::Z_95).unwrap();
    close(&treatment["mrr_ci"][0], low.max(0.0));
    close(&treatment["mrr_ci"][1], high);

    // The experiment's readout, with the user as the unit: four users per arm, one list each.
    let experiment = &readout["experiment"];
    assert_eq!(experiment["control"], "control");
    let arms: Vec<(&str, u64, u64, u64)> = experiment["arms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|arm| {
            let count = |field: &str| arm[field].as_u64().unwrap();
            (arm["variant"].as_str().unwrap(), count("users"), count("lists"), count("clicked_lists"))
        })
        .collect();
    assert_eq!(arms, [("control", 4, 4, 2), ("treatment", 4, 4, 1)], "the retired variant predates the experiment");
    close(&experiment["arms"][0]["mrr"], 0.3125);
    let challenger = &experiment["challengers"][0];
    assert_eq!(challenger["variant"], "treatment");
    close(&challenger["click_rate"]["delta_method"]["difference"], 0.25 - 0.5);
    assert_eq!(challenger["decision"]["decision"], "keep_running");
    assert!(challenger["decision"]["reason"].as_str().unwrap().contains("fewer than the 100 required"));

    let retired = &variants[2];
    assert!(retired["version"].is_null() && retired["weight"].is_null());
    assert_eq!((retired["impressions"].as_i64(), retired["clicked_lists"].as_i64()), (Some(1), Some(0)));
    close(&retired["click_rate"], 0.0);
    assert!(retired["mrr_ci"].is_null(), "one list has no spread to estimate");
    assert_eq!(edge.send(Request::get("/v1/admin/readout")).status, 401);
}

#[test]
fn the_admin_playground_serves_what_the_public_route_serves_and_logs_nothing() {
    let edge = serving_v1();
    let user = model().known_user;
    let public = json(&edge.send(Request::get(&format!("/v1/recommend/{user}?n=20&explain=1"))));
    let seed = public["seed"].as_str().unwrap().to_owned();
    seed.parse::<u64>().unwrap();
    assert_eq!(public["model_version"], "v1");
    assert!(public["items"].as_array().unwrap().iter().all(|item| item["source"].is_string()));
    let logged = edge.count("SELECT count(*) AS n FROM log");

    let path = format!("/v1/admin/recommend/{user}?version=v1&seed={seed}&n=20");
    let admin = json(&admin_get(&edge, &path));
    assert_eq!(admin["items"], public["items"], "same version, same seed: the same list, scores and reasons");
    assert_eq!(admin["seed"], public["seed"]);
    assert_eq!(admin["model_version"], "v1");
    assert_eq!(admin["variant"], public["variant"]);
    assert_eq!(admin["profile_found"], true);
    assert_eq!(admin["items"].as_array().unwrap().len(), 20);
    assert!(admin["items"][0]["explanation"].as_array().is_some_and(|reasons| reasons.len() == 3));
    // Without a version or seed: what the user is served now, with a seed of its own.
    let defaults = json(&admin_get(&edge, &format!("/v1/admin/recommend/{user}?n=5")));
    assert_eq!((defaults["model_version"].as_str(), defaults["items"].as_array().unwrap().len()), (Some("v1"), 5));
    let unknown = json(&admin_get(&edge, "/v1/admin/recommend/999999?version=v1"));
    assert_eq!(unknown["profile_found"], false);
    let embedded = json(&admin_get(&edge, &format!("/v1/admin/recommend/{user}?version=default")));
    assert_eq!(
        (embedded["model_version"].as_str(), embedded["profile_found"].as_bool()),
        (Some("default"), Some(false))
    );
    assert_eq!(edge.count("SELECT count(*) AS n FROM log"), logged, "the playground logs no impression");

    // An explicit version is served exactly or not at all.
    edge.publish("broken");
    block_on(edge.storage.put_blob("models/broken/recommender.blob", b"garbage")).unwrap();
    let mut edge = edge;
    edge.restart();
    for (query, status) in [
        ("version=v9", 404),
        ("version=broken", 404),
        ("version=bad%20name", 400),
        ("seed=x", 400),
        ("seed=-1", 400),
        ("n=0", 400),
    ] {
        let response = admin_get(&edge, &format!("/v1/admin/recommend/{user}?{query}"));
        assert_eq!(response.status, status, "{query}: {}", response.body_text());
    }
    assert_eq!(admin_get(&edge, "/v1/admin/recommend/abc").status, 400);
    assert_eq!(edge.send(Request::get(&format!("/v1/admin/recommend/{user}"))).status, 401);
}

#[test]
fn the_user_lookup_shows_assignment_profile_and_recent_rows() {
    let fresh = Edge::new();
    let nobody = json(&admin_get(&fresh, "/v1/admin/users/5"));
    assert_eq!((nobody["version"].as_str(), nobody["variant"].as_str()), (Some("default"), Some("control")));
    assert!(nobody["shard"].is_null() && nobody["profile"].is_null());
    assert_eq!(nobody["recent"], serde_json::json!([]));

    let edge = serving_v1();
    let known = &model().known_profile;
    let user = known.user_id;
    edge.send(Request::get(&format!("/recommend/{user}")));
    let second = edge.send(Request::get(&format!("/recommend/{user}")));
    let found = json(&admin_get(&edge, &format!("/v1/admin/users/{user}")));
    assert_eq!(found["user_id"], user);
    assert_eq!((found["version"].as_str(), found["variant"].as_str()), (Some("v1"), Some("control")));
    assert_eq!(found["shard"], marquee_model::recommend::shard_of(user, 3));
    let profile = &found["profile"];
    assert_eq!(profile["interactions"], known.interactions);
    assert_eq!(profile["ratings"], known.ratings);
    let recommender = marquee_model::recommend::Recommender::from_blob(&model().recommender).unwrap();
    let seen: Vec<&str> = known.seen.iter().map(|&item| recommender.movie_id(item).unwrap()).collect();
    assert_eq!(profile["seen"], serde_json::json!(seen));
    let latest: Vec<&str> = known.recent.iter().map(|&item| recommender.movie_id(item).unwrap()).collect();
    assert!(!latest.is_empty(), "the known user has a history");
    assert_eq!(profile["latest"], serde_json::json!(latest), "the ranker's latest movies, latest first");
    let demographics = &known.demographics;
    assert_eq!(profile["demographics"]["age"], serde_json::json!(demographics.age));
    assert_eq!(profile["demographics"]["gender"], serde_json::json!(demographics.gender.map(|g| g.label())));
    let occupation = demographics.occupation.map(|code| recommender.catalog().occupations[usize::from(code)].clone());
    assert_eq!(profile["demographics"]["occupation"], serde_json::json!(occupation));
    assert_eq!(profile["segment"], format!("{}/{}", demographics.gender_label(), demographics.age_label()));
    let recent: Vec<marquee_data::EdgeRow> = serde_json::from_value(found["recent"].clone()).unwrap();
    assert_eq!(recent.len(), 2);
    assert_eq!(recent[0].id, second.header("x-marquee-recommendation-id").unwrap(), "newest first");
    assert!(recent[0].seq > recent[1].seq);

    let stranger = json(&admin_get(&edge, "/v1/admin/users/999999"));
    assert!(stranger["profile"].is_null());
    assert_eq!(stranger["shard"], marquee_model::recommend::shard_of(999_999, 3));
    assert_eq!(admin_get(&edge, "/v1/admin/users/abc").status, 400);
    assert_eq!(edge.send(Request::get(&format!("/v1/admin/users/{user}"))).status, 401);
}

#[test]
fn the_movie_lookup_shows_catalog_metadata_and_exposure() {
    let edge = serving_v1();
    let served = edge.send(Request::get("/recommend/3"));
    let other = edge.send(Request::get("/recommend/4")).body_text();
    let list: Vec<String> = served.body_text().split(',').map(str::to_owned).collect();
    let movie = &list[0];
    let lists_containing = 1 + i64::from(other.split(',').any(|id| id == movie));
    assert_eq!(click(&edge, served.header("x-marquee-recommendation-id").unwrap(), 3, movie, 1_000), 200);

    // Every byte escaped: the id is decoded before it is looked up.
    let escaped: String = movie.bytes().map(|b| format!("%{b:02X}")).collect();
    let found = json(&admin_get(&edge, &format!("/v1/admin/movies/{escaped}")));
    assert_eq!(found["movie_id"], movie.as_str());
    assert_eq!((found["version"].as_str(), found["in_catalog"].as_bool()), (Some("v1"), Some(true)));
    let recommender = marquee_model::recommend::Recommender::from_blob(&model().recommender).unwrap();
    let entry = recommender.catalog().movies.iter().find(|m| &m.movie_id == movie).unwrap();
    let metadata = &found["metadata"];
    let genres: Vec<&str> = marquee_data::records::TMDB_GENRES
        .iter()
        .enumerate()
        .filter(|(bit, _)| entry.genre_mask & (1 << bit) != 0)
        .map(|(_, name)| *name)
        .collect();
    assert!(!genres.is_empty());
    assert_eq!(metadata["genres"], serde_json::json!(genres));
    if entry.year.is_finite() {
        assert_eq!(metadata["year"].as_f64(), Some(f64::from(entry.year)));
    }
    assert_eq!(metadata["log_watchers"].as_f64(), Some(f64::from(entry.log_watchers)));
    assert_eq!(found["lists_containing"], lists_containing);
    assert_eq!(found["impressions"], 2);
    assert_eq!(found["clicked"], 1);
    assert_eq!(found["exposure_share"].as_f64(), Some(lists_containing as f64 / 2.0));

    let unknown = json(&admin_get(&edge, "/v1/admin/movies/no+such+movie"));
    assert_eq!((unknown["in_catalog"].as_bool(), unknown["lists_containing"].as_i64()), (Some(false), Some(0)));
    assert!(unknown["metadata"].is_null());
    assert_eq!(admin_get(&edge, "/v1/admin/movies/%zz").status, 400);
    assert_eq!(edge.send(Request::get(&format!("/v1/admin/movies/{movie}"))).status, 401);
}

#[test]
fn an_interleaving_experiment_serves_a_team_draft_of_both_versions_and_logs_the_teams() {
    let edge = Edge::new();
    edge.publish("a");
    edge.publish("b");
    edge.admin("POST", "/v1/admin/models/a/activate", vec![]);
    let experiment = serde_json::json!({
        "salt": "mix",
        "mode": "interleave",
        "variants": [
            { "name": "control", "version": null, "weight": 1 },
            { "name": "challenger", "version": "b", "weight": 1 }
        ]
    });
    assert_eq!(edge.admin("PUT", "/v1/admin/experiment", experiment.to_string().into_bytes()).status, 200);
    let three = serde_json::json!({ "salt": "x", "mode": "interleave", "variants": [
        { "name": "a", "version": null, "weight": 1 }, { "name": "b", "version": null, "weight": 1 },
        { "name": "c", "version": null, "weight": 1 }
    ]});
    assert_eq!(edge.admin("PUT", "/v1/admin/experiment", three.to_string().into_bytes()).status, 422);

    let user = model().known_user;
    let served = json(&edge.send(Request::get(&format!("/v1/recommend/{user}?n=20"))));
    assert_eq!((served["variant"].as_str(), served["model_version"].as_str()), (Some("interleave"), Some("a+b")));
    let seed = served["seed"].as_str().unwrap();
    let teams = served["teams"].as_str().unwrap().to_owned();
    let ids: Vec<String> =
        served["items"].as_array().unwrap().iter().map(|i| i["movie_id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(teams.len(), ids.len());
    // Exactly the draft of the two versions' own lists with the same seed.
    let list_of = |version: &str| -> Vec<String> {
        let body = json(&admin_get(&edge, &format!("/v1/admin/recommend/{user}?version={version}&seed={seed}&n=20")));
        body["items"].as_array().unwrap().iter().map(|i| i["movie_id"].as_str().unwrap().to_owned()).collect()
    };
    let (a, b) = (list_of("a"), list_of("b"));
    let merged = marquee_data::interleave::team_draft(&a, &b, 20, seed.parse().unwrap());
    assert_eq!(merged.iter().map(|(id, _)| id.to_string()).collect::<Vec<_>>(), ids);
    assert_eq!(marquee_data::interleave::teams_string(&merged), teams);
    assert!(teams.contains('A') && teams.contains('B'), "{teams}");

    // The impression carries the teams, and the plain-text route serves the same way.
    let text = edge.send(Request::get(&format!("/recommend/{user}")));
    assert_eq!(text.header("x-marquee-variant"), Some("interleave"));
    let rows: Vec<marquee_data::EdgeRow> = admin_get(&edge, "/v1/admin/log?since=0&limit=100")
        .body_text()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let impressions: Vec<&marquee_data::EdgeRow> =
        rows.iter().filter(|row| row.kind == marquee_data::EdgeKind::Impression).collect();
    assert_eq!(impressions.len(), 2);
    assert_eq!(impressions[0].teams.as_deref(), Some(teams.as_str()));
    assert!(impressions.iter().all(|row| row.teams.as_ref().map(String::len) == Some(20)));
}

/// Storage that makes every call wait one turn, so that concurrent requests interleave at
/// their awaits as they do in a Worker isolate.
struct Yielding<'s>(&'s MemoryStorage);

/// Pending once, then ready: one turn of the executor.
async fn one_turn() {
    let mut yielded = false;
    std::future::poll_fn(|_| {
        if yielded {
            std::task::Poll::Ready(())
        } else {
            yielded = true;
            std::task::Poll::Pending
        }
    })
    .await
}

impl Storage for Yielding<'_> {
    async fn get_blob(&self, key: &str) -> Result<Option<Vec<u8>>, marquee_worker::app::storage::StorageError> {
        one_turn().await;
        self.0.get_blob(key).await
    }
    async fn put_blob(&self, key: &str, bytes: &[u8]) -> Result<(), marquee_worker::app::storage::StorageError> {
        one_turn().await;
        self.0.put_blob(key, bytes).await
    }
    async fn query<T: serde::de::DeserializeOwned>(
        &self,
        statement: &Statement,
    ) -> Result<Vec<T>, marquee_worker::app::storage::StorageError> {
        one_turn().await;
        self.0.query(statement).await
    }
    async fn execute(&self, statements: &[Statement]) -> Result<Vec<u64>, marquee_worker::app::storage::StorageError> {
        one_turn().await;
        self.0.execute(statements).await
    }
}

#[test]
fn concurrent_requests_for_one_user_in_one_millisecond_get_distinct_recommendation_ids() {
    let edge = Edge::new();
    let storage = Yielding(&edge.storage);
    let clock = || 1_700_000_000_000.0;
    let request = Request::get("/recommend/5");
    let mut first = std::pin::pin!(edge.app.handle(&request, &storage, &clock));
    let mut second = std::pin::pin!(edge.app.handle(&request, &storage, &clock));
    let mut context = std::task::Context::from_waker(std::task::Waker::noop());
    let (mut a, mut b) = (None, None);
    // Poll both in turn, as the isolate's event loop would, until both have answered.
    while a.is_none() || b.is_none() {
        if a.is_none() {
            if let std::task::Poll::Ready(outcome) = first.as_mut().poll(&mut context) {
                a = Some(outcome);
            }
        }
        if b.is_none() {
            if let std::task::Poll::Ready(outcome) = second.as_mut().poll(&mut context) {
                b = Some(outcome);
            }
        }
    }
    let id = |outcome: &Option<marquee_worker::Outcome>| {
        outcome.as_ref().unwrap().response.header("x-marquee-recommendation-id").unwrap().to_owned()
    };
    assert_ne!(id(&a), id(&b), "two lists, two ids: the second impression must not be dropped");
    for outcome in [a.unwrap(), b.unwrap()] {
        block_on(edge.storage.execute(&outcome.deferred)).unwrap();
    }
    assert_eq!(edge.count("SELECT count(*) AS n FROM log WHERE kind = 'impression'"), 2);
}

#[test]
fn movie_ids_follow_the_stream_grammar_so_every_stored_event_can_train() {
    let edge = Edge::new();
    for bad in ["a b", "x/y", "p=q", ""] {
        let line = format!(r#"{{"type":"watch","user_id":1,"movie_id":"{bad}","minute":2}}"#);
        let response = edge.send(Request::new("POST", "/v1/events", line.into_bytes()));
        assert_eq!(response.status, 400, "{bad:?}");
        assert!(json(&response)["rejected"][0]["error"].as_str().unwrap().starts_with("movie_id"), "{bad:?}");
    }
    let good = r#"{"type":"watch","user_id":1,"movie_id":"the+shawshank+redemption+1994","minute":2}"#;
    assert_eq!(edge.send(Request::new("POST", "/v1/events", good.as_bytes().to_vec())).status, 200);
}

#[test]
fn every_answer_in_an_outage_says_it_is_a_fallback_not_only_the_first() {
    let edge = Edge::new();
    edge.storage.failing.set(true);
    for user in 1..=4 {
        let response = edge.send(Request::get(&format!("/recommend/{user}")));
        assert_eq!(response.status, 200);
        assert_eq!(response.header("x-marquee-fallback"), Some("storage"), "request {user}");
    }
    edge.storage.failing.set(false);
    edge.wait(10_000.0);
    assert_eq!(edge.send(Request::get("/recommend/5")).header("x-marquee-fallback"), None);
}

#[test]
fn the_body_limit_is_known_before_the_body_is_read_and_is_zero_without_the_token() {
    let edge = Edge::new();
    let limit = |method: &str, path: &str, token: Option<&str>| {
        let mut request = Request::new(method, path, Vec::new());
        if let Some(token) = token {
            request.headers.push(("authorization".into(), format!("Bearer {token}")));
        }
        edge.app.body_limit(&request)
    };
    assert_eq!(limit("POST", "/v1/events", None), 1 << 20);
    assert_eq!(limit("PUT", "/v1/admin/models/v1/recommender", Some(TOKEN)), 96 << 20);
    assert_eq!(limit("PUT", "/v1/admin/models/v1/manifest", Some(TOKEN)), 1 << 20);
    assert_eq!(limit("PUT", "/v1/admin/experiment", Some(TOKEN)), 64 << 10);
    // Nothing is read for an admin route without the token, a method the route does not
    // take, an unknown path, or a route that takes no body.
    assert_eq!(limit("PUT", "/v1/admin/models/v1/recommender", None), 0);
    assert_eq!(limit("PUT", "/v1/admin/models/v1/recommender", Some("wrong")), 0);
    assert_eq!(limit("PUT", "/v1/events", None), 0);
    assert_eq!(limit("POST", "/nowhere", None), 0);
    assert_eq!(limit("POST", "/v1/admin/models/v1/activate", Some(TOKEN)), 0);
    let refused = App::too_large(1 << 20);
    assert_eq!(refused.status, 413);
    assert_eq!(json(&refused)["error"], "too_large");
    // The handler's own check agrees with the limit entry.mjs enforces.
    let experiment = vec![b' '; (64 << 10) + 1];
    assert_eq!(edge.admin("PUT", "/v1/admin/experiment", experiment).status, 413);
}

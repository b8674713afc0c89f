//! `marquee bench soak --minutes M [--faults]`: steady traffic at a local edge (its own
//! `wrangler dev`, in workerd) while faults are injected, and what users would have seen.
//!
//! Traffic: `--rate` `GET /recommend/<user>` per second over `--threads` client threads,
//! and a watch event (with its own id) posted for one list in four. Availability is the
//! share of requests answered 200 with a non-empty list; anything else (an error status, a
//! refused connection, a timeout) counts against it. Latency is each request's wall time
//! at the client, through wrangler's local proxy. An event is acknowledged when the edge
//! answers 200 saying it is stored (or was already); at the end the log is read back and every acknowledged
//! event must be in it ("lost" counts those that are not).
//!
//! With `--faults` the run is cut into equal phases, each simulating one failure through
//! the Worker's fault-injection route (enabled only in this run's edge, see
//! `worker/src/wasm/faults.rs`):
//! - `r2-errors`: half the R2 reads fail (an R2 outage or a flaky network);
//! - `r2-slow`: every R2 read takes 250 ms longer (an overloaded region);
//! - `d1-errors`: 30% of D1 queries and batches fail (a D1 outage);
//! - `d1-slow`: every D1 call takes 150 ms longer;
//! - `corrupt-blob`: a new version whose blobs read back corrupted is activated (bit rot);
//! - `half-published`: a version with its recommender but none of its profile shards is
//!   activated (a publish that died half way);
//! - `isolate-restart`: the isolate's app is dropped every 5 s (eviction: cold caches,
//!   buffered writes gone).
//!
//! Every phase after the baseline starts with the isolate's app dropped, once its fault is
//! set: a warm isolate has the model and the profiles cached and would not read storage.
//!
//! Without `--faults` the whole run is the `baseline` phase.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use marquee_data::store::Store;
use marquee_data::world::{World, WorldConfig};
use marquee_data::{Dataset, RatingScale};
use marquee_train::recommend::{fit_hybrid, profile_shards, HybridParams, Interactions};
use serde::Serialize;

use super::wrangler::{start_wrangler, Wrangler};
use crate::commands::publish::{agent, send};

#[derive(clap::Args)]
pub struct BenchSoakArgs {
    /// How long to drive traffic, in minutes (fractions allowed).
    #[arg(long, default_value_t = 2.0)]
    minutes: f64,
    /// Inject faults, one kind per phase.
    #[arg(long)]
    faults: bool,
    /// Recommendation requests per second, in all.
    #[arg(long, default_value_t = 40)]
    rate: u32,
    /// Client threads sending them.
    #[arg(long, default_value_t = 4)]
    threads: u32,
    /// The loopback port for the soak's own `wrangler dev`.
    #[arg(long, default_value_t = 8797)]
    port: u16,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

const TOKEN: &str = "bench-soak-token";
/// The model version every phase returns to.
const GOOD: &str = "good";

/// The phases of a run with faults, in order.
const FAULT_PHASES: [&str; 8] =
    ["baseline", "r2-errors", "r2-slow", "d1-errors", "d1-slow", "corrupt-blob", "half-published", "isolate-restart"];

/// What one request saw.
struct Sample {
    phase: usize,
    available: bool,
    latency_ms: f64,
    fallback: Option<String>,
}

#[derive(Serialize)]
struct PhaseFigures {
    phase: String,
    requests: u64,
    available: u64,
    availability: f64,
    p50_ms: f64,
    p99_ms: f64,
    fallbacks: BTreeMap<String, u64>,
}

#[derive(Serialize)]
struct SoakFigures {
    minutes: f64,
    faults: bool,
    rate_per_s: u32,
    client_threads: u32,
    requests: u64,
    available: u64,
    availability: f64,
    p50_ms: f64,
    p95_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    fallbacks: BTreeMap<String, u64>,
    events_sent: u64,
    events_acknowledged: u64,
    events_not_acknowledged: u64,
    events_lost: u64,
    phases: Vec<PhaseFigures>,
}

/// The small model the soak serves: published whole as `good`, and again for the faults
/// that need a second version.
struct SoakModel {
    recommender: Vec<u8>,
    shards: Vec<Vec<u8>>,
    users: Vec<u64>,
}

fn train() -> Result<SoakModel> {
    let world = World::generate(WorldConfig { users: 2_000, movies: 500, days: 5, ..WorldConfig::default() })?;
    let mut stream = Vec::new();
    world.simulate(
        |line| {
            stream.extend_from_slice(line.to_string().as_bytes());
            stream.push(b'\n');
        },
        |_| {},
        |_| {},
    );
    let mut store = Store::open_in_memory()?;
    store.ingest_stream(stream.as_slice(), RatingScale::FIVE, |_| {})?;
    store.ingest_dataset(&Dataset { users: world.users.clone(), movies: world.movies.clone(), ratings: vec![] })?;
    let data = Interactions::from_store(&store)?;
    let fitted = fit_hybrid(&data, &data.events, &HybridParams { shard_count: 4, ..HybridParams::default() })?;
    let shards = profile_shards(&fitted.recommender, &fitted.profiles)?;
    Ok(SoakModel {
        recommender: fitted.recommender.to_blob()?,
        shards,
        users: fitted.profiles.iter().map(|profile| profile.user_id).collect(),
    })
}

/// The edge's admin API, with the soak's token.
struct Admin {
    base: String,
    agent: ureq::Agent,
}

impl Admin {
    fn call(&self, method: &str, path: &str, body: Option<&[u8]>) -> Result<ureq::Response> {
        let request = self
            .agent
            .request(method, &format!("{}{path}", self.base))
            .set("authorization", &format!("Bearer {TOKEN}"));
        send(request, body).with_context(|| format!("{method} {path}"))
    }

    fn publish(&self, version: &str, model: &SoakModel, with_shards: bool) -> Result<()> {
        self.call("PUT", &format!("/v1/admin/models/{version}/recommender"), Some(&model.recommender))?;
        if with_shards {
            for (shard, blob) in model.shards.iter().enumerate() {
                self.call("PUT", &format!("/v1/admin/models/{version}/profiles/{shard}"), Some(blob))?;
            }
        }
        Ok(())
    }

    fn activate(&self, version: &str) -> Result<()> {
        self.call("POST", &format!("/v1/admin/models/{version}/activate"), None).map(drop)
    }

    fn set_faults(&self, faults: serde_json::Value) -> Result<()> {
        self.call("PUT", "/v1/admin/faults", Some(faults.to_string().as_bytes())).map(drop)
    }
}

pub fn run(args: BenchSoakArgs) -> Result<()> {
    anyhow::ensure!(args.minutes > 0.0 && args.minutes <= 24.0 * 60.0, "--minutes must be in (0, 1440]");
    anyhow::ensure!(args.rate > 0 && args.threads > 0, "--rate and --threads must be positive");
    let root = super::workspace_root();
    tracing::info!("training the soak's model");
    let model = Arc::new(train()?);
    let scratch = tempfile::tempdir()?;
    let vars = [format!("ADMIN_TOKEN:{TOKEN}"), "FAULT_INJECTION:1".to_owned()];
    let wrangler: Wrangler = start_wrangler(&root, scratch.path(), args.port, &vars)?;
    let base = format!("http://127.0.0.1:{}", args.port);
    let admin = Admin { base: base.clone(), agent: agent() };
    admin.publish(GOOD, &model, true)?;
    admin.activate(GOOD)?;
    let log_start = log_end(&admin)?;

    let phases: Vec<&str> = if args.faults { FAULT_PHASES.to_vec() } else { vec!["baseline"] };
    let total = Duration::from_secs_f64(args.minutes * 60.0);
    let phase_length = total / phases.len() as u32;
    let phase_now = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let samples = Arc::new(Mutex::new(Vec::<Sample>::new()));
    let acknowledged = Arc::new(Mutex::new(Vec::<String>::new()));
    let counters = Arc::new([AtomicU64::new(0), AtomicU64::new(0)]); // events sent, not acknowledged
    let run_tag = format!("soak{:x}", std::process::id());

    tracing::info!("driving {} requests/s for {:.1} min over {} phase(s)", args.rate, args.minutes, phases.len());
    let clients: Vec<_> = (0..args.threads)
        .map(|thread| {
            let (base, model, phase_now, stop, samples, acknowledged, counters, run_tag) = (
                base.clone(),
                model.clone(),
                phase_now.clone(),
                stop.clone(),
                samples.clone(),
                acknowledged.clone(),
                counters.clone(),
                run_tag.clone(),
            );
            let interval = Duration::from_secs_f64(f64::from(args.threads) / f64::from(args.rate));
            std::thread::spawn(move || {
                let agent = ureq::AgentBuilder::new()
                    .timeout_connect(Duration::from_secs(2))
                    .timeout(Duration::from_secs(5))
                    .build();
                let mut next = Instant::now() + interval.mul_f64(f64::from(thread) / f64::from(args.threads.max(1)));
                let mut sent = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let now = Instant::now();
                    if next > now {
                        std::thread::sleep(next - now);
                    }
                    next += interval;
                    let user = model.users[(sent as usize * 7919 + thread as usize * 104_729) % model.users.len()];
                    let phase = phase_now.load(Ordering::Relaxed) as usize;
                    let started = Instant::now();
                    let result = agent.get(&format!("{base}/recommend/{user}")).call();
                    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
                    let (available, fallback, first_movie) = match result {
                        Ok(response) if response.status() == 200 => {
                            let fallback = response.header("x-marquee-fallback").map(str::to_owned);
                            let body = response.into_string().unwrap_or_default();
                            let first = body.split(',').next().filter(|id| !id.is_empty()).map(str::to_owned);
                            (first.is_some(), fallback, first)
                        }
                        _ => (false, None, None),
                    };
                    samples.lock().unwrap_or_else(|e| e.into_inner()).push(Sample {
                        phase,
                        available,
                        latency_ms,
                        fallback,
                    });
                    if let (Some(movie), true) = (first_movie, sent.is_multiple_of(4)) {
                        let id = format!("{run_tag}-{thread}-{sent}");
                        let line = serde_json::json!({
                            "type": "watch", "id": id, "user_id": user, "movie_id": movie, "minute": 1 + sent % 90
                        });
                        counters[0].fetch_add(1, Ordering::Relaxed);
                        // Acknowledged: a 200 saying the line is in the log (stored now or
                        // before), with the log id the edge gave it.
                        let log_id = agent
                            .post(&format!("{base}/v1/events"))
                            .set("content-type", "application/x-ndjson")
                            .send_string(&line.to_string())
                            .ok()
                            .filter(|response| response.status() == 200)
                            .and_then(|response| response.into_string().ok())
                            .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
                            .and_then(|answer| {
                                let outcome = &answer["lines"][0];
                                matches!(outcome["status"].as_str(), Some("stored" | "duplicate"))
                                    .then(|| outcome["id"].as_str().map(str::to_owned))
                                    .flatten()
                            });
                        if let Some(log_id) = log_id {
                            acknowledged.lock().unwrap_or_else(|e| e.into_inner()).push(log_id);
                        } else {
                            counters[1].fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    sent += 1;
                }
            })
        })
        .collect();

    let run_result = drive_phases(&admin, &model, &phases, phase_length, &phase_now);
    stop.store(true, Ordering::Relaxed);
    for client in clients {
        let _ = client.join();
    }
    // Whatever happened, the edge goes back to health before the log is read.
    let _ = admin.set_faults(serde_json::json!({}));
    run_result?;

    let acknowledged = std::mem::take(&mut *acknowledged.lock().unwrap_or_else(|e| e.into_inner()));
    let stored = stored_event_ids(&admin, log_start, &run_tag)?;
    let lost = acknowledged.iter().filter(|id| !stored.contains(id.as_str())).count() as u64;
    drop(wrangler);

    let samples = std::mem::take(&mut *samples.lock().unwrap_or_else(|e| e.into_inner()));
    let figures = figures(
        &args,
        &phases,
        &samples,
        [counters[0].load(Ordering::Relaxed), acknowledged.len() as u64, counters[1].load(Ordering::Relaxed), lost],
    );
    if args.json {
        return crate::commands::print_json(&figures);
    }
    print_figures(&figures);
    Ok(())
}

/// Steps through the phases, setting up each one's fault and undoing it after.
fn drive_phases(
    admin: &Admin,
    model: &SoakModel,
    phases: &[&str],
    phase_length: Duration,
    phase_now: &AtomicU64,
) -> Result<()> {
    for (index, phase) in phases.iter().enumerate() {
        phase_now.store(index as u64, Ordering::Relaxed);
        let ends = Instant::now() + phase_length;
        match *phase {
            "baseline" => {}
            "r2-errors" => admin.set_faults(serde_json::json!({ "r2_fail": 0.5 }))?,
            "r2-slow" => admin.set_faults(serde_json::json!({ "r2_delay_ms": 250 }))?,
            "d1-errors" => admin.set_faults(serde_json::json!({ "d1_fail": 0.3 }))?,
            "d1-slow" => admin.set_faults(serde_json::json!({ "d1_delay_ms": 150 }))?,
            "corrupt-blob" => {
                admin.publish("corrupt", model, true)?;
                admin.set_faults(serde_json::json!({ "corrupt_blobs": "models/corrupt/" }))?;
                admin.activate("corrupt")?;
            }
            "half-published" => {
                admin.publish("half", model, false)?;
                // The edge may refuse to activate an incomplete version; that is a pass too.
                if let Err(error) = admin.activate("half") {
                    tracing::info!("activating the half-published version was refused: {error:#}");
                }
            }
            "isolate-restart" => {}
            other => anyhow::bail!("unknown phase {other}"),
        }
        if *phase != "baseline" {
            // A cold isolate, as one that starts during the fault would be: a warm one has
            // the model and the profiles cached and would not read storage at all.
            admin.call("POST", "/v1/admin/faults/restart", None)?;
        }
        while Instant::now() < ends {
            if *phase == "isolate-restart" {
                admin.call("POST", "/v1/admin/faults/restart", None)?;
            }
            std::thread::sleep((ends - Instant::now().min(ends)).min(Duration::from_secs(5)));
        }
        admin.set_faults(serde_json::json!({}))?;
        if matches!(*phase, "corrupt-blob" | "half-published") {
            admin.activate(GOOD)?;
        }
    }
    Ok(())
}

/// The log's end cursor now.
fn log_end(admin: &Admin) -> Result<i64> {
    let response = admin.call("GET", "/v1/admin/log?tail=1", None)?;
    let cursor = response.header("x-marquee-next-cursor").context("the log answered no cursor")?.to_owned();
    cursor.parse().with_context(|| format!("the log's cursor {cursor:?} is not a number"))
}

/// The ids of this run's events in the log after `since`.
fn stored_event_ids(admin: &Admin, mut since: i64, run_tag: &str) -> Result<std::collections::HashSet<String>> {
    let mut ids = std::collections::HashSet::new();
    loop {
        let response = admin.call("GET", &format!("/v1/admin/log?since={since}&limit=10000"), None)?;
        let next: i64 = response.header("x-marquee-next-cursor").and_then(|text| text.parse().ok()).unwrap_or(since);
        let text = response.into_string()?;
        for line in text.lines().filter(|line| !line.is_empty()) {
            let row: serde_json::Value = serde_json::from_str(line)?;
            if let Some(id) = row["id"].as_str().filter(|id| id.contains(run_tag)) {
                ids.insert(id.to_owned());
            }
        }
        if next <= since {
            return Ok(ids);
        }
        since = next;
    }
}

/// The `q`-quantile of sorted values (nearest rank).
fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn share(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

fn figures(args: &BenchSoakArgs, phases: &[&str], samples: &[Sample], events: [u64; 4]) -> SoakFigures {
    let summarise = |picked: Vec<&Sample>| {
        let mut latencies: Vec<f64> = picked.iter().map(|sample| sample.latency_ms).collect();
        latencies.sort_by(f64::total_cmp);
        let mut fallbacks = BTreeMap::new();
        for reason in picked.iter().filter_map(|sample| sample.fallback.clone()) {
            *fallbacks.entry(reason).or_insert(0u64) += 1;
        }
        let available = picked.iter().filter(|sample| sample.available).count() as u64;
        (picked.len() as u64, available, latencies, fallbacks)
    };
    let phase_figures = phases
        .iter()
        .enumerate()
        .map(|(index, phase)| {
            let (requests, available, latencies, fallbacks) =
                summarise(samples.iter().filter(|sample| sample.phase == index).collect());
            PhaseFigures {
                phase: (*phase).to_owned(),
                requests,
                available,
                availability: share(available, requests),
                p50_ms: quantile(&latencies, 0.5),
                p99_ms: quantile(&latencies, 0.99),
                fallbacks,
            }
        })
        .collect();
    let (requests, available, latencies, fallbacks) = summarise(samples.iter().collect());
    let [events_sent, events_acknowledged, events_not_acknowledged, events_lost] = events;
    SoakFigures {
        minutes: args.minutes,
        faults: args.faults,
        rate_per_s: args.rate,
        client_threads: args.threads,
        requests,
        available,
        availability: share(available, requests),
        p50_ms: quantile(&latencies, 0.5),
        p95_ms: quantile(&latencies, 0.95),
        p99_ms: quantile(&latencies, 0.99),
        max_ms: latencies.last().copied().unwrap_or(0.0),
        fallbacks,
        events_sent,
        events_acknowledged,
        events_not_acknowledged,
        events_lost,
        phases: phase_figures,
    }
}

fn print_figures(figures: &SoakFigures) {
    println!(
        "soak: {:.1} min, {} requests/s from {} client threads, faults {}",
        figures.minutes,
        figures.rate_per_s,
        figures.client_threads,
        if figures.faults { "on" } else { "off" }
    );
    println!(
        "availability (200 with a list / all requests): {:.4}% ({} of {}); target >= 99.9%",
        figures.availability * 100.0,
        figures.available,
        figures.requests
    );
    println!(
        "latency at the client ({} client threads), through wrangler's proxy: p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        figures.client_threads,
        figures.p50_ms, figures.p95_ms, figures.p99_ms, figures.max_ms
    );
    println!("fallbacks by reason: {:?}", figures.fallbacks);
    println!(
        "events: {} sent, {} acknowledged, {} not acknowledged (the client would retry), {} lost (acknowledged, absent from the log); target 0 lost",
        figures.events_sent, figures.events_acknowledged, figures.events_not_acknowledged, figures.events_lost
    );
    println!("{:<16} {:>8} {:>12} {:>9} {:>9}  fallbacks", "phase", "requests", "availability", "p50 ms", "p99 ms");
    for phase in &figures.phases {
        println!(
            "{:<16} {:>8} {:>11.3}% {:>9.1} {:>9.1}  {:?}",
            phase.phase,
            phase.requests,
            phase.availability * 100.0,
            phase.p50_ms,
            phase.p99_ms,
            phase.fallbacks
        );
    }
}

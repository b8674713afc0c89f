//! `marquee bench edge`: the Worker's budgets, with a model trained at the served settings
//! (`HybridParams::default()`: 32 factors) on a world of `--users` distinct users over a
//! 27,000-movie catalog, every user's own profile published.
//!
//! 1. The bundle, gzipped: the wasm (with the embedded default model), its JS glue and the
//!    entry module. Budget 1 MB.
//! 2. CPU per `/recommend`, on one thread: the shipped wasm's `handle` export timed in Node
//!    with `performance.now()` (`bench/worker_serving.mjs`), storage in memory, with the
//!    user's profile shard cold (fetched and decoded) and warm (cached). workerd's clock does
//!    not advance during CPU work, so the Worker cannot time itself. Budget p50 2 ms, p99 10 ms.
//! 3. End-to-end latency from one client thread on loopback to workerd's own socket
//!    (Miniflare, no `wrangler dev` proxy; `bench/worker_workerd.mjs`), one request in flight,
//!    cold and warm shards.
//! 4. Throughput from wrk against the same socket: 2 threads, 32 connections, random users.

use std::io::{BufRead as _, BufReader, Write as _};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use marquee_data::world::{World, WorldConfig};
use marquee_model::recommend::shard_of;
use marquee_train::recommend::{fit_hybrid, profile_shards, HybridParams};
use rayon::prelude::*;
use serde::Serialize;
use serde_json::Value;

use crate::commands::publish::{agent, send};

#[derive(clap::Args)]
pub struct BenchEdgeArgs {
    /// Users of the world the model is trained on; each has its own published profile.
    #[arg(long, default_value_t = 100_000)]
    users: u32,
    /// Movies in the catalog.
    #[arg(long, default_value_t = 27_000)]
    movies: u32,
    /// Users timed, each in a profile shard no earlier request touched.
    #[arg(long, default_value_t = 300)]
    timed_users: usize,
    /// Users served before timing (in other shards), so the JIT has optimised the code.
    #[arg(long, default_value_t = 50)]
    warmup_users: usize,
    /// Requests timed per user after the first (its shard then cached).
    #[arg(long, default_value_t = 5)]
    warm_repeats: usize,
    /// wrk's duration in seconds and its connections.
    #[arg(long, default_value_t = 30)]
    duration: u32,
    #[arg(long, default_value_t = 32)]
    connections: u32,
    /// Keep the trained model (recommender.blob, profiles/) and the plan of timed users
    /// (plan.json) in this folder.
    #[arg(long)]
    keep_data: Option<PathBuf>,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct Figures {
    bundle: Bundle,
    model: ModelFigures,
    /// bench/worker_serving.mjs's figures (CPU in Node), or why they are missing.
    cpu: Value,
    end_to_end: EndToEnd,
    throughput: Value,
}

#[derive(Serialize)]
struct Bundle {
    wasm_bytes: u64,
    gzipped_bytes: u64,
    /// Of which the embedded default model, gzipped on its own.
    default_model_gzipped_bytes: u64,
    budget_bytes: u64,
}

#[derive(Serialize)]
struct ModelFigures {
    movies: usize,
    published_users: usize,
    factors: usize,
    shards: u32,
    recommender_bytes: usize,
    profile_bytes: u64,
    train_seconds: f64,
    publish_seconds: f64,
}

/// Percentiles of one set of timings, in µs.
#[derive(Serialize)]
struct Timings {
    count: usize,
    p50_us: f64,
    p99_us: f64,
    max_us: f64,
    mean_us: f64,
}

impl Timings {
    fn of(mut micros: Vec<f64>) -> Timings {
        micros.sort_by(f64::total_cmp);
        let at = |p: f64| micros.get(((micros.len().saturating_sub(1)) as f64 * p).round() as usize).copied();
        Timings {
            count: micros.len(),
            p50_us: at(0.5).unwrap_or(f64::NAN),
            p99_us: at(0.99).unwrap_or(f64::NAN),
            max_us: micros.last().copied().unwrap_or(f64::NAN),
            mean_us: micros.iter().sum::<f64>() / micros.len().max(1) as f64,
        }
    }
}

#[derive(Serialize)]
struct EndToEnd {
    client_threads: usize,
    /// The isolate's first `/recommend` after activation: the recommender fetched and decoded.
    first_request_us: f64,
    cold_shard: Timings,
    warm_shard: Timings,
}

/// Users to serve: some to warm the JIT, then the timed ones, each in a shard of its own.
#[derive(Debug, Serialize)]
struct Plan {
    version: &'static str,
    warmup_users: Vec<u64>,
    timed_users: Vec<u64>,
    warm_repeats: usize,
}

const TOKEN: &str = "bench-edge-token";
const VERSION: &str = "bench";
const CPU_BUDGET_P50_US: f64 = 2_000.0;
const CPU_BUDGET_P99_US: f64 = 10_000.0;

pub fn run(args: BenchEdgeArgs) -> Result<()> {
    let root = super::workspace_root();
    let bundle = bundle(&root)?;

    tracing::info!("training on {} users × {} movies at the served settings", args.users, args.movies);
    let scratch = tempfile::tempdir()?;
    let world =
        World::generate(WorldConfig { users: args.users, movies: args.movies, days: 4, ..WorldConfig::default() })?;
    world.write_to(&scratch.path().join("world"), |_| {})?;
    drop(world);
    let data = crate::commands::load_data::load_interactions(&scratch.path().join("world"), true)?;
    let params = HybridParams::default();
    let started = Instant::now();
    let fitted = fit_hybrid(&data, &data.events, &params)?;
    let train_seconds = started.elapsed().as_secs_f64();
    let recommender_blob = fitted.recommender.to_blob()?;
    let shard_blobs = profile_shards(&fitted.recommender, &fitted.profiles)?;
    let shards = fitted.recommender.shard_count();
    let data_root = args.keep_data.clone().unwrap_or_else(|| scratch.path().to_path_buf());
    let model_dir = data_root.join("model");
    std::fs::create_dir_all(model_dir.join("profiles"))?;
    std::fs::write(model_dir.join("recommender.blob"), &recommender_blob)?;
    for (shard, blob) in shard_blobs.iter().enumerate() {
        std::fs::write(model_dir.join(format!("profiles/{shard:05}.blob")), blob)?;
    }
    let users: Vec<u64> = fitted.profiles.iter().map(|profile| profile.user_id).collect();
    let plan = plan(&users, shards, &args)?;
    let plan_path = data_root.join("plan.json");
    std::fs::write(&plan_path, serde_json::to_vec(&plan)?)?;
    let model = ModelFigures {
        movies: fitted.recommender.catalog().len(),
        published_users: users.len(),
        factors: params.svd.factors,
        shards,
        recommender_bytes: recommender_blob.len(),
        profile_bytes: shard_blobs.iter().map(|blob| blob.len() as u64).sum(),
        train_seconds,
        publish_seconds: 0.0,
    };
    drop(fitted);
    drop(data);

    tracing::info!("timing the Worker's wasm in Node");
    let cpu = cpu_in_node(&root, &model_dir, &plan_path);

    tracing::info!("starting workerd");
    let workerd = Workerd::start(&root)?;
    let started = Instant::now();
    publish(&workerd.url, &recommender_blob, &shard_blobs)?;
    let model = ModelFigures { publish_seconds: started.elapsed().as_secs_f64(), ..model };
    let end_to_end = end_to_end(&workerd.url, &plan)?;
    let throughput = throughput(&workerd.url, &users, args.duration, args.connections, scratch.path());
    drop(workerd);

    let figures = Figures { bundle, model, cpu, end_to_end, throughput };
    if args.json {
        return crate::commands::print_json(&figures);
    }
    print_figures(&figures);
    Ok(())
}

/// Every k-th user (light, heavy and cold ones alike), one per shard: the first
/// `--warmup-users` to warm up on, the next `--timed-users` to time.
fn plan(users: &[u64], shards: u32, args: &BenchEdgeArgs) -> Result<Plan> {
    let wanted = args.warmup_users.max(1) + args.timed_users.max(1);
    anyhow::ensure!(
        wanted <= shards as usize,
        "{wanted} users in distinct shards, but the model has {shards} shards: pass more --users or fewer --timed-users"
    );
    let step = (users.len() / wanted).max(1);
    let mut taken = vec![false; shards as usize];
    let mut picked = Vec::with_capacity(wanted);
    for &user in users.iter().step_by(step).chain(users.iter()) {
        let shard = shard_of(user, shards) as usize;
        if !taken[shard] {
            taken[shard] = true;
            picked.push(user);
            if picked.len() == wanted {
                break;
            }
        }
    }
    anyhow::ensure!(picked.len() == wanted, "only {} shards hold users", picked.len());
    let timed_users = picked.split_off(args.warmup_users.max(1));
    Ok(Plan { version: VERSION, warmup_users: picked, timed_users, warm_repeats: args.warm_repeats })
}

/// Runs bench/worker_serving.mjs on the shipped build in `worker/pkg`.
fn cpu_in_node(root: &Path, model_dir: &Path, plan: &Path) -> Value {
    let run = || -> Result<Value> {
        let output = Command::new("node")
            .arg(root.join("bench/worker_serving.mjs"))
            .arg(root.join("worker/pkg"))
            .arg(model_dir)
            .arg(plan)
            .output()
            .context("running node")?;
        anyhow::ensure!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        Ok(serde_json::from_slice(&output.stdout)?)
    };
    run().unwrap_or_else(|error| Value::String(format!("the Node timing failed: {error:#}")))
}

/// workerd started by bench/worker_workerd.mjs (Miniflare), stopped when dropped.
struct Workerd {
    child: Child,
    url: String,
}

impl Workerd {
    fn start(root: &Path) -> Result<Workerd> {
        anyhow::ensure!(
            root.join("node_modules/miniflare").exists(),
            "no node_modules/miniflare: run `npm ci` (or cargo xtask setup)"
        );
        let mut child = Command::new("node")
            .arg(root.join("bench/worker_workerd.mjs"))
            .arg(TOKEN)
            .current_dir(root)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .process_group(0)
            .spawn()
            .context("starting node bench/worker_workerd.mjs")?;
        let stdout = child.stdout.take().context("no stdout")?;
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        let started: Value = match serde_json::from_str(&line) {
            Ok(value) => value,
            Err(_) => {
                let _ = child.kill();
                anyhow::bail!("workerd did not start (bench/worker_workerd.mjs printed {line:?})");
            }
        };
        let url = started["url"].as_str().context("no url")?.trim_end_matches('/').to_owned();
        Ok(Workerd { child, url })
    }
}

impl Drop for Workerd {
    fn drop(&mut self) {
        // Closing stdin asks the script to dispose of Miniflare (and workerd with it).
        drop(self.child.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.child.wait();
    }
}

/// One `GET /recommend/<user>` from this thread: µs from before the request is written until
/// its body is read, checked to be served by the benchmark's version without a fallback.
fn timed_get(agent: &ureq::Agent, base: &str, user: u64) -> Result<f64> {
    let started = Instant::now();
    let response = agent.get(&format!("{base}/recommend/{user}")).call().with_context(|| format!("user {user}"))?;
    let version = response.header("x-marquee-model-version").unwrap_or_default().to_owned();
    let fallback = response.header("x-marquee-fallback").map(str::to_owned);
    let body = response.into_string()?;
    let micros = started.elapsed().as_secs_f64() * 1e6;
    anyhow::ensure!(
        version == VERSION && fallback.is_none() && !body.is_empty(),
        "user {user} was served version {version:?} with fallback {fallback:?}"
    );
    Ok(micros)
}

fn end_to_end(base: &str, plan: &Plan) -> Result<EndToEnd> {
    // One connection, kept alive: the figures are the request's, not TCP's handshake.
    let agent = ureq::AgentBuilder::new().max_idle_connections(1).timeout(Duration::from_secs(60)).build();
    let first_request_us = timed_get(&agent, base, plan.warmup_users[0])?;
    for &user in &plan.warmup_users {
        for _ in 0..3 {
            timed_get(&agent, base, user)?;
        }
    }
    let (mut cold, mut warm) = (Vec::new(), Vec::new());
    for &user in &plan.timed_users {
        cold.push(timed_get(&agent, base, user)?);
        for _ in 0..plan.warm_repeats {
            warm.push(timed_get(&agent, base, user)?);
        }
    }
    Ok(EndToEnd { client_threads: 1, first_request_us, cold_shard: Timings::of(cold), warm_shard: Timings::of(warm) })
}

/// Uploads the model through the admin API (8 threads) and activates it.
fn publish(base: &str, recommender: &[u8], shards: &[Vec<u8>]) -> Result<()> {
    let agent = agent();
    let auth = format!("Bearer {TOKEN}");
    send(
        agent.put(&format!("{base}/v1/admin/models/{VERSION}/recommender")).set("authorization", &auth),
        Some(recommender),
    )
    .context("publishing the recommender")?;
    let bar = crate::progress::bar(shards.len() as u64, "publishing profile shards", false);
    let pool = rayon::ThreadPoolBuilder::new().num_threads(8).build()?;
    pool.install(|| {
        shards.par_iter().enumerate().try_for_each(|(shard, blob)| {
            send(
                agent.put(&format!("{base}/v1/admin/models/{VERSION}/profiles/{shard}")).set("authorization", &auth),
                Some(blob),
            )
            .map(|_| bar.inc(1))
            .with_context(|| format!("publishing profile shard {shard}"))
        })
    })?;
    bar.finish_and_clear();
    send(agent.post(&format!("{base}/v1/admin/models/{VERSION}/activate")).set("authorization", &auth), None)
        .context("activating")?;
    Ok(())
}

/// wrk's figures, or why they are missing.
fn throughput(base: &str, users: &[u64], duration: u32, connections: u32, scratch: &Path) -> Value {
    let run = || -> Result<Value> {
        // Published users' ids, drawn at random (a sample of at most 20,000 keeps the script small).
        let step = (users.len() / 20_000).max(1);
        let sample: Vec<String> = users.iter().step_by(step).map(u64::to_string).collect();
        let script: PathBuf = scratch.join("random_user.lua");
        std::fs::write(
            &script,
            format!(
                "math.randomseed(7)\nlocal users = {{{}}}\nrequest = function()\n  return wrk.format(\"GET\", \"/recommend/\" .. users[math.random(1, #users)])\nend\n",
                sample.join(",")
            ),
        )?;
        let output = Command::new("wrk")
            .args(["-t2", &format!("-c{connections}"), &format!("-d{duration}s"), "--latency", "-s"])
            .arg(&script)
            .arg(base)
            .output()
            .context("running wrk (apt-get install wrk)")?;
        anyhow::ensure!(output.status.success(), "wrk failed: {}", String::from_utf8_lossy(&output.stderr));
        let text = String::from_utf8_lossy(&output.stdout).into_owned();
        let field = |prefix: &str| {
            text.lines().find_map(|line| line.trim().strip_prefix(prefix).map(|rest| rest.trim().to_owned()))
        };
        let millis = |value: Option<String>| {
            value.and_then(|v| {
                let v = v.trim();
                if let Some(us) = v.strip_suffix("us") {
                    us.parse::<f64>().ok().map(|x| x / 1000.0)
                } else if let Some(ms) = v.strip_suffix("ms") {
                    ms.parse::<f64>().ok()
                } else {
                    v.strip_suffix('s').and_then(|s| s.parse::<f64>().ok()).map(|x| x * 1000.0)
                }
            })
        };
        let requests: Option<u64> = text
            .lines()
            .find(|line| line.contains("requests in"))
            .and_then(|line| line.split_whitespace().next()?.parse().ok());
        Ok(serde_json::json!({
            "connections": connections,
            "client_threads": 2,
            "seconds": duration,
            "requests": requests,
            "requests_per_second": field("Requests/sec:").and_then(|v| v.parse::<f64>().ok()),
            "p50_ms": millis(field("50%")),
            "p99_ms": millis(field("99%")),
            "non_2xx": field("Non-2xx or 3xx responses:").and_then(|v| v.parse::<u64>().ok()).unwrap_or(0),
            "socket_errors": field("Socket errors:"),
        }))
    };
    run().unwrap_or_else(|error| Value::String(format!("{error:#}")))
}

fn print_figures(figures: &Figures) {
    let b = &figures.bundle;
    println!(
        "bundle: {} bytes gzipped (wasm {} bytes raw; the embedded model is {} bytes gzipped); budget {} bytes: {}",
        b.gzipped_bytes,
        b.wasm_bytes,
        b.default_model_gzipped_bytes,
        b.budget_bytes,
        if b.gzipped_bytes <= b.budget_bytes { "within" } else { "OVER" }
    );
    let m = &figures.model;
    println!(
        "model: {} movies, {} factors, {} distinct published users in {} shards ({} bytes of profiles), recommender {} bytes; \
         trained in {:.1} s, published in {:.1} s",
        m.movies, m.factors, m.published_users, m.shards, m.profile_bytes, m.recommender_bytes, m.train_seconds, m.publish_seconds
    );
    let verdict = |p50: f64, p99: f64| {
        if p50 <= CPU_BUDGET_P50_US && p99 <= CPU_BUDGET_P99_US {
            "within"
        } else {
            "OVER"
        }
    };
    let number = |value: &Value, key: &str| value.get(key).and_then(Value::as_f64).unwrap_or(f64::NAN);
    match &figures.cpu {
        Value::Object(_) => {
            let cpu = &figures.cpu;
            println!(
                "CPU per /recommend, the Worker's wasm in Node {} (V8 {}), 1 thread, performance.now() around its handle() export \
                 (storage in memory: no R2/D1 latency, no HTTP); {} of {} timed users' profiles found:",
                cpu["node"].as_str().unwrap_or("?"),
                cpu["v8"].as_str().unwrap_or("?"),
                cpu["profiles_found"],
                cpu["timed_users"]
            );
            println!(
                "  (wall: performance.now(), which also counts time spent waiting for a core on a busy machine; \
                 process CPU: process.cpuUsage(), user + system time of all of Node's threads, V8's background ones included)"
            );
            for (label, key) in [
                ("cold shard (fetched and decoded), wall", "cold_shard"),
                ("warm shard (cached), wall", "warm_shard"),
                ("cold shard, process CPU", "cold_shard_cpu"),
                ("warm shard, process CPU", "warm_shard_cpu"),
            ] {
                let t = &cpu[key];
                println!(
                    "  {label:<44} p50 {:>6.0} µs  p99 {:>6.0} µs  max {:>6.0} µs  mean {:>6.0} µs  ({} requests; budget p50 {CPU_BUDGET_P50_US:.0}, p99 {CPU_BUDGET_P99_US:.0}: {})",
                    number(t, "p50_us"),
                    number(t, "p99_us"),
                    number(t, "max_us"),
                    number(t, "mean_us"),
                    t["count"],
                    verdict(number(t, "p50_us"), number(t, "p99_us"))
                );
            }
            println!(
                "  the isolate's first request (recommender fetched and decoded, before the JIT warmed up): {:.0} µs",
                number(cpu, "first_request_us")
            );
        }
        other => println!("CPU per /recommend: {}", other.as_str().unwrap_or("unavailable")),
    }
    let e = &figures.end_to_end;
    println!(
        "end to end, {} client thread on loopback to workerd's own socket (Miniflare, no wrangler proxy), one request in flight, \
         kept-alive connection; timer: request written to body read, so it includes the client's HTTP, loopback TCP, workerd, \
         the Worker and Miniflare's local R2/D1 (not the writes after the response):",
        e.client_threads
    );
    for (label, t) in [("cold shard", &e.cold_shard), ("warm shard", &e.warm_shard)] {
        println!(
            "  {label:<44} p50 {:>6.0} µs  p99 {:>6.0} µs  max {:>6.0} µs  mean {:>6.0} µs  ({} requests)",
            t.p50_us, t.p99_us, t.max_us, t.mean_us, t.count
        );
    }
    println!("  the isolate's first request after activation: {:.0} µs", e.first_request_us);
    println!(
        "throughput (wrk, 2 client threads, against workerd's socket, random published users): {}",
        figures.throughput
    );
}

fn gzipped(bytes: &[u8]) -> Result<u64> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes)?;
    Ok(encoder.finish()?.len() as u64)
}

fn bundle(root: &Path) -> Result<Bundle> {
    let files = ["worker/pkg/marquee_worker_bg.wasm", "worker/pkg/marquee_worker.js", "worker/entry.mjs"];
    let mut all = Vec::new();
    let mut wasm_bytes = 0;
    for file in files {
        let bytes = std::fs::read(root.join(file))
            .with_context(|| format!("reading {file}: build the Worker first (cargo xtask test, or demo)"))?;
        if file.ends_with(".wasm") {
            wasm_bytes = bytes.len() as u64;
        }
        all.extend(bytes);
    }
    let model = std::fs::read(root.join("worker/default-model/recommender.blob"))?;
    Ok(Bundle {
        wasm_bytes,
        gzipped_bytes: gzipped(&all)?,
        default_model_gzipped_bytes: gzipped(&model)?,
        budget_bytes: 1_000_000,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(warmup_users: usize, timed_users: usize) -> BenchEdgeArgs {
        BenchEdgeArgs {
            users: 0,
            movies: 0,
            timed_users,
            warmup_users,
            warm_repeats: 2,
            duration: 1,
            connections: 1,
            keep_data: None,
            json: false,
        }
    }

    #[test]
    fn every_planned_user_is_alone_in_its_shard() {
        let users: Vec<u64> = (1..=5_000).collect();
        let plan = plan(&users, 40, &args(10, 25)).unwrap();
        assert_eq!((plan.warmup_users.len(), plan.timed_users.len()), (10, 25));
        let mut shards: Vec<u32> =
            plan.warmup_users.iter().chain(&plan.timed_users).map(|&user| shard_of(user, 40)).collect();
        shards.sort_unstable();
        shards.dedup();
        assert_eq!(shards.len(), 35, "a shard was planned twice, so a 'cold' request could be warm");
        assert!(plan.timed_users.iter().all(|user| users.contains(user)));
    }

    #[test]
    fn more_users_than_shards_is_refused() {
        let users: Vec<u64> = (1..=5_000).collect();
        let error = plan(&users, 30, &args(10, 25)).unwrap_err().to_string();
        assert!(error.contains("30 shards"), "{error}");
    }

    #[test]
    fn timings_are_read_from_the_sorted_samples() {
        let timings = Timings::of((1..=100).rev().map(f64::from).collect());
        assert_eq!((timings.count, timings.p50_us, timings.p99_us, timings.max_us), (100, 51.0, 99.0, 100.0));
        assert_eq!(timings.mean_us, 50.5);
    }
}

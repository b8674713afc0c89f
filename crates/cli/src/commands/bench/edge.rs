//! `marquee bench edge`: the Worker's budgets, measured against `wrangler dev` (workerd)
//! on loopback.
//!
//! 1. The bundle, gzipped: the wasm (with the embedded default model), its JS glue and the
//!    entry module. Budget 1 MB.
//! 2. CPU time per `/recommend`, measured inside the Worker by its admin bench route, with a
//!    27,000-movie model and a million published users. Budget p50 2 ms, p99 10 ms.
//! 3. Throughput from wrk over loopback: 32 connections for 30 s, random users. No non-2xx.

use std::io::Write as _;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use marquee_data::world::{World, WorldConfig};
use marquee_model::recommend::{encode_shard, shard_of, UserProfile};
use marquee_train::recommend::{fit_hybrid, HybridParams, USERS_PER_SHARD};
use rayon::prelude::*;
use serde::Serialize;

use crate::commands::publish::{agent, send};

#[derive(clap::Args)]
pub struct BenchEdgeArgs {
    /// Users published (profiles are copied from the trained world's users).
    #[arg(long, default_value_t = 1_000_000)]
    users: u64,
    /// Movies in the catalog.
    #[arg(long, default_value_t = 27_000)]
    movies: u32,
    /// The loopback port for `wrangler dev`.
    #[arg(long, default_value_t = 8799)]
    port: u16,
    /// Users whose CPU time is measured inside the Worker.
    #[arg(long, default_value_t = 300)]
    timed_users: usize,
    /// wrk's duration in seconds and its connections.
    #[arg(long, default_value_t = 30)]
    duration: u32,
    #[arg(long, default_value_t = 32)]
    connections: u32,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct Figures {
    bundle: Bundle,
    model: ModelFigures,
    cpu: Cpu,
    throughput: serde_json::Value,
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
    published_users: u64,
    shards: u32,
    recommender_bytes: usize,
    profile_bytes: u64,
    publish_seconds: f64,
}

#[derive(Serialize)]
struct Cpu {
    timed_users: usize,
    repeat: u32,
    p50_us: f64,
    p99_us: f64,
    mean_us: f64,
    fallbacks: u64,
    budget_p50_us: f64,
    budget_p99_us: f64,
}

/// `wrangler dev` in its own process group, stopped with everything it started (workerd)
/// when dropped: killing node alone would leave workerd holding the port.
pub(super) struct Wrangler(Child);

impl Drop for Wrangler {
    fn drop(&mut self) {
        let group = format!("-{}", self.0.id());
        let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
        std::thread::sleep(Duration::from_millis(300));
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.0.wait();
    }
}

const TOKEN: &str = "bench-edge-token";

pub fn run(args: BenchEdgeArgs) -> Result<()> {
    let root = super::workspace_root();
    let bundle = bundle(&root)?;

    tracing::info!("training a {}-movie model", args.movies);
    let scratch = tempfile::tempdir()?;
    let world = World::generate(WorldConfig { users: 20_000, movies: args.movies, days: 4, ..WorldConfig::default() })?;
    world.write_to(&scratch.path().join("world"), |_| {})?;
    let data = crate::commands::load_data::load_interactions(&scratch.path().join("world"), true)?;
    let shards = u32::try_from(args.users.div_ceil(USERS_PER_SHARD as u64).max(1)).context("too many users")?;
    let fitted = fit_hybrid(
        &data,
        &data.events,
        &HybridParams {
            shard_count: shards,
            svd: marquee_train::mf::BiasedSvdParams { factors: 16, ..Default::default() },
            bpr: marquee_train::mf::BprParams { factors: 16, ..Default::default() },
            ..HybridParams::default()
        },
    )?;
    let recommender_blob = fitted.recommender.to_blob()?;

    tracing::info!("building {} profiles in {shards} shards", args.users);
    let mut members: Vec<Vec<u64>> = vec![Vec::new(); shards as usize];
    for user_id in 1..=args.users {
        members[shard_of(user_id, shards) as usize].push(user_id);
    }
    let templates = &fitted.profiles;
    let catalog = fitted.recommender.catalog();
    let shard_blobs: Vec<Vec<u8>> = members
        .par_iter()
        .enumerate()
        .map(|(shard, ids)| {
            let profiles: Vec<UserProfile> = ids
                .iter()
                .map(|&user_id| UserProfile { user_id, ..templates[(user_id as usize) % templates.len()].clone() })
                .collect();
            let refs: Vec<&UserProfile> = profiles.iter().collect();
            encode_shard(catalog, shard as u32, shards, &refs)
        })
        .collect::<Result<_, _>>()?;
    let profile_bytes: u64 = shard_blobs.iter().map(|blob| blob.len() as u64).sum();

    let _wrangler = start_wrangler(&root, scratch.path(), args.port, &[format!("ADMIN_TOKEN:{TOKEN}")])?;
    let base = format!("http://127.0.0.1:{}", args.port);
    let started = Instant::now();
    let log_tail = || {
        let text = std::fs::read_to_string(scratch.path().join("wrangler.log")).unwrap_or_default();
        text.lines().rev().take(15).collect::<Vec<_>>().into_iter().rev().collect::<Vec<_>>().join("\n")
    };
    publish(&base, &recommender_blob, &shard_blobs).with_context(|| format!("wrangler's log ends:\n{}", log_tail()))?;
    let publish_seconds = started.elapsed().as_secs_f64();

    let cpu = cpu(&base, args.users, args.timed_users)?;
    let throughput = throughput(&base, args.users, args.duration, args.connections, scratch.path());
    let figures = Figures {
        bundle,
        model: ModelFigures {
            movies: catalog.len(),
            published_users: args.users,
            shards,
            recommender_bytes: recommender_blob.len(),
            profile_bytes,
            publish_seconds,
        },
        cpu,
        throughput,
    };
    if args.json {
        return crate::commands::print_json(&figures);
    }
    print_figures(&figures);
    Ok(())
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

/// Starts `wrangler dev` on `port` with fresh local state under `scratch` and `vars`
/// (`NAME:value`, the admin token among them), once it answers `/healthz`.
pub(super) fn start_wrangler(root: &Path, scratch: &Path, port: u16, vars: &[String]) -> Result<Wrangler> {
    let wrangler = root.join("node_modules/.bin/wrangler");
    anyhow::ensure!(wrangler.exists(), "no {}: run `npm ci` (or cargo xtask setup)", wrangler.display());
    // wrangler refuses to start without the assets folder the admin UI is built into.
    std::fs::create_dir_all(root.join("dist"))?;
    let persist = scratch.join("state");
    let offline = [
        ("CI", "true"),
        ("WRANGLER_SEND_METRICS", "false"),
        ("WRANGLER_SEND_ERROR_REPORTS", "false"),
        ("CLOUDFLARE_CF_FETCH_ENABLED", "false"),
        ("WRANGLER_HIDE_BANNER", "true"),
    ];
    let status = Command::new(&wrangler)
        .args(["d1", "migrations", "apply", "DB", "--local", "--persist-to"])
        .arg(&persist)
        .current_dir(root)
        .envs(offline)
        .stdout(Stdio::null())
        .status()
        .context("running wrangler d1 migrations apply")?;
    anyhow::ensure!(status.success(), "applying the D1 migrations failed");
    if agent().get(&format!("http://127.0.0.1:{port}/healthz")).call().is_ok() {
        anyhow::bail!("something already answers on port {port}: stop it or pass --port");
    }
    let log = std::fs::File::create(scratch.join("wrangler.log"))?;
    let child = Command::new(&wrangler)
        .args(["dev", "--local", "--ip", "127.0.0.1", "--port", &port.to_string(), "--persist-to"])
        .arg(&persist)
        .args(vars.iter().flat_map(|var| ["--var", var.as_str()]))
        .current_dir(root)
        .envs(offline)
        .stdout(log.try_clone()?)
        .stderr(log)
        .process_group(0)
        .spawn()
        .context("starting wrangler dev")?;
    let guard = Wrangler(child);
    let agent = agent();
    let deadline = Instant::now() + Duration::from_secs(90);
    while Instant::now() < deadline {
        if agent.get(&format!("http://127.0.0.1:{port}/healthz")).call().is_ok() {
            return Ok(guard);
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    anyhow::bail!("wrangler dev did not answer on port {port} within 90 s")
}

fn publish(base: &str, recommender: &[u8], shards: &[Vec<u8>]) -> Result<()> {
    let agent = agent();
    let auth = format!("Bearer {TOKEN}");
    send(
        agent.put(&format!("{base}/v1/admin/models/bench/recommender")).set("authorization", &auth),
        Some(recommender),
    )
    .context("publishing the recommender")?;
    let bar = crate::progress::bar(shards.len() as u64, "publishing profile shards", false);
    let pool = rayon::ThreadPoolBuilder::new().num_threads(8).build()?;
    pool.install(|| {
        shards.par_iter().enumerate().try_for_each(|(shard, blob)| {
            send(
                agent.put(&format!("{base}/v1/admin/models/bench/profiles/{shard}")).set("authorization", &auth),
                Some(blob),
            )
            .map(|_| bar.inc(1))
            .with_context(|| format!("publishing profile shard {shard}"))
        })
    })?;
    bar.finish_and_clear();
    send(agent.post(&format!("{base}/v1/admin/models/bench/activate")).set("authorization", &auth), None)
        .context("activating")?;
    Ok(())
}

fn cpu(base: &str, users: u64, timed: usize) -> Result<Cpu> {
    let agent = agent();
    let step = (users / timed.max(1) as u64).max(1);
    let ids: Vec<u64> = (0..timed as u64).map(|i| 1 + i * step).filter(|&id| id <= users).collect();
    let repeat = 20;
    let (mut micros, mut fallbacks) = (Vec::new(), 0u64);
    for chunk in ids.chunks(50) {
        let list: Vec<String> = chunk.iter().map(u64::to_string).collect();
        let response = send(
            agent
                .get(&format!("{base}/v1/admin/bench?users={}&repeat={repeat}", list.join(",")))
                .set("authorization", &format!("Bearer {TOKEN}")),
            None,
        )?;
        let body: serde_json::Value = serde_json::from_str(&response.into_string()?)?;
        anyhow::ensure!(body["active_version"] == "bench", "the benchmark model is not active: {body}");
        fallbacks += body["fallbacks"].as_u64().unwrap_or(0);
        micros.extend(body["micros"].as_array().context("no micros")?.iter().filter_map(|v| v.as_f64()));
    }
    micros.sort_by(f64::total_cmp);
    let at =
        |p: f64| micros.get(((micros.len().saturating_sub(1)) as f64 * p).round() as usize).copied().unwrap_or(0.0);
    Ok(Cpu {
        timed_users: micros.len(),
        repeat,
        p50_us: at(0.5),
        p99_us: at(0.99),
        mean_us: micros.iter().sum::<f64>() / micros.len().max(1) as f64,
        fallbacks,
        budget_p50_us: 2_000.0,
        budget_p99_us: 10_000.0,
    })
}

/// wrk's figures, or why they are missing.
fn throughput(base: &str, users: u64, duration: u32, connections: u32, scratch: &Path) -> serde_json::Value {
    let run = || -> Result<serde_json::Value> {
        let script: PathBuf = scratch.join("random_user.lua");
        std::fs::write(
            &script,
            format!(
                "math.randomseed(7)\nrequest = function()\n  return wrk.format(\"GET\", \"/recommend/\" .. math.random(1, {users}))\nend\n"
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
            "seconds": duration,
            "requests": requests,
            "requests_per_second": field("Requests/sec:").and_then(|v| v.parse::<f64>().ok()),
            "p50_ms": millis(field("50%")),
            "p99_ms": millis(field("99%")),
            "non_2xx": field("Non-2xx or 3xx responses:").and_then(|v| v.parse::<u64>().ok()).unwrap_or(0),
            "socket_errors": field("Socket errors:"),
        }))
    };
    run().unwrap_or_else(|error| serde_json::Value::String(format!("{error:#}")))
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
        "model: {} movies, {} published users in {} shards ({} bytes of profiles), recommender {} bytes; published in {:.1} s",
        m.movies, m.published_users, m.shards, m.profile_bytes, m.recommender_bytes, m.publish_seconds
    );
    let c = &figures.cpu;
    println!(
        "CPU per /recommend inside the Worker ({} users × {}): p50 {:.0} µs (budget {:.0}), p99 {:.0} µs (budget {:.0}), mean {:.0} µs, {} fallbacks",
        c.timed_users, c.repeat, c.p50_us, c.budget_p50_us, c.p99_us, c.budget_p99_us, c.mean_us, c.fallbacks
    );
    println!("throughput (wrk through wrangler dev): {}", figures.throughput);
}

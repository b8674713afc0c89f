//! `marquee loop --edge URL --world DIR --rounds K [--explore 0,2]`: the online loop, closed.
//! Each round:
//! 1. pulls the edge's log into the loop's store (the cursor marks the round's start);
//! 2. retrains from the store (the world's history plus every click so far) and publishes
//!    the new version as a challenger on a share of users (`marquee experiment start`);
//! 3. lets the world's users visit for a day (`marquee simulate`), and the oracle read the
//!    same visits for the ceiling;
//! 4. pulls the round's log, reads the experiment out (`marquee experiment report`) and
//!    promotes the challenger or keeps the control by its decision ("keep running" at the
//!    end of a round keeps the control: the loop retrains anyway next round);
//! 5. records the round's figures over all its lists: click rate and MRR (and the oracle's),
//!    coverage, exposure Gini, the exposure–popularity correlation (a movie's list
//!    appearances against the users who watched it, the original system's feedback-loop
//!    figure) and the worst-to-best demographic group click-rate ratio.
//!
//! The steps that have commands of their own run as those commands (this binary, with the
//! same arguments a person would type), so every step can be repeated by hand. Each
//! `--explore` setting runs the whole loop from the same start with its own store; the
//! rounds go to `OUT/loop.json` and `OUT/loop.csv`, and `OUT/loop.svg` draws them.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};
use marquee_data::experiment::Experiment;
use marquee_data::online::{attribute, experiment_readout, online_metrics, user_outcomes, Grouping, DEFAULT_WINDOW_MS};
use marquee_data::stats::{Decision, DecisionRules};
use marquee_data::store::Store;
use marquee_data::world::World;
use marquee_data::Timestamp;
use serde::Serialize;

use super::experiment::{activate, challenge, put_experiment, EdgeArgs};
use super::report::{group_of, Demographic};

#[derive(clap::Args)]
pub struct LoopArgs {
    /// The edge's base URL; loopback only (the loop floods it with simulated traffic).
    #[arg(long)]
    edge: String,
    /// A folder written by `marquee world`: the loop's history and its users' true tastes.
    #[arg(long)]
    world: PathBuf,
    /// How many rounds (simulated days) to run.
    #[arg(long, default_value_t = 10)]
    rounds: u32,
    /// Exploration slots per list, one loop per value: `--explore 0,2` runs the loop without
    /// exploration and again with two exploration slots, from the same start.
    #[arg(long, value_delimiter = ',', default_value = "0")]
    explore: Vec<usize>,
    /// The challenger each round: a model retrained on everything so far, or a deliberately
    /// weak model that serves only popular movies or only new releases (to check that the
    /// experiment detects a worse model and rolls it back).
    #[arg(long, value_enum, default_value_t = Challenger::Retrained)]
    challenger: Challenger,
    /// Users taking part each round.
    #[arg(long, default_value_t = 2000)]
    users: u32,
    /// Visits per round.
    #[arg(long, default_value_t = 4000)]
    requests: u32,
    /// The challenger's share of users, in percent.
    #[arg(long, default_value_t = 50)]
    share: u32,
    /// The fewest users each arm needs before the experiment may decide.
    #[arg(long, default_value_t = DecisionRules::default().min_users_per_arm)]
    min_users: u64,
    /// Seeds the simulation (round r uses seed + r).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Where the stores, models and results go.
    #[arg(long, default_value = "loop-out")]
    out: PathBuf,
    /// The admin token (default: the MARQUEE_ADMIN_TOKEN environment variable).
    #[arg(long, env = "MARQUEE_ADMIN_TOKEN", hide_env_values = true)]
    token: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Challenger {
    Retrained,
    PopularOnly,
    NewReleasesOnly,
}

/// One round's figures.
#[derive(Clone, Debug, Serialize)]
pub struct Round {
    /// Exploration slots per list in this loop.
    pub explore: usize,
    pub round: u32,
    /// The version active while the round ran (the control).
    pub control_version: String,
    pub challenger_version: String,
    /// What the experiment decided: promote, roll_back, keep_running or blocked.
    pub decision: String,
    /// The version active after the round.
    pub active_after: String,
    pub lists: u64,
    /// Over all the round's lists, both arms.
    pub click_rate: f64,
    pub mrr: f64,
    /// The oracle's click rate on the same visits: the ceiling.
    pub oracle_click_rate: f64,
    pub control_click_rate: f64,
    pub challenger_click_rate: f64,
    pub coverage: f64,
    pub exposure_gini: f64,
    /// Per movie shown: list appearances against the users who watched it (the feedback loop).
    pub exposure_popularity_correlation: Option<f64>,
    /// The lowest group click rate over the highest, across gender and age buckets (the
    /// fairness reports' groups; those with at least 50 lists).
    pub worst_to_best_group_ratio: Option<f64>,
    /// `marquee drift` of this round's traffic against the first round's (from round 2;
    /// published to the edge, so `/metrics` exports it): the share of columns drifted.
    pub drift_share: Option<f64>,
    /// Whether that report found the dataset drifted.
    pub dataset_drifted: Option<bool>,
}

/// Seconds since the epoch now, for the rounds' time windows.
fn now_seconds() -> i64 {
    std::time::SystemTime::UNIX_EPOCH.elapsed().map_or(0, |elapsed| elapsed.as_secs() as i64)
}

/// `STORE@FROM..TO` for `marquee drift`, over whole seconds.
fn window(store: &str, (from, to): (i64, i64)) -> String {
    format!("{store}@{}..{}", Timestamp::from_unix_seconds(from), Timestamp::from_unix_seconds(to))
}

/// Runs `marquee drift` on the round's window against the first round's, publishes the
/// summary to the edge, and returns (share drifted, dataset drifted).
fn drift_against_first_round(edge: &EdgeArgs, store: &str, first: (i64, i64), this: (i64, i64)) -> Result<(f64, bool)> {
    let (reference, current) = (window(store, first), window(store, this));
    let report: serde_json::Value = serde_json::from_str(&marquee(&[
        "drift",
        "--reference",
        &reference,
        "--current",
        &current,
        "--json",
        "--publish",
        &edge.to,
    ])?)?;
    let share = report["dataset"]["share_drifted"].as_f64().context("the drift report has no share")?;
    Ok((share, report["dataset"]["dataset_drifted"].as_bool().unwrap_or(false)))
}

pub fn run(args: LoopArgs) -> Result<()> {
    anyhow::ensure!(args.rounds >= 1, "--rounds must be at least 1");
    binary()?;
    anyhow::ensure!(args.explore.iter().all(|&slots| slots <= 5), "--explore takes 0 to 5 slots");
    let world = World::load_truth(&args.world)
        .with_context(|| format!("reading the ground truth of the world in {}", args.world.display()))?;
    std::fs::create_dir_all(&args.out).with_context(|| format!("creating {}", args.out.display()))?;
    let edge = EdgeArgs { to: args.edge.trim_end_matches('/').to_owned(), token: args.token.clone() };
    ADMIN_TOKEN.get_or_init(|| args.token.clone());
    let mut rounds = Vec::new();
    for &explore in &args.explore {
        rounds.extend(run_loop(&args, &world, &edge, explore)?);
        write_results(&args.out, &rounds)?;
    }
    println!("wrote {0}/loop.json, {0}/loop.csv and {0}/loop.svg", args.out.display());
    Ok(())
}

/// One loop, from the world's history, with `explore` exploration slots.
fn run_loop(args: &LoopArgs, world: &World, edge: &EdgeArgs, explore: usize) -> Result<Vec<Round>> {
    let dir = args.out.join(format!("explore-{explore}"));
    if dir.exists() {
        std::fs::remove_dir_all(&dir).with_context(|| format!("clearing {}", dir.display()))?;
    }
    std::fs::create_dir_all(&dir)?;
    let store = dir.join("store.db");
    let store_arg = store.to_str().context("the output folder's path is not UTF-8")?.to_owned();
    let world_arg = args.world.to_str().context("the world folder's path is not UTF-8")?.to_owned();
    marquee(&["ingest", &world_arg, "--db", &store_arg])?;
    // Start at the edge's present, so this loop learns only from its own traffic.
    let start: serde_json::Value = serde_json::from_str(&marquee(&[
        "pull-events",
        "--from",
        &edge.to,
        "--db",
        &store_arg,
        "--from-end",
        "--json",
    ])?)?;
    let mut since = start["cursor"].as_i64().context("pull-events reported no cursor")?;
    let mut active = train_and_publish(edge, &store_arg, &dir.join("round-0"), explore, Challenger::Retrained)?;
    activate(edge, &active)?;
    put_experiment(edge, &Experiment::default())?;
    let rules = DecisionRules { min_users_per_arm: args.min_users, ..DecisionRules::default() }.validate()?;
    let mut rounds = Vec::new();
    let mut first_window = None;
    for round in 1..=args.rounds {
        let round_started = now_seconds();
        let challenger =
            train_and_publish(edge, &store_arg, &dir.join(format!("round-{round}")), explore, args.challenger)?;
        let experiment = challenge(&challenger, args.share, &format!("loop-{explore}-{round}"));
        put_experiment(edge, &experiment)?;
        let seed = (args.seed + u64::from(round)).to_string();
        let (users, requests) = (args.users.to_string(), args.requests.to_string());
        let simulate = [
            "simulate",
            "--edge",
            &edge.to,
            "--world",
            &world_arg,
            "--users",
            &users,
            "--requests",
            &requests,
            "--seed",
            &seed,
            "--json",
        ];
        let served: serde_json::Value = serde_json::from_str(&marquee(&simulate)?)?;
        let mut oracle_args = simulate.to_vec();
        oracle_args.extend(["--policy", "oracle"]);
        let oracle: serde_json::Value = serde_json::from_str(&marquee(&oracle_args)?)?;
        // Let the edge finish logging the last lists before reading the log.
        std::thread::sleep(std::time::Duration::from_millis(500));
        let cursor = pull(edge, &store_arg)?;
        let rows: Vec<_> =
            Store::open(&store)?.edge_rows()?.into_iter().filter(|row| row.seq > since && row.seq <= cursor).collect();
        since = cursor;
        // The round's events are dated by the edge's clock, inside these whole seconds.
        let round_window = (round_started, now_seconds() + 1);
        let drift = match first_window {
            None => {
                first_window = Some(round_window);
                None
            }
            Some(first) => Some(drift_against_first_round(edge, &store_arg, first, round_window)?),
        };

        let attributions = attribute(&rows, DEFAULT_WINDOW_MS);
        let readout = experiment_readout(&user_outcomes(&rows, &attributions), &experiment, &rules);
        let decision = readout.challengers[0].decision.clone();
        let control_version = active.clone();
        if matches!(decision, Decision::Promote { .. }) {
            activate(edge, &challenger)?;
            active = challenger.clone();
        }
        put_experiment(edge, &Experiment::default())?;

        // The round over all its lists, both arms together.
        let mut pooled = rows.clone();
        for row in &mut pooled {
            row.variant = Some("all".into());
        }
        let pooled_attributions = attribute(&pooled, DEFAULT_WINDOW_MS);
        let grouping = Grouping { catalog_size: Some(world.movies.len()), ..Grouping::default() };
        let metrics = online_metrics(&pooled, &pooled_attributions, grouping, DEFAULT_WINDOW_MS);
        let all = metrics.groups.first().context("the round served no lists")?;
        let arm_rate =
            |name: &str| readout.arms.iter().find(|arm| arm.variant == name).map_or(0.0, |arm| arm.click_rate);
        let record = Round {
            explore,
            round,
            control_version,
            challenger_version: challenger.clone(),
            decision: decision_name(&decision).into(),
            active_after: active.clone(),
            lists: all.lists,
            click_rate: all.click_rate,
            mrr: all.mrr,
            oracle_click_rate: oracle["click_rate"].as_f64().unwrap_or(0.0),
            control_click_rate: arm_rate("control"),
            challenger_click_rate: arm_rate("challenger"),
            coverage: all.coverage,
            exposure_gini: all.exposure_gini,
            exposure_popularity_correlation: all.recommended_watched_correlation,
            worst_to_best_group_ratio: group_ratio(world, &user_outcomes(&pooled, &pooled_attributions)["all"]),
            drift_share: drift.map(|(share, _)| share),
            dataset_drifted: drift.map(|(_, drifted)| drifted),
        };
        eprintln!(
            "explore {explore} round {round}: click rate {:.4} (simulator {:.4}, oracle {:.4}), MRR {:.4}, control {:.4} vs challenger {:.4}: {}; coverage {:.3}, gini {:.3}, exposure-popularity r {}",
            record.click_rate,
            served["click_rate"].as_f64().unwrap_or(0.0),
            record.oracle_click_rate,
            record.mrr,
            record.control_click_rate,
            record.challenger_click_rate,
            record.decision,
            record.coverage,
            record.exposure_gini,
            record.exposure_popularity_correlation.map_or_else(|| "-".into(), |r| format!("{r:.3}")),
        );
        if let (Some(share), Some(drifted)) = (record.drift_share, record.dataset_drifted) {
            eprintln!(
                "explore {explore} round {round}: drift against round 1: {:.0}% of columns{}",
                share * 100.0,
                if drifted { ", dataset drifted" } else { "" }
            );
        }
        rounds.push(record);
    }
    Ok(rounds)
}

fn decision_name(decision: &Decision) -> &'static str {
    match decision {
        Decision::Promote { .. } => "promote",
        Decision::RollBack { .. } => "roll_back",
        Decision::KeepRunning { .. } => "keep_running",
        Decision::Blocked { .. } => "blocked",
    }
}

/// Trains on the store into `dir` and publishes the result (not activated); its version.
fn train_and_publish(edge: &EdgeArgs, store: &str, dir: &Path, explore: usize, kind: Challenger) -> Result<String> {
    let out = dir.join("models");
    let out_arg = out.to_str().context("the output folder's path is not UTF-8")?;
    let slots = explore.to_string();
    let mut train = vec!["train", "--data", store, "--out", out_arg, "--exploration-slots", &slots, "--json"];
    match kind {
        Challenger::Retrained => {}
        Challenger::PopularOnly => train.extend(["--candidates", "popular"]),
        Challenger::NewReleasesOnly => train.extend(["--candidates", "new-releases"]),
    }
    let manifest: serde_json::Value = serde_json::from_str(&marquee(&train)?).context("reading train's manifest")?;
    let version = manifest["version"].as_str().context("train's manifest has no version")?.to_owned();
    marquee(&["publish", out_arg, "--to", &edge.to])?;
    Ok(version)
}

/// Pulls the edge's new log rows into the store; the cursor after them.
fn pull(edge: &EdgeArgs, store: &str) -> Result<i64> {
    let pulled: serde_json::Value =
        serde_json::from_str(&marquee(&["pull-events", "--from", &edge.to, "--db", store, "--json"])?)?;
    pulled["cursor"].as_i64().context("pull-events reported no cursor")
}

/// This binary's path, resolved once: a rebuild during a long loop replaces the file, and
/// the path then names the new build (the running process's own link would dangle).
fn binary() -> Result<&'static Path> {
    static BINARY: std::sync::OnceLock<Option<PathBuf>> = std::sync::OnceLock::new();
    BINARY.get_or_init(|| std::env::current_exe().ok()).as_deref().context("finding the marquee binary")
}

/// Runs this binary with `args`, showing the command; its stdout. The admin token goes to
/// the child through `MARQUEE_ADMIN_TOKEN` (set once in [`run`]), never in its argv, where
/// every user of the machine could read it.
fn marquee(args: &[&str]) -> Result<String> {
    eprintln!("$ marquee {}", args.join(" "));
    let token = ADMIN_TOKEN.get().context("the loop's admin token is not set")?;
    let output = Command::new(binary()?)
        .args(args)
        .env("MARQUEE_ADMIN_TOKEN", token)
        .stderr(std::process::Stdio::inherit())
        .output()?;
    anyhow::ensure!(output.status.success(), "`marquee {}` failed ({})", args.join(" "), output.status);
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// The admin token every child process gets in its environment.
static ADMIN_TOKEN: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// The lowest over the highest click rate among gender and age-bucket groups (as
/// `report online --group-by` labels them) with at least 50 lists.
fn group_ratio(world: &World, users: &[marquee_data::online::UserOutcome]) -> Option<f64> {
    let mut groups: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    let by_id: BTreeMap<u64, &marquee_data::records::User> =
        world.users.iter().map(|user| (user.user_id, user)).collect();
    for outcome in users {
        let user = by_id.get(&outcome.user_id).copied();
        for key in [
            format!("gender {}", group_of(user, Demographic::Gender)),
            format!("age {}", group_of(user, Demographic::Age)),
        ] {
            let entry = groups.entry(key).or_default();
            entry.0 += outcome.lists;
            entry.1 += outcome.clicked_lists;
        }
    }
    let rates: Vec<f64> = groups
        .values()
        .filter(|(lists, _)| *lists >= 50)
        .map(|&(lists, clicked)| clicked as f64 / lists as f64)
        .collect();
    let best = rates.iter().copied().fold(f64::NAN, f64::max);
    let worst = rates.iter().copied().fold(f64::NAN, f64::min);
    (rates.len() >= 2 && best > 0.0).then(|| worst / best)
}

fn write_results(out: &Path, rounds: &[Round]) -> Result<()> {
    std::fs::write(out.join("loop.json"), serde_json::to_string_pretty(rounds)?)?;
    let mut csv = String::from("explore,round,control_version,challenger_version,decision,active_after,lists,click_rate,mrr,oracle_click_rate,control_click_rate,challenger_click_rate,coverage,exposure_gini,exposure_popularity_correlation,worst_to_best_group_ratio,drift_share,dataset_drifted\n");
    let optional = |value: Option<f64>| value.map_or_else(String::new, |v| format!("{v:.6}"));
    for r in rounds {
        let _ = writeln!(
            csv,
            "{},{},{},{},{},{},{},{:.6},{:.6},{:.6},{:.6},{:.6},{:.6},{:.6},{},{},{},{}",
            r.explore,
            r.round,
            r.control_version,
            r.challenger_version,
            r.decision,
            r.active_after,
            r.lists,
            r.click_rate,
            r.mrr,
            r.oracle_click_rate,
            r.control_click_rate,
            r.challenger_click_rate,
            r.coverage,
            r.exposure_gini,
            optional(r.exposure_popularity_correlation),
            optional(r.worst_to_best_group_ratio),
            optional(r.drift_share),
            r.dataset_drifted.map_or_else(String::new, |drifted| drifted.to_string())
        );
    }
    std::fs::write(out.join("loop.csv"), csv)?;
    std::fs::write(out.join("loop.svg"), super::loop_chart::draw(rounds))?;
    Ok(())
}

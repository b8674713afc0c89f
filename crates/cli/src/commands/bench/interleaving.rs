//! `marquee bench interleaving --world DIR --control MODELS --challenger MODELS`: how many
//! users an A/B split and a team-draft interleaving each need to tell two models apart, on
//! the world's simulated users (the same click model as `marquee simulate`), in process.
//!
//! Both experiments replay the same plan of visits (same seed, same users, same times). In
//! the A/B split each user is assigned to one model by the experiment's hash and reads that
//! model's list; the readout is `marquee experiment report`'s (the user as the unit, delta
//! method, always-valid interval). In the interleaving each user reads the team-draft merge
//! of both lists and each list is credited to the team whose item was clicked; the readout
//! is the sign test over users. After every `--step` visits both are read, and the first
//! checkpoint at which each detects a difference is reported: for A/B, the always-valid
//! decision, and both read as fixed-horizon tests (delta-method p < 0.05 for A/B, the sign
//! test at p < 0.05 for interleaving, like with like) and the sign test at p < 0.01 (a
//! stricter bar, because it is read at every checkpoint).
//! One thread; the timer is not the point, the counts are.

use std::collections::HashSet;
use std::path::PathBuf;

use anyhow::{Context, Result};
use marquee_data::edge_log::{EdgeKind, EdgeRow};
use marquee_data::experiment::{Experiment, ExperimentMode, Variant};
use marquee_data::interleave::{credit, interleaving_readout, team_draft, teams_string, Team};
use marquee_data::online::{attribute, experiment_readout, user_outcomes, DEFAULT_WINDOW_MS};
use marquee_data::stats::{Decision, ValidDecisionRules};
use marquee_data::world::{OnlineConfig, OnlineSimulator, World, LIST_LENGTH};
use serde::Serialize;

use crate::commands::served_model::ServedModel;

#[derive(clap::Args)]
pub struct BenchInterleavingArgs {
    /// A folder written by `marquee world` (its ground truth drives the users).
    #[arg(long)]
    world: PathBuf,
    /// The control's models folder (written by `marquee train`).
    #[arg(long)]
    control: PathBuf,
    /// The challenger's models folder.
    #[arg(long)]
    challenger: PathBuf,
    /// Users taking part.
    #[arg(long, default_value_t = 4000)]
    users: u32,
    /// Visits in all.
    #[arg(long, default_value_t = 8000)]
    requests: u32,
    /// Read both experiments after every this many visits.
    #[arg(long, default_value_t = 200)]
    step: u32,
    /// The simulation's seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Repeat the whole comparison with this many seeds (seed, seed + 1, ...) and print how
    /// many runs each method called a difference in: with the same folder as control and
    /// challenger, an A/A test, this is each method's false-positive rate.
    #[arg(long, default_value_t = 1)]
    runs: u32,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// One checkpoint's readings.
#[derive(Serialize)]
struct Checkpoint {
    visits: u32,
    ab_users: u64,
    ab_decision: String,
    ab_fixed_p_value: Option<f64>,
    ab_click_rate_difference: Option<f64>,
    interleaving_users: u64,
    interleaving_preferring_control: u64,
    interleaving_preferring_challenger: u64,
    interleaving_p_value: Option<f64>,
}

#[derive(Serialize)]
struct Figures {
    users: u32,
    requests: u32,
    step: u32,
    seed: u64,
    /// Users in the A/B test when its always-valid decision was first not "keep running".
    ab_users_to_decide: Option<u64>,
    ab_decision: Option<String>,
    /// Users in the A/B test when its fixed-horizon p-value first fell below 0.05.
    ab_users_fixed_p_05: Option<u64>,
    /// Users in the interleaving when its sign test first fell below 0.05 (the A/B
    /// fixed-horizon figure's peer).
    interleaving_users_p_05: Option<u64>,
    /// Users in the interleaving when its sign test first fell below 0.01.
    interleaving_users_p_01: Option<u64>,
    interleaving_preferred: Option<String>,
    checkpoints: Vec<Checkpoint>,
}

/// How often each method called a difference over repeated runs.
#[derive(Serialize)]
struct Repeated {
    runs: u32,
    /// Runs in which the A/B always-valid decision was promote or roll back at any checkpoint.
    ab_always_valid_decided: u32,
    /// Runs in which the A/B fixed-horizon p fell below 0.05 at any checkpoint (peeking).
    ab_fixed_p_05_at_any_checkpoint: u32,
    /// Runs in which the A/B fixed-horizon p was below 0.05 at the end only (no peeking).
    ab_fixed_p_05_at_end: u32,
    /// The same for the interleaving's sign test.
    interleaving_p_05_at_any_checkpoint: u32,
    interleaving_p_05_at_end: u32,
}

pub fn run(args: BenchInterleavingArgs) -> Result<()> {
    anyhow::ensure!(args.step >= 1, "--step must be at least 1");
    anyhow::ensure!(args.runs >= 1, "--runs must be at least 1");
    let world = World::load_truth(&args.world)
        .with_context(|| format!("reading the ground truth of the world in {}", args.world.display()))?;
    let control = ServedModel::load(&args.control)?;
    let challenger = ServedModel::load(&args.challenger)?;
    if args.runs == 1 {
        let figures = run_once(&args, &world, &control, &challenger, args.seed)?;
        if args.json {
            return crate::commands::print_json(&figures);
        }
        print_text(&figures);
        return Ok(());
    }
    let mut repeated = Repeated {
        runs: args.runs,
        ab_always_valid_decided: 0,
        ab_fixed_p_05_at_any_checkpoint: 0,
        ab_fixed_p_05_at_end: 0,
        interleaving_p_05_at_any_checkpoint: 0,
        interleaving_p_05_at_end: 0,
    };
    let bar = crate::progress::bar(u64::from(args.runs), "runs", args.json);
    for run in 0..args.runs {
        let figures = run_once(&args, &world, &control, &challenger, args.seed + u64::from(run))?;
        let last = figures.checkpoints.last();
        let below = |p: Option<f64>| u32::from(p.is_some_and(|p| p < 0.05));
        repeated.ab_always_valid_decided += u32::from(figures.ab_users_to_decide.is_some());
        repeated.ab_fixed_p_05_at_any_checkpoint += u32::from(figures.ab_users_fixed_p_05.is_some());
        repeated.ab_fixed_p_05_at_end += below(last.and_then(|c| c.ab_fixed_p_value));
        repeated.interleaving_p_05_at_any_checkpoint += u32::from(figures.interleaving_users_p_05.is_some());
        repeated.interleaving_p_05_at_end += below(last.and_then(|c| c.interleaving_p_value));
        bar.inc(1);
    }
    bar.finish_and_clear();
    if args.json {
        return crate::commands::print_json(&repeated);
    }
    println!(
        "{} runs of {} visits (seeds {}..{}), read every {} visits; runs that called a difference:",
        args.runs,
        args.requests,
        args.seed,
        args.seed + u64::from(args.runs) - 1,
        args.step
    );
    println!("  A/B always-valid decision (promote or roll back): {}", repeated.ab_always_valid_decided);
    println!(
        "  A/B fixed-horizon p < 0.05: {} at any checkpoint, {} at the end",
        repeated.ab_fixed_p_05_at_any_checkpoint, repeated.ab_fixed_p_05_at_end
    );
    println!(
        "  interleaving sign test p < 0.05: {} at any checkpoint, {} at the end",
        repeated.interleaving_p_05_at_any_checkpoint, repeated.interleaving_p_05_at_end
    );
    Ok(())
}

/// One comparison with `seed`.
fn run_once(
    args: &BenchInterleavingArgs,
    world: &World,
    control: &ServedModel,
    challenger: &ServedModel,
    seed: u64,
) -> Result<Figures> {
    let config = OnlineConfig { users: args.users, requests: args.requests, seed, ..OnlineConfig::default() };
    let mut ab_sim = OnlineSimulator::new(world, config.clone())?;
    let mut interleave_sim = OnlineSimulator::new(world, config)?;
    let experiment = Experiment {
        salt: format!("bench-{seed}"),
        variants: vec![
            Variant { name: "control".into(), version: None, weight: 1 },
            Variant { name: "challenger".into(), version: Some("challenger".into()), weight: 1 },
        ],
        mode: ExperimentMode::Split,
    };
    let rules = ValidDecisionRules::default();
    let mut ab_rows: Vec<EdgeRow> = Vec::new();
    let mut credits: Vec<(u64, Option<Team>)> = Vec::new();
    let mut figures = Figures {
        users: args.users,
        requests: args.requests,
        step: args.step,
        seed,
        ab_users_to_decide: None,
        ab_decision: None,
        ab_users_fixed_p_05: None,
        interleaving_users_p_05: None,
        interleaving_users_p_01: None,
        interleaving_preferred: None,
        checkpoints: Vec::new(),
    };
    let visits = ab_sim.visits().to_vec();
    for visit in &visits {
        let list_seed = u64::from(visit.index) ^ seed.rotate_left(32);
        // A/B: the user's arm's list.
        let arm = experiment.assign(visit.user_id).name.clone();
        let list = if arm == "control" {
            control.list(visit.user_id, LIST_LENGTH, list_seed)
        } else {
            challenger.list(visit.user_id, LIST_LENGTH, list_seed)
        };
        let outcome = ab_sim.respond(visit, &list, None);
        let id = format!("r{}", visit.index);
        ab_rows.push(EdgeRow {
            seq: 0,
            id: id.clone(),
            kind: EdgeKind::Impression,
            time_ms: 0,
            user_id: visit.user_id,
            movie_id: None,
            value: Some(list.join(",")),
            variant: Some(arm),
            version: None,
            reference: None,
            latency_us: None,
            teams: None,
        });
        if let Some(click) = &outcome.click {
            ab_rows.push(EdgeRow {
                seq: 0,
                id: format!("c{}", visit.index),
                kind: EdgeKind::Click,
                time_ms: 1,
                user_id: visit.user_id,
                movie_id: Some(click.movie_id.clone()),
                value: None,
                variant: None,
                version: None,
                reference: Some(id),
                latency_us: None,
                teams: None,
            });
        }
        // Interleaving: the merge of both lists.
        let a = control.list(visit.user_id, LIST_LENGTH, list_seed);
        let b = challenger.list(visit.user_id, LIST_LENGTH, list_seed);
        let merged = team_draft(&a, &b, LIST_LENGTH, list_seed);
        let merged_ids: Vec<String> = merged.iter().map(|(movie, _)| (*movie).to_owned()).collect();
        let outcome = interleave_sim.respond(visit, &merged_ids, None);
        let ranks: Vec<usize> = outcome.click.iter().map(|click| click.rank).collect();
        credits.push((visit.user_id, credit(&teams_string(&merged), &ranks)));

        let done = visit.index + 1;
        if done % args.step == 0 || done as usize == visits.len() {
            let checkpoint = read(done, &ab_rows, &credits, &experiment, &rules);
            if figures.ab_users_to_decide.is_none() && checkpoint.ab_decision != "keep_running" {
                figures.ab_users_to_decide = Some(checkpoint.ab_users);
                figures.ab_decision = Some(checkpoint.ab_decision.clone());
            }
            if figures.ab_users_fixed_p_05.is_none() && checkpoint.ab_fixed_p_value.is_some_and(|p| p < 0.05) {
                figures.ab_users_fixed_p_05 = Some(checkpoint.ab_users);
            }
            if figures.interleaving_users_p_05.is_none() && checkpoint.interleaving_p_value.is_some_and(|p| p < 0.05) {
                figures.interleaving_users_p_05 = Some(checkpoint.interleaving_users);
            }
            if figures.interleaving_users_p_01.is_none() && checkpoint.interleaving_p_value.is_some_and(|p| p < 0.01) {
                figures.interleaving_users_p_01 = Some(checkpoint.interleaving_users);
                figures.interleaving_preferred = Some(
                    if checkpoint.interleaving_preferring_control > checkpoint.interleaving_preferring_challenger {
                        "control"
                    } else {
                        "challenger"
                    }
                    .into(),
                );
            }
            figures.checkpoints.push(checkpoint);
        }
    }
    Ok(figures)
}

fn read(
    visits: u32,
    rows: &[EdgeRow],
    credits: &[(u64, Option<Team>)],
    experiment: &Experiment,
    rules: &ValidDecisionRules,
) -> Checkpoint {
    let attributions = attribute(rows, DEFAULT_WINDOW_MS);
    let outcomes = user_outcomes(rows, &attributions);
    let readout = experiment_readout(&outcomes, experiment, rules);
    let challenger = &readout.challengers[0];
    let decision = match challenger.decision {
        Decision::Promote { .. } => "promote",
        Decision::RollBack { .. } => "roll_back",
        Decision::KeepRunning { .. } => "keep_running",
        Decision::Blocked { .. } => "blocked",
    };
    let interleaving = interleaving_readout(credits);
    let users: HashSet<u64> = credits.iter().map(|(user, _)| *user).collect();
    Checkpoint {
        visits,
        ab_users: readout.arms.iter().map(|arm| arm.users).sum(),
        ab_decision: decision.into(),
        ab_fixed_p_value: challenger.click_rate.delta_method.map(|delta| delta.p_value),
        ab_click_rate_difference: challenger.click_rate.delta_method.map(|delta| delta.difference),
        interleaving_users: users.len() as u64,
        interleaving_preferring_control: interleaving.users_preferring_a,
        interleaving_preferring_challenger: interleaving.users_preferring_b,
        interleaving_p_value: interleaving.sign_test.map(|test| test.p_value),
    }
}

fn print_text(figures: &Figures) {
    println!(
        "interleaving against A/B on the world's users ({} visits of up to {} users, seed {}; one thread)",
        figures.requests, figures.users, figures.seed
    );
    println!(
        "{:>7} {:>7} {:>13} {:>9} {:>9} {:>7} {:>6} {:>6} {:>9}",
        "visits", "users", "A/B decision", "A/B p", "A/B diff", "users", "ctrl", "chall", "sign p"
    );
    for c in &figures.checkpoints {
        let p = |value: Option<f64>| value.map_or_else(|| "-".into(), |p| format!("{p:.4}"));
        println!(
            "{:>7} {:>7} {:>13} {:>9} {:>9} {:>7} {:>6} {:>6} {:>9}",
            c.visits,
            c.ab_users,
            c.ab_decision,
            p(c.ab_fixed_p_value),
            c.ab_click_rate_difference.map_or_else(|| "-".into(), |d| format!("{d:+.4}")),
            c.interleaving_users,
            c.interleaving_preferring_control,
            c.interleaving_preferring_challenger,
            p(c.interleaving_p_value)
        );
    }
    let users = |value: Option<u64>| value.map_or_else(|| "not within the run".into(), |n| format!("{n} users"));
    println!(
        "A/B always-valid decision ({}): {}",
        figures.ab_decision.as_deref().unwrap_or("none"),
        users(figures.ab_users_to_decide)
    );
    println!("A/B fixed-horizon p < 0.05: {}", users(figures.ab_users_fixed_p_05));
    println!("interleaving sign test p < 0.05: {}", users(figures.interleaving_users_p_05));
    println!(
        "interleaving sign test p < 0.01 (preferring {}): {}",
        figures.interleaving_preferred.as_deref().unwrap_or("-"),
        users(figures.interleaving_users_p_01)
    );
}

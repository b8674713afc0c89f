//! `marquee experiment start|report|promote|stop`: run an A/B test on the edge and act on
//! its readout. `report` reads the edge's log (or the store's copy), attributes every event
//! to its list, and compares each challenger with the control with the user as the unit
//! (`marquee_data::online::experiment_readout`); `promote` activates the challenger's version
//! when the readout says so, and `stop` ends the experiment. Both leave one variant,
//! `control`, serving the active version.

use anyhow::{Context, Result};
use marquee_data::experiment::{Experiment, ExperimentMode, Variant};
use marquee_data::interleave::{interleaving_readout, InterleavingReadout};
use marquee_data::online::{
    attribute, experiment_readout, interleaving_credits, user_outcomes, ExperimentReadout, DEFAULT_WINDOW_MS,
};
use marquee_data::stats::{Decision, DecisionRules};

use super::log_source::LogSourceArgs;
use super::publish::{agent, send};

#[derive(clap::Subcommand)]
pub enum ExperimentCommand {
    /// Split traffic between the active version (control) and a published challenger.
    Start(StartArgs),
    /// The readout: per-arm click rate and MRR, the comparisons, the sample ratio check and
    /// the decision (promote, roll back, keep running, or blocked).
    Report(ReportArgs),
    /// Activate the challenger's version if the readout says promote, and end the experiment.
    Promote(ActArgs),
    /// End the experiment: everyone is served the active version again.
    Stop(EdgeArgs),
}

#[derive(clap::Args)]
pub struct EdgeArgs {
    /// The edge's base URL, e.g. http://127.0.0.1:8787.
    #[arg(long)]
    pub to: String,
    /// The admin token (default: the MARQUEE_ADMIN_TOKEN environment variable).
    #[arg(long, env = "MARQUEE_ADMIN_TOKEN", hide_env_values = true)]
    pub token: String,
}

#[derive(clap::Args)]
pub struct StartArgs {
    #[command(flatten)]
    edge: EdgeArgs,
    /// The challenger's model version (published, not active).
    #[arg(long)]
    challenger: String,
    /// The challenger's share of users, in percent (1 to 99).
    #[arg(long, default_value_t = 50)]
    share: u32,
    /// The assignment salt: a new salt reshuffles users (default: derived from the version).
    #[arg(long)]
    salt: Option<String>,
    /// Interleave instead of splitting: every user sees one team-draft list from both
    /// versions, and clicks are credited to the version that contributed the movie.
    #[arg(long)]
    interleave: bool,
}

#[derive(clap::Args)]
pub struct RuleArgs {
    /// The fewest users each arm needs before any verdict.
    #[arg(long, default_value_t = DecisionRules::default().min_users_per_arm)]
    min_users: u64,
    /// The miscoverage of the always-valid interval (0.05: 95%).
    #[arg(long, default_value_t = DecisionRules::default().alpha)]
    alpha: f64,
    /// How long after a list an id-less event may still be attributed to it, in hours.
    #[arg(long, default_value_t = DEFAULT_WINDOW_MS as f64 / 3_600_000.0)]
    window_hours: f64,
}

#[derive(clap::Args)]
pub struct ReportArgs {
    #[command(flatten)]
    source: LogSourceArgs,
    #[command(flatten)]
    rules: RuleArgs,
    /// The experiment as JSON (a file), for --db; with --from the edge's current one is read.
    #[arg(long)]
    experiment: Option<std::path::PathBuf>,
    /// Print the readout as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args)]
pub struct ActArgs {
    #[command(flatten)]
    edge: EdgeArgs,
    #[command(flatten)]
    rules: RuleArgs,
    /// Only the log's rows after this sequence number (the experiment's start).
    #[arg(long, default_value_t = 0)]
    since: i64,
    /// Act whatever the readout says.
    #[arg(long)]
    force: bool,
}

pub fn run(command: ExperimentCommand) -> Result<()> {
    match command {
        ExperimentCommand::Start(args) => start(args),
        ExperimentCommand::Report(args) => report(args),
        ExperimentCommand::Promote(args) => promote(args),
        ExperimentCommand::Stop(args) => {
            put_experiment(&args, &Experiment::default())?;
            println!("experiment stopped: every user is served the active version");
            Ok(())
        }
    }
}

fn start(args: StartArgs) -> Result<()> {
    anyhow::ensure!((1..=99).contains(&args.share), "--share must be 1 to 99 percent");
    let salt = args.salt.unwrap_or_else(|| format!("challenge-{}", args.challenger));
    if args.interleave {
        let experiment = Experiment { mode: ExperimentMode::Interleave, ..challenge(&args.challenger, 50, &salt) };
        put_experiment(&args.edge, &experiment)?;
        println!(
            "interleaving started: every user sees the active version's and {}'s lists drafted into one",
            args.challenger
        );
        return Ok(());
    }
    put_experiment(&args.edge, &challenge(&args.challenger, args.share, &salt))?;
    println!("experiment started: {}% of users get {}, the rest the active version", args.share, args.challenger);
    Ok(())
}

/// The two-arm experiment: `control` on the active version, `challenger` on `version` with
/// `share` percent of users.
pub fn challenge(version: &str, share: u32, salt: &str) -> Experiment {
    Experiment {
        salt: salt.to_owned(),
        variants: vec![
            Variant { name: "control".into(), version: None, weight: 100 - share.min(100) },
            Variant { name: "challenger".into(), version: Some(version.to_owned()), weight: share.min(100) },
        ],
        mode: ExperimentMode::Split,
    }
}

/// Makes `version` the edge's active version.
pub fn activate(edge: &EdgeArgs, version: &str) -> Result<()> {
    let base = edge.to.trim_end_matches('/');
    send(
        agent()
            .post(&format!("{base}/v1/admin/models/{version}/activate"))
            .set("authorization", &format!("Bearer {}", edge.token)),
        None,
    )
    .with_context(|| format!("activating {version}"))?;
    Ok(())
}

fn report(args: ReportArgs) -> Result<()> {
    let experiment = match (&args.experiment, &args.source.from) {
        (Some(path), _) => {
            serde_json::from_slice(&std::fs::read(path).with_context(|| format!("reading {}", path.display()))?)
                .with_context(|| format!("{} is not an experiment", path.display()))?
        }
        (None, Some(from)) => {
            let token = args.source.token.as_deref().context("--from needs --token or MARQUEE_ADMIN_TOKEN")?;
            get_experiment(from, token)?
        }
        (None, None) => anyhow::bail!("with --db, give the experiment with --experiment FILE"),
    };
    if experiment.mode == ExperimentMode::Interleave {
        let readout = interleaving(&args.source, &args.rules, &experiment)?;
        if args.json {
            return super::print_json(&serde_json::json!({ "mode": "interleave", "interleaving": readout }));
        }
        print_interleaving(&readout, &experiment);
        return Ok(());
    }
    let readout = readout(&args.source, &args.rules, &experiment)?;
    if args.json {
        return super::print_json(&readout);
    }
    print_readout(&readout);
    Ok(())
}

/// The interleaving experiment's readout: each interleaved list credited to a team, each
/// user's preference, and the sign test over users.
pub fn interleaving(source: &LogSourceArgs, rules: &RuleArgs, experiment: &Experiment) -> Result<InterleavingReadout> {
    anyhow::ensure!(experiment.mode == ExperimentMode::Interleave, "the experiment does not interleave");
    let rows = source.read_rows()?;
    let attributions = attribute(&rows, (rules.window_hours * 3_600_000.0).round() as i64);
    Ok(interleaving_readout(&interleaving_credits(&rows, &attributions)))
}

fn print_interleaving(readout: &InterleavingReadout, experiment: &Experiment) {
    let name = |index: usize| experiment.variants.get(index).map_or("?", |variant| variant.name.as_str());
    println!(
        "interleaving {} (A) with {} (B): {} users; {} prefer A, {} prefer B, {} neither",
        name(0),
        name(1),
        readout.users,
        readout.users_preferring_a,
        readout.users_preferring_b,
        readout.users_tied
    );
    if let Some(test) = &readout.sign_test {
        println!("sign test over users: p = {:.4}, preference for B {:+.3}", test.p_value, test.preference);
    }
}

fn promote(args: ActArgs) -> Result<()> {
    let experiment = get_experiment(&args.edge.to, &args.edge.token)?;
    let challenger = experiment.variants.get(1).context("the edge runs no experiment: nothing to promote")?;
    let version = challenger.version.clone().context("the challenger serves the active version already")?;
    let source = LogSourceArgs {
        db: None,
        from: Some(args.edge.to.clone()),
        token: Some(args.edge.token.clone()),
        page: 1000,
        since: args.since,
    };
    if experiment.mode == ExperimentMode::Interleave {
        let readout = interleaving(&source, &args.rules, &experiment)?;
        let preferred = readout.sign_test.as_ref().is_some_and(|test| {
            test.p_value < args.rules.alpha && readout.users_preferring_b > readout.users_preferring_a
        });
        if !args.force && !preferred {
            anyhow::bail!(
                "the interleaving does not prefer the challenger at p < {}: {} users prefer it, {} the control; \
                 use --force to promote anyway",
                args.rules.alpha,
                readout.users_preferring_b,
                readout.users_preferring_a
            );
        }
    } else {
        let readout = readout(&source, &args.rules, &experiment)?;
        let decision = &readout.challengers[0].decision;
        if !args.force && !matches!(decision, Decision::Promote { .. }) {
            anyhow::bail!("the readout does not say promote: {}; use --force to promote anyway", describe(decision));
        }
    }
    activate(&args.edge, &version)?;
    put_experiment(&args.edge, &Experiment::default())?;
    println!("promoted {version}: it is the active version, and the experiment has ended");
    Ok(())
}

/// The readout of `experiment` from the log's rows after the source's cursor.
pub fn readout(source: &LogSourceArgs, rules: &RuleArgs, experiment: &Experiment) -> Result<ExperimentReadout> {
    anyhow::ensure!(
        rules.window_hours.is_finite() && rules.window_hours >= 0.0,
        "--window-hours must be a non-negative number"
    );
    let valid = DecisionRules { min_users_per_arm: rules.min_users, alpha: rules.alpha, ..DecisionRules::default() }
        .validate()?;
    let rows = source.read_rows()?;
    let attributions = attribute(&rows, (rules.window_hours * 3_600_000.0).round() as i64);
    Ok(experiment_readout(&user_outcomes(&rows, &attributions), experiment, &valid))
}

fn get_experiment(base: &str, token: &str) -> Result<Experiment> {
    let url = format!("{}/v1/admin/experiment", base.trim_end_matches('/'));
    let response = send(agent().get(&url).set("authorization", &format!("Bearer {token}")), None)?;
    let text = response.into_string().context("reading the edge's experiment")?;
    serde_json::from_str(&text).context("the edge's experiment is not readable")
}

/// Sets the edge's experiment.
pub fn put_experiment(edge: &EdgeArgs, experiment: &Experiment) -> Result<()> {
    experiment.validate()?;
    let url = format!("{}/v1/admin/experiment", edge.to.trim_end_matches('/'));
    let body = serde_json::to_vec(experiment)?;
    send(agent().put(&url).set("authorization", &format!("Bearer {}", edge.token)), Some(&body))
        .context("setting the experiment")?;
    Ok(())
}

fn describe(decision: &Decision) -> String {
    match decision {
        Decision::Blocked { reason } => format!("blocked ({reason})"),
        Decision::KeepRunning { reason } => format!("keep running ({reason})"),
        Decision::Promote { difference, interval } => {
            format!("promote (click rate {difference:+.4}, always-valid 95% [{:+.4}, {:+.4}])", interval.0, interval.1)
        }
        Decision::RollBack { difference, interval } => {
            format!(
                "roll back (click rate {difference:+.4}, always-valid 95% [{:+.4}, {:+.4}])",
                interval.0, interval.1
            )
        }
    }
}

fn print_readout(readout: &ExperimentReadout) {
    println!(
        "{:<14} {:<16} {:>6} {:>7} {:>7} {:>8} {:>8}",
        "variant", "version", "weight", "users", "lists", "ctr", "mrr"
    );
    for arm in &readout.arms {
        println!(
            "{:<14} {:<16} {:>6} {:>7} {:>7} {:>8.4} {:>8.4}",
            arm.variant,
            arm.version.as_deref().unwrap_or("(active)"),
            arm.weight.map_or_else(|| "-".to_owned(), |w| w.to_string()),
            arm.users,
            arm.lists,
            arm.click_rate,
            arm.mrr
        );
    }
    if let Some(srm) = &readout.sample_ratio {
        println!(
            "sample ratio check: chi-square {:.3}, p = {:.4}{}",
            srm.chi_square,
            srm.p_value,
            if srm.mismatch { " MISMATCH" } else { "" }
        );
    }
    for challenger in &readout.challengers {
        println!("{} against {}:", challenger.variant, readout.control);
        for (name, metric) in [("click rate", &challenger.click_rate), ("MRR", &challenger.mrr)] {
            if let Some(delta) = &metric.delta_method {
                let relative = delta.relative.map_or_else(String::new, |r| {
                    format!(
                        ", relative {:+.1}% [{:+.1}%, {:+.1}%]",
                        100.0 * r.value,
                        100.0 * r.interval.0,
                        100.0 * r.interval.1
                    )
                });
                println!(
                    "  {name:<10} {:+.4} [{:+.4}, {:+.4}] (delta method, p = {:.4}){relative}",
                    delta.difference, delta.difference_interval.0, delta.difference_interval.1, delta.p_value
                );
            }
            if let Some(welch) = &metric.welch_per_user {
                println!(
                    "  {:<10} per-user Welch t = {:.3}, df = {:.1}, p = {:.4}",
                    "", welch.t, welch.degrees_of_freedom, welch.p_value
                );
            }
        }
        if let Some((low, high)) = challenger.sequential_interval {
            println!("  always-valid 95% interval of the click-rate difference: [{low:+.4}, {high:+.4}]");
        }
        println!("  decision: {}", describe(&challenger.decision));
    }
}

//! `marquee`: generate the built-in world, ingest data, inspect the store, benchmark.

mod commands;
mod progress;

use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

/// Marquee, the movie recommender that runs at the edge.
#[derive(Parser)]
#[command(name = "marquee", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Generate the built-in synthetic world: stream, metadata JSON, CSV triple and ground truth.
    World(commands::world::WorldArgs),
    /// Load stream lines, metadata JSON, MovieLens folders or CSV triples into the event store.
    Ingest(commands::ingest::IngestArgs),
    /// Summarise what the event store holds.
    Stats(commands::stats::StatsArgs),
    /// Write the store's users, movies and ratings as Marquee's CSV triple.
    Export(commands::export::ExportArgs),
    /// Train, apply and evaluate the gradient-boosted-tree engine on any CSV table.
    #[command(subcommand)]
    Gbdt(commands::gbdt::GbdtCommand),
    /// Convert models from other engines into Marquee blobs.
    #[command(subcommand)]
    Import(commands::import::ImportCommand),
    /// Fit the hybrid on all the data and write the blobs the edge serves.
    Train(commands::train::TrainArgs),
    /// Upload a trained model to an edge through its admin API, optionally activating it.
    Publish(commands::publish::PublishArgs),
    /// Copy the edge's impressions and events into the store, resuming from the last cursor.
    PullEvents(commands::pull_events::PullEventsArgs),
    /// Report what the edge's lists earned: click attribution and online metrics.
    #[command(subcommand)]
    Report(commands::report::ReportCommand),
    /// Run an A/B test on the edge: start it, read it out, promote or stop.
    #[command(subcommand)]
    Experiment(commands::experiment::ExperimentCommand),
    /// Close the loop: each round retrain, challenge the active model, simulate a day, decide.
    Loop(commands::online_loop::LoopArgs),
    /// Let the world's users visit a local edge: read its lists, click, watch, rate, report.
    Simulate(commands::simulate::SimulateArgs),
    /// Fit the hybrid on a time split and report accuracy, coverage and fairness per group.
    Evaluate(commands::evaluate::EvaluateArgs),
    /// How evenly the served model serves gender × age groups (offline and online) and
    /// exposes the catalog; optionally publish the summary to the edge for /metrics.
    Fairness(commands::fairness::FairnessArgs),
    /// Compare every model on the same split: accuracy, training cost, inference cost, size.
    Compare(commands::compare::CompareArgs),
    /// Report data drift between two windows of the store: inputs, ranker features, outputs.
    Drift(commands::drift::DriftArgs),
    /// Measure Marquee's speed against its targets.
    #[command(subcommand)]
    Bench(commands::bench::BenchCommand),
}

/// A token given as `--token` is visible to every user of the machine (`ps`, shell
/// history): say so, whoever ran the command (a script leaks it as much as a person).
fn warn_about_a_token_in_argv() {
    let given = std::env::args().any(|arg| arg == "--token" || arg.starts_with("--token="));
    if given {
        tracing::warn!(
            "--token puts the admin token where other users can read it (ps, shell history); \
             prefer the MARQUEE_ADMIN_TOKEN environment variable"
        );
    }
}

fn main() -> std::process::ExitCode {
    // Logs go to stderr so that stdout stays clean for --json.
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_env("MARQUEE_LOG").unwrap_or_else(|_| EnvFilter::new("info")))
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
    let cli = Cli::parse();
    warn_about_a_token_in_argv();
    let result = match cli.command {
        Command::World(args) => commands::world::run(args),
        Command::Ingest(args) => commands::ingest::run(args),
        Command::Stats(args) => commands::stats::run(args),
        Command::Export(args) => commands::export::run(args),
        Command::Gbdt(command) => commands::gbdt::run(command),
        Command::Import(command) => commands::import::run(command),
        Command::Train(args) => commands::train::run(args),
        Command::Publish(args) => commands::publish::run(args),
        Command::PullEvents(args) => commands::pull_events::run(args),
        Command::Report(command) => commands::report::run(command),
        Command::Experiment(command) => commands::experiment::run(command),
        Command::Loop(args) => commands::online_loop::run(args),
        Command::Simulate(args) => commands::simulate::run(args),
        Command::Evaluate(args) => commands::evaluate::run(args),
        Command::Fairness(args) => commands::fairness::run(args),
        Command::Compare(args) => commands::compare::run(args),
        Command::Drift(args) => commands::drift::run(args),
        Command::Bench(command) => commands::bench::run(command),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

//! `marquee bench ...`: runnable benchmarks that print figures next to their targets.

mod gbdt;
mod ingest;

use anyhow::Result;

/// The benchmarks.
#[derive(clap::Subcommand)]
pub enum BenchCommand {
    /// Stream parse and store ingest throughput, on one core, on a world of the movie service's size.
    Ingest(ingest::BenchIngestArgs),
    /// The tree engine against XGBoost and LightGBM: accuracy, training and inference time, size.
    Gbdt(gbdt::BenchGbdtArgs),
}

pub fn run(command: BenchCommand) -> Result<()> {
    match command {
        BenchCommand::Ingest(args) => ingest::run(args),
        BenchCommand::Gbdt(args) => gbdt::run(args),
    }
}

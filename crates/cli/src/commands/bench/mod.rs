//! `marquee bench ...`: runnable benchmarks that print figures next to their targets.

mod ingest;

use anyhow::Result;

/// The benchmarks.
#[derive(clap::Subcommand)]
pub enum BenchCommand {
    /// Stream parse and store ingest throughput, on one core, on a world of the movie service's size.
    Ingest(ingest::BenchIngestArgs),
}

pub fn run(command: BenchCommand) -> Result<()> {
    match command {
        BenchCommand::Ingest(args) => ingest::run(args),
    }
}

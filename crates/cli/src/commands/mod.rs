//! One module per `marquee` subcommand.

pub mod bench;
pub mod compare;
pub mod drift;
pub mod evaluate;
pub mod experiment;
pub mod export;
pub mod fairness;
pub mod gbdt;
pub mod import;
pub mod ingest;
pub mod load_data;
pub mod log_source;
pub mod loop_chart;
pub mod online_loop;
pub mod publish;
pub mod pull_events;
pub mod report;
pub mod served_model;
pub mod simulate;
pub mod stats;
pub mod train;
pub mod world;

/// Prints `value` as pretty JSON on stdout.
pub fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

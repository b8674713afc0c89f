//! `marquee stats --db FILE [--json]`

use std::path::PathBuf;

use anyhow::{Context, Result};
use marquee_data::store::Store;

#[derive(clap::Args)]
pub struct StatsArgs {
    /// The event store to summarise.
    #[arg(long)]
    db: PathBuf,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

pub fn run(args: StatsArgs) -> Result<()> {
    anyhow::ensure!(args.db.is_file(), "no event store at {}: run `marquee ingest` first", args.db.display());
    let store = Store::open(&args.db).with_context(|| format!("opening {}", args.db.display()))?;
    let stats = store.stats()?;
    if args.json {
        super::print_json(&stats)
    } else {
        print!("{stats}");
        Ok(())
    }
}

//! `marquee export --db FILE --out DIR`

use std::path::PathBuf;

use anyhow::{Context, Result};
use marquee_data::store::Store;
use marquee_data::Dataset;

#[derive(clap::Args)]
pub struct ExportArgs {
    /// The event store to export.
    #[arg(long)]
    db: PathBuf,
    /// The folder to write ratings.csv, users.csv and movies.csv into.
    #[arg(long)]
    out: PathBuf,
}

pub fn run(args: ExportArgs) -> Result<()> {
    anyhow::ensure!(args.db.is_file(), "no event store at {}", args.db.display());
    let store = Store::open(&args.db).with_context(|| format!("opening {}", args.db.display()))?;
    let dataset = Dataset { users: store.users()?, movies: store.movies()?, ratings: store.ratings()? };
    std::fs::create_dir_all(&args.out).with_context(|| format!("creating {}", args.out.display()))?;
    marquee_data::csv_triple::write(&args.out, &dataset)?;
    tracing::info!(
        users = dataset.users.len(),
        movies = dataset.movies.len(),
        ratings = dataset.ratings.len(),
        "wrote the CSV triple to {}",
        args.out.display()
    );
    Ok(())
}

//! `marquee ingest SOURCE... --db FILE [--rating-scale N] [--json]`

use std::path::PathBuf;

use anyhow::{Context, Result};
use marquee_data::store::{SourceIngest, Store, MAX_MINUTE};
use marquee_data::RatingScale;

#[derive(clap::Args)]
pub struct IngestArgs {
    /// Files or folders to load: stream lines (`-` for stdin), metadata JSON, a MovieLens
    /// folder (100K, 1M, latest), a CSV triple folder, or a world folder. Recognised by content.
    #[arg(required = true)]
    sources: Vec<PathBuf>,
    /// The event store to load into (created if missing).
    #[arg(long)]
    db: PathBuf,
    /// The highest star of the stream's `/rate/<movie>=<n>` lines (5 originally, 10 on newer streams).
    #[arg(long, default_value_t = 5)]
    rating_scale: u8,
    /// Print a JSON summary instead of text.
    #[arg(long)]
    json: bool,
}

pub fn run(args: IngestArgs) -> Result<()> {
    let scale = RatingScale::new(args.rating_scale).context("--rating-scale must be at least 2")?;
    // Recognise every source before touching the store, so a typo loses nothing.
    let mut sources = Vec::new();
    for path in &args.sources {
        sources.extend(marquee_data::source::detect(path)?);
    }
    let mut store = Store::open(&args.db).with_context(|| format!("opening {}", args.db.display()))?;
    let mut results: Vec<SourceIngest> = Vec::new();
    for source in &sources {
        let bar = crate::progress::counter(&source.to_string(), args.json);
        let result = store.ingest_source(source, scale, |line| bar.set_position(line))?;
        bar.finish_and_clear();
        if !args.json {
            print_summary(&result);
        }
        results.push(result);
    }
    if args.json {
        super::print_json(&results)?;
    }
    Ok(())
}

fn print_summary(result: &SourceIngest) {
    println!("{}", result.source);
    print!("  {}", result.report);
    if let Some(stream) = &result.stream {
        println!(
            "  stored: {} sessions changed, {} new ratings, {} new recommendation requests, {} accounts",
            stream.sessions_changed, stream.new_ratings, stream.new_recommendations, stream.account_lines
        );
        if stream.minutes_beyond_limit > 0 {
            println!("  refused: {} watch lines past minute {}", stream.minutes_beyond_limit, MAX_MINUTE);
        }
    }
    if let Some(records) = &result.records {
        println!(
            "  stored: {} users changed, {} movies changed, {} new ratings",
            records.users_changed, records.movies_changed, records.new_ratings
        );
    }
}

//! `marquee ingest SOURCE... --db FILE [--rating-scale N] [--json] [Kafka options]`

pub mod kafka;

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use marquee_data::store::{SourceIngest, Store, MAX_MINUTE};
use marquee_data::RatingScale;

use kafka::{KafkaArgs, KafkaUrl};

#[derive(clap::Args)]
pub struct IngestArgs {
    /// Files or folders to load: stream lines (`-` for stdin), metadata JSON, a MovieLens
    /// folder (100K, 1M, latest), a CSV triple folder, or a world folder, recognised by
    /// content; or one `kafka://BROKER[,BROKER...]/TOPIC` to consume as a consumer-group
    /// member (after the files; see the Kafka options).
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
    #[command(flatten)]
    kafka: KafkaArgs,
}

pub fn run(args: IngestArgs) -> Result<()> {
    let scale = RatingScale::new(args.rating_scale).context("--rating-scale must be at least 2")?;
    // Recognise every source before touching the store, so a typo loses nothing.
    let mut sources = Vec::new();
    let mut topic: Option<KafkaUrl> = None;
    for path in &args.sources {
        match path.to_str().filter(|text| KafkaUrl::is_kafka(text)) {
            Some(url) => {
                if topic.is_some() {
                    bail!("give at most one kafka:// source per command");
                }
                topic = Some(KafkaUrl::parse(url)?);
            }
            None => sources.extend(marquee_data::source::detect(path)?),
        }
    }
    if let (None, Some(option)) = (&topic, args.kafka.first_given()) {
        bail!("{option} applies to a kafka://BROKER/TOPIC source, and none was given");
    }
    let options = args.kafka.options()?;
    let mut results: Vec<serde_json::Value> = Vec::new();
    if !sources.is_empty() {
        let mut store = Store::open(&args.db).with_context(|| format!("opening {}", args.db.display()))?;
        for source in &sources {
            let bar = crate::progress::counter(&source.to_string(), args.json);
            let result = store.ingest_source(source, scale, |line| bar.set_position(line))?;
            bar.finish_and_clear();
            if !args.json {
                print_summary(&result);
            }
            results.push(serde_json::to_value(&result)?);
        }
    }
    // Last, since with --follow it runs until stopped.
    if let Some(url) = &topic {
        let result = kafka::ingest(url, &options, &args.db, scale)?;
        if !args.json {
            kafka::print_summary(&result);
        }
        results.push(serde_json::to_value(&result)?);
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

//! `marquee world --out DIR [--seed N --users U --movies M --days D]
//! [--drift taste-shift|new-cohort --drift-after-days D]`

use std::path::PathBuf;

use anyhow::{Context, Result};
use marquee_data::world::{DriftKind, World, WorldConfig, WorldDrift};
use marquee_data::RatingScale;

#[derive(clap::Args)]
pub struct WorldArgs {
    /// The folder to write the world into (created if missing).
    #[arg(long)]
    out: PathBuf,
    /// The random seed: the same seed and sizes give the same world, byte for byte.
    #[arg(long, default_value_t = WorldConfig::default().seed)]
    seed: u64,
    /// How many users.
    #[arg(long, default_value_t = WorldConfig::default().users)]
    users: u32,
    /// How many movies.
    #[arg(long, default_value_t = WorldConfig::default().movies)]
    movies: u32,
    /// How many days of events.
    #[arg(long, default_value_t = WorldConfig::default().days)]
    days: u32,
    /// The share of stream lines deliberately malformed, as real streams are.
    #[arg(long, default_value_t = WorldConfig::default().malformed_rate)]
    malformed_rate: f64,
    /// The highest star of rating lines (5, or 10 like newer streams).
    #[arg(long, default_value_t = 5)]
    rating_scale: u8,
    /// Make the world drift partway, for testing drift detection: `taste-shift` (everyone's
    /// genre preferences rotate and animation, family, fantasy and science fiction gain
    /// popularity) or `new-cohort` (young users, mostly students, start arriving). Off by
    /// default; without it the world is byte for byte what it always was.
    #[arg(long, value_enum, requires = "drift_after_days")]
    drift: Option<DriftOption>,
    /// The day the drift starts (0-based, strictly inside the window): days before it are
    /// as usual.
    #[arg(long, requires = "drift")]
    drift_after_days: Option<u32>,
    /// Print the world's statistics as JSON.
    #[arg(long)]
    json: bool,
}

/// The drifts `--drift` offers.
#[derive(Clone, Copy, clap::ValueEnum)]
enum DriftOption {
    TasteShift,
    NewCohort,
}

pub fn run(args: WorldArgs) -> Result<()> {
    let config = WorldConfig {
        seed: args.seed,
        users: args.users,
        movies: args.movies,
        days: args.days,
        malformed_rate: args.malformed_rate,
        rating_scale: RatingScale::new(args.rating_scale).context("--rating-scale must be at least 2")?,
        drift: args.drift.zip(args.drift_after_days).map(|(kind, after_days)| WorldDrift {
            kind: match kind {
                DriftOption::TasteShift => DriftKind::TasteShift,
                DriftOption::NewCohort => DriftKind::NewCohort,
            },
            after_days,
        }),
        ..WorldConfig::default()
    };
    config.validate().map_err(anyhow::Error::msg)?;
    let started = std::time::Instant::now();
    let world = World::generate(config.clone())?;
    std::fs::create_dir_all(&args.out).with_context(|| format!("creating {}", args.out.display()))?;
    let bar = crate::progress::bar(u64::from(config.days), "days", args.json);
    let stats = world.write_to(&args.out, |day| bar.set_position(u64::from(day) + 1))?;
    bar.finish_and_clear();
    if args.json {
        return super::print_json(&stats);
    }
    let drift = config
        .drift
        .map(|drift| format!(" (drifting by {} from day {})", drift.kind.name(), drift.after_days))
        .unwrap_or_default();
    println!(
        "wrote a world of {} users and {} movies over {} days{drift} to {} in {:.1}s",
        config.users,
        config.movies,
        config.days,
        args.out.display(),
        started.elapsed().as_secs_f64()
    );
    println!("{}", serde_json::to_string_pretty(&stats)?);
    Ok(())
}

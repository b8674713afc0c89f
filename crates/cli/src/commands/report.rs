//! `marquee report online (--db FILE | --from URL) [--window-hours 24] [--by variant|round|hour|day] [--json]`:
//! attributes the edge log's events to the lists the edge served and prints the online
//! figures per A/B variant (and time window). The work is `marquee_data::online`'s.

use std::path::PathBuf;

use anyhow::{Context, Result};
use marquee_data::online::{attribute, online_metrics, GroupBy, Grouping, OnlineReport};
use marquee_data::store::Store;
use marquee_data::EdgeRow;

use super::pull_events::page_log;

#[derive(clap::Subcommand)]
pub enum ReportCommand {
    /// Click rate, MRR, watch minutes, ratings, coverage and exposure per variant from the edge's log.
    Online(OnlineArgs),
}

#[derive(clap::Args)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["db", "from"])))]
pub struct OnlineArgs {
    /// Read the log `marquee pull-events` copied into this event store.
    #[arg(long)]
    db: Option<PathBuf>,
    /// Read the log straight from the edge at this base URL, e.g. http://127.0.0.1:8787.
    #[arg(long)]
    from: Option<String>,
    /// The admin token for --from (default: the MARQUEE_ADMIN_TOKEN environment variable).
    #[arg(long, env = "MARQUEE_ADMIN_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Rows per page for --from.
    #[arg(long, default_value_t = 1000)]
    page: u32,
    /// Only the log's rows after this sequence number (a cursor, as pull-events keeps): the
    /// report of one run of traffic. Events naming a list from before the cursor count as
    /// naming an unknown list.
    #[arg(long, default_value_t = 0)]
    since: i64,
    /// How long after a list an id-less event may still be attributed to it, in hours.
    #[arg(long, default_value_t = 24.0)]
    window_hours: f64,
    /// Group lists by variant, or by variant and 12-minute round, hour or day.
    #[arg(long, value_enum, default_value_t = By::Variant)]
    by: By,
    /// The catalog's size, the coverage denominator (default: the movies seen in any list).
    #[arg(long)]
    catalog_size: Option<usize>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum By {
    Variant,
    Round,
    Hour,
    Day,
}

pub fn run(command: ReportCommand) -> Result<()> {
    match command {
        ReportCommand::Online(args) => online(args),
    }
}

fn online(args: OnlineArgs) -> Result<()> {
    anyhow::ensure!(
        args.window_hours.is_finite() && args.window_hours >= 0.0,
        "--window-hours must be a non-negative number"
    );
    let window_ms = (args.window_hours * 3_600_000.0).round() as i64;
    let rows = read_rows(&args)?;
    let by = match args.by {
        By::Variant => GroupBy::Variant,
        By::Round => GroupBy::Round,
        By::Hour => GroupBy::Hour,
        By::Day => GroupBy::Day,
    };
    let attributions = attribute(&rows, window_ms);
    let report = online_metrics(&rows, &attributions, Grouping { by, catalog_size: args.catalog_size }, window_ms);
    if args.json {
        return super::print_json(&report);
    }
    print_table(&report);
    Ok(())
}

fn read_rows(args: &OnlineArgs) -> Result<Vec<EdgeRow>> {
    if let Some(db) = &args.db {
        let store = Store::open(db).with_context(|| format!("opening {}", db.display()))?;
        let mut rows = store.edge_rows()?;
        rows.retain(|row| row.seq > args.since);
        return Ok(rows);
    }
    let from = args.from.as_deref().context("give --db or --from")?;
    let token = args.token.as_deref().context("--from needs --token or MARQUEE_ADMIN_TOKEN")?;
    anyhow::ensure!((1..=10_000).contains(&args.page), "--page must be 1 to 10000");
    let mut rows = Vec::new();
    page_log(from.trim_end_matches('/'), token, args.page, args.since, |page, _| {
        rows.extend(page);
        Ok(())
    })?;
    Ok(rows)
}

fn print_table(report: &OnlineReport) {
    let counts = &report.attribution;
    println!(
        "{} rows, {} lists; {} events: {} attributed ({} by ref), unattributed: {} unknown list id, {} no list within {:.1} h, {} movie not listed",
        report.rows,
        report.impressions,
        counts.events,
        counts.attributed,
        counts.by_ref,
        counts.unknown_impression,
        counts.no_list_in_window,
        report.window_ms as f64 / 3_600_000.0,
        counts.movie_not_listed
    );
    let correlation = |value: Option<f64>| value.map_or_else(|| "-".to_owned(), |r| format!("{r:.3}"));
    println!(
        "recommended/watched correlation over the whole log: {} (catalog {})",
        correlation(report.recommended_watched_correlation),
        report.catalog
    );
    println!(
        "{:<20} {:<12} {:>7} {:>7} {:>7} {:>7} {:>9} {:>6} {:>7} {:>6} {:>6}",
        "window start (UTC s)",
        "variant",
        "lists",
        "clicked",
        "ctr",
        "mrr",
        "min/list",
        "rating",
        "cover",
        "gini",
        "corr"
    );
    for group in &report.groups {
        let start = group.window_start_ms.map_or_else(|| "all".to_owned(), |ms| (ms / 1000).to_string());
        println!(
            "{:<20} {:<12} {:>7} {:>7} {:>7.4} {:>7.4} {:>9.3} {:>6} {:>7.4} {:>6.3} {:>6}",
            start,
            group.variant,
            group.lists,
            group.clicked_lists,
            group.click_rate,
            group.mrr,
            group.watch_minutes_per_impression,
            group.mean_rating.map_or_else(|| "-".to_owned(), |stars| format!("{stars:.2}")),
            group.coverage,
            group.exposure_gini,
            correlation(group.recommended_watched_correlation)
        );
    }
}

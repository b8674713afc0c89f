//! `marquee report online (--db FILE | --from URL) [--window-hours 24] [--by variant|round|hour|day] [--json]`:
//! attributes the edge log's events to the lists the edge served and prints the online
//! figures per A/B variant (and time window). The work is `marquee_data::online`'s.

use std::collections::HashMap;

use anyhow::{Context, Result};
use marquee_data::online::{attribute, online_metrics, GroupBy, Grouping, OnlineReport};
use marquee_data::records::User;
use marquee_data::store::Store;
use marquee_data::EdgeKind;
use marquee_train::recommend::user_demographics;

use super::log_source::LogSourceArgs;

#[derive(clap::Subcommand)]
pub enum ReportCommand {
    /// Click rate, MRR, watch minutes, ratings, coverage and exposure per variant from the edge's log.
    Online(OnlineArgs),
}

#[derive(clap::Args)]
pub struct OnlineArgs {
    #[command(flatten)]
    source: LogSourceArgs,
    /// How long after a list an id-less event may still be attributed to it, in hours.
    #[arg(long, default_value_t = 24.0)]
    window_hours: f64,
    /// Group lists by variant, or by variant and 12-minute round, hour or day.
    #[arg(long, value_enum, default_value_t = By::Variant)]
    by: By,
    /// Also split each variant's lists by the user's demographic group (gender, age band or
    /// occupation), read from this event store's users (the store `pull-events` fills, or the
    /// one the model was trained from). Groups show as `variant/group`.
    #[arg(long, value_enum, requires = "users_from")]
    group_by: Option<Demographic>,
    /// The event store whose users give the demographic groups.
    #[arg(long)]
    users_from: Option<std::path::PathBuf>,
    /// The catalog's size, the coverage denominator (default: the movies seen in any list).
    #[arg(long)]
    catalog_size: Option<usize>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum Demographic {
    Gender,
    Age,
    Occupation,
}

/// The user's group, labelled as the fairness reports label it (`F`, `18-24`, ...; `?`
/// when the store lacks the user or the field).
pub fn group_of(user: Option<&User>, by: Demographic) -> String {
    let Some(user) = user else { return "?".into() };
    let demographics = user_demographics(user, &[]);
    match by {
        Demographic::Gender => demographics.gender_label().into(),
        Demographic::Age => demographics.age_label().into(),
        Demographic::Occupation => user.occupation.clone().unwrap_or_else(|| "?".into()),
    }
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
    let mut rows = args.source.read_rows()?;
    if let (Some(by), Some(store)) = (args.group_by, &args.users_from) {
        let users = Store::open(store).with_context(|| format!("opening {}", store.display()))?.users()?;
        let users: HashMap<u64, User> = users.into_iter().map(|user| (user.user_id, user)).collect();
        for row in rows.iter_mut().filter(|row| row.kind == EdgeKind::Impression) {
            let group = group_of(users.get(&row.user_id), by);
            row.variant = Some(format!("{}/{group}", row.variant.as_deref().unwrap_or("?")));
        }
    }
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

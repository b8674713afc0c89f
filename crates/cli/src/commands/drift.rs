//! `marquee drift --reference WINDOW_OR_STORE --current WINDOW_OR_STORE [--model DIR] [--psi]
//! [--json] [--publish URL]`: whether what the service sees and serves has moved between two
//! windows, column by column, with Evidently's default tests (`marquee_data::drift`).
//!
//! Columns, each computed the same way on both sides:
//! - **input, the request population**: one row per user active in the window (a watch
//!   session, a recommendation request or a list served): `age`, `gender`, `occupation`, and
//!   `activity` (those events per user; compare windows of equal length).
//! - **input, the ranker's features**: one row per watch session started in the window,
//!   named as in the ranker's schema. Without a model, those the store alone gives
//!   (demographics and movie metadata, `movie_days_since_release` counted at the session);
//!   with `--model`, all of the ranker's features as the model computes them for that user
//!   and movie (profile aggregates, affinities, factorisation scores). Plus `movie_genre`, the
//!   watched movie's first genre.
//! - **output, what was served**: one row per slot of every list the edge served in the
//!   window (from the pulled edge log): `recommended_popularity`, `recommended_genre`, and
//!   with `--model` `recommended_score` (the ranker's score for that user and movie).
//!
//! A column that cannot be tested (empty on one side) is listed as skipped and left out of
//! the share. The exit code is 0 whether or not anything drifted; only errors fail.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};
use marquee_data::drift::{
    column_drift, dataset_drift, ColumnDrift, ColumnValues, DatasetDrift, DriftMethod, DriftOptions,
};
use marquee_data::events::days_from_civil;
use marquee_data::monitor::{DriftColumn, DriftSummary};
use marquee_data::store::Store;
use marquee_data::{Gender, Movie, Timestamp, User};
use marquee_model::recommend::{GenderCode, UserProfile, FEATURE_COUNT, FEATURE_NAMES};
use serde::Serialize;

use super::served_model::ServedModel;

const NANOS_PER_DAY: i64 = 86_400_000_000_000;

#[derive(clap::Args)]
pub struct DriftArgs {
    /// The reference window: an event store (`world.db`, all of it) or a time window of one,
    /// `STORE@FROM..TO`, FROM inclusive and TO exclusive, each `YYYY-MM-DD` (midnight UTC) or
    /// `YYYY-MM-DDTHH:MM:SS` (UTC); either may be left out for an open end, e.g.
    /// `world.db@..2024-01-16` or `world.db@2024-01-16..`.
    #[arg(long, value_parser = parse_window)]
    reference: WindowSpec,
    /// The current window, in the same form as --reference (it may be the same store).
    #[arg(long, value_parser = parse_window)]
    current: WindowSpec,
    /// A models folder written by `marquee train`: adds every ranker feature (as the model
    /// computes it) and the score of what was served.
    #[arg(long)]
    model: Option<PathBuf>,
    /// Judge every column by the population stability index (drift at 0.1, significant at
    /// 0.2) instead of Evidently's default tests.
    #[arg(long)]
    psi: bool,
    /// Print the full report as JSON.
    #[arg(long)]
    json: bool,
    /// Also PUT the summary to this edge's `/v1/admin/monitor/drift` (for /metrics).
    #[arg(long)]
    publish: Option<String>,
    /// The admin token for --publish (default: the MARQUEE_ADMIN_TOKEN environment variable).
    #[arg(long, env = "MARQUEE_ADMIN_TOKEN", hide_env_values = true)]
    token: Option<String>,
}

/// A store and the part of its history to read.
#[derive(Clone, Debug)]
pub struct WindowSpec {
    pub store: PathBuf,
    /// Inclusive start, if bounded.
    pub from: Option<Timestamp>,
    /// Exclusive end, if bounded.
    pub to: Option<Timestamp>,
}

impl WindowSpec {
    fn describe(&self) -> String {
        let bound = |t: Option<Timestamp>| t.map(|t| t.to_string()).unwrap_or_default();
        if self.from.is_none() && self.to.is_none() {
            self.store.display().to_string()
        } else {
            format!("{}@{}..{}", self.store.display(), bound(self.from), bound(self.to))
        }
    }
}

/// Parses `STORE` or `STORE@FROM..TO` (see `--reference`).
pub fn parse_window(text: &str) -> Result<WindowSpec, String> {
    let Some((store, range)) = text.rsplit_once('@').filter(|(_, range)| range.contains("..")) else {
        return Ok(WindowSpec { store: PathBuf::from(text), from: None, to: None });
    };
    if store.is_empty() {
        return Err(format!("{text:?} names no store before '@'"));
    }
    let (from, to) = range.split_once("..").unwrap_or((range, ""));
    let bound = |text: &str| -> Result<Option<Timestamp>, String> {
        if text.is_empty() {
            return Ok(None);
        }
        parse_time(text).map(Some).ok_or_else(|| {
            format!("{text:?} is not a time: write YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS (UTC), years 1900 to 2099")
        })
    };
    let (from, to) = (bound(from)?, bound(to)?);
    if let (Some(start), Some(end)) = (from, to) {
        if start >= end {
            return Err(format!("the window {range:?} is empty: its start must come before its end"));
        }
    }
    Ok(WindowSpec { store: PathBuf::from(store), from, to })
}

/// `YYYY-MM-DD` (midnight UTC) or a stream timestamp.
fn parse_time(text: &str) -> Option<Timestamp> {
    if text.len() == 10 {
        return Timestamp::parse(&format!("{text}T00:00:00"));
    }
    Timestamp::parse(text)
}

/// One column's values in both windows.
struct Column {
    name: String,
    scope: &'static str,
    reference: ColumnValues,
    current: ColumnValues,
}

/// One column's verdict in the report.
#[derive(Serialize)]
struct ColumnReport {
    name: String,
    scope: &'static str,
    #[serde(flatten)]
    drift: ColumnDrift,
}

/// A column left out, and why.
#[derive(Serialize)]
struct Skipped {
    name: String,
    scope: &'static str,
    reason: String,
}

/// What one window held.
#[derive(Serialize)]
struct WindowReport {
    window: String,
    active_users: usize,
    watch_sessions: usize,
    lists_served: usize,
}

#[derive(Serialize)]
struct Report {
    reference: WindowReport,
    current: WindowReport,
    model: Option<String>,
    options: DriftOptions,
    dataset: DatasetDrift,
    columns: Vec<ColumnReport>,
    skipped: Vec<Skipped>,
    notes: Vec<String>,
}

pub fn run(args: DriftArgs) -> Result<()> {
    let options = DriftOptions {
        method: if args.psi { DriftMethod::Psi } else { DriftMethod::Default },
        ..DriftOptions::default()
    };
    let token = match (&args.publish, &args.token) {
        (Some(_), None) => bail!("--publish needs the admin token: --token or MARQUEE_ADMIN_TOKEN"),
        (_, token) => token.clone(),
    };
    let model = args
        .model
        .as_deref()
        .map(|dir| ServedModel::load(dir).with_context(|| format!("loading the model in {}", dir.display())))
        .transpose()?;
    let report = drift_report(&args.reference, &args.current, model.as_ref(), args.model.as_deref(), &options)?;
    let summary = summary(&report);
    summary.validate().context("the drift summary does not validate")?;
    if args.json {
        super::print_json(&report)?;
    } else {
        print_table(&report);
    }
    if let (Some(url), Some(token)) = (&args.publish, &token) {
        super::publish::put_report(url, token, "drift", &summary)?;
        if !args.json {
            println!("published the summary to {}/v1/admin/monitor/drift", url.trim_end_matches('/'));
        }
    }
    Ok(())
}

/// Computes the report for two windows.
fn drift_report(
    reference: &WindowSpec,
    current: &WindowSpec,
    model: Option<&ServedModel>,
    model_dir: Option<&Path>,
    options: &DriftOptions,
) -> Result<Report> {
    let (reference_window, reference_report) = Window::read(reference, model)?;
    let (current_window, current_report) = Window::read(current, model)?;
    let mut notes = Vec::new();
    for (side, report) in [("reference", &reference_report), ("current", &current_report)] {
        if report.lists_served == 0 {
            notes.push(format!(
                "the {side} window holds no edge log (no lists served): output drift (scores, popularity and genre mix of what was recommended) is not measured there"
            ));
        }
    }
    if model.is_none() {
        notes.push(
            "no --model: the ranker features that need one (profile aggregates, affinities, factorisation scores) and the served lists' scores are not measured".into(),
        );
    }
    let columns = pair_columns(reference_window, current_window);
    let (mut judged, mut skipped) = (Vec::new(), Vec::new());
    for column in columns {
        match column_drift(&column.reference, &column.current, options) {
            Ok(drift) => judged.push(ColumnReport { name: column.name, scope: column.scope, drift }),
            Err(error) => skipped.push(Skipped { name: column.name, scope: column.scope, reason: error.to_string() }),
        }
    }
    let verdicts: Vec<bool> = judged.iter().map(|c| c.drift.drifted).collect();
    let dataset = dataset_drift(&verdicts, options)
        .context("no column could be tested: both windows need users and watch sessions")?;
    Ok(Report {
        reference: reference_report,
        current: current_report,
        model: model_dir.map(|dir| dir.display().to_string()),
        options: options.clone(),
        dataset,
        columns: judged,
        skipped,
        notes,
    })
}

/// The columns of one window, in a fixed order, by (scope, name).
struct Window {
    columns: Vec<(&'static str, String, ColumnValues)>,
}

impl Window {
    fn read(spec: &WindowSpec, model: Option<&ServedModel>) -> Result<(Window, WindowReport)> {
        if !spec.store.is_file() {
            bail!("{} is not an event store (no such file): make one with `marquee ingest`", spec.store.display());
        }
        let store = Store::open(&spec.store).with_context(|| format!("opening {}", spec.store.display()))?;
        let from = spec.from.unwrap_or(Timestamp(i64::MIN));
        let to = spec.to.unwrap_or(Timestamp(i64::MAX));
        let users: HashMap<u64, User> = store.users()?.into_iter().map(|u| (u.user_id, u)).collect();
        let movies: HashMap<String, Movie> = store.movies()?.into_iter().map(|m| (m.movie_id.clone(), m)).collect();
        let activity = store.activity_between(from, to)?;
        let sessions = store.watch_sessions_between(from, to)?;
        let impressions = store.impressions_between(from.0.div_euclid(1_000_000), to.0.div_euclid(1_000_000))?;

        // The model's catalog index of each movie id.
        let items: HashMap<&str, u32> = model
            .map(|model| {
                let catalog = model.recommender.catalog();
                catalog.movies.iter().enumerate().map(|(i, m)| (m.movie_id.as_str(), i as u32)).collect()
            })
            .unwrap_or_default();
        let mut columns: Vec<(&'static str, String, ColumnValues)> = Vec::new();
        let mut numeric =
            |scope, name: &str, values: Vec<f64>| columns.push((scope, name.to_owned(), ColumnValues::Numeric(values)));
        let user_of = |id: u64| users.get(&id);
        numeric("input", "age", activity.iter().map(|&(id, _)| age(user_of(id))).collect());
        numeric("input", "activity", activity.iter().map(|&(_, count)| count as f64).collect());
        let mut labels: Vec<(&'static str, &str, Vec<String>)> = vec![
            ("input", "gender", activity.iter().map(|&(id, _)| gender(user_of(id))).collect()),
            ("input", "occupation", activity.iter().map(|&(id, _)| occupation(user_of(id))).collect()),
            ("input", "movie_genre", sessions.iter().map(|s| genre(movies.get(&s.movie_id))).collect()),
        ];

        match model {
            None => {
                let movie_of = |id: &str| movies.get(id);
                let mut numeric_feature = |name: &str, value: &dyn Fn(&marquee_data::store::WatchSession) -> f64| {
                    columns.push((
                        "input",
                        name.to_owned(),
                        ColumnValues::Numeric(sessions.iter().map(value).collect()),
                    ));
                };
                numeric_feature("user_age", &|s| age(user_of(s.user_id)));
                numeric_feature("movie_year", &|s| {
                    movie_of(&s.movie_id).and_then(|m| m.year).map_or(f64::NAN, f64::from)
                });
                numeric_feature("movie_popularity", &|s| {
                    movie_of(&s.movie_id).and_then(|m| m.popularity).unwrap_or(f64::NAN)
                });
                numeric_feature("movie_vote_average", &|s| {
                    movie_of(&s.movie_id).and_then(|m| m.vote_average).unwrap_or(f64::NAN)
                });
                numeric_feature("movie_log_vote_count", &|s| {
                    movie_of(&s.movie_id).and_then(|m| m.vote_count).map_or(f64::NAN, |c| (c as f64).ln_1p())
                });
                numeric_feature("movie_runtime", &|s| {
                    movie_of(&s.movie_id).and_then(|m| m.runtime).map_or(f64::NAN, f64::from)
                });
                numeric_feature("movie_days_since_release", &|s| {
                    movie_of(&s.movie_id)
                        .and_then(release_day)
                        .map_or(f64::NAN, |day| (s.first_time.0.div_euclid(NANOS_PER_DAY) - day) as f64)
                });
                labels.push(("input", "user_gender", sessions.iter().map(|s| gender(user_of(s.user_id))).collect()));
                labels.push((
                    "input",
                    "user_occupation",
                    sessions.iter().map(|s| occupation(user_of(s.user_id))).collect(),
                ));
                labels.push((
                    "input",
                    "movie_language",
                    sessions
                        .iter()
                        .map(|s| {
                            movie_of(&s.movie_id)
                                .and_then(|m| m.original_language.clone())
                                .unwrap_or_else(|| "unknown".into())
                        })
                        .collect(),
                ));
            }
            Some(model) => {
                let recommender = &model.recommender;
                let catalog = recommender.catalog();
                let mut rows: Vec<[f32; FEATURE_COUNT]> = Vec::with_capacity(sessions.len());
                // Each user's profile is decoded once, however many sessions they had.
                let mut profiles: HashMap<u64, UserProfile> = HashMap::new();
                for session in &sessions {
                    let Some(&item) = items.get(session.movie_id.as_str()) else { continue };
                    let profile = profiles.entry(session.user_id).or_insert_with(|| {
                        let demographics = user_of(session.user_id)
                            .map(|u| marquee_train::recommend::user_demographics(u, &catalog.occupations))
                            .unwrap_or_default();
                        model.profile(session.user_id, demographics)
                    });
                    rows.push(recommender.ranker_row(profile, item));
                }
                for (index, name) in FEATURE_NAMES.iter().enumerate() {
                    let values = rows.iter().map(|row| row[index]);
                    match *name {
                        "user_gender" => columns.push((
                            "input",
                            (*name).to_owned(),
                            ColumnValues::Categorical(values.map(gender_code_label).collect()),
                        )),
                        "user_occupation" => columns.push((
                            "input",
                            (*name).to_owned(),
                            ColumnValues::Categorical(values.map(|v| code_label(v, &catalog.occupations)).collect()),
                        )),
                        "movie_language" => columns.push((
                            "input",
                            (*name).to_owned(),
                            ColumnValues::Categorical(values.map(|v| code_label(v, &catalog.languages)).collect()),
                        )),
                        _ => columns.push((
                            "input",
                            (*name).to_owned(),
                            ColumnValues::Numeric(values.map(f64::from).collect()),
                        )),
                    }
                }
            }
        }

        // What was served: every slot of every list in the window.
        let mut popularity = Vec::new();
        let mut served_genres = Vec::new();
        let mut scores = Vec::new();
        for impression in &impressions {
            let listed: Vec<&str> =
                impression.value.as_deref().unwrap_or("").split(',').filter(|id| !id.is_empty()).collect();
            for id in &listed {
                let movie = movies.get(*id);
                popularity.push(movie.and_then(|m| m.popularity).unwrap_or(f64::NAN));
                served_genres.push(genre(movie));
            }
            if let Some(model) = model {
                let recommender = &model.recommender;
                let catalog = recommender.catalog();
                let demographics = user_of(impression.user_id)
                    .map(|u| marquee_train::recommend::user_demographics(u, &catalog.occupations))
                    .unwrap_or_default();
                let profile = model.profile(impression.user_id, demographics);
                for id in &listed {
                    let Some(&item) = items.get(*id) else { continue };
                    let row = recommender.ranker_row(&profile, item);
                    let mut score = [0.0f32];
                    if recommender.ranker().predict_margins(&row, &mut score).is_ok() {
                        scores.push(f64::from(score[0]));
                    }
                }
            }
        }
        if !impressions.is_empty() {
            columns.push(("output", "recommended_popularity".into(), ColumnValues::Numeric(popularity)));
            labels.push(("output", "recommended_genre", served_genres));
            if model.is_some() {
                columns.push(("output", "recommended_score".into(), ColumnValues::Numeric(scores)));
            }
        }
        for (scope, name, values) in labels {
            columns.push((scope, name.to_owned(), ColumnValues::Categorical(values)));
        }
        let report = WindowReport {
            window: spec.describe(),
            active_users: activity.len(),
            watch_sessions: sessions.len(),
            lists_served: impressions.len(),
        };
        Ok((Window { columns }, report))
    }
}

/// The columns both windows have, input before output, in the reference's order. A column
/// only one side has (output columns when only one window has served lists) is left out.
fn pair_columns(reference: Window, current: Window) -> Vec<Column> {
    let mut current: HashMap<(&'static str, String), ColumnValues> =
        current.columns.into_iter().map(|(scope, name, values)| ((scope, name), values)).collect();
    let mut paired: Vec<Column> = reference
        .columns
        .into_iter()
        .filter_map(|(scope, name, reference)| {
            let current = current.remove(&(scope, name.clone()))?;
            Some(Column { name, scope, reference, current })
        })
        .collect();
    paired.sort_by_key(|column| column.scope == "output");
    paired
}

fn age(user: Option<&User>) -> f64 {
    user.and_then(|u| u.age).map_or(f64::NAN, f64::from)
}

fn gender(user: Option<&User>) -> String {
    match user.and_then(|u| u.gender) {
        Some(Gender::Male) => "M",
        Some(Gender::Female) => "F",
        Some(Gender::Other) => "O",
        None => "unknown",
    }
    .into()
}

fn occupation(user: Option<&User>) -> String {
    user.and_then(|u| u.occupation.clone()).unwrap_or_else(|| "unknown".into())
}

fn genre(movie: Option<&Movie>) -> String {
    movie.and_then(|m| m.genres.first().cloned()).unwrap_or_else(|| "unknown".into())
}

/// The day number of a movie's release date (`YYYY-MM-DD`), if it has one.
fn release_day(movie: &Movie) -> Option<i64> {
    let date = movie.release_date.as_deref()?;
    let mut parts = date.splitn(3, '-');
    let year: i64 = parts.next()?.parse().ok()?;
    let month: u32 = parts.next()?.parse().ok()?;
    let day: u32 = parts.next()?.get(..2)?.parse().ok()?;
    ((1..=12).contains(&month) && (1..=31).contains(&day)).then(|| days_from_civil(year, month, day))
}

/// A ranker row's gender code as a label.
fn gender_code_label(code: f32) -> String {
    let gender =
        [GenderCode::Male, GenderCode::Female, GenderCode::Other].into_iter().find(|g| f32::from(g.code()) == code);
    gender.map_or("unknown", GenderCode::label).into()
}

/// A ranker row's categorical code as the catalog's name for it.
fn code_label(code: f32, names: &[String]) -> String {
    if !code.is_finite() || code < 0.0 {
        return "unknown".into();
    }
    names.get(code as usize).cloned().unwrap_or_else(|| "unknown".into())
}

/// The summary the edge exports on /metrics.
fn summary(report: &Report) -> DriftSummary {
    let generated_ms = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64);
    DriftSummary {
        generated_ms,
        share_drifted: report.dataset.share_drifted,
        dataset_drifted: report.dataset.dataset_drifted,
        columns: report
            .columns
            .iter()
            .map(|column| DriftColumn {
                name: column.name.clone(),
                scope: column.scope.to_owned(),
                test: column.drift.test.name().to_owned(),
                score: column.drift.score,
                threshold: column.drift.threshold,
                drifted: column.drift.drifted,
            })
            .collect(),
    }
}

fn print_table(report: &Report) {
    println!(
        "reference: {} ({} active users, {} watch sessions, {} lists served)",
        report.reference.window,
        report.reference.active_users,
        report.reference.watch_sessions,
        report.reference.lists_served
    );
    println!(
        "current:   {} ({} active users, {} watch sessions, {} lists served)",
        report.current.window, report.current.active_users, report.current.watch_sessions, report.current.lists_served
    );
    println!();
    println!(
        "{:<28} {:<7} {:<12} {:<14} {:>12} {:>10}  drifted",
        "column", "scope", "kind", "test", "score", "threshold"
    );
    for column in &report.columns {
        let drift = &column.drift;
        let kind = match drift.kind {
            marquee_data::drift::ColumnKind::Numeric => "numeric",
            marquee_data::drift::ColumnKind::Categorical => "categorical",
        };
        println!(
            "{:<28} {:<7} {:<12} {:<14} {:>12} {:>10}  {}",
            column.name,
            column.scope,
            kind,
            drift.test.name(),
            format_score(drift.score),
            drift.threshold,
            if drift.drifted { "yes" } else { "no" }
        );
    }
    for skipped in &report.skipped {
        println!("{:<28} {:<7} skipped: {}", skipped.name, skipped.scope, skipped.reason);
    }
    println!();
    let dataset = &report.dataset;
    println!(
        "dataset: {} of {} columns drifted (share {:.3}; the dataset drifts at {}): {}",
        dataset.drifted_columns,
        dataset.columns,
        dataset.share_drifted,
        report.options.drift_share,
        if dataset.dataset_drifted { "DRIFT" } else { "no drift" }
    );
    for note in &report.notes {
        println!("note: {note}");
    }
}

fn format_score(score: f64) -> String {
    if score != 0.0 && score.abs() < 1e-3 {
        format!("{score:.3e}")
    } else {
        format!("{score:.4}")
    }
}

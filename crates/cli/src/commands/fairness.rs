//! `marquee fairness --data DATA --model MODELS [--db STORE | --from URL] [--json] [--publish URL]`:
//! how evenly the served model treats its users' gender × age groups, offline (NDCG and hit
//! rate on the held-out split) and online (click rate and MRR from the edge's log), each with
//! a bootstrap interval and the worst-to-best ratio against the four-fifths rule; and how
//! evenly it exposes the catalog (popularity deciles against relevant interactions, the
//! long tail's share of list slots, the exposure Gini).
//!
//! Offline, the model folder's parameters (`params.json`) are fitted again on the training
//! part of the time split `marquee train --evaluate` and `marquee evaluate` use, seeded the
//! same way, and scored on its held-out part: the served blobs were trained on everything,
//! held-out part included, so scoring them would flatter them. Online, the log's lists are
//! the served model's own. The arithmetic is `marquee_data::fairness`'s.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use marquee_data::fairness::{
    bootstrap_ratio, decile_shares, gini, long_tail_items, long_tail_share, worst_to_best, DecileShare, Estimate,
    FairnessParams, GroupRatio, GroupValue, FOUR_FIFTHS,
};
use marquee_data::monitor::{FairnessRatio, FairnessSummary};
use marquee_data::online::{attribute, listed, user_outcomes, UserOutcome, DEFAULT_WINDOW_MS};
use marquee_data::records::User;
use marquee_data::stats::UnitTotals;
use marquee_data::EdgeKind;
use marquee_model::manifest::PARAMS_FILE;
use marquee_model::recommend::segment::AGE_BUCKETS;
use marquee_train::evaluate::{evaluated_lists, models::Hybrid, EvaluatedLists, EvaluationParams};
use marquee_train::recommend::{fit_hybrid, HybridParams, Interactions};
use serde::Serialize;

use super::log_source::LogSourceArgs;
use super::report::{group_of, Demographic};

#[derive(clap::Args)]
pub struct FairnessArgs {
    /// The data the model was trained from: an event store, a world folder, or anything
    /// `marquee ingest` reads. Its users give the groups; its time split the held-out part.
    #[arg(long)]
    data: PathBuf,
    /// The folder `marquee train` wrote: its parameters (params.json) are fitted again on the
    /// split's training part, seeded as the model was.
    #[arg(long)]
    model: PathBuf,
    /// Held-out ratings (`user_id,movie_id,rating,timestamp`) to score instead of the time split.
    #[arg(long)]
    test: Option<PathBuf>,
    /// The event store holding the edge's log (`marquee pull-events` fills it), for the online
    /// figures. Without --db or --from the report is offline only.
    #[arg(long)]
    db: Option<PathBuf>,
    /// Read the edge's log from the edge at this base URL instead of a store.
    #[arg(long, conflicts_with = "db")]
    from: Option<String>,
    /// Only the log's rows after this sequence number (one run of traffic).
    #[arg(long, default_value_t = 0)]
    since: i64,
    /// Only lists served under this A/B variant (default: every list).
    #[arg(long)]
    variant: Option<String>,
    /// How long after a list an id-less event may still be attributed to it, in hours.
    #[arg(long, default_value_t = DEFAULT_WINDOW_MS as f64 / 3_600_000.0)]
    window_hours: f64,
    /// The list length of the offline metrics (NDCG@k, hit rate@k).
    #[arg(long, default_value_t = EvaluationParams::default().list_length)]
    k: usize,
    /// The most held-out users whose lists are ranked (a seeded sample beyond it).
    #[arg(long, default_value_t = EvaluationParams::default().max_users)]
    max_users: usize,
    /// Bootstrap resamples of each group's users, per metric.
    #[arg(long, default_value_t = FairnessParams::default().resamples)]
    resamples: usize,
    /// Seeds the bootstrap.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Groups with fewer users than this are shown but left out of the worst-to-best ratios.
    #[arg(long, default_value_t = FairnessParams::default().min_users)]
    min_users: usize,
    /// The most popular share of the catalog (by training interactions) that is not the long
    /// tail.
    #[arg(long, default_value_t = FairnessParams::default().head_share)]
    head_share: f64,
    /// Print the whole report as JSON.
    #[arg(long)]
    json: bool,
    /// PUT the report's summary to this edge's /v1/admin/monitor/fairness, for /metrics.
    #[arg(long)]
    publish: Option<String>,
    /// The admin token for --from and --publish (default: the MARQUEE_ADMIN_TOKEN environment
    /// variable).
    #[arg(long, env = "MARQUEE_ADMIN_TOKEN", hide_env_values = true)]
    token: Option<String>,
}

/// The whole report (`--json`).
#[derive(Serialize)]
pub struct FairnessReport {
    pub settings: Settings,
    /// Every gender × age group seen offline or online, largest first within a gender.
    pub groups: Vec<GroupRow>,
    /// Per metric, the worst eligible group over the best (absent when fewer than two groups
    /// are eligible or every group scores 0).
    pub ratios: Vec<MetricRatio>,
    pub items: ItemReport,
    /// What `--publish` sends.
    pub summary: FairnessSummary,
}

#[derive(Serialize)]
pub struct Settings {
    /// What the offline figures score.
    pub offline: String,
    /// Where the online figures come from (`None`: no log given).
    pub online: Option<String>,
    pub k: usize,
    pub resamples: usize,
    pub confidence: f64,
    pub seed: u64,
    pub min_users: usize,
}

#[derive(Serialize)]
pub struct GroupRow {
    /// Gender and age bucket, e.g. `F 25-34` (`?` for unknown).
    pub group: String,
    pub offline: Option<OfflineGroup>,
    pub online: Option<OnlineGroup>,
}

#[derive(Clone, Serialize)]
pub struct OfflineGroup {
    /// Held-out users scored.
    pub users: usize,
    pub ndcg: Estimate,
    pub hit_rate: Estimate,
}

#[derive(Clone, Serialize)]
pub struct OnlineGroup {
    /// Users served at least one list.
    pub users: usize,
    pub lists: u64,
    /// Clicked lists over lists.
    pub click_rate: Estimate,
    /// Reciprocal-rank sum over lists.
    pub mrr: Estimate,
}

#[derive(Serialize)]
pub struct MetricRatio {
    /// `ndcg`, `hit_rate`, `click_rate` or `mrr`.
    pub metric: String,
    pub ratio: Option<GroupRatio>,
    /// Groups with a value but fewer than `min_users` users, left out of the ratio.
    pub too_small: Vec<String>,
}

#[derive(Serialize)]
pub struct ItemReport {
    /// Movies in the catalog (the data's).
    pub catalog: usize,
    /// How the long tail is defined.
    pub long_tail: String,
    /// Catalog items in the head (not the long tail).
    pub head_items: usize,
    /// Per popularity decile (1 the most popular tenth by training interactions): its share
    /// of relevant held-out interactions against its share of each source's list slots.
    pub deciles: Vec<DecileRow>,
    /// Exposure in the lists the model makes for the evaluated users.
    pub offline: Exposure,
    /// Exposure in the lists the edge served (absent without a log or without impressions).
    pub online: Option<Exposure>,
}

#[derive(Serialize)]
pub struct DecileRow {
    pub decile: usize,
    pub items: usize,
    pub training_interactions: u64,
    pub relevant_share: f64,
    pub offline_exposure_share: f64,
    pub online_exposure_share: Option<f64>,
}

#[derive(Serialize)]
pub struct Exposure {
    pub lists: u64,
    /// List slots in all.
    pub slots: u64,
    /// Slots holding a movie the data's catalog lacks (counted in no decile).
    pub outside_catalog: u64,
    /// Slots on long-tail items over slots.
    pub long_tail_share: f64,
    /// The Gini coefficient of slots over every catalog item.
    pub gini: f64,
}

pub fn run(args: FairnessArgs) -> Result<()> {
    let params = check(&args)?;
    let report = build(&args, &params)?;
    if let Some(url) = &args.publish {
        let token = args.token.as_deref().context("--publish needs --token or MARQUEE_ADMIN_TOKEN")?;
        super::publish::put_report(url, token, "fairness", &report.summary)?;
    }
    if args.json {
        return super::print_json(&report);
    }
    print_report(&report);
    if let Some(url) = &args.publish {
        println!("published the summary to {}/v1/admin/monitor/fairness", url.trim_end_matches('/'));
    }
    Ok(())
}

fn check(args: &FairnessArgs) -> Result<FairnessParams> {
    anyhow::ensure!(args.k >= 1, "--k must be at least 1");
    anyhow::ensure!(args.max_users >= 1, "--max-users must be at least 1");
    anyhow::ensure!((1..=100_000).contains(&args.resamples), "--resamples must be 1 to 100000");
    anyhow::ensure!(args.min_users >= 1, "--min-users must be at least 1");
    anyhow::ensure!((0.0..=1.0).contains(&args.head_share), "--head-share must be in [0, 1]");
    anyhow::ensure!(
        args.window_hours.is_finite() && args.window_hours >= 0.0,
        "--window-hours must be a non-negative number"
    );
    anyhow::ensure!(args.publish.is_none() || args.token.is_some(), "--publish needs --token or MARQUEE_ADMIN_TOKEN");
    Ok(FairnessParams {
        resamples: args.resamples,
        min_users: args.min_users,
        head_share: args.head_share,
        ..FairnessParams::default()
    })
}

fn build(args: &FairnessArgs, params: &FairnessParams) -> Result<FairnessReport> {
    let hybrid = read_params(&args.model)?;
    let (data, split) = super::evaluate::load_and_split(&args.data, args.test.as_deref(), hybrid.seed, args.json)?;
    let fitted = fit_hybrid(&data, &split.train, &hybrid)?;
    let served = Hybrid { fitted: &fitted, rerank: *fitted.recommender.rerank_params(), label: "hybrid" };
    let evaluation = EvaluationParams { list_length: args.k, max_users: args.max_users, seed: hybrid.seed };
    let lists = evaluated_lists(&served, &data, &split, &evaluation);
    anyhow::ensure!(!lists.users.is_empty(), "no held-out user has a relevant interaction to score");

    let offline = offline_groups(&data, &lists, params, args.seed);
    let log = read_log(args)?;
    let online = match &log {
        Some(rows) => online_groups(&data, rows, args, params),
        None => BTreeMap::new(),
    };
    let mut labels: Vec<String> = offline.keys().chain(online.keys()).cloned().collect();
    labels.sort_by_key(|label| group_order(label));
    labels.dedup();
    let groups: Vec<GroupRow> = labels
        .into_iter()
        .map(|group| GroupRow { offline: offline.get(&group).cloned(), online: online.get(&group).cloned(), group })
        .collect();
    let ratios = ratios(&groups, params.min_users, log.is_some());
    let items = items(&data, &lists, log.as_deref(), args, params)?;
    let summary = summary(&ratios, &items)?;
    Ok(FairnessReport {
        settings: Settings {
            offline: format!(
                "the parameters of {} fitted on the split's {} training interactions, scored on {} held-out users",
                args.model.join(PARAMS_FILE).display(),
                split.train.len(),
                lists.users.len()
            ),
            online: log.as_ref().map(|rows| {
                let source = args
                    .db
                    .as_ref()
                    .map_or_else(|| args.from.clone().unwrap_or_default(), |db| db.display().to_string());
                format!("{} log rows after seq {} from {source}", rows.len(), args.since)
            }),
            k: args.k,
            resamples: params.resamples,
            confidence: params.confidence,
            seed: args.seed,
            min_users: params.min_users,
        },
        groups,
        ratios,
        items,
        summary,
    })
}

fn read_params(model: &Path) -> Result<HybridParams> {
    let path = model.join(PARAMS_FILE);
    let bytes = std::fs::read(&path)
        .with_context(|| format!("reading {} (--model takes the folder `marquee train` wrote)", path.display()))?;
    serde_json::from_slice(&bytes).with_context(|| format!("{} is not a marquee train params file", path.display()))
}

/// A user's gender × age group, in the labels of `report online --group-by`.
fn group_label(user: Option<&User>) -> String {
    format!("{} {}", group_of(user, Demographic::Gender), group_of(user, Demographic::Age))
}

/// Groups sort by gender (M, F, O, unknown), then age bucket (youngest first, unknown last).
fn group_order(label: &str) -> (usize, usize, String) {
    let (gender, age) = label.split_once(' ').unwrap_or((label, "?"));
    let gender_rank = ["M", "F", "O"].iter().position(|g| *g == gender).unwrap_or(3);
    let age_rank = AGE_BUCKETS.iter().position(|a| *a == age).unwrap_or(AGE_BUCKETS.len());
    (gender_rank, age_rank, label.to_owned())
}

fn offline_groups(
    data: &Interactions,
    lists: &EvaluatedLists,
    params: &FairnessParams,
    seed: u64,
) -> BTreeMap<String, OfflineGroup> {
    let mut by_group: BTreeMap<String, (Vec<UnitTotals>, Vec<UnitTotals>)> = BTreeMap::new();
    for user in &lists.users {
        let (ndcg, hits) = by_group.entry(group_label(data.users.get(user.user))).or_default();
        ndcg.push(UnitTotals { numerator: user.scores.ndcg, denominator: 1.0 });
        hits.push(UnitTotals { numerator: f64::from(u8::from(user.scores.hit)), denominator: 1.0 });
    }
    by_group
        .into_iter()
        .filter_map(|(group, (ndcg, hits))| {
            let ndcg_estimate = bootstrap_ratio(&ndcg, params.resamples, params.confidence, seed)?;
            let hit_estimate = bootstrap_ratio(&hits, params.resamples, params.confidence, seed)?;
            Some((group, OfflineGroup { users: ndcg.len(), ndcg: ndcg_estimate, hit_rate: hit_estimate }))
        })
        .collect()
}

fn read_log(args: &FairnessArgs) -> Result<Option<Vec<marquee_data::EdgeRow>>> {
    if args.db.is_none() && args.from.is_none() {
        return Ok(None);
    }
    let source = LogSourceArgs {
        db: args.db.clone(),
        from: args.from.clone(),
        token: args.token.clone(),
        page: 1000,
        since: args.since,
    };
    Ok(Some(source.read_rows()?))
}

/// Whether an impression counts: every list, or only those of `--variant`.
fn counted(row: &marquee_data::EdgeRow, variant: Option<&str>) -> bool {
    row.kind == EdgeKind::Impression && variant.is_none_or(|wanted| row.variant.as_deref() == Some(wanted))
}

/// Per group, the online click rate and MRR with the user as the unit: the impressions are
/// relabelled by the user's group (as `report online --group-by` does with variants), so the
/// per-user outcomes come out per group.
fn online_groups(
    data: &Interactions,
    rows: &[marquee_data::EdgeRow],
    args: &FairnessArgs,
    params: &FairnessParams,
) -> BTreeMap<String, OnlineGroup> {
    // Attribution reads every row, whatever its variant: an id-less event belongs to the
    // user's latest list, counted or not.
    let attributions = attribute(rows, (args.window_hours * 3_600_000.0).round() as i64);
    let users: HashMap<u64, &User> = data.users.iter().map(|user| (user.user_id, user)).collect();
    const NOT_COUNTED: &str = "";
    let mut relabelled = rows.to_vec();
    for row in relabelled.iter_mut().filter(|row| row.kind == EdgeKind::Impression) {
        row.variant = Some(if counted(row, args.variant.as_deref()) {
            group_label(users.get(&row.user_id).copied())
        } else {
            NOT_COUNTED.to_owned()
        });
    }
    let click_totals = |users: &[UserOutcome]| -> Vec<UnitTotals> {
        users.iter().map(|u| UnitTotals { numerator: u.clicked_lists as f64, denominator: u.lists as f64 }).collect()
    };
    let rank_totals = |users: &[UserOutcome]| -> Vec<UnitTotals> {
        users.iter().map(|u| UnitTotals { numerator: u.reciprocal_rank_sum, denominator: u.lists as f64 }).collect()
    };
    user_outcomes(&relabelled, &attributions)
        .into_iter()
        .filter(|(group, _)| group != NOT_COUNTED)
        .filter_map(|(group, users)| {
            let click_rate = bootstrap_ratio(&click_totals(&users), params.resamples, params.confidence, args.seed)?;
            let mrr = bootstrap_ratio(&rank_totals(&users), params.resamples, params.confidence, args.seed)?;
            let lists = users.iter().map(|u| u.lists).sum();
            Some((group, OnlineGroup { users: users.len(), lists, click_rate, mrr }))
        })
        .collect()
}

fn ratios(groups: &[GroupRow], min_users: usize, online: bool) -> Vec<MetricRatio> {
    type Pick = fn(&GroupRow) -> Option<(usize, f64)>;
    let mut metrics: Vec<(&str, Pick)> = vec![
        ("ndcg", |g| g.offline.as_ref().map(|o| (o.users, o.ndcg.value))),
        ("hit_rate", |g| g.offline.as_ref().map(|o| (o.users, o.hit_rate.value))),
    ];
    if online {
        metrics.push(("click_rate", |g| g.online.as_ref().map(|o| (o.users, o.click_rate.value))));
        metrics.push(("mrr", |g| g.online.as_ref().map(|o| (o.users, o.mrr.value))));
    }
    metrics
        .into_iter()
        .map(|(metric, pick)| {
            let values: Vec<GroupValue> = groups
                .iter()
                .filter_map(|g| {
                    pick(g).map(|(users, value)| GroupValue {
                        group: g.group.clone(),
                        value,
                        eligible: users >= min_users,
                    })
                })
                .collect();
            MetricRatio {
                metric: metric.to_owned(),
                ratio: worst_to_best(&values),
                too_small: values.iter().filter(|v| !v.eligible).map(|v| v.group.clone()).collect(),
            }
        })
        .collect()
}

fn items(
    data: &Interactions,
    lists: &EvaluatedLists,
    log: Option<&[marquee_data::EdgeRow]>,
    args: &FairnessArgs,
    params: &FairnessParams,
) -> Result<ItemReport> {
    let catalog = data.movies.len();
    let (training, relevant) = (&lists.training_counts, &lists.relevant_counts);
    let mut offline_slots = vec![0u64; catalog];
    for item in lists.users.iter().flat_map(|user| &user.list) {
        if let Some(count) = offline_slots.get_mut(*item as usize) {
            *count += 1;
        }
    }
    let offline = exposure(training, &offline_slots, lists.users.len() as u64, 0, params)?;
    let offline_deciles = decile_shares(training, &offline_slots, relevant).context("item counts differ in length")?;
    let mut online = None;
    let mut online_deciles = None;
    if let Some(rows) = log {
        let index: HashMap<&str, usize> =
            data.movies.iter().enumerate().map(|(item, movie)| (movie.movie_id.as_str(), item)).collect();
        let mut slots = vec![0u64; catalog];
        let (mut served, mut outside) = (0u64, 0u64);
        for row in rows.iter().filter(|row| counted(row, args.variant.as_deref())) {
            served += 1;
            for movie in listed(row) {
                match index.get(movie).and_then(|&item| slots.get_mut(item)) {
                    Some(count) => *count += 1,
                    None => outside += 1,
                }
            }
        }
        if served > 0 {
            online = Some(exposure(training, &slots, served, outside, params)?);
            online_deciles = Some(decile_shares(training, &slots, relevant).context("item counts differ in length")?);
        }
    }
    let head_items = long_tail_items(training, params.head_share)
        .context("the head share must be in [0, 1]")?
        .iter()
        .filter(|&&long| !long)
        .count();
    let deciles = offline_deciles
        .iter()
        .enumerate()
        .map(|(index, decile)| DecileRow {
            decile: decile.decile,
            items: decile.items,
            training_interactions: decile.training_interactions,
            relevant_share: decile.relevant_share,
            offline_exposure_share: decile.exposure_share,
            online_exposure_share: online_deciles
                .as_ref()
                .and_then(|d: &Vec<DecileShare>| d.get(index))
                .map(|d| d.exposure_share),
        })
        .collect();
    Ok(ItemReport {
        catalog,
        long_tail: format!(
            "the items outside the {head_items} most popular ({:.0}% of the catalog) by training interactions",
            params.head_share * 100.0
        ),
        head_items,
        deciles,
        offline,
        online,
    })
}

/// One source's exposure from its slots per catalog item.
fn exposure(
    training: &[u64],
    slots: &[u64],
    lists: u64,
    outside_catalog: u64,
    params: &FairnessParams,
) -> Result<Exposure> {
    Ok(Exposure {
        lists,
        slots: slots.iter().sum::<u64>() + outside_catalog,
        outside_catalog,
        long_tail_share: long_tail_share(training, slots, params.head_share).unwrap_or(0.0),
        gini: gini(slots),
    })
}

/// What the edge keeps for /metrics: each ratio, and the item figures of the served lists
/// (online when the log has any, else offline).
fn summary(ratios: &[MetricRatio], items: &ItemReport) -> Result<FairnessSummary> {
    let exposure = items.online.as_ref().unwrap_or(&items.offline);
    let summary = FairnessSummary {
        generated_ms: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |elapsed| i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX)),
        ratios: ratios
            .iter()
            .filter_map(|metric| {
                let ratio = metric.ratio.as_ref()?;
                Some(FairnessRatio {
                    metric: metric.metric.clone(),
                    worst_group: metric_label(&ratio.worst_group),
                    best_group: metric_label(&ratio.best_group),
                    ratio: ratio.ratio,
                    flagged: ratio.flagged,
                })
            })
            .collect(),
        exposure_gini: exposure.gini,
        long_tail_share: exposure.long_tail_share,
    };
    summary.validate().context("the fairness summary")?;
    Ok(summary)
}

/// A group label as a Prometheus label value may carry it (the summary's rule): `<18`
/// becomes `under-18` and an unknown `?` becomes `unknown`.
fn metric_label(group: &str) -> String {
    group
        .split(' ')
        .map(|part| match part {
            "?" => "unknown".to_owned(),
            other => other.replace('<', "under-"),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn print_report(report: &FairnessReport) {
    let settings = &report.settings;
    let percent = settings.confidence * 100.0;
    println!("offline: {}", settings.offline);
    match &settings.online {
        Some(online) => println!("online: {online}"),
        None => println!("online: no log given (--db or --from)"),
    }
    println!(
        "{percent:.0}% bootstrap intervals from {} resamples of each group's users (seed {})",
        settings.resamples, settings.seed
    );
    let interval = |e: &Estimate| format!("{:.4} [{:.4}, {:.4}]", e.value, e.low, e.high);
    let k = settings.k;
    println!(
        "{:<10} {:>6} {:>26} {:>26} {:>6} {:>7} {:>26} {:>26}",
        "group",
        "users",
        format!("NDCG@{k}"),
        format!("hit rate@{k}"),
        "users",
        "lists",
        "click rate",
        "MRR"
    );
    for group in &report.groups {
        let (offline_users, ndcg, hits) = group.offline.as_ref().map_or(("-".into(), "-".into(), "-".into()), |o| {
            (o.users.to_string(), interval(&o.ndcg), interval(&o.hit_rate))
        });
        let (online_users, lists, clicks, mrr) =
            group.online.as_ref().map_or(("-".into(), "-".into(), "-".into(), "-".into()), |o| {
                (o.users.to_string(), o.lists.to_string(), interval(&o.click_rate), interval(&o.mrr))
            });
        println!(
            "{:<10} {:>6} {:>26} {:>26} {:>6} {:>7} {:>26} {:>26}",
            group.group, offline_users, ndcg, hits, online_users, lists, clicks, mrr
        );
    }
    println!("worst-to-best ratios (four-fifths rule: flagged below {FOUR_FIFTHS}):");
    for metric in &report.ratios {
        match &metric.ratio {
            Some(r) => println!(
                "  {:<10} {:.3}  {} {:.4} / {} {:.4} over {} groups{}",
                metric.metric,
                r.ratio,
                r.worst_group,
                r.worst,
                r.best_group,
                r.best,
                r.groups,
                if r.flagged { "  FLAGGED" } else { "" }
            ),
            None => println!("  {:<10} -  (fewer than two eligible groups, or all at 0)", metric.metric),
        }
        if !metric.too_small.is_empty() {
            println!("  {:<10} left out, fewer than {} users: {}", "", settings.min_users, metric.too_small.join(", "));
        }
    }
    let items = &report.items;
    println!("items: {} in the catalog; the long tail is {}", items.catalog, items.long_tail);
    println!(
        "{:<8} {:>7} {:>7} {:>7} {:>16} {:>15}",
        "lists", "count", "slots", "gini", "long-tail share", "outside catalog"
    );
    for (source, exposure) in [("offline", Some(&items.offline)), ("online", items.online.as_ref())] {
        if let Some(e) = exposure {
            println!(
                "{:<8} {:>7} {:>7} {:>7.4} {:>16.4} {:>15}",
                source, e.lists, e.slots, e.gini, e.long_tail_share, e.outside_catalog
            );
        }
    }
    println!(
        "{:<7} {:>6} {:>9} {:>9} {:>17} {:>16}",
        "decile", "items", "training", "relevant", "offline exposure", "online exposure"
    );
    for d in &items.deciles {
        println!(
            "{:<7} {:>6} {:>9} {:>9.4} {:>17.4} {:>16}",
            d.decile,
            d.items,
            d.training_interactions,
            d.relevant_share,
            d.offline_exposure_share,
            d.online_exposure_share.map_or_else(|| "-".to_owned(), |share| format!("{share:.4}"))
        );
    }
}

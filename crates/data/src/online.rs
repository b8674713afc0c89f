//! Online metrics from the edge's log: which served list each event belongs to
//! ([`attribute`]) and what the lists earned per A/B variant and time window
//! ([`online_metrics`]).
//!
//! Attribution rules, as implemented:
//! - An event (`watch`, `rate` or `click`) whose `ref` names an impression in the rows
//!   belongs to that impression, whatever the times say (the id ties them; clocks may not).
//!   A `ref` naming no impression in the rows leaves the event unattributed
//!   ([`Unattributed::UnknownImpression`], e.g. a click on a list never served); it does
//!   not fall back to the rule below.
//! - An event without a `ref` belongs to the same user's latest impression served at or
//!   before the event (`impression.time_ms <= event.time_ms`) and at most `window_ms`
//!   before it (`event.time_ms - impression.time_ms <= window_ms`: an event exactly at the
//!   window's end still counts) whose list contains the event's movie. An impression served
//!   after the event never gets it. Two impressions at the same millisecond: the later row
//!   wins. Otherwise the event is unattributed: [`Unattributed::NoListInWindow`] when the
//!   user was served nothing in the window, [`Unattributed::MovieNotListed`] when nothing
//!   served in the window listed the movie.
//!
//! One `watch` row is one minute watched (the stream's `GET /data/m/<movie>/<minute>.mpg`,
//! which the edge logs with the minute in `value`), so watch minutes are counted as rows.
//!
//! This module does no I/O and builds for wasm32.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::edge_log::{EdgeKind, EdgeRow};

mod per_user;
mod readout;
pub use crate::fairness::gini;
use per_user::ListCredit;
pub use per_user::{interleaving_credits, user_outcomes, UserOutcome};
pub use readout::{experiment_readout, ArmSummary, ChallengerReadout, ExperimentReadout, MetricComparison};

/// The default attribution window: 24 hours.
pub const DEFAULT_WINDOW_MS: i64 = 24 * 3_600_000;

/// Why an event belongs to no list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unattributed {
    /// Its `ref` names no impression in the log.
    UnknownImpression,
    /// It has no `ref` and the user was served no list within the window before it.
    NoListInWindow,
    /// It has no `ref` and no list served to the user within the window contains its movie.
    MovieNotListed,
}

/// The list an event was attributed to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attributed {
    /// The impression's index in the rows.
    pub impression: usize,
    /// The event's movie's 1-based rank in the list (`None` when a `ref`'d list lacks it).
    pub rank: Option<usize>,
    /// Whether the event's `ref` named the impression.
    pub by_ref: bool,
}

/// What [`attribute`] decided for one event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attribution {
    /// The event's index in the rows.
    pub event: usize,
    /// The list it belongs to, or why none.
    pub outcome: Result<Attributed, Unattributed>,
}

/// The movie ids of an impression, in rank order.
pub fn listed(row: &EdgeRow) -> Vec<&str> {
    row.value.as_deref().unwrap_or("").split(',').map(str::trim).filter(|id| !id.is_empty()).collect()
}

fn rank_of(list: &[&str], movie: Option<&str>) -> Option<usize> {
    let movie = movie?;
    list.iter().position(|id| *id == movie).map(|index| index + 1)
}

/// Attributes every watch, rate and click event in `rows` to a served list (see the module
/// documentation for the rules). Returns one [`Attribution`] per event, in row order.
pub fn attribute(rows: &[EdgeRow], window_ms: i64) -> Vec<Attribution> {
    let mut by_id: HashMap<&str, usize> = HashMap::new();
    let mut by_user: HashMap<u64, Vec<usize>> = HashMap::new();
    let mut lists: HashMap<usize, Vec<&str>> = HashMap::new();
    for (index, row) in rows.iter().enumerate() {
        if row.kind == EdgeKind::Impression {
            by_id.insert(row.id.as_str(), index);
            by_user.entry(row.user_id).or_default().push(index);
            lists.insert(index, listed(row));
        }
    }
    // Each user's impressions by time, then row order (so the later of a tie is last).
    for impressions in by_user.values_mut() {
        impressions.sort_by_key(|&index| (rows[index].time_ms, index));
    }
    let mut attributions = Vec::new();
    for (event, row) in rows.iter().enumerate() {
        if row.kind == EdgeKind::Impression {
            continue;
        }
        let movie = row.movie_id.as_deref();
        let outcome = match row.reference.as_deref() {
            Some(reference) => match by_id.get(reference) {
                Some(&impression) => {
                    Ok(Attributed { impression, rank: rank_of(&lists[&impression], movie), by_ref: true })
                }
                None => Err(Unattributed::UnknownImpression),
            },
            None => {
                let impressions = by_user.get(&row.user_id).map(Vec::as_slice).unwrap_or(&[]);
                // Impressions at or before the event, latest first, within the window.
                let end = impressions.partition_point(|&index| rows[index].time_ms <= row.time_ms);
                let mut in_window = impressions[..end]
                    .iter()
                    .rev()
                    .take_while(|&&index| row.time_ms.saturating_sub(rows[index].time_ms) <= window_ms)
                    .peekable();
                if in_window.peek().is_none() {
                    Err(Unattributed::NoListInWindow)
                } else {
                    in_window
                        .find_map(|&impression| {
                            rank_of(&lists[&impression], movie).map(|rank| Attributed {
                                impression,
                                rank: Some(rank),
                                by_ref: false,
                            })
                        })
                        .ok_or(Unattributed::MovieNotListed)
                }
            }
        };
        attributions.push(Attribution { event, outcome });
    }
    attributions
}

/// How [`online_metrics`] groups lists: always by variant, and optionally by time window
/// (aligned to the Unix epoch, by impression time).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupBy {
    /// One group per variant.
    #[default]
    Variant,
    /// Per variant and 12-minute round.
    Round,
    /// Per variant and hour.
    Hour,
    /// Per variant and day.
    Day,
}

impl GroupBy {
    /// The window's width in milliseconds (`None` for [`GroupBy::Variant`]).
    pub const fn width_ms(self) -> Option<i64> {
        match self {
            GroupBy::Variant => None,
            GroupBy::Round => Some(12 * 60_000),
            GroupBy::Hour => Some(3_600_000),
            GroupBy::Day => Some(86_400_000),
        }
    }
}

/// How [`online_metrics`] groups and what it measures coverage against.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Grouping {
    pub by: GroupBy,
    /// The catalog's size, the coverage denominator (default: the distinct movies in any
    /// list in the rows, across all variants).
    pub catalog_size: Option<usize>,
}

/// Events by what became of them.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AttributionCounts {
    pub events: u64,
    pub attributed: u64,
    /// Of those attributed, how many through their `ref`.
    pub by_ref: u64,
    pub unknown_impression: u64,
    pub no_list_in_window: u64,
    pub movie_not_listed: u64,
}

/// The online figures of one group of lists.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GroupMetrics {
    /// The variant the lists were served under (`?` when the log has none).
    pub variant: String,
    /// The time window's start, ms since the epoch (`None` when grouping by variant only).
    pub window_start_ms: Option<i64>,
    /// Lists served (impressions).
    pub lists: u64,
    /// Lists with at least one attributed watch or click.
    pub clicked_lists: u64,
    /// `clicked_lists / lists`.
    pub click_rate: f64,
    /// Mean over lists of 1/rank of the first (by event time) attributed watched or clicked
    /// movie that the list contains; 0 for lists without one.
    pub mrr: f64,
    /// Attributed watch rows (one per minute).
    pub watch_minutes: u64,
    /// `watch_minutes / lists`.
    pub watch_minutes_per_impression: f64,
    /// Attributed rate events with a readable value.
    pub ratings: u64,
    /// Their mean (`None` without ratings).
    pub mean_rating: Option<f64>,
    /// Distinct movies in the group's lists.
    pub movies_shown: u64,
    /// `movies_shown` over the catalog (see [`Grouping::catalog_size`]).
    pub coverage: f64,
    /// Gini of the movies' list appearances over the catalog (movies never shown count as 0).
    pub exposure_gini: f64,
    /// Pearson correlation, over the movies shown in any list, between a movie's list
    /// appearances in the group and the distinct users with an attributed watch of it from
    /// the group's lists (`None` when either side is constant).
    pub recommended_watched_correlation: Option<f64>,
}

/// Everything `marquee report online` prints.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OnlineReport {
    pub window_ms: i64,
    pub by: GroupBy,
    pub rows: u64,
    pub impressions: u64,
    /// The coverage denominator.
    pub catalog: u64,
    pub attribution: AttributionCounts,
    /// The feedback-loop figure over the whole log: per movie shown in any list, its list
    /// appearances against the distinct users with any watch of it, attributed or not.
    pub recommended_watched_correlation: Option<f64>,
    pub groups: Vec<GroupMetrics>,
}

/// Pearson's correlation of two equally long series (`None` if shorter than 2 or constant).
pub fn pearson(xs: &[f64], ys: &[f64]) -> Option<f64> {
    let n = xs.len().min(ys.len());
    if n < 2 {
        return None;
    }
    let (mean_x, mean_y) = (xs[..n].iter().sum::<f64>() / n as f64, ys[..n].iter().sum::<f64>() / n as f64);
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (x, y) in xs[..n].iter().zip(&ys[..n]) {
        let (dx, dy) = (x - mean_x, y - mean_y);
        sxy += dx * dy;
        sxx += dx * dx;
        syy += dy * dy;
    }
    if sxx == 0.0 || syy == 0.0 {
        return None;
    }
    Some(sxy / (sxx * syy).sqrt())
}

/// Per-group accumulators.
#[derive(Default)]
struct Group<'a> {
    lists: Vec<usize>,
    appearances: HashMap<&'a str, u64>,
    watchers: HashMap<&'a str, HashSet<u64>>,
    watch_minutes: u64,
    ratings: Vec<f64>,
}

/// The online figures per group (see [`GroupMetrics`]), from `rows` and their
/// `attributions` (as [`attribute`] returns them).
pub fn online_metrics(
    rows: &[EdgeRow],
    attributions: &[Attribution],
    grouping: Grouping,
    window_ms: i64,
) -> OnlineReport {
    let width = grouping.by.width_ms();
    let key_of = |row: &EdgeRow| {
        let variant = row.variant.clone().unwrap_or_else(|| "?".to_owned());
        (width.map(|width| row.time_ms.div_euclid(width) * width), variant)
    };
    let mut groups: BTreeMap<(Option<i64>, String), Group> = BTreeMap::new();
    let mut universe: BTreeMap<&str, u64> = BTreeMap::new();
    let mut impressions = 0;
    for (index, row) in rows.iter().enumerate() {
        if row.kind != EdgeKind::Impression {
            continue;
        }
        impressions += 1;
        let group = groups.entry(key_of(row)).or_default();
        group.lists.push(index);
        for movie in listed(row) {
            *group.appearances.entry(movie).or_default() += 1;
            *universe.entry(movie).or_default() += 1;
        }
    }
    let ListCredit { clicked, first, .. } = ListCredit::new(rows, attributions);
    let mut counts = AttributionCounts::default();
    for attribution in attributions {
        counts.events += 1;
        let attributed = match attribution.outcome {
            Ok(attributed) => attributed,
            Err(reason) => {
                match reason {
                    Unattributed::UnknownImpression => counts.unknown_impression += 1,
                    Unattributed::NoListInWindow => counts.no_list_in_window += 1,
                    Unattributed::MovieNotListed => counts.movie_not_listed += 1,
                }
                continue;
            }
        };
        counts.attributed += 1;
        counts.by_ref += u64::from(attributed.by_ref);
        let (event, impression) = (&rows[attribution.event], &rows[attributed.impression]);
        let Some(group) = groups.get_mut(&key_of(impression)) else { continue };
        match event.kind {
            EdgeKind::Watch | EdgeKind::Click => {
                if event.kind == EdgeKind::Watch {
                    group.watch_minutes += 1;
                    if let Some(movie) = event.movie_id.as_deref() {
                        group.watchers.entry(movie).or_default().insert(event.user_id);
                    }
                }
            }
            EdgeKind::Rate => {
                if let Some(stars) = event.value.as_deref().and_then(|value| value.trim().parse::<f64>().ok()) {
                    group.ratings.push(stars);
                }
            }
            EdgeKind::Impression => {}
        }
    }
    let catalog = grouping.catalog_size.unwrap_or(universe.len()).max(universe.len());
    let padding = catalog - universe.len();
    let results = groups
        .into_iter()
        .map(|((window_start_ms, variant), group)| {
            let lists = group.lists.len() as u64;
            let per_list = |value: f64| if lists > 0 { value / lists as f64 } else { 0.0 };
            let clicked_lists = group.lists.iter().filter(|index| clicked.contains(index)).count() as u64;
            let reciprocal: f64 =
                group.lists.iter().filter_map(|index| first.get(index)).map(|&(_, _, rank)| 1.0 / rank as f64).sum();
            let mut exposure: Vec<u64> =
                universe.keys().map(|movie| group.appearances.get(movie).copied().unwrap_or(0)).collect();
            let watched: Vec<f64> =
                universe.keys().map(|movie| group.watchers.get(movie).map_or(0, HashSet::len) as f64).collect();
            let shown: Vec<f64> = exposure.iter().map(|&count| count as f64).collect();
            let recommended_watched_correlation = pearson(&shown, &watched);
            exposure.extend(std::iter::repeat_n(0, padding));
            GroupMetrics {
                variant,
                window_start_ms,
                lists,
                clicked_lists,
                click_rate: per_list(clicked_lists as f64),
                mrr: per_list(reciprocal),
                watch_minutes: group.watch_minutes,
                watch_minutes_per_impression: per_list(group.watch_minutes as f64),
                ratings: group.ratings.len() as u64,
                mean_rating: (!group.ratings.is_empty())
                    .then(|| group.ratings.iter().sum::<f64>() / group.ratings.len() as f64),
                movies_shown: group.appearances.len() as u64,
                coverage: if catalog > 0 { group.appearances.len() as f64 / catalog as f64 } else { 0.0 },
                exposure_gini: gini(&exposure),
                recommended_watched_correlation,
            }
        })
        .collect();
    // The whole log's feedback-loop figure: every watch row counts, attributed or not.
    let mut watchers: HashMap<&str, HashSet<u64>> = HashMap::new();
    for row in rows.iter().filter(|row| row.kind == EdgeKind::Watch) {
        if let Some(movie) = row.movie_id.as_deref() {
            watchers.entry(movie).or_default().insert(row.user_id);
        }
    }
    let shown: Vec<f64> = universe.values().map(|&count| count as f64).collect();
    let watched: Vec<f64> = universe.keys().map(|movie| watchers.get(movie).map_or(0, HashSet::len) as f64).collect();
    OnlineReport {
        window_ms,
        by: grouping.by,
        rows: rows.len() as u64,
        impressions,
        catalog: catalog as u64,
        attribution: counts,
        recommended_watched_correlation: pearson(&shown, &watched),
        groups: results,
    }
}

#[cfg(test)]
mod tests;

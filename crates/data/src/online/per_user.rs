//! What each user's lists earned, per A/B variant: the unit of analysis of an experiment's
//! readout. One user's lists are correlated (the same tastes read them all), so statistics
//! treat the user, not the list, as the independent draw.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::{Deserialize, Serialize};

use super::Attribution;
use crate::edge_log::{EdgeKind, EdgeRow};
use crate::interleave::{credit, Team};

/// One user's lists under one variant.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct UserOutcome {
    pub user_id: u64,
    /// Lists served to the user under the variant.
    pub lists: u64,
    /// Of those, lists with at least one attributed watch or click.
    pub clicked_lists: u64,
    /// The sum over the user's lists of 1 / the rank of the first (by time) attributed watch
    /// or click; 0 for a list without one. Divided by `lists` it is the user's MRR.
    pub reciprocal_rank_sum: f64,
}

/// What each served list (by row index) earned from its attributed watches and clicks: one
/// pass over the attributions that the per-group metrics, the per-user outcomes and the
/// interleaving credits all read.
pub(super) struct ListCredit {
    /// Lists with at least one attributed watch or click (a `ref`'d click on a movie the list
    /// lacks counts, though it has no rank).
    pub clicked: HashSet<usize>,
    /// The first attributed watch or click by time: (time, event index, rank).
    pub first: HashMap<usize, (i64, usize, usize)>,
    /// Every distinct rank watched or clicked (several minute lines of a movie are one choice).
    pub ranks: HashMap<usize, Vec<usize>>,
}

impl ListCredit {
    pub(super) fn new(rows: &[EdgeRow], attributions: &[Attribution]) -> ListCredit {
        let mut credit = ListCredit { clicked: HashSet::new(), first: HashMap::new(), ranks: HashMap::new() };
        for attribution in attributions {
            let Ok(attributed) = attribution.outcome else { continue };
            let event = &rows[attribution.event];
            if !matches!(event.kind, EdgeKind::Watch | EdgeKind::Click) {
                continue;
            }
            credit.clicked.insert(attributed.impression);
            if let Some(rank) = attributed.rank {
                let candidate = (event.time_ms, attribution.event, rank);
                let slot = credit.first.entry(attributed.impression).or_insert(candidate);
                if candidate < *slot {
                    *slot = candidate;
                }
                let ranks = credit.ranks.entry(attributed.impression).or_default();
                if !ranks.contains(&rank) {
                    ranks.push(rank);
                }
            }
        }
        credit
    }
}

/// Each interleaved list's credit ([`crate::interleave::credit`]): the user and the team
/// whose movies the user watched or clicked more of, from the impressions that carry teams
/// and the events attributed to them.
pub fn interleaving_credits(rows: &[EdgeRow], attributions: &[Attribution]) -> Vec<(u64, Option<Team>)> {
    let credited = ListCredit::new(rows, attributions);
    rows.iter()
        .enumerate()
        .filter(|(_, row)| row.kind == EdgeKind::Impression)
        .filter_map(|(index, row)| {
            let teams = row.teams.as_deref()?;
            Some((row.user_id, credit(teams, credited.ranks.get(&index).map_or(&[], Vec::as_slice))))
        })
        .collect()
}

/// Each variant's users (by user id), from the rows and their attributions (see
/// [`super::attribute`]). Impressions with no variant count under `?`.
pub fn user_outcomes(rows: &[EdgeRow], attributions: &[Attribution]) -> BTreeMap<String, Vec<UserOutcome>> {
    let ListCredit { clicked, first, .. } = ListCredit::new(rows, attributions);
    let mut by_variant: BTreeMap<String, BTreeMap<u64, UserOutcome>> = BTreeMap::new();
    for (index, row) in rows.iter().enumerate() {
        if row.kind != EdgeKind::Impression {
            continue;
        }
        let variant = row.variant.clone().unwrap_or_else(|| "?".to_owned());
        let outcome = by_variant
            .entry(variant)
            .or_default()
            .entry(row.user_id)
            .or_insert(UserOutcome { user_id: row.user_id, ..UserOutcome::default() });
        outcome.lists += 1;
        outcome.clicked_lists += u64::from(clicked.contains(&index));
        outcome.reciprocal_rank_sum += first.get(&index).map_or(0.0, |&(_, _, rank)| 1.0 / rank as f64);
    }
    by_variant.into_iter().map(|(variant, users)| (variant, users.into_values().collect())).collect()
}

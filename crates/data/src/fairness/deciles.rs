//! Items in popularity deciles, and what share of exposure and of relevant interactions each
//! decile gets.

use serde::{Deserialize, Serialize};

/// How many popularity bands [`decile_shares`] makes.
pub const DECILES: usize = 10;

/// Each item's popularity rank (0 is the most popular) by its training interaction count,
/// highest first; ties go to the item earlier in the catalog, so the ranking is total and
/// reproducible.
pub fn popularity_ranks(training: &[u64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..training.len()).collect();
    order.sort_by_key(|&item| (std::cmp::Reverse(training[item]), item));
    let mut ranks = vec![0; training.len()];
    for (rank, &item) in order.iter().enumerate() {
        ranks[item] = rank;
    }
    ranks
}

/// One popularity decile.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct DecileShare {
    /// 1 is the most popular tenth of the catalog, 10 the least popular.
    pub decile: usize,
    /// Catalog items in the decile.
    pub items: usize,
    /// Their training interactions.
    pub training_interactions: u64,
    /// The decile's share of all list slots (exposure), in `[0, 1]`; the deciles' shares
    /// sum to 1 when anything was shown.
    pub exposure_share: f64,
    /// The decile's share of the relevant held-out interactions, in `[0, 1]`.
    pub relevant_share: f64,
}

/// The catalog in [`DECILES`] equal bands by popularity rank (item of rank `r` of `n` is in
/// decile `⌊10·r/n⌋ + 1`; see [`popularity_ranks`]), with each band's share of `exposure`
/// (list slots per item) against its share of `relevant` (relevant held-out interactions
/// per item). A decile over-exposed against its relevant share is recommended more than
/// users' own choices would justify.
///
/// All three slices are indexed by item; `None` when their lengths differ. Shares are 0 when
/// their total is 0; a catalog of fewer than ten items leaves some deciles empty.
pub fn decile_shares(training: &[u64], exposure: &[u64], relevant: &[u64]) -> Option<Vec<DecileShare>> {
    let n = training.len();
    if exposure.len() != n || relevant.len() != n {
        return None;
    }
    let mut deciles: Vec<DecileShare> = (1..=DECILES)
        .map(|decile| DecileShare {
            decile,
            items: 0,
            training_interactions: 0,
            exposure_share: 0.0,
            relevant_share: 0.0,
        })
        .collect();
    let total = |counts: &[u64]| counts.iter().map(|&count| count as f64).sum::<f64>();
    let (exposure_total, relevant_total) = (total(exposure), total(relevant));
    for (item, rank) in popularity_ranks(training).into_iter().enumerate() {
        let Some(decile) = deciles.get_mut(rank * DECILES / n) else { continue };
        decile.items += 1;
        decile.training_interactions = decile.training_interactions.saturating_add(training[item]);
        if exposure_total > 0.0 {
            decile.exposure_share += exposure[item] as f64 / exposure_total;
        }
        if relevant_total > 0.0 {
            decile.relevant_share += relevant[item] as f64 / relevant_total;
        }
    }
    Some(deciles)
}

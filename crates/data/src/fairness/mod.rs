//! Fairness figures, the pure part of `marquee fairness`: how evenly a recommender serves
//! its users' demographic groups, and how evenly it exposes the catalog's items.
//!
//! Each step has its own file:
//!
//! - [`bootstrap_ratio`]: a metric's value in one group (a ratio of per-user sums, so NDCG
//!   per user and clicked lists per list are both covered) and its percentile bootstrap
//!   interval, resampling the group's users.
//! - [`worst_to_best`]: the lowest group value over the highest, flagged below the
//!   four-fifths rule's 0.8 ([`FOUR_FIFTHS`]); groups too small to trust are left out.
//! - [`popularity_ranks`] and [`decile_shares`]: items in ten equal popularity deciles by
//!   their training interactions, and each decile's share of exposure against its share of
//!   relevant interactions.
//! - [`long_tail_share`]: the share of list slots that went to the long tail, the items
//!   outside the most popular [`DEFAULT_HEAD_SHARE`] of the catalog.
//! - [`gini`]: the Gini coefficient of exposure over every catalog item.
//!
//! Plain arithmetic: no I/O, no threads, builds for wasm32, and degenerate input (no users,
//! mismatched lengths, non-finite values) gives `None` or an empty result, never a panic.

mod bootstrap;
mod deciles;
mod gini;
mod long_tail;
mod ratio;

#[cfg(test)]
mod tests;

pub use bootstrap::{bootstrap_ratio, Estimate};
pub use deciles::{decile_shares, popularity_ranks, DecileShare, DECILES};
pub use gini::gini;
pub use long_tail::{long_tail_items, long_tail_share, DEFAULT_HEAD_SHARE};
pub use ratio::{worst_to_best, GroupRatio, GroupValue, FOUR_FIFTHS};

/// The knobs of a fairness report.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FairnessParams {
    /// Bootstrap resamples per group and metric (default 1,000).
    pub resamples: usize,
    /// The bootstrap interval's two-sided confidence (default 0.95).
    pub confidence: f64,
    /// The fewest users a group needs to count in a worst-to-best ratio (default 30, the usual
    /// rule of thumb for a mean's interval to be trusted); smaller groups are still shown.
    pub min_users: usize,
    /// The head's share of the catalog, by popularity; the rest is the long tail (default
    /// [`DEFAULT_HEAD_SHARE`], 0.2).
    pub head_share: f64,
}

impl Default for FairnessParams {
    fn default() -> Self {
        FairnessParams { resamples: 1_000, confidence: 0.95, min_users: 30, head_share: DEFAULT_HEAD_SHARE }
    }
}

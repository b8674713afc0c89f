//! The long tail: the items outside the most popular part of the catalog.

use super::deciles::popularity_ranks;

/// The share of the catalog, by popularity rank, that is the head: the most popular 20% of
/// items by training interactions. Everything else is the long tail (the Pareto split the
/// long-tail literature uses).
pub const DEFAULT_HEAD_SHARE: f64 = 0.2;

/// Which items are in the long tail: those whose popularity rank ([`popularity_ranks`]) is
/// not among the `⌈head_share · n⌉` most popular. `None` unless `head_share` is in `[0, 1]`.
pub fn long_tail_items(training: &[u64], head_share: f64) -> Option<Vec<bool>> {
    if !(0.0..=1.0).contains(&head_share) {
        return None;
    }
    let head = (head_share * training.len() as f64).ceil() as usize;
    Some(popularity_ranks(training).into_iter().map(|rank| rank >= head).collect())
}

/// The share of list slots (`exposure`, slots per item) that went to long-tail items (see
/// [`long_tail_items`]), in `[0, 1]`. `None` when the lengths differ, `head_share` is
/// outside `[0, 1]`, or nothing was shown.
pub fn long_tail_share(training: &[u64], exposure: &[u64], head_share: f64) -> Option<f64> {
    if exposure.len() != training.len() {
        return None;
    }
    let tail = long_tail_items(training, head_share)?;
    let total: f64 = exposure.iter().map(|&count| count as f64).sum();
    let in_tail: f64 = exposure.iter().zip(&tail).filter(|(_, &long)| long).map(|(&count, _)| count as f64).sum();
    (total > 0.0).then(|| in_tail / total)
}

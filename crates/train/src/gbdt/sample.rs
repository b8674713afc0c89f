//! Row and column subsampling, driven by a small self-contained PRNG so that results depend
//! only on the seed (not on a dependency's version or the thread count).

pub(crate) use marquee_model::random::SplitMix64;

/// Marks exactly `keep` of `n` rows, drawn without replacement (Knuth's selection sampling:
/// one pass, no index array).
pub(crate) fn sample_rows(rng: &mut SplitMix64, n: usize, keep: usize, mask: &mut Vec<bool>) {
    mask.clear();
    let mut needed = keep.min(n);
    for index in 0..n {
        let take = rng.below(n - index) < needed;
        needed -= usize::from(take);
        mask.push(take);
    }
}

/// `keep` distinct indices out of `0..n`, sorted (partial Fisher-Yates).
pub(crate) fn sample_columns(rng: &mut SplitMix64, n: usize, keep: usize) -> Vec<usize> {
    let mut all: Vec<usize> = (0..n).collect();
    let keep = keep.min(n);
    for index in 0..keep {
        let pick = index + rng.below(n - index);
        all.swap(index, pick);
    }
    all.truncate(keep);
    all.sort_unstable();
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_are_exact_and_deterministic() {
        let mut mask = Vec::new();
        sample_rows(&mut SplitMix64::new(7), 1000, 300, &mut mask);
        assert_eq!(mask.iter().filter(|&&m| m).count(), 300);
        let mut again = Vec::new();
        sample_rows(&mut SplitMix64::new(7), 1000, 300, &mut again);
        assert_eq!(mask, again);
        let columns = sample_columns(&mut SplitMix64::new(3), 10, 4);
        assert_eq!(columns.len(), 4);
        assert!(columns.windows(2).all(|w| w[0] < w[1]) && columns[3] < 10);
        assert_eq!(columns, sample_columns(&mut SplitMix64::new(3), 10, 4));
    }
}

//! Row and column subsampling, driven by a small self-contained PRNG so that results depend
//! only on the seed (not on a dependency's version or the thread count).

/// SplitMix64: tiny, fast and statistically fine for sampling.
#[derive(Clone, Debug)]
pub(crate) struct SplitMix64(u64);

impl SplitMix64 {
    pub(crate) fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A uniform integer in `0..bound` (multiply-shift; bias is negligible for our sizes).
    pub(crate) fn below(&mut self, bound: usize) -> usize {
        ((u128::from(self.next_u64()) * bound as u128) >> 64) as usize
    }
}

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

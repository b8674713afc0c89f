//! Marquee's one random-number generator, SplitMix64: tiny, fast, statistically fine for
//! sampling, initialisation and exploration, and self-contained, so every result depends
//! only on its seed (not on a dependency's version, the target or the thread count).
//!
//! The trainer, the reranker's exploration slots, the benchmarks' synthetic sets and the
//! tests all draw from it.

/// SplitMix64's increment: the golden ratio in 64-bit fixed point.
const GAMMA: u64 = 0x9e37_79b9_7f4a_7c15;

/// SplitMix64's output function (Stafford's "Mix13"): a well-mixed 64-bit value from any
/// input. Used alone, it hashes a key to a uniform word.
pub const fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A uniform number in `[0, 1)` from a seed and a key, with no generator state: the same
/// (seed, key) always gives the same draw, whatever order keys are visited in.
pub fn unit_hash(seed: u64, key: u64) -> f64 {
    to_unit(mix64(seed ^ key.wrapping_mul(GAMMA)))
}

/// The top 53 bits of `word` as a number in `[0, 1)`.
fn to_unit(word: u64) -> f64 {
    (word >> 11) as f64 / (1u64 << 53) as f64
}

/// The SplitMix64 generator.
#[derive(Clone, Debug)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator whose sequence is fixed by `seed`.
    pub const fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(GAMMA);
        mix64(self.0)
    }

    /// A uniform integer in `0..bound` (multiply-shift; the bias is negligible for the
    /// sizes Marquee draws from). `below(0)` is 0.
    pub fn below(&mut self, bound: usize) -> usize {
        ((u128::from(self.next_u64()) * bound as u128) >> 64) as usize
    }

    /// A uniform number in `[0, 1)` with 53 random bits.
    pub fn unit(&mut self) -> f64 {
        to_unit(self.next_u64())
    }

    /// A uniform number in `(0, 1]` with 53 random bits (safe to take the logarithm of).
    pub fn unit_open_closed(&mut self) -> f64 {
        ((self.next_u64() >> 11) + 1) as f64 / (1u64 << 53) as f64
    }

    /// Fills `out` with draws from N(0, std²), using both values of each Box–Muller pair
    /// (half the logarithms and cosines of calling [`SplitMix64::normal`] per value).
    pub fn fill_normal(&mut self, out: &mut [f32], std: f32) {
        for pair in out.chunks_mut(2) {
            let radius = (-2.0 * self.unit_open_closed().ln()).sqrt() * f64::from(std);
            let (sin, cos) = (std::f64::consts::TAU * self.unit_open_closed()).sin_cos();
            let mut values = pair.iter_mut();
            if let Some(first) = values.next() {
                *first = (radius * cos) as f32;
            }
            if let Some(second) = values.next() {
                *second = (radius * sin) as f32;
            }
        }
    }

    /// A draw from N(0, std²) by Box–Muller (one value of the pair; simple and reproducible).
    pub fn normal(&mut self, std: f32) -> f32 {
        (self.standard_normal() * f64::from(std)) as f32
    }

    /// A draw from N(0, 1) in double precision.
    pub fn standard_normal(&mut self) -> f64 {
        let radius = (-2.0 * self.unit_open_closed().ln()).sqrt();
        let angle = std::f64::consts::TAU * self.unit_open_closed();
        radius * angle.cos()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_reference_sequence() {
        // The first outputs of Vigna's splitmix64.c seeded with 0.
        let mut random = SplitMix64::new(0);
        assert_eq!(random.next_u64(), 0xe220_a839_7b1d_cdaf);
        assert_eq!(random.next_u64(), 0x6e78_9e6a_a1b9_65f4);
        assert_eq!(random.next_u64(), 0x06c4_5d18_8009_454f);
    }

    #[test]
    fn draws_stay_in_range() {
        let mut random = SplitMix64::new(7);
        for _ in 0..10_000 {
            assert!((0.0..1.0).contains(&random.unit()));
            let open = random.unit_open_closed();
            assert!(open > 0.0 && open <= 1.0);
            assert!(random.below(13) < 13);
        }
        assert_eq!(random.below(0), 0);
        assert!((0.0..1.0).contains(&unit_hash(1, 2)));
        assert_eq!(unit_hash(1, 2), unit_hash(1, 2));
    }
}

//! The trainer's one random-number generator: small and self-contained, so that every
//! result depends only on its seed (not on a dependency's version or the thread count).

/// SplitMix64: tiny, fast and statistically fine for sampling and initialisation.
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

    /// A uniform number in `(0, 1]` with 53 random bits.
    pub(crate) fn unit_open_closed(&mut self) -> f64 {
        ((self.next_u64() >> 11) + 1) as f64 / (1u64 << 53) as f64
    }

    /// Fills `out` with draws from N(0, std²), using both values of each Box–Muller pair
    /// (half the logarithms and cosines of calling [`SplitMix64::normal`] per value).
    pub(crate) fn fill_normal(&mut self, out: &mut [f32], std: f32) {
        for pair in out.chunks_mut(2) {
            let radius = (-2.0 * self.unit_open_closed().ln()).sqrt() * f64::from(std);
            let (sin, cos) = (std::f64::consts::TAU * self.unit_open_closed()).sin_cos();
            pair[0] = (radius * cos) as f32;
            if let Some(second) = pair.get_mut(1) {
                *second = (radius * sin) as f32;
            }
        }
    }

    /// A draw from N(0, std²) by Box–Muller (one of the pair; simple and reproducible).
    pub(crate) fn normal(&mut self, std: f32) -> f32 {
        let radius = (-2.0 * self.unit_open_closed().ln()).sqrt();
        let angle = std::f64::consts::TAU * self.unit_open_closed();
        (radius * angle.cos() * f64::from(std)) as f32
    }
}

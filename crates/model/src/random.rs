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

    /// Fills `out` with draws from N(0, std²) by the ziggurat method ([`Ziggurat`]): about
    /// one 64-bit word and one comparison per value, where Box–Muller takes a logarithm, a
    /// square root and a sine or cosine. Factor matrices start from it (a quarter of a
    /// million values for MovieLens 100K at 100 factors: 5 ms by Box–Muller).
    pub fn fill_normal(&mut self, out: &mut [f32], std: f32) {
        Ziggurat::new().fill(self, out, std);
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

/// The ziggurat of the standard normal density (Marsaglia and Tsang, 2000, in Doornik's
/// 2005 form): 128 strips of equal area under `exp(−x²/2)`, the bottom one with the tail.
/// A draw picks a strip and a point across it from one 64-bit word and returns at once
/// when the point lies inside the part of the strip wholly under the curve (98.8% of
/// draws); otherwise it tests the point against the curve (the wedge) or samples the tail.
pub struct Ziggurat {
    /// The strips' right edges: `edge[0]` is the bottom strip's width (its area over its
    /// height), `edge[1]` is where the tail starts, decreasing to `edge[STRIPS] = 0`.
    edge: [f64; ZIGGURAT_STRIPS + 1],
    /// `edge[i + 1] / edge[i]`: the fraction of strip `i` wholly under the curve.
    inner: [f64; ZIGGURAT_STRIPS],
}

/// The ziggurat's strips; a power of two, so a strip is drawn from the word's low bits.
const ZIGGURAT_STRIPS: usize = 128;
/// Where the 128-strip ziggurat's tail starts.
const ZIGGURAT_TAIL: f64 = 3.442_619_855_899;
/// The area of each of the 128 strips under `exp(−x²/2)`.
const ZIGGURAT_AREA: f64 = 9.912_563_035_262_17e-3;

impl Ziggurat {
    /// Builds the strips (128 logarithms and exponentials: microseconds).
    pub fn new() -> Self {
        let mut edge = [0.0; ZIGGURAT_STRIPS + 1];
        let mut density = (-0.5 * ZIGGURAT_TAIL * ZIGGURAT_TAIL).exp();
        edge[0] = ZIGGURAT_AREA / density;
        edge[1] = ZIGGURAT_TAIL;
        let mut previous = ZIGGURAT_TAIL;
        for slot in edge.iter_mut().take(ZIGGURAT_STRIPS).skip(2) {
            // The strip below spans the heights density(previous) to density(this edge) over
            // a width of `previous`, with the same area as every strip.
            *slot = (-2.0 * (ZIGGURAT_AREA / previous + density).ln()).sqrt();
            density = (-0.5 * *slot * *slot).exp();
            previous = *slot;
        }
        let mut inner = [0.0; ZIGGURAT_STRIPS];
        for (slot, pair) in inner.iter_mut().zip(edge.windows(2)) {
            if let [outer, next] = *pair {
                *slot = next / outer;
            }
        }
        Ziggurat { edge, inner }
    }

    /// A draw from N(0, 1).
    #[inline]
    pub fn sample(&self, random: &mut SplitMix64) -> f64 {
        let (strip, across) = Self::point(random);
        let (edge, inner) = self.strip(strip);
        if across.abs() < inner {
            return across * edge;
        }
        self.sample_outside(random, strip, across)
    }

    /// Fills `out` with draws from N(0, std²), in order (as [`SplitMix64::fill_normal`]
    /// does, without building the strips again).
    pub fn fill(&self, random: &mut SplitMix64, out: &mut [f32], std: f32) {
        for value in out {
            *value = (self.sample(random) * f64::from(std)) as f32;
        }
    }

    /// Strip `strip`'s edge and inner fraction. Strips come from 7 bits, so always exist;
    /// the fallback (an empty strip, never accepted at once) only keeps this panic-free.
    #[inline(always)]
    fn strip(&self, strip: usize) -> (f64, f64) {
        (self.edge.get(strip).copied().unwrap_or(0.0), self.inner.get(strip).copied().unwrap_or(0.0))
    }

    /// A strip and a point across it in `[−1, 1)` from one word: the strip from the low 7
    /// bits, the point from the top 53 (disjoint bits).
    #[inline(always)]
    fn point(random: &mut SplitMix64) -> (usize, f64) {
        let word = random.next_u64();
        ((word as usize) & (ZIGGURAT_STRIPS - 1), 2.0 * to_unit(word) - 1.0)
    }

    /// [`Ziggurat::sample`] after a point outside the inner part of its strip: the tail, or
    /// the test against the curve, drawing afresh until a point is accepted. Kept apart so
    /// that the common path is inlined into the caller's loop.
    #[cold]
    #[inline(never)]
    fn sample_outside(&self, random: &mut SplitMix64, mut strip: usize, mut across: f64) -> f64 {
        loop {
            if strip == 0 {
                return self.tail(random, across < 0.0);
            }
            let (edge, _) = self.strip(strip);
            let (next_edge, _) = self.strip(strip + 1);
            let x = across * edge;
            // Heights relative to the curve at x: accept under it.
            let low = (-0.5 * (edge * edge - x * x)).exp();
            let high = (-0.5 * (next_edge * next_edge - x * x)).exp();
            if high + random.unit() * (low - high) < 1.0 {
                return x;
            }
            (strip, across) = Self::point(random);
            let (edge, inner) = self.strip(strip);
            if across.abs() < inner {
                return across * edge;
            }
        }
    }

    /// A draw from the normal tail beyond [`ZIGGURAT_TAIL`] (Marsaglia's method), negated when
    /// `negative`.
    fn tail(&self, random: &mut SplitMix64, negative: bool) -> f64 {
        loop {
            let x = random.unit_open_closed().ln() / ZIGGURAT_TAIL;
            let y = random.unit_open_closed().ln();
            if -2.0 * y >= x * x {
                return if negative { x - ZIGGURAT_TAIL } else { ZIGGURAT_TAIL - x };
            }
        }
    }
}

impl Default for Ziggurat {
    fn default() -> Self {
        Ziggurat::new()
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

    /// The standard normal distribution function, from erf by Abramowitz and Stegun 7.1.26
    /// (absolute error below 1.5e-7).
    fn normal_cdf(x: f64) -> f64 {
        let z = x.abs() / std::f64::consts::SQRT_2;
        let t = 1.0 / (1.0 + 0.327_591_1 * z);
        let poly =
            t * (0.254_829_592 + t * (-0.284_496_736 + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
        let erf = 1.0 - poly * (-z * z).exp();
        0.5 * (1.0 + if x < 0.0 { -erf } else { erf })
    }

    #[test]
    fn the_ziggurat_draws_the_standard_normal_distribution() {
        let ziggurat = Ziggurat::new();
        assert_eq!(ziggurat.edge[ZIGGURAT_STRIPS], 0.0);
        assert!(ziggurat.edge[1..].windows(2).all(|pair| pair[0] > pair[1]), "edges decrease");
        // The recurrence closes: the top strip's area, edge × (1 − density at the edge), is
        // the others' area (the constants are the published ones for 128 strips).
        let top = ziggurat.edge[ZIGGURAT_STRIPS - 1];
        assert!((top * (1.0 - (-0.5 * top * top).exp()) - ZIGGURAT_AREA).abs() < 1e-9);

        let mut random = SplitMix64::new(11);
        let n = 1_000_000;
        let mut draws: Vec<f64> = (0..n).map(|_| ziggurat.sample(&mut random)).collect();
        let mean = draws.iter().sum::<f64>() / n as f64;
        let variance = draws.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
        assert!(mean.abs() < 0.005, "mean {mean}");
        assert!((variance - 1.0).abs() < 0.005, "variance {variance}");
        // Kolmogorov–Smirnov: the 0.1% critical value at a million draws is 0.00195.
        draws.sort_by(f64::total_cmp);
        let distance = draws
            .iter()
            .enumerate()
            .map(|(rank, &x)| {
                let cdf = normal_cdf(x);
                (cdf - rank as f64 / n as f64).abs().max(((rank + 1) as f64 / n as f64 - cdf).abs())
            })
            .fold(0.0, f64::max);
        assert!(distance < 0.00195, "KS distance {distance}");
        // The tail strip and the wedges are reached, in the right proportion: P(|z| > 3.4426)
        // is 5.76e-4, so about 576 of a million (standard deviation 24).
        let beyond = draws.iter().filter(|x| x.abs() > ZIGGURAT_TAIL).count();
        assert!((456..=696).contains(&beyond), "{beyond} draws beyond the tail edge");
        let symmetric = draws.iter().filter(|&&x| x < 0.0).count() as f64 / n as f64;
        assert!((symmetric - 0.5).abs() < 0.002, "negative fraction {symmetric}");
    }

    #[test]
    fn fill_normal_scales_and_is_fixed_by_the_seed() {
        let (mut a, mut b) = (vec![0.0f32; 10_001], vec![0.0f32; 10_001]);
        SplitMix64::new(3).fill_normal(&mut a, 0.1);
        SplitMix64::new(3).fill_normal(&mut b, 0.1);
        assert_eq!(a, b);
        let std = (a.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>() / a.len() as f64).sqrt();
        assert!((std - 0.1).abs() < 0.003, "std {std}");
        SplitMix64::new(4).fill_normal(&mut b, 0.1);
        assert_ne!(a, b);
    }
}

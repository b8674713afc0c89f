//! The sign test for interleaving experiments: in team-draft interleaving each impression
//! credits its click to ranker A or ranker B, and the question is whether one wins more often
//! than a fair coin would.

use serde::Serialize;

use super::distributions::binomial_two_sided_p_value;

/// The result of an exact two-sided sign test.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SignTest {
    /// The exact two-sided binomial p-value of the wins against a fair coin.
    pub p_value: f64,
    /// The preference for B, (wins_b − wins_a)/(wins_a + wins_b), in [−1, 1]: positive when
    /// B won more comparisons, negative when A did, zero on an even split.
    pub preference: f64,
}

/// The exact two-sided sign test of `wins_a` against `wins_b` (`scipy.stats.binomtest(wins_b,
/// wins_a + wins_b, 0.5)`). The caller excludes ties: they carry no information about which
/// ranker is preferred. `None` when there are no wins at all, or more than about 10⁹
/// comparisons (beyond the exact computation's reach).
pub fn sign_test(wins_a: u64, wins_b: u64) -> Option<SignTest> {
    let trials = wins_a.checked_add(wins_b)?;
    let p_value = binomial_two_sided_p_value(wins_b, trials)?;
    let preference = (wins_b as f64 - wins_a as f64) / trials as f64;
    Some(SignTest { p_value, preference })
}

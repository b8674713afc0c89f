//! Split finding: scans each sampled feature's histogram for the split with the largest
//! loss reduction, trying the missing bin on both sides.
//!
//! Gains follow XGBoost: with T(G) = sign(G)·max(|G| − α, 0) and score(G, H) = T(G)²/(H + λ),
//! gain = ½[score(L) + score(R) − score(parent)]; a split needs gain − γ > 0 and both
//! children with hessian ≥ `min_child_weight`. Ties keep the first candidate found (lower
//! feature, lower bin, missing left), so the result is deterministic.

use rayon::prelude::*;

use super::bin_features::{FeatureBins, MISSING_BIN};
use super::build_histograms::{FeatureHistogram, Histogram, Sums};

/// Features with at most this many categories are split one-vs-rest (XGBoost's
/// `max_cat_to_onehot`); more are sorted by G/(H+λ) and split by prefix, as LightGBM does.
const MAX_CATEGORIES_ONE_HOT: u32 = 4;

/// Splits must reduce the loss by more than this (after γ), as in XGBoost (`kRtEps`).
const MIN_GAIN: f64 = 1e-6;

/// The regularisation that split finding and leaf weights share.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SplitParams {
    pub(crate) lambda: f64,
    pub(crate) alpha: f64,
    pub(crate) gamma: f64,
    pub(crate) min_child_weight: f64,
}

impl SplitParams {
    fn threshold_l1(&self, g: f64) -> f64 {
        g.signum() * (g.abs() - self.alpha).max(0.0)
    }

    /// The loss reduction a leaf with these sums brings, times two.
    fn score(&self, sums: Sums) -> f64 {
        let denominator = sums[1] + self.lambda;
        if denominator <= 0.0 {
            return 0.0;
        }
        let g = self.threshold_l1(sums[0]);
        g * g / denominator
    }

    /// The optimal leaf weight −T(G)/(H + λ), 0 when the node has no curvature at all.
    pub(crate) fn leaf_weight(&self, sums: Sums) -> f64 {
        let denominator = sums[1] + self.lambda;
        if denominator <= 0.0 {
            return 0.0;
        }
        -self.threshold_l1(sums[0]) / denominator
    }
}

/// Which bins go left (the missing bin follows `Split::default_left` instead). When a
/// node saw no missing values, missing goes left, XGBoost's choice in that case.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum SplitRule {
    /// Value bins `1..=last_left` go left; 0 sends every value right (a missing-vs-present split).
    Numeric { last_left: u8 },
    /// Bins whose bit is set go left.
    Categorical { left: [u64; 4] },
}

impl SplitRule {
    /// True when a row in `bin` goes left.
    #[inline]
    pub(crate) fn goes_left(&self, bin: u8, default_left: bool) -> bool {
        if bin == MISSING_BIN {
            return default_left;
        }
        match self {
            SplitRule::Numeric { last_left } => bin <= *last_left,
            SplitRule::Categorical { left } => left[usize::from(bin >> 6)] >> (bin & 63) & 1 == 1,
        }
    }
}

/// The best split of a node.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Split {
    pub(crate) feature: usize,
    pub(crate) rule: SplitRule,
    pub(crate) default_left: bool,
    /// The loss reduction, before γ (what feature importance reports).
    pub(crate) gain: f64,
    pub(crate) left: Sums,
    pub(crate) right: Sums,
}

struct Best {
    split: Option<Split>,
    params: SplitParams,
    parent: Sums,
    parent_score: f64,
    /// score(left) + score(right) a candidate must beat: the best so far, or at first what
    /// γ and the minimum gain demand.
    to_beat: f64,
}

impl Best {
    fn new(params: SplitParams, parent: Sums) -> Self {
        let parent_score = params.score(parent);
        // gain − γ > MIN_GAIN with gain = ½(S − parent_score) means S > parent_score + 2(γ + MIN_GAIN).
        let to_beat = parent_score + 2.0 * (params.gamma + MIN_GAIN);
        Best { split: None, params, parent, parent_score, to_beat }
    }

    /// The hot loop of training: compares score sums as cross-multiplied fractions, so a
    /// candidate that loses (almost all of them) costs no division.
    #[inline]
    fn consider(&mut self, feature: usize, rule: impl FnOnce() -> SplitRule, default_left: bool, left: Sums) {
        let right = [self.parent[0] - left[0], self.parent[1] - left[1]];
        let p = &self.params;
        if left[1] < p.min_child_weight || right[1] < p.min_child_weight {
            return;
        }
        let (left_denominator, right_denominator) = (left[1] + p.lambda, right[1] + p.lambda);
        if left_denominator <= 0.0 || right_denominator <= 0.0 {
            return;
        }
        let (g_left, g_right) = (p.threshold_l1(left[0]), p.threshold_l1(right[0]));
        let numerator = g_left * g_left * right_denominator + g_right * g_right * left_denominator;
        let denominator = left_denominator * right_denominator;
        // Strictly better only; NaN compares as unordered and is never taken.
        if numerator.partial_cmp(&(self.to_beat * denominator)) != Some(std::cmp::Ordering::Greater) {
            return;
        }
        let score_sum = numerator / denominator;
        self.to_beat = score_sum;
        let gain = 0.5 * (score_sum - self.parent_score);
        self.split = Some(Split { feature, rule: rule(), default_left, gain, left, right });
    }
}

/// The best split of a node with sums `parent` over the sampled `columns`, if any gains.
///
/// Features are scanned in parallel (on small tables split finding, not histogram
/// building, is most of the work); the winner is the largest gain, ties going to the
/// lower feature, exactly what a sequential scan would keep.
pub(crate) fn choose_best_split(
    histogram: &Histogram,
    parent: Sums,
    features: &[FeatureBins],
    columns: &[usize],
    params: SplitParams,
) -> Option<Split> {
    let scan = |column: usize| {
        let mut best = Best::new(params, parent);
        let bins = &histogram.features[column];
        match &features[column] {
            FeatureBins::Numeric { cuts } => scan_numeric(&mut best, column, bins, cuts.len() + 1),
            FeatureBins::Categorical { categories } => scan_categorical(&mut best, column, bins, *categories),
        }
        best.split
    };
    let better = |a: Option<Split>, b: Option<Split>| match (a, b) {
        (Some(a), Some(b)) => Some(if b.gain > a.gain || (b.gain == a.gain && b.feature < a.feature) { b } else { a }),
        (a, None) => a,
        (None, b) => b,
    };
    if columns.len() < PARALLEL_SCAN_MIN_COLUMNS {
        return columns.iter().map(|&column| scan(column)).fold(None, better);
    }
    columns.par_iter().map(|&column| scan(column)).reduce(|| None, better)
}

/// Below this many features a node's scan is too short to be worth sharing out.
const PARALLEL_SCAN_MIN_COLUMNS: usize = 8;

fn add(a: Sums, b: Sums) -> Sums {
    [a[0] + b[0], a[1] + b[1]]
}

fn is_empty(sums: Sums) -> bool {
    sums == [0.0, 0.0]
}

/// Tries "value bins 1..=b left" for every b, with missing on either side. b = 0 with
/// missing left separates missing from present values; b = all with missing right would
/// be the same split mirrored, so it is skipped.
fn scan_numeric(best: &mut Best, column: usize, bins: &FeatureHistogram, value_bins: usize) {
    let missing = bins[usize::from(MISSING_BIN)];
    let mut left = [0.0, 0.0];
    for (last_left, &bin) in bins.iter().enumerate().take(value_bins) {
        if last_left > 0 {
            if is_empty(bin) {
                // Same partition as the previous threshold.
                continue;
            }
            left = add(left, bin);
        }
        let rule = || SplitRule::Numeric { last_left: last_left as u8 };
        // Missing left first: without missing rows both directions tie and left is kept.
        if last_left > 0 || !is_empty(missing) {
            best.consider(column, rule, true, add(left, missing));
        }
        if last_left > 0 && !is_empty(missing) {
            best.consider(column, rule, false, left);
        }
    }
}

fn set_bit(set: &mut [u64; 4], bin: usize) {
    set[bin >> 6] |= 1 << (bin & 63);
}

fn scan_categorical(best: &mut Best, column: usize, bins: &FeatureHistogram, categories: u32) {
    let missing = bins[usize::from(MISSING_BIN)];
    let present: Vec<usize> = (1..=categories as usize).filter(|&bin| !is_empty(bins[bin])).collect();
    if present.len() < 2 {
        return;
    }
    if categories <= MAX_CATEGORIES_ONE_HOT {
        for &bin in &present {
            let rule = || {
                let mut left = [0; 4];
                set_bit(&mut left, bin);
                SplitRule::Categorical { left }
            };
            best.consider(column, rule, true, add(bins[bin], missing));
            if !is_empty(missing) {
                best.consider(column, rule, false, bins[bin]);
            }
        }
        return;
    }
    // Sorting by the leaf weight makes the best partition a prefix (exact for squared error).
    let lambda = best.params.lambda;
    let mut order = present;
    order.sort_by(|&a, &b| {
        let weight = |bin: usize| bins[bin][0] / (bins[bin][1] + lambda);
        weight(a).total_cmp(&weight(b)).then(a.cmp(&b))
    });
    let mut left = [0.0, 0.0];
    for prefix in 1..order.len() {
        left = add(left, bins[order[prefix - 1]]);
        let rule = || {
            let mut set = [0; 4];
            for &bin in &order[..prefix] {
                set_bit(&mut set, bin);
            }
            SplitRule::Categorical { left: set }
        };
        best.consider(column, rule, true, add(left, missing));
        if !is_empty(missing) {
            best.consider(column, rule, false, left);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PARAMS: SplitParams = SplitParams { lambda: 1.0, alpha: 0.0, gamma: 0.0, min_child_weight: 1.0 };

    fn histogram(bins: &[(usize, Sums)]) -> Histogram {
        let mut feature = [[0.0; 2]; 256];
        for &(bin, sums) in bins {
            feature[bin] = sums;
        }
        Histogram { features: vec![feature] }
    }

    fn total(bins: &[(usize, Sums)]) -> Sums {
        bins.iter().fold([0.0, 0.0], |acc, &(_, s)| add(acc, s))
    }

    #[test]
    fn numeric_split_separates_the_gradient_signs_and_places_missing() {
        let bins = [(0, [5.0, 2.0]), (1, [-4.0, 2.0]), (2, [-3.0, 2.0]), (3, [6.0, 2.0])];
        let features = [FeatureBins::Numeric { cuts: vec![1.0, 2.0] }];
        let split = choose_best_split(&histogram(&bins), total(&bins), &features, &[0], PARAMS).unwrap();
        assert_eq!(split.rule, SplitRule::Numeric { last_left: 2 });
        assert!(!split.default_left, "missing rows have positive gradients like bin 3");
        assert_eq!(split.left, [-7.0, 4.0]);
        let expected = 0.5 * (49.0 / 5.0 + 121.0 / 5.0 - 16.0 / 9.0);
        assert!((split.gain - expected).abs() < 1e-12);
    }

    #[test]
    fn no_missing_values_default_left_and_constraints_hold() {
        let bins = [(1, [-4.0, 2.0]), (2, [4.0, 2.0])];
        let features = [FeatureBins::Numeric { cuts: vec![1.0] }];
        let split = choose_best_split(&histogram(&bins), total(&bins), &features, &[0], PARAMS).unwrap();
        assert!(split.default_left);
        let strict = SplitParams { min_child_weight: 3.0, ..PARAMS };
        assert!(choose_best_split(&histogram(&bins), total(&bins), &features, &[0], strict).is_none());
        let costly = SplitParams { gamma: 100.0, ..PARAMS };
        assert!(choose_best_split(&histogram(&bins), total(&bins), &features, &[0], costly).is_none());
    }

    #[test]
    fn many_categories_are_split_as_a_set() {
        // Categories 1, 3 and 5 (bins 2, 4, 6) pull one way, the rest the other.
        let bins: Vec<(usize, Sums)> =
            (1..=6).map(|bin| (bin, if bin % 2 == 0 { [-3.0, 2.0] } else { [3.0, 2.0] })).collect();
        let features = [FeatureBins::Categorical { categories: 6 }];
        let split = choose_best_split(&histogram(&bins), total(&bins), &features, &[0], PARAMS).unwrap();
        let SplitRule::Categorical { left } = split.rule else { panic!("{split:?}") };
        let set: Vec<u8> = (1..=6).filter(|&bin| split.rule.goes_left(bin, false)).collect();
        assert_eq!(set, vec![2, 4, 6], "{left:?}");
    }

    #[test]
    fn few_categories_are_one_vs_rest() {
        let bins = [(1, [-3.0, 2.0]), (2, [3.0, 2.0]), (3, [2.0, 2.0])];
        let features = [FeatureBins::Categorical { categories: 3 }];
        let split = choose_best_split(&histogram(&bins), total(&bins), &features, &[0], PARAMS).unwrap();
        assert!(split.rule.goes_left(1, false) && !split.rule.goes_left(2, false) && !split.rule.goes_left(3, false));
    }

    #[test]
    fn l1_shrinks_leaf_weights() {
        let l1 = SplitParams { alpha: 1.0, ..PARAMS };
        assert_eq!(l1.leaf_weight([-3.0, 1.0]), 1.0);
        assert_eq!(l1.leaf_weight([0.5, 1.0]), 0.0);
        assert_eq!(PARAMS.leaf_weight([2.0, 3.0]), -0.5);
    }
}

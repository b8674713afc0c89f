//! Growing one regression tree on the gradients of a boosting round.
//!
//! Every node owns a range of the shared row-index array. A leaf that may still split
//! carries its histogram and best split; splitting it partitions its rows, builds the
//! histogram of the smaller child only and derives the larger child's by subtraction from
//! the parent's. Depth-wise growth splits leaves in creation order (level by level);
//! loss-guided growth splits the leaf with the largest gain first, until `max_leaves`.

use std::collections::VecDeque;

use rayon::prelude::*;
use std::ops::Range;

use marquee_model::gbdt::{Node, Tree};

use super::bin_features::{BinnedTable, FeatureBins};
use super::build_histograms::{build_histogram, Histogram, HistogramPool, Sums};
use super::choose_best_split::{choose_best_split, Split, SplitParams, SplitRule};
use super::objective::GradHess;
use super::partition_rows::partition_rows;

/// How trees grow; fixed for a whole training run.
#[derive(Clone, Copy, Debug)]
pub(crate) struct TreeSettings {
    pub(crate) split: SplitParams,
    pub(crate) learning_rate: f64,
    /// 0 means unlimited.
    pub(crate) max_depth: u32,
    /// 0 means depth-wise growth.
    pub(crate) max_leaves: u32,
}

/// A tree together with what the boosting loop needs from its growth.
#[derive(Clone, Debug)]
pub(crate) struct GrownTree {
    pub(crate) tree: Tree,
    /// Each leaf's rows (a range of the row-index array) and value, to update margins
    /// without walking the tree.
    pub(crate) leaves: Vec<(Range<usize>, f32)>,
    /// (feature, gain, cover) of every split, for feature importance.
    pub(crate) splits: Vec<(usize, f64, f64)>,
}

/// A leaf that may still split.
struct Candidate {
    node: usize,
    range: Range<usize>,
    depth: u32,
    sums: Sums,
    histogram: Histogram,
    split: Split,
}

struct Grower<'a> {
    binned: &'a BinnedTable,
    pool: &'a HistogramPool,
    settings: TreeSettings,
    grown: GrownTree,
    candidates: VecDeque<Candidate>,
}

impl Grower<'_> {
    /// Makes `node` a candidate if its plan found a gainful split, else a leaf.
    fn settle(&mut self, node: usize, child: ChildPlan) {
        let ChildPlan { range, depth, sums, histogram, split } = child;
        match (histogram, split) {
            (Some(histogram), Some(split)) => {
                self.candidates.push_back(Candidate { node, range, depth, sums, histogram, split });
            }
            (histogram, _) => {
                if let Some(histogram) = histogram {
                    self.pool.give_back(histogram);
                }
                self.make_leaf(node, range, sums);
            }
        }
    }

    fn make_leaf(&mut self, node: usize, range: Range<usize>, sums: Sums) {
        let value = (self.settings.learning_rate * self.settings.split.leaf_weight(sums)) as f32;
        self.grown.tree.nodes[node] = Node::leaf(value, sums[1] as f32);
        self.grown.leaves.push((range, value));
    }

    fn next_candidate(&mut self) -> Option<Candidate> {
        if self.settings.max_leaves == 0 {
            return self.candidates.pop_front();
        }
        // Largest gain first; ties go to the older node, for determinism.
        let mut best: Option<(usize, f64, usize)> = None;
        for (index, candidate) in self.candidates.iter().enumerate() {
            let gain = candidate.split.gain;
            if best.is_none_or(|(_, best_gain, best_node)| {
                gain > best_gain || (gain == best_gain && candidate.node < best_node)
            }) {
                best = Some((index, gain, candidate.node));
            }
        }
        best.and_then(|(index, _, _)| self.candidates.remove(index))
    }

    /// Writes the split into the parent node and returns the children's node indices.
    fn write_split(&mut self, candidate: &Candidate) -> (usize, usize) {
        let split = &candidate.split;
        let left = self.grown.tree.nodes.len();
        self.grown.tree.nodes.extend([Node::leaf(0.0, 0.0); 2]);
        let (value, categorical) = match (split.rule, &self.binned.features[split.feature]) {
            (SplitRule::Numeric { last_left }, FeatureBins::Numeric { cuts }) => {
                // Bins 1..=last_left are exactly the values below the next bin's first cut.
                // A missing-vs-present split sends every value right: no finite value is
                // below f32::MIN (the model refuses infinite thresholds; only -inf differs).
                let threshold = match last_left {
                    0 => f32::MIN,
                    last => cuts.get(usize::from(last) - 1).copied().unwrap_or(f32::INFINITY),
                };
                (threshold, false)
            }
            (rule, _) => {
                let codes: Vec<u32> =
                    (1..=255u8).filter(|&bin| rule.goes_left(bin, false)).map(|bin| u32::from(bin) - 1).collect();
                self.grown.tree.category_sets.push(codes);
                ((self.grown.tree.category_sets.len() - 1) as f32, true)
            }
        };
        self.grown.tree.nodes[candidate.node] = Node {
            feature: split.feature as u32,
            value,
            left: left as u32,
            right: left as u32 + 1,
            default_left: split.default_left,
            categorical,
            cover: candidate.sums[1] as f32,
        };
        self.grown.splits.push((split.feature, split.gain, candidate.sums[1]));
        (left, left + 1)
    }
}

/// One child of a split, worked out away from the tree: its rows, its histogram (when it
/// may split further) and its best split.
struct ChildPlan {
    range: Range<usize>,
    depth: u32,
    sums: Sums,
    histogram: Option<Histogram>,
    split: Option<Split>,
}

/// What growing needs that does not change within a tree.
#[derive(Clone, Copy)]
struct Context<'a> {
    binned: &'a BinnedTable,
    gradients: &'a [GradHess],
    columns: &'a [usize],
    settings: TreeSettings,
    pool: &'a HistogramPool,
}

impl Context<'_> {
    fn may_split(&self, depth: u32, sums: Sums) -> bool {
        let s = &self.settings;
        (s.max_depth == 0 || depth < s.max_depth) && sums[1] >= 2.0 * s.split.min_child_weight
    }

    /// A child's plan: its best split if it may split and one gains.
    fn plan(&self, range: Range<usize>, depth: u32, sums: Sums, histogram: Option<Histogram>) -> ChildPlan {
        let histogram = match histogram {
            Some(histogram) if !self.may_split(depth, sums) => {
                self.pool.give_back(histogram);
                None
            }
            other => other,
        };
        let split = histogram.as_ref().and_then(|histogram| {
            choose_best_split(histogram, sums, &self.binned.features, self.columns, self.settings.split)
        });
        ChildPlan { range, depth, sums, histogram, split }
    }

    /// Splits a candidate's rows (`rows` is exactly its range), builds the smaller child's
    /// histogram, derives the larger one's from the parent's, and plans both children.
    fn split_candidate(&self, candidate: Candidate, rows: &mut [u32]) -> [ChildPlan; 2] {
        let Candidate { range, depth, mut histogram, split, .. } = candidate;
        let mut scratch = Vec::new();
        let n_left = partition_rows(self.binned, &split, rows, &mut scratch);
        let (left_range, right_range) = (range.start..range.start + n_left, range.start + n_left..range.end);
        let depth = depth + 1;
        let (left_may, right_may) = (self.may_split(depth, split.left), self.may_split(depth, split.right));
        let (left_histogram, right_histogram) = if left_may || right_may {
            let left_smaller = left_range.len() <= right_range.len();
            let small_rows = if left_smaller { &rows[..n_left] } else { &rows[n_left..] };
            let small = build_histogram(self.binned, self.gradients, small_rows, self.columns, self.pool);
            let large_may = if left_smaller { right_may } else { left_may };
            let large = if large_may {
                histogram.subtract(&small, self.columns, self.binned);
                Some(histogram)
            } else {
                self.pool.give_back(histogram);
                None
            };
            if left_smaller {
                (Some(small), large)
            } else {
                (large, Some(small))
            }
        } else {
            self.pool.give_back(histogram);
            (None, None)
        };
        [
            self.plan(left_range, depth, split.left, left_histogram),
            self.plan(right_range, depth, split.right, right_histogram),
        ]
    }
}

/// Cuts `rows` into the disjoint mutable slices of `ranges` (sorted, non-overlapping).
fn carve(mut rows: &mut [u32], ranges: impl Iterator<Item = Range<usize>>) -> Vec<&mut [u32]> {
    let mut offset = 0;
    let mut slices = Vec::new();
    for range in ranges {
        let (_, rest) = std::mem::take(&mut rows).split_at_mut(range.start - offset);
        let (slice, rest) = rest.split_at_mut(range.len());
        slices.push(slice);
        rows = rest;
        offset = range.end;
    }
    slices
}

/// The gradient and hessian sums of `rows`, in four interleaved running sums: one running
/// sum would wait on its previous addition at every row, and the root sums every row of the
/// table once per tree.
fn node_sums(gradients: &[GradHess], rows: &[u32]) -> Sums {
    let mut lanes = [[0.0f64; 2]; 4];
    let mut quads = rows.chunks_exact(4);
    for quad in quads.by_ref() {
        for (lane, &row) in lanes.iter_mut().zip(quad) {
            let [g, h] = gradients.get(row as usize).copied().unwrap_or_default();
            lane[0] += f64::from(g);
            lane[1] += f64::from(h);
        }
    }
    for &row in quads.remainder() {
        let [g, h] = gradients.get(row as usize).copied().unwrap_or_default();
        lanes[0][0] += f64::from(g);
        lanes[0][1] += f64::from(h);
    }
    let [a, b, c, d] = lanes;
    [(a[0] + b[0]) + (c[0] + d[0]), (a[1] + b[1]) + (c[1] + d[1])]
}

/// Grows one tree over `rows` (every row index, reordered in place so that each leaf's
/// rows end up contiguous) using only the sampled `columns`.
///
/// Depth-wise growth splits a whole level at once, its nodes in parallel (on small tables
/// most nodes are too small to share out within); nodes are still numbered, and children
/// settled, in the order a one-at-a-time grower would use, so the tree is the same.
pub(crate) fn train_tree(
    binned: &BinnedTable,
    gradients: &[GradHess],
    rows: &mut [u32],
    columns: &[usize],
    settings: TreeSettings,
    pool: &HistogramPool,
) -> GrownTree {
    let context = Context { binned, gradients, columns, settings, pool };
    let tree = Tree { nodes: vec![Node::leaf(0.0, 0.0)], category_sets: Vec::new() };
    let grown = GrownTree { tree, leaves: Vec::new(), splits: Vec::new() };
    let mut grower = Grower { binned, pool, settings, grown, candidates: VecDeque::new() };
    let sums = node_sums(gradients, rows);
    let root_histogram = context.may_split(0, sums).then(|| build_histogram(binned, gradients, rows, columns, pool));
    grower.settle(0, context.plan(0..rows.len(), 0, sums, root_histogram));
    if settings.max_leaves == 0 {
        while !grower.candidates.is_empty() {
            let mut level: Vec<Candidate> = grower.candidates.drain(..).collect();
            level.sort_by_key(|candidate| candidate.range.start);
            let children: Vec<(usize, usize)> = level.iter().map(|candidate| grower.write_split(candidate)).collect();
            let slices = carve(rows, level.iter().map(|candidate| candidate.range.clone()));
            let plans: Vec<[ChildPlan; 2]> = level
                .into_par_iter()
                .zip(slices)
                .map(|(candidate, slice)| context.split_candidate(candidate, slice))
                .collect();
            for ((left_node, right_node), [left, right]) in children.into_iter().zip(plans) {
                grower.settle(left_node, left);
                grower.settle(right_node, right);
            }
        }
        return grower.grown;
    }
    let mut leaves = 1;
    while let Some(candidate) = grower.next_candidate() {
        if leaves >= settings.max_leaves {
            grower.make_leaf(candidate.node, candidate.range, candidate.sums);
            pool.give_back(candidate.histogram);
            continue;
        }
        leaves += 1;
        let (left_node, right_node) = grower.write_split(&candidate);
        let range = candidate.range.clone();
        let [left, right] = context.split_candidate(candidate, &mut rows[range]);
        grower.settle(left_node, left);
        grower.settle(right_node, right);
    }
    grower.grown
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(max_depth: u32, max_leaves: u32) -> TreeSettings {
        TreeSettings {
            split: SplitParams { lambda: 0.0, alpha: 0.0, gamma: 0.0, min_child_weight: 0.0 },
            learning_rate: 1.0,
            max_depth,
            max_leaves,
        }
    }

    /// One numeric feature with values 0..n (bins 1..=n) and squared-error gradients of
    /// the labels `target`.
    fn problem(target: &[f32]) -> (BinnedTable, Vec<GradHess>) {
        let n = target.len();
        let binned = BinnedTable::new(
            (1..=n as u8).collect(),
            1,
            vec![FeatureBins::Numeric { cuts: (1..n).map(|v| v as f32).collect() }],
        );
        (binned, target.iter().map(|&y| [-y, 1.0]).collect())
    }

    fn check_structure(tree: &Tree) {
        let mut parents = vec![0; tree.nodes.len()];
        for (index, node) in tree.nodes.iter().enumerate() {
            if !node.is_leaf() {
                assert!(node.left as usize > index && node.right as usize > index);
                parents[node.left as usize] += 1;
                parents[node.right as usize] += 1;
            }
        }
        assert_eq!(parents[0], 0);
        assert!(parents[1..].iter().all(|&p| p == 1));
    }

    #[test]
    fn node_sums_add_every_listed_row_once() {
        let gradients: Vec<GradHess> = (0..24).map(|i| [i as f32, 1.0 + (i % 3) as f32]).collect();
        for n in 0..=11u32 {
            // Every other row, so that unlisted rows would show if summed.
            let rows: Vec<u32> = (0..n).map(|i| 2 * i + 1).collect();
            let expected = rows.iter().fold([0.0, 0.0], |acc: Sums, &row| {
                let [g, h] = gradients[row as usize];
                [acc[0] + f64::from(g), acc[1] + f64::from(h)]
            });
            assert_eq!(node_sums(&gradients, &rows), expected, "{n} rows");
        }
    }

    #[test]
    fn depth_wise_tree_fits_a_step_and_respects_depth() {
        let target = [1.0, 1.0, 1.0, 5.0, 5.0, 9.0, 9.0, 9.0];
        let (binned, gradients) = problem(&target);
        let mut rows: Vec<u32> = (0..8).collect();
        let grown = train_tree(&binned, &gradients, &mut rows, &[0], settings(2, 0), &HistogramPool::default());
        check_structure(&grown.tree);
        assert_eq!(grown.leaves.len(), 3, "{:?}", grown.tree);
        let mut fitted = [0.0; 8];
        for (range, value) in &grown.leaves {
            for &row in &rows[range.clone()] {
                fitted[row as usize] = *value;
            }
        }
        assert_eq!(fitted, target);
        let root = grown.tree.nodes[0];
        assert!(!root.is_leaf() && root.cover == 8.0);
        let one = train_tree(&binned, &gradients, &mut rows, &[0], settings(1, 0), &HistogramPool::default());
        assert_eq!(one.leaves.len(), 2);
    }

    #[test]
    fn loss_guided_growth_stops_at_max_leaves_and_splits_the_best_leaf() {
        let target = [0.0, 0.0, 0.0, 0.0, 10.0, 10.0, 11.0, 11.0];
        let (binned, gradients) = problem(&target);
        let mut rows: Vec<u32> = (0..8).collect();
        let grown = train_tree(&binned, &gradients, &mut rows, &[0], settings(0, 3), &HistogramPool::default());
        check_structure(&grown.tree);
        assert_eq!(grown.leaves.len(), 3);
        // The second split goes to the right (10 vs 11), the only leaf with any gain.
        let right = grown.tree.nodes[grown.tree.nodes[0].right as usize];
        assert!(!right.is_leaf());
        assert_eq!(right.value, 6.0);
    }
}

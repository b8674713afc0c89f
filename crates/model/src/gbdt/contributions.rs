//! Explaining one prediction: each feature's contribution to the margin, by exact
//! path-dependent TreeSHAP (Lundberg, Erion & Lee, "Consistent Individualized Feature
//! Attribution for Tree Ensembles", Algorithm 2), as XGBoost's `pred_contribs` computes it.
//!
//! A feature's contribution is its Shapley value for the game "the expected margin given
//! the features in S", where a feature outside S is integrated out by following both
//! branches weighted by their training covers. The contributions plus the bias (base score
//! plus each tree's cover-weighted mean leaf) sum to the margin.
//!
//! The arithmetic is in f64 (only basic operations, so the results are the same on every
//! target) and is rounded to f32 at the end.

use std::cell::Cell;

use super::compile::FlatForest;
use super::{Node, Predictor, Tree};
use crate::ModelError;

/// The deepest tree [`Predictor::contributions`] explains. TreeSHAP's scratch grows with
/// the square of the depth and its recursion with the depth; 256 keeps both small (about
/// 1 MB and a few dozen KB of stack) while far exceeding any tree boosting grows in practice.
pub const SHAP_MAX_DEPTH: usize = 256;

/// The feature of the path's root element, which stands for no feature.
const NO_FEATURE: u32 = u32::MAX;

/// One feature on the path from the root to the current node.
#[derive(Clone, Copy, Debug, Default)]
struct PathElement {
    feature: u32,
    /// The fraction of training rows (by cover) that reach here when the feature is unknown.
    zero: f64,
    /// 1 if the row itself reaches here when the feature is known, else 0.
    one: f64,
    /// The permutation weight of subsets of this size.
    weight: f64,
}

impl Predictor {
    /// Writes each feature's contribution to the margin of `row` into `out[..features]`,
    /// and the bias (base score plus every tree's expected value) into `out[features]`.
    ///
    /// `out` must have [`Predictor::num_features`] + 1 entries; the entries sum to
    /// [`Predictor::predict_margin`] up to rounding. Allocates its scratch once per call.
    pub fn contributions(&self, row: &[f32], out: &mut [f32]) -> Result<(), ModelError> {
        self.check_row(row)?;
        let features = self.num_features();
        if out.len() != features + 1 {
            return Err(ModelError::LengthMismatch { what: "contributions", expected: features + 1, got: out.len() });
        }
        let forest = self.forest();
        let mut max_depth = 0;
        for (index, tree) in forest.trees.iter().enumerate() {
            let depth = tree.depth as usize;
            if depth > SHAP_MAX_DEPTH {
                return Err(ModelError::TooDeep { tree: index, depth, limit: SHAP_MAX_DEPTH });
            }
            max_depth = max_depth.max(depth);
        }
        // Each level's path segment is one longer than its parent's: a triangle, plus slack.
        let levels = max_depth + 3;
        let mut shap = Shap {
            forest,
            tree: &Tree::default(),
            root: 0,
            row,
            phi: vec![0.0; features],
            path: vec![PathElement::default(); levels * (levels + 1) / 2],
        };
        let mut bias = f64::from(self.ensemble().base_score);
        let mut means = Vec::new();
        for (tree, flat) in self.ensemble().trees.iter().zip(&forest.trees) {
            bias += expected_value(tree, &mut means);
            shap.tree = tree;
            shap.root = flat.root;
            shap.recurse(0, 0, 0, 1.0, 1.0, NO_FEATURE);
        }
        for (slot, phi) in out.iter_mut().zip(&shap.phi) {
            *slot = *phi as f32;
        }
        if let Some(last) = out.last_mut() {
            *last = bias as f32;
        }
        Ok(())
    }

    /// The `k` features that moved this row's margin most, as `(feature index, contribution)`
    /// sorted by absolute contribution, largest first (ties: lower index first). The bias is
    /// not a feature and is left out.
    pub fn top_contributions(&self, row: &[f32], k: usize) -> Result<Vec<(usize, f32)>, ModelError> {
        let mut all = vec![0.0; self.num_features() + 1];
        self.contributions(row, &mut all)?;
        all.pop();
        let mut ranked: Vec<(usize, f32)> = all.into_iter().enumerate().collect();
        ranked.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()).then(a.0.cmp(&b.0)));
        ranked.truncate(k);
        Ok(ranked)
    }
}

/// The share of the split's rows each child has, by the children's covers. Training writes
/// a split's cover as the sum of its children's, but a loaded model need not (a hand-edited
/// import, a damaged blob): shares taken against the split's own cover could then sum to
/// far more than 1 and blow the explanation up, so they are taken against the children's
/// sum and always add to 1. Children without cover split evenly, so that a degenerate
/// model still gets finite, consistent explanations.
fn fractions(left: &Node, right: &Node) -> (f64, f64) {
    let (left, right) = (f64::from(left.cover), f64::from(right.cover));
    let total = left + right;
    if total > 0.0 && total.is_finite() {
        (left / total, right / total)
    } else {
        (0.5, 0.5)
    }
}

/// The tree's leaf value averaged over its branches, weighted by [`fractions`]; bottom-up,
/// since children come after their parents.
fn expected_value(tree: &Tree, means: &mut Vec<f64>) -> f64 {
    means.clear();
    means.resize(tree.nodes.len(), 0.0);
    for index in (0..tree.nodes.len()).rev() {
        let Some(node) = tree.nodes.get(index) else { continue };
        let mean = if node.is_leaf() {
            f64::from(node.value)
        } else {
            let (Some(left), Some(right)) = (tree.nodes.get(node.left as usize), tree.nodes.get(node.right as usize))
            else {
                continue;
            };
            let (to_left, to_right) = fractions(left, right);
            let mean_of = |child: u32| means.get(child as usize).copied().unwrap_or(0.0);
            to_left * mean_of(node.left) + to_right * mean_of(node.right)
        };
        if let Some(slot) = means.get_mut(index) {
            *slot = mean;
        }
    }
    means.first().copied().unwrap_or(0.0)
}

/// One call's TreeSHAP state.
struct Shap<'a> {
    forest: &'a FlatForest,
    /// The tree being explained, and where its nodes start in the forest.
    tree: &'a Tree,
    root: u32,
    row: &'a [f32],
    phi: Vec<f64>,
    /// Every level's path segment, back to back: a node's segment follows its parent's.
    path: Vec<PathElement>,
}

impl Shap<'_> {
    /// Visits `node` with the path inherited from the segment at `parent_start`, extended by
    /// the split that led here. (Algorithm 2's RECURSE.)
    fn recurse(&mut self, node: u32, parent_start: usize, depth: usize, zero: f64, one: f64, feature: u32) {
        let start = parent_start + depth + 1;
        let Some(tree_node) = self.tree.nodes.get(node as usize) else { return };
        // The scratch is sized for the deepest tree; running out would be a bug, and this
        // keeps the function panic-free regardless (it also keeps `copy_within` in bounds).
        if start + depth + 1 > self.path.len() {
            return;
        }
        self.path.copy_within(parent_start..parent_start + depth, start);
        let Some(path) = self.path.get_mut(start..start + depth + 1) else { return };
        extend(path, zero, one, feature);

        if tree_node.is_leaf() {
            let value = f64::from(tree_node.value);
            for index in 1..=depth {
                let Some(&element) = path.get(index) else { break };
                let weight = unwound_sum(path, index);
                if let Some(phi) = self.phi.get_mut(element.feature as usize) {
                    *phi += weight * (element.one - element.zero) * value;
                }
            }
            return;
        }

        let Some(flat) = self.forest.node(self.root + node) else { return };
        let hot = self.forest.next(flat, self.row) - self.root;
        let cold = if hot == tree_node.left { tree_node.right } else { tree_node.left };
        let (Some(left), Some(right)) =
            (self.tree.nodes.get(tree_node.left as usize), self.tree.nodes.get(tree_node.right as usize))
        else {
            return;
        };
        let (to_left, to_right) = fractions(left, right);
        let (hot_fraction, cold_fraction) =
            if hot == tree_node.left { (to_left, to_right) } else { (to_right, to_left) };

        // A feature split on again is taken off the path and put back with both splits' fractions.
        let mut depth = depth;
        let (mut incoming_zero, mut incoming_one) = (1.0, 1.0);
        if let Some((index, element)) =
            path.iter().enumerate().find(|(_, element)| element.feature == tree_node.feature)
        {
            incoming_zero = element.zero;
            incoming_one = element.one;
            unwind(path, index);
            depth -= 1;
        }

        let split = tree_node.feature;
        for (child, zero, one) in
            [(hot, hot_fraction * incoming_zero, incoming_one), (cold, cold_fraction * incoming_zero, 0.0)]
        {
            // A branch no row reaches, known or unknown, contributes exactly nothing; skipping
            // it also avoids TreeSHAP's division by a zero fraction.
            if zero != 0.0 || one != 0.0 {
                self.recurse(child, start, depth + 1, zero, one, split);
            }
        }
    }
}

// The three steps below take the current path segment as `Shap::recurse` slices it: its
// last element is the newest, and the path's depth is the number before it. They count down
// by index, as the paper does, and read through `get`: every index is at most the depth, so
// no fallback is ever taken, and a malformed segment cannot make them panic. (Counting with
// `enumerate().rev()` instead adds instructions to TreeSHAP's innermost loop.)

/// Sets the path's last element to a new split and updates the subset weights.
/// (Algorithm 2's EXTEND.)
fn extend(path: &mut [PathElement], zero: f64, one: f64, feature: u32) {
    let depth = path.len().saturating_sub(1);
    let weight = if depth == 0 { 1.0 } else { 0.0 };
    let Some(newest) = path.last_mut() else { return };
    *newest = PathElement { feature, zero, one, weight };
    let size = (depth + 1) as f64;
    for i in (0..depth).rev() {
        let Some([element, above]) = path.get_mut(i..i + 2) else { break };
        let carried = element.weight;
        above.weight += one * carried * (i + 1) as f64 / size;
        element.weight = zero * carried * (depth - i) as f64 / size;
    }
}

/// Removes element `index` from the path, undoing its [`extend`]; the last element is left
/// over. (Algorithm 2's UNWIND.)
fn unwind(path: &mut [PathElement], index: usize) {
    let (Some(&PathElement { zero, one, .. }), Some(newest)) = (path.get(index), path.last()) else { return };
    let depth = path.len() - 1;
    let size = (depth + 1) as f64;
    let mut next_one = newest.weight;
    for i in (0..depth).rev() {
        let Some(element) = path.get_mut(i) else { break };
        if one != 0.0 {
            let carried = element.weight;
            element.weight = next_one * size / ((i + 1) as f64 * one);
            next_one = carried - element.weight * zero * (depth - i) as f64 / size;
        } else {
            element.weight = element.weight * size / (zero * (depth - i) as f64);
        }
    }
    // The elements after `index` move down one place; the weights just computed stay put.
    let tail = Cell::from_mut(path.get_mut(index..).unwrap_or_default()).as_slice_of_cells();
    for pair in tail.windows(2) {
        if let [element, next] = pair {
            let (PathElement { weight, .. }, next) = (element.get(), next.get());
            element.set(PathElement { weight, ..next });
        }
    }
}

/// The total weight of the path with element `index` removed, without modifying it.
/// (Algorithm 2's UNWOUND-SUM.)
fn unwound_sum(path: &[PathElement], index: usize) -> f64 {
    let (Some(&PathElement { zero, one, .. }), Some(newest)) = (path.get(index), path.last()) else { return 0.0 };
    let depth = path.len() - 1;
    let size = (depth + 1) as f64;
    let mut next_one = newest.weight;
    let mut total = 0.0;
    for i in (0..depth).rev() {
        let Some(element) = path.get(i) else { break };
        if one != 0.0 {
            let carried = next_one * size / ((i + 1) as f64 * one);
            total += carried;
            next_one = element.weight - carried * zero * (depth - i) as f64 / size;
        } else if zero != 0.0 {
            total += element.weight / zero / ((depth - i) as f64 / size);
        }
    }
    total
}

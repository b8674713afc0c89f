//! The layout the AVX-512 walk ([`super::walk_avx512`]) reads, compiled from an ensemble,
//! and the columns it reads rows from.
//!
//! Every tree is padded to a perfect binary tree of [`LEVELS`] levels in heap order (the
//! root at 1, a node `p`'s children at `2p` and `2p + 1`, slot 0 unused), as the model
//! crate's dense layout pads it: a leaf above the bottom becomes a pass-through split whose
//! two subtrees end in copies of its value. A tree is then three arrays of 64 entries, 768
//! bytes: small enough that the walk holds a whole tree in twelve 16-lane registers and
//! picks each row's node with a register permute instead of a load.
//!
//! Rows are walked sixteen at a time, one per lane. A block of [`BLOCK`] rows is copied
//! into columns first: per group of sixteen rows, column-major, every row written twice,
//! `[NaN → +∞ | NaN → −∞]`, as the model crate's batch walk does. A split reads the first
//! copy when missing values go right and the second when they go left, so `x >= threshold`
//! (thresholds are finite) is the whole rule: the branch [`marquee_model::Predictor`] takes,
//! bit for bit.
//!
//! Ensembles the walk cannot take (a categorical split, a tree deeper than [`LEVELS`], no
//! features or more than [`MAX_FEATURES`], a non-finite threshold) do not compile: the
//! caller keeps the portable path.

use marquee_model::gbdt::{Ensemble, Tree};

/// Levels of splits every tree is padded to: what boosting grows by default here.
pub(super) const LEVELS: u32 = 6;
/// Heap slots of a padded tree: splits at `1..SLOTS`, and as many leaves.
pub(super) const SLOTS: usize = 1 << LEVELS;
/// Rows walked together in one register.
pub(super) const LANES: usize = 16;
/// Registers of rows in flight at once: four independent walks hide a gather's latency.
pub(super) const GROUPS: usize = 4;
/// Schemas wider than this keep the portable walk: a block's columns would take more than
/// 16 MB (and the per-block copy, not the walk, would be the cost).
pub(super) const MAX_FEATURES: usize = 1 << 15;
// Gather indices are i32: the widest block's columns must be addressable by them.
const _: () = assert!(2 * MAX_FEATURES * LANES * GROUPS <= i32::MAX as usize);
/// Rows every tree passes over before the next tree: the block's columns (29 features ×
/// 2 × 64 rows = 15 KB) stay in L1.
pub(super) const BLOCK: usize = LANES * GROUPS;

/// One padded tree.
#[derive(Clone, Debug, PartialEq)]
#[repr(C, align(64))]
pub(super) struct SixteenLaneTree {
    /// Per heap position, the offset of the column a split reads inside a group's columns,
    /// `column × LANES`: the column is the feature, or `features + feature` when missing
    /// values go left. Zero in slot 0 and in pass-through splits.
    pub(super) offsets: [i32; SLOTS],
    /// Per heap position, the split's threshold: rows at or above it go right.
    pub(super) thresholds: [f32; SLOTS],
    /// The leaves at heap positions `SLOTS..2 × SLOTS`, left to right.
    pub(super) leaves: [f32; SLOTS],
}

/// An ensemble compiled for the sixteen-lane walk.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct SixteenLaneForest {
    pub(super) trees: Vec<SixteenLaneTree>,
    pub(super) base_score: f32,
    num_features: usize,
}

impl SixteenLaneForest {
    /// Compiles `ensemble` (validated, as a [`marquee_model::Predictor`] holds it), or
    /// `None` when a tree or the schema is outside what the walk takes.
    pub(super) fn compile(ensemble: &Ensemble) -> Option<SixteenLaneForest> {
        let num_features = ensemble.schema.len();
        if num_features == 0 || num_features > MAX_FEATURES {
            return None;
        }
        let mut forest = SixteenLaneForest {
            trees: Vec::with_capacity(ensemble.trees.len()),
            base_score: ensemble.base_score,
            num_features,
        };
        for tree in &ensemble.trees {
            let mut padded = SixteenLaneTree { offsets: [0; SLOTS], thresholds: [0.0; SLOTS], leaves: [0.0; SLOTS] };
            place(tree, 0, 1, num_features, &mut padded)?;
            forest.trees.push(padded);
        }
        Some(forest)
    }

    /// Values of one group's columns: `2 × features` columns of [`LANES`] rows.
    pub(super) fn group_len(&self) -> usize {
        2 * self.num_features * LANES
    }

    /// Values of a block's columns: [`GROUPS`] groups.
    pub(super) fn columns_len(&self) -> usize {
        self.group_len() * GROUPS
    }

    /// How many values a row has.
    pub(super) fn num_features(&self) -> usize {
        self.num_features
    }

    /// Writes up to [`BLOCK`] row-major `rows` into `columns` (of [`Self::columns_len`]) as
    /// the walk reads them: group `g`, column `c`, lane `l` at `g × group_len + c × LANES + l`,
    /// each row doubled as `[NaN → +∞ | NaN → −∞]`. Lanes past the last row are zero.
    pub(super) fn fill_columns(&self, rows: &[f32], columns: &mut [f32]) {
        let width = self.num_features;
        let group_len = self.group_len();
        if rows.len() < BLOCK * width {
            columns.fill(0.0);
        }
        for (r, row) in rows.chunks_exact(width).take(BLOCK).enumerate() {
            let at = (r / LANES) * group_len + r % LANES;
            for (c, &x) in row.iter().enumerate() {
                let missing = x.is_nan();
                if let Some(slot) = columns.get_mut(at + c * LANES) {
                    *slot = if missing { f32::INFINITY } else { x };
                }
                if let Some(slot) = columns.get_mut(at + (width + c) * LANES) {
                    *slot = if missing { f32::NEG_INFINITY } else { x };
                }
            }
        }
    }

    /// The walk of [`super::walk_avx512`] one lane at a time in portable code: the tests
    /// check the layout with it on any CPU.
    #[cfg(test)]
    pub(super) fn add_trees_one_lane_at_a_time(&self, columns: &[f32], margins: &mut [f32; BLOCK]) {
        for tree in &self.trees {
            for (row, margin) in margins.iter_mut().enumerate() {
                let group = &columns[(row / LANES) * self.group_len()..][..self.group_len()];
                let mut position = 1;
                for _ in 0..LEVELS {
                    let x = group[tree.offsets[position] as usize + row % LANES];
                    position = 2 * position + usize::from(x >= tree.thresholds[position]);
                }
                *margin += tree.leaves[position - SLOTS];
            }
        }
    }
}

/// Writes the subtree of `tree`'s node `node` at heap `position` of `padded`; `None` when
/// it cannot be placed (too deep, categorical, a non-finite threshold or a bad index).
fn place(tree: &Tree, node: u32, position: usize, width: usize, padded: &mut SixteenLaneTree) -> Option<()> {
    let at = tree.nodes.get(node as usize)?;
    if position >= SLOTS {
        // The bottom: only a leaf fits here.
        if !at.is_leaf() {
            return None;
        }
        *padded.leaves.get_mut(position - SLOTS)? = at.value;
        return Some(());
    }
    let (left, right) = if at.is_leaf() {
        // A shallow leaf: both subtrees end in copies of it (the pass-through's zero offset
        // and threshold send rows either way).
        (node, node)
    } else {
        if at.categorical || !at.value.is_finite() || at.feature as usize >= width {
            return None;
        }
        let column = at.feature as usize + if at.default_left { width } else { 0 };
        *padded.offsets.get_mut(position)? = i32::try_from(column * LANES).ok()?;
        *padded.thresholds.get_mut(position)? = at.value;
        (at.left, at.right)
    };
    place(tree, left, 2 * position, width, padded)?;
    place(tree, right, 2 * position + 1, width, padded)
}

//! Compiling a validated ensemble into the flat layouts inference walks.
//!
//! Two layouts, built side by side:
//!
//! * **Sparse** (every tree): all trees' nodes in one `Vec` of 16-byte nodes in their stored
//!   order, with explicit children and flags packed into the feature word. Single rows, deep
//!   lopsided trees and TreeSHAP walk it, with an early exit at the leaf.
//! * **Dense** (trees at most [`DENSE_MAX_DEPTH`] deep, i.e. what boosting usually grows),
//!   for batches: the tree is padded to a perfect binary tree stored breadth first in heap
//!   order (the root at 1), so a node's children are at `2i` and `2i + 1` and need not be
//!   stored, and a step is `2i + went_right`. A node is 8 bytes; a depth-6 tree is 64 node
//!   slots (slot 0 unused) and 64 leaves, 768 bytes. A leaf above the bottom becomes
//!   a pass-through split whose two subtrees both end in copies of its value, so every row
//!   takes exactly `depth` steps: a block of rows walks a tree in lockstep with no
//!   data-dependent exit and no pointer chasing, and the CPU overlaps the rows' loads.
//!
//! Batch inference walks a block of 64 rows through one tree before the next, eight rows at a
//! time in lockstep with their positions in registers. It first copies the block into a
//! buffer laid out for that walk: per group of eight rows, column-major, with each row written
//! twice, `[row with NaN → +∞ | row with NaN → −∞]`. A dense split reads the first copy if
//! missing values go right and the second if they go left; thresholds are finite, so
//! `x < threshold` sends a missing value (and only it) the default way while real infinities
//! compare as themselves: one comparison per step, no NaN test. Node and column indices are
//! masked by power-of-two lengths, which keeps the code free of `unsafe` and of bounds checks
//! in the inner loop.
//!
//! Categorical sets become bitsets (or, for sparse sets of huge codes, sorted lists, so that
//! a hostile blob cannot make us allocate gigabytes). Both layouts decide a row's branch by
//! the same rules, and the tests check batch against single-row results bit for bit.

use super::{Ensemble, FeatureKind, Tree};
use crate::ModelError;

/// Set in a feature word when missing values go left.
const DEFAULT_LEFT: u32 = 1 << 31;
/// Set in a feature word for a categorical split.
const CATEGORICAL: u32 = 1 << 30;
/// Set in a sparse feature word for a leaf.
const IS_LEAF: u32 = 1 << 29;
/// The feature index's bits in a feature word.
const FEATURE_MASK: u32 = IS_LEAF - 1;

/// Trees at most this deep get the dense layout. Padding costs up to 2^depth nodes, so the
/// limit bounds a tree's dense size at 12 KB; deeper trees are usually lopsided, and walking
/// them sparsely with an early exit spares every row their longest branch.
pub(crate) const DENSE_MAX_DEPTH: u32 = 10;

/// Rows batch inference walks through one tree before the next: a block's doubled columns
/// (30 features × 2 × 64 rows = 15 KB) and one tree (768 bytes at depth 6) stay in L1 while
/// every tree passes over them.
pub(crate) const BLOCK: usize = 64;

/// Rows of a block walked in lockstep with their positions in registers. Eight independent
/// walks are enough to hide a step's load latency.
const GROUP: usize = 8;

/// Schemas this wide or wider walk sparsely (so that dense column offsets fit in 29 bits).
const DENSE_MAX_FEATURES: usize = 1 << 22;

/// Sets denser than this (bitset words per set code) are stored as bitsets.
const SPARSE_WORDS_PER_CODE: usize = 4;

/// One node of the sparse layout.
#[derive(Clone, Copy, Debug, PartialEq)]
#[repr(C)]
pub(crate) struct FlatNode {
    /// A numeric split's threshold or a leaf's value (as f32 bits), or a categorical split's
    /// index into [`FlatForest::categorical`].
    payload: u32,
    /// The feature index, with the `DEFAULT_LEFT`, `CATEGORICAL` and `IS_LEAF` flags.
    feature: u32,
    /// Absolute index of the left child (the node itself for a leaf).
    left: u32,
    /// Absolute index of the right child (the node itself for a leaf).
    right: u32,
}

impl FlatNode {
    /// True for a leaf.
    #[inline(always)]
    pub(crate) fn is_leaf(&self) -> bool {
        self.feature & IS_LEAF != 0
    }

    /// A leaf's value.
    #[inline(always)]
    pub(crate) fn value(&self) -> f32 {
        f32::from_bits(self.payload)
    }
}

/// A split of the dense layout (its children are implicit).
#[derive(Clone, Copy, Debug, PartialEq)]
#[repr(C)]
struct DenseNode {
    /// The threshold (as f32 bits), or a categorical split's index into [`FlatForest::categorical`].
    payload: u32,
    /// Numeric: the offset of the group column to compare, `column × GROUP`, where the column
    /// is `feature` or, when missing values go left, `features + feature`. Categorical: the
    /// feature with the `CATEGORICAL` and `DEFAULT_LEFT` flags.
    feature: u32,
}

/// Where a tree lives in the layouts and how deep it goes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct FlatTree {
    /// The root's index in [`FlatForest::nodes`].
    pub(crate) root: u32,
    /// Edges on the longest root-to-leaf path (0 for a lone leaf).
    pub(crate) depth: u32,
    /// Whether the tree has a dense layout: `2^depth` node slots from `dense_nodes` and
    /// `2^depth` leaves from `dense_leaves`.
    pub(crate) dense: bool,
    /// Whether the tree has categorical splits (the dense walk's fast path has none).
    categorical: bool,
    dense_nodes: usize,
    dense_leaves: usize,
}

/// One categorical split's set.
#[derive(Clone, Copy, Debug, PartialEq)]
struct CategoricalSet {
    /// Codes at or beyond this are missing.
    categories: u32,
    /// Where the set starts in `words` (bitset) or `codes` (sorted list).
    start: usize,
    len: usize,
    bitset: bool,
}

/// A compiled ensemble.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct FlatForest {
    pub(crate) nodes: Vec<FlatNode>,
    dense_nodes: Vec<DenseNode>,
    dense_leaves: Vec<f32>,
    pub(crate) trees: Vec<FlatTree>,
    categorical: Vec<CategoricalSet>,
    words: Vec<u64>,
    codes: Vec<u32>,
    pub(crate) base_score: f32,
    pub(crate) num_features: usize,
}

impl FlatForest {
    /// Compiles an ensemble that [`super::validate`] accepted.
    pub(crate) fn compile(ensemble: &Ensemble) -> Result<FlatForest, ModelError> {
        let num_features = ensemble.schema.len();
        if num_features > FEATURE_MASK as usize {
            return Err(ModelError::InvalidModel(format!("{num_features} features are more than inference supports")));
        }
        let total: usize = ensemble.trees.iter().map(|tree| tree.nodes.len()).sum();
        if u32::try_from(total).is_err() {
            return Err(ModelError::InvalidModel(format!("{total} nodes are more than inference supports")));
        }
        let mut forest = FlatForest {
            nodes: Vec::with_capacity(total),
            dense_nodes: Vec::new(),
            dense_leaves: Vec::new(),
            trees: Vec::with_capacity(ensemble.trees.len()),
            categorical: Vec::new(),
            words: Vec::new(),
            codes: Vec::new(),
            base_score: ensemble.base_score,
            num_features,
        };
        let mut depths = Vec::new();
        for (index, tree) in ensemble.trees.iter().enumerate() {
            forest
                .push_tree(ensemble, tree, &mut depths)
                .map_err(|message| ModelError::InvalidModel(format!("tree {index}: {message}")))?;
        }
        Ok(forest)
    }

    fn push_tree(&mut self, ensemble: &Ensemble, tree: &Tree, depths: &mut Vec<u32>) -> Result<(), String> {
        // Fits: the total node count was checked against u32.
        let root = self.nodes.len() as u32;
        depths.clear();
        depths.resize(tree.nodes.len(), 0);
        let mut tree_depth = 0;
        let mut categorical = false;
        for (index, node) in tree.nodes.iter().enumerate() {
            let at = root + index as u32;
            let depth = depths.get(index).copied().unwrap_or(0);
            tree_depth = tree_depth.max(depth);
            if node.is_leaf() {
                let feature = IS_LEAF | DEFAULT_LEFT;
                self.nodes.push(FlatNode { payload: node.value.to_bits(), feature, left: at, right: at });
                continue;
            }
            for child in [node.left, node.right] {
                let slot =
                    depths.get_mut(child as usize).ok_or_else(|| format!("node {index}: child {child} is missing"))?;
                *slot = depth + 1;
            }
            let mut feature = node.feature;
            if node.default_left {
                feature |= DEFAULT_LEFT;
            }
            let payload = if node.categorical {
                categorical = true;
                feature |= CATEGORICAL;
                self.push_categorical(ensemble, tree, node.feature, node.value)
                    .ok_or_else(|| format!("node {index}: bad categorical split"))?
            } else {
                node.value.to_bits()
            };
            self.nodes.push(FlatNode { payload, feature, left: root + node.left, right: root + node.right });
        }
        let mut flat = FlatTree {
            root,
            depth: tree_depth,
            dense: false,
            categorical,
            dense_nodes: self.dense_nodes.len(),
            dense_leaves: self.dense_leaves.len(),
        };
        // Column offsets (`2 × features × GROUP`) must fit below the flag bits.
        if tree_depth <= DENSE_MAX_DEPTH && self.num_features < DENSE_MAX_FEATURES {
            self.push_dense(&mut flat)?;
        }
        self.trees.push(flat);
        Ok(())
    }

    /// Builds the dense layout of the tree just added to the sparse layout.
    fn push_dense(&mut self, tree: &mut FlatTree) -> Result<(), String> {
        let width = self.num_features as u32;
        let slots = 1usize << tree.depth.min(DENSE_MAX_DEPTH);
        // Splits sit at heap positions `1..slots`; slot 0 is never a split: it pads the node
        // count to a power of two so that the walk can mask its index.
        let pass_through = DenseNode { payload: 0f32.to_bits(), feature: 0 };
        self.dense_nodes.resize(tree.dense_nodes + slots, pass_through);
        self.dense_leaves.resize(tree.dense_leaves + slots, 0.0);
        // (heap position, sparse node), depth first: at most `depth + 1` entries deep.
        let mut stack = vec![(1usize, tree.root)];
        while let Some((position, sparse)) = stack.pop() {
            let node = *self.nodes.get(sparse as usize).ok_or("a child is missing")?;
            if position >= slots {
                // The bottom level: the walk stops at leaves and the tree is no deeper, so `node` is a leaf.
                let slot =
                    self.dense_leaves.get_mut(tree.dense_leaves + position - slots).ok_or("leaf out of range")?;
                *slot = node.value();
                continue;
            }
            let (left, right) = if node.is_leaf() {
                // A shallow leaf: both subtrees end in copies of it, whichever way a row goes.
                (sparse, sparse)
            } else {
                let feature = if node.feature & CATEGORICAL != 0 {
                    node.feature
                } else if node.feature & DEFAULT_LEFT != 0 {
                    (width + (node.feature & FEATURE_MASK)) * GROUP as u32
                } else {
                    (node.feature & FEATURE_MASK) * GROUP as u32
                };
                let slot = self.dense_nodes.get_mut(tree.dense_nodes + position).ok_or("split out of range")?;
                *slot = DenseNode { payload: node.payload, feature };
                (node.left, node.right)
            };
            stack.push((2 * position + 1, right));
            stack.push((2 * position, left));
        }
        tree.dense = true;
        Ok(())
    }

    /// Stores a split's category set; returns its index, or `None` if validation was skipped.
    fn push_categorical(&mut self, ensemble: &Ensemble, tree: &Tree, feature: u32, set_index: f32) -> Option<u32> {
        let FeatureKind::Categorical { categories } = ensemble.schema.features.get(feature as usize)?.kind else {
            return None;
        };
        let set = tree.category_sets.get(set_index as usize)?;
        let words = set.last().map_or(0, |&last| last as usize / 64 + 1);
        let bitset = words <= set.len().saturating_mul(SPARSE_WORDS_PER_CODE).saturating_add(4);
        let entry = if bitset {
            let start = self.words.len();
            self.words.resize(start + words, 0);
            for &code in set {
                let word = self.words.get_mut(start + code as usize / 64)?;
                *word |= 1 << (code % 64);
            }
            CategoricalSet { categories, start, len: words, bitset }
        } else {
            let start = self.codes.len();
            self.codes.extend_from_slice(set);
            CategoricalSet { categories, start, len: set.len(), bitset }
        };
        self.categorical.push(entry);
        u32::try_from(self.categorical.len() - 1).ok()
    }

    /// Which child a row goes to from a sparse split.
    #[inline(always)]
    pub(crate) fn next(&self, node: &FlatNode, row: &[f32]) -> u32 {
        // Splits read features inside the row (validated); the fallback is never used.
        let x = row.get((node.feature & FEATURE_MASK) as usize).copied().unwrap_or(f32::NAN);
        let go_left = if node.feature & CATEGORICAL != 0 {
            self.categorical_left(node.payload, node.feature, x)
        } else {
            // `x < threshold` is false for NaN, so a missing value goes left only by default.
            // Non-short-circuit `|` and `&`: a branch on the comparison would mispredict half
            // the time; this compiles to flag arithmetic.
            (x < f32::from_bits(node.payload)) | (x.is_nan() & (node.feature & DEFAULT_LEFT != 0))
        };
        // Select without a branch: which way a row goes is data, and a mispredicted branch
        // per level would cost more than the whole step.
        let take_left = 0u32.wrapping_sub(u32::from(go_left));
        node.right ^ ((node.left ^ node.right) & take_left)
    }

    /// Whether a categorical split sends `x` left. NaN, negative, fractional and too large
    /// codes (including the ±∞ the dense walk puts for NaN) are missing.
    #[inline(never)]
    fn categorical_left(&self, payload: u32, feature: u32, x: f32) -> bool {
        let default_left = feature & DEFAULT_LEFT != 0;
        let Some(set) = self.categorical.get(payload as usize) else {
            return default_left;
        };
        // NaN fails both comparisons. `f64` keeps the bound exact for huge category counts.
        if !(x >= 0.0 && f64::from(x) < f64::from(set.categories)) {
            return default_left;
        }
        let code = x as u32;
        // A fractional code: truncation changed it. (Integers below 2^32 convert back exactly.)
        if code as f32 != x {
            return default_left;
        }
        if set.bitset {
            let word = code as usize / 64;
            word < set.len && self.words.get(set.start + word).is_some_and(|bits| bits & (1 << (code % 64)) != 0)
        } else {
            self.codes.get(set.start..set.start + set.len).is_some_and(|codes| codes.binary_search(&code).is_ok())
        }
    }

    /// The leaf a row reaches in the sparse layout, walking until a leaf.
    #[inline(always)]
    pub(crate) fn sparse_leaf(&self, tree: &FlatTree, row: &[f32]) -> f32 {
        let mut index = tree.root;
        // Every walk ends: children come after their parent. `get` cannot fail on a compiled
        // forest; the fallback only keeps this function panic-free by construction.
        while let Some(node) = self.nodes.get(index as usize) {
            if node.is_leaf() {
                return node.value();
            }
            index = self.next(node, row);
        }
        0.0
    }

    /// The sparse node at `index`, if any.
    #[inline(always)]
    pub(crate) fn node(&self, index: u32) -> Option<&FlatNode> {
        self.nodes.get(index as usize)
    }

    /// Bits of a column offset inside a group: `2 × num_features × GROUP` rounded up to a
    /// power of two, less one.
    fn group_mask(&self) -> usize {
        (2 * self.num_features * GROUP).next_power_of_two() - 1
    }

    /// The stride between groups in a block's column buffer: every column of a group, padded
    /// to a power of two so that the walk can mask its indices.
    fn group_stride(&self) -> usize {
        self.group_mask() + 1
    }

    /// The length of a block's column buffer (see [`Self::fill_columns`]).
    pub(crate) fn columns_len(&self) -> usize {
        self.group_stride() * BLOCK.div_ceil(GROUP)
    }

    /// Writes up to [`BLOCK`] `rows` (row-major, `num_features` wide) into `columns` as the
    /// dense walk reads them: in groups of [`GROUP`] rows, each group column-major
    /// (`group[c * GROUP + k]`), each row doubled as `[NaN → +∞ | NaN → −∞]` so that there are
    /// `2 × num_features` columns. Rows past the end are zero.
    pub(crate) fn fill_columns(&self, rows: &[f32], columns: &mut [f32]) {
        let width = self.num_features;
        columns.fill(0.0);
        if width == 0 {
            return;
        }
        let stride = self.group_stride();
        for (r, row) in rows.chunks_exact(width).take(BLOCK).enumerate() {
            let at = (r / GROUP) * stride + r % GROUP;
            for (c, &x) in row.iter().enumerate() {
                let missing = x.is_nan();
                if let Some(slot) = columns.get_mut(at + c * GROUP) {
                    *slot = if missing { f32::INFINITY } else { x };
                }
                if let Some(slot) = columns.get_mut(at + (width + c) * GROUP) {
                    *slot = if missing { f32::NEG_INFINITY } else { x };
                }
            }
        }
    }

    /// Adds a dense tree's leaf to the margins of a block's rows (in `columns`, filled by
    /// [`Self::fill_columns`]).
    #[inline(always)]
    pub(crate) fn add_dense(&self, tree: &FlatTree, columns: &[f32], margins: &mut [f32]) {
        let slots = 1usize << tree.depth.min(DENSE_MAX_DEPTH);
        let (Some(nodes), Some(leaves)) = (
            self.dense_nodes.get(tree.dense_nodes..tree.dense_nodes + slots),
            self.dense_leaves.get(tree.dense_leaves..tree.dense_leaves + slots),
        ) else {
            return;
        };
        let stride = self.group_stride();
        for (group, margins) in columns.chunks_exact(stride).zip(margins.chunks_mut(GROUP)) {
            let positions = if tree.categorical {
                self.walk::<true>(nodes, tree.depth, group)
            } else {
                self.walk::<false>(nodes, tree.depth, group)
            };
            for (margin, position) in margins.iter_mut().zip(positions) {
                // After `depth` steps, a position is in `slots..2 * slots`: masking it leaves
                // the leaf's index (and no bounds check).
                *margin += leaves.get(position & (slots - 1)).copied().unwrap_or(0.0);
            }
        }
    }

    /// Walks a group's rows through a dense tree together: `depth` rounds, each stepping every
    /// row one level down. The walks are independent, so the CPU overlaps them.
    ///
    /// Positions are heap numbers (the root is 1, a node `p`'s children `2p` and `2p + 1`),
    /// so a step is one comparison and `2p + right`: fewer instructions than `2p + 1 or 2`.
    #[inline(always)]
    fn walk<const CATEGORICAL_SPLITS: bool>(&self, nodes: &[DenseNode], depth: u32, group: &[f32]) -> [usize; GROUP] {
        let mut positions = [1usize; GROUP];
        if nodes.is_empty() || group.is_empty() {
            return positions;
        }
        // `nodes.len()` and `group.len()` are powers of two, so the masks keep every index in
        // bounds: the compiler sees it and drops the checks (and the unused fallbacks) of
        // `get`. They never change a real index: a position stays below `nodes.len()` until
        // the last step, and a column offset plus a row of the group stays below
        // `2 × num_features × GROUP`.
        let node_mask = nodes.len() - 1;
        let group_mask = group.len() - 1;
        let column = |at: usize| group.get(at & group_mask).copied().unwrap_or(f32::NAN);
        for _ in 0..depth {
            for (k, position) in positions.iter_mut().enumerate() {
                let Some(&node) = nodes.get(*position & node_mask) else { continue };
                let right = if CATEGORICAL_SPLITS && node.feature & CATEGORICAL != 0 {
                    let at = (node.feature & FEATURE_MASK) as usize * GROUP + k;
                    !self.categorical_left(node.payload, node.feature, column(at))
                } else {
                    // Columns hold no NaN (missing values are ±∞ there), so `>=` is exactly
                    // "not below the threshold".
                    column(node.feature as usize + k) >= f32::from_bits(node.payload)
                };
                *position = 2 * *position + usize::from(right);
            }
        }
        positions
    }
}

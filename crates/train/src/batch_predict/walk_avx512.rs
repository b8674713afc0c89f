//! The sixteen-lane walk: a block of [`BLOCK`] rows through every tree of a
//! [`SixteenLaneForest`], four registers of sixteen rows in flight. Built for x86_64 only.
//!
//! Per tree, its 64 column offsets, 64 thresholds and 64 leaves are loaded into twelve
//! registers once. A step picks each lane's node with a permute on its heap position
//! (levels 0–3 from the first register, level 4 from the second, level 5 from a
//! two-register permute), gathers the sixteen rows' column values in one instruction,
//! compares them with the thresholds and moves each lane to `2p + right`. After six steps a
//! position is in `64..128`; two two-register permutes and a blend pick its leaf. The sums
//! are the portable path's: per lane, the base score plus each tree's leaf in tree order,
//! one f32 addition each.

use std::arch::x86_64::{
    __m512, __m512i, _mm512_add_epi32, _mm512_add_ps, _mm512_cmp_ps_mask, _mm512_i32gather_ps, _mm512_loadu_ps,
    _mm512_loadu_si512, _mm512_mask_add_epi32, _mm512_mask_blend_ps, _mm512_min_epu32, _mm512_permutex2var_epi32,
    _mm512_permutex2var_ps, _mm512_permutexvar_epi32, _mm512_permutexvar_ps, _mm512_set1_epi32, _mm512_setr_epi32,
    _mm512_storeu_ps, _mm512_test_epi32_mask, _CMP_GE_OQ,
};

use super::sixteen_lane_forest::{SixteenLaneForest, SixteenLaneTree, BLOCK, GROUPS, LANES, LEVELS, SLOTS};

const _: () =
    assert!(LEVELS == 6 && SLOTS == 64 && LANES == 16, "the permutes below are written for 6 levels of 16 lanes");

/// Adds every tree's leaf to the margins of the block in `columns` (filled by
/// [`SixteenLaneForest::fill_columns`]), tree by tree. Does nothing if `columns` is not
/// the forest's length.
///
/// # Safety
/// The CPU must support AVX-512F.
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn add_trees(forest: &SixteenLaneForest, columns: &[f32], margins: &mut [f32; BLOCK]) {
    if columns.len() != forest.columns_len() {
        return;
    }
    let group_len = forest.group_len();
    // Every gather index is clamped below a group's length: the offsets a forest compiles
    // already keep them there, and the clamp makes that hold whatever the tables say.
    // Fits: `MAX_FEATURES` keeps a block's length within i32 (asserted at compile time).
    let last = _mm512_set1_epi32(group_len as i32 - 1);
    let lanes = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    let one = _mm512_set1_epi32(1);
    let groups: [*const f32; GROUPS] = std::array::from_fn(|g| columns[g * group_len..].as_ptr());
    // SAFETY: `margins` holds `GROUPS × 16` floats.
    let mut sums: [__m512; GROUPS] = std::array::from_fn(|g| unsafe { _mm512_loadu_ps(margins[g * LANES..].as_ptr()) });
    for tree in &forest.trees {
        let (offsets, thresholds, leaves) = load_tree(tree);
        let mut positions = [one; GROUPS];
        // One step of every group: `$node` gives a lane's column offset and threshold from
        // its position; gather the column each lane's node reads, go right at or above the
        // threshold. (A macro, so that each level's permutes are inlined into the loop.)
        macro_rules! step {
            (|$p:ident| $node:expr) => {
                for (position, &group) in positions.iter_mut().zip(&groups) {
                    let $p = *position;
                    let (offset, threshold) = $node;
                    let index = _mm512_min_epu32(_mm512_add_epi32(offset, lanes), last);
                    // SAFETY: `group` starts a group of `group_len` floats inside `columns`,
                    // and every index is below `group_len`.
                    let x = unsafe { _mm512_i32gather_ps::<4>(index, group) };
                    let right = _mm512_cmp_ps_mask::<_CMP_GE_OQ>(x, threshold);
                    let doubled = _mm512_add_epi32($p, $p);
                    *position = _mm512_mask_add_epi32(doubled, right, doubled, one);
                }
            };
        }
        // Levels 0–3: positions 1..16, the first register of each table.
        for _ in 0..4 {
            step!(|p| (_mm512_permutexvar_epi32(p, offsets[0]), _mm512_permutexvar_ps(p, thresholds[0])));
        }
        // Level 4: positions 16..32; the permute reads the index's low four bits, p − 16.
        step!(|p| (_mm512_permutexvar_epi32(p, offsets[1]), _mm512_permutexvar_ps(p, thresholds[1])));
        // Level 5: positions 32..64; the low five bits, p − 32, index the last two registers.
        step!(|p| (
            _mm512_permutex2var_epi32(offsets[2], p, offsets[3]),
            _mm512_permutex2var_ps(thresholds[2], p, thresholds[3])
        ));
        // Leaves: positions 64..128. The low five bits index a pair of registers and bit 5
        // says which pair.
        for (sum, &position) in sums.iter_mut().zip(&positions) {
            let low = _mm512_permutex2var_ps(leaves[0], position, leaves[1]);
            let high = _mm512_permutex2var_ps(leaves[2], position, leaves[3]);
            let upper = _mm512_test_epi32_mask(position, _mm512_set1_epi32(32));
            *sum = _mm512_add_ps(*sum, _mm512_mask_blend_ps(upper, low, high));
        }
    }
    for (g, sum) in sums.iter().enumerate() {
        // SAFETY: `margins` holds `GROUPS × 16` floats.
        unsafe { _mm512_storeu_ps(margins[g * LANES..].as_mut_ptr(), *sum) };
    }
}

/// A tree's three tables, four registers each.
#[target_feature(enable = "avx512f")]
#[inline]
fn load_tree(tree: &SixteenLaneTree) -> ([__m512i; 4], [__m512; 4], [__m512; 4]) {
    // SAFETY: each table holds 64 values, four registers' worth.
    unsafe {
        (
            std::array::from_fn(|r| _mm512_loadu_si512(tree.offsets[r * LANES..].as_ptr().cast())),
            std::array::from_fn(|r| _mm512_loadu_ps(tree.thresholds[r * LANES..].as_ptr())),
            std::array::from_fn(|r| _mm512_loadu_ps(tree.leaves[r * LANES..].as_ptr())),
        )
    }
}

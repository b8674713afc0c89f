//! Splitting a node's rows between its children. Every node owns a contiguous range of one
//! shared row-index array; a split reorders that range into [left rows | right rows],
//! keeping each side in increasing row order so that histogram building reads the binned
//! table front to back.

use rayon::prelude::*;

use super::bin_features::{BinnedTable, GATHER_TAIL, MISSING_BIN};
use super::choose_best_split::Split;
use crate::prefetch::{prefetch, PREFETCH_DISTANCE};

/// Ranges this large are partitioned in parallel, in fixed chunks.
const PARALLEL_ROWS: usize = 16 * 1024;

/// Reorders `rows` into left rows then right rows and returns how many went left.
pub(crate) fn partition_rows(binned: &BinnedTable, split: &Split, rows: &mut [u32], scratch: &mut Vec<u32>) -> usize {
    partition_rows_with(binned, split, rows, scratch, Kernel::Fastest)
}

/// Which loop partitions: tests run both on a CPU that has AVX-512.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Kernel {
    /// AVX-512 when the CPU has it, else scalar.
    Fastest,
    /// Scalar only.
    #[cfg_attr(not(test), allow(dead_code))]
    Scalar,
}

fn partition_rows_with(
    binned: &BinnedTable,
    split: &Split,
    rows: &mut [u32],
    scratch: &mut Vec<u32>,
    kernel: Kernel,
) -> usize {
    let column = binned.feature_bins(split.feature);
    // The rule as a table by bin, so the loop below has no data-dependent branch: at a
    // good split a row's side is a coin toss, which a branch would mispredict half the time.
    let sides: [u8; 256] = std::array::from_fn(|bin| u8::from(split.rule.goes_left(bin as u8, split.default_left)));
    #[cfg(target_arch = "x86_64")]
    let vector = (kernel == Kernel::Fastest && std::arch::is_x86_feature_detected!("avx512f")).then(|| {
        let mut bits = [0u32; 8];
        for (bin, &left) in sides.iter().enumerate() {
            bits[bin / 32] |= u32::from(left) << (bin % 32);
        }
        (bits, binned.feature_bins_with_tail(split.feature))
    });
    let prefetch_ahead = |rows: &[u32], index: usize| {
        if let Some(&ahead) = rows.get(index + PREFETCH_DISTANCE) {
            prefetch(column.as_ptr().wrapping_add(ahead as usize));
        }
    };
    // Moves a slice's left rows to its front, keeping order, and returns how many there are.
    // Every row is written to both sides and the side it belongs to keeps it.
    let split_in_place = |rows: &mut [u32], right: &mut Vec<u32>| {
        right.clear();
        right.resize(rows.len(), 0);
        let (mut left, mut n_right, mut start) = (0, 0, 0);
        #[cfg(target_arch = "x86_64")]
        if let Some((bits, column)) = &vector {
            // SAFETY: AVX-512F was detected when `vector` was made.
            (left, n_right, start) = unsafe { avx512::split_whole_vectors(column, bits, rows, right) };
        }
        for index in start..rows.len() {
            prefetch_ahead(rows, index);
            let row = rows[index];
            let bin = column.get(row as usize).copied().unwrap_or(MISSING_BIN);
            let goes_left = usize::from(sides[usize::from(bin)]);
            rows[left] = row;
            right[n_right] = row;
            left += goes_left;
            n_right += 1 - goes_left;
        }
        rows[left..].copy_from_slice(&right[..n_right]);
        left
    };
    if rows.len() < PARALLEL_ROWS {
        return split_in_place(rows, scratch);
    }
    // Each chunk splits itself in place; the pieces are then concatenated in chunk order.
    let chunk_rows = PARALLEL_ROWS / 4;
    let lefts: Vec<usize> = rows
        .par_chunks_mut(chunk_rows)
        .map(|chunk| split_in_place(chunk, &mut Vec::with_capacity(chunk.len())))
        .collect();
    scratch.clear();
    let mut left_total = 0;
    for (chunk, &left) in rows.chunks(chunk_rows).zip(&lefts) {
        scratch.extend_from_slice(&chunk[..left]);
        left_total += left;
    }
    for (chunk, &left) in rows.chunks(chunk_rows).zip(&lefts) {
        scratch.extend_from_slice(&chunk[left..]);
    }
    rows.copy_from_slice(scratch);
    left_total
}

/// Row partitioning sixteen rows at a time: a gather reads their bins, a bitset lookup
/// decides their sides, and two compressions append them to the left rows (in place) and to
/// the right rows. About four times fewer instructions per row than the scalar loop.
#[cfg(target_arch = "x86_64")]
mod avx512 {
    use std::arch::x86_64::*;

    use super::GATHER_TAIL;

    /// Lanes per vector.
    const LANES: usize = 16;

    /// Splits the whole vectors of `rows` as the scalar loop does: left rows to the front of
    /// `rows` in order, right rows to the front of `right` (as long as `rows`) in order.
    /// Returns (left rows, right rows, rows done); the caller finishes the rest.
    /// `column` is a feature's bins with [`GATHER_TAIL`] bytes after them and `bits` its
    /// rule as a bitset by bin (bit `b % 32` of word `b / 32` set: bin `b` goes left).
    ///
    /// # Safety
    /// The CPU must support AVX-512F.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn split_whole_vectors(
        column: &[u8],
        bits: &[u32; 8],
        rows: &mut [u32],
        right: &mut [u32],
    ) -> (usize, usize, usize) {
        let whole = rows.len() / LANES * LANES;
        if whole == 0 || right.len() < rows.len() || column.len() <= GATHER_TAIL {
            return (0, 0, 0);
        }
        // Row indices beyond the column are clamped to its last row, so that every gathered
        // word lies inside `column` whatever the rows hold (real rows are never clamped).
        let last_row = _mm512_set1_epi32((column.len() - GATHER_TAIL - 1) as i32);
        let byte = _mm512_set1_epi32(0xff);
        let low_five = _mm512_set1_epi32(31);
        let one = _mm512_set1_epi32(1);
        // The bitset's eight words, twice, so that a lane's word index (0..8) picks its word.
        let mut table = [0u32; 16];
        table[..8].copy_from_slice(bits);
        table[8..].copy_from_slice(bits);
        // SAFETY: `table` holds sixteen u32s, one vector.
        let table = unsafe { _mm512_loadu_si512(table.as_ptr().cast()) };
        let (mut left, mut n_right) = (0usize, 0usize);
        let mut index = 0;
        while index < whole {
            // SAFETY: `index + LANES <= whole <= rows.len()`.
            let row_indices = unsafe { _mm512_loadu_si512(rows.as_ptr().add(index).cast()) };
            let clamped = _mm512_min_epu32(row_indices, last_row);
            // SAFETY: each lane reads four bytes from `column + row` with `row` at most the
            // column's last row, and `GATHER_TAIL` (3) bytes follow that row in `column`.
            let words = unsafe { _mm512_i32gather_epi32::<1>(clamped, column.as_ptr().cast()) };
            let bins = _mm512_and_si512(words, byte);
            let word = _mm512_permutexvar_epi32(_mm512_srli_epi32::<5>(bins), table);
            let shifted = _mm512_srlv_epi32(word, _mm512_and_si512(bins, low_five));
            let goes_left = _mm512_test_epi32_mask(shifted, one);
            // Whole vectors are stored and the counts then advance by the lanes kept: the
            // lanes past them land on rows already read (`left <= index`) or on right slots
            // not yet filled, and `left + LANES <= index + LANES <= rows.len()` (likewise for
            // `right`), so every store is in bounds.
            // SAFETY: as above.
            unsafe {
                _mm512_storeu_si512(
                    rows.as_mut_ptr().add(left).cast(),
                    _mm512_maskz_compress_epi32(goes_left, row_indices),
                );
                _mm512_storeu_si512(
                    right.as_mut_ptr().add(n_right).cast(),
                    _mm512_maskz_compress_epi32(!goes_left, row_indices),
                );
            }
            let n_left = goes_left.count_ones() as usize;
            left += n_left;
            n_right += LANES - n_left;
            index += LANES;
        }
        (left, n_right, whole)
    }
}

#[cfg(test)]
mod tests {
    use super::super::bin_features::FeatureBins;
    use super::super::choose_best_split::SplitRule;
    use super::*;

    /// Every one of the 256 bins, under rules whose left bins lie in every word of the
    /// vector loop's bitset, both default directions, on both loops: each row goes where the
    /// rule says, in order. Row counts leave partial vectors and cross the parallel size.
    #[test]
    fn both_loops_send_every_bin_where_the_rule_says() {
        let mut random = marquee_model::random::SplitMix64::new(7);
        let mut categorical = || {
            let mut left = [0u64; 4];
            for word in &mut left {
                *word = random.next_u64();
            }
            SplitRule::Categorical { left }
        };
        let mut rules: Vec<SplitRule> =
            [0u8, 1, 31, 32, 63, 64, 100, 200, 254, 255].map(|last_left| SplitRule::Numeric { last_left }).into();
        rules.extend((0..6).map(|_| categorical()));
        for n in [37u32, 4_099, 70_001] {
            // Bins in a scrambled order, every value from 0 (missing) to 255.
            let bins: Vec<u8> = (0..n).map(|row| (row.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
            let cuts: Vec<f32> = (1..255).map(|cut| cut as f32).collect();
            let binned = BinnedTable::new(bins.clone(), 1, vec![FeatureBins::Numeric { cuts }]);
            for &rule in &rules {
                for default_left in [false, true] {
                    let split = Split { feature: 0, rule, default_left, gain: 1.0, left: [0.0; 2], right: [0.0; 2] };
                    let original: Vec<u32> = (0..n).filter(|row| row % 5 != 2).collect();
                    let goes_left = |row: &u32| rule.goes_left(bins[*row as usize], default_left);
                    let mut expected: Vec<u32> = original.iter().copied().filter(goes_left).collect();
                    let n_left = expected.len();
                    expected.extend(original.iter().copied().filter(|row| !goes_left(row)));
                    for kernel in [Kernel::Fastest, Kernel::Scalar] {
                        let mut rows = original.clone();
                        let left = partition_rows_with(&binned, &split, &mut rows, &mut Vec::new(), kernel);
                        assert_eq!(left, n_left, "{rule:?}, missing left {default_left}, {kernel:?}");
                        assert_eq!(rows, expected, "{rule:?}, missing left {default_left}, {kernel:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn partitions_are_stable_small_and_large() {
        for n in [1000u32, 200_000] {
            let binned = BinnedTable::new(
                (0..n).map(|row| (row % 4) as u8).collect(),
                1,
                vec![FeatureBins::Numeric { cuts: vec![1.0, 2.0] }],
            );
            let split = Split {
                feature: 0,
                rule: SplitRule::Numeric { last_left: 1 },
                default_left: true,
                gain: 1.0,
                left: [0.0; 2],
                right: [0.0; 2],
            };
            let mut rows: Vec<u32> = (0..n).collect();
            let left = partition_rows(&binned, &split, &mut rows, &mut Vec::new());
            let expected: Vec<u32> = (0..n).filter(|r| r % 4 <= 1).chain((0..n).filter(|r| r % 4 > 1)).collect();
            assert_eq!(left, n as usize / 2);
            assert_eq!(rows, expected);
        }
    }

    /// Every rule (numeric and categorical, missing rows sent either way) on the second of
    /// three features, over a subset of rows, small and large: the table-driven partition
    /// keeps exactly the rows the rule sends left, in order, then the others.
    #[test]
    fn every_rule_sends_each_row_where_the_rule_says() {
        let width = 3;
        for n in [5_000u32, 300_000] {
            // Feature 1 cycles through bins 0 (missing) to 6; the others are noise.
            let bins: Vec<u8> = (0..n * width as u32).map(|i| ((i / width as u32) * 7 + i % 3) as u8 % 7).collect();
            let features = vec![FeatureBins::Numeric { cuts: vec![1.0, 2.0, 3.0, 4.0, 5.0] }; width];
            let binned = BinnedTable::new(bins.clone(), width, features);
            let rules = [SplitRule::Numeric { last_left: 3 }, SplitRule::Categorical { left: [0b101010, 0, 0, 0] }];
            for rule in rules {
                for default_left in [false, true] {
                    let split = Split { feature: 1, rule, default_left, gain: 1.0, left: [0.0; 2], right: [0.0; 2] };
                    let original: Vec<u32> = (0..n).filter(|row| row % 3 != 0).collect();
                    let goes_left = |row: &u32| rule.goes_left(bins[*row as usize * width + 1], default_left);
                    let expected: Vec<u32> = original
                        .iter()
                        .copied()
                        .filter(goes_left)
                        .chain(original.iter().copied().filter(|row| !goes_left(row)))
                        .collect();
                    let mut rows = original.clone();
                    let left = partition_rows(&binned, &split, &mut rows, &mut Vec::new());
                    assert_eq!(left, original.iter().filter(|row| goes_left(row)).count());
                    assert!(left > 0 && left < rows.len(), "the rule splits the rows");
                    assert_eq!(rows, expected, "rule {rule:?}, missing left {default_left}");
                }
            }
        }
    }
}

//! Splitting a node's rows between its children. Every node owns a contiguous range of one
//! shared row-index array; a split reorders that range into [left rows | right rows],
//! keeping each side in increasing row order so that histogram building reads the binned
//! table front to back.

use rayon::prelude::*;

use super::bin_features::BinnedTable;
use super::choose_best_split::Split;
use crate::prefetch::{prefetch, PREFETCH_DISTANCE};

/// Ranges this large are partitioned in parallel, in fixed chunks.
const PARALLEL_ROWS: usize = 64 * 1024;

/// Reorders `rows` into left rows then right rows and returns how many went left.
pub(crate) fn partition_rows(binned: &BinnedTable, split: &Split, rows: &mut [u32], scratch: &mut Vec<u32>) -> usize {
    let width = binned.n_features;
    let goes_left = |row: u32| {
        let bin = binned.bins[row as usize * width + split.feature];
        split.rule.goes_left(bin, split.default_left)
    };
    let prefetch_ahead = |rows: &[u32], index: usize| {
        if let Some(&ahead) = rows.get(index + PREFETCH_DISTANCE) {
            prefetch(binned.bins.as_ptr().wrapping_add(ahead as usize * width + split.feature));
        }
    };
    // Moves a slice's left rows to its front, keeping order, and returns how many there are.
    let split_in_place = |rows: &mut [u32], right: &mut Vec<u32>| {
        right.clear();
        let mut left = 0;
        for index in 0..rows.len() {
            prefetch_ahead(rows, index);
            let row = rows[index];
            if goes_left(row) {
                rows[left] = row;
                left += 1;
            } else {
                right.push(row);
            }
        }
        rows[left..].copy_from_slice(right);
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

#[cfg(test)]
mod tests {
    use super::super::bin_features::FeatureBins;
    use super::super::choose_best_split::SplitRule;
    use super::*;

    #[test]
    fn partitions_are_stable_small_and_large() {
        for n in [1000u32, 200_000] {
            let binned = BinnedTable {
                bins: (0..n).map(|row| (row % 4) as u8).collect(),
                n_features: 1,
                features: vec![FeatureBins::Numeric { cuts: vec![1.0, 2.0] }],
            };
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
}

//! Splitting a node's rows between its children. Every node owns a contiguous range of one
//! shared row-index array; a split reorders that range into [left rows | right rows],
//! keeping each side in increasing row order so that histogram building reads the binned
//! table front to back.

use rayon::prelude::*;

use super::bin_features::{BinnedTable, MISSING_BIN};
use super::choose_best_split::Split;
use crate::prefetch::{prefetch, PREFETCH_DISTANCE};

/// Ranges this large are partitioned in parallel, in fixed chunks.
const PARALLEL_ROWS: usize = 64 * 1024;

/// Reorders `rows` into left rows then right rows and returns how many went left.
pub(crate) fn partition_rows(binned: &BinnedTable, split: &Split, rows: &mut [u32], scratch: &mut Vec<u32>) -> usize {
    let column = binned.feature_bins(split.feature);
    // The rule as a table by bin, so the loop below has no data-dependent branch: at a
    // good split a row's side is a coin toss, which a branch would mispredict half the time.
    let sides: [u8; 256] = std::array::from_fn(|bin| u8::from(split.rule.goes_left(bin as u8, split.default_left)));
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
        let (mut left, mut n_right) = (0, 0);
        for index in 0..rows.len() {
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

#[cfg(test)]
mod tests {
    use super::super::bin_features::FeatureBins;
    use super::super::choose_best_split::SplitRule;
    use super::*;

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

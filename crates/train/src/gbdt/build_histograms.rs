//! Gradient histograms: for one node, the gradient and hessian sums of its rows per
//! (feature, bin). Split finding then scans bins instead of rows.
//!
//! Work is split into row chunks whose boundaries depend only on the node's row count, and
//! the chunks' histograms are added in chunk order, so sums are bit-identical whatever the
//! thread count.

use std::sync::{Mutex, MutexGuard, PoisonError};

use rayon::prelude::*;

use super::bin_features::{BinnedTable, SparseRows, ESCAPE};
use super::objective::GradHess;
use crate::prefetch::{prefetch, PREFETCH_DISTANCE};

/// A (gradient sum, hessian sum) pair, accumulated in `f64`: millions of `f32` gradients
/// would otherwise lose the small differences split gains are made of.
pub(crate) type Sums = [f64; 2];

/// One feature's bins. A full byte's worth of slots lets bin indices (`u8`) index without
/// bounds checks.
pub(crate) type FeatureHistogram = [Sums; 256];

/// Nodes with fewer rows are built in one chunk. Small enough that the deep, small nodes
/// still use every thread: most nodes of a depth-6 tree are far below a million rows.
const MIN_CHUNK_ROWS: usize = 4 * 1024;
/// Caps the chunks of a large node: enough for load balance on a few cores, few enough
/// that zeroing and merging the chunk histograms stays cheap.
const MAX_CHUNKS: usize = 16;

/// The histograms of one node, one per feature (unsampled features stay zero).
#[derive(Clone, Debug)]
pub(crate) struct Histogram {
    pub(crate) features: Vec<FeatureHistogram>,
}

impl Histogram {
    fn zeros(n_features: usize) -> Self {
        Histogram { features: vec![[[0.0; 2]; 256]; n_features] }
    }

    /// Adds a chunk's histogram.
    fn add(&mut self, chunk: &[[f32; 2]], columns: &[usize], offsets: &[usize]) {
        for &column in columns {
            let bins = chunk.get(offsets[column]..offsets[column + 1]).unwrap_or_default();
            for (sum, add) in self.features[column].iter_mut().zip(bins) {
                sum[0] += f64::from(add[0]);
                sum[1] += f64::from(add[1]);
            }
        }
    }

    /// Sets each feature's common bin (which sparse rows leave out) to the node's total less
    /// the feature's other bins.
    fn fill_common_bins(&mut self, node: Sums, common_bins: &[u8], binned: &BinnedTable) {
        for ((feature, &common), bins) in self.features.iter_mut().zip(common_bins).zip(&binned.features) {
            let mut rest = node;
            for (bin, sums) in feature[..bins.used_bins()].iter().enumerate() {
                if bin != usize::from(common) {
                    rest[0] -= sums[0];
                    rest[1] -= sums[1];
                }
            }
            feature[usize::from(common)] = rest;
        }
    }

    /// Turns a parent's histogram into its other child's, given one child's: the
    /// subtraction trick that halves the rows histograms are built from.
    pub(crate) fn subtract(&mut self, child: &Histogram, columns: &[usize], binned: &BinnedTable) {
        for &column in columns {
            let used = binned.features[column].used_bins();
            for (sum, sub) in self.features[column][..used].iter_mut().zip(&child.features[column][..used]) {
                sum[0] -= sub[0];
                sum[1] -= sub[1];
            }
        }
    }
}

/// A chunk accumulates in `f32` into one flat array holding only the bins each feature
/// uses (feature f's bins start at `offsets[f]`): the hot loop's cache footprint is then a
/// few KB on tables of flags and codes instead of 256 slots per feature. A chunk is small
/// enough (at most 64k rows) for `f32` sums to stay accurate; chunks are merged in `f64`.
type ChunkHistogram = Vec<[f32; 2]>;

/// Where each feature's bins start in a [`ChunkHistogram`]; the last entry is its length.
fn bin_offsets(binned: &BinnedTable) -> Vec<usize> {
    let mut offsets = Vec::with_capacity(binned.features.len() + 1);
    let mut next = 0;
    offsets.push(0);
    for feature in &binned.features {
        next += feature.used_bins();
        offsets.push(next);
    }
    offsets
}

/// Spare histograms, reused across the nodes and trees of a training run: a fresh
/// allocation per node would be zeroed by the kernel page by page, and on small tables
/// those page faults cost more than the sums themselves. Shared by the threads that grow
/// one tree level's nodes at once; a lock per taken or returned histogram is cheap next to
/// filling it.
#[derive(Debug, Default)]
pub(crate) struct HistogramPool {
    totals: Mutex<Vec<Histogram>>,
    chunks: Mutex<Vec<ChunkHistogram>>,
}

/// Locks a pool's free list; a panic elsewhere cannot leave it inconsistent (it is only
/// pushed to and popped from), so a poisoned lock is still usable.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl HistogramPool {
    /// A zeroed node histogram. Slots past a feature's used bins are never written, so
    /// only the used ones need zeroing.
    fn take_total(&self, binned: &BinnedTable) -> Histogram {
        let spare = lock(&self.totals).pop();
        match spare {
            Some(mut histogram) if histogram.features.len() == binned.n_features => {
                for (feature, bins) in histogram.features.iter_mut().zip(&binned.features) {
                    feature[..bins.used_bins()].fill([0.0; 2]);
                }
                histogram
            }
            _ => Histogram::zeros(binned.n_features),
        }
    }

    /// A zeroed chunk histogram of `len` bins.
    fn take_chunk(&self, len: usize) -> ChunkHistogram {
        let mut chunk = lock(&self.chunks).pop().unwrap_or_default();
        chunk.clear();
        chunk.resize(len, [0.0; 2]);
        chunk
    }

    /// Returns a node histogram that is no longer needed.
    pub(crate) fn give_back(&self, histogram: Histogram) {
        lock(&self.totals).push(histogram);
    }
}

/// Builds the histogram of `rows` over the sampled `columns` (sorted; all columns when
/// `columns.len()` equals the feature count).
pub(crate) fn build_histogram(
    binned: &BinnedTable,
    gradients: &[GradHess],
    rows: &[u32],
    columns: &[usize],
    pool: &HistogramPool,
) -> Histogram {
    let offsets = bin_offsets(binned);
    let sparse = binned.sparse.as_ref().filter(|_| columns.len() == binned.n_features);
    let len = offsets.last().copied().unwrap_or(0);
    // Sparse rows leave each feature's common bin out; the slot after the value slots then
    // sums the node's total, from which those bins are derived (spare slots follow it).
    let chunk_len = sparse.map_or(len, |sparse| sparse.histogram_len(len));
    let n_chunks = (rows.len() / MIN_CHUNK_ROWS).clamp(1, MAX_CHUNKS);
    let chunk_rows = rows.len().div_ceil(n_chunks).max(1);
    let mut partials: Vec<ChunkHistogram> =
        (0..rows.len().div_ceil(chunk_rows).max(1)).map(|_| pool.take_chunk(chunk_len)).collect();
    let fill = |partial: &mut ChunkHistogram, rows: &[u32]| match sparse {
        Some(sparse) => accumulate_sparse(partial, len, sparse, gradients, rows),
        None => accumulate(partial, &offsets, binned, gradients, rows, columns),
    };
    if partials.len() == 1 {
        fill(&mut partials[0], rows);
    } else {
        partials.par_iter_mut().zip(rows.par_chunks(chunk_rows)).for_each(|(partial, chunk)| fill(partial, chunk));
    }
    let mut total = pool.take_total(binned);
    for partial in &partials {
        total.add(partial, columns, &offsets);
    }
    if let Some(sparse) = sparse {
        let mut node = [0.0f64; 2];
        for partial in &partials {
            if let Some(sums) = partial.get(len) {
                node[0] += f64::from(sums[0]);
                node[1] += f64::from(sums[1]);
            }
        }
        total.fill_common_bins(node, &sparse.common_bins, binned);
    }
    lock(&pool.chunks).extend(partials);
    total
}

/// Sums the rows' gradients into the slots their sparse bins name, and into the slot after
/// the value slots (`len`) for the node's total.
fn accumulate_sparse(
    histogram: &mut [[f32; 2]],
    len: usize,
    sparse: &SparseRows,
    gradients: &[GradHess],
    rows: &[u32],
) {
    let mut total = [0.0f32; 2];
    let mut add = |slot: u16, g: f32, h: f32| {
        if let Some(entry) = histogram.get_mut(usize::from(slot)) {
            entry[0] += g;
            entry[1] += h;
        }
    };
    for (index, &row) in rows.iter().enumerate() {
        if let Some(&ahead) = rows.get(index + PREFETCH_DISTANCE) {
            prefetch(sparse.row_start(ahead as usize).cast());
            prefetch(gradients.as_ptr().wrapping_add(ahead as usize).cast());
        }
        let [g, h] = gradients[row as usize];
        total[0] += g;
        total[1] += h;
        let Some((&last, fixed)) = sparse.row(row as usize).split_last() else { continue };
        // The same count for every row (see `SparseRows`): no mispredicted exit.
        for &slot in fixed {
            add(slot, g, h);
        }
        if last != ESCAPE {
            add(last, g, h);
        } else {
            for &slot in sparse.overflow(row) {
                add(slot, g, h);
            }
        }
    }
    if let Some(node) = histogram.get_mut(len) {
        node[0] += total[0];
        node[1] += total[1];
    }
}

fn accumulate(
    histogram: &mut [[f32; 2]],
    offsets: &[usize],
    binned: &BinnedTable,
    gradients: &[GradHess],
    rows: &[u32],
    columns: &[usize],
) {
    let width = binned.n_features;
    if columns.len() == width {
        for (index, &row) in rows.iter().enumerate() {
            // Deep nodes read rows scattered over the table: ask for a row well ahead so
            // its bins and gradients arrive while this one is summed.
            if let Some(&ahead) = rows.get(index + PREFETCH_DISTANCE) {
                prefetch(binned.bins.as_ptr().wrapping_add(ahead as usize * width));
                prefetch(gradients.as_ptr().wrapping_add(ahead as usize).cast());
            }
            let row = row as usize;
            let [g, h] = gradients[row];
            for (&offset, &bin) in offsets.iter().zip(binned.row(row)) {
                let entry = &mut histogram[offset + usize::from(bin)];
                entry[0] += g;
                entry[1] += h;
            }
        }
    } else {
        for &row in rows {
            let row = row as usize;
            let [g, h] = gradients[row];
            let bins = binned.row(row);
            for &column in columns {
                let entry = &mut histogram[offsets[column] + usize::from(bins[column])];
                entry[0] += g;
                entry[1] += h;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::bin_features::FeatureBins;
    use super::*;

    #[test]
    fn chunked_histograms_and_subtraction_match_a_direct_sum() {
        let rows = 100_000;
        let bins: Vec<u8> = (0..rows * 2).map(|i| (i * 7 % 5) as u8).collect();
        let binned = BinnedTable::new(bins, 2, vec![FeatureBins::Numeric { cuts: vec![1.0, 2.0, 3.0] }; 2]);
        let gradients: Vec<GradHess> = (0..rows).map(|i| [(i % 3) as f32 - 1.0, 1.0]).collect();
        let all: Vec<u32> = (0..rows as u32).collect();
        let pool = HistogramPool::default();
        let full = build_histogram(&binned, &gradients, &all, &[0, 1], &pool);
        let total: f64 = full.features[1].iter().map(|s| s[1]).sum();
        assert_eq!(total, rows as f64);
        let evens: Vec<u32> = all.iter().copied().filter(|r| r % 2 == 0).collect();
        let odds: Vec<u32> = all.iter().copied().filter(|r| r % 2 == 1).collect();
        let mut derived = full.clone();
        derived.subtract(&build_histogram(&binned, &gradients, &evens, &[0, 1], &pool), &[0, 1], &binned);
        let direct = build_histogram(&binned, &gradients, &odds, &[0, 1], &pool);
        assert_eq!(derived.features, direct.features);
        let only_second = build_histogram(&binned, &gradients, &odds, &[1], &pool);
        assert_eq!(only_second.features[1], direct.features[1]);
        assert!(only_second.features[0].iter().all(|s| *s == [0.0, 0.0]));
    }

    /// Rows of every length on a table where a few rows are much longer than the rest: the
    /// padded rows, the rows exactly as long as the width and the overflow rows all sum to
    /// the histogram of a direct sum, built in one chunk and in many.
    #[test]
    fn padded_and_overflowing_sparse_rows_sum_like_a_direct_sum() {
        let width = 8;
        for (rows, long_every) in [(3_000usize, 150usize), (40_000, 101)] {
            // Row r sets flags 0..(r % 4) (0 to 3 of them), and every `long_every`-th row sets
            // all eight: under 1% of the rows, so they overflow the width the others need.
            let bins: Vec<u8> = (0..rows)
                .flat_map(|r| {
                    let set = if r % long_every == 0 { width } else { r % 4 };
                    (0..width).map(move |f| 1 + u8::from(f < set))
                })
                .collect();
            let binned = BinnedTable::new(bins.clone(), width, vec![FeatureBins::Numeric { cuts: vec![0.5] }; width]);
            let sparse = binned.sparse.as_ref().expect("flags get sparse rows");
            assert!(sparse.row(0).ends_with(&[ESCAPE]), "row 0 sets every flag and overflows");
            assert!(!sparse.row(1).contains(&ESCAPE), "row 1 sets one flag and fits");
            assert!(sparse.row(1).len() >= 2, "rows have room for several slots");
            let gradients: Vec<GradHess> = (0..rows).map(|i| [(i % 5) as f32 - 2.0, 1.0 + (i % 2) as f32]).collect();
            let all: Vec<u32> = (0..rows as u32).collect();
            let built =
                build_histogram(&binned, &gradients, &all, &(0..width).collect::<Vec<_>>(), &HistogramPool::default());
            for feature in 0..width {
                for bin in 0..3 {
                    let mut want = [0.0f64; 2];
                    for (row, gradient) in gradients.iter().enumerate() {
                        if usize::from(bins[row * width + feature]) == bin {
                            want[0] += f64::from(gradient[0]);
                            want[1] += f64::from(gradient[1]);
                        }
                    }
                    let got = built.features[feature][bin];
                    for k in 0..2 {
                        assert!(
                            (got[k] - want[k]).abs() < 1e-6 * want[k].abs().max(1.0),
                            "{feature} {bin}: {got:?} {want:?}"
                        );
                    }
                }
            }
        }
    }

    /// A table of flags and codes (most rows in one bin per feature) gets sparse rows; its
    /// histograms, common bins derived from the node's total, match a direct sum over the
    /// same rows, for small and chunked nodes, and for a column sample (which sums densely).
    #[test]
    fn sparse_rows_give_the_histograms_of_a_direct_sum() {
        let rows = 150_000usize;
        let width = 3;
        // Feature 0: a flag set on one row in seven; 1: a code, mostly 2, sometimes missing;
        // 2: a flag set on one row in three.
        let bins: Vec<u8> = (0..rows)
            .flat_map(|r| {
                let code = if r % 11 == 0 {
                    0
                } else if r % 5 == 0 {
                    1 + (r % 4) as u8
                } else {
                    2
                };
                [1 + u8::from(r % 7 == 0), code, 1 + u8::from(r % 3 == 0)]
            })
            .collect();
        let features = vec![
            FeatureBins::Numeric { cuts: vec![0.5] },
            FeatureBins::Categorical { categories: 4 },
            FeatureBins::Numeric { cuts: vec![0.5] },
        ];
        let binned = BinnedTable::new(bins.clone(), width, features);
        let sparse = binned.sparse.as_ref().expect("a table of flags and codes gets sparse rows");
        assert_eq!(sparse.common_bins, vec![1, 2, 1]);
        let gradients: Vec<GradHess> = (0..rows).map(|i| [((i * 13) % 7) as f32 - 3.0, 0.5 + (i % 2) as f32]).collect();
        let pool = HistogramPool::default();
        for selected in
            [(0..rows as u32).collect::<Vec<_>>(), (0..rows as u32).filter(|r| r % 4 == 1).take(3_000).collect()]
        {
            let mut expected = vec![[[0.0f64; 2]; 256]; width];
            for &row in &selected {
                let [g, h] = gradients[row as usize];
                for (feature, sums) in expected.iter_mut().enumerate() {
                    let bin = usize::from(bins[row as usize * width + feature]);
                    sums[bin][0] += f64::from(g);
                    sums[bin][1] += f64::from(h);
                }
            }
            let built = build_histogram(&binned, &gradients, &selected, &[0, 1, 2], &pool);
            for (feature, (got, want)) in built.features.iter().zip(&expected).enumerate() {
                for (bin, (got, want)) in got.iter().zip(want).enumerate() {
                    for k in 0..2 {
                        assert!(
                            (got[k] - want[k]).abs() < 1e-6 * want[k].abs().max(1.0),
                            "feature {feature} bin {bin}: {got:?} vs {want:?}"
                        );
                    }
                }
            }
            let sampled = build_histogram(&binned, &gradients, &selected, &[1], &pool);
            assert_eq!(sampled.features[1][..6], built.features[1][..6], "the dense column-sample path agrees");
        }
    }
}

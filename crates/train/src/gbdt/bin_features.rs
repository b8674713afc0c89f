//! Quantile binning: every feature value becomes a one-byte bin index, computed once before
//! training, so histograms index by byte and the binned table costs `rows × features` bytes.
//!
//! Bin 0 of every feature holds missing values (NaN, and invalid category codes). Numeric
//! values fill bins `1..`, split at `cuts`: a value `x` lands in bin `1 + #{cut <= x}`, so
//! "bins `1..=b` go left" is exactly `x < cuts[b - 1]` on raw values. A categorical code `c`
//! lands in bin `c + 1`.

use marquee_model::gbdt::FeatureKind;
use rayon::prelude::*;

use super::sample::{sample_rows, SplitMix64};
use super::table::Table;
use crate::TrainError;

/// The bin index of missing values in every feature.
pub(crate) const MISSING_BIN: u8 = 0;

/// Quantile cuts are computed from at most this many sampled rows: the quantiles barely move
/// beyond it, and sorting every row of a large table would cost more than a tree.
const SKETCH_ROWS: usize = 1 << 18;

/// How one feature's values map to bins.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum FeatureBins {
    /// Value bins are split at these increasing cuts (`cuts.len() + 1` value bins).
    Numeric { cuts: Vec<f32> },
    /// One bin per category code.
    Categorical { categories: u32 },
}

impl FeatureBins {
    /// How many histogram slots the feature can fill: the missing bin and its value bins.
    /// Histogram work stops there instead of at 256, which matters for flags and codes.
    pub(crate) fn used_bins(&self) -> usize {
        match self {
            FeatureBins::Numeric { cuts } => (cuts.len() + 2).min(256),
            FeatureBins::Categorical { categories } => (*categories as usize + 1).min(256),
        }
    }

    /// The bin of a raw value.
    pub(crate) fn bin(&self, value: f32) -> u8 {
        match self {
            FeatureBins::Numeric { cuts } => {
                if value.is_nan() {
                    MISSING_BIN
                } else {
                    // At most 254 cuts, so this fits in a byte.
                    (1 + cuts.partition_point(|&cut| cut <= value)) as u8
                }
            }
            FeatureBins::Categorical { categories } => {
                if value >= 0.0 && value.fract() == 0.0 && value < *categories as f32 {
                    value as u8 + 1
                } else {
                    MISSING_BIN
                }
            }
        }
    }
}

/// Spare bytes after the feature-major bins: vector code reads a row's bin as the first byte
/// of a four-byte word.
pub(crate) const GATHER_TAIL: usize = 3;

/// A table's features as bin indices, twice: row-major like the input, so that one row's
/// bins share a cache line while a histogram is built, and feature-major, so that splitting
/// a node's rows reads one feature's bytes (a megabyte per million rows, which stays in
/// cache) instead of a cache line per row.
#[derive(Clone, Debug)]
pub(crate) struct BinnedTable {
    pub(crate) bins: Vec<u8>,
    pub(crate) n_features: usize,
    pub(crate) features: Vec<FeatureBins>,
    /// `bins` transposed: feature `f`'s bins for every row start at `f × rows`.
    by_feature: Vec<u8>,
    /// The same bins without each feature's most common one, when that leaves at most half
    /// of them (tables of flags and codes): see [`SparseRows`].
    pub(crate) sparse: Option<SparseRows>,
}

/// Each row's bins other than its feature's most common bin, as slots of a histogram laid
/// out feature after feature over the used bins. On tables of flags and codes most of a
/// row's bins are its features' most common ones: histograms then add only the others and
/// derive each common bin as the node's total less the feature's other bins, as XGBoost
/// skips missing values.
///
/// Every row has the same number of slots, [`Self::width`], so that summing a row is a loop
/// of fixed length: with rows of varying length, the loop's exit was mispredicted about once
/// a row, which cost more than the sums. Shorter rows are padded with spare slots (one per
/// position, so that padding never makes one slot's sums wait on each other); the few rows
/// longer than the width end in [`ESCAPE`] and keep the rest of their slots in an overflow list.
#[derive(Clone, Debug)]
pub(crate) struct SparseRows {
    /// Slots per row.
    width: usize,
    /// `width` histogram slots per row: the feature's first used bin's slot plus the bin, then
    /// spare slots, or [`ESCAPE`] last.
    slots: Vec<u16>,
    /// The rows whose last slot is [`ESCAPE`], increasing.
    overflow_rows: Vec<u32>,
    /// Where each overflow row's remaining slots start in `overflow_slots` (one more entry).
    overflow_starts: Vec<u32>,
    overflow_slots: Vec<u16>,
    /// Each feature's most common bin, the one left out.
    pub(crate) common_bins: Vec<u8>,
}

/// The last slot of a row whose other slots are in the overflow list.
pub(crate) const ESCAPE: u16 = u16::MAX;

/// What a row longer than the width costs beyond it, in additions: finding its overflow
/// slots, and the loop over them whose exit is mispredicted.
const OVERFLOW_COST: usize = 32;

impl SparseRows {
    /// The slots a histogram needs: `used` value slots, the node's total, then one spare
    /// slot per position of a row.
    pub(crate) fn histogram_len(&self, used: usize) -> usize {
        used + 1 + self.width
    }

    /// The fixed slots of one row (`width` of them).
    #[inline]
    pub(crate) fn row(&self, row: usize) -> &[u16] {
        self.slots.get(row * self.width..(row + 1) * self.width).unwrap_or_default()
    }

    /// The slots of an overflow row after its first `width - 1`.
    pub(crate) fn overflow(&self, row: u32) -> &[u16] {
        let Ok(index) = self.overflow_rows.binary_search(&row) else { return &[] };
        match (self.overflow_starts.get(index), self.overflow_starts.get(index + 1)) {
            (Some(&start), Some(&end)) => self.overflow_slots.get(start as usize..end as usize).unwrap_or_default(),
            _ => &[],
        }
    }

    /// Where a row's slots start, for prefetching.
    #[inline]
    pub(crate) fn row_start(&self, row: usize) -> *const u16 {
        self.slots.as_ptr().wrapping_add(row * self.width)
    }
}

/// A row's slots: each feature's whose bin is not the common one, in feature order.
fn row_slots<'a>(row: &'a [u8], common: &'a [(u8, usize)], offsets: &'a [usize]) -> impl Iterator<Item = u16> + 'a {
    row.iter()
        .zip(common)
        .zip(offsets)
        .filter(|((&bin, &(common_bin, _)), _)| bin != common_bin)
        .map(|((&bin, _), &offset)| (offset + usize::from(bin)) as u16)
}

/// Sparse rows pay off when they drop at least half of the bins.
const SPARSE_MAX_SHARE: f64 = 0.5;

/// Builds [`SparseRows`] for the table when they drop at least half its bins and every
/// histogram slot fits in 16 bits.
fn sparse_rows(bins: &[u8], by_feature: &[u8], rows: usize, features: &[FeatureBins]) -> Option<SparseRows> {
    let used: Vec<usize> = features.iter().map(FeatureBins::used_bins).collect();
    let slots_total: usize = used.iter().sum();
    // Value slots, the node's total and up to one spare slot per feature, below `ESCAPE`.
    if rows == 0 || features.is_empty() || slots_total + 1 + features.len() >= usize::from(ESCAPE) {
        return None;
    }
    let common: Vec<(u8, usize)> = by_feature
        .par_chunks(rows)
        .map(|column| {
            let mut counts = [0usize; 256];
            for &bin in column {
                counts[usize::from(bin)] += 1;
            }
            let (bin, count) =
                counts.iter().enumerate().max_by_key(|&(bin, &count)| (count, std::cmp::Reverse(bin)))?;
            Some((bin as u8, *count))
        })
        .collect::<Option<_>>()?;
    let kept = rows * features.len() - common.iter().map(|&(_, count)| count).sum::<usize>();
    if kept as f64 > SPARSE_MAX_SHARE * (rows * features.len()) as f64 || kept > u32::MAX as usize {
        return None;
    }
    let mut offsets = Vec::with_capacity(features.len());
    let mut next = 0;
    for &bins in &used {
        offsets.push(next);
        next += bins;
    }
    let row_slots = |row| row_slots(row, &common, &offsets);
    // The width that makes summing every row cheapest: each slot of the width costs every
    // row one addition, and each row longer than the width costs `OVERFLOW_COST` more.
    let mut lengths = vec![0usize; features.len() + 1];
    for row in bins.chunks_exact(features.len()) {
        lengths[row_slots(row).count()] += 1;
    }
    let (mut width, mut best_cost) = (1, usize::MAX);
    let mut longer = rows - lengths[0];
    for (length, &count) in lengths.iter().enumerate().skip(1) {
        longer -= count;
        let cost = rows * length + longer * OVERFLOW_COST;
        if cost < best_cost {
            (width, best_cost) = (length, cost);
        }
    }
    let spare = slots_total + 1;
    let mut slots = Vec::with_capacity(rows * width);
    let (mut overflow_rows, mut overflow_starts, mut overflow_slots) = (Vec::new(), vec![0u32], Vec::new());
    for (index, row) in bins.chunks_exact(features.len()).enumerate() {
        let start = slots.len();
        let mut row_slots = row_slots(row);
        slots.extend(row_slots.by_ref().take(width));
        let rest: Vec<u16> = row_slots.collect();
        if let (Some(last), false) = (slots.last_mut(), rest.is_empty()) {
            // The row's last fixed slot moves to the overflow list, with the rest.
            overflow_rows.push(index as u32);
            overflow_slots.push(*last);
            overflow_slots.extend(rest);
            overflow_starts.push(overflow_slots.len() as u32);
            *last = ESCAPE;
        }
        while slots.len() < start + width {
            slots.push((spare + slots.len() - start) as u16);
        }
    }
    Some(SparseRows {
        width,
        slots,
        overflow_rows,
        overflow_starts,
        overflow_slots,
        common_bins: common.iter().map(|&(bin, _)| bin).collect(),
    })
}

impl BinnedTable {
    /// The table from its row-major `bins`, `n_features` to a row.
    pub(crate) fn new(bins: Vec<u8>, n_features: usize, features: Vec<FeatureBins>) -> Self {
        let rows = bins.len().checked_div(n_features).unwrap_or(0);
        let mut by_feature = vec![MISSING_BIN; bins.len() + GATHER_TAIL];
        if rows > 0 {
            by_feature[..bins.len()].par_chunks_mut(rows).enumerate().for_each(|(feature, column)| {
                for (out, row) in column.iter_mut().zip(bins.chunks_exact(n_features)) {
                    *out = row[feature];
                }
            });
        }
        let sparse = sparse_rows(&bins, &by_feature[..bins.len()], rows, &features);
        BinnedTable { bins, n_features, features, by_feature, sparse }
    }

    /// One feature's bins, indexed by row.
    #[inline]
    pub(crate) fn feature_bins(&self, feature: usize) -> &[u8] {
        let rows = self.bins.len().checked_div(self.n_features).unwrap_or(0);
        self.by_feature.get(feature * rows..(feature + 1) * rows).unwrap_or_default()
    }

    /// One feature's bins followed by at least [`GATHER_TAIL`] more bytes, so that a
    /// four-byte read at any row's bin stays inside the slice (see `partition_rows`).
    #[inline]
    pub(crate) fn feature_bins_with_tail(&self, feature: usize) -> &[u8] {
        let rows = self.bins.len().checked_div(self.n_features).unwrap_or(0);
        self.by_feature.get(feature * rows..(feature + 1) * rows + GATHER_TAIL).unwrap_or_default()
    }

    /// The bins of one row.
    #[inline]
    pub(crate) fn row(&self, row: usize) -> &[u8] {
        &self.bins[row * self.n_features..(row + 1) * self.n_features]
    }
}

/// Computes each feature's bins from (a sample of) the table: each distinct value gets its
/// own bin when there are few enough, otherwise cuts sit at count quantiles.
pub(crate) fn compute_bin_stats(table: &Table, max_bin: u32, seed: u64) -> Result<Vec<FeatureBins>, TrainError> {
    let width = table.schema.len();
    let rows = table.rows();
    // One byte code is the missing bin.
    let value_bins = (max_bin as usize).min(255);
    let sample: Vec<usize> = if rows > SKETCH_ROWS {
        let mut mask = Vec::with_capacity(rows);
        sample_rows(&mut SplitMix64::new(seed ^ 0x5ce7_c400), rows, SKETCH_ROWS, &mut mask);
        mask.iter().enumerate().filter(|(_, &keep)| keep).map(|(row, _)| row).collect()
    } else {
        (0..rows).collect()
    };
    table
        .schema
        .features
        .par_iter()
        .enumerate()
        .map(|(column, feature)| match feature.kind {
            FeatureKind::Categorical { categories } => {
                if (1..=255).contains(&categories) {
                    Ok(FeatureBins::Categorical { categories })
                } else {
                    Err(TrainError::TooManyCategories { feature: feature.name.clone(), categories })
                }
            }
            FeatureKind::Numeric => {
                let mut values: Vec<f32> = sample
                    .iter()
                    .map(|&row| table.features[row * width + column])
                    .filter(|value| !value.is_nan())
                    .collect();
                values.sort_unstable_by(f32::total_cmp);
                Ok(FeatureBins::Numeric { cuts: quantile_cuts(&values, value_bins) })
            }
        })
        .collect()
}

/// Cuts splitting sorted non-NaN `values` into at most `value_bins` bins of similar counts.
/// Every cut is a distinct value that starts a bin, so heavy values get bins of their own.
fn quantile_cuts(values: &[f32], value_bins: usize) -> Vec<f32> {
    let mut distinct: Vec<(f32, usize)> = Vec::new();
    for &value in values {
        match distinct.last_mut() {
            // `==` merges -0.0 and 0.0, which compare equal at prediction too.
            Some((last, count)) if *last == value => *count += 1,
            _ => distinct.push((value, 1)),
        }
    }
    if distinct.len() <= value_bins {
        return distinct.iter().skip(1).map(|&(value, _)| value).collect();
    }
    let total = values.len();
    let mut cuts = Vec::with_capacity(value_bins - 1);
    let mut before = 0;
    let mut next = 1;
    for (index, &(value, count)) in distinct.iter().enumerate() {
        if index > 0 && next < value_bins && before * value_bins >= next * total {
            cuts.push(value);
            while next < value_bins && before * value_bins >= next * total {
                next += 1;
            }
        }
        before += count;
    }
    cuts
}

/// Bins every value of the table, in parallel over fixed row chunks.
pub(crate) fn bin_features(table: &Table, features: Vec<FeatureBins>) -> BinnedTable {
    let width = table.schema.len();
    let mut bins = vec![MISSING_BIN; table.features.len()];
    if width > 0 {
        let chunk_rows = 4096;
        bins.par_chunks_mut(chunk_rows * width).zip(table.features.par_chunks(chunk_rows * width)).for_each(
            |(out, values)| {
                for (out_row, row) in out.chunks_exact_mut(width).zip(values.chunks_exact(width)) {
                    for ((out, &value), feature) in out_row.iter_mut().zip(row).zip(&features) {
                        *out = feature.bin(value);
                    }
                }
            },
        );
    }
    BinnedTable::new(bins, width, features)
}

#[cfg(test)]
mod tests {
    use marquee_model::gbdt::{Feature, FeatureSchema};

    use super::*;

    #[test]
    fn few_distinct_values_get_one_bin_each() {
        let cuts = quantile_cuts(&[1.0, 1.0, 2.0, 5.0, 5.0], 255);
        assert_eq!(cuts, vec![2.0, 5.0]);
        let bins = FeatureBins::Numeric { cuts };
        assert_eq!([0.5, 1.0, 1.5, 2.0, 4.9, 5.0, 9.0].map(|v| bins.bin(v)), [1, 1, 1, 2, 2, 3, 3]);
        assert_eq!(bins.bin(f32::NAN), MISSING_BIN);
    }

    #[test]
    fn many_values_get_quantile_bins_whose_cuts_reproduce_the_split() {
        let values: Vec<f32> = (0..10_000).map(|i| i as f32 * 0.5).collect();
        let cuts = quantile_cuts(&values, 16);
        assert_eq!(cuts.len(), 15);
        assert!(cuts.windows(2).all(|w| w[0] < w[1]));
        let bins = FeatureBins::Numeric { cuts: cuts.clone() };
        let mut counts = [0usize; 17];
        for &value in &values {
            let bin = bins.bin(value) as usize;
            counts[bin] += 1;
            // The split "bins 1..=b go left" is `value < cuts[b - 1]`.
            for b in 1..=cuts.len() {
                assert_eq!(bin <= b, value < cuts[b - 1]);
            }
        }
        assert!(counts[1..].iter().all(|&count| count == 625), "{counts:?}");
    }

    #[test]
    fn heavy_values_and_categories() {
        let mut values = vec![0.0f32; 900];
        values.extend((1..=100).map(|i| i as f32));
        let cuts = quantile_cuts(&values, 4);
        assert_eq!(cuts[0], 1.0, "the heavy zero keeps a bin of its own: {cuts:?}");
        let schema = FeatureSchema {
            features: vec![Feature { name: "genre".into(), kind: FeatureKind::Categorical { categories: 3 } }],
        };
        let table = Table::new(schema, vec![0.0, 2.0, 3.0, -1.0, 1.5, f32::NAN], vec![0.0; 6], None).unwrap();
        let stats = compute_bin_stats(&table, 256, 0).unwrap();
        let binned = bin_features(&table, stats);
        assert_eq!(binned.bins, vec![1, 3, 0, 0, 0, 0]);
    }

    #[test]
    fn too_many_categories_is_an_error() {
        let schema = FeatureSchema {
            features: vec![Feature { name: "id".into(), kind: FeatureKind::Categorical { categories: 300 } }],
        };
        let table = Table::new(schema, vec![1.0], vec![0.0], None).unwrap();
        assert!(matches!(compute_bin_stats(&table, 256, 0), Err(TrainError::TooManyCategories { .. })));
    }
}

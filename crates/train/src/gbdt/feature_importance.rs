//! Feature importance, as XGBoost reports it: per feature, the loss reduction, hessian
//! cover and number of the splits that use it.

use serde::{Deserialize, Serialize};

/// Per-feature totals over every split of the (possibly early-stopped) ensemble.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FeatureImportance {
    /// Total loss reduction of the feature's splits (XGBoost's `total_gain`).
    pub gain: Vec<f32>,
    /// Total hessian sum of the nodes the feature splits (XGBoost's `total_cover`).
    pub cover: Vec<f32>,
    /// How many splits use the feature (XGBoost's `weight`).
    pub frequency: Vec<u32>,
}

impl FeatureImportance {
    /// Sums (feature, gain, cover) split records over `features` columns.
    pub(crate) fn from_splits<'a>(features: usize, splits: impl IntoIterator<Item = &'a (usize, f64, f64)>) -> Self {
        let mut gain = vec![0.0f64; features];
        let mut cover = vec![0.0f64; features];
        let mut frequency = vec![0u32; features];
        for &(feature, split_gain, split_cover) in splits {
            gain[feature] += split_gain;
            cover[feature] += split_cover;
            frequency[feature] += 1;
        }
        FeatureImportance {
            gain: gain.into_iter().map(|g| g as f32).collect(),
            cover: cover.into_iter().map(|c| c as f32).collect(),
            frequency,
        }
    }

    /// Gain per split (XGBoost's default `gain` importance); 0 for unused features.
    pub fn average_gain(&self) -> Vec<f32> {
        average(&self.gain, &self.frequency)
    }

    /// Cover per split (XGBoost's `cover` importance); 0 for unused features.
    pub fn average_cover(&self) -> Vec<f32> {
        average(&self.cover, &self.frequency)
    }
}

fn average(totals: &[f32], counts: &[u32]) -> Vec<f32> {
    totals.iter().zip(counts).map(|(&total, &count)| if count == 0 { 0.0 } else { total / count as f32 }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_and_averages() {
        let importance = FeatureImportance::from_splits(3, &[(0, 4.0, 10.0), (2, 1.0, 3.0), (0, 2.0, 6.0)]);
        assert_eq!(importance.gain, vec![6.0, 0.0, 1.0]);
        assert_eq!(importance.cover, vec![16.0, 0.0, 3.0]);
        assert_eq!(importance.frequency, vec![2, 0, 1]);
        assert_eq!(importance.average_gain(), vec![3.0, 0.0, 1.0]);
        assert_eq!(importance.average_cover(), vec![8.0, 0.0, 3.0]);
    }
}

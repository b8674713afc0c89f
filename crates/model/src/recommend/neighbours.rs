//! Item-to-item neighbour lists: for each catalog movie, the movies most associated with
//! it and how strongly. A user's neighbour score for a movie is the sum of the weights
//! from every movie in their history to it, so serving needs only the short lists, never a
//! dense item × item matrix (the built-in world's 27,000 movies would make that 2.9 GB).
//!
//! Weights are stored as `u16` steps of one catalog-wide scale: the lists are the larger
//! part of the catalog, and 16 bits keep the order of any two weights that differ by more
//! than 1/65,535 of the largest.

use serde::{Deserialize, Serialize};

use crate::ModelError;

/// The quantisation's top step.
const MAX_STEP: f32 = u16::MAX as f32;

/// Up to k neighbours per catalog movie, in compressed-row form.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ItemNeighbours {
    /// `offsets[i]..offsets[i + 1]` are movie `i`'s neighbours in `items` and `weights`;
    /// empty when there are no lists at all (every neighbour score is then 0).
    pub offsets: Vec<u32>,
    /// Catalog indices of the neighbours, each movie's strongest first.
    pub items: Vec<u32>,
    /// Each neighbour's weight in steps of `scale`, in the order of `items`.
    pub weights: Vec<u16>,
    /// The weight one step stands for.
    pub scale: f32,
}

impl ItemNeighbours {
    /// Builds the lists from one list of `(neighbour, weight)` per movie. Weights that are
    /// not positive and finite, self-references and out-of-range neighbours are dropped;
    /// each list is sorted strongest first.
    pub fn from_lists(lists: &[Vec<(u32, f32)>]) -> Result<ItemNeighbours, ModelError> {
        let items = lists.len();
        let keep = |item: usize, &(neighbour, weight): &(u32, f32)| {
            neighbour as usize != item && (neighbour as usize) < items && weight.is_finite() && weight > 0.0
        };
        let largest = lists
            .iter()
            .enumerate()
            .flat_map(|(item, list)| list.iter().filter(move |entry| keep(item, entry)).map(|&(_, weight)| weight))
            .fold(0.0f32, f32::max);
        let scale = if largest > 0.0 { largest / MAX_STEP } else { 1.0 };
        let mut neighbours =
            ItemNeighbours { offsets: Vec::with_capacity(items + 1), items: Vec::new(), weights: Vec::new(), scale };
        neighbours.offsets.push(0);
        for (item, list) in lists.iter().enumerate() {
            let mut kept: Vec<(u32, u16)> = list
                .iter()
                .filter(|entry| keep(item, entry))
                .map(|&(neighbour, weight)| (neighbour, (weight / scale).round().clamp(1.0, MAX_STEP) as u16))
                .collect();
            kept.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            kept.dedup_by_key(|entry| entry.0);
            neighbours.items.extend(kept.iter().map(|entry| entry.0));
            neighbours.weights.extend(kept.iter().map(|entry| entry.1));
            let end = u32::try_from(neighbours.items.len())
                .map_err(|_| ModelError::InvalidModel("more than 4 billion neighbour entries".into()))?;
            neighbours.offsets.push(end);
        }
        Ok(neighbours)
    }

    /// Whether there are no lists (a catalog fitted without neighbours).
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The number of stored (movie, neighbour) pairs.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Movie `item`'s neighbours and their weights, strongest first (none when out of range).
    pub fn of(&self, item: usize) -> impl Iterator<Item = (u32, f32)> + '_ {
        let range = match (self.offsets.get(item), self.offsets.get(item.wrapping_add(1))) {
            (Some(&start), Some(&end)) if start <= end => start as usize..end as usize,
            _ => 0..0,
        };
        let items = self.items.get(range.clone()).unwrap_or(&[]);
        let weights = self.weights.get(range).unwrap_or(&[]);
        items.iter().zip(weights).map(|(&neighbour, &step)| (neighbour, f32::from(step) * self.scale))
    }

    /// Adds, for every movie in `history`, its weights to its neighbours' entries of
    /// `scores` (one entry per catalog movie; neighbours past its end are skipped).
    pub fn score_history(&self, history: &[u32], scores: &mut [f32]) {
        for &seen in history {
            for (neighbour, weight) in self.of(seen as usize) {
                if let Some(score) = scores.get_mut(neighbour as usize) {
                    *score += weight;
                }
            }
        }
    }

    /// The same sums as [`ItemNeighbours::score_history`], added in the same order (so bit
    /// for bit equal), for only the movies `history` points at: `(movie, score)` sorted by
    /// movie. For a short history this costs its lists' length, not the catalog's.
    pub fn sparse_scores(&self, history: &[u32]) -> Vec<(u32, f32)> {
        let mut pairs: Vec<(u32, f32)> = history.iter().flat_map(|&seen| self.of(seen as usize)).collect();
        // Stable: a movie's weights stay in history order, the order the dense sum adds them.
        pairs.sort_by_key(|&(movie, _)| movie);
        let mut sums: Vec<(u32, f32)> = Vec::with_capacity(pairs.len());
        for (movie, weight) in pairs {
            match sums.last_mut() {
                Some((last, sum)) if *last == movie => *sum += weight,
                // From 0.0, as the dense scores start.
                _ => sums.push((movie, 0.0 + weight)),
            }
        }
        sums
    }

    /// Checks the lists against a catalog of `items` movies, so that lookups never miss.
    pub fn validate(&self, items: usize) -> Result<(), ModelError> {
        if self.offsets.is_empty() && self.items.is_empty() && self.weights.is_empty() {
            return Ok(());
        }
        if self.offsets.len() != items + 1 {
            return Err(ModelError::LengthMismatch {
                what: "neighbour offsets",
                expected: items + 1,
                got: self.offsets.len(),
            });
        }
        if self.weights.len() != self.items.len() {
            return Err(ModelError::LengthMismatch {
                what: "neighbour weights",
                expected: self.items.len(),
                got: self.weights.len(),
            });
        }
        if self.offsets.first() != Some(&0)
            || self.offsets.windows(2).any(|pair| matches!(pair, [a, b] if a > b))
            || self.offsets.last().map(|&end| end as usize) != Some(self.items.len())
        {
            return Err(ModelError::InvalidModel("the neighbour offsets are out of order".into()));
        }
        if self.items.iter().any(|&item| item as usize >= items) {
            return Err(ModelError::InvalidModel("a neighbour list names a movie outside the catalog".into()));
        }
        if !(self.scale.is_finite() && self.scale > 0.0) {
            return Err(ModelError::InvalidModel(format!("the neighbour scale is {}", self.scale)));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_keep_positive_weights_strongest_first_and_score_a_history() {
        let lists = vec![vec![(1, 0.5), (2, 1.0), (0, 9.0), (7, 3.0)], vec![(2, 0.25), (0, -1.0)], vec![]];
        let neighbours = ItemNeighbours::from_lists(&lists).unwrap();
        neighbours.validate(3).unwrap();
        let first: Vec<u32> = neighbours.of(0).map(|(item, _)| item).collect();
        assert_eq!(first, vec![2, 1], "self-references and out-of-range movies are dropped");
        assert_eq!(neighbours.of(1).count(), 1, "negative weights are dropped");
        assert_eq!(neighbours.of(99).count(), 0);
        let mut scores = vec![0.0f32; 3];
        neighbours.score_history(&[0, 1], &mut scores);
        assert_eq!(scores[0], 0.0);
        assert!((scores[1] - 0.5).abs() < 1e-4);
        assert!((scores[2] - 1.25).abs() < 1e-4);
        // The sparse sums are the dense ones, bit for bit, for the movies pointed at only.
        let sparse = neighbours.sparse_scores(&[0, 1, 0]);
        let mut dense = vec![0.0f32; 3];
        neighbours.score_history(&[0, 1, 0], &mut dense);
        assert_eq!(sparse.iter().map(|&(movie, _)| movie).collect::<Vec<_>>(), vec![1, 2]);
        for (movie, score) in sparse {
            assert_eq!(score.to_bits(), dense[movie as usize].to_bits(), "movie {movie}");
        }
        assert!(neighbours.sparse_scores(&[]).is_empty() && neighbours.sparse_scores(&[99]).is_empty());
    }

    #[test]
    fn malformed_lists_are_refused() {
        let good = ItemNeighbours::from_lists(&[vec![(1, 1.0)], vec![(0, 1.0)]]).unwrap();
        assert!(good.validate(2).is_ok());
        assert!(good.validate(3).is_err(), "a list per movie");
        assert!(ItemNeighbours::default().validate(5).is_ok(), "no lists at all is allowed");
        let mut outside = good.clone();
        outside.items[0] = 2;
        assert!(outside.validate(2).is_err());
        let mut unordered = good.clone();
        unordered.offsets = vec![0, 2, 1];
        assert!(unordered.validate(2).is_err());
        let mut short = good.clone();
        short.weights.pop();
        assert!(short.validate(2).is_err());
        let mut bad_scale = good;
        bad_scale.scale = f32::NAN;
        assert!(bad_scale.validate(2).is_err());
    }
}

//! The neighbourhood source's fit: item-to-item weights from who interacted with what,
//! pruned to each movie's strongest `per_item` neighbours for serving.
//!
//! Two methods, chosen by catalog size ([`NeighbourMethod::Auto`]):
//! - **EASE** (Steck, 2019): the closed-form ridge regression of each movie's column of the
//!   user × movie matrix X on all the other columns, `B = I − P·diag(1/diag P)` with
//!   `P = (XᵀX + λI)⁻¹` and a zero diagonal. It is the stronger of the two on MovieLens,
//!   but inverting the Gram matrix costs O(n³) time and O(n²) memory, so it is used up to
//!   [`NeighbourParams::ease_max_items`] movies (3,000 by default: ~2 s on two cores).
//! - **Item-kNN**: cosine similarity of the movies' user sets with shrinkage,
//!   `c_ij / (√(n_i·n_j) + shrinkage)`, which needs only the co-occurrence counts of movies
//!   watched by the same user, so it scales to the built-in world's 27,000 movies.

use marquee_model::recommend::ItemNeighbours;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::validate::invalid;
use crate::TrainError;

/// Which neighbour weights to fit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum NeighbourMethod {
    /// EASE up to [`NeighbourParams::ease_max_items`] movies, item-kNN above.
    Auto,
    /// Always EASE (refused above [`NeighbourParams::ease_max_items`] movies).
    Ease,
    /// Always item-kNN cosine with shrinkage.
    ItemKnn,
}

/// The neighbour lists' parameters.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct NeighbourParams {
    /// The method; see [`NeighbourMethod`].
    pub method: NeighbourMethod,
    /// How many neighbours are kept per movie (0: no lists at all, and no neighbour source).
    pub per_item: usize,
    /// EASE's ridge penalty λ, added to the Gram matrix's diagonal; must be positive.
    pub ease_lambda: f64,
    /// The most movies EASE is used for (its cost grows with the cube of the count).
    pub ease_max_items: usize,
    /// Item-kNN's shrinkage: pairs seen together by few users are pulled towards 0.
    pub shrinkage: f64,
}

impl Default for NeighbourParams {
    fn default() -> Self {
        NeighbourParams {
            method: NeighbourMethod::Auto,
            per_item: 100,
            ease_lambda: 200.0,
            ease_max_items: 3_000,
            shrinkage: 20.0,
        }
    }
}

impl NeighbourParams {
    /// Checks the penalty and shrinkage (the counts may be anything).
    pub fn validate(&self) -> Result<(), TrainError> {
        if !(self.ease_lambda.is_finite() && self.ease_lambda > 0.0) {
            return Err(invalid("ease_lambda", format!("must be a positive number, got {}", self.ease_lambda)));
        }
        if !(self.shrinkage.is_finite() && self.shrinkage >= 0.0) {
            return Err(invalid("shrinkage", format!("must be 0 or more, got {}", self.shrinkage)));
        }
        Ok(())
    }

    /// Whether EASE is the method for a catalog of `items` movies.
    pub fn uses_ease(&self, items: usize) -> bool {
        match self.method {
            NeighbourMethod::Auto => items <= self.ease_max_items,
            NeighbourMethod::Ease => true,
            NeighbourMethod::ItemKnn => false,
        }
    }
}

/// Fits the lists on `(user, item)` pairs (duplicates count once) over `users` users and
/// `items` movies.
pub fn fit_neighbours(
    pairs: &[(u32, u32)],
    users: usize,
    items: usize,
    params: &NeighbourParams,
) -> Result<ItemNeighbours, TrainError> {
    params.validate()?;
    if params.per_item == 0 || items == 0 {
        return Ok(ItemNeighbours::default());
    }
    let histories = histories(pairs, users, items);
    let lists = if params.uses_ease(items) {
        if items > params.ease_max_items {
            return Err(invalid(
                "method",
                format!("EASE on {items} movies is over ease_max_items ({})", params.ease_max_items),
            ));
        }
        ease_lists(&histories, items, params)
    } else {
        knn_lists(&histories, items, params)
    };
    Ok(ItemNeighbours::from_lists(&lists)?)
}

/// Each user's distinct movies, sorted; pairs naming a user or movie out of range are
/// skipped.
fn histories(pairs: &[(u32, u32)], users: usize, items: usize) -> Vec<Vec<u32>> {
    let mut histories = vec![Vec::new(); users];
    for &(user, item) in pairs {
        if (item as usize) < items {
            if let Some(history) = histories.get_mut(user as usize) {
                history.push(item);
            }
        }
    }
    for history in &mut histories {
        history.sort_unstable();
        history.dedup();
    }
    histories
}

/// EASE's weights, row `i` holding movie `i`'s contributions to every other movie.
fn ease_lists(histories: &[Vec<u32>], items: usize, params: &NeighbourParams) -> Vec<Vec<(u32, f32)>> {
    let mut gram = vec![0.0f64; items * items];
    for history in histories {
        for &a in history {
            let row = &mut gram[a as usize * items..(a as usize + 1) * items];
            for &b in history {
                row[b as usize] += 1.0;
            }
        }
    }
    for item in 0..items {
        gram[item * items + item] += params.ease_lambda;
    }
    invert_in_place(&mut gram, items);
    let precision = gram;
    // B_ij = −P_ij / P_jj off the diagonal; P is symmetric, so row i of B is read along row i.
    (0..items)
        .into_par_iter()
        .map(|i| {
            let row = &precision[i * items..(i + 1) * items];
            let weights: Vec<(u32, f32)> = row
                .iter()
                .enumerate()
                .filter(|&(j, _)| j != i)
                .map(|(j, &p)| (j as u32, (-p / precision[j * items + j]) as f32))
                .collect();
            strongest(weights, params.per_item)
        })
        .collect()
}

/// Inverts the symmetric positive-definite `n × n` matrix `a` (row-major) in place by
/// Gauss–Jordan elimination. No pivoting is needed: the ridge keeps every pivot positive.
fn invert_in_place(a: &mut [f64], n: usize) {
    let mut pivot_row = vec![0.0f64; n];
    for k in 0..n {
        let pivot = a[k * n + k];
        a[k * n + k] = 1.0;
        for value in &mut a[k * n..(k + 1) * n] {
            *value /= pivot;
        }
        pivot_row.copy_from_slice(&a[k * n..(k + 1) * n]);
        a.par_chunks_mut(n).enumerate().filter(|&(i, _)| i != k).for_each(|(_, row)| {
            let factor = row[k];
            if factor != 0.0 {
                row[k] = 0.0;
                for (value, &p) in row.iter_mut().zip(&pivot_row) {
                    *value -= factor * p;
                }
            }
        });
    }
}

/// Item-kNN cosine with shrinkage: per movie, the co-occurrence counts with every movie
/// its users also interacted with.
fn knn_lists(histories: &[Vec<u32>], items: usize, params: &NeighbourParams) -> Vec<Vec<(u32, f32)>> {
    let mut watchers: Vec<Vec<u32>> = vec![Vec::new(); items];
    for (user, history) in histories.iter().enumerate() {
        for &item in history {
            watchers[item as usize].push(user as u32);
        }
    }
    let counts: Vec<f64> = watchers.iter().map(|users| users.len() as f64).collect();
    (0..items)
        .into_par_iter()
        .map_init(
            || (vec![0u32; items], Vec::new()),
            |(together, touched), i| {
                for &user in &watchers[i] {
                    for &j in &histories[user as usize] {
                        if together[j as usize] == 0 {
                            touched.push(j);
                        }
                        together[j as usize] += 1;
                    }
                }
                let weights: Vec<(u32, f32)> = touched
                    .iter()
                    .filter(|&&j| j as usize != i)
                    .map(|&j| {
                        let both = f64::from(together[j as usize]);
                        let norm = (counts[i] * counts[j as usize]).sqrt() + params.shrinkage;
                        (j, (both / norm) as f32)
                    })
                    .collect();
                for &j in touched.iter() {
                    together[j as usize] = 0;
                }
                touched.clear();
                strongest(weights, params.per_item)
            },
        )
        .collect()
}

/// The `count` largest positive weights, strongest first (ties by movie).
fn strongest(mut weights: Vec<(u32, f32)>, count: usize) -> Vec<(u32, f32)> {
    weights.retain(|&(_, weight)| weight > 0.0 && weight.is_finite());
    let better = |a: &(u32, f32), b: &(u32, f32)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
    if weights.len() > count {
        weights.select_nth_unstable_by(count, better);
        weights.truncate(count);
    }
    weights.sort_by(better);
    weights
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Movies 0 and 1 are always watched together, as are 2 and 3; movie 4 goes with
    /// anything. Users 0–5 watch {0, 1} (some also 4), users 6–11 watch {2, 3}.
    fn pairs() -> Vec<(u32, u32)> {
        let mut pairs = Vec::new();
        for user in 0..6 {
            pairs.extend([(user, 0), (user, 1)]);
            pairs.extend([(user + 6, 2), (user + 6, 3)]);
            if user % 2 == 0 {
                pairs.extend([(user, 4), (user + 6, 4)]);
            }
        }
        pairs
    }

    fn best_neighbour(neighbours: &ItemNeighbours, item: usize) -> Option<u32> {
        neighbours.of(item).next().map(|(neighbour, _)| neighbour)
    }

    #[test]
    fn both_methods_find_the_movie_always_watched_with_another() {
        for method in [NeighbourMethod::Ease, NeighbourMethod::ItemKnn] {
            let params =
                NeighbourParams { method, per_item: 2, ease_lambda: 1.0, shrinkage: 0.0, ..Default::default() };
            let neighbours = fit_neighbours(&pairs(), 12, 5, &params).unwrap();
            neighbours.validate(5).unwrap();
            for (item, partner) in [(0, 1), (1, 0), (2, 3), (3, 2)] {
                assert_eq!(best_neighbour(&neighbours, item), Some(partner), "{method:?}, movie {item}");
            }
            assert!(neighbours.of(0).all(|(neighbour, _)| neighbour != 2 && neighbour != 3), "{method:?}");
            assert!(neighbours.of(0).count() <= 2);
            // A {0} history points at 1 first.
            let mut scores = vec![0.0f32; 5];
            neighbours.score_history(&[0], &mut scores);
            let best = (0..5).max_by(|&a, &b| scores[a].total_cmp(&scores[b])).unwrap();
            assert_eq!(best, 1, "{method:?}: {scores:?}");
        }
    }

    #[test]
    fn the_inverse_times_the_matrix_is_the_identity() {
        let n = 3;
        let matrix = [4.0, 1.0, 0.5, 1.0, 3.0, 0.25, 0.5, 0.25, 2.0];
        let mut inverse = matrix.to_vec();
        invert_in_place(&mut inverse, n);
        for i in 0..n {
            for j in 0..n {
                let product: f64 = (0..n).map(|k| matrix[i * n + k] * inverse[k * n + j]).sum();
                assert!((product - if i == j { 1.0 } else { 0.0 }).abs() < 1e-12, "({i}, {j}): {product}");
            }
        }
    }

    #[test]
    fn auto_switches_to_knn_on_large_catalogs_and_bad_parameters_are_refused() {
        let params = NeighbourParams { ease_max_items: 4, ..NeighbourParams::default() };
        assert!(params.uses_ease(4));
        assert!(!params.uses_ease(5));
        let forced = NeighbourParams { method: NeighbourMethod::Ease, ..params };
        assert!(fit_neighbours(&pairs(), 12, 5, &forced).is_err(), "EASE over its limit is refused");
        assert!(fit_neighbours(&pairs(), 12, 5, &params).is_ok());
        let none = NeighbourParams { per_item: 0, ..params };
        assert!(fit_neighbours(&pairs(), 12, 5, &none).unwrap().is_empty());
        for bad in [
            NeighbourParams { ease_lambda: 0.0, ..params },
            NeighbourParams { ease_lambda: f64::NAN, ..params },
            NeighbourParams { shrinkage: -1.0, ..params },
        ] {
            assert!(fit_neighbours(&pairs(), 12, 5, &bad).is_err(), "{bad:?}");
        }
    }
}

//! The classic per-user and per-movie aggregate features of a rating model: how many
//! ratings the user and the movie have, their mean and their standard deviation.
//!
//! They come from the training ratings only. A training row's own rating is left out of
//! its own aggregates (leave-one-out), so the label never leaks into its features; a test
//! row sees the aggregates of all training ratings, as a served prediction would.

use marquee_model::blend::rating_stats;

/// The aggregate columns, in order.
pub const AGGREGATE_FEATURES: [&str; 6] =
    ["user_count", "user_mean", "user_std", "movie_count", "movie_mean", "movie_std"];

/// Running count, sum and sum of squares of one user's or movie's training ratings.
#[derive(Clone, Copy, Default)]
struct Sums {
    count: f64,
    sum: f64,
    squares: f64,
}

impl Sums {
    fn add(&mut self, rating: f32) {
        let r = f64::from(rating);
        self.count += 1.0;
        self.sum += r;
        self.squares += r * r;
    }

    /// `[count, mean, std]`, optionally without one rating; NaN mean and spread when empty.
    fn stats(self, without: Option<f32>) -> [f32; 3] {
        let mut sums = self;
        if let Some(rating) = without {
            let r = f64::from(rating);
            sums.count -= 1.0;
            sums.sum -= r;
            sums.squares -= r * r;
        }
        if sums.count < 0.5 {
            return rating_stats(std::iter::empty());
        }
        let mean = sums.sum / sums.count;
        [sums.count as f32, mean as f32, (sums.squares / sums.count - mean * mean).max(0.0).sqrt() as f32]
    }
}

/// Per-user and per-movie sums over the training ratings (user index, item index, rating).
pub struct RatingAggregates {
    users: Vec<Sums>,
    items: Vec<Sums>,
}

impl RatingAggregates {
    /// Sums the training ratings; indices at or above `n_users` / `n_items` are ignored.
    pub fn new(train: &[(u32, u32, f32)], n_users: usize, n_items: usize) -> Self {
        let (mut users, mut items) = (vec![Sums::default(); n_users], vec![Sums::default(); n_items]);
        for &(u, i, r) in train {
            if let Some(sums) = users.get_mut(u as usize) {
                sums.add(r);
            }
            if let Some(sums) = items.get_mut(i as usize) {
                sums.add(r);
            }
        }
        RatingAggregates { users, items }
    }

    /// The row of [`AGGREGATE_FEATURES`] for a training rating, leaving it out of its own
    /// user's and movie's aggregates.
    pub fn training_row(&self, user: u32, item: u32, rating: f32) -> [f32; 6] {
        self.row(user, item, Some(rating))
    }

    /// The row of [`AGGREGATE_FEATURES`] for a pair outside the training ratings.
    pub fn test_row(&self, user: u32, item: u32) -> [f32; 6] {
        self.row(user, item, None)
    }

    fn row(&self, user: u32, item: u32, without: Option<f32>) -> [f32; 6] {
        let empty = rating_stats(std::iter::empty());
        let u = self.users.get(user as usize).map_or(empty, |sums| sums.stats(without));
        let i = self.items.get(item as usize).map_or(empty, |sums| sums.stats(without));
        [u[0], u[1], u[2], i[0], i[1], i[2]]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn training_rows_leave_their_own_rating_out() {
        let train = [(0, 0, 5.0), (0, 1, 3.0), (1, 0, 1.0)];
        let aggregates = RatingAggregates::new(&train, 2, 2);
        // User 0 without the 5: one rating of 3; movie 0 without the 5: one rating of 1.
        assert_eq!(aggregates.training_row(0, 0, 5.0), [1.0, 3.0, 0.0, 1.0, 1.0, 0.0]);
        // A test pair sees everything: user 0 has 5 and 3, movie 1 has 3.
        assert_eq!(aggregates.test_row(0, 1), [2.0, 4.0, 1.0, 1.0, 3.0, 0.0]);
        // User 1's only rating left out: no evidence, a missing mean and spread.
        let row = aggregates.training_row(1, 0, 1.0);
        assert_eq!(row[0], 0.0);
        assert!(row[1].is_nan() && row[2].is_nan());
        // Changing a training row's label changes nothing in its own row's aggregates.
        let changed = RatingAggregates::new(&[(0, 0, 1.0), (0, 1, 3.0), (1, 0, 1.0)], 2, 2);
        assert_eq!(changed.training_row(0, 0, 1.0), aggregates.training_row(0, 0, 5.0));
        // Unknown indices give missing aggregates, never a panic.
        assert_eq!(aggregates.test_row(9, 9)[0], 0.0);
    }
}

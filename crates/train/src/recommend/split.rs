//! Train/test splits that never let the future leak into training.

use std::collections::HashSet;

use marquee_model::random::unit_hash;

use super::interactions::{Interaction, Interactions};
use crate::validate::share_below_one;
use crate::TrainError;

/// How [`time_split`] holds data out.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SplitParams {
    /// The share of each user's interactions, latest first, that is held out (at least one
    /// for a user with two or more); in `0..1`.
    pub holdout_fraction: f32,
    /// The share of users held out entirely, to measure cold start: their whole history is
    /// test data and training never sees them; in `0..1`.
    pub cold_user_fraction: f32,
    /// Chooses the cold users.
    pub seed: u64,
}

impl Default for SplitParams {
    fn default() -> Self {
        SplitParams { holdout_fraction: 0.2, cold_user_fraction: 0.1, seed: 0 }
    }
}

/// A split: training interactions, test interactions, and which users are cold (no
/// training history at all).
#[derive(Clone, Debug, Default)]
pub struct Split {
    pub train: Vec<Interaction>,
    pub test: Vec<Interaction>,
    /// Indexed by dense user index.
    pub cold_users: Vec<bool>,
}

/// Holds out each user's latest interactions, and every interaction of a seeded sample of
/// users. Both halves keep the input order (user, then time).
pub fn time_split(data: &Interactions, params: &SplitParams) -> Result<Split, TrainError> {
    split_events(&data.events, data.users.len(), params)
}

/// [`time_split`] over any interactions sorted by user then time (the trainer splits its
/// training half again this way to fit the ranker on data it has not seen).
pub fn split_events(events: &[Interaction], users: usize, params: &SplitParams) -> Result<Split, TrainError> {
    share_below_one("holdout_fraction", params.holdout_fraction)?;
    share_below_one("cold_user_fraction", params.cold_user_fraction)?;
    let mut split = Split { cold_users: vec![false; users], ..Split::default() };
    for user_events in events.chunk_by(|a, b| a.user == b.user) {
        let user = user_events[0].user as usize;
        let cold = unit_hash(params.seed, user as u64) < f64::from(params.cold_user_fraction);
        let held = if cold {
            user_events.len()
        } else if user_events.len() >= 2 {
            ((user_events.len() as f32 * params.holdout_fraction).round() as usize).clamp(1, user_events.len() - 1)
        } else {
            0
        };
        if let Some(flag) = split.cold_users.get_mut(user) {
            *flag = cold;
        }
        let (train, test) = user_events.split_at(user_events.len() - held);
        split.train.extend_from_slice(train);
        split.test.extend_from_slice(test);
    }
    Ok(split)
}

/// Scores a given test file: its (user, movie) pairs leave the training data, so that a
/// model is never trained on what it is tested on. Users with no training left are cold.
pub fn split_by_test_ratings(data: &Interactions, test: &[Interaction]) -> Split {
    let held: HashSet<(u32, u32)> = test.iter().map(|event| (event.user, event.item)).collect();
    let train: Vec<Interaction> =
        data.events.iter().filter(|event| !held.contains(&(event.user, event.item))).copied().collect();
    let mut cold_users = vec![true; data.users.len()];
    for event in &train {
        cold_users[event.user as usize] = false;
    }
    Split { train, test: test.to_vec(), cold_users }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data() -> Interactions {
        let mut data = Interactions::default();
        for user in 0..200u32 {
            for step in 0..5u32 {
                data.events.push(Interaction {
                    user,
                    item: (user + step) % 50,
                    time: i64::from(step) * 100,
                    rating: None,
                    watched: true,
                });
            }
        }
        data.users = (0..200).map(|id| marquee_data::User { user_id: id, ..Default::default() }).collect();
        data
    }

    #[test]
    fn the_test_half_is_each_users_latest() {
        let data = data();
        let split = time_split(&data, &SplitParams::default()).unwrap();
        assert_eq!(split.train.len() + split.test.len(), data.events.len());
        let cold = split.cold_users.iter().filter(|&&cold| cold).count();
        assert!((8..=35).contains(&cold), "{cold} cold users of 200");
        for user in 0..200u32 {
            let train_latest = split.train.iter().filter(|e| e.user == user).map(|e| e.time).max();
            let test_earliest = split.test.iter().filter(|e| e.user == user).map(|e| e.time).min();
            if split.cold_users[user as usize] {
                assert_eq!(train_latest, None);
            } else {
                assert!(train_latest < test_earliest, "user {user}: the test half must come later");
                assert_eq!(split.test.iter().filter(|e| e.user == user).count(), 1);
            }
        }
        assert!(time_split(&data, &SplitParams { holdout_fraction: 1.0, ..SplitParams::default() }).is_err());
    }

    #[test]
    fn a_test_file_removes_its_pairs_from_training() {
        let data = data();
        let test = vec![data.events[0], data.events[7]];
        let split = split_by_test_ratings(&data, &test);
        assert_eq!(split.train.len(), data.events.len() - 2);
        assert!(!split.train.contains(&data.events[0]));
    }
}

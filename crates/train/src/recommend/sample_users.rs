//! The one seeded sample of users, shared by the ranker's training groups and evaluation.

use marquee_model::random::unit_hash;

/// At most `limit` of `users` (dense indices, sorted), in ascending order: all of them when
/// they fit, else the `limit` with the lowest `unit_hash(seed, user)`.
pub fn sample_users(mut users: Vec<usize>, limit: usize, seed: u64) -> Vec<usize> {
    if users.len() > limit {
        users.sort_by(|&a, &b| unit_hash(seed, a as u64).total_cmp(&unit_hash(seed, b as u64)));
        users.truncate(limit);
        users.sort_unstable();
    }
    users
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_everyone_under_the_limit_and_a_seeded_sorted_sample_over_it() {
        let users: Vec<usize> = (0..100).collect();
        assert_eq!(sample_users(users.clone(), 100, 3), users);
        let sample = sample_users(users.clone(), 10, 3);
        assert_eq!(sample.len(), 10);
        assert!(sample.windows(2).all(|pair| pair[0] < pair[1]));
        assert_eq!(sample, sample_users(users.clone(), 10, 3));
        assert_ne!(sample, sample_users(users, 10, 4));
    }
}

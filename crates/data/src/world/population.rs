//! The users: ids, demographics skewed like a real service's, habits and join times.

use rand::Rng;
use rand_distr::{Distribution, WeightedAliasIndex};

use super::config::WorldConfig;
use super::names::{OCCUPATIONS, OCCUPATION_WEIGHTS};
use super::tastes::{normal, user_taste, UserTaste};
use crate::events::Timestamp;
use crate::records::{Gender, User};

/// The share of users whose accounts are created during the window (the last ids).
pub(super) const JOINING_SHARE: f64 = 0.2;

/// The mean of [`UserTaste::activity`]: watch sessions per user per day.
const MEAN_ACTIVITY: f64 = 0.2;

/// Age bands (first age, last age) and their shares: mostly 18 to 45.
const AGE_BANDS: [(u8, u8, f64); 8] = [
    (13, 15, 1.5),
    (16, 17, 3.0),
    (18, 24, 26.0),
    (25, 34, 35.0),
    (35, 44, 19.0),
    (45, 54, 8.5),
    (55, 64, 5.0),
    (65, 80, 2.0),
];

const NANOS_PER_SECOND: i64 = 1_000_000_000;

/// The share of a world's users who belong to a new cohort, when it has one.
pub(super) const COHORT_SHARE: f64 = 0.4;

/// How many of a world's `users` are the new cohort (none unless it drifts by one).
pub(super) fn cohort_size(config: &WorldConfig) -> usize {
    match config.drift {
        Some(super::WorldDrift { kind: super::DriftKind::NewCohort, .. }) => {
            ((f64::from(config.users) * COHORT_SHARE).round() as usize).min(config.users as usize)
        }
        _ => 0,
    }
}

/// Draws the world's usual users with their tastes, in increasing user-id order: all of
/// them, or all but the new cohort's when there is one.
pub(super) fn generate(config: &WorldConfig, rng: &mut impl Rng) -> (Vec<User>, Vec<UserTaste>) {
    let count = config.users as usize - cohort_size(config);
    let bands = WeightedAliasIndex::new(AGE_BANDS.iter().map(|b| b.2).collect()).ok();
    let occupations = WeightedAliasIndex::new(OCCUPATION_WEIGHTS.to_vec()).ok();
    let joiners = ((count as f64) * JOINING_SHARE).round() as usize;
    let first_joiner = count - joiners.min(count);
    let window = i64::from(config.days) * 86_400 * NANOS_PER_SECOND;
    // New accounts get the highest ids, in the order they joined.
    // Whole microseconds, like every other stream timestamp.
    let mut join_offsets: Vec<i64> = (0..joiners).map(|_| rng.gen_range(0..window / 1000) * 1000).collect();
    join_offsets.sort_unstable();
    // Heavy-tailed activity: log-normal with sigma 1.2, scaled so its mean is MEAN_ACTIVITY.
    let sigma = 1.2f64;
    let activity_scale = MEAN_ACTIVITY / (sigma * sigma / 2.0).exp();

    let mut users = Vec::with_capacity(count);
    let mut tastes = Vec::with_capacity(count);
    for index in 0..count {
        // Ids spread over 1..=3N, distinct and increasing, like a service that deletes accounts.
        let user_id = index as u64 * 3 + rng.gen_range(1..=3);
        let gender = match rng.gen_range(0..1000) {
            0..=699 => Some(Gender::Male),
            700..=979 => Some(Gender::Female),
            980..=989 => Some(Gender::Other),
            _ => None,
        };
        let (low, high, _) = bands.as_ref().map_or(AGE_BANDS[3], |b| AGE_BANDS[b.sample(rng)]);
        let age = rng.gen_range(low..=high);
        let occupation = if age < 22 && rng.gen_bool(0.75) {
            "student"
        } else if age >= 62 && rng.gen_bool(0.6) {
            "retired"
        } else {
            occupations.as_ref().map_or("other", |o| OCCUPATIONS[o.sample(rng)])
        };
        let mut taste = user_taste(rng, Some(age), gender);
        taste.activity = (activity_scale * (sigma * f64::from(normal(rng))).exp()).min(12.0) as f32;
        taste.rating_propensity = (0.15 + 0.8 * rng.gen::<f64>().powf(1.2)) as f32;
        taste.joined = match index.checked_sub(first_joiner) {
            Some(j) => Timestamp(config.start.0 + join_offsets.get(j).copied().unwrap_or(0)),
            // Existing accounts were created up to two years before the window.
            None => Timestamp(config.start.0 - rng.gen_range(1..730 * 86_400) * NANOS_PER_SECOND),
        };
        users.push(User { user_id, age: Some(age), gender, occupation: Some(occupation.to_string()) });
        tastes.push(taste);
    }
    (users, tastes)
}

/// How many times as active as the usual users the new cohort is.
const COHORT_ACTIVITY: f64 = 2.5;

/// Age bands of the new cohort: mostly 16 to 22.
const COHORT_AGE_BANDS: [(u8, u8, f64); 3] = [(13, 15, 15.0), (16, 22, 75.0), (23, 27, 10.0)];

/// Appends the new cohort to `users` and `tastes`: teenagers and young adults, mostly
/// students, 60% women, two and a half times as active as the rest, who create their accounts at
/// uniformly random times from the start of day `after_days` to the end of the window. Their
/// ids continue after the last user's.
pub(super) fn add_cohort(
    config: &WorldConfig,
    after_days: u32,
    users: &mut Vec<User>,
    tastes: &mut Vec<UserTaste>,
    rng: &mut impl Rng,
) {
    let count = cohort_size(config);
    let bands = WeightedAliasIndex::new(COHORT_AGE_BANDS.iter().map(|b| b.2).collect()).ok();
    let occupations = WeightedAliasIndex::new(OCCUPATION_WEIGHTS.to_vec()).ok();
    let day = 86_400 * NANOS_PER_SECOND;
    let from = i64::from(after_days) * day;
    let until = i64::from(config.days) * day;
    let mut join_offsets: Vec<i64> =
        (0..count).map(|_| from + rng.gen_range(0..((until - from) / 1000).max(1)) * 1000).collect();
    join_offsets.sort_unstable();
    let sigma = 1.2f64;
    let activity_scale = COHORT_ACTIVITY * MEAN_ACTIVITY / (sigma * sigma / 2.0).exp();
    let first_index = users.len();
    for (offset, join_offset) in join_offsets.into_iter().enumerate() {
        let index = first_index + offset;
        let user_id = index as u64 * 3 + rng.gen_range(1..=3);
        let gender = match rng.gen_range(0..100) {
            0..=59 => Some(Gender::Female),
            60..=96 => Some(Gender::Male),
            _ => Some(Gender::Other),
        };
        let (low, high, _) = bands.as_ref().map_or(COHORT_AGE_BANDS[1], |b| COHORT_AGE_BANDS[b.sample(rng)]);
        let age = rng.gen_range(low..=high);
        let occupation = if rng.gen_bool(0.85) {
            "student"
        } else {
            occupations.as_ref().map_or("other", |o| OCCUPATIONS[o.sample(rng)])
        };
        let mut taste = user_taste(rng, Some(age), gender);
        taste.activity = (activity_scale * (sigma * f64::from(normal(rng))).exp()).min(12.0) as f32;
        taste.rating_propensity = (0.15 + 0.8 * rng.gen::<f64>().powf(1.2)) as f32;
        taste.joined = Timestamp(config.start.0 + join_offset);
        users.push(User { user_id, age: Some(age), gender, occupation: Some(occupation.to_string()) });
        tastes.push(taste);
    }
}

//! Per-user profiles from training interactions only.

use marquee_model::mf::BiasedSvd;
use marquee_model::recommend::{Catalog, UserProfile, GENRE_COUNT, RECENT_HISTORY};

use super::build_catalog::{add_genres, genre_lift};
use super::interactions::{Interaction, Interactions};
use super::user_demographics;
use crate::mf::ImplicitFactors;

/// One profile per user in `data`, in dense-index order, from `train` sorted by user then
/// time (as the splits leave it). A user with no training interactions gets a cold profile
/// (demographics only); factors are kept only for users the factorisation learned from.
pub fn build_profiles(
    data: &Interactions,
    train: &[Interaction],
    catalog: &Catalog,
    svd: &BiasedSvd,
    implicit: &ImplicitFactors,
) -> Vec<UserProfile> {
    let mut all_genres = [0.0f64; GENRE_COUNT];
    for event in train {
        add_genres(catalog.movies[event.item as usize].genre_mask, &mut all_genres);
    }
    let all_total: f64 = all_genres.iter().sum();
    let mut profiles: Vec<UserProfile> = data
        .users
        .iter()
        .map(|user| UserProfile::cold(user.user_id, user_demographics(user, &catalog.occupations)))
        .collect();
    // Latest first: `train` is in time order within each user.
    for events in train.chunk_by(|a, b| a.user == b.user) {
        let recent = &mut profiles[events[0].user as usize].recent;
        for event in events.iter().rev() {
            if recent.len() == RECENT_HISTORY {
                break;
            }
            if !recent.contains(&event.item) {
                recent.push(event.item);
            }
        }
    }
    let mut sorted: Vec<&Interaction> = train.iter().collect();
    sorted.sort_by_key(|event| (event.user, event.item));
    for events in sorted.chunk_by(|a, b| a.user == b.user) {
        let user = events[0].user as usize;
        let profile = &mut profiles[user];
        let mut genres = [0.0f64; GENRE_COUNT];
        let (mut rating_sum, mut ratings) = (0.0f64, 0u32);
        for event in events {
            add_genres(catalog.movies[event.item as usize].genre_mask, &mut genres);
            if let Some(rating) = event.rating {
                rating_sum += f64::from(rating);
                ratings += 1;
            }
        }
        profile.interactions = events.len() as u32;
        profile.ratings = ratings;
        profile.mean_rating = if ratings > 0 { (rating_sum / f64::from(ratings)) as f32 } else { f32::NAN };
        profile.genre_affinity = genre_lift(&genres, &all_genres, all_total);
        profile.seen = events.iter().map(|event| event.item).collect();
        profile.seen.dedup();
        profile.implicit_factors = implicit.user_factors.row(user).to_vec();
        if ratings > 0 && user < svd.users() {
            profile.svd_bias = svd.user_bias[user];
            profile.svd_factors = svd.user_factors[user * svd.factors..(user + 1) * svd.factors].to_vec();
        }
    }
    profiles
}

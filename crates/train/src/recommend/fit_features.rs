//! What the ranker's features are computed from: both factorisations, the neighbour lists,
//! the catalog and the profiles, fitted on one set of interactions.

use marquee_model::mf::BiasedSvd;
use marquee_model::recommend::{Catalog, UserProfile};

use super::build_catalog::build_catalog;
use super::build_profiles::build_profiles;
use super::fit_neighbours::fit_neighbours;
use super::interactions::{Interaction, Interactions};
use super::params::ValidHybridParams;
use crate::mf::{fit_biased_svd, fit_bpr, ImplicitFactors, ValidBiasedSvdParams};
use crate::TrainError;

/// The factorisations, catalog and profiles fitted on one set of interactions.
pub struct FittedFeatures {
    /// The explicit factorisation (a neutral one when there are no ratings).
    pub svd: BiasedSvd,
    /// The implicit factorisation.
    pub implicit: ImplicitFactors,
    /// The catalog: movie aggregates, candidate lists and both item sides.
    pub catalog: Catalog,
    /// One profile per user of the data, in dense-index order.
    pub profiles: Vec<UserProfile>,
}

/// Fits the factorisations, catalog and profiles on `events` (sorted by user then time).
pub fn fit_features(
    data: &Interactions,
    events: &[Interaction],
    params: &ValidHybridParams,
) -> Result<FittedFeatures, TrainError> {
    let (users, items) = (data.users.len(), data.movies.len());
    let svd = fit_explicit(data, events, params.svd())?;
    let pairs: Vec<(u32, u32)> = events.iter().map(|event| (event.user, event.item)).collect();
    let implicit = fit_bpr(&pairs, users, items, params.bpr())?;
    let neighbours = fit_neighbours(&pairs, users, items, &params.params().neighbours)?;
    let catalog = build_catalog(data, events, &svd, &implicit, neighbours, params.catalog());
    let profiles = build_profiles(data, events, &catalog, &svd, &implicit);
    Ok(FittedFeatures { svd, implicit, catalog, profiles })
}

/// Biased SVD on the ratings among `events`, or, with no ratings at all (watch data only),
/// a neutral model that predicts the middle of the scale for everyone.
fn fit_explicit(
    data: &Interactions,
    events: &[Interaction],
    params: &ValidBiasedSvdParams,
) -> Result<BiasedSvd, TrainError> {
    let (users, items) = (data.users.len(), data.movies.len());
    let ratings: Vec<(u32, u32, f32)> =
        events.iter().filter_map(|event| event.rating.map(|rating| (event.user, event.item, rating))).collect();
    let (min_rating, max_rating) = data.rating_scale();
    if !ratings.is_empty() {
        return fit_biased_svd(&ratings, users, items, min_rating, max_rating, params);
    }
    let factors = params.params().factors;
    Ok(BiasedSvd {
        factors,
        global_mean: (min_rating + max_rating) / 2.0,
        min_rating,
        max_rating,
        user_bias: vec![0.0; users],
        item_bias: vec![0.0; items],
        user_factors: vec![0.0; users * factors],
        item_factors: vec![0.0; items * factors],
    })
}

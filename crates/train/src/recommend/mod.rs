//! Training the hybrid recommender and its parts from interactions: the data in one shape
//! ([`interactions`]), leak-free splits ([`split`]), the catalog and profiles built from
//! training data only, and the two-stage fit ([`fit_hybrid()`]) as a list of steps:
//! [`fit_features()`], `ranker_table`, `fit_rating_head`.

pub mod build_catalog;
pub mod build_profiles;
mod count_interactions;
pub mod fit_features;
pub mod fit_hybrid;
pub mod fit_neighbours;
mod fit_rating_head;
pub mod interactions;
pub mod params;
pub mod profile_shards;
pub mod ranker_table;
pub mod sample_users;
pub mod split;

pub use build_catalog::build_catalog;
pub use build_profiles::build_profiles;
pub use fit_features::{fit_features, FittedFeatures};
pub use fit_hybrid::{fit_hybrid, FittedHybrid};
pub use fit_neighbours::{fit_neighbours, NeighbourMethod, NeighbourParams};
pub use interactions::{Interaction, Interactions};
pub use params::{CatalogParams, HybridParams, ValidCatalogParams, ValidHybridParams, USERS_PER_SHARD};
pub use profile_shards::profile_shards;
pub use ranker_table::RankerTables;
pub use sample_users::sample_users;
pub use split::{split_by_test_ratings, time_split, Split, SplitParams};

use marquee_data::{Gender, User};
use marquee_model::recommend::{Demographics, GenderCode};

/// A user's demographics as the model crate codes them, with the occupation looked up in
/// the catalog's sorted list.
pub fn user_demographics(user: &User, occupations: &[String]) -> Demographics {
    Demographics {
        age: user.age,
        gender: user.gender.map(|gender| match gender {
            Gender::Male => GenderCode::Male,
            Gender::Female => GenderCode::Female,
            Gender::Other => GenderCode::Other,
        }),
        occupation: user
            .occupation
            .as_deref()
            .and_then(|name| occupations.binary_search_by(|code| code.as_str().cmp(name)).ok())
            .map(|code| code as u16),
    }
}

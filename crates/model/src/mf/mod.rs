//! Matrix-factorisation models: latent factors for users and items, scored by dot products.

pub mod biased_svd;

pub use biased_svd::BiasedSvd;

mod serialize;
pub(crate) mod serialize_rating;

pub use serialize::shape_hash;

pub mod item_knn;
pub mod svd_plus_plus;

pub use item_knn::ItemKnn;
pub use svd_plus_plus::SvdPlusPlus;

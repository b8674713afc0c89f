//! Matrix-factorisation models: latent factors for users and items, scored by dot products.

pub mod biased_svd;

pub use biased_svd::BiasedSvd;

mod serialize;

pub use serialize::shape_hash;

//! Matrix-factorisation trainers: they fit the models in [`marquee_model::mf`].

pub mod fit_biased_svd;

pub use fit_biased_svd::{fit_biased_svd, BiasedSvdParams, ValidBiasedSvdParams};

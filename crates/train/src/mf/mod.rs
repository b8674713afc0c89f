//! Matrix-factorisation trainers: explicit (biased SVD on ratings) and implicit (BPR on
//! interactions). They are scored by `marquee_model::mf` and `marquee_model::recommend`.

pub mod fit_biased_svd;
pub mod fit_bpr;
pub mod params;
mod sgd_blocks;

pub use fit_biased_svd::fit_biased_svd;
pub use fit_bpr::{fit_bpr, ImplicitFactors};
pub use params::{BiasedSvdParams, BprParams, ValidBiasedSvdParams, ValidBprParams};

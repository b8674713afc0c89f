//! Matrix-factorisation and neighbourhood trainers: explicit (biased SVD, SVD++ and item kNN
//! on ratings) and implicit (BPR on interactions). They are scored by `marquee_model::mf`
//! and `marquee_model::recommend`.

pub mod fit_biased_svd;
pub mod fit_bpr;
pub mod fit_item_knn;
pub mod fit_svd_plus_plus;
pub mod params;
#[cfg(target_arch = "x86_64")]
mod sgd_avx512;
mod sgd_blocks;

pub use fit_biased_svd::fit_biased_svd;
pub use fit_bpr::{fit_bpr, ImplicitFactors};
pub use fit_item_knn::fit_item_knn;
pub use fit_svd_plus_plus::fit_svd_plus_plus;
pub use params::{
    BiasedSvdParams, BprParams, ItemKnnParams, SvdPlusPlusParams, ValidBiasedSvdParams, ValidBprParams,
    ValidItemKnnParams, ValidSvdPlusPlusParams,
};

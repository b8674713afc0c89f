//! Marquee's native trainer.
//!
//! It reads the event store (`marquee_data::store`) and fits the models that
//! `marquee_model` serves: the gradient-boosted-tree engine ([`gbdt`]) and the matrix
//! factorisations. It is native-only: it may use threads and files.

pub mod batch_predict;
pub mod csv_table;
pub mod error;
pub mod evaluate;
pub mod gbdt;
pub mod import_xgboost;
pub mod mf;
mod prefetch;
pub mod rating_features;
pub mod recommend;

pub use error::TrainError;
pub use marquee_data as data;
pub use marquee_model as model;

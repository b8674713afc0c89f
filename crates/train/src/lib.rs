//! Marquee's native trainer.
//!
//! It fits the models that `marquee_model` serves: the gradient-boosted-tree engine
//! ([`gbdt`]), the matrix factorisations ([`mf`]) and the hybrid recommender
//! ([`recommend`]), from data it reads from the event store (`marquee_data::store`, with
//! the `store` feature) or is given. Every parameter set is checked once through
//! [`Validate`]. It is native-only: it may use threads and files.

pub mod batch_predict;
pub mod csv_table;
pub mod error;
pub mod evaluate;
pub mod gbdt;
pub mod import_xgboost;
pub mod mf;
mod prefetch;
pub mod rating_aggregates;
pub mod rating_blend;
pub mod rating_features;
pub mod recommend;
pub mod validate;

pub use error::TrainError;
pub use marquee_data as data;
pub use marquee_model as model;
pub use validate::{Checked, Validate};

//! Marquee's native trainer.
//!
//! It reads the event store (`marquee_data::store`) and fits the models that
//! `marquee_model` serves: the gradient-boosted-tree engine and the matrix factorisations
//! arrive with their own issues (#3, #4). It is native-only: it may use threads and files.

pub use marquee_data as data;
pub use marquee_model as model;

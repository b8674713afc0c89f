//! Gradient-boosted tree ensembles: the model every engine (Marquee's trainer, an imported
//! XGBoost model) produces and every runtime (native, workerd, the browser) predicts with.
//!
//! The steps, one file each: [`Ensemble`] is the data model, [`validate`] checks it,
//! `compile` flattens it for [`Predictor`], `serialize` stores it in a model blob, and
//! `contributions` explains a prediction feature by feature.

mod compile;
mod contributions;
mod ensemble;
mod predict;
mod serialize;
mod validate;

pub use contributions::SHAP_MAX_DEPTH;
pub use ensemble::{Ensemble, Feature, FeatureKind, FeatureSchema, Node, Objective, Tree, LEAF};
pub use predict::Predictor;
pub use validate::validate;

//! Gradient-boosted tree ensembles: the model every engine (Marquee's trainer, an imported
//! XGBoost model) produces and every runtime (native, workerd, the browser) predicts with.

mod ensemble;

pub use ensemble::{Ensemble, Feature, FeatureKind, FeatureSchema, Node, Objective, Tree, LEAF};

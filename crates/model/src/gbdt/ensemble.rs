//! The ensemble's data model: what the trainer writes, what the blob stores, what
//! validation checks and what inference reads.

use serde::{Deserialize, Serialize};

use crate::hash::Fnv64;

/// `Node::feature` of a leaf.
pub const LEAF: u32 = u32::MAX;

/// What the ensemble's raw sum (the margin) means, and so how it becomes a prediction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Objective {
    /// Regression on squared error (e.g. ratings): the prediction is the margin.
    SquaredError,
    /// Binary classification on log loss: the prediction is sigmoid(margin).
    Logistic,
    /// LambdaMART with pairwise lambdas: the prediction is a ranking score (the margin).
    RankPairwise,
    /// LambdaMART with NDCG-weighted lambdas: the prediction is a ranking score (the margin).
    RankNdcg,
}

/// How a feature's values are read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum FeatureKind {
    /// Any real number; NaN means missing.
    Numeric,
    /// A category code in `0..categories` stored as a float (`2.0`); NaN, negative,
    /// fractional or out-of-range codes are missing.
    Categorical {
        /// How many codes the feature has (`0..categories`).
        categories: u32,
    },
}

/// One input column.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Feature {
    /// The column's name, as the trainer and the importers call it.
    pub name: String,
    /// How the column's values are read.
    pub kind: FeatureKind,
}

/// The columns a model reads, in order. Its hash goes into the blob header so that a model
/// is never fed rows built for another schema.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FeatureSchema {
    /// The columns, in the order a row holds them.
    pub features: Vec<Feature>,
}

impl FeatureSchema {
    /// A schema of numeric features with these names.
    pub fn numeric<S: Into<String>>(names: impl IntoIterator<Item = S>) -> Self {
        let features =
            names.into_iter().map(|name| Feature { name: name.into(), kind: FeatureKind::Numeric }).collect();
        FeatureSchema { features }
    }

    /// How many columns a row must have.
    pub fn len(&self) -> usize {
        self.features.len()
    }

    /// True when the schema has no columns.
    pub fn is_empty(&self) -> bool {
        self.features.is_empty()
    }

    /// A stable 64-bit FNV-1a hash of the names and kinds, identical on every target and build.
    pub fn hash64(&self) -> u64 {
        let mut hash = Fnv64::new();
        hash.write(&(self.features.len() as u64).to_le_bytes());
        for feature in &self.features {
            hash.write(&(feature.name.len() as u64).to_le_bytes());
            hash.write(feature.name.as_bytes());
            match feature.kind {
                FeatureKind::Numeric => hash.write(&[0]),
                FeatureKind::Categorical { categories } => {
                    hash.write(&[1]);
                    hash.write(&categories.to_le_bytes());
                }
            }
        }
        hash.finish()
    }
}

/// One tree node, as stored. Node 0 is the root; children always have larger indices than
/// their parent (validation enforces it, which also rules out cycles).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Node {
    /// The feature a split reads, or [`LEAF`].
    pub feature: u32,
    /// For a numeric split: rows with `x < threshold` go left. For a categorical split:
    /// the index of this node's category set in [`Tree::category_sets`]; rows whose category
    /// is in the set go left. For a leaf: the leaf's value (already scaled by the learning rate).
    pub value: f32,
    /// A split's left child: the index of a later node of the same tree (unused in a leaf).
    pub left: u32,
    /// A split's right child: the index of a later node of the same tree (unused in a leaf).
    pub right: u32,
    /// Where rows with a missing value go.
    pub default_left: bool,
    /// True for a categorical split.
    pub categorical: bool,
    /// The training hessian sum that reached the node (its "cover"); feature contributions
    /// weight the branches by it.
    pub cover: f32,
}

impl Node {
    /// A leaf with this value and cover.
    pub fn leaf(value: f32, cover: f32) -> Self {
        Node { feature: LEAF, value, left: 0, right: 0, default_left: false, categorical: false, cover }
    }

    /// True for a leaf.
    pub fn is_leaf(&self) -> bool {
        self.feature == LEAF
    }
}

/// One regression tree.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Tree {
    /// The nodes, the root first; children come after their parent.
    pub nodes: Vec<Node>,
    /// Category sets of categorical splits, as sorted category codes.
    pub category_sets: Vec<Vec<u32>>,
}

/// A trained or imported ensemble: margin = base_score + the sum of every tree's leaf.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Ensemble {
    /// The columns every row must hold.
    pub schema: FeatureSchema,
    /// How the margin becomes a prediction.
    pub objective: Objective,
    /// The starting margin (for logistic, already logit(p)).
    pub base_score: f32,
    /// The trees, in the order their leaves are added to the margin.
    pub trees: Vec<Tree>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_hash_is_stable_and_sensitive() {
        let a = FeatureSchema::numeric(["age", "mf_score"]);
        assert_eq!(a.hash64(), FeatureSchema::numeric(["age", "mf_score"]).hash64());
        assert_ne!(a.hash64(), FeatureSchema::numeric(["mf_score", "age"]).hash64());
        let mut categorical = a.clone();
        categorical.features[0].kind = FeatureKind::Categorical { categories: 3 };
        assert_ne!(a.hash64(), categorical.hash64());
        // Pinned: a change here silently invalidates every published blob.
        assert_eq!(FeatureSchema::default().hash64(), 0xa8c7_f832_281a_39c5);
    }
}

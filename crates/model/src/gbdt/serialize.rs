//! Ensembles to and from model blobs.
//!
//! Each format version's body has its own frozen types here (`*V1`), separate from the
//! in-memory [`Ensemble`], so that the in-memory types can evolve while every published
//! blob stays readable: a newer reader decodes the old layout and converts it. Version 1's
//! types must never change; a new layout gets new types and a new version number.

use serde::{Deserialize, Serialize};

use super::{validate, Ensemble, Feature, FeatureKind, FeatureSchema, Node, Objective, Tree};
use crate::blob::{self, BlobKind};
use crate::ModelError;

/// Version 1's body.
#[derive(Serialize, Deserialize)]
struct EnsembleV1 {
    features: Vec<FeatureV1>,
    objective: ObjectiveV1,
    base_score: f32,
    trees: Vec<TreeV1>,
}

#[derive(Serialize, Deserialize)]
struct FeatureV1 {
    name: String,
    kind: FeatureKindV1,
}

#[derive(Serialize, Deserialize)]
enum FeatureKindV1 {
    Numeric,
    Categorical { categories: u32 },
}

#[derive(Serialize, Deserialize)]
enum ObjectiveV1 {
    SquaredError,
    Logistic,
    RankPairwise,
    RankNdcg,
}

#[derive(Serialize, Deserialize)]
struct TreeV1 {
    nodes: Vec<NodeV1>,
    category_sets: Vec<Vec<u32>>,
}

#[derive(Serialize, Deserialize)]
struct NodeV1 {
    feature: u32,
    value: f32,
    left: u32,
    right: u32,
    default_left: bool,
    categorical: bool,
    cover: f32,
}

impl EnsembleV1 {
    fn from_ensemble(ensemble: &Ensemble) -> EnsembleV1 {
        let features = ensemble
            .schema
            .features
            .iter()
            .map(|feature| FeatureV1 {
                name: feature.name.clone(),
                kind: match feature.kind {
                    FeatureKind::Numeric => FeatureKindV1::Numeric,
                    FeatureKind::Categorical { categories } => FeatureKindV1::Categorical { categories },
                },
            })
            .collect();
        let objective = match ensemble.objective {
            Objective::SquaredError => ObjectiveV1::SquaredError,
            Objective::Logistic => ObjectiveV1::Logistic,
            Objective::RankPairwise => ObjectiveV1::RankPairwise,
            Objective::RankNdcg => ObjectiveV1::RankNdcg,
        };
        let trees = ensemble
            .trees
            .iter()
            .map(|tree| TreeV1 {
                nodes: tree
                    .nodes
                    .iter()
                    .map(|node| NodeV1 {
                        feature: node.feature,
                        value: node.value,
                        left: node.left,
                        right: node.right,
                        default_left: node.default_left,
                        categorical: node.categorical,
                        cover: node.cover,
                    })
                    .collect(),
                category_sets: tree.category_sets.clone(),
            })
            .collect();
        EnsembleV1 { features, objective, base_score: ensemble.base_score, trees }
    }

    fn into_ensemble(self) -> Ensemble {
        let features = self
            .features
            .into_iter()
            .map(|feature| Feature {
                name: feature.name,
                kind: match feature.kind {
                    FeatureKindV1::Numeric => FeatureKind::Numeric,
                    FeatureKindV1::Categorical { categories } => FeatureKind::Categorical { categories },
                },
            })
            .collect();
        let objective = match self.objective {
            ObjectiveV1::SquaredError => Objective::SquaredError,
            ObjectiveV1::Logistic => Objective::Logistic,
            ObjectiveV1::RankPairwise => Objective::RankPairwise,
            ObjectiveV1::RankNdcg => Objective::RankNdcg,
        };
        let trees = self
            .trees
            .into_iter()
            .map(|tree| Tree {
                nodes: tree
                    .nodes
                    .into_iter()
                    .map(|node| Node {
                        feature: node.feature,
                        value: node.value,
                        left: node.left,
                        right: node.right,
                        default_left: node.default_left,
                        categorical: node.categorical,
                        cover: node.cover,
                    })
                    .collect(),
                category_sets: tree.category_sets,
            })
            .collect();
        Ensemble { schema: FeatureSchema { features }, objective, base_score: self.base_score, trees }
    }
}

impl Ensemble {
    /// Validates the ensemble and writes it as a model blob in the current format version.
    pub fn to_blob(&self) -> Result<Vec<u8>, ModelError> {
        validate(self)?;
        blob::encode(BlobKind::GbdtEnsemble, self.schema.hash64(), &EnsembleV1::from_ensemble(self))
    }

    /// Reads a model blob of any supported format version: checks the header, length and
    /// checksum, decodes the body, checks the schema hash against the decoded schema, and
    /// validates the ensemble.
    pub fn from_blob(bytes: &[u8]) -> Result<Ensemble, ModelError> {
        let (header, body) = blob::checked_body(bytes, BlobKind::GbdtEnsemble)?;
        let ensemble = match header.version {
            1 => blob::decode_exact::<EnsembleV1>(body)?.into_ensemble(),
            found => return Err(ModelError::UnsupportedVersion { found, newest: blob::FORMAT_VERSION }),
        };
        // Validate before comparing schema hashes: a fuzzer that rewrites the header reaches
        // the validator, and a corrupt body is reported as corrupt, not as a schema change.
        validate(&ensemble)?;
        let body_hash = ensemble.schema.hash64();
        if body_hash != header.schema_hash {
            return Err(ModelError::SchemaMismatch { header: header.schema_hash, body: body_hash });
        }
        Ok(ensemble)
    }
}

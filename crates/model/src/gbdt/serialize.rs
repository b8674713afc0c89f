//! Ensembles to and from model blobs.
//!
//! Each format version's body has its own frozen types here (`*V1`, `*V2`), separate from
//! the in-memory [`Ensemble`], so that the in-memory types can evolve while every published
//! blob stays readable: a newer reader decodes the old layout and converts it. These types
//! must never change; a new layout gets new types and a new version number.
//!
//! * **Version 1** stores each tree's nodes as they are in memory, every field of every node.
//! * **Version 2** (written by default) shares version 1's features and objective, and stores
//!   each tree in pre-order: a split's left child is the node right after it, so only the
//!   right child is stored. A leaf stores its value and cover only; a split stores feature,
//!   threshold (or category set index, as in memory), right child, a flags byte
//!   (`DEFAULT_LEFT`, `CATEGORICAL`) and cover. Every float is stored exactly (f32 bits).
//!   Reading rebuilds each split's `left` as its own index + 1, and validation then checks
//!   the result like any other ensemble.
//!
//! Writing version 2 therefore reorders nodes: [`Ensemble::from_blob`] returns
//! [`Ensemble::canonical`] of what was written, which predicts (and explains) bit for bit
//! like the original, since each row still reaches the same leaf of each tree.

use serde::{Deserialize, Serialize};

use super::{validate, Ensemble, Feature, FeatureKind, FeatureSchema, Node, Objective, Tree, LEAF};
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

/// Version 2's body: version 1's features and objective, compact trees.
#[derive(Serialize, Deserialize)]
struct EnsembleV2 {
    features: Vec<FeatureV1>,
    objective: ObjectiveV1,
    base_score: f32,
    trees: Vec<TreeV2>,
}

#[derive(Serialize, Deserialize)]
struct TreeV2 {
    /// In pre-order: node 0 is the root and a split's left child is the next node.
    nodes: Vec<NodeV2>,
    category_sets: Vec<Vec<u32>>,
}

#[derive(Serialize, Deserialize)]
enum NodeV2 {
    Leaf { value: f32, cover: f32 },
    Split { feature: u32, value: f32, right: u32, flags: u8, cover: f32 },
}

/// `NodeV2::Split::flags` bit: rows with a missing value go left.
const DEFAULT_LEFT: u8 = 1;
/// `NodeV2::Split::flags` bit: a categorical split (`value` is a category set index).
const CATEGORICAL: u8 = 2;

fn features_to_v1(schema: &FeatureSchema) -> Vec<FeatureV1> {
    schema
        .features
        .iter()
        .map(|feature| FeatureV1 {
            name: feature.name.clone(),
            kind: match feature.kind {
                FeatureKind::Numeric => FeatureKindV1::Numeric,
                FeatureKind::Categorical { categories } => FeatureKindV1::Categorical { categories },
            },
        })
        .collect()
}

fn features_from_v1(features: Vec<FeatureV1>) -> FeatureSchema {
    let features = features
        .into_iter()
        .map(|feature| Feature {
            name: feature.name,
            kind: match feature.kind {
                FeatureKindV1::Numeric => FeatureKind::Numeric,
                FeatureKindV1::Categorical { categories } => FeatureKind::Categorical { categories },
            },
        })
        .collect();
    FeatureSchema { features }
}

fn objective_to_v1(objective: Objective) -> ObjectiveV1 {
    match objective {
        Objective::SquaredError => ObjectiveV1::SquaredError,
        Objective::Logistic => ObjectiveV1::Logistic,
        Objective::RankPairwise => ObjectiveV1::RankPairwise,
        Objective::RankNdcg => ObjectiveV1::RankNdcg,
    }
}

fn objective_from_v1(objective: ObjectiveV1) -> Objective {
    match objective {
        ObjectiveV1::SquaredError => Objective::SquaredError,
        ObjectiveV1::Logistic => Objective::Logistic,
        ObjectiveV1::RankPairwise => Objective::RankPairwise,
        ObjectiveV1::RankNdcg => Objective::RankNdcg,
    }
}

impl EnsembleV1 {
    fn from_ensemble(ensemble: &Ensemble) -> EnsembleV1 {
        let features = features_to_v1(&ensemble.schema);
        let objective = objective_to_v1(ensemble.objective);
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
        let schema = features_from_v1(self.features);
        let objective = objective_from_v1(self.objective);
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
        Ensemble { schema, objective, base_score: self.base_score, trees }
    }
}

impl EnsembleV2 {
    /// Version 2's body of a validated ensemble.
    fn from_ensemble(ensemble: &Ensemble) -> Result<EnsembleV2, ModelError> {
        let trees = ensemble
            .trees
            .iter()
            .enumerate()
            .map(|(index, tree)| {
                let tree = preorder(tree)
                    .ok_or_else(|| ModelError::InvalidModel(format!("tree {index}: not a tree (validate first)")))?;
                let nodes = tree
                    .nodes
                    .iter()
                    .enumerate()
                    .map(|(at, node)| {
                        if node.is_leaf() {
                            return Ok(NodeV2::Leaf { value: node.value, cover: node.cover });
                        }
                        // Pre-order puts the left child right after its parent; the format
                        // relies on it, so check rather than trust.
                        if node.left as usize != at + 1 {
                            return Err(ModelError::InvalidModel(format!(
                                "tree {index}: node {at} is not in pre-order"
                            )));
                        }
                        let flags = (if node.default_left { DEFAULT_LEFT } else { 0 })
                            | (if node.categorical { CATEGORICAL } else { 0 });
                        Ok(NodeV2::Split {
                            feature: node.feature,
                            value: node.value,
                            right: node.right,
                            flags,
                            cover: node.cover,
                        })
                    })
                    .collect::<Result<Vec<_>, ModelError>>()?;
                Ok(TreeV2 { nodes, category_sets: tree.category_sets })
            })
            .collect::<Result<Vec<_>, ModelError>>()?;
        Ok(EnsembleV2 {
            features: features_to_v1(&ensemble.schema),
            objective: objective_to_v1(ensemble.objective),
            base_score: ensemble.base_score,
            trees,
        })
    }

    /// The in-memory ensemble, not yet validated. Refuses what the in-memory types cannot
    /// express faithfully: a split on feature [`LEAF`] (it would read as a leaf) and unknown
    /// flag bits.
    fn into_ensemble(self) -> Result<Ensemble, ModelError> {
        let trees = self
            .trees
            .into_iter()
            .enumerate()
            .map(|(index, tree)| {
                let corrupt = |at: usize, what: String| ModelError::Corrupt(format!("tree {index}: node {at}: {what}"));
                let nodes = tree
                    .nodes
                    .into_iter()
                    .enumerate()
                    .map(|(at, node)| match node {
                        NodeV2::Leaf { value, cover } => Ok(Node::leaf(value, cover)),
                        NodeV2::Split { feature, value, right, flags, cover } => {
                            if feature == LEAF {
                                return Err(corrupt(at, format!("a split on feature {feature}")));
                            }
                            if flags & !(DEFAULT_LEFT | CATEGORICAL) != 0 {
                                return Err(corrupt(at, format!("unknown flags {flags:#04x}")));
                            }
                            let left = at
                                .checked_add(1)
                                .and_then(|left| u32::try_from(left).ok())
                                .ok_or_else(|| corrupt(at, "too many nodes".into()))?;
                            Ok(Node {
                                feature,
                                value,
                                left,
                                right,
                                default_left: flags & DEFAULT_LEFT != 0,
                                categorical: flags & CATEGORICAL != 0,
                                cover,
                            })
                        }
                    })
                    .collect::<Result<Vec<_>, ModelError>>()?;
                Ok(Tree { nodes, category_sets: tree.category_sets })
            })
            .collect::<Result<Vec<_>, ModelError>>()?;
        Ok(Ensemble {
            schema: features_from_v1(self.features),
            objective: objective_from_v1(self.objective),
            base_score: self.base_score,
            trees,
        })
    }
}

/// `tree` with its nodes in pre-order (a split's left child right after it, then the left
/// subtree, then the right one) and its leaves reset to [`Node::leaf`] (their unused fields
/// zeroed); category sets are kept as they are. `None` if `tree` is not a tree: empty, a
/// child out of range, a node reached twice, or a node not reached at all (validated trees
/// never are).
fn preorder(tree: &Tree) -> Option<Tree> {
    let len = tree.nodes.len();
    // Old index -> new index; u32::MAX until the node is reached.
    let mut new_index = vec![u32::MAX; len];
    // Old indices in pre-order.
    let mut order: Vec<u32> = Vec::with_capacity(len);
    // Each node is expanded at most once, so at most 2 * len + 1 entries are ever pushed.
    let mut stack = vec![0u32];
    while let Some(old) = stack.pop() {
        let node = tree.nodes.get(old as usize)?;
        let slot = new_index.get_mut(old as usize)?;
        if *slot != u32::MAX {
            return None;
        }
        *slot = u32::try_from(order.len()).ok()?;
        order.push(old);
        if !node.is_leaf() {
            // Right first, so that the left child is popped (and numbered) next.
            stack.push(node.right);
            stack.push(node.left);
        }
    }
    if order.len() != len {
        return None;
    }
    let nodes = order
        .iter()
        .map(|&old| {
            let node = tree.nodes.get(old as usize)?;
            if node.is_leaf() {
                return Some(Node::leaf(node.value, node.cover));
            }
            let left = *new_index.get(node.left as usize)?;
            let right = *new_index.get(node.right as usize)?;
            Some(Node { left, right, ..*node })
        })
        .collect::<Option<Vec<_>>>()?;
    Some(Tree { nodes, category_sets: tree.category_sets.clone() })
}

impl Ensemble {
    /// Validates the ensemble and writes it as a model blob in the current format version
    /// ([`blob::FORMAT_VERSION`]).
    ///
    /// Reading it back gives [`Ensemble::canonical`] of this ensemble: the same trees with
    /// their nodes in pre-order, which predict bit for bit the same.
    pub fn to_blob(&self) -> Result<Vec<u8>, ModelError> {
        self.to_blob_version(blob::FORMAT_VERSION)
    }

    /// Validates the ensemble and writes it as a model blob in format `version` (1 to
    /// [`blob::FORMAT_VERSION`]), e.g. for a runtime that does not read the newest version yet.
    /// Version 1 keeps the nodes' order; later versions store [`Ensemble::canonical`].
    pub fn to_blob_version(&self, version: u16) -> Result<Vec<u8>, ModelError> {
        validate(self)?;
        let (kind, schema_hash) = (BlobKind::GbdtEnsemble, self.schema.hash64());
        match version {
            1 => blob::encode_version(1, kind, schema_hash, &EnsembleV1::from_ensemble(self)),
            2 => blob::encode_version(2, kind, schema_hash, &EnsembleV2::from_ensemble(self)?),
            found => Err(ModelError::UnsupportedVersion { found, newest: blob::FORMAT_VERSION }),
        }
    }

    /// The ensemble's canonical form, the one format version 2 stores: each tree's nodes in
    /// pre-order (every split's left child is the node right after it), leaves reset to
    /// [`Node::leaf`] (the fields a leaf does not use are zeroed), everything else unchanged.
    /// It predicts and explains bit for bit like `self`. Validates first.
    pub fn canonical(&self) -> Result<Ensemble, ModelError> {
        validate(self)?;
        let trees = self
            .trees
            .iter()
            .enumerate()
            .map(|(index, tree)| {
                preorder(tree).ok_or_else(|| ModelError::InvalidModel(format!("tree {index}: not a tree")))
            })
            .collect::<Result<Vec<_>, ModelError>>()?;
        Ok(Ensemble { schema: self.schema.clone(), objective: self.objective, base_score: self.base_score, trees })
    }

    /// Reads a model blob of any supported format version: checks the header, length and
    /// checksum, decodes the body, checks the schema hash against the decoded schema, and
    /// validates the ensemble.
    ///
    /// A version 1 blob gives back its nodes in their stored order; a version 2 blob gives
    /// them in pre-order ([`Ensemble::canonical`]).
    pub fn from_blob(bytes: &[u8]) -> Result<Ensemble, ModelError> {
        let (header, body) = blob::checked_body(bytes, BlobKind::GbdtEnsemble)?;
        let ensemble = match header.version {
            1 => blob::decode_exact::<EnsembleV1>(body)?.into_ensemble(),
            2 => blob::decode_exact::<EnsembleV2>(body)?.into_ensemble()?,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn split(feature: u32, value: f32, left: u32, right: u32) -> Node {
        Node { feature, value, left, right, default_left: true, categorical: false, cover: 2.0 }
    }

    /// Two numeric features; one tree stored breadth first: 0 -> (1, 2), 1 -> (3, 4).
    fn breadth_first() -> Ensemble {
        let tree = Tree {
            nodes: vec![
                split(0, 0.5, 1, 2),
                split(1, 0.25, 3, 4),
                Node::leaf(3.0, 1.0),
                Node::leaf(1.0, 0.5),
                Node::leaf(2.0, 0.5),
            ],
            category_sets: vec![],
        };
        Ensemble {
            schema: FeatureSchema::numeric(["a", "b"]),
            objective: Objective::SquaredError,
            base_score: 0.0,
            trees: vec![tree],
        }
    }

    /// A version 2 blob around `body`, under the right schema hash for `breadth_first`.
    fn v2_blob(body: &EnsembleV2) -> Vec<u8> {
        blob::encode_version(2, BlobKind::GbdtEnsemble, breadth_first().schema.hash64(), body).unwrap()
    }

    #[test]
    fn canonical_puts_trees_in_preorder() {
        let canonical = breadth_first().canonical().unwrap();
        assert_eq!(
            canonical.trees[0].nodes,
            vec![
                split(0, 0.5, 1, 4),
                split(1, 0.25, 2, 3),
                Node::leaf(1.0, 0.5),
                Node::leaf(2.0, 0.5),
                Node::leaf(3.0, 1.0),
            ]
        );
        assert_eq!(canonical.canonical().unwrap(), canonical);
        let mut garbage_leaf = breadth_first();
        garbage_leaf.trees[0].nodes[2] = Node { left: 7, right: 9, default_left: true, ..Node::leaf(3.0, 1.0) };
        assert_eq!(garbage_leaf.canonical().unwrap(), canonical);
    }

    #[test]
    fn preorder_refuses_what_is_not_a_tree() {
        let tree = |nodes: Vec<Node>| Tree { nodes, category_sets: vec![] };
        assert!(preorder(&tree(vec![])).is_none());
        assert!(preorder(&tree(vec![split(0, 0.5, 1, 9), Node::leaf(0.0, 0.0)])).is_none());
        assert!(preorder(&tree(vec![split(0, 0.5, 1, 1), Node::leaf(0.0, 0.0)])).is_none());
        assert!(preorder(&tree(vec![split(0, 0.5, 0, 1), Node::leaf(0.0, 0.0)])).is_none());
        assert!(preorder(&tree(vec![Node::leaf(0.0, 0.0), Node::leaf(0.0, 0.0)])).is_none());
        assert!(breadth_first().trees.iter().all(|tree| preorder(tree).is_some()));
    }

    #[test]
    fn v2_reads_back_the_canonical_form() {
        let ensemble = breadth_first();
        let bytes = ensemble.to_blob().unwrap();
        assert_eq!(blob::read_header(&bytes).unwrap().version, 2);
        assert_eq!(Ensemble::from_blob(&bytes).unwrap(), ensemble.canonical().unwrap());
        let v1 = ensemble.to_blob_version(1).unwrap();
        assert_eq!(blob::read_header(&v1).unwrap().version, 1);
        assert_eq!(Ensemble::from_blob(&v1).unwrap(), ensemble);
        for version in [0, 3] {
            assert_eq!(
                ensemble.to_blob_version(version),
                Err(ModelError::UnsupportedVersion { found: version, newest: 2 })
            );
        }
    }

    #[test]
    fn v2_refuses_nodes_memory_cannot_hold() {
        let good = EnsembleV2::from_ensemble(&breadth_first().canonical().unwrap()).unwrap();
        assert!(Ensemble::from_blob(&v2_blob(&good)).is_ok());
        let with_root = |root: NodeV2| {
            let mut body = EnsembleV2::from_ensemble(&breadth_first()).unwrap();
            body.trees[0].nodes[0] = root;
            v2_blob(&body)
        };
        let split_on = |feature, flags, right| NodeV2::Split { feature, value: 0.5, right, flags, cover: 2.0 };
        assert!(matches!(Ensemble::from_blob(&with_root(split_on(LEAF, 0, 4))), Err(ModelError::Corrupt(_))));
        assert!(matches!(Ensemble::from_blob(&with_root(split_on(0, 4, 4))), Err(ModelError::Corrupt(_))));
        assert!(matches!(Ensemble::from_blob(&with_root(split_on(0, 0, 1))), Err(ModelError::InvalidModel(_))));
        assert!(matches!(Ensemble::from_blob(&with_root(split_on(0, 0, 5))), Err(ModelError::InvalidModel(_))));
        assert!(matches!(Ensemble::from_blob(&with_root(split_on(0, 0, 2))), Err(ModelError::InvalidModel(_))));
        assert!(matches!(Ensemble::from_blob(&with_root(split_on(0, 3, 4))), Err(ModelError::InvalidModel(_))));
        assert!(Ensemble::from_blob(&with_root(split_on(0, 1, 4))).is_ok());
        // A split as the last node has no left child.
        let mut body = EnsembleV2::from_ensemble(&breadth_first()).unwrap();
        body.trees[0].nodes[4] = split_on(0, 0, 4);
        assert!(matches!(Ensemble::from_blob(&v2_blob(&body)), Err(ModelError::InvalidModel(_))));
    }
}

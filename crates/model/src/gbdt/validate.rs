//! Checking an ensemble's invariants once, so that inference can trust them.
//!
//! Everything downstream (the compiled predictor, TreeSHAP) relies on what is checked here:
//! children come after their parent (so every walk ends), every node but the root has
//! exactly one parent (so each tree is a tree), and every index a node holds is in range.

use super::{Ensemble, FeatureKind, Tree};
use crate::ModelError;

/// Checks every invariant inference relies on, in O(nodes + category codes).
///
/// The error names the tree and node at fault and what is wrong.
pub fn validate(ensemble: &Ensemble) -> Result<(), ModelError> {
    if !ensemble.base_score.is_finite() {
        return Err(ModelError::InvalidModel(format!("base_score is {}", ensemble.base_score)));
    }
    // Reused across trees: one allocation for the whole ensemble.
    let mut parents: Vec<u8> = Vec::new();
    for (index, tree) in ensemble.trees.iter().enumerate() {
        validate_tree(ensemble, tree, &mut parents)
            .map_err(|message| ModelError::InvalidModel(format!("tree {index}: {message}")))?;
    }
    Ok(())
}

fn validate_tree(ensemble: &Ensemble, tree: &Tree, parents: &mut Vec<u8>) -> Result<(), String> {
    let len = tree.nodes.len();
    if len == 0 {
        return Err("has no nodes".into());
    }
    if u32::try_from(len).is_err() {
        return Err(format!("has {len} nodes, more than a u32 can index"));
    }
    for (index, set) in tree.category_sets.iter().enumerate() {
        if set.windows(2).any(|pair| matches!(pair, [a, b] if a >= b)) {
            return Err(format!("category set {index} is not sorted and unique"));
        }
    }
    parents.clear();
    parents.resize(len, 0);
    for (index, node) in tree.nodes.iter().enumerate() {
        let at = |what: String| format!("node {index}: {what}");
        if !node.cover.is_finite() || node.cover < 0.0 {
            return Err(at(format!("cover is {}", node.cover)));
        }
        if node.is_leaf() {
            if !node.value.is_finite() {
                return Err(at(format!("leaf value is {}", node.value)));
            }
            continue;
        }
        for child in [node.left, node.right] {
            let child = child as usize;
            if child <= index || child >= len {
                return Err(at(format!("child {child} is not after the node and inside the tree ({len} nodes)")));
            }
            match parents.get_mut(child) {
                Some(count @ 0) => *count = 1,
                _ => return Err(at(format!("child {child} already has a parent"))),
            }
        }
        let feature = ensemble.schema.features.get(node.feature as usize).ok_or_else(|| {
            at(format!("feature {} is outside the schema ({} features)", node.feature, ensemble.schema.len()))
        })?;
        if node.categorical {
            let FeatureKind::Categorical { categories } = feature.kind else {
                return Err(at(format!("categorical split on numeric feature {}", node.feature)));
            };
            let set_index = node.value;
            let set = if set_index >= 0.0 && set_index.fract() == 0.0 {
                tree.category_sets.get(set_index as usize)
            } else {
                None
            };
            let Some(set) = set else {
                return Err(at(format!(
                    "category set index {set_index} is not one of the tree's {} sets",
                    tree.category_sets.len()
                )));
            };
            if let Some(&last) = set.last() {
                if last >= categories {
                    return Err(at(format!("category {last} is outside the feature's {categories} categories")));
                }
            }
        } else if !node.value.is_finite() {
            return Err(at(format!("threshold is {}", node.value)));
        }
    }
    if let Some(orphan) = parents.iter().skip(1).position(|&count| count == 0) {
        return Err(format!("node {} is unreachable from the root", orphan + 1));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gbdt::{Feature, FeatureSchema, Node, Objective};

    fn split(feature: u32, threshold: f32, left: u32, right: u32) -> Node {
        Node { feature, value: threshold, left, right, default_left: true, categorical: false, cover: 2.0 }
    }

    fn good() -> Ensemble {
        let mut schema = FeatureSchema::numeric(["a", "b"]);
        schema.features.push(Feature { name: "genre".into(), kind: FeatureKind::Categorical { categories: 5 } });
        let numeric = Tree {
            nodes: vec![
                split(0, 0.5, 1, 2),
                Node::leaf(1.0, 1.0),
                split(1, 2.0, 3, 4),
                Node::leaf(2.0, 0.5),
                Node::leaf(3.0, 0.5),
            ],
            category_sets: vec![],
        };
        let categorical = Tree {
            nodes: vec![
                Node { categorical: true, value: 0.0, ..split(2, 0.0, 1, 2) },
                Node::leaf(-1.0, 1.0),
                Node::leaf(1.0, 1.0),
            ],
            category_sets: vec![vec![1, 3]],
        };
        Ensemble { schema, objective: Objective::SquaredError, base_score: 0.5, trees: vec![numeric, categorical] }
    }

    fn refuses(change: impl FnOnce(&mut Ensemble), expected: &str) {
        let mut ensemble = good();
        change(&mut ensemble);
        match validate(&ensemble) {
            Err(ModelError::InvalidModel(message)) => assert!(message.contains(expected), "{message}"),
            other => panic!("expected an error containing {expected:?}, got {other:?}"),
        }
    }

    #[test]
    fn accepts_a_good_model() {
        validate(&good()).unwrap();
    }

    #[test]
    fn rejects_each_kind_of_corruption() {
        refuses(|e| e.trees[0].nodes.clear(), "tree 0: has no nodes");
        refuses(|e| e.trees[0].nodes[2].right = 9, "tree 0: node 2: child 9");
        refuses(|e| e.trees[0].nodes[2].left = 0, "tree 0: node 2: child 0 is not after");
        refuses(|e| e.trees[0].nodes[2].left = 2, "node 2: child 2 is not after");
        refuses(|e| e.trees[0].nodes[1] = split(0, 0.1, 3, 4), "node 2: child 3 already has a parent");
        refuses(|e| e.trees[0].nodes[0].right = 1, "node 0: child 1 already has a parent");
        refuses(
            |e| {
                e.trees[0].nodes[0] = split(0, 0.5, 1, 3);
                e.trees[0].nodes[2] = Node::leaf(0.0, 0.0);
            },
            "node 2 is unreachable",
        );
        refuses(|e| e.trees[0].nodes[0].feature = 3, "node 0: feature 3 is outside");
        refuses(|e| e.trees[0].nodes[0].value = f32::NAN, "node 0: threshold is NaN");
        refuses(|e| e.trees[0].nodes[0].value = f32::INFINITY, "threshold is inf");
        refuses(|e| e.trees[0].nodes[1].value = f32::INFINITY, "node 1: leaf value is inf");
        refuses(|e| e.trees[0].nodes[1].value = f32::NAN, "leaf value is NaN");
        refuses(|e| e.trees[0].nodes[1].cover = -1.0, "node 1: cover is -1");
        refuses(|e| e.trees[0].nodes[0].cover = f32::NAN, "cover is NaN");
        refuses(|e| e.base_score = f32::NAN, "base_score");
        refuses(|e| e.trees[0].nodes[0].categorical = true, "categorical split on numeric feature 0");
        refuses(|e| e.trees[1].nodes[0].value = 1.0, "tree 1: node 0: category set index 1");
        refuses(|e| e.trees[1].nodes[0].value = 0.5, "category set index 0.5");
        refuses(|e| e.trees[1].nodes[0].value = -1.0, "category set index -1");
        refuses(|e| e.trees[1].category_sets[0] = vec![3, 1], "category set 0 is not sorted");
        refuses(|e| e.trees[1].category_sets[0] = vec![1, 1], "category set 0 is not sorted");
        refuses(|e| e.trees[1].category_sets[0] = vec![1, 5], "category 5 is outside");
    }

    #[test]
    fn a_lone_leaf_and_an_empty_ensemble_are_fine() {
        let mut ensemble = good();
        ensemble.trees = vec![Tree { nodes: vec![Node::leaf(1.0, 0.0)], category_sets: vec![] }];
        validate(&ensemble).unwrap();
        ensemble.trees.clear();
        validate(&ensemble).unwrap();
    }
}

//! `marquee import xgboost`: converts a model saved by XGBoost as JSON (`save_model("m.json")`)
//! into a Marquee ensemble whose predictions match XGBoost's.
//!
//! Covered: the `gbtree` booster (and `dart`, whose saved trees predict the same way) with one
//! output, objectives `reg:squarederror`, `binary:logistic`, `rank:pairwise` and `rank:ndcg`,
//! numeric and categorical splits, and missing-value default directions. Anything else is
//! refused with an error naming what is missing.
//!
//! The file is read into structs that mirror XGBoost's JSON model schema (the parts Marquee
//! uses; everything else is ignored), then converted step by step.

use std::collections::BTreeMap;

use marquee_model::gbdt::{Ensemble, Feature, FeatureKind, FeatureSchema, Node, Objective, Tree};
use serde::de::IgnoredAny;
use serde::Deserialize;

use crate::TrainError;

/// The document: `{"learner": …, "version": […]}`.
#[derive(Deserialize)]
struct ModelJson {
    learner: Option<LearnerJson>,
}

/// `learner`: the model's parameters, objective, booster and feature metadata.
#[derive(Deserialize)]
struct LearnerJson {
    learner_model_param: Option<LearnerModelParam>,
    objective: Option<ObjectiveJson>,
    gradient_booster: Option<BoosterJson>,
    feature_names: Option<Vec<JsonScalar>>,
    /// `"q"` (numeric) or `"c"` (categorical) per feature.
    feature_types: Option<Vec<JsonScalar>>,
}

/// `learner.learner_model_param`: XGBoost writes these numbers as strings.
#[derive(Deserialize)]
struct LearnerModelParam {
    num_class: Option<JsonScalar>,
    num_target: Option<JsonScalar>,
    num_feature: Option<JsonScalar>,
    base_score: Option<JsonScalar>,
}

/// `learner.objective`.
#[derive(Deserialize)]
struct ObjectiveJson {
    name: Option<JsonScalar>,
}

/// `learner.gradient_booster`: `gbtree` keeps its trees in `model`; `dart` wraps a whole
/// `gbtree` booster in `gbtree`.
#[derive(Deserialize)]
struct BoosterJson {
    name: Option<JsonScalar>,
    model: Option<GbTreeModel>,
    gbtree: Option<Box<BoosterJson>>,
}

/// A `gbtree` booster's `model`.
#[derive(Deserialize)]
struct GbTreeModel {
    trees: Option<Vec<TreeJson>>,
}

/// One tree: parallel arrays with one entry per node, and the categorical splits' sets as
/// segments of one flat `categories` array.
#[derive(Deserialize)]
struct TreeJson {
    left_children: Option<Vec<JsonScalar>>,
    right_children: Option<Vec<JsonScalar>>,
    /// A split's threshold, or a leaf's value.
    split_conditions: Option<Vec<JsonScalar>>,
    split_indices: Option<Vec<JsonScalar>>,
    default_left: Option<Vec<JsonScalar>>,
    sum_hessian: Option<Vec<JsonScalar>>,
    /// 0 numeric, 1 categorical (absent before categorical support).
    split_type: Option<Vec<JsonScalar>>,
    categories_nodes: Option<Vec<JsonScalar>>,
    categories_segments: Option<Vec<JsonScalar>>,
    categories_sizes: Option<Vec<JsonScalar>>,
    categories: Option<Vec<JsonScalar>>,
    tree_param: Option<TreeParam>,
}

/// A tree's `tree_param`.
#[derive(Deserialize)]
struct TreeParam {
    /// Above 1 for vector leaves (multi-target trees).
    size_leaf_vector: Option<JsonScalar>,
}

/// A JSON value where XGBoost writes a number: as a number, a string or a boolean,
/// depending on the field and the version. Anything else is kept as `Other`, so that the
/// conversion can say which field holds it.
#[derive(Deserialize)]
#[serde(untagged)]
enum JsonScalar {
    Number(f64),
    Text(String),
    Flag(bool),
    Other(IgnoredAny),
}

impl JsonScalar {
    fn as_number(&self) -> Option<f64> {
        match self {
            JsonScalar::Number(number) => Some(*number),
            JsonScalar::Text(text) => text.trim().parse().ok(),
            JsonScalar::Flag(flag) => Some(f64::from(u8::from(*flag))),
            JsonScalar::Other(_) => None,
        }
    }

    fn as_str(&self) -> Option<&str> {
        match self {
            JsonScalar::Text(text) => Some(text),
            _ => None,
        }
    }
}

/// Parses XGBoost's JSON model text.
pub fn import_xgboost_json(text: &str) -> Result<Ensemble, TrainError> {
    // Syntax first, so that broken JSON is reported as such rather than as a wrong shape.
    serde_json::from_str::<IgnoredAny>(text).map_err(|error| unsupported(format!("not JSON: {error}")))?;
    let document: ModelJson =
        serde_json::from_str(text).map_err(|error| unsupported(format!("not an XGBoost JSON model: {error}")))?;
    let learner = required(document.learner.as_ref(), "learner")?;
    let params = required(learner.learner_model_param.as_ref(), "learner_model_param")?;
    check_single_output(params)?;
    let objective = objective(learner)?;
    let model = tree_model(required(learner.gradient_booster.as_ref(), "gradient_booster")?)?;
    let num_features = number(params.num_feature.as_ref()).unwrap_or(0.0) as usize;
    let base_score = base_score(params, objective)?;
    let trees = model.trees.as_deref().ok_or_else(|| unsupported("the model has no trees array"))?;
    let (trees, max_category) = import_trees(trees, num_features)?;
    let schema = schema(learner, num_features, &max_category);
    Ok(Ensemble { schema, objective, base_score, trees })
}

/// Refuses multi-class and multi-target models: a Marquee ensemble has one output.
fn check_single_output(params: &LearnerModelParam) -> Result<(), TrainError> {
    let num_class = number(params.num_class.as_ref()).unwrap_or(0.0);
    let num_target = number(params.num_target.as_ref()).unwrap_or(1.0);
    if num_class > 1.0 || num_target > 1.0 {
        return Err(unsupported(format!(
            "multi-output models (num_class {num_class}, num_target {num_target}) are not supported: Marquee ensembles have one output"
        )));
    }
    Ok(())
}

fn objective(learner: &LearnerJson) -> Result<Objective, TrainError> {
    let name = learner.objective.as_ref().and_then(|objective| objective.name.as_ref()).and_then(JsonScalar::as_str);
    match name.unwrap_or("") {
        "reg:squarederror" => Ok(Objective::SquaredError),
        "binary:logistic" => Ok(Objective::Logistic),
        "rank:pairwise" => Ok(Objective::RankPairwise),
        "rank:ndcg" => Ok(Objective::RankNdcg),
        other => Err(unsupported(format!(
            "objective {other:?} is not supported (supported: reg:squarederror, binary:logistic, rank:pairwise, rank:ndcg)"
        ))),
    }
}

/// The booster's trees: `gbtree`'s own, or those of the `gbtree` inside `dart`.
fn tree_model(booster: &BoosterJson) -> Result<&GbTreeModel, TrainError> {
    match booster.name.as_ref().and_then(JsonScalar::as_str).unwrap_or("unknown") {
        "gbtree" => required(booster.model.as_ref(), "model"),
        "dart" => required(required(booster.gbtree.as_deref(), "gbtree")?.model.as_ref(), "model"),
        other => Err(unsupported(format!("the {other:?} booster is not supported, only gbtree (and dart)"))),
    }
}

/// XGBoost keeps base_score in output space (a probability for logistic), as a number, a
/// string, or (since 3.0) a one-element vector written as a string such as "[5E-1]".
fn base_score(params: &LearnerModelParam, objective: Objective) -> Result<f32, TrainError> {
    let raw = params.base_score.as_ref().ok_or_else(|| unsupported("learner_model_param has no base_score"))?;
    let value = match raw {
        JsonScalar::Text(text) => {
            let inner = text.trim().trim_start_matches('[').trim_end_matches(']');
            let values: Vec<&str> = inner.split(',').map(str::trim).filter(|part| !part.is_empty()).collect();
            match values.as_slice() {
                [one] => one.parse::<f32>().map_err(|_| unsupported(format!("base_score {text:?} is not a number")))?,
                _ => {
                    return Err(unsupported(format!(
                        "base_score {text:?} has {} values; one output is supported",
                        values.len()
                    )))
                }
            }
        }
        other => other.as_number().ok_or_else(|| unsupported("base_score is not a number"))? as f32,
    };
    let margin = match objective {
        Objective::Logistic => {
            if !(value > 0.0 && value < 1.0) {
                return Err(unsupported(format!("logistic base_score {value} is not a probability")));
            }
            // The same f32 steps XGBoost takes: -log(1/p - 1).
            -(1.0 / value - 1.0).ln()
        }
        _ => value,
    };
    if margin.is_finite() {
        Ok(margin)
    } else {
        Err(unsupported(format!("base_score {value} gives a non-finite margin")))
    }
}

/// Every tree, and per feature one more than the largest category any split names (what
/// the schema declares for a categorical feature).
fn import_trees(trees: &[TreeJson], num_features: usize) -> Result<(Vec<Tree>, Vec<u32>), TrainError> {
    let mut max_category = vec![0u32; num_features];
    let trees = trees
        .iter()
        .enumerate()
        .map(|(index, tree)| {
            import_tree(tree, num_features, &mut max_category)
                .map_err(|reason| unsupported(format!("tree {index}: {reason}")))
        })
        .collect::<Result<_, _>>()?;
    Ok((trees, max_category))
}

fn import_tree(tree: &TreeJson, num_features: usize, max_category: &mut [u32]) -> Result<Tree, String> {
    let arrays = NodeArrays::read(tree)?;
    let mut categories = CategorySets { by_node: category_sets_by_node(tree)?, in_order: Vec::new() };
    let nodes = (0..arrays.left.len())
        .map(|node| convert_node(&arrays, node, num_features, max_category, &mut categories))
        .collect::<Result<Vec<Node>, String>>()?;
    if nodes.is_empty() {
        return Err("the tree has no nodes".into());
    }
    Ok(Tree { nodes, category_sets: categories.in_order })
}

/// A tree's per-node arrays, converted and checked to have one entry per node.
struct NodeArrays {
    left: Vec<i64>,
    right: Vec<i64>,
    conditions: Vec<f32>,
    features: Vec<i64>,
    default_left: Vec<i64>,
    covers: Vec<f32>,
    split_types: Vec<i64>,
}

impl NodeArrays {
    fn read(tree: &TreeJson) -> Result<NodeArrays, String> {
        let left = ints(&tree.left_children, "left_children")?;
        let arrays = NodeArrays {
            right: ints(&tree.right_children, "right_children")?,
            conditions: floats(&tree.split_conditions, "split_conditions")?,
            features: ints(&tree.split_indices, "split_indices")?,
            default_left: ints(&tree.default_left, "default_left")?,
            covers: floats(&tree.sum_hessian, "sum_hessian")?,
            split_types: ints(&tree.split_type, "split_type").unwrap_or_else(|_| vec![0; left.len()]),
            left,
        };
        let n = arrays.left.len();
        let lengths = [
            arrays.right.len(),
            arrays.conditions.len(),
            arrays.features.len(),
            arrays.default_left.len(),
            arrays.covers.len(),
            arrays.split_types.len(),
        ];
        if lengths.iter().any(|&len| len != n) {
            return Err("node arrays have different lengths".into());
        }
        let leaf_size = tree.tree_param.as_ref().and_then(|param| number(param.size_leaf_vector.as_ref()));
        if leaf_size.unwrap_or(1.0) > 1.0 {
            return Err("vector leaves (multi-target trees) are not supported".into());
        }
        Ok(arrays)
    }
}

/// The categorical splits' category sets: by XGBoost node before conversion, and in the
/// order Marquee's nodes refer to them after.
struct CategorySets {
    by_node: BTreeMap<i64, Vec<u32>>,
    in_order: Vec<Vec<u32>>,
}

/// Node → the categories XGBoost sends right, sorted and distinct.
fn category_sets_by_node(tree: &TreeJson) -> Result<BTreeMap<i64, Vec<u32>>, String> {
    let category_nodes = ints(&tree.categories_nodes, "categories_nodes").unwrap_or_default();
    let segments = ints(&tree.categories_segments, "categories_segments").unwrap_or_default();
    let sizes = ints(&tree.categories_sizes, "categories_sizes").unwrap_or_default();
    let categories = ints(&tree.categories, "categories").unwrap_or_default();
    let mut sets_by_node = BTreeMap::new();
    for ((&node, &start), &size) in category_nodes.iter().zip(&segments).zip(&sizes) {
        let (start, size) = (
            usize::try_from(start).map_err(|_| "negative segment")?,
            usize::try_from(size).map_err(|_| "negative size")?,
        );
        let set = categories.get(start..start + size).ok_or("category segment out of range")?;
        let mut set: Vec<u32> =
            set.iter().map(|&code| u32::try_from(code).map_err(|_| "negative category")).collect::<Result<_, _>>()?;
        set.sort_unstable();
        set.dedup();
        sets_by_node.insert(node, set);
    }
    Ok(sets_by_node)
}

/// Node `i` as a Marquee node: a leaf, a numeric split or a categorical split.
fn convert_node(
    arrays: &NodeArrays,
    i: usize,
    num_features: usize,
    max_category: &mut [u32],
    categories: &mut CategorySets,
) -> Result<Node, String> {
    let cover = arrays.covers[i];
    if arrays.left[i] < 0 {
        return Ok(Node::leaf(arrays.conditions[i], cover));
    }
    let to_index = |child: i64| u32::try_from(child).map_err(|_| format!("node {i} has child {child}"));
    let feature = usize::try_from(arrays.features[i])
        .map_err(|_| format!("node {i} splits on feature {}", arrays.features[i]))?;
    if feature >= num_features {
        return Err(format!("node {i} splits on feature {feature} of {num_features}"));
    }
    let (yes, no) = (to_index(arrays.left[i])?, to_index(arrays.right[i])?);
    if arrays.split_types[i] != 1 {
        return Ok(Node {
            feature: feature as u32,
            value: arrays.conditions[i],
            left: yes,
            right: no,
            default_left: arrays.default_left[i] != 0,
            categorical: false,
            cover,
        });
    }
    let set =
        categories.by_node.remove(&(i as i64)).ok_or_else(|| format!("categorical node {i} has no categories"))?;
    if let Some(&largest) = set.last() {
        max_category[feature] = max_category[feature].max(largest + 1);
    }
    categories.in_order.push(set);
    // XGBoost sends the categories in the set right; Marquee sends its set left, so the
    // children (and the missing-value direction) swap.
    Ok(Node {
        feature: feature as u32,
        value: (categories.in_order.len() - 1) as f32,
        left: no,
        right: yes,
        default_left: arrays.default_left[i] == 0,
        categorical: true,
        cover,
    })
}

fn schema(learner: &LearnerJson, num_features: usize, max_category: &[u32]) -> FeatureSchema {
    let features = (0..num_features)
        .map(|index| {
            let name = entry(&learner.feature_names, index).map_or_else(|| format!("f{index}"), str::to_owned);
            let kind = if entry(&learner.feature_types, index) == Some("c") {
                FeatureKind::Categorical { categories: max_category.get(index).copied().unwrap_or(0).max(1) }
            } else {
                FeatureKind::Numeric
            };
            Feature { name, kind }
        })
        .collect();
    FeatureSchema { features }
}

/// Entry `index` of a per-feature list, if it is a string.
fn entry(values: &Option<Vec<JsonScalar>>, index: usize) -> Option<&str> {
    values.as_ref().and_then(|values| values.get(index)).and_then(JsonScalar::as_str)
}

/// A per-node array as integers (XGBoost's indices and flags).
fn ints(values: &Option<Vec<JsonScalar>>, name: &str) -> Result<Vec<i64>, String> {
    Ok(numbers(values, name)?.into_iter().map(|number| number as i64).collect())
}

/// A per-node array as `f32` (thresholds, leaf values, covers).
fn floats(values: &Option<Vec<JsonScalar>>, name: &str) -> Result<Vec<f32>, String> {
    Ok(numbers(values, name)?.into_iter().map(|number| number as f32).collect())
}

/// A per-node array's numbers, refusing a missing array or an entry that is no number.
fn numbers(values: &Option<Vec<JsonScalar>>, name: &str) -> Result<Vec<f64>, String> {
    let values = values.as_ref().ok_or_else(|| format!("missing {name}"))?;
    values.iter().map(|value| value.as_number().ok_or_else(|| format!("{name} has a non-number"))).collect()
}

fn number(value: Option<&JsonScalar>) -> Option<f64> {
    value.and_then(JsonScalar::as_number)
}

/// The error for a field the model must have.
fn required<'a, T>(value: Option<&'a T>, name: &str) -> Result<&'a T, TrainError> {
    value.ok_or_else(|| unsupported(format!("the model JSON has no {name:?} field")))
}

fn unsupported(reason: impl Into<String>) -> TrainError {
    TrainError::UnsupportedModel(reason.into())
}

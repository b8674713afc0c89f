//! `marquee import xgboost`: converts a model saved by XGBoost as JSON (`save_model("m.json")`)
//! into a Marquee ensemble whose predictions match XGBoost's.
//!
//! Covered: the `gbtree` booster (and `dart`, whose saved trees predict the same way) with one
//! output, objectives `reg:squarederror`, `binary:logistic`, `rank:pairwise` and `rank:ndcg`,
//! numeric and categorical splits, and missing-value default directions. Anything else is
//! refused with an error naming what is missing.

use marquee_model::gbdt::{Ensemble, Feature, FeatureKind, FeatureSchema, Node, Objective, Tree};
use serde_json::Value;

use crate::TrainError;

/// Parses XGBoost's JSON model text.
pub fn import_xgboost_json(text: &str) -> Result<Ensemble, TrainError> {
    let root: Value = serde_json::from_str(text).map_err(|error| unsupported(format!("not JSON: {error}")))?;
    let learner = field(&root, "learner")?;
    let params = field(learner, "learner_model_param")?;
    let num_class = number(params.get("num_class")).unwrap_or(0.0);
    let num_target = number(params.get("num_target")).unwrap_or(1.0);
    if num_class > 1.0 || num_target > 1.0 {
        return Err(unsupported(format!(
            "multi-output models (num_class {num_class}, num_target {num_target}) are not supported: Marquee ensembles have one output"
        )));
    }
    let objective = objective(learner)?;
    let booster = field(learner, "gradient_booster")?;
    let booster_name = booster.get("name").and_then(Value::as_str).unwrap_or("unknown");
    let model = match booster_name {
        "gbtree" => field(booster, "model")?,
        "dart" => field(field(booster, "gbtree")?, "model")?,
        other => return Err(unsupported(format!("the {other:?} booster is not supported, only gbtree (and dart)"))),
    };
    let num_features = number(params.get("num_feature")).unwrap_or(0.0) as usize;
    let base_score = base_score(params, objective)?;
    let trees_json =
        model.get("trees").and_then(Value::as_array).ok_or_else(|| unsupported("the model has no trees array"))?;
    let mut trees = Vec::with_capacity(trees_json.len());
    let mut max_category = vec![0u32; num_features];
    for (index, tree) in trees_json.iter().enumerate() {
        trees.push(
            import_tree(tree, num_features, &mut max_category)
                .map_err(|reason| unsupported(format!("tree {index}: {reason}")))?,
        );
    }
    let schema = schema(learner, num_features, &max_category);
    Ok(Ensemble { schema, objective, base_score, trees })
}

fn objective(learner: &Value) -> Result<Objective, TrainError> {
    let name =
        learner.get("objective").and_then(|objective| objective.get("name")).and_then(Value::as_str).unwrap_or("");
    match name {
        "reg:squarederror" => Ok(Objective::SquaredError),
        "binary:logistic" => Ok(Objective::Logistic),
        "rank:pairwise" => Ok(Objective::RankPairwise),
        "rank:ndcg" => Ok(Objective::RankNdcg),
        other => Err(unsupported(format!(
            "objective {other:?} is not supported (supported: reg:squarederror, binary:logistic, rank:pairwise, rank:ndcg)"
        ))),
    }
}

/// XGBoost keeps base_score in output space (a probability for logistic), as a number, a
/// string, or (since 3.0) a one-element vector written as a string such as "[5E-1]".
fn base_score(params: &Value, objective: Objective) -> Result<f32, TrainError> {
    let raw = params.get("base_score").ok_or_else(|| unsupported("learner_model_param has no base_score"))?;
    let value = match raw {
        Value::String(text) => {
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
        other => number(Some(other)).ok_or_else(|| unsupported("base_score is not a number"))? as f32,
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

fn import_tree(tree: &Value, num_features: usize, max_category: &mut [u32]) -> Result<Tree, String> {
    let ints = |name: &str| -> Result<Vec<i64>, String> {
        let array = tree.get(name).and_then(Value::as_array).ok_or_else(|| format!("missing {name}"))?;
        array
            .iter()
            .map(|value| number(Some(value)).map(|n| n as i64).ok_or_else(|| format!("{name} has a non-number")))
            .collect()
    };
    let floats = |name: &str| -> Result<Vec<f32>, String> {
        let array = tree.get(name).and_then(Value::as_array).ok_or_else(|| format!("missing {name}"))?;
        array
            .iter()
            .map(|value| number(Some(value)).map(|n| n as f32).ok_or_else(|| format!("{name} has a non-number")))
            .collect()
    };
    let left = ints("left_children")?;
    let right = ints("right_children")?;
    let conditions = floats("split_conditions")?;
    let features = ints("split_indices")?;
    let default_left = ints("default_left")?;
    let covers = floats("sum_hessian")?;
    let split_types = ints("split_type").unwrap_or_else(|_| vec![0; left.len()]);
    let n = left.len();
    if [right.len(), conditions.len(), features.len(), default_left.len(), covers.len(), split_types.len()]
        .iter()
        .any(|&len| len != n)
    {
        return Err("node arrays have different lengths".into());
    }
    if tree
        .get("tree_param")
        .and_then(|param| param.get("size_leaf_vector"))
        .and_then(|size| number(Some(size)))
        .unwrap_or(1.0)
        > 1.0
    {
        return Err("vector leaves (multi-target trees) are not supported".into());
    }
    // Categorical splits: node -> the categories XGBoost sends right.
    let category_nodes = ints("categories_nodes").unwrap_or_default();
    let segments = ints("categories_segments").unwrap_or_default();
    let sizes = ints("categories_sizes").unwrap_or_default();
    let categories = ints("categories").unwrap_or_default();
    let mut sets_by_node = std::collections::BTreeMap::new();
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

    let mut nodes = Vec::with_capacity(n);
    let mut category_sets = Vec::new();
    for i in 0..n {
        let cover = covers[i];
        if left[i] < 0 {
            nodes.push(Node::leaf(conditions[i], cover));
            continue;
        }
        let to_index = |child: i64| u32::try_from(child).map_err(|_| format!("node {i} has child {child}"));
        let feature =
            usize::try_from(features[i]).map_err(|_| format!("node {i} splits on feature {}", features[i]))?;
        if feature >= num_features {
            return Err(format!("node {i} splits on feature {feature} of {num_features}"));
        }
        let (yes, no) = (to_index(left[i])?, to_index(right[i])?);
        let node = if split_types[i] == 1 {
            let set =
                sets_by_node.remove(&(i as i64)).ok_or_else(|| format!("categorical node {i} has no categories"))?;
            if let Some(&largest) = set.last() {
                max_category[feature] = max_category[feature].max(largest + 1);
            }
            category_sets.push(set);
            // XGBoost sends the categories in the set right; Marquee sends its set left,
            // so the children (and the missing-value direction) swap.
            Node {
                feature: feature as u32,
                value: (category_sets.len() - 1) as f32,
                left: no,
                right: yes,
                default_left: default_left[i] == 0,
                categorical: true,
                cover,
            }
        } else {
            Node {
                feature: feature as u32,
                value: conditions[i],
                left: yes,
                right: no,
                default_left: default_left[i] != 0,
                categorical: false,
                cover,
            }
        };
        nodes.push(node);
    }
    if nodes.is_empty() {
        return Err("the tree has no nodes".into());
    }
    Ok(Tree { nodes, category_sets })
}

fn schema(learner: &Value, num_features: usize, max_category: &[u32]) -> FeatureSchema {
    let names = learner.get("feature_names").and_then(Value::as_array);
    let types = learner.get("feature_types").and_then(Value::as_array);
    let features = (0..num_features)
        .map(|index| {
            let name = names
                .and_then(|names| names.get(index))
                .and_then(Value::as_str)
                .map_or_else(|| format!("f{index}"), str::to_owned);
            let categorical = types.and_then(|types| types.get(index)).and_then(Value::as_str) == Some("c");
            let kind = if categorical {
                FeatureKind::Categorical { categories: max_category.get(index).copied().unwrap_or(0).max(1) }
            } else {
                FeatureKind::Numeric
            };
            Feature { name, kind }
        })
        .collect();
    FeatureSchema { features }
}

/// XGBoost writes numbers as numbers or as strings, depending on the field and version.
fn number(value: Option<&Value>) -> Option<f64> {
    match value? {
        Value::Number(number) => number.as_f64(),
        Value::String(text) => text.trim().parse().ok(),
        Value::Bool(flag) => Some(f64::from(u8::from(*flag))),
        _ => None,
    }
}

fn field<'a>(value: &'a Value, name: &str) -> Result<&'a Value, TrainError> {
    value.get(name).ok_or_else(|| unsupported(format!("the model JSON has no {name:?} field")))
}

fn unsupported(reason: impl Into<String>) -> TrainError {
    TrainError::UnsupportedModel(reason.into())
}

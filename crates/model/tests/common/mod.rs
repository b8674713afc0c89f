//! Shared test models: hand-built ensembles with known outputs and seeded random ones.

#![allow(dead_code)]

use marquee_model::gbdt::{Ensemble, Feature, FeatureKind, FeatureSchema, Node, Objective, Tree};
use marquee_model::random::SplitMix64;

/// A numeric split with this threshold, children and missing-value direction.
pub fn split(feature: u32, threshold: f32, left: u32, right: u32, default_left: bool, cover: f32) -> Node {
    Node { feature, value: threshold, left, right, default_left, categorical: false, cover }
}

/// A categorical split on the tree's category set `set`.
pub fn categorical(feature: u32, set: u32, left: u32, right: u32, default_left: bool, cover: f32) -> Node {
    Node { feature, value: set as f32, left, right, default_left, categorical: true, cover }
}

/// Features `age` (numeric), `score` (numeric), `genre` (5 categories).
///
/// Tree 0: age < 30 (missing → left) ? (score < 0.5 (missing → right) ? 1 : 2) : 3
/// Tree 1: genre in {1, 3} (missing → right) ? -0.5 : 0.25
pub fn hand_built(objective: Objective) -> Ensemble {
    let mut schema = FeatureSchema::numeric(["age", "score"]);
    schema.features.push(Feature { name: "genre".into(), kind: FeatureKind::Categorical { categories: 5 } });
    let tree0 = Tree {
        nodes: vec![
            split(0, 30.0, 1, 2, true, 10.0),
            split(1, 0.5, 3, 4, false, 6.0),
            Node::leaf(3.0, 4.0),
            Node::leaf(1.0, 2.0),
            Node::leaf(2.0, 4.0),
        ],
        category_sets: vec![],
    };
    let tree1 = Tree {
        nodes: vec![categorical(2, 0, 1, 2, false, 10.0), Node::leaf(-0.5, 4.0), Node::leaf(0.25, 6.0)],
        category_sets: vec![vec![1, 3]],
    };
    Ensemble { schema, objective, base_score: 0.5, trees: vec![tree0, tree1] }
}

/// The crate's SplitMix64, with the single-precision draws these tests use.
pub struct Rng(SplitMix64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(SplitMix64::new(seed))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}

/// Shape of a random ensemble.
#[derive(Clone, Copy, Debug)]
pub struct Shape {
    pub trees: usize,
    pub depth: usize,
    pub numeric: usize,
    pub categorical: usize,
    /// Chance that a node above full depth becomes a leaf anyway.
    pub early_leaf: f32,
}

/// A random valid ensemble: breadth-first trees with consistent covers, numeric thresholds
/// in [0, 1), categorical splits on random sets, features possibly repeated on a path.
pub fn random_ensemble(seed: u64, shape: Shape) -> Ensemble {
    let mut rng = Rng::new(seed);
    let mut schema = FeatureSchema::numeric((0..shape.numeric).map(|i| format!("x{i}")));
    for i in 0..shape.categorical {
        let categories = 2 + rng.below(70) as u32;
        schema.features.push(Feature { name: format!("c{i}"), kind: FeatureKind::Categorical { categories } });
    }
    let features = schema.len() as u64;
    let objective = [Objective::SquaredError, Objective::Logistic, Objective::RankPairwise, Objective::RankNdcg]
        [rng.below(4) as usize];
    let mut trees = Vec::with_capacity(shape.trees);
    for _ in 0..shape.trees {
        let mut tree = Tree::default();
        // (node index, depth), breadth first so that children always come after parents.
        let mut queue = std::collections::VecDeque::from([(0usize, 0usize)]);
        tree.nodes.push(Node::leaf(0.0, 100.0));
        while let Some((at, depth)) = queue.pop_front() {
            let cover = tree.nodes[at].cover;
            let leaf = depth >= shape.depth || features == 0 || (depth > 0 && rng.unit() < shape.early_leaf);
            if leaf {
                tree.nodes[at].value = (rng.unit() - 0.5) * 0.2;
                continue;
            }
            let feature = rng.below(features) as u32;
            let share = 0.1 + 0.8 * rng.unit();
            let left = tree.nodes.len() as u32;
            let default_left = rng.below(2) == 0;
            let node = match schema.features[feature as usize].kind {
                FeatureKind::Numeric => {
                    Node { feature, value: rng.unit(), left, right: left + 1, default_left, categorical: false, cover }
                }
                FeatureKind::Categorical { categories } => {
                    let set: Vec<u32> = (0..categories).filter(|_| rng.below(2) == 0).collect();
                    tree.category_sets.push(set);
                    let value = (tree.category_sets.len() - 1) as f32;
                    Node { feature, value, left, right: left + 1, default_left, categorical: true, cover }
                }
            };
            tree.nodes[at] = node;
            tree.nodes.push(Node::leaf(0.0, cover * share));
            tree.nodes.push(Node::leaf(0.0, cover * (1.0 - share)));
            queue.push_back((left as usize, depth + 1));
            queue.push_back((left as usize + 1, depth + 1));
        }
        trees.push(tree);
    }
    Ensemble { schema, objective, base_score: rng.unit() - 0.5, trees }
}

/// Random rows for `ensemble`'s schema: numeric values in [-0.1, 1.1) with some NaN;
/// categorical codes mostly valid, sometimes NaN, negative, fractional or too large.
pub fn random_rows(seed: u64, ensemble: &Ensemble, count: usize) -> Vec<f32> {
    let mut rng = Rng::new(seed);
    let mut rows = Vec::with_capacity(count * ensemble.schema.len());
    for _ in 0..count {
        for feature in &ensemble.schema.features {
            let missing = rng.unit() < 0.05;
            let value = match feature.kind {
                _ if missing => f32::NAN,
                FeatureKind::Numeric => rng.unit() * 1.2 - 0.1,
                FeatureKind::Categorical { categories } => match rng.below(10) {
                    0 => -1.0,
                    1 => 0.5 + rng.below(u64::from(categories)) as f32,
                    2 => (categories + rng.below(3) as u32) as f32,
                    _ => rng.below(u64::from(categories)) as f32,
                },
            };
            rows.push(value);
        }
    }
    rows
}

/// The reference rule for which way `row` goes at a split, written from the spec.
pub fn goes_left(ensemble: &Ensemble, tree: &Tree, node: &Node, row: &[f32]) -> bool {
    let x = row[node.feature as usize];
    if node.categorical {
        let set = &tree.category_sets[node.value as usize];
        let FeatureKind::Categorical { categories } = ensemble.schema.features[node.feature as usize].kind else {
            unreachable!("validated")
        };
        if x.is_nan() || x < 0.0 || x.fract() != 0.0 || f64::from(x) >= f64::from(categories) {
            node.default_left
        } else {
            set.contains(&(x as u32))
        }
    } else if x.is_nan() {
        node.default_left
    } else {
        x < node.value
    }
}

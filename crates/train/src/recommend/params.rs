//! The hybrid's parameters and the catalog's, checked once into [`ValidHybridParams`] and
//! [`ValidCatalogParams`] so that a fit never meets an out-of-range value. Both are serde,
//! so that a run's parameters can be saved next to its model.

use marquee_model::gbdt::Objective;
use marquee_model::recommend::{RerankParams, RetrievalParams};
use serde::{Deserialize, Serialize};

use super::fit_neighbours::NeighbourParams;
use crate::gbdt::{Metric, TrainParams, ValidParams};
use crate::mf::{BiasedSvdParams, BprParams, ValidBiasedSvdParams, ValidBprParams};
use crate::validate::{at_least_one, invalid, share_below_one, Checked, Validate};
use crate::TrainError;

/// The users per profile shard when [`HybridParams::shard_count`] is 0 (automatic).
pub const USERS_PER_SHARD: usize = 256;

/// The longest "recent" window, a century: long enough for any catalog, and short enough
/// that the window in seconds cannot overflow.
const MAX_RECENT_DAYS: i64 = 36_500;

/// How long the catalog's candidate lists are.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CatalogParams {
    /// The number of movies kept in the global popularity list.
    pub popular: usize,
    /// The number of movies kept in each demographic segment's list.
    pub per_segment: usize,
    /// The number of movies kept in the new-releases list.
    pub new_releases: usize,
    /// The window, in days before the end of the training data, in which a watcher counts
    /// as recent; it must be 0 to 36,500.
    pub recent_days: i64,
}

impl Default for CatalogParams {
    fn default() -> Self {
        CatalogParams { popular: 500, per_segment: 200, new_releases: 100, recent_days: 7 }
    }
}

/// Catalog parameters that passed [`Validate::validate`]; the only kind
/// [`super::build_catalog()`] accepts.
pub type ValidCatalogParams = Checked<CatalogParams>;

impl Validate for CatalogParams {
    type Valid = ValidCatalogParams;

    /// Checks the recent window (the list lengths may be anything, 0 included).
    fn validate(self) -> Result<ValidCatalogParams, TrainError> {
        if !(0..=MAX_RECENT_DAYS).contains(&self.recent_days) {
            return Err(invalid("recent_days", format!("must be 0 to {MAX_RECENT_DAYS}, got {}", self.recent_days)));
        }
        Ok(Checked::after_checks(self))
    }
}

/// Everything the hybrid's fit can be told.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct HybridParams {
    /// The explicit factorisation, whose predicted rating is a ranker feature.
    pub svd: BiasedSvdParams,
    /// The implicit factorisation, which retrieves candidates and is a ranker feature.
    pub bpr: BprParams,
    /// The item-to-item neighbour lists: a retrieval source and ranker features.
    pub neighbours: NeighbourParams,
    /// The lengths of the catalog's candidate lists.
    pub catalog: CatalogParams,
    /// How many candidates stage 1 takes from each source.
    pub retrieval: RetrievalParams,
    /// The reranker's knobs, stored in the blob for serving.
    pub rerank: RerankParams,
    /// The ranker; its seed is replaced by [`HybridParams::seed`].
    pub ranker: TrainParams,
    /// Other objectives tried with the ranker's other settings when there are held-aside
    /// groups: the one whose early-stopping metric is best on them is kept, an alternative
    /// having to beat the ranker's own objective by 1% of its value (smaller differences
    /// are within the held-aside groups' noise). Empty: the ranker's objective only.
    pub ranker_alternatives: Vec<Objective>,
    /// The rating head (squared error on ratings), or `None` for no rating head; its seed is
    /// replaced by [`HybridParams::seed`].
    pub rating_head: Option<TrainParams>,
    /// The share of each user's training history, latest first, used as labels for the
    /// ranker; it must be at least 0 and below 1.
    pub label_fraction: f32,
    /// The share of users whose older history is blanked so the ranker learns cold start;
    /// it must be at least 0 and below 1 (0.3 did better than 0.1 for cold and warm users
    /// alike on the built-in world).
    pub cold_fraction: f32,
    /// The most users whose candidates become ranker training groups (a seeded sample
    /// beyond it); it must be at least 1.
    pub max_ranker_users: usize,
    /// The share of the ranker's users whose groups are held aside for early stopping
    /// instead of fitted on; at least 0 and below 1 (0: no validation, all rounds run).
    pub ranker_valid_fraction: f32,
    /// The number of negative candidates kept per group, drawn at random (all positives are
    /// kept).
    pub negatives_per_user: usize,
    /// How many shards the profiles are published in; 0 means one shard per
    /// [`USERS_PER_SHARD`] users, so that a request decodes a small shard however many
    /// users there are.
    pub shard_count: u32,
    /// The seed of every random choice of the fit: the inner split, the user sample, the
    /// negatives, the rating head's check set and both trees' sampling.
    pub seed: u64,
}

impl Default for HybridParams {
    fn default() -> Self {
        HybridParams {
            svd: BiasedSvdParams { factors: 32, ..BiasedSvdParams::default() },
            bpr: BprParams::default(),
            neighbours: NeighbourParams::default(),
            catalog: CatalogParams::default(),
            retrieval: RetrievalParams::default(),
            rerank: RerankParams::default(),
            // Pointwise logistic loss on shallow trees: on the built-in world it beat
            // LambdaMART (NDCG and pairwise) and deeper trees on held-out NDCG@20, because
            // a group has one or two positives and the signal beyond popularity is thin.
            // The rounds stop early on the held-aside groups' NDCG@20.
            ranker: TrainParams {
                objective: Objective::Logistic,
                rounds: 300,
                learning_rate: 0.1,
                max_depth: 3,
                ndcg_k: 20,
                early_stopping_rounds: Some(30),
                eval_metric: Some(Metric::Ndcg(20)),
                ..TrainParams::default()
            },
            ranker_alternatives: vec![Objective::RankNdcg],
            rating_head: Some(TrainParams {
                objective: Objective::SquaredError,
                rounds: 200,
                learning_rate: 0.05,
                max_depth: 6,
                ..TrainParams::default()
            }),
            label_fraction: 0.2,
            cold_fraction: 0.3,
            max_ranker_users: 20_000,
            ranker_valid_fraction: 0.2,
            negatives_per_user: 60,
            shard_count: 0,
            seed: 0,
        }
    }
}

/// Hybrid parameters that passed [`Validate::validate`], with every part checked; the
/// ranker's and the rating head's seeds are already the hybrid's.
#[derive(Clone, Debug, PartialEq)]
pub struct ValidHybridParams {
    params: HybridParams,
    svd: ValidBiasedSvdParams,
    bpr: ValidBprParams,
    catalog: ValidCatalogParams,
    ranker: ValidParams,
    ranker_alternatives: Vec<ValidParams>,
    rating_head: Option<ValidParams>,
}

impl ValidHybridParams {
    /// The checked parameters, as given.
    pub fn params(&self) -> &HybridParams {
        &self.params
    }

    /// The explicit factorisation's parameters.
    pub fn svd(&self) -> &ValidBiasedSvdParams {
        &self.svd
    }

    /// The implicit factorisation's parameters.
    pub fn bpr(&self) -> &ValidBprParams {
        &self.bpr
    }

    /// The catalog's parameters.
    pub fn catalog(&self) -> &ValidCatalogParams {
        &self.catalog
    }

    /// The ranker's parameters, seeded with the hybrid's seed.
    pub fn ranker(&self) -> &ValidParams {
        &self.ranker
    }

    /// The ranker's parameters with each alternative objective, seeded with the hybrid's seed.
    pub fn ranker_alternatives(&self) -> &[ValidParams] {
        &self.ranker_alternatives
    }

    /// The rating head's parameters, seeded with the hybrid's seed, if there is a head.
    pub fn rating_head(&self) -> Option<&ValidParams> {
        self.rating_head.as_ref()
    }

    /// The profile shard count, with 0 (automatic) resolved for `users` users.
    pub fn shard_count(&self, users: usize) -> u32 {
        match self.params.shard_count {
            0 => u32::try_from(users.div_ceil(USERS_PER_SHARD).max(1)).unwrap_or(u32::MAX),
            count => count,
        }
    }
}

impl Validate for HybridParams {
    type Valid = ValidHybridParams;

    /// Checks every part (the factorisations, the catalog, both trees) and every share.
    fn validate(self) -> Result<ValidHybridParams, TrainError> {
        let seeded = |params: &TrainParams| TrainParams { seed: self.seed, ..params.clone() };
        let svd = self.svd.validate()?;
        let bpr = self.bpr.validate()?;
        let catalog = self.catalog.validate()?;
        self.neighbours.validate()?;
        let ranker = seeded(&self.ranker).validate()?;
        let ranker_alternatives = self
            .ranker_alternatives
            .iter()
            .map(|&objective| TrainParams { objective, ..seeded(&self.ranker) }.validate())
            .collect::<Result<Vec<_>, _>>()?;
        let rating_head = self.rating_head.as_ref().map(|head| seeded(head).validate()).transpose()?;
        share_below_one("label_fraction", self.label_fraction)?;
        share_below_one("cold_fraction", self.cold_fraction)?;
        share_below_one("ranker_valid_fraction", self.ranker_valid_fraction)?;
        at_least_one("max_ranker_users", self.max_ranker_users)?;
        Ok(ValidHybridParams { params: self, svd, bpr, catalog, ranker, ranker_alternatives, rating_head })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_round_trip_through_json() {
        let params = HybridParams::default();
        assert!(params.clone().validate().is_ok());
        let json = serde_json::to_string(&params).unwrap();
        assert_eq!(serde_json::from_str::<HybridParams>(&json).unwrap(), params);
        assert_eq!(serde_json::from_str::<HybridParams>("{}").unwrap(), params, "missing fields take defaults");
    }

    #[test]
    fn out_of_range_parameters_are_rejected() {
        let rejects = |params: HybridParams, name: &str| match params.validate() {
            Err(TrainError::InvalidParam { name: got, .. }) => assert_eq!(got, name),
            other => panic!("expected {name} to be rejected, got {other:?}"),
        };
        let d = HybridParams::default;
        rejects(HybridParams { label_fraction: 1.0, ..d() }, "label_fraction");
        rejects(HybridParams { cold_fraction: -0.1, ..d() }, "cold_fraction");
        rejects(HybridParams { max_ranker_users: 0, ..d() }, "max_ranker_users");
        rejects(
            HybridParams { catalog: CatalogParams { recent_days: -1, ..CatalogParams::default() }, ..d() },
            "recent_days",
        );
        rejects(HybridParams { svd: BiasedSvdParams { factors: 0, ..d().svd }, ..d() }, "factors");
        rejects(HybridParams { bpr: BprParams { epochs: 0, ..d().bpr }, ..d() }, "epochs");
        rejects(HybridParams { ranker: TrainParams { rounds: 0, ..d().ranker }, ..d() }, "rounds");
        let seeded = HybridParams { seed: 7, ..d() }.validate().unwrap();
        assert_eq!(seeded.ranker().params().seed, 7);
        assert_eq!(seeded.rating_head().map(|head| head.params().seed), Some(7));
    }
}

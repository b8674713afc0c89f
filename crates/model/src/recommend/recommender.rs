//! The two stages put together: retrieve, rank with the GBDT engine, rerank.

use super::features::{fill_row, ranker_schema, UserContext, FEATURE_COUNT};
use super::rerank::{rerank, RerankParams, Scored};
use super::retrieve::{retrieve, Candidate, CandidateSource, RetrievalParams};
use super::{Catalog, ProfileShard, UserProfile};
use crate::gbdt::Predictor;
use crate::ModelError;

/// One recommended movie.
#[derive(Clone, Debug, PartialEq)]
pub struct Recommendation {
    /// The catalog index.
    pub item: u32,
    /// The ranker's score after the reranker's popularity penalty (higher is better).
    pub score: f32,
    /// Where the candidate came from.
    pub source: CandidateSource,
}

/// Everything serving needs except per-user profiles: the catalog, the ranker, and the knobs
/// of both stages. Built by the trainer, checked on construction, then read-only.
pub struct Recommender {
    catalog: Catalog,
    ranker: Predictor,
    /// Predicts a rating from the same features, for rating accuracy (optional).
    rating_head: Option<Predictor>,
    retrieval: RetrievalParams,
    rerank: RerankParams,
    shard_count: u32,
    /// [`Catalog::fingerprint`], computed once: it hashes every movie id.
    fingerprint: u64,
}

impl Recommender {
    /// Checks that the parts fit together: a valid catalog, knobs in range, and models that
    /// read exactly the ranker schema this catalog implies.
    pub fn new(
        catalog: Catalog,
        ranker: Predictor,
        rating_head: Option<Predictor>,
        retrieval: RetrievalParams,
        rerank: RerankParams,
        shard_count: u32,
    ) -> Result<Recommender, ModelError> {
        catalog.validate()?;
        retrieval.validate()?;
        rerank.validate()?;
        if shard_count == 0 {
            return Err(ModelError::InvalidModel("profiles need at least one shard".into()));
        }
        let schema = ranker_schema(&catalog);
        for model in std::iter::once(&ranker).chain(rating_head.as_ref()) {
            if model.schema() != &schema {
                return Err(ModelError::InvalidModel("a model's features differ from the ranker schema".into()));
            }
        }
        let fingerprint = catalog.fingerprint();
        Ok(Recommender { catalog, ranker, rating_head, retrieval, rerank, shard_count, fingerprint })
    }

    /// The movies and the item side of both factorisations.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// The stage-2 model that scores candidates on the ranker features.
    pub fn ranker(&self) -> &Predictor {
        &self.ranker
    }

    /// The model that predicts a rating from the ranker features, if one was trained.
    pub fn rating_head(&self) -> Option<&Predictor> {
        self.rating_head.as_ref()
    }

    /// How many candidates stage 1 takes from each source.
    pub fn retrieval(&self) -> &RetrievalParams {
        &self.retrieval
    }

    /// The reranker's knobs [`Recommender::recommend`] uses.
    pub fn rerank_params(&self) -> &RerankParams {
        &self.rerank
    }

    /// How many shards the per-user profiles are split into.
    pub fn shard_count(&self) -> u32 {
        self.shard_count
    }

    /// The catalog's fingerprint, which profile shards must carry.
    pub fn fingerprint(&self) -> u64 {
        self.fingerprint
    }

    /// `user_id`'s profile from `shard`, checked against this recommender's catalog;
    /// `Ok(None)` when the shard does not hold it.
    pub fn lookup_profile(&self, shard: &ProfileShard, user_id: u64) -> Result<Option<UserProfile>, ModelError> {
        shard.lookup_with_fingerprint(user_id, &self.catalog, self.fingerprint)
    }

    /// The movie id of a catalog index.
    pub fn movie_id(&self, item: u32) -> Option<&str> {
        self.catalog.movies.get(item as usize).map(|movie| movie.movie_id.as_str())
    }

    /// Up to `count` movies for `profile` with the configured reranker; `seed` picks the
    /// exploration slot's movie (serving passes the recommendation id's hash).
    pub fn recommend(&self, profile: &UserProfile, count: usize, seed: u64) -> Vec<Recommendation> {
        self.recommend_with(profile, count, seed, &self.rerank)
    }

    /// [`Recommender::recommend`] with other reranker knobs (evaluation sweeps them).
    pub fn recommend_with(
        &self,
        profile: &UserProfile,
        count: usize,
        seed: u64,
        rerank_params: &RerankParams,
    ) -> Vec<Recommendation> {
        let scored = self.score_candidates(profile);
        rerank(&self.catalog, rerank_params, &scored, count, seed)
            .into_iter()
            .map(|candidate| Recommendation { item: candidate.item, score: candidate.score, source: candidate.source })
            .collect()
    }

    /// Stages 1 and 2: every candidate with the ranker's score.
    pub fn score_candidates(&self, profile: &UserProfile) -> Vec<Scored> {
        let candidates = retrieve(&self.catalog, &self.retrieval, profile);
        let user = UserContext::new(&self.catalog, profile);
        let mut rows = vec![0.0f32; candidates.len() * FEATURE_COUNT];
        for (candidate, row) in candidates.iter().zip(rows.chunks_exact_mut(FEATURE_COUNT)) {
            fill_row(&self.catalog, &user, candidate, row);
        }
        let mut scores = vec![0.0f32; candidates.len()];
        // The rows are built for this schema, so the only possible error is impossible; a
        // failure still degrades to the retrieval order rather than a panic.
        if self.ranker.predict_margins(&rows, &mut scores).is_err() {
            for (rank, score) in scores.iter_mut().enumerate() {
                *score = -(rank as f32);
            }
        }
        candidates
            .iter()
            .zip(scores)
            .map(|(candidate, score)| Scored { item: candidate.item, score, source: candidate.source })
            .collect()
    }

    /// The ranker's row for one user and movie scored on its own (what the rating head is
    /// trained on, and what `explain` and drift reports see). The candidate ranks are
    /// missing: they need the user's whole retrieval, which one movie's row does not pay for.
    pub fn ranker_row(&self, profile: &UserProfile, item: u32) -> [f32; FEATURE_COUNT] {
        let user = UserContext::new(&self.catalog, profile);
        let candidate = Candidate::scored(&self.catalog, profile, item, CandidateSource::Factors);
        let mut row = [0.0f32; FEATURE_COUNT];
        fill_row(&self.catalog, &user, &candidate, &mut row);
        row
    }

    /// The `k` features that moved the ranker's score for this movie most (TreeSHAP), by
    /// name, largest magnitude first.
    pub fn explain(&self, profile: &UserProfile, item: u32, k: usize) -> Result<Vec<(&str, f32)>, ModelError> {
        let row = self.ranker_row(profile, item);
        let top = self.ranker.top_contributions(&row, k)?;
        Ok(top
            .into_iter()
            .filter_map(|(feature, value)| {
                self.ranker.schema().features.get(feature).map(|feature| (feature.name.as_str(), value))
            })
            .collect())
    }

    /// The predicted rating of `item` by this user: the rating head when there is one, the
    /// explicit factorisation otherwise.
    pub fn predict_rating(&self, profile: &UserProfile, item: u32) -> f32 {
        let svd = self.catalog.svd_rating(profile.svd_bias, &profile.svd_factors, item as usize);
        let Some(head) = &self.rating_head else { return svd };
        let row = self.ranker_row(profile, item);
        match head.predict(&row) {
            Ok(rating) if rating.is_finite() => {
                rating.max(self.catalog.svd_min_rating).min(self.catalog.svd_max_rating)
            }
            _ => svd,
        }
    }
}

//! The models evaluation compares, behind one small trait: popularity, biased SVD, BPR, the
//! original team's GBDT rating model, and the hybrid.

use std::time::Instant;

use marquee_model::gbdt::{Node, Objective, Predictor};
use marquee_model::mf::BiasedSvd;
use marquee_model::rank::top_k;
use marquee_model::recommend::{
    fill_row, retrieve, ItemNeighbours, RerankParams, UserContext, UserProfile, FEATURE_COUNT,
};

use crate::gbdt::{train, Table, TrainParams};
use crate::mf::{fit_biased_svd, fit_bpr, BiasedSvdParams, BprParams, ImplicitFactors};
use crate::rating_features::{CategoryEncoding, RatingFeaturizer};
use crate::recommend::{fit_neighbours, FittedHybrid, Interaction, Interactions, NeighbourParams};
use crate::{TrainError, Validate};

/// A model that can make a user's list, and perhaps predict ratings.
pub trait ListModel {
    /// The name the table prints.
    fn name(&self) -> String;
    /// Up to `count` movies the user has not interacted with in training, best first.
    fn recommend(&self, user: usize, count: usize) -> Vec<u32>;
    /// The predicted rating, for models that predict ratings.
    fn predict_rating(&self, _user: usize, _item: u32) -> Option<f32> {
        None
    }
    /// The bytes the model takes as published files.
    fn disk_bytes(&self) -> usize;
    /// The bytes the model's arrays take in memory once loaded.
    fn memory_bytes(&self) -> usize;
    /// The seconds the fit took.
    fn train_seconds(&self) -> f64;
}

/// Each user's training movies, sorted, so every model excludes the same ones.
#[derive(Clone, Debug, Default)]
pub struct SeenMovies(Vec<Vec<u32>>);

impl SeenMovies {
    pub fn new(users: usize, train: &[Interaction]) -> Self {
        let mut seen = vec![Vec::new(); users];
        for event in train {
            seen[event.user as usize].push(event.item);
        }
        for items in &mut seen {
            items.sort_unstable();
            items.dedup();
        }
        SeenMovies(seen)
    }

    pub fn contains(&self, user: usize, item: u32) -> bool {
        self.0.get(user).is_some_and(|items| items.binary_search(&item).is_ok())
    }

    fn of(&self, user: usize) -> &[u32] {
        self.0.get(user).map_or(&[], Vec::as_slice)
    }
}

/// The best `count` unseen items by `scores`.
fn best_unseen(scores: &mut [f32], seen: &[u32], count: usize) -> Vec<u32> {
    for &item in seen {
        if let Some(score) = scores.get_mut(item as usize) {
            *score = f32::NEG_INFINITY;
        }
    }
    let mut order = Vec::new();
    top_k(scores, count, &mut order);
    order.into_iter().filter(|&item| scores[item] > f32::NEG_INFINITY).map(|item| item as u32).collect()
}

/// The most-interacted-with movies in training, the same for everyone.
pub struct Popularity {
    order: Vec<u32>,
    seen: SeenMovies,
    seconds: f64,
}

impl Popularity {
    pub fn fit(data: &Interactions, train: &[Interaction], seen: SeenMovies) -> Self {
        let started = Instant::now();
        let mut counts = vec![0u32; data.movies.len()];
        for event in train {
            counts[event.item as usize] += 1;
        }
        let mut order: Vec<u32> = (0..data.movies.len() as u32).collect();
        order.sort_by_key(|&item| (std::cmp::Reverse(counts[item as usize]), item));
        Popularity { order, seen, seconds: started.elapsed().as_secs_f64() }
    }
}

impl ListModel for Popularity {
    fn name(&self) -> String {
        "popularity".into()
    }

    fn recommend(&self, user: usize, count: usize) -> Vec<u32> {
        self.order.iter().copied().filter(|&item| !self.seen.contains(user, item)).take(count).collect()
    }

    fn disk_bytes(&self) -> usize {
        self.order.len() * 4
    }

    fn memory_bytes(&self) -> usize {
        self.order.len() * 4
    }

    fn train_seconds(&self) -> f64 {
        self.seconds
    }
}

/// Biased SVD on the training ratings, ranking every movie by predicted rating.
pub struct Svd {
    model: BiasedSvd,
    rated: Vec<bool>,
    seen: SeenMovies,
    seconds: f64,
}

impl Svd {
    pub fn fit(
        data: &Interactions,
        train: &[Interaction],
        seen: SeenMovies,
        params: BiasedSvdParams,
    ) -> Result<Self, TrainError> {
        let started = Instant::now();
        let ratings: Vec<(u32, u32, f32)> =
            train.iter().filter_map(|event| event.rating.map(|rating| (event.user, event.item, rating))).collect();
        let (low, high) = data.rating_scale();
        let model = fit_biased_svd(&ratings, data.users.len(), data.movies.len(), low, high, &params.validate()?)?;
        let mut rated = vec![false; data.users.len()];
        for &(user, _, _) in &ratings {
            rated[user as usize] = true;
        }
        Ok(Svd { model, rated, seen, seconds: started.elapsed().as_secs_f64() })
    }

    fn known(&self, user: usize) -> Option<usize> {
        self.rated.get(user).copied().unwrap_or(false).then_some(user)
    }
}

impl ListModel for Svd {
    fn name(&self) -> String {
        format!("svd ({} factors)", self.model.factors)
    }

    fn recommend(&self, user: usize, count: usize) -> Vec<u32> {
        let mut scores = vec![0.0f32; self.model.items()];
        self.model.score_items(self.known(user), &mut scores);
        best_unseen(&mut scores, self.seen.of(user), count)
    }

    fn predict_rating(&self, user: usize, item: u32) -> Option<f32> {
        Some(self.model.predict(self.known(user), Some(item as usize)))
    }

    fn disk_bytes(&self) -> usize {
        self.model.to_blob().map_or(0, |blob| blob.len())
    }

    fn memory_bytes(&self) -> usize {
        4 * (self.model.user_bias.len()
            + self.model.item_bias.len()
            + self.model.user_factors.len()
            + self.model.item_factors.len())
    }

    fn train_seconds(&self) -> f64 {
        self.seconds
    }
}

/// BPR on the training interactions, ranking every movie by its implicit score.
pub struct Bpr {
    model: ImplicitFactors,
    active: Vec<bool>,
    seen: SeenMovies,
    seconds: f64,
}

impl Bpr {
    pub fn fit(
        data: &Interactions,
        train: &[Interaction],
        seen: SeenMovies,
        params: BprParams,
    ) -> Result<Self, TrainError> {
        let started = Instant::now();
        let pairs: Vec<(u32, u32)> = train.iter().map(|event| (event.user, event.item)).collect();
        let model = fit_bpr(&pairs, data.users.len(), data.movies.len(), &params.validate()?)?;
        let mut active = vec![false; data.users.len()];
        for &(user, _) in &pairs {
            active[user as usize] = true;
        }
        Ok(Bpr { model, active, seen, seconds: started.elapsed().as_secs_f64() })
    }
}

impl ListModel for Bpr {
    fn name(&self) -> String {
        format!("bpr ({} factors)", self.model.item_factors.ncols())
    }

    fn recommend(&self, user: usize, count: usize) -> Vec<u32> {
        let known = self.active.get(user).copied().unwrap_or(false);
        let mut scores: Vec<f32> = (0..self.model.item_bias.len())
            .map(|item| if known { self.model.score(user, item) } else { self.model.item_bias[item] })
            .collect();
        best_unseen(&mut scores, self.seen.of(user), count)
    }

    fn disk_bytes(&self) -> usize {
        self.memory_bytes()
    }

    fn memory_bytes(&self) -> usize {
        4 * (self.model.user_factors.len() + self.model.item_factors.len() + self.model.item_bias.len())
    }

    fn train_seconds(&self) -> f64 {
        self.seconds
    }
}

/// The neighbourhood source on its own: each movie scored by the summed weights from the
/// user's training movies, through the same top-k lists the hybrid serves; users with no
/// history get the most popular movies.
pub struct Neighbours {
    neighbours: ItemNeighbours,
    uses_ease: bool,
    popularity: Popularity,
    seen: SeenMovies,
    seconds: f64,
}

impl Neighbours {
    pub fn fit(
        data: &Interactions,
        train: &[Interaction],
        seen: SeenMovies,
        params: NeighbourParams,
    ) -> Result<Self, TrainError> {
        let started = Instant::now();
        let pairs: Vec<(u32, u32)> = train.iter().map(|event| (event.user, event.item)).collect();
        let neighbours = fit_neighbours(&pairs, data.users.len(), data.movies.len(), &params)?;
        let popularity = Popularity::fit(data, train, seen.clone());
        Ok(Neighbours {
            neighbours,
            uses_ease: params.uses_ease(data.movies.len()),
            popularity,
            seen,
            seconds: started.elapsed().as_secs_f64(),
        })
    }
}

impl ListModel for Neighbours {
    fn name(&self) -> String {
        if self.uses_ease {
            "ease".into()
        } else {
            "item-knn".into()
        }
    }

    fn recommend(&self, user: usize, count: usize) -> Vec<u32> {
        let history = self.seen.of(user);
        if history.is_empty() {
            return self.popularity.recommend(user, count);
        }
        let mut scores = vec![0.0f32; self.popularity.order.len()];
        self.neighbours.score_history(history, &mut scores);
        best_unseen(&mut scores, history, count)
    }

    fn disk_bytes(&self) -> usize {
        postcard::to_allocvec(&self.neighbours).map_or(0, |bytes| bytes.len())
    }

    fn memory_bytes(&self) -> usize {
        4 * self.neighbours.offsets.len() + 6 * self.neighbours.len()
    }

    fn train_seconds(&self) -> f64 {
        self.seconds
    }
}

/// The original team's model: gradient-boosted trees on demographics and movie metadata,
/// trained on ratings, ranking every movie by predicted rating.
pub struct GbdtRatings {
    predictor: Predictor,
    featurizer: RatingFeaturizer,
    data_users: Vec<marquee_data::User>,
    data_movies: Vec<marquee_data::Movie>,
    seen: SeenMovies,
    seconds: f64,
}

impl GbdtRatings {
    /// The original team's settings, in XGBoost's terms: 200 rounds of depth 6 at 0.1.
    pub fn default_params() -> TrainParams {
        TrainParams {
            objective: Objective::SquaredError,
            rounds: 200,
            learning_rate: 0.1,
            max_depth: 6,
            ..TrainParams::default()
        }
    }

    pub fn fit(
        data: &Interactions,
        train_events: &[Interaction],
        seen: SeenMovies,
        params: TrainParams,
    ) -> Result<Self, TrainError> {
        let started = Instant::now();
        let featurizer = RatingFeaturizer::new(&data.users, &data.movies, CategoryEncoding::Categorical);
        let (mut rows, mut labels) = (Vec::new(), Vec::new());
        for event in train_events {
            let Some(rating) = event.rating else { continue };
            featurizer.push_row(data.users.get(event.user as usize), data.movies.get(event.item as usize), &mut rows);
            labels.push(rating);
        }
        let table = Table::new(featurizer.schema.clone(), rows, labels, None)?;
        let ensemble = train(&table, None, &params.validate()?, &mut |_, _| {})?.ensemble;
        Ok(GbdtRatings {
            predictor: Predictor::new(ensemble)?,
            featurizer,
            data_users: data.users.clone(),
            data_movies: data.movies.clone(),
            seen,
            seconds: started.elapsed().as_secs_f64(),
        })
    }
}

impl ListModel for GbdtRatings {
    fn name(&self) -> String {
        "gbdt (ratings)".into()
    }

    fn recommend(&self, user: usize, count: usize) -> Vec<u32> {
        let user_record = self.data_users.get(user);
        let mut rows = Vec::with_capacity(self.data_movies.len() * self.featurizer.schema.len());
        for movie in &self.data_movies {
            self.featurizer.push_row(user_record, Some(movie), &mut rows);
        }
        let mut scores = vec![0.0f32; self.data_movies.len()];
        if self.predictor.predict_margins(&rows, &mut scores).is_err() {
            return Vec::new();
        }
        best_unseen(&mut scores, self.seen.of(user), count)
    }

    fn predict_rating(&self, user: usize, item: u32) -> Option<f32> {
        let mut row = Vec::with_capacity(self.featurizer.schema.len());
        self.featurizer.push_row(self.data_users.get(user), self.data_movies.get(item as usize), &mut row);
        self.predictor.predict(&row).ok()
    }

    fn disk_bytes(&self) -> usize {
        self.predictor.ensemble().to_blob().map_or(0, |blob| blob.len())
    }

    fn memory_bytes(&self) -> usize {
        self.predictor.ensemble().trees.iter().map(|tree| tree.nodes.len() * std::mem::size_of::<Node>()).sum()
    }

    fn train_seconds(&self) -> f64 {
        self.seconds
    }
}

/// The hybrid, served exactly as the edge serves it, with a choice of reranker knobs.
pub struct Hybrid<'a> {
    pub fitted: &'a FittedHybrid,
    pub rerank: RerankParams,
    pub label: &'static str,
}

impl Hybrid<'_> {
    fn profile(&self, user: usize) -> Option<&UserProfile> {
        self.fitted.profiles.get(user)
    }
}

impl ListModel for Hybrid<'_> {
    fn name(&self) -> String {
        self.label.into()
    }

    fn recommend(&self, user: usize, count: usize) -> Vec<u32> {
        let Some(profile) = self.profile(user) else { return Vec::new() };
        self.fitted
            .recommender
            .recommend_with(profile, count, profile.user_id, &self.rerank)
            .into_iter()
            .map(|recommendation| recommendation.item)
            .collect()
    }

    fn predict_rating(&self, user: usize, item: u32) -> Option<f32> {
        Some(self.fitted.recommender.predict_rating(self.profile(user)?, item))
    }

    fn disk_bytes(&self) -> usize {
        let recommender = self.fitted.recommender.to_blob().map_or(0, |blob| blob.len());
        let profiles: usize =
            self.fitted.profiles.iter().map(|profile| postcard::to_allocvec(profile).map_or(0, |b| b.len())).sum();
        recommender + profiles
    }

    fn memory_bytes(&self) -> usize {
        let catalog = self.fitted.recommender.catalog();
        let factors = 4 * (catalog.svd.vectors.len() + catalog.implicit.vectors.len() + 2 * catalog.len());
        let movies =
            catalog.movies.iter().map(|movie| std::mem::size_of_val(movie) + movie.movie_id.len()).sum::<usize>();
        let trees: usize = [Some(self.fitted.recommender.ranker()), self.fitted.recommender.rating_head()]
            .into_iter()
            .flatten()
            .map(|predictor| {
                predictor
                    .ensemble()
                    .trees
                    .iter()
                    .map(|tree| tree.nodes.len() * std::mem::size_of::<Node>())
                    .sum::<usize>()
            })
            .sum();
        let profiles: usize = self
            .fitted
            .profiles
            .iter()
            .map(|profile| {
                std::mem::size_of::<UserProfile>()
                    + 4 * (profile.genre_affinity.len()
                        + profile.svd_factors.len()
                        + profile.implicit_factors.len()
                        + profile.seen.len())
            })
            .sum();
        factors + movies + trees + profiles
    }

    fn train_seconds(&self) -> f64 {
        self.fitted.seconds
    }
}

/// Every user's retrieved candidates as the hybrid's ranker rows, so that a peer ranker
/// can score exactly the candidates and features Marquee's ranker scores.
pub struct CandidateRows {
    /// Row-major, one row of [`FEATURE_COUNT`] per candidate.
    pub features: Vec<f32>,
    /// The candidate of each row.
    pub items: Vec<u32>,
    /// `offsets[u]..offsets[u + 1]` are user `u`'s rows (dense user index).
    pub offsets: Vec<usize>,
}

impl CandidateRows {
    /// Retrieves and featurises every profile's candidates with `fitted`'s served model.
    pub fn new(fitted: &FittedHybrid) -> Self {
        let recommender = &fitted.recommender;
        let catalog = recommender.catalog();
        let mut rows = CandidateRows { features: Vec::new(), items: Vec::new(), offsets: vec![0] };
        let mut row = [0.0f32; FEATURE_COUNT];
        for profile in &fitted.profiles {
            let user = UserContext::new(catalog, profile);
            for candidate in retrieve(catalog, recommender.retrieval(), profile) {
                fill_row(catalog, &user, &candidate, &mut row);
                rows.features.extend_from_slice(&row);
                rows.items.push(candidate.item);
            }
            rows.offsets.push(rows.items.len());
        }
        rows
    }
}

/// A peer ranker's order of the hybrid's own candidates (see [`CandidateRows`]): the same
/// retrieval, another stage 2, no reranker.
pub struct PeerRanked {
    name: String,
    lists: Vec<Vec<u32>>,
    seconds: f64,
}

impl PeerRanked {
    /// Orders each user's candidates by the peer's `scores` (one per row of `rows`, higher
    /// first, ties by retrieval order); `seconds` is what the peer's fit took.
    pub fn new(name: String, rows: &CandidateRows, scores: &[f32], seconds: f64) -> Result<Self, TrainError> {
        if scores.len() != rows.items.len() {
            return Err(TrainError::InvalidData(format!(
                "the peer scored {} rows, expected {}",
                scores.len(),
                rows.items.len()
            )));
        }
        let lists = rows
            .offsets
            .windows(2)
            .map(|pair| {
                let (items, scores) = (&rows.items[pair[0]..pair[1]], &scores[pair[0]..pair[1]]);
                let mut order: Vec<usize> = (0..items.len()).collect();
                order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
                order.into_iter().map(|index| items[index]).collect()
            })
            .collect();
        Ok(PeerRanked { name, lists, seconds })
    }
}

impl ListModel for PeerRanked {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn recommend(&self, user: usize, count: usize) -> Vec<u32> {
        self.lists.get(user).map_or_else(Vec::new, |list| list.iter().copied().take(count).collect())
    }

    fn disk_bytes(&self) -> usize {
        0
    }

    fn memory_bytes(&self) -> usize {
        0
    }

    fn train_seconds(&self) -> f64 {
        self.seconds
    }
}

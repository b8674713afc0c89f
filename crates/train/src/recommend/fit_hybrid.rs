//! The two-stage fit.
//!
//! The ranker must learn from features computed on data older than its labels, or it learns
//! to trust features that already contain the answer. So the training half is split again
//! by time: the factorisations, catalog and profiles are fitted on the older part, stage 1
//! retrieves candidates from them, and each candidate is labelled by whether the user went
//! on to watch it (or rate it 4+) in the newer part. A share of users is blanked out of the
//! older part so that the ranker also learns what to do with cold users. Then everything
//! but the ranker is refitted on the whole training half for serving.

use std::collections::HashSet;
use std::time::Instant;

use marquee_model::gbdt::{Objective, Predictor};
use marquee_model::mf::BiasedSvd;
use marquee_model::random::unit_hash;
use marquee_model::recommend::{
    fill_row, ranker_schema, retrieve, Catalog, Recommender, RerankParams, RetrievalParams, UserContext, UserProfile,
    FEATURE_COUNT, FEATURE_NAMES,
};

use super::build_catalog::{build_catalog, CatalogParams};
use super::build_profiles::build_profiles;
use super::interactions::{Interaction, Interactions};
use super::split::{split_events, SplitParams};
use crate::gbdt::{train, Table, TrainParams};
use crate::mf::{fit_biased_svd, fit_bpr, BiasedSvdParams, BprParams, ImplicitFactors};
use crate::{TrainError, Validate};

/// Everything the hybrid's fit can be told.
#[derive(Clone, Debug, PartialEq)]
pub struct HybridParams {
    /// The explicit factorisation (its rating is a ranker feature).
    pub svd: BiasedSvdParams,
    /// The implicit factorisation (retrieval, and a ranker feature).
    pub bpr: BprParams,
    /// The lengths of the catalog's candidate lists.
    pub catalog: CatalogParams,
    /// How many candidates stage 1 takes from each source.
    pub retrieval: RetrievalParams,
    /// The reranker's knobs, stored in the blob for serving.
    pub rerank: RerankParams,
    /// The ranker (LambdaMART on NDCG by default).
    pub ranker: TrainParams,
    /// The rating head (squared error on ratings), or `None` for no rating head.
    pub rating_head: Option<TrainParams>,
    /// The share of each user's training history used as labels for the ranker.
    pub label_fraction: f32,
    /// The share of users whose older history is blanked so the ranker learns cold start
    /// (0.3 did better than 0.1 for cold and warm users alike on the built-in world).
    pub cold_fraction: f32,
    /// The most users whose candidates become ranker training groups.
    pub max_ranker_users: usize,
    /// Negative candidates kept per group (all positives are kept).
    pub negatives_per_user: usize,
    /// How many shards the profiles are published in; 0 means one shard per
    /// [`USERS_PER_SHARD`] users, so that a request decodes a small shard however many
    /// users there are.
    pub shard_count: u32,
    /// Seeds every random choice.
    pub seed: u64,
}

impl Default for HybridParams {
    fn default() -> Self {
        HybridParams {
            svd: BiasedSvdParams { factors: 32, ..BiasedSvdParams::default() },
            bpr: BprParams::default(),
            catalog: CatalogParams::default(),
            retrieval: RetrievalParams::default(),
            rerank: RerankParams::default(),
            // Pointwise logistic loss on shallow trees: on the built-in world it beat
            // LambdaMART (NDCG and pairwise) and deeper trees on held-out NDCG@20, because
            // a group has one or two positives and the signal beyond popularity is thin.
            ranker: TrainParams {
                objective: Objective::Logistic,
                rounds: 150,
                learning_rate: 0.1,
                max_depth: 3,
                ndcg_k: 20,
                ..TrainParams::default()
            },
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
            negatives_per_user: 60,
            shard_count: 0,
            seed: 0,
        }
    }
}

/// The users per profile shard when [`HybridParams::shard_count`] is 0 (automatic).
pub const USERS_PER_SHARD: usize = 256;

/// The fitted hybrid and the parts evaluation compares it with.
pub struct FittedHybrid {
    pub recommender: Recommender,
    /// One profile per user of the data, in dense-index order.
    pub profiles: Vec<UserProfile>,
    /// The explicit factorisation fitted on the whole training half.
    pub svd: BiasedSvd,
    /// Seconds spent fitting, in total.
    pub seconds: f64,
}

/// Fits the factorisations, catalog and profiles on `events` (sorted by user then time).
pub fn fit_features(
    data: &Interactions,
    events: &[Interaction],
    params: &HybridParams,
) -> Result<(BiasedSvd, ImplicitFactors, Catalog, Vec<UserProfile>), TrainError> {
    let (users, items) = (data.users.len(), data.movies.len());
    let ratings: Vec<(u32, u32, f32)> =
        events.iter().filter_map(|event| event.rating.map(|rating| (event.user, event.item, rating))).collect();
    let (min_rating, max_rating) = data.rating_scale();
    let svd = if ratings.is_empty() {
        BiasedSvd {
            factors: params.svd.factors,
            global_mean: (min_rating + max_rating) / 2.0,
            min_rating,
            max_rating,
            user_bias: vec![0.0; users],
            item_bias: vec![0.0; items],
            user_factors: vec![0.0; users * params.svd.factors],
            item_factors: vec![0.0; items * params.svd.factors],
        }
    } else {
        fit_biased_svd(&ratings, users, items, min_rating, max_rating, &params.svd.validate()?)?
    };
    let pairs: Vec<(u32, u32)> = events.iter().map(|event| (event.user, event.item)).collect();
    let implicit = fit_bpr(&pairs, users, items, &params.bpr.validate()?)?;
    let catalog = build_catalog(data, events, &svd, &implicit, &params.catalog);
    let profiles = build_profiles(data, events, &catalog, &svd, &implicit);
    Ok((svd, implicit, catalog, profiles))
}

/// Fits the hybrid on `train` (interactions sorted by user then time).
pub fn fit_hybrid(
    data: &Interactions,
    train_events: &[Interaction],
    params: &HybridParams,
) -> Result<FittedHybrid, TrainError> {
    let started = Instant::now();
    if train_events.is_empty() {
        return Err(TrainError::EmptyTable);
    }
    let inner = split_events(
        train_events,
        data.users.len(),
        &SplitParams {
            holdout_fraction: params.label_fraction,
            cold_user_fraction: params.cold_fraction,
            seed: params.seed,
        },
    )?;
    let (_, _, inner_catalog, inner_profiles) = fit_features(data, &inner.train, params)?;
    let schema = ranker_schema(&inner_catalog);

    // Ranker groups: the label half's users, each with their retrieved candidates.
    let mut labels_by_user: Vec<Vec<&Interaction>> = vec![Vec::new(); data.users.len()];
    for event in &inner.test {
        labels_by_user[event.user as usize].push(event);
    }
    let mut users: Vec<usize> = (0..data.users.len()).filter(|&user| !labels_by_user[user].is_empty()).collect();
    if users.len() > params.max_ranker_users {
        users.sort_by(|&a, &b| unit_hash(params.seed, a as u64).total_cmp(&unit_hash(params.seed, b as u64)));
        users.truncate(params.max_ranker_users);
        users.sort_unstable();
    }
    let (mut features, mut labels, mut groups) = (Vec::new(), Vec::new(), Vec::new());
    let mut row = [0.0f32; FEATURE_COUNT];
    for &user in &users {
        let profile = &inner_profiles[user];
        let relevant: HashSet<u32> =
            labels_by_user[user].iter().filter(|event| event.is_relevant()).map(|event| event.item).collect();
        let candidates = retrieve(&inner_catalog, &params.retrieval, profile);
        let positives = candidates.iter().filter(|candidate| relevant.contains(&candidate.item)).count();
        if positives == 0 {
            continue;
        }
        let context = UserContext::new(&inner_catalog, profile);
        let negatives = candidates.len() - positives;
        let keep_negative = params.negatives_per_user as f64 / negatives.max(1) as f64;
        let mut group = 0u32;
        for candidate in &candidates {
            let positive = relevant.contains(&candidate.item);
            if !positive && unit_hash(params.seed ^ user as u64, u64::from(candidate.item)) >= keep_negative {
                continue;
            }
            fill_row(
                &inner_catalog,
                &context,
                candidate.item as usize,
                candidate.svd_rating,
                candidate.implicit_score,
                &mut row,
            );
            features.extend_from_slice(&row);
            labels.push(if positive { 1.0 } else { 0.0 });
            group += 1;
        }
        groups.push(group);
    }
    if groups.is_empty() {
        return Err(TrainError::InvalidData(
            "no user's later interactions were among their retrieved candidates; the data is too small to rank".into(),
        ));
    }
    let ranker_params = TrainParams { seed: params.seed, ..params.ranker.clone() }.validate()?;
    let ranker_table = Table::new(schema.clone(), features, labels, Some(groups))?;
    let ranker = train(&ranker_table, None, &ranker_params, &mut |_, _| {})?.ensemble;

    // The rating head: label-half ratings, features from the older half. A fifth of them
    // is held back, and the head is kept only if it predicts those better than the
    // factorisation's own rating (the `svd_rating` feature) does.
    let rating_head = match &params.rating_head {
        Some(head_params) => {
            let (mut fit_rows, mut fit_labels, mut check_rows, mut check_labels) =
                (Vec::new(), Vec::new(), Vec::new(), Vec::new());
            for event in &inner.test {
                let Some(rating) = event.rating else { continue };
                let profile = &inner_profiles[event.user as usize];
                let item = event.item as usize;
                let svd = inner_catalog.svd_rating(profile.svd_bias, &profile.svd_factors, item);
                let implicit = inner_catalog.implicit_score(&profile.implicit_factors, item);
                fill_row(&inner_catalog, &UserContext::new(&inner_catalog, profile), item, svd, implicit, &mut row);
                let held_back =
                    unit_hash(params.seed ^ 0x4845_4144, u64::from(event.user) << 32 | u64::from(event.item)) < 0.2;
                let (rows, labels) =
                    if held_back { (&mut check_rows, &mut check_labels) } else { (&mut fit_rows, &mut fit_labels) };
                rows.extend_from_slice(&row);
                labels.push(rating);
            }
            if fit_labels.len() >= 100 && check_labels.len() >= 20 {
                let head_params = TrainParams { seed: params.seed, ..head_params.clone() }.validate()?;
                let table = Table::new(schema, fit_rows, fit_labels, None)?;
                let head = Predictor::new(train(&table, None, &head_params, &mut |_, _| {})?.ensemble)?;
                let svd_column = FEATURE_NAMES.iter().position(|&name| name == "svd_rating").unwrap_or(0);
                let (mut head_error, mut svd_error) = (0.0f64, 0.0f64);
                for (check_row, &label) in check_rows.chunks_exact(FEATURE_COUNT).zip(&check_labels) {
                    head_error += f64::from(head.predict(check_row)? - label).powi(2);
                    svd_error += f64::from(check_row[svd_column] - label).powi(2);
                }
                (head_error < svd_error).then_some(head)
            } else {
                None
            }
        }
        None => None,
    };

    let (svd, _, catalog, profiles) = fit_features(data, train_events, params)?;
    let shard_count = match params.shard_count {
        0 => u32::try_from(data.users.len().div_ceil(USERS_PER_SHARD).max(1)).unwrap_or(u32::MAX),
        count => count,
    };
    let recommender =
        Recommender::new(catalog, Predictor::new(ranker)?, rating_head, params.retrieval, params.rerank, shard_count)?;
    Ok(FittedHybrid { recommender, profiles, svd, seconds: started.elapsed().as_secs_f64() })
}

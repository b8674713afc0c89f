//! The two-stage fit.
//!
//! The ranker must learn from features computed on data older than its labels, or it learns
//! to trust features that already contain the answer. So the training half is split again
//! by time: the factorisations, catalog and profiles are fitted on the older part, stage 1
//! retrieves candidates from them, and each candidate is labelled by whether the user went
//! on to watch it (or rate it 4+) in the newer part. A share of users is blanked out of the
//! older part so that the ranker also learns what to do with cold users. Then everything
//! but the ranker is refitted on the whole training half for serving.

use std::time::Instant;

use marquee_model::gbdt::Predictor;
use marquee_model::mf::BiasedSvd;
use marquee_model::recommend::{Recommender, UserProfile};

use super::fit_features::fit_features;
use super::fit_rating_head::fit_rating_head;
use super::interactions::{Interaction, Interactions};
use super::params::{HybridParams, ValidHybridParams};
use super::ranker_table::{ranker_table, RankerTables};
use super::split::{split_events, SplitParams};
use crate::gbdt::{train, Ensemble, TrainParams};
use crate::{TrainError, Validate};

/// The fitted hybrid and the parts evaluation compares it with.
pub struct FittedHybrid {
    /// What is served: the catalog, the ranker, the rating head (if it earned its place)
    /// and the retrieval and reranker knobs.
    pub recommender: Recommender,
    /// One profile per user of the data, in dense-index order.
    pub profiles: Vec<UserProfile>,
    /// The explicit factorisation fitted on the whole training half.
    pub svd: BiasedSvd,
    /// The rows the ranker was fitted and early-stopped on, kept so that a peer ranker can
    /// be trained on exactly the same candidates and features.
    pub ranker_tables: RankerTables,
    /// Seconds spent fitting, in total.
    pub seconds: f64,
}

/// How much better, relatively, an alternative objective's held-aside metric must be to
/// replace the ranker's own: a few hundred held-aside groups measure NDCG only to about a
/// percent, and an objective that wins by less is as likely to be chosen by the draw of the
/// groups (on one built-in world, LambdaMART stopped at 7 trees won by 0.6% and ranked warm
/// users 10% worse than the logistic ranker it replaced).
const ALTERNATIVE_MARGIN: f32 = 0.01;

/// The ranker with the best early-stopping metric on the held-aside groups among its own
/// objective and the alternatives, an alternative needing to win by [`ALTERNATIVE_MARGIN`];
/// without held-aside groups (data too small to draw any), its own objective for all its
/// rounds.
fn fit_ranker(tables: &RankerTables, params: &ValidHybridParams) -> Result<Ensemble, TrainError> {
    if tables.valid.is_none() {
        let all_rounds = TrainParams { early_stopping_rounds: None, ..params.ranker().params().clone() }.validate()?;
        return Ok(train(&tables.fit, None, &all_rounds, &mut |_, _| {})?.ensemble);
    }
    let mut best: Option<(Ensemble, f32)> = None;
    let tries = std::iter::once(params.ranker()).chain(params.ranker_alternatives());
    for ranker_params in tries {
        let output = train(&tables.fit, tables.valid.as_ref(), ranker_params, &mut |_, _| {})?;
        let metric = ranker_params.metric();
        // Higher-is-better metrics compare as they are, the others negated.
        let score = output
            .best_round
            .and_then(|round| output.history.get(round))
            .and_then(|round| round.valid)
            .map_or(f32::NEG_INFINITY, |value| if metric.higher_is_better() { value } else { -value });
        if best.as_ref().is_none_or(|(_, best_score)| score > *best_score + ALTERNATIVE_MARGIN * best_score.abs()) {
            best = Some((output.ensemble, score));
        }
    }
    best.map(|(ensemble, _)| ensemble).ok_or(TrainError::EmptyTable)
}

/// Fits the hybrid on `train_events` (interactions sorted by user then time).
pub fn fit_hybrid(
    data: &Interactions,
    train_events: &[Interaction],
    params: &HybridParams,
) -> Result<FittedHybrid, TrainError> {
    let started = Instant::now();
    if train_events.is_empty() {
        return Err(TrainError::EmptyTable);
    }
    let params = params.clone().validate()?;
    let p = params.params();

    // Stage 1's parts from the older part of the training half, labels from the newer.
    let split = SplitParams { holdout_fraction: p.label_fraction, cold_user_fraction: p.cold_fraction, seed: p.seed };
    let inner = split_events(train_events, data.users.len(), &split)?;
    let older = fit_features(data, &inner.train, &params)?;
    let ranker_tables = ranker_table(data.users.len(), &inner.test, &older, p)?;
    let ranker = fit_ranker(&ranker_tables, &params)?;
    let rating_head = match params.rating_head() {
        Some(head_params) => fit_rating_head(&inner.test, &older, head_params, p.seed)?,
        None => None,
    };

    // What is served: everything but the ranker, refitted on the whole training half.
    let served = fit_features(data, train_events, &params)?;
    let shard_count = params.shard_count(data.users.len());
    let recommender =
        Recommender::new(served.catalog, Predictor::new(ranker)?, rating_head, p.retrieval, p.rerank, shard_count)?;
    Ok(FittedHybrid {
        recommender,
        profiles: served.profiles,
        svd: served.svd,
        ranker_tables,
        seconds: started.elapsed().as_secs_f64(),
    })
}

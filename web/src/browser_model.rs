//! The served model, run in the browser: the same `marquee-model` code the edge runs, on
//! the same blobs, so a list computed here can be compared with the edge's bit for bit.

use marquee_model::recommend::{
    shard_of, CandidateSource, Demographics, ProfileShard, Recommender, RerankParams, UserProfile,
};
use marquee_model::ModelError;

use crate::api::EdgeList;

/// How many feature contributions each item shows.
pub const TOP_CONTRIBUTIONS: usize = 5;

/// One movie of a list computed in the browser, with why it is there.
#[derive(Clone, Debug, PartialEq)]
pub struct ExplainedItem {
    pub movie_id: String,
    /// The catalog index.
    pub item: u32,
    /// The ranker's score (what the edge answers as `score`).
    pub score: f32,
    /// Which retrieval source proposed it.
    pub source: CandidateSource,
    /// The features that moved its score most (TreeSHAP), largest magnitude first.
    pub contributions: Vec<(String, f32)>,
}

/// A readable name for a candidate source.
pub fn source_label(source: CandidateSource) -> &'static str {
    match source {
        CandidateSource::Factors => "implicit-feedback factors",
        CandidateSource::Neighbours => "movies like ones you watched",
        CandidateSource::Segment => "demographic segment",
        CandidateSource::Popular => "popular",
        CandidateSource::NewRelease => "new release",
        CandidateSource::Exploration => "exploration",
    }
}

/// Up to `count` movies for `profile` with the reranker's `knobs`, explained.
pub fn recommend_explained(
    recommender: &Recommender,
    profile: &UserProfile,
    knobs: &RerankParams,
    count: usize,
    seed: u64,
) -> Vec<ExplainedItem> {
    recommender
        .recommend_with(profile, count, seed, knobs)
        .into_iter()
        .filter_map(|recommendation| {
            let movie_id = recommender.movie_id(recommendation.item)?.to_owned();
            let contributions = recommender
                .explain(profile, recommendation.item, TOP_CONTRIBUTIONS)
                .unwrap_or_default()
                .into_iter()
                .map(|(feature, value)| (feature.to_owned(), value))
                .collect();
            Some(ExplainedItem {
                movie_id,
                item: recommendation.item,
                score: recommendation.score,
                source: recommendation.source,
                contributions,
            })
        })
        .collect()
}

/// The profile of `user_id` in `shard` (which must be the user's shard of this model's
/// layout), or a cold profile when the shard does not hold the user.
pub fn profile_from_shard(
    recommender: &Recommender,
    shard: &ProfileShard,
    user_id: u64,
) -> Result<(UserProfile, bool), ModelError> {
    let expected = shard_of(user_id, recommender.shard_count());
    if shard.position().0 != expected {
        return Err(ModelError::InvalidModel(format!(
            "user {user_id} lives in shard {expected}, not in shard {}",
            shard.position().0
        )));
    }
    Ok(match recommender.lookup_profile(shard, user_id)? {
        Some(profile) => (profile, true),
        None => (UserProfile::cold(user_id, Demographics::default()), false),
    })
}

/// Whether the browser's list equals the edge's.
#[derive(Clone, Debug, PartialEq)]
pub enum Parity {
    /// Same movies in the same order, every score the same 32 bits.
    Equal { items: usize },
    /// The first place they differ.
    Different(String),
    /// No comparison is meaningful (the edge answered another model, or the profile is one
    /// the edge cannot know).
    NotApplicable(String),
}

/// Compares a list computed here (with the model's own reranker knobs) with the edge's
/// answer for the same version, user and seed.
pub fn compare_with_edge(browser: &[ExplainedItem], edge: &EdgeList, version: &str) -> Parity {
    if edge.model_version != version {
        return Parity::NotApplicable(format!(
            "the edge answered with version {}, the page ran {version}",
            edge.model_version
        ));
    }
    if let Some(reason) = &edge.fallback {
        return Parity::NotApplicable(format!("the edge served a fallback ({reason})"));
    }
    if browser.len() != edge.items.len() {
        return Parity::Different(format!("{} items here, {} at the edge", browser.len(), edge.items.len()));
    }
    for (rank, (ours, theirs)) in browser.iter().zip(&edge.items).enumerate() {
        if ours.movie_id != theirs.movie_id {
            return Parity::Different(format!(
                "position {}: {} here, {} at the edge",
                rank + 1,
                ours.movie_id,
                theirs.movie_id
            ));
        }
        // The edge's f32 travels as the f64 of the same value, which converts back exactly.
        let edge_bits = (theirs.score as f32).to_bits();
        if ours.score.to_bits() != edge_bits {
            return Parity::Different(format!(
                "position {}: score {:e} here, {:e} at the edge",
                rank + 1,
                ours.score,
                theirs.score
            ));
        }
    }
    Parity::Equal { items: browser.len() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::EdgeItem;

    const RECOMMENDER: &[u8] = include_bytes!("../tests/fixtures/tiny-model/recommender.blob");
    const SHARDS: [&[u8]; 2] = [
        include_bytes!("../tests/fixtures/tiny-model/profiles/00000.blob"),
        include_bytes!("../tests/fixtures/tiny-model/profiles/00001.blob"),
    ];

    fn user_with_history(recommender: &Recommender) -> (u64, UserProfile) {
        for user in 1..300 {
            let shard = ProfileShard::from_blob(SHARDS[shard_of(user, 2) as usize]).unwrap();
            if let (profile, true) = profile_from_shard(recommender, &shard, user).unwrap() {
                if profile.has_history() {
                    return (user, profile);
                }
            }
        }
        panic!("the fixture has users with history")
    }

    fn as_edge(items: &[ExplainedItem], version: &str) -> EdgeList {
        EdgeList {
            user_id: 1,
            items: items
                .iter()
                .map(|item| EdgeItem {
                    movie_id: item.movie_id.clone(),
                    score: f64::from(item.score),
                    source: Some(item.source.name().into()),
                    explanation: Vec::new(),
                })
                .collect(),
            model_version: version.into(),
            variant: "control".into(),
            seed: "7".into(),
            profile_found: true,
            fallback: None,
        }
    }

    #[test]
    fn a_user_with_history_gets_an_explained_list_that_follows_the_knobs() {
        let recommender = Recommender::from_blob(RECOMMENDER).unwrap();
        let (_, profile) = user_with_history(&recommender);
        let list = recommend_explained(&recommender, &profile, recommender.rerank_params(), 20, 7);
        assert_eq!(list.len(), 20);
        assert!(list.iter().all(|item| !item.contributions.is_empty() && item.contributions.len() <= 5));
        let again = recommend_explained(&recommender, &profile, recommender.rerank_params(), 20, 7);
        assert_eq!(list, again, "deterministic for a seed");
        let penalised = RerankParams { popularity_penalty: 1.0, ..*recommender.rerank_params() };
        let changed = recommend_explained(&recommender, &profile, &penalised, 20, 7);
        assert_ne!(
            list.iter().map(|item| &item.movie_id).collect::<Vec<_>>(),
            changed.iter().map(|item| &item.movie_id).collect::<Vec<_>>(),
            "a strong popularity penalty reorders the list"
        );
    }

    #[test]
    fn the_wrong_shard_is_an_error_and_an_unknown_user_is_cold() {
        let recommender = Recommender::from_blob(RECOMMENDER).unwrap();
        let (user, _) = user_with_history(&recommender);
        let other = ProfileShard::from_blob(SHARDS[1 - shard_of(user, 2) as usize]).unwrap();
        assert!(profile_from_shard(&recommender, &other, user).is_err());
        let stranger = 9_000_000u64;
        let shard = ProfileShard::from_blob(SHARDS[shard_of(stranger, 2) as usize]).unwrap();
        let (profile, found) = profile_from_shard(&recommender, &shard, stranger).unwrap();
        assert!(!found && !profile.has_history());
    }

    #[test]
    fn parity_needs_every_id_and_every_score_bit() {
        let recommender = Recommender::from_blob(RECOMMENDER).unwrap();
        let (_, profile) = user_with_history(&recommender);
        let list = recommend_explained(&recommender, &profile, recommender.rerank_params(), 20, 7);
        let edge = as_edge(&list, "v1");
        assert_eq!(compare_with_edge(&list, &edge, "v1"), Parity::Equal { items: 20 });
        assert!(matches!(compare_with_edge(&list, &edge, "v2"), Parity::NotApplicable(_)));
        let mut nudged = edge.clone();
        nudged.items[3].score = f64::from(f32::from_bits(list[3].score.to_bits() + 1));
        assert!(
            matches!(compare_with_edge(&list, &nudged, "v1"), Parity::Different(reason) if reason.contains("position 4"))
        );
        let mut swapped = edge;
        swapped.items.swap(0, 1);
        assert!(matches!(compare_with_edge(&list, &swapped, "v1"), Parity::Different(_)));
    }
}

//! The hybrid recommender end to end on small generated worlds: how it compares with the
//! single models and the strongest simple baselines (on several seeds), serving cold users
//! and cold movies, leaking nothing, and blobs that survive damage.

use std::collections::HashSet;
use std::sync::OnceLock;

use marquee_data::store::Store;
use marquee_data::world::{World, WorldConfig};
use marquee_data::{Dataset, RatingScale};
use marquee_model::recommend::{
    encode_shard, retrieve, Candidate, CandidateSource, Demographics, GenderCode, ProfileShard, Recommender,
    RerankParams, UserProfile, RECENT_HISTORY,
};
use marquee_model::ModelError;
use marquee_train::evaluate::models::{Bpr, GbdtRatings, Hybrid, Popularity, SeenMovies, Svd};
use marquee_train::evaluate::{evaluate_model, evaluated_lists, EvaluationParams, ModelReport};
use marquee_train::mf::{BiasedSvdParams, BprParams};
use marquee_train::recommend::{
    build_catalog, build_profiles, fit_hybrid, time_split, CatalogParams, FittedHybrid, HybridParams, Interactions,
    Split, SplitParams,
};
use marquee_train::Validate;

struct Fixture {
    data: Interactions,
    split: Split,
    fitted: FittedHybrid,
}

/// The worlds every comparison with other models runs on: one seed could flatter the
/// hybrid by luck. The first is the one the other tests use.
const SEEDS: [u64; 3] = [42, 1, 2];

/// A 1,500-user world over three weeks, split and fitted once per seed for every test.
fn fixture_for(seed: u64) -> &'static Fixture {
    static FIXTURES: [OnceLock<Fixture>; SEEDS.len()] = [OnceLock::new(), OnceLock::new(), OnceLock::new()];
    let slot = SEEDS.iter().position(|&known| known == seed).expect("a seed from SEEDS");
    FIXTURES[slot].get_or_init(|| {
        let config =
            WorldConfig { users: 1_500, movies: 600, days: 21, malformed_rate: 0.0, seed, ..WorldConfig::default() };
        let world = World::generate(config).unwrap();
        let mut stream = String::new();
        world.simulate(
            |line| {
                stream.push_str(line);
                stream.push('\n');
            },
            |_| {},
            |_| {},
        );
        let mut store = Store::open_in_memory().unwrap();
        store.ingest_stream(stream.as_bytes(), RatingScale::FIVE, |_| {}).unwrap();
        store
            .ingest_dataset(&Dataset { users: world.users.clone(), movies: world.movies.clone(), ratings: vec![] })
            .unwrap();
        let data = Interactions::from_store(&store).unwrap();
        let split = time_split(&data, &SplitParams::default()).unwrap();
        let fitted = fit_hybrid(&data, &split.train, &HybridParams::default()).unwrap();
        Fixture { data, split, fitted }
    })
}

/// The first seed's fixture.
fn fixture() -> &'static Fixture {
    fixture_for(SEEDS[0])
}

fn evaluate_on(f: &Fixture, model: &dyn marquee_train::evaluate::ListModel) -> ModelReport {
    evaluate_model(model, &f.data, &f.split, &EvaluationParams::default())
}

/// The hybrid as served (its fitted reranker on).
fn served_hybrid(f: &Fixture) -> Hybrid<'_> {
    Hybrid { fitted: &f.fitted, rerank: *f.fitted.recommender.rerank_params(), label: "hybrid" }
}

#[test]
fn the_hybrid_ranks_at_least_one_and_a_half_times_better_than_svd_or_gbdt_alone_on_every_seed() {
    for seed in SEEDS {
        let f = fixture_for(seed);
        let seen = || SeenMovies::new(f.data.users.len(), &f.split.train);
        let svd = Svd::fit(&f.data, &f.split.train, seen(), BiasedSvdParams::default()).unwrap();
        let gbdt = GbdtRatings::fit(&f.data, &f.split.train, seen(), GbdtRatings::default_params()).unwrap();
        let (svd, gbdt, hybrid) = (evaluate_on(f, &svd), evaluate_on(f, &gbdt), evaluate_on(f, &served_hybrid(f)));
        assert!(hybrid.ranking.users > 500, "seed {seed}: {} users ranked", hybrid.ranking.users);
        for (name, single) in [("svd", &svd), ("gbdt", &gbdt)] {
            assert!(
                hybrid.ranking.ndcg >= 1.5 * single.ranking.ndcg,
                "seed {seed}: hybrid NDCG {:.4} vs {name} {:.4}",
                hybrid.ranking.ndcg,
                single.ranking.ndcg
            );
        }
        assert!(hybrid.rmse.is_some() && hybrid.rated > 0, "the rating head predicts held-out ratings");
        assert!(hybrid.groups.iter().any(|group| group.group == "gender=F"), "per-group metrics are reported");
    }
}

/// Popularity and BPR are the strongest simple baselines on these worlds, and the hybrid
/// does not reliably beat them on NDCG: what it buys is coverage. This pins both sides of
/// that trade on warm users, on every seed (measured with the neighbourhood source: NDCG
/// 0.95-1.09x theirs, coverage 1.36-2.13x BPR's and 2.5-3.7x popularity's; the neighbour
/// lists pull the lists towards EASE's, which is why BPR's margin is smaller than before).
#[test]
fn on_warm_users_the_hybrid_stays_within_eight_percent_of_popularity_and_bpr_with_a_quarter_more_coverage() {
    for seed in SEEDS {
        let f = fixture_for(seed);
        let seen = || SeenMovies::new(f.data.users.len(), &f.split.train);
        let popularity = evaluate_on(f, &Popularity::fit(&f.data, &f.split.train, seen()));
        let bpr = evaluate_on(f, &Bpr::fit(&f.data, &f.split.train, seen(), BprParams::default()).unwrap());
        let hybrid = evaluate_on(f, &served_hybrid(f));
        assert!(hybrid.warm_users.users > 500, "seed {seed}: {} warm users ranked", hybrid.warm_users.users);
        for (name, baseline) in [("popularity", &popularity), ("bpr", &bpr)] {
            assert!(
                hybrid.warm_users.ndcg >= 0.92 * baseline.warm_users.ndcg,
                "seed {seed}: warm users' NDCG: hybrid {:.4} vs {name} {:.4}",
                hybrid.warm_users.ndcg,
                baseline.warm_users.ndcg
            );
            let margin = if name == "popularity" { 2.0 } else { 1.25 };
            assert!(
                hybrid.exposure.coverage >= margin * baseline.exposure.coverage,
                "seed {seed}: coverage: hybrid {:.3} vs {name} {:.3}",
                hybrid.exposure.coverage,
                baseline.exposure.coverage
            );
        }
    }
}

#[test]
fn per_user_lists_are_the_evaluations_own() {
    let f = fixture();
    let hybrid = served_hybrid(f);
    let params = EvaluationParams { max_users: 400, ..EvaluationParams::default() };
    let report = evaluate_model(&hybrid, &f.data, &f.split, &params);
    let lists = evaluated_lists(&hybrid, &f.data, &f.split, &params);
    assert_eq!(lists.users.len(), report.ranking.users);
    let mean = |value: &dyn Fn(&marquee_train::evaluate::UserList) -> f64| {
        lists.users.iter().map(value).sum::<f64>() / lists.users.len() as f64
    };
    assert!((mean(&|u| u.scores.ndcg) - report.ranking.ndcg).abs() < 1e-12);
    assert!((mean(&|u| f64::from(u8::from(u.scores.hit))) - report.ranking.hit_rate).abs() < 1e-12);
    assert!(lists.users.iter().all(|u| u.list.len() == params.list_length));
    assert_eq!(lists.training_counts.iter().sum::<u64>(), f.split.train.len() as u64);
    let relevant = f.split.test.iter().filter(|event| event.is_relevant()).count() as u64;
    assert_eq!(lists.relevant_counts.iter().sum::<u64>(), relevant);
}

/// Measured: 0.99-1.00x popularity's NDCG on these seeds; the bound leaves room for noise
/// but not for a cold-start path that has stopped working.
#[test]
fn users_with_no_history_get_lists_within_five_percent_of_popularity_on_every_seed() {
    for seed in SEEDS {
        let f = fixture_for(seed);
        let popularity = evaluate_on(
            f,
            &Popularity::fit(&f.data, &f.split.train, SeenMovies::new(f.data.users.len(), &f.split.train)),
        );
        let hybrid = evaluate_on(f, &Hybrid { fitted: &f.fitted, rerank: RerankParams::off(), label: "hybrid" });
        assert!(hybrid.cold_users.users > 50, "seed {seed}: {} cold users ranked", hybrid.cold_users.users);
        assert!(
            hybrid.cold_users.ndcg >= 0.95 * popularity.cold_users.ndcg,
            "seed {seed}: cold users: hybrid {:.4} vs popularity {:.4}",
            hybrid.cold_users.ndcg,
            popularity.cold_users.ndcg
        );
    }
}

#[test]
fn cold_start_lists_are_full_and_personalised_by_demographics() {
    let recommender = &fixture().fitted.recommender;
    let occupation = Some(0);
    let young_woman = Demographics { age: Some(19), gender: Some(GenderCode::Female), occupation };
    let older_man = Demographics { age: Some(60), gender: Some(GenderCode::Male), occupation };
    let list = |demographics: Demographics| -> Vec<u32> {
        recommender.recommend(&UserProfile::cold(999_999, demographics), 20, 1).iter().map(|r| r.item).collect()
    };
    let (a, b, anonymous) = (list(young_woman), list(older_man), list(Demographics::default()));
    for list in [&a, &b, &anonymous] {
        assert_eq!(list.len(), 20);
        assert_eq!(list.iter().collect::<HashSet<_>>().len(), 20, "no duplicates");
    }
    assert_ne!(a, b, "different segments get different lists");
}

#[test]
fn movies_with_no_interactions_reach_users_through_new_releases() {
    let f = fixture();
    let catalog = f.fitted.recommender.catalog();
    let unwatched_new: Vec<u32> = catalog
        .new_releases
        .iter()
        .copied()
        .filter(|&item| catalog.movies[item as usize].log_watchers == 0.0)
        .collect();
    assert!(!unwatched_new.is_empty(), "the world has new releases nobody watched in training");
    let candidates =
        retrieve(catalog, f.fitted.recommender.retrieval(), &UserProfile::cold(1, Demographics::default()));
    let retrieved: HashSet<u32> = candidates.iter().map(|candidate| candidate.item).collect();
    assert!(unwatched_new.iter().any(|item| retrieved.contains(item)), "cold movies are candidates");
    assert!(candidates.iter().any(|candidate| candidate.source == CandidateSource::NewRelease));
}

#[test]
fn features_come_from_training_data_only() {
    let f = fixture();
    let catalog = f.fitted.recommender.catalog();
    let train_items: HashSet<u32> = f.split.train.iter().map(|event| event.item).collect();
    let test_only: Vec<u32> =
        f.split.test.iter().map(|event| event.item).filter(|item| !train_items.contains(item)).collect();
    assert!(!test_only.is_empty());
    for &item in &test_only {
        let movie = &catalog.movies[item as usize];
        assert_eq!(movie.log_watchers, 0.0, "{} was only watched in the test half", movie.movie_id);
        assert!(movie.mean_rating.is_nan());
    }
    for (user, profile) in f.fitted.profiles.iter().enumerate() {
        let train: HashSet<u32> =
            f.split.train.iter().filter(|event| event.user as usize == user).map(|event| event.item).collect();
        assert_eq!(profile.interactions as usize, train.len(), "user {user}");
        assert!(profile.seen.iter().all(|item| train.contains(item)), "user {user} has test movies in their profile");
        // The recent list: the user's latest distinct training movies, latest first.
        let mut latest: Vec<u32> = Vec::new();
        for event in f.split.train.iter().rev().filter(|event| event.user as usize == user) {
            if latest.len() < RECENT_HISTORY && !latest.contains(&event.item) {
                latest.push(event.item);
            }
        }
        assert_eq!(profile.recent, latest, "user {user}'s recent movies");
        if f.split.cold_users[user] {
            assert!(!profile.has_history() && profile.implicit_factors.is_empty() && profile.svd_factors.is_empty());
        }
    }

    // Changing the test half changes nothing that is built from the training half.
    let svd = &f.fitted.svd;
    let implicit = marquee_train::mf::fit_bpr(
        &f.split.train.iter().map(|event| (event.user, event.item)).collect::<Vec<_>>(),
        f.data.users.len(),
        f.data.movies.len(),
        &marquee_train::mf::BprParams { epochs: 2, ..Default::default() }.validate().unwrap(),
    )
    .unwrap();
    let mut tampered = f.data.clone();
    for event in &mut tampered.events {
        event.rating = Some(1.0);
    }
    let build = |data: &Interactions| {
        let neighbours = marquee_train::recommend::fit_neighbours(
            &f.split.train.iter().map(|event| (event.user, event.item)).collect::<Vec<_>>(),
            data.users.len(),
            data.movies.len(),
            &marquee_train::recommend::NeighbourParams::default(),
        )
        .unwrap();
        let catalog = build_catalog(
            data,
            &f.split.train,
            svd,
            &implicit,
            neighbours,
            &CatalogParams::default().validate().unwrap(),
        );
        let profiles = build_profiles(data, &f.split.train, &catalog, svd, &implicit);
        (catalog, profiles)
    };
    let (catalog_a, profiles_a) = build(&f.data);
    let (catalog_b, profiles_b) = build(&tampered);
    assert_eq!(format!("{catalog_a:?}"), format!("{catalog_b:?}"));
    assert_eq!(format!("{profiles_a:?}"), format!("{profiles_b:?}"));
}

#[test]
fn the_reranker_knobs_do_what_they_say() {
    let f = fixture();
    let recommender = &f.fitted.recommender;
    let catalog = recommender.catalog();
    let warm: Vec<&UserProfile> =
        f.fitted.profiles.iter().filter(|profile| profile.interactions >= 3).take(200).collect();
    let lists = |params: RerankParams, seed: u64| -> Vec<Vec<u32>> {
        warm.iter().map(|p| recommender.recommend_with(p, 20, seed, &params).iter().map(|r| r.item).collect()).collect()
    };
    let mean_similarity = |lists: &[Vec<u32>]| {
        let mut total = 0.0;
        let mut pairs = 0.0;
        for list in lists {
            for (i, &a) in list.iter().enumerate() {
                for &b in &list[i + 1..] {
                    let (ga, gb) = (catalog.movies[a as usize].genre_mask, catalog.movies[b as usize].genre_mask);
                    total += f64::from((ga & gb).count_ones()) / f64::from((ga | gb).count_ones().max(1));
                    pairs += 1.0;
                }
            }
        }
        total / pairs
    };
    let mean_popularity = |lists: &[Vec<u32>]| {
        let items: Vec<f32> = lists.iter().flatten().map(|&item| catalog.movies[item as usize].log_watchers).collect();
        items.iter().sum::<f32>() / items.len() as f32
    };
    let off = lists(RerankParams::off(), 0);
    let diverse = lists(RerankParams { diversity: 0.7, ..RerankParams::off() }, 0);
    let unpopular = lists(RerankParams { popularity_penalty: 2.0, ..RerankParams::off() }, 0);
    assert!(mean_similarity(&diverse) < mean_similarity(&off), "MMR lowers genre overlap within a list");
    assert!(mean_popularity(&unpopular) < mean_popularity(&off), "the penalty lowers the lists' popularity");

    let explore = RerankParams { exploration_slots: 1, exploration_depth: 40, ..RerankParams::off() };
    let profile = warm[0];
    let with_seed = |seed| recommender.recommend_with(profile, 20, seed, &explore);
    let first = with_seed(1);
    assert_eq!(first.last().unwrap().source, CandidateSource::Exploration);
    assert_eq!(&first[..19].iter().map(|r| r.item).collect::<Vec<_>>()[..], &off[0][..19]);
    let explored: HashSet<u32> = (0..20).map(|seed| with_seed(seed).last().unwrap().item).collect();
    assert!(explored.len() > 1, "the seed chooses the explored movie");
    assert!(explored.iter().all(|item| !off[0][..19].contains(item)), "exploration picks from further down");
}

#[test]
fn blobs_round_trip_and_refuse_damage_without_panicking() {
    let f = fixture();
    let recommender = &f.fitted.recommender;
    let blob = recommender.to_blob().unwrap();
    let loaded = Recommender::from_blob(&blob).unwrap();
    for profile in f.fitted.profiles.iter().take(50) {
        assert_eq!(recommender.recommend(profile, 20, 7), loaded.recommend(profile, 20, 7));
    }
    for position in (0..blob.len()).step_by(blob.len() / 97 + 1) {
        let mut damaged = blob.clone();
        damaged[position] ^= 0x5a;
        assert!(Recommender::from_blob(&damaged).is_err(), "a flipped byte at {position} must be caught");
    }
    assert!(Recommender::from_blob(&blob[..blob.len() - 1]).is_err());

    let profiles: Vec<&UserProfile> =
        f.fitted.profiles.iter().filter(|p| marquee_model::recommend::shard_of(p.user_id, 4) == 2).collect();
    let shard_blob = encode_shard(recommender.catalog(), 2, 4, &profiles).unwrap();
    let shard = ProfileShard::from_blob(&shard_blob).unwrap();
    assert_eq!(shard.len(), profiles.len());
    for profile in &profiles {
        // Debug text, because a profile without ratings has a NaN mean and NaN != NaN.
        let found = shard.lookup(profile.user_id, recommender.catalog()).unwrap();
        assert_eq!(format!("{found:?}"), format!("{:?}", Some(*profile)));
    }
    let absent =
        (0..).find(|id| marquee_model::recommend::shard_of(*id, 4) == 2 && !profiles.iter().any(|p| p.user_id == *id));
    assert_eq!(shard.lookup(absent.unwrap(), recommender.catalog()).unwrap(), None);
    assert!(encode_shard(recommender.catalog(), 1, 4, &profiles).is_err(), "profiles in the wrong shard are refused");

    let mut other_catalog = recommender.catalog().clone();
    other_catalog.movies[0].movie_id.push_str("-renamed");
    assert!(matches!(shard.lookup(profiles[0].user_id, &other_catalog), Err(ModelError::SchemaMismatch { .. })));
    for cut in [0, 10, 31, 32, shard_blob.len() / 2, shard_blob.len() - 1] {
        assert!(ProfileShard::from_blob(&shard_blob[..cut]).is_err());
    }
}

#[test]
fn explanations_name_the_ranker_features() {
    let f = fixture();
    let profile = f.fitted.profiles.iter().find(|p| p.interactions >= 3).unwrap();
    let list = f.fitted.recommender.recommend(profile, 5, 0);
    let explanation = f.fitted.recommender.explain(profile, list[0].item, 3).unwrap();
    assert_eq!(explanation.len(), 3);
    assert!(explanation.iter().all(|(name, _)| marquee_model::recommend::FEATURE_NAMES.contains(name)));
    assert!(explanation.windows(2).all(|pair| pair[0].1.abs() >= pair[1].1.abs()));
}

#[test]
fn the_neighbour_lists_are_served_from_the_blob_and_bad_ones_are_refused() {
    let f = fixture();
    let recommender = &f.fitted.recommender;
    let catalog = recommender.catalog();
    assert!(!catalog.neighbours.is_empty(), "the hybrid fits neighbour lists by default");
    let loaded = Recommender::from_blob(&recommender.to_blob().unwrap()).unwrap();
    assert_eq!(loaded.catalog().neighbours, catalog.neighbours);

    // A warm user's neighbour candidates are unseen movies their history points at.
    let profile = f.fitted.profiles.iter().find(|profile| profile.seen.len() >= 8).expect("a warm user");
    let scores = catalog.neighbour_scores(&profile.seen);
    let candidates = retrieve(catalog, recommender.retrieval(), profile);
    let from_neighbours: Vec<_> =
        candidates.iter().filter(|candidate| candidate.source == CandidateSource::Neighbours).collect();
    assert!(!from_neighbours.is_empty());
    for candidate in &from_neighbours {
        assert!(profile.seen.binary_search(&candidate.item).is_err());
        assert!(candidate.neighbour_score > 0.0);
        assert_eq!(candidate.neighbour_score, scores[candidate.item as usize]);
    }
    // The recent score is the neighbour score of the latest movies alone, the same whether
    // retrieval computed it or one movie was scored on its own.
    assert!(!profile.recent.is_empty() && profile.recent.len() < profile.seen.len());
    let recent_scores = catalog.neighbour_scores(&profile.recent);
    assert!(candidates.iter().any(|candidate| candidate.recent_neighbour_score > 0.0));
    for candidate in &candidates {
        assert_eq!(candidate.recent_neighbour_score, recent_scores[candidate.item as usize]);
        let alone = Candidate::scored(catalog, profile, candidate.item, CandidateSource::Factors);
        assert!((alone.recent_neighbour_score - candidate.recent_neighbour_score).abs() < 1e-5);
    }
    let mut ranks: Vec<u32> = candidates.iter().map(|candidate| candidate.neighbour_rank).collect();
    ranks.sort_unstable();
    assert_eq!(ranks, (0..candidates.len() as u32).collect::<Vec<_>>(), "ranks are a permutation");

    // Lists naming a movie outside the catalog are refused, not served.
    let mut bad = catalog.clone();
    bad.neighbours.items[0] = bad.len() as u32;
    let rebuilt = Recommender::new(
        bad,
        recommender.ranker().clone(),
        None,
        *recommender.retrieval(),
        *recommender.rerank_params(),
        recommender.shard_count(),
    );
    assert!(matches!(rebuilt, Err(ModelError::InvalidModel(_))));
}

//! `marquee bench recommend`: recommendation quality and speed against their targets.
//!
//! Three sections, each measured in the same run as its peers:
//! 1. Rating accuracy on a 5-fold random split of MovieLens 100K (or, without it, of a
//!    synthetic set of the same shape), Marquee's biased SVD and hybrid beside Surprise's SVD.
//! 2. The built-in world on the time split: every model's NDCG@20, cold users against
//!    popularity, and the ceilings the world's hidden ground truth allows.
//! 3. Latency: one user's list of 20 from a 27,000-movie catalog, on one core.
//!
//! Marquee's SVD is fitted twice per fold, on one thread and on `--threads`, so that each
//! speed ratio against Surprise (which fits on one thread) states its thread counts. Every
//! other step runs on `--threads` threads.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result};
use marquee_data::world::{World, WorldConfig};
use marquee_model::rank::top_k;
use marquee_model::recommend::RerankParams;
use marquee_model::recommend::{shard_of, ProfileShard, UserProfile};
use marquee_train::evaluate::metrics::RankingSums;
use marquee_train::evaluate::models::{Hybrid, ListModel, SeenMovies, Svd};
use marquee_train::evaluate::{evaluate_model, EvaluationParams, ModelReport};
use marquee_train::gbdt::{train as train_gbdt, Feature, FeatureKind, Table, TrainParams};
use marquee_train::mf::BiasedSvdParams;
use marquee_train::rating_aggregates::{RatingAggregates, AGGREGATE_FEATURES};
use marquee_train::rating_blend::{fit_rating_blend, RatingBlendParams};
use marquee_train::rating_features::{CategoryEncoding, RatingFeaturizer};
use marquee_train::recommend::{
    fit_hybrid, profile_shards, time_split, HybridParams, Interaction, Interactions, Split, SplitParams,
};
use marquee_train::Validate;
use serde::Serialize;
use serde_json::Value;

#[derive(clap::Args)]
pub struct BenchRecommendArgs {
    /// A MovieLens 100K folder (u.data, u.user, u.item) for the rating-accuracy section;
    /// without it a synthetic set of the same shape is generated.
    #[arg(long)]
    movielens: Option<PathBuf>,
    /// Folds of the random split.
    #[arg(long, default_value_t = 5)]
    folds: usize,
    /// Movies in the latency section's catalog.
    #[arg(long, default_value_t = 27_000)]
    catalog: u32,
    /// Users whose lists the latency section times.
    #[arg(long, default_value_t = 2_000)]
    timed_users: usize,
    /// Write the generated MovieLens-shaped folder and the folds here, and keep them.
    #[arg(long)]
    keep_data: Option<PathBuf>,
    /// Threads for everything but the one-thread SVD fit (Surprise always fits on one).
    #[arg(long, default_value_t = 2)]
    threads: usize,
    /// Skip Surprise (its figures are then absent).
    #[arg(long)]
    no_peers: bool,
    /// Skip Surprise's SVDpp, which takes one to two minutes per fold (its SVD still runs).
    #[arg(long)]
    no_svdpp: bool,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct Figures {
    rating_accuracy: RatingAccuracy,
    world: WorldFigures,
    latency: Latency,
    /// Threads of every step but the one-thread SVD fits and the latency loop.
    threads: usize,
}

#[derive(Serialize, Default, Clone, Copy)]
struct FoldMeans {
    rmse: f64,
    mae: f64,
    fit_seconds: f64,
}

#[derive(Serialize)]
struct RatingAccuracy {
    data: String,
    folds: usize,
    ratings: usize,
    /// Marquee's SVD fitted on one thread.
    marquee_svd: FoldMeans,
    /// The same fits on `threads` threads (the schedule does not depend on the thread
    /// count, so the errors are the same; only the time differs).
    marquee_svd_threads: FoldMeans,
    /// Threads of `marquee_svd_threads` and of the hybrid's fit.
    threads: usize,
    marquee_hybrid: FoldMeans,
    /// Surprise's figures as its script printed them, or why they are missing (one thread).
    surprise_svd: Value,
    /// Surprise's fit time ÷ Marquee's, both on one thread, per fold (each fold is one run of
    /// each engine on the same ratings), then the median of the folds (goal ≥ 10).
    svd_speedup_vs_surprise_one_thread: Option<f64>,
    /// The folds' speed-ups, in fold order.
    svd_speedups_one_thread_by_fold: Vec<f64>,
    /// Surprise's fit time (one thread) ÷ Marquee's on `threads` threads, the folds' median.
    svd_speedup_vs_surprise_threads: Option<f64>,
    /// Marquee's mean SVD RMSE − Surprise's (goal ≤ 0).
    svd_rmse_difference_vs_surprise: Option<f64>,
    /// The rating blend and its parts, fitted on `threads` threads (see `RatingModel`).
    rating_models: Vec<RatingModel>,
    /// Surprise's SVDpp mean over the folds (one thread), when it ran.
    surprise_svdpp: Option<FoldMeans>,
    /// The rating tree on demographics, metadata and the per-user/per-movie aggregates
    /// (leave-one-out on training rows), Marquee's GBDT against XGBoost on the same table.
    rating_tree: RatingTree,
    best_model: String,
    best_rmse: f64,
}

#[derive(Serialize)]
struct RatingTree {
    features: Vec<String>,
    /// Both engines: rounds, learning rate, depth, min child weight, 256 bins, `threads`.
    params: String,
    threads: usize,
    marquee: FoldMeans,
    /// XGBoost's figures as its script printed them, or why they are missing.
    xgboost: Value,
    /// Marquee's mean RMSE − XGBoost's (goal ≤ 0).
    rmse_difference_vs_xgboost: Option<f64>,
}

/// The rating tree's boosting settings, shared with the XGBoost peer.
const TREE_ROUNDS: u32 = 300;
const TREE_ETA: f32 = 0.05;
const TREE_DEPTH: u32 = 6;
const TREE_MIN_CHILD_WEIGHT: f32 = 1.0;

/// One model of the rating blend's family: its test errors per fold and their mean.
#[derive(Serialize)]
struct RatingModel {
    name: String,
    /// What `fit_seconds` covers.
    timer: String,
    folds: Vec<FoldMeans>,
    mean: FoldMeans,
}

#[derive(Serialize)]
struct WorldFigures {
    models: Vec<ModelReport>,
    hybrid_ndcg: f64,
    svd_ndcg: f64,
    gbdt_ndcg: f64,
    popularity_cold_ndcg: f64,
    hybrid_cold_ndcg: f64,
    /// Hybrid ÷ popularity on users with no history (goal ≥ 2).
    cold_ratio: f64,
    /// NDCG@20 of lists ranked by the world's hidden truth: what any model could reach.
    ceiling: Ceiling,
    /// The hybrid under each reranker setting: what diversity and exploration cost in
    /// accuracy and buy in coverage.
    rerank_sweep: Vec<RerankFigures>,
}

#[derive(Serialize)]
struct RerankFigures {
    setting: String,
    params: RerankParams,
    ndcg: f64,
    hit_rate: f64,
    coverage: f64,
    gini: f64,
    novelty: f64,
    popularity_correlation: f64,
}

#[derive(Serialize)]
struct Ceiling {
    /// Knowing each movie's popularity and quality but nothing about the user.
    nonpersonal_ndcg: f64,
    nonpersonal_cold_ndcg: f64,
    /// Knowing each user's exact hidden tastes.
    oracle_ndcg: f64,
    oracle_cold_ndcg: f64,
}

#[derive(Serialize)]
struct Latency {
    /// Every list is timed on one thread, one after another.
    threads: usize,
    movies: usize,
    users: usize,
    timed_users: usize,
    /// `Recommender::recommend` alone: retrieval, ranking, reranking.
    recommend_p50_us: f64,
    recommend_p99_us: f64,
    recommend_mean_us: f64,
    /// Decoding the user's profile shard and profile first, as the edge does.
    with_profile_lookup_p50_us: f64,
    with_profile_lookup_p99_us: f64,
}

pub fn run(args: BenchRecommendArgs) -> Result<()> {
    anyhow::ensure!(args.folds >= 2, "--folds must be at least 2");
    anyhow::ensure!(args.threads >= 1, "--threads must be at least 1");
    let root = crate::commands::bench::workspace_root();
    let scratch = tempfile::tempdir()?;
    let data_root = args.keep_data.clone().unwrap_or_else(|| scratch.path().to_path_buf());
    let pool = rayon::ThreadPoolBuilder::new().num_threads(args.threads).build()?;
    let figures = pool.install(|| -> Result<Figures> {
        let rating_accuracy = rating_accuracy(&args, &root, &data_root)?;
        let world = world_figures(&data_root, args.json)?;
        let latency = latency(args.catalog, args.timed_users)?;
        Ok(Figures { rating_accuracy, world, latency, threads: args.threads })
    })?;
    if args.json {
        return crate::commands::print_json(&figures);
    }
    print_figures(&figures);
    Ok(())
}

fn rating_accuracy(args: &BenchRecommendArgs, root: &Path, scratch: &Path) -> Result<RatingAccuracy> {
    let (folder, name) = match &args.movielens {
        Some(folder) => (folder.clone(), format!("MovieLens 100K from {}", folder.display())),
        None => {
            let folder = scratch.join("ml-100k-shaped");
            std::fs::create_dir_all(&folder)?;
            super::movielens_shaped::write(&folder, 100)?;
            (folder, "synthetic, shaped like MovieLens 100K (not comparable with published figures)".into())
        }
    };
    tracing::info!("rating accuracy on {name}");
    let data = crate::commands::load_data::load_interactions(&folder, true)?;
    let rated: Vec<Interaction> = data.events.iter().filter(|event| event.rating.is_some()).copied().collect();
    // A seeded shuffle assigns every rating to one fold.
    let mut order: Vec<usize> = (0..rated.len()).collect();
    let mut state = 7u64;
    for index in (1..order.len()).rev() {
        state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        order.swap(index, ((u128::from(state >> 11) * (index as u128 + 1)) >> 53) as usize);
    }
    let mut fold_of = vec![0usize; rated.len()];
    for (position, &index) in order.iter().enumerate() {
        fold_of[index] = position % args.folds;
    }
    let (low, high) = data.rating_scale();
    let mut svd_sum = FoldMeans::default();
    let mut svd_threads_sum = FoldMeans::default();
    // Each fold's fit seconds (one thread, `--threads`), for the per-fold speed-ups.
    let mut svd_seconds: Vec<(f64, f64)> = Vec::new();
    let mut hybrid_sum = FoldMeans::default();
    let one_thread = rayon::ThreadPoolBuilder::new().num_threads(1).build()?;
    let mut blend_params = RatingBlendParams::default();
    blend_params.combiner.threads = rayon::current_num_threads();
    const BLEND_NAMES: [&str; 4] = ["svd (tuned)", "svd++", "item knn", "blend"];
    let mut blend_folds: [Vec<FoldMeans>; 4] = Default::default();
    let featurizer = RatingFeaturizer::new(&data.users, &data.movies, CategoryEncoding::Codes);
    let mut tree_schema = featurizer.schema.clone();
    tree_schema
        .features
        .extend(AGGREGATE_FEATURES.iter().map(|name| Feature { name: (*name).to_owned(), kind: FeatureKind::Numeric }));
    let tree_params = TrainParams {
        rounds: TREE_ROUNDS,
        learning_rate: TREE_ETA,
        max_depth: TREE_DEPTH,
        min_child_weight: TREE_MIN_CHILD_WEIGHT,
        threads: rayon::current_num_threads(),
        ..TrainParams::default()
    }
    .validate()?;
    let mut tree_sum = FoldMeans::default();
    let peer_folder = scratch.join("folds");
    std::fs::create_dir_all(&peer_folder)?;
    for fold in 0..args.folds {
        let in_fold = |wanted: bool| -> Vec<Interaction> {
            rated.iter().zip(&fold_of).filter(|(_, &of)| (of == fold) == wanted).map(|(event, _)| *event).collect()
        };
        let (test, train) = (in_fold(true), in_fold(false));
        write_fold(&peer_folder, fold, &data, &train, &test)?;
        let split = Split { train: train.clone(), test: test.clone(), cold_users: vec![false; data.users.len()] };
        let params = BiasedSvdParams { seed: fold as u64, ..BiasedSvdParams::default() };
        let fit = || Svd::fit(&data, &split.train, SeenMovies::new(data.users.len(), &split.train), params);
        let svd = one_thread.install(fit)?;
        let one_thread_seconds = svd.train_seconds();
        add_errors(&mut svd_sum, &test, svd.train_seconds(), |user, item| svd.predict_rating(user, item));
        // On the caller's pool of `--threads` threads.
        let svd = fit()?;
        svd_seconds.push((one_thread_seconds, svd.train_seconds()));
        add_errors(&mut svd_threads_sum, &test, svd.train_seconds(), |user, item| svd.predict_rating(user, item));
        let fitted = fit_hybrid(&data, &split.train, &HybridParams { seed: fold as u64, ..HybridParams::default() })?;
        add_errors(&mut hybrid_sum, &test, fitted.seconds, |user, item| {
            Some(fitted.recommender.predict_rating(&fitted.profiles[user], item))
        });
        let triples: Vec<(u32, u32, f32)> =
            split.train.iter().filter_map(|event| Some((event.user, event.item, event.rating?))).collect();
        let mut history: Vec<Vec<(u32, f32)>> = vec![Vec::new(); data.users.len()];
        for &(user, item, rating) in &triples {
            history[user as usize].push((item, rating));
        }
        blend_params.seed = fold as u64;
        blend_params.svd.seed = fold as u64;
        blend_params.svd_plus_plus.seed = fold as u64;
        let valid = blend_params.clone().validate()?;
        let started = Instant::now();
        let fit = fit_rating_blend(&triples, data.users.len(), data.movies.len(), low, high, &valid)?;
        let blend_seconds = started.elapsed().as_secs_f64();
        let blend = &fit.blend;
        let mut errors = [FoldMeans::default(); 4];
        add_errors(&mut errors[0], &test, fit.refit_seconds[0], |user, item| {
            Some(blend.svd.predict(Some(user), Some(item as usize)))
        });
        let rated: Vec<Vec<u32>> = history.iter().map(|h| h.iter().map(|&(item, _)| item).collect()).collect();
        add_errors(&mut errors[1], &test, fit.refit_seconds[1], |user, item| {
            Some(blend.svd_plus_plus.predict(Some(user), &rated[user], item as usize))
        });
        add_errors(&mut errors[2], &test, fit.refit_seconds[2], |user, item| {
            Some(blend.item_knn.predict(Some(user), &history[user], item as usize))
        });
        add_errors(&mut errors[3], &test, blend_seconds, |user, item| {
            blend.predict(Some(user), &history[user], item as usize).ok()
        });
        // The rating tree: demographics and metadata plus the aggregates.
        let aggregates = RatingAggregates::new(&triples, data.users.len(), data.movies.len());
        let tree_rows = |pairs: &mut dyn Iterator<Item = (u32, u32, Option<f32>)>| -> (Vec<f32>, Vec<f32>) {
            let (mut x, mut y) = (Vec::new(), Vec::new());
            for (user, item, label) in pairs {
                featurizer.push_row(data.users.get(user as usize), data.movies.get(item as usize), &mut x);
                let row = match label {
                    Some(rating) => aggregates.training_row(user, item, rating),
                    None => aggregates.test_row(user, item),
                };
                x.extend_from_slice(&row);
                y.push(label.unwrap_or_default());
            }
            (x, y)
        };
        let (train_x, train_y) = tree_rows(&mut triples.iter().map(|&(u, i, r)| (u, i, Some(r))));
        let test_pairs: Vec<(u32, u32, f32)> =
            test.iter().filter_map(|event| Some((event.user, event.item, event.rating?))).collect();
        let (test_x, _) = tree_rows(&mut test_pairs.iter().map(|&(u, i, _)| (u, i, None)));
        let test_y: Vec<f32> = test_pairs.iter().map(|&(_, _, r)| r).collect();
        for (name, values) in [("train_x", &train_x), ("train_y", &train_y), ("test_x", &test_x), ("test_y", &test_y)] {
            let bytes: Vec<u8> = values.iter().flat_map(|value| value.to_le_bytes()).collect();
            std::fs::write(peer_folder.join(format!("tree{fold}_{name}.f32")), bytes)?;
        }
        let table = Table::new(tree_schema.clone(), train_x, train_y, None)?;
        let started = Instant::now();
        let tree = marquee_model::Predictor::new(train_gbdt(&table, None, &tree_params, &mut |_, _| {})?.ensemble)?;
        let tree_seconds = started.elapsed().as_secs_f64();
        let width = tree_schema.len();
        let predictions: Vec<f32> = test_x
            .chunks(width)
            .map(|row| tree.predict(row).map(|value| value.clamp(low, high)))
            .collect::<std::result::Result<_, _>>()?;
        let (mut squared, mut absolute) = (0.0f64, 0.0f64);
        for (predicted, actual) in predictions.iter().zip(&test_y) {
            let error = f64::from(predicted - actual);
            squared += error * error;
            absolute += error.abs();
        }
        let count = test_y.len().max(1) as f64;
        tree_sum.rmse += (squared / count).sqrt();
        tree_sum.mae += absolute / count;
        tree_sum.fit_seconds += tree_seconds;

        for (sum, figure) in blend_folds.iter_mut().zip(errors) {
            sum.push(figure);
        }
        tracing::info!(
            "fold {fold}: blend RMSE {:.4} (svd {:.4}, svd++ {:.4}, knn {:.4})",
            errors[3].rmse,
            errors[0].rmse,
            errors[1].rmse,
            errors[2].rmse
        );
    }
    let mean = |sum: FoldMeans| FoldMeans {
        rmse: sum.rmse / args.folds as f64,
        mae: sum.mae / args.folds as f64,
        fit_seconds: sum.fit_seconds / args.folds as f64,
    };
    let (marquee_svd, marquee_svd_threads, marquee_hybrid) = (mean(svd_sum), mean(svd_threads_sum), mean(hybrid_sum));
    let surprise = if args.no_peers {
        Value::String("skipped (--no-peers)".into())
    } else {
        run_surprise(root, &peer_folder, args.folds, low, high, !args.no_svdpp)
    };
    let surprise_svdpp = surprise.get("svdpp_folds").and_then(Value::as_array).and_then(|folds| {
        let field = |fold: &Value, name: &str| fold.get(name).and_then(Value::as_f64);
        let figures: Vec<FoldMeans> = folds
            .iter()
            .filter_map(|fold| {
                Some(FoldMeans {
                    rmse: field(fold, "rmse")?,
                    mae: field(fold, "mae")?,
                    fit_seconds: field(fold, "fit_seconds")?,
                })
            })
            .collect();
        (figures.len() == folds.len() && !figures.is_empty()).then(|| mean_of(&figures))
    });
    let tree_marquee = mean(tree_sum);
    let xgboost = if args.no_peers {
        Value::String("skipped (--no-peers)".into())
    } else {
        run_xgboost_tree(root, &peer_folder, args.folds, tree_schema.len(), rayon::current_num_threads())
    };
    let xgboost_rmse = xgboost.get("folds").and_then(Value::as_array).and_then(|folds| {
        let values: Vec<f64> = folds.iter().filter_map(|fold| fold.get("rmse")?.as_f64()).collect();
        (values.len() == folds.len() && !values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
    });
    let rating_tree = RatingTree {
        features: tree_schema.features.iter().map(|feature| feature.name.clone()).collect(),
        params: format!(
            "{TREE_ROUNDS} rounds, eta {TREE_ETA}, depth {TREE_DEPTH}, min child weight {TREE_MIN_CHILD_WEIGHT}, 256 bins"
        ),
        threads: rayon::current_num_threads(),
        rmse_difference_vs_xgboost: xgboost_rmse.map(|rmse| tree_marquee.rmse - rmse),
        marquee: tree_marquee,
        xgboost,
    };
    let rating_models: Vec<RatingModel> = BLEND_NAMES
        .iter()
        .zip(blend_folds)
        .map(|(name, folds)| RatingModel {
            name: (*name).to_owned(),
            timer: if *name == "blend" {
                "the whole blend fit: out-of-fold fits of every part, the combiner, the refits".into()
            } else {
                "the part's refit on the whole training fold".into()
            },
            mean: mean_of(&folds),
            folds,
        })
        .collect();
    let surprise_mean = |field: &str| -> Option<f64> {
        let folds = surprise.get("folds")?.as_array()?;
        let values: Vec<f64> = folds.iter().filter_map(|fold| fold.get(field)?.as_f64()).collect();
        (values.len() == folds.len() && !values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
    };
    let surprise_seconds: Vec<f64> = surprise
        .get("folds")
        .and_then(Value::as_array)
        .map(|folds| folds.iter().filter_map(|fold| fold.get("fit_seconds")?.as_f64()).collect())
        .unwrap_or_default();
    // Surprise's seconds ÷ Marquee's, fold by fold; empty without Surprise's figures.
    let speedups = |marquee: fn(f64, f64) -> f64| -> Vec<f64> {
        if surprise_seconds.len() != svd_seconds.len() {
            return Vec::new();
        }
        surprise_seconds.iter().zip(&svd_seconds).map(|(peer, &(one, many))| peer / marquee(one, many)).collect()
    };
    let mut candidates =
        vec![("svd".to_owned(), marquee_svd.rmse), ("hybrid (rating head)".to_owned(), marquee_hybrid.rmse)];
    candidates.push(("rating tree (aggregates)".to_owned(), rating_tree.marquee.rmse));
    candidates.extend(rating_models.iter().map(|model| (model.name.clone(), model.mean.rmse)));
    let (best_model, best_rmse) =
        candidates.into_iter().min_by(|a, b| a.1.total_cmp(&b.1)).unwrap_or_else(|| ("none".into(), f64::NAN));
    Ok(RatingAccuracy {
        data: name,
        folds: args.folds,
        ratings: rated.len(),
        svd_speedup_vs_surprise_one_thread: median(&speedups(|one, _| one)),
        svd_speedups_one_thread_by_fold: speedups(|one, _| one),
        svd_speedup_vs_surprise_threads: median(&speedups(|_, many| many)),
        svd_rmse_difference_vs_surprise: surprise_mean("rmse").map(|rmse| marquee_svd.rmse - rmse),
        marquee_svd,
        marquee_svd_threads,
        threads: rayon::current_num_threads(),
        marquee_hybrid,
        surprise_svd: surprise,
        rating_models,
        surprise_svdpp,
        rating_tree,
        best_model,
        best_rmse,
    })
}

/// The mean of per-fold figures.
fn mean_of(folds: &[FoldMeans]) -> FoldMeans {
    let n = folds.len().max(1) as f64;
    FoldMeans {
        rmse: folds.iter().map(|f| f.rmse).sum::<f64>() / n,
        mae: folds.iter().map(|f| f.mae).sum::<f64>() / n,
        fit_seconds: folds.iter().map(|f| f.fit_seconds).sum::<f64>() / n,
    }
}

fn add_errors(sum: &mut FoldMeans, test: &[Interaction], seconds: f64, predict: impl Fn(usize, u32) -> Option<f32>) {
    let (mut squared, mut absolute, mut count) = (0.0f64, 0.0f64, 0usize);
    for event in test {
        let (Some(actual), Some(predicted)) = (event.rating, predict(event.user as usize, event.item)) else {
            continue;
        };
        let error = f64::from(predicted) - f64::from(actual);
        squared += error * error;
        absolute += error.abs();
        count += 1;
    }
    let count = count.max(1) as f64;
    sum.rmse += (squared / count).sqrt();
    sum.mae += absolute / count;
    sum.fit_seconds += seconds;
}

fn write_fold(
    folder: &Path,
    fold: usize,
    data: &Interactions,
    train: &[Interaction],
    test: &[Interaction],
) -> Result<()> {
    for (name, events) in [("train", train), ("test", test)] {
        let mut text = String::with_capacity(events.len() * 16);
        for event in events {
            let rating = event.rating.unwrap_or_default();
            text.push_str(&format!(
                "{}\t{}\t{rating}\n",
                data.users[event.user as usize].user_id, data.movies[event.item as usize].movie_id
            ));
        }
        std::fs::write(folder.join(format!("fold{fold}_{name}.tsv")), text)?;
    }
    Ok(())
}

fn run_surprise(root: &Path, folder: &Path, folds: usize, low: f32, high: f32, svdpp: bool) -> Value {
    let python = root.join(".venv/bin/python");
    if !python.exists() {
        return Value::String("no .venv with the peers: run `cargo xtask peers` (installs Surprise)".into());
    }
    let run = || -> Result<Value> {
        let output = Command::new(&python)
            .arg(root.join("bench/peers_svd.py"))
            .arg(folder)
            .arg(folds.to_string())
            .arg(low.to_string())
            .arg(high.to_string())
            .args(svdpp.then_some("--svdpp"))
            .output()
            .context("running bench/peers_svd.py")?;
        anyhow::ensure!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        Ok(serde_json::from_slice(&output.stdout)?)
    };
    run().unwrap_or_else(|error| Value::String(format!("Surprise failed: {error:#}")))
}

fn run_xgboost_tree(root: &Path, folder: &Path, folds: usize, features: usize, threads: usize) -> Value {
    let python = root.join(".venv/bin/python");
    if !python.exists() {
        return Value::String("no .venv with the peers: run `cargo xtask peers` (installs XGBoost)".into());
    }
    let run = || -> Result<Value> {
        let output = Command::new(&python)
            .arg(root.join("bench/peers_rating_tree.py"))
            .arg(folder)
            .args([folds, features, threads, TREE_ROUNDS as usize].map(|n| n.to_string()))
            .args([TREE_ETA.to_string(), TREE_DEPTH.to_string(), TREE_MIN_CHILD_WEIGHT.to_string()])
            .output()
            .context("running bench/peers_rating_tree.py")?;
        anyhow::ensure!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        Ok(serde_json::from_slice(&output.stdout)?)
    };
    run().unwrap_or_else(|error| Value::String(format!("XGBoost failed: {error:#}")))
}

fn world_figures(scratch: &Path, quiet: bool) -> Result<WorldFigures> {
    let world = World::generate(WorldConfig::default())?;
    let folder = scratch.join("world");
    world.write_to(&folder, |_| {})?;
    let data = crate::commands::load_data::load_interactions(&folder, quiet)?;
    let split = time_split(&data, &SplitParams::default())?;
    let (models, fitted) = crate::commands::compare::compare(&data, &split, &EvaluationParams::default(), 0)?;
    let served = *fitted.recommender.rerank_params();
    let settings = [
        ("off", RerankParams::off()),
        ("MMR 0.3", RerankParams { diversity: 0.3, factor_similarity_weight: 0.5, ..RerankParams::off() }),
        ("popularity penalty 0.2", RerankParams { popularity_penalty: 0.2, ..RerankParams::off() }),
        ("one exploration slot", RerankParams { exploration_slots: 1, exploration_depth: 40, ..RerankParams::off() }),
        ("served defaults", served),
        (
            "strong (MMR 0.3, penalty 0.2, two slots)",
            RerankParams { diversity: 0.3, popularity_penalty: 0.2, exploration_slots: 2, ..served },
        ),
    ];
    let rerank_sweep = settings
        .into_iter()
        .map(|(setting, params)| {
            let report = evaluate_model(
                &Hybrid { fitted: &fitted, rerank: params, label: "hybrid" },
                &data,
                &split,
                &EvaluationParams::default(),
            );
            RerankFigures {
                setting: setting.into(),
                params,
                ndcg: report.ranking.ndcg,
                hit_rate: report.ranking.hit_rate,
                coverage: report.exposure.coverage,
                gini: report.exposure.gini,
                novelty: report.exposure.novelty,
                popularity_correlation: report.exposure.popularity_correlation,
            }
        })
        .collect();
    let find = |prefix: &str| models.iter().find(|report| report.model.starts_with(prefix));
    let ndcg = |prefix: &str| find(prefix).map_or(0.0, |report| report.ranking.ndcg);
    let cold = |prefix: &str| find(prefix).map_or(0.0, |report| report.cold_users.ndcg);
    let ceiling = ceiling(&world, &data, &split);
    Ok(WorldFigures {
        hybrid_ndcg: models.iter().rev().find(|r| r.model == "hybrid").map_or(0.0, |r| r.ranking.ndcg),
        svd_ndcg: ndcg("svd"),
        gbdt_ndcg: ndcg("gbdt"),
        popularity_cold_ndcg: cold("popularity"),
        hybrid_cold_ndcg: models.iter().rev().find(|r| r.model == "hybrid").map_or(0.0, |r| r.cold_users.ndcg),
        cold_ratio: models.iter().rev().find(|r| r.model == "hybrid").map_or(0.0, |r| r.cold_users.ndcg)
            / cold("popularity").max(f64::MIN_POSITIVE),
        models,
        ceiling,
        rerank_sweep,
    })
}

/// Ranks every unseen movie by the world's own choice model (popularity-weighted sampling,
/// then a softmax over utility at the simulation's temperature) and scores those lists.
fn ceiling(world: &World, data: &Interactions, split: &Split) -> Ceiling {
    const CHOICE_TEMPERATURE: f32 = 0.45;
    let movie_in_world: Vec<Option<usize>> =
        data.movies.iter().map(|movie| world.movie_index(&movie.movie_id)).collect();
    let seen = SeenMovies::new(data.users.len(), &split.train);
    let mut relevant: Vec<Vec<u32>> = vec![Vec::new(); data.users.len()];
    for event in split.test.iter().filter(|event| event.is_relevant()) {
        relevant[event.user as usize].push(event.item);
    }
    let mut figures = [[RankingSums::default(); 2]; 2];
    for (personal, sums) in figures.iter_mut().enumerate() {
        for (user, relevant) in relevant.iter().enumerate() {
            let Some(world_user) = world.user_index(data.users[user].user_id) else { continue };
            if relevant.is_empty() {
                continue;
            }
            let scores: Vec<f32> = movie_in_world
                .iter()
                .enumerate()
                .map(|(item, movie)| match movie {
                    Some(movie) if !seen.contains(user, item as u32) => {
                        let taste = &world.movie_tastes[*movie];
                        let utility = if personal == 1 {
                            world.utility(world_user, *movie)
                        } else {
                            taste.quality + marquee_data::world::POPULARITY_WEIGHT * taste.popularity_bias
                        };
                        let weight = world.movies[*movie].popularity.unwrap_or(1.0).max(1e-3) as f32;
                        weight.ln() + utility / CHOICE_TEMPERATURE
                    }
                    _ => f32::NEG_INFINITY,
                })
                .collect();
            let mut order = Vec::new();
            top_k(&scores, 20, &mut order);
            let list: Vec<u32> = order.into_iter().map(|item| item as u32).collect();
            sums[0].add(&list, relevant, 20);
            if split.cold_users[user] {
                sums[1].add(&list, relevant, 20);
            }
        }
    }
    Ceiling {
        nonpersonal_ndcg: figures[0][0].finish().ndcg,
        nonpersonal_cold_ndcg: figures[0][1].finish().ndcg,
        oracle_ndcg: figures[1][0].finish().ndcg,
        oracle_cold_ndcg: figures[1][1].finish().ndcg,
    }
}

fn latency(movies: u32, timed_users: usize) -> Result<Latency> {
    let config = WorldConfig { users: 20_000, movies, days: 4, malformed_rate: 0.0, ..WorldConfig::default() };
    let world = World::generate(config)?;
    let folder = tempfile::tempdir()?;
    world.write_to(folder.path(), |_| {})?;
    let data = crate::commands::load_data::load_interactions(folder.path(), true)?;
    let fitted = fit_hybrid(&data, &data.events, &HybridParams::default())?;
    let recommender = &fitted.recommender;
    let shards = recommender.shard_count();
    let blobs = profile_shards(recommender, &fitted.profiles)?;
    // Every k-th user, so that light and heavy users and cold ones are all timed.
    let step = (fitted.profiles.len() / timed_users.max(1)).max(1);
    let timed: Vec<&UserProfile> = fitted.profiles.iter().step_by(step).take(timed_users).collect();
    let (mut alone, mut with_lookup) = (Vec::new(), Vec::new());
    for profile in &timed {
        let started = Instant::now();
        let list = recommender.recommend(profile, 20, profile.user_id);
        alone.push(started.elapsed().as_secs_f64() * 1e6);
        std::hint::black_box(list);

        let started = Instant::now();
        let blob = &blobs[shard_of(profile.user_id, shards) as usize];
        let shard = ProfileShard::from_blob(blob)?;
        let found = recommender.lookup_profile(&shard, profile.user_id)?.context("a published profile is missing")?;
        let list = recommender.recommend(&found, 20, profile.user_id);
        with_lookup.push(started.elapsed().as_secs_f64() * 1e6);
        std::hint::black_box(list);
    }
    let percentile = |values: &mut Vec<f64>, p: f64| {
        values.sort_by(f64::total_cmp);
        values[((values.len() - 1) as f64 * p).round() as usize]
    };
    let mean = alone.iter().sum::<f64>() / alone.len().max(1) as f64;
    Ok(Latency {
        threads: 1,
        movies: data.movies.len(),
        users: data.users.len(),
        timed_users: timed.len(),
        recommend_p50_us: percentile(&mut alone, 0.5),
        recommend_p99_us: percentile(&mut alone, 0.99),
        recommend_mean_us: mean,
        with_profile_lookup_p50_us: percentile(&mut with_lookup, 0.5),
        with_profile_lookup_p99_us: percentile(&mut with_lookup, 0.99),
    })
}

fn print_figures(figures: &Figures) {
    let accuracy = &figures.rating_accuracy;
    println!(
        "1. Rating accuracy, {}-fold random split of {} ratings: {}",
        accuracy.folds, accuracy.ratings, accuracy.data
    );
    let threads = accuracy.threads;
    let (one, many) = (&accuracy.marquee_svd, &accuracy.marquee_svd_threads);
    println!(
        "   marquee svd:     RMSE {:.4}  MAE {:.4}  fit {:.3} s on 1 thread, {:.3} s on {threads} threads{}",
        one.rmse,
        one.mae,
        one.fit_seconds,
        many.fit_seconds,
        if one.rmse == many.rmse {
            " (the same RMSE: the schedule does not depend on threads)".to_owned()
        } else {
            format!(" (RMSE {:.4} on {threads} threads)", many.rmse)
        }
    );
    println!(
        "   marquee hybrid:  RMSE {:.4}  MAE {:.4}  fit {:.3} s on {threads} threads (rating head)",
        accuracy.marquee_hybrid.rmse, accuracy.marquee_hybrid.mae, accuracy.marquee_hybrid.fit_seconds
    );
    match (
        &accuracy.svd_speedup_vs_surprise_one_thread,
        &accuracy.svd_speedup_vs_surprise_threads,
        &accuracy.svd_rmse_difference_vs_surprise,
    ) {
        (Some(one), Some(many), Some(difference)) => println!(
            "   surprise svd:    {} (1 thread)\n   svd vs Surprise: {one:.1}× faster to fit on 1 thread each (median of \
             the {} folds' ratios [{}]; goal ≥ 10), {many:.1}× with Marquee on {threads} threads against Surprise on 1; \
             RMSE {difference:+.4} (goal ≤ 0)",
            accuracy.surprise_svd,
            accuracy.svd_speedups_one_thread_by_fold.len(),
            accuracy.svd_speedups_one_thread_by_fold.iter().map(|r| format!("{r:.1}")).collect::<Vec<_>>().join(", ")
        ),
        _ => println!("   surprise svd:    {}", accuracy.surprise_svd),
    }
    println!("   the rating blend and its parts ({threads} threads; per fold RMSE, then the mean):");
    for model in &accuracy.rating_models {
        let folds: Vec<String> = model.folds.iter().map(|fold| format!("{:.4}", fold.rmse)).collect();
        println!(
            "     {:<12} RMSE {:.4}  MAE {:.4}  fit {:.2} s  folds [{}]  (fit timer: {})",
            model.name,
            model.mean.rmse,
            model.mean.mae,
            model.mean.fit_seconds,
            folds.join(", "),
            model.timer
        );
    }
    if let Some(svdpp) = &accuracy.surprise_svdpp {
        println!(
            "     {:<12} RMSE {:.4}  MAE {:.4}  fit {:.2} s on 1 thread (Surprise's SVDpp defaults)",
            "surprise svd++", svdpp.rmse, svdpp.mae, svdpp.fit_seconds
        );
    }
    let tree = &accuracy.rating_tree;
    println!(
        "   rating tree on demographics, metadata and user/movie aggregates ({}; {} threads each):",
        tree.params, tree.threads
    );
    println!(
        "     marquee gbdt RMSE {:.4}  MAE {:.4}  fit {:.2} s (train call: binning and boosting)",
        tree.marquee.rmse, tree.marquee.mae, tree.marquee.fit_seconds
    );
    println!("     xgboost      {} (xgb.train incl. DMatrix)", tree.xgboost);
    if let Some(difference) = tree.rmse_difference_vs_xgboost {
        println!("     marquee − xgboost RMSE {difference:+.4} (goal ≤ 0)");
    }
    println!("   timers: fit = wall time of the fit call alone, each engine's own clock (Rust's Instant; Python's perf_counter)");
    println!(
        "   best model: {} with RMSE {:.4} (goal on MovieLens 100K ≤ 0.905: {})",
        accuracy.best_model,
        accuracy.best_rmse,
        if accuracy.best_rmse <= 0.905 { "met" } else { "NOT met" }
    );

    let world = &figures.world;
    println!("\n2. The built-in world, time split (NDCG@20; models fitted on {} threads):", figures.threads);
    crate::commands::compare::print_table(&world.models, 20);
    println!(
        "   hybrid {:.4} vs svd {:.4} and gbdt {:.4}: {}",
        world.hybrid_ndcg,
        world.svd_ndcg,
        world.gbdt_ndcg,
        if world.hybrid_ndcg > world.svd_ndcg && world.hybrid_ndcg > world.gbdt_ndcg {
            "beats both"
        } else {
            "does NOT beat both"
        }
    );
    println!(
        "   users with no history: hybrid {:.4} vs popularity {:.4} = {:.2}× (goal ≥ 2)",
        world.hybrid_cold_ndcg, world.popularity_cold_ndcg, world.cold_ratio
    );
    println!(
        "   ceilings from the world's hidden truth: non-personal {:.4} (cold {:.4}), oracle {:.4} (cold {:.4} = {:.2}× popularity)",
        world.ceiling.nonpersonal_ndcg,
        world.ceiling.nonpersonal_cold_ndcg,
        world.ceiling.oracle_ndcg,
        world.ceiling.oracle_cold_ndcg,
        world.ceiling.oracle_cold_ndcg / world.popularity_cold_ndcg.max(f64::MIN_POSITIVE)
    );

    println!("   the reranker on the hybrid: setting, NDCG@20, HR@20, coverage, gini, novelty, popularity correlation");
    for row in &world.rerank_sweep {
        println!(
            "     {:<42} {:.4}  {:.4}  {:.4}  {:.4}  {:.2}  {:.3}",
            row.setting, row.ndcg, row.hit_rate, row.coverage, row.gini, row.novelty, row.popularity_correlation
        );
    }

    let latency = &figures.latency;
    println!(
        "\n3. Latency, {} thread, {} movies, {} users, {} timed (Instant around each call): recommend p50 {:.0} µs, p99 {:.0} µs, mean {:.0} µs (goal < 2,000 µs); with the profile lookup p50 {:.0} µs, p99 {:.0} µs",
        latency.threads,
        latency.movies,
        latency.users,
        latency.timed_users,
        latency.recommend_p50_us,
        latency.recommend_p99_us,
        latency.recommend_mean_us,
        latency.with_profile_lookup_p50_us,
        latency.with_profile_lookup_p99_us
    );
}

/// The median of `values` (the mean of the middle two for an even count); `None` when empty.
fn median(values: &[f64]) -> Option<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let middle = sorted.len() / 2;
    match sorted.len() {
        0 => None,
        n if n % 2 == 1 => Some(sorted[middle]),
        _ => Some((sorted[middle - 1] + sorted[middle]) / 2.0),
    }
}

//! `marquee train --data DIR --out MODELS_DIR`: fits the hybrid on all the data and writes
//! what the edge serves: the recommender blob, the profile shards, the run's parameters
//! (`params.json`) and a manifest.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use marquee_model::blob::read_header;
use marquee_model::hash::Fnv64;
use marquee_model::manifest::{Evaluation, Manifest, ManifestFile, MANIFEST_FILE, PARAMS_FILE};
use marquee_model::recommend::{RerankParams, RetrievalParams, FEATURE_SCHEMA_VERSION};

/// The list length a popular-only model retrieves: what the edge serves.
const LIST_LENGTH: usize = 20;
use marquee_train::evaluate::{evaluate_model, models::Hybrid, EvaluationParams};
use marquee_train::mf::{BiasedSvdParams, BprParams};
use marquee_train::recommend::{fit_hybrid, profile_shards, time_split, HybridParams, Interactions, SplitParams};

/// Where a model's candidates come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Candidates {
    /// Every source: personal factors, item neighbours, the user's segment, popularity, new releases.
    All,
    /// The most popular movies only.
    Popular,
    /// The newest releases only.
    NewReleases,
}

#[derive(clap::Args)]
pub struct TrainArgs {
    /// The data: an event store, a world folder, a MovieLens folder, a CSV triple, or files
    /// `marquee ingest` reads.
    #[arg(long)]
    data: PathBuf,
    /// The folder to write the model into (created; files already there are replaced).
    #[arg(long)]
    out: PathBuf,
    /// How many shards the per-user profiles are split into (default: one per 256 users).
    #[arg(long)]
    shards: Option<u32>,
    /// Latent factors of both factorisations (SVD and BPR); fewer make smaller blobs.
    #[arg(long, default_value_t = 32)]
    factors: usize,
    /// Neighbours kept per movie for the neighbourhood source (0: no neighbour source);
    /// fewer make smaller blobs.
    #[arg(long, default_value_t = marquee_train::recommend::NeighbourParams::default().per_item)]
    neighbours: usize,
    /// Seeds every random choice of the fit.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// How many of a list's last positions go to exploration (movies from further down the
    /// ranking, so that the click log learns about them), 0 to 5.
    #[arg(long, default_value_t = RerankParams::default().exploration_slots)]
    exploration_slots: usize,
    /// Where candidates come from: every source (the hybrid), or only the most popular
    /// movies, or only the newest releases, served in the ranker's order with no reranking.
    /// The last two are deliberately weak models, for checking that an experiment detects a
    /// worse challenger.
    #[arg(long, value_enum, default_value_t = Candidates::All)]
    candidates: Candidates,
    /// Also fit the same parameters on the older part of the data and score the newer part
    /// (as `marquee evaluate` does), and record the figures in the manifest. About doubles
    /// the time.
    #[arg(long)]
    evaluate: bool,
    /// Print the manifest as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(args: TrainArgs) -> Result<()> {
    if let Some(shards) = args.shards {
        anyhow::ensure!((1..=1 << 20).contains(&shards), "--shards must be 1 to 1048576");
    }
    let data = super::load_data::load_interactions(&args.data, args.json)?;
    anyhow::ensure!((1..=256).contains(&args.factors), "--factors must be 1 to 256");
    let defaults = HybridParams::default();
    let params = HybridParams {
        seed: args.seed,
        shard_count: args.shards.unwrap_or(0),
        svd: BiasedSvdParams { factors: args.factors, ..defaults.svd },
        bpr: BprParams { factors: args.factors, ..defaults.bpr },
        neighbours: marquee_train::recommend::NeighbourParams { per_item: args.neighbours, ..defaults.neighbours },
        retrieval: match args.candidates {
            Candidates::All => defaults.retrieval,
            Candidates::Popular => RetrievalParams {
                factor_candidates: 0,
                neighbour_candidates: 0,
                segment_candidates: 0,
                popular_candidates: LIST_LENGTH,
                new_release_candidates: 0,
            },
            Candidates::NewReleases => RetrievalParams {
                factor_candidates: 0,
                neighbour_candidates: 0,
                segment_candidates: 0,
                popular_candidates: 0,
                new_release_candidates: LIST_LENGTH,
            },
        },
        rerank: match args.candidates {
            Candidates::All => RerankParams { exploration_slots: args.exploration_slots, ..defaults.rerank },
            Candidates::Popular | Candidates::NewReleases => RerankParams::off(),
        },
        ..defaults
    };
    params.rerank.validate()?;
    let evaluation = if args.evaluate { Some(evaluate(&data, &params)?) } else { None };
    let fitted = fit_hybrid(&data, &data.events, &params)?;
    let shard_count = fitted.recommender.shard_count();
    let recommender_blob = fitted.recommender.to_blob()?;

    let shard_blobs = profile_shards(&fitted.recommender, &fitted.profiles)?;

    // The version hashes every blob's checksum, so it changes exactly when a blob does.
    let mut version_hash = Fnv64::new();
    for blob in std::iter::once(&recommender_blob).chain(&shard_blobs) {
        version_hash.write_u64(read_header(blob)?.checksum);
    }

    let profiles_dir = args.out.join("profiles");
    std::fs::create_dir_all(&profiles_dir).with_context(|| format!("creating {}", profiles_dir.display()))?;
    write_file(&args.out, "recommender.blob", &recommender_blob)?;
    let mut profile_files = Vec::new();
    for (shard, blob) in shard_blobs.iter().enumerate() {
        let path = format!("profiles/{shard:05}.blob");
        write_file(&args.out, &path, blob)?;
        profile_files.push(ManifestFile { path, bytes: blob.len() });
    }
    // The parameters sit next to the model, so a run can be repeated or compared.
    let params_json = serde_json::to_string_pretty(&params)?;
    write_file(&args.out, PARAMS_FILE, params_json.as_bytes())?;
    let catalog = fitted.recommender.catalog();
    let manifest = Manifest {
        version: format!("m{:012x}", version_hash.finish() & 0xffff_ffff_ffff),
        feature_schema_version: FEATURE_SCHEMA_VERSION,
        users: data.users.len(),
        movies: data.movies.len(),
        interactions: data.events.len(),
        train_seconds: fitted.seconds,
        recommender: ManifestFile { path: "recommender.blob".into(), bytes: recommender_blob.len() },
        shard_count,
        profile_shards: profile_files,
        popular: catalog.popular.iter().take(20).map(|&item| catalog.movies[item as usize].movie_id.clone()).collect(),
        params: Some(ManifestFile { path: PARAMS_FILE.into(), bytes: params_json.len() }),
        evaluation,
    };
    // The manifest goes last: a folder with a manifest is complete.
    write_file(&args.out, MANIFEST_FILE, serde_json::to_string_pretty(&manifest)?.as_bytes())?;
    if args.json {
        super::print_json(&manifest)?;
    } else {
        println!(
            "wrote model {} to {}: recommender {} ({} movies), {} profile shards ({} users), trained in {:.1} s",
            manifest.version,
            args.out.display(),
            super::compare::bytes(recommender_blob.len()),
            manifest.movies,
            shard_count,
            manifest.users,
            manifest.train_seconds
        );
    }
    Ok(())
}

/// The held-out figures of these parameters: fitted on the time split's training part and
/// scored on its test part, with `marquee evaluate`'s defaults (k = 20, up to 3,000 users).
fn evaluate(data: &Interactions, params: &HybridParams) -> Result<Evaluation> {
    let started = std::time::Instant::now();
    let split_params = SplitParams { seed: params.seed, ..SplitParams::default() };
    let split = time_split(data, &split_params)?;
    anyhow::ensure!(!split.train.is_empty(), "nothing is left to train on after the evaluation's split");
    let fitted = fit_hybrid(data, &split.train, params)?;
    let served = Hybrid { fitted: &fitted, rerank: *fitted.recommender.rerank_params(), label: "hybrid" };
    let evaluation = EvaluationParams { seed: params.seed, ..EvaluationParams::default() };
    let report = evaluate_model(&served, data, &split, &evaluation);
    Ok(Evaluation {
        split: format!(
            "time split: each user's newest {:.0}% of interactions held out, {:.0}% of users held out entirely",
            split_params.holdout_fraction * 100.0,
            split_params.cold_user_fraction * 100.0
        ),
        k: evaluation.list_length,
        users: report.ranking.users,
        hit_rate: report.ranking.hit_rate,
        ndcg: report.ranking.ndcg,
        mrr: report.ranking.mrr,
        coverage: report.exposure.coverage,
        rated: report.rated,
        rmse: report.rmse,
        mae: report.mae,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Writes through a temporary name and renames, so a crash never leaves half a blob: the
/// bytes are flushed to disk before the rename, and the rename itself (the folder) after,
/// so that after a power cut the name holds either the old file or the whole new one.
fn write_file(dir: &Path, relative: &str, bytes: &[u8]) -> Result<()> {
    use std::io::Write as _;
    let path = dir.join(relative);
    let partial = dir.join(format!("{relative}.partial"));
    let mut file = std::fs::File::create(&partial).with_context(|| format!("writing {}", partial.display()))?;
    file.write_all(bytes).and_then(|()| file.sync_all()).with_context(|| format!("writing {}", partial.display()))?;
    std::fs::rename(&partial, &path).with_context(|| format!("renaming {}", partial.display()))?;
    let folder = path.parent().unwrap_or(dir);
    std::fs::File::open(folder)
        .and_then(|handle| handle.sync_all())
        .with_context(|| format!("syncing {}", folder.display()))?;
    Ok(())
}

//! `marquee compare --data DIR [--test FILE] [--json] [--lightgbm-peer PYTHON]`: the
//! original team's comparison table (accuracy, training cost, inference cost, size) for
//! every model on the same split, and optionally LightGBM's lambdarank as the peer of the
//! hybrid's ranker on the same candidates and features.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use marquee_model::gbdt::FeatureKind;
use marquee_model::recommend::{RerankParams, FEATURE_NAMES};
use marquee_train::evaluate::models::{
    Bpr, CandidateRows, GbdtRatings, Hybrid, ListModel, Neighbours, PeerRanked, Popularity, SeenMovies, Svd,
};
use marquee_train::evaluate::{evaluate_model, EvaluationParams, ModelReport};
use marquee_train::gbdt::Table;
use marquee_train::mf::{BiasedSvdParams, BprParams};
use marquee_train::recommend::{
    fit_hybrid, FittedHybrid, HybridParams, Interactions, NeighbourMethod, NeighbourParams, Split,
};

#[derive(clap::Args)]
pub struct CompareArgs {
    #[command(flatten)]
    pub common: super::evaluate::EvaluateArgs,
    /// Also train LightGBM's lambdarank (bench/peers_lambdarank.py) with this Python, which
    /// must have `lightgbm` (e.g. `.venv/bin/python`), on the hybrid ranker's own training
    /// and validation groups, rank the hybrid's retrieved candidates with it, and evaluate
    /// that next to the hybrid.
    #[arg(long, value_name = "PYTHON")]
    pub lightgbm_peer: Option<PathBuf>,
}

/// Fits every model on `split.train` and evaluates each the same way; also returns the
/// fitted hybrid, for further sweeps.
pub fn compare(
    data: &Interactions,
    split: &Split,
    params: &EvaluationParams,
    seed: u64,
) -> Result<(Vec<ModelReport>, FittedHybrid)> {
    let seen = || SeenMovies::new(data.users.len(), &split.train);
    let mut reports = Vec::new();
    let mut run = |model: &dyn ListModel| {
        tracing::info!("evaluating {}", model.name());
        reports.push(evaluate_model(model, data, split, params));
    };
    run(&Popularity::fit(data, &split.train, seen()));
    let has_ratings = split.train.iter().any(|event| event.rating.is_some());
    if has_ratings {
        run(&Svd::fit(data, &split.train, seen(), BiasedSvdParams { seed, ..BiasedSvdParams::default() })?);
    }
    run(&Bpr::fit(data, &split.train, seen(), BprParams { seed, ..BprParams::default() })?);
    // Both neighbour methods, as the hybrid's lists are fitted (EASE only where it is cheap).
    let neighbours = HybridParams::default().neighbours;
    if neighbours.uses_ease(data.movies.len()) {
        run(&Neighbours::fit(
            data,
            &split.train,
            seen(),
            NeighbourParams { method: NeighbourMethod::Ease, ..neighbours },
        )?);
    }
    run(&Neighbours::fit(
        data,
        &split.train,
        seen(),
        NeighbourParams { method: NeighbourMethod::ItemKnn, ..neighbours },
    )?);
    if has_ratings {
        run(&GbdtRatings::fit(data, &split.train, seen(), GbdtRatings::default_params())?);
    }
    let fitted = fit_hybrid(data, &split.train, &HybridParams { seed, ..HybridParams::default() })?;
    run(&Hybrid { fitted: &fitted, rerank: RerankParams::off(), label: "hybrid (no rerank)" });
    run(&Hybrid { fitted: &fitted, rerank: *fitted.recommender.rerank_params(), label: "hybrid" });
    Ok((reports, fitted))
}

pub fn run(args: CompareArgs) -> Result<()> {
    let peer = args.lightgbm_peer;
    let args = args.common;
    let (data, split) = super::evaluate::load_and_split(&args.data, args.test.as_deref(), args.seed, args.json)?;
    let params = EvaluationParams { list_length: args.k, max_users: args.max_users, seed: args.seed };
    let (mut reports, fitted) = compare(&data, &split, &params, args.seed)?;
    let mut peer_note = None;
    if let Some(python) = peer {
        let (model, note) = lightgbm_peer(&python, &fitted, args.seed)?;
        reports.push(evaluate_model(&model, &data, &split, &params));
        peer_note = Some(note);
    }
    if args.json {
        return super::print_json(&reports);
    }
    print_table(&reports, args.k);
    if let Some(note) = peer_note {
        println!("{note}");
    }
    Ok(())
}

/// Trains LightGBM's lambdarank on the hybrid ranker's tables with `python`, and returns
/// its order of the hybrid's candidates with a line saying how the two rankers were run.
fn lightgbm_peer(python: &Path, fitted: &FittedHybrid, seed: u64) -> Result<(PeerRanked, String)> {
    let folder = tempfile::tempdir().context("making a folder for the peer's tables")?;
    let dir = folder.path();
    let tables = &fitted.ranker_tables;
    write_table(dir, "fit", &tables.fit)?;
    if let Some(valid) = &tables.valid {
        write_table(dir, "valid", valid)?;
    }
    let rows = CandidateRows::new(fitted);
    write_f32(&dir.join("serve_x.f32"), &rows.features)?;
    let ranker = HybridParams::default().ranker;
    let threads = std::thread::available_parallelism().map_or(1, |count| count.get());
    let categorical: Vec<usize> = tables
        .fit
        .schema
        .features
        .iter()
        .enumerate()
        .filter(|(_, feature)| matches!(feature.kind, FeatureKind::Categorical { .. }))
        .map(|(column, _)| column)
        .collect();
    let meta = serde_json::json!({
        "features": FEATURE_NAMES.len(),
        "names": FEATURE_NAMES,
        "categorical": categorical,
        "rounds": ranker.rounds,
        "learning_rate": ranker.learning_rate,
        "max_depth": ranker.max_depth,
        "ndcg_k": ranker.ndcg_k,
        "early_stopping_rounds": ranker.early_stopping_rounds,
        "threads": threads,
        "seed": seed,
    });
    std::fs::write(dir.join("meta.json"), meta.to_string())?;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../bench/peers_lambdarank.py");
    tracing::info!("training LightGBM lambdarank with {}", python.display());
    let output = std::process::Command::new(python)
        .arg(&script)
        .arg(dir)
        .output()
        .with_context(|| format!("running {}", python.display()))?;
    if !output.status.success() {
        bail!("{} {} failed: {}", python.display(), script.display(), String::from_utf8_lossy(&output.stderr));
    }
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).context("reading the peer's JSON report")?;
    let bytes = std::fs::read(dir.join("serve_scores.f32")).context("reading the peer's scores")?;
    let scores: Vec<f32> =
        bytes.chunks_exact(4).map(|word| f32::from_le_bytes([word[0], word[1], word[2], word[3]])).collect();
    let seconds = report["train_seconds"].as_f64().unwrap_or(f64::NAN);
    let model = PeerRanked::new("lightgbm lambdarank".into(), &rows, &scores, seconds)?;
    let note = format!(
        "ranking peer: LightGBM {} lambdarank, {} threads, {} rounds at most (best {}), depth {}, learning rate {}, \
         early-stopped on NDCG@{} of the same {} validation groups; it ranks the hybrid's retrieved candidates \
         with the same {} features and is compared with \"hybrid (no rerank)\" (Marquee's ranker: {:?} chosen on the validation groups, every core \
         = {threads} threads). Train seconds cover only each ranker's fit for the peer, the whole hybrid fit for Marquee.",
        report["version"].as_str().unwrap_or("?"),
        report["threads"],
        ranker.rounds,
        report["best_iteration"],
        ranker.max_depth,
        ranker.learning_rate,
        ranker.ndcg_k,
        tables.valid.as_ref().and_then(|valid| valid.groups.as_ref()).map_or(0, Vec::len),
        FEATURE_NAMES.len(),
        fitted.recommender.ranker().ensemble().objective,
    );
    Ok((model, note))
}

/// One table as the peer script reads it: `{name}_x.f32`, `{name}_y.f32`, `{name}_groups.u32`.
fn write_table(dir: &Path, name: &str, table: &Table) -> Result<()> {
    write_f32(&dir.join(format!("{name}_x.f32")), &table.features)?;
    write_f32(&dir.join(format!("{name}_y.f32")), &table.labels)?;
    let groups = table.groups.as_deref().unwrap_or_default();
    let bytes: Vec<u8> = groups.iter().flat_map(|group| group.to_le_bytes()).collect();
    std::fs::write(dir.join(format!("{name}_groups.u32")), bytes)?;
    Ok(())
}

fn write_f32(path: &Path, values: &[f32]) -> Result<()> {
    let bytes: Vec<u8> = values.iter().flat_map(|value| value.to_le_bytes()).collect();
    std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))
}

/// The comparison as one table. "cold NDCG" is for users with no history, "new HR" the hit
/// rate on held-out interactions with movies nobody interacted with in training, "pop corr"
/// the correlation of exposure with training popularity (the feedback loop).
pub fn print_table(reports: &[ModelReport], k: usize) {
    let optional = |value: Option<f64>| value.map_or_else(|| "-".to_owned(), |value| format!("{value:.4}"));
    println!(
        "{:<20} {:>7} {:>7} {:>7} {:>8} {:>7} {:>7} {:>9} {:>8} {:>8} {:>7} {:>8} {:>8} {:>9} {:>10} {:>10}",
        "model",
        "RMSE",
        "MAE",
        format!("HR@{k}"),
        format!("NDCG@{k}"),
        "MRR",
        format!("P@{k}"),
        "cold NDCG",
        "new HR",
        "coverage",
        "gini",
        "pop corr",
        "train s",
        "µs/user",
        "disk",
        "memory"
    );
    for report in reports {
        println!(
            "{:<20} {:>7} {:>7} {:>7.4} {:>8.4} {:>7.4} {:>7.4} {:>9.4} {:>8.4} {:>8.4} {:>7.4} {:>8.3} {:>8.2} {:>9.0} {:>10} {:>10}",
            report.model,
            optional(report.rmse),
            optional(report.mae),
            report.ranking.hit_rate,
            report.ranking.ndcg,
            report.ranking.mrr,
            report.ranking.precision,
            report.cold_users.ndcg,
            report.cold_movie_hit_rate,
            report.exposure.coverage,
            report.exposure.gini,
            report.exposure.popularity_correlation,
            report.train_seconds,
            report.micros_per_user,
            bytes(report.disk_bytes),
            bytes(report.memory_bytes),
        );
    }
}

/// Bytes in KiB or MiB.
pub fn bytes(count: usize) -> String {
    if count >= 1 << 20 {
        format!("{:.1} MiB", count as f64 / (1 << 20) as f64)
    } else {
        format!("{:.1} KiB", count as f64 / 1024.0)
    }
}

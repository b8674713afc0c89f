//! `marquee compare --data DIR [--test FILE] [--json]`: the original team's comparison
//! table (accuracy, training cost, inference cost, size) for every model on the same split.

use anyhow::Result;
use marquee_model::recommend::RerankParams;
use marquee_train::evaluate::models::{Bpr, GbdtRatings, Hybrid, ListModel, Popularity, SeenMovies, Svd};
use marquee_train::evaluate::{evaluate_model, EvaluationParams, ModelReport};
use marquee_train::mf::{BiasedSvdParams, BprParams};
use marquee_train::recommend::{fit_hybrid, FittedHybrid, HybridParams, Interactions, Split};

#[derive(clap::Args)]
pub struct CompareArgs {
    #[command(flatten)]
    pub common: super::evaluate::EvaluateArgs,
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
    if has_ratings {
        run(&GbdtRatings::fit(data, &split.train, seen(), GbdtRatings::default_params())?);
    }
    let fitted = fit_hybrid(data, &split.train, &HybridParams { seed, ..HybridParams::default() })?;
    run(&Hybrid { fitted: &fitted, rerank: RerankParams::off(), label: "hybrid (no rerank)" });
    run(&Hybrid { fitted: &fitted, rerank: *fitted.recommender.rerank_params(), label: "hybrid" });
    Ok((reports, fitted))
}

pub fn run(args: CompareArgs) -> Result<()> {
    let args = args.common;
    let (data, split) = super::evaluate::load_and_split(&args.data, args.test.as_deref(), args.seed, args.json)?;
    let params = EvaluationParams { list_length: args.k, max_users: args.max_users, seed: args.seed };
    let (reports, _) = compare(&data, &split, &params, args.seed)?;
    if args.json {
        return super::print_json(&reports);
    }
    print_table(&reports, args.k);
    Ok(())
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

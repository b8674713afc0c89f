//! `marquee evaluate --data DIR [--test FILE] [--json]`: the hybrid, as served, on a
//! leak-free split, with every metric overall and per demographic group.

use std::path::PathBuf;

use anyhow::{Context, Result};
use marquee_train::evaluate::{evaluate_model, models::Hybrid, EvaluationParams, ModelReport};
use marquee_train::recommend::{
    fit_hybrid, split_by_test_ratings, time_split, HybridParams, Interactions, Split, SplitParams,
};

#[derive(clap::Args)]
pub struct EvaluateArgs {
    /// The data: an event store, a world folder, a MovieLens folder, a CSV triple, or files
    /// `marquee ingest` reads.
    #[arg(long)]
    pub data: PathBuf,
    /// Held-out ratings (`user_id,movie_id,rating,timestamp`) to score instead of a time
    /// split of `--data`.
    #[arg(long)]
    pub test: Option<PathBuf>,
    /// The list length the @k metrics use.
    #[arg(long, default_value_t = 20)]
    pub k: usize,
    /// The most users whose lists are ranked (a seeded sample beyond it).
    #[arg(long, default_value_t = 3000)]
    pub max_users: usize,
    /// Seeds the split, the fit and the sample.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Print JSON instead of tables.
    #[arg(long)]
    pub json: bool,
}

/// Loads the data and splits it as the arguments say.
pub fn load_and_split(
    data: &std::path::Path,
    test: Option<&std::path::Path>,
    seed: u64,
    quiet: bool,
) -> Result<(Interactions, Split)> {
    let mut interactions = super::load_data::load_interactions(data, quiet)?;
    let split = match test {
        Some(path) => {
            let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
            let (ratings, report) = marquee_data::csv_triple::read_ratings(std::io::BufReader::new(file))?;
            anyhow::ensure!(!ratings.is_empty(), "{} holds no ratings ({})", path.display(), report);
            let test = interactions.index_test_ratings(&ratings)?;
            split_by_test_ratings(&interactions, &test)
        }
        None => time_split(&interactions, &SplitParams { seed, ..SplitParams::default() })?,
    };
    anyhow::ensure!(!split.train.is_empty(), "nothing is left to train on after the split");
    tracing::info!("split: {} training and {} test interactions", split.train.len(), split.test.len());
    Ok((interactions, split))
}

pub fn run(args: EvaluateArgs) -> Result<()> {
    let (data, split) = load_and_split(&args.data, args.test.as_deref(), args.seed, args.json)?;
    let fitted = fit_hybrid(&data, &split.train, &HybridParams { seed: args.seed, ..HybridParams::default() })?;
    let params = EvaluationParams { list_length: args.k, max_users: args.max_users, seed: args.seed };
    let served = Hybrid { fitted: &fitted, rerank: *fitted.recommender.rerank_params(), label: "hybrid" };
    let report = evaluate_model(&served, &data, &split, &params);
    if args.json {
        return super::print_json(&report);
    }
    print_report(&report, args.k);
    Ok(())
}

/// The human-readable form of one model's report.
pub fn print_report(report: &ModelReport, k: usize) {
    let optional = |value: Option<f64>| value.map_or_else(|| "-".to_owned(), |value| format!("{value:.4}"));
    println!("model: {}", report.model);
    println!(
        "rating accuracy on {} held-out ratings: RMSE {}, MAE {}",
        report.rated,
        optional(report.rmse),
        optional(report.mae)
    );
    println!(
        "{:<14} {:>6} {:>8} {:>8} {:>8} {:>8} {:>9} {:>7} {:>8} {:>8} {:>7} {:>7}",
        "users",
        "count",
        format!("HR@{k}"),
        format!("NDCG@{k}"),
        "MRR",
        format!("P@{k}"),
        "coverage",
        "gini",
        "novelty",
        "pop corr",
        "RMSE",
        "MAE"
    );
    let row = |name: &str,
               ranking: &marquee_train::evaluate::RankingMetrics,
               exposure: Option<&marquee_train::evaluate::ExposureMetrics>,
               rmse: Option<f64>,
               mae: Option<f64>| {
        let (coverage, gini, novelty, correlation) =
            exposure.map_or(("-".into(), "-".into(), "-".into(), "-".into()), |e| {
                (
                    format!("{:.4}", e.coverage),
                    format!("{:.4}", e.gini),
                    format!("{:.2}", e.novelty),
                    format!("{:.3}", e.popularity_correlation),
                )
            });
        println!(
            "{:<14} {:>6} {:>8.4} {:>8.4} {:>8.4} {:>8.4} {:>9} {:>7} {:>8} {:>8} {:>7} {:>7}",
            name,
            ranking.users,
            ranking.hit_rate,
            ranking.ndcg,
            ranking.mrr,
            ranking.precision,
            coverage,
            gini,
            novelty,
            correlation,
            rmse.map_or("-".into(), |v| format!("{v:.4}")),
            mae.map_or("-".into(), |v| format!("{v:.4}")),
        );
    };
    row("all", &report.ranking, Some(&report.exposure), report.rmse, report.mae);
    row("with history", &report.warm_users, None, None, None);
    row("no history", &report.cold_users, None, None, None);
    for group in &report.groups {
        row(&group.group, &group.ranking, Some(&group.exposure), group.rmse, group.mae);
    }
    println!(
        "movies with no training interactions: {} relevant held-out interactions, hit rate {:.4}",
        report.cold_movie_interactions, report.cold_movie_hit_rate
    );
    println!(
        "cost: trained in {:.2} s; {:.0} µs per user for a list of {k}; {} bytes on disk, {} bytes in memory",
        report.train_seconds, report.micros_per_user, report.disk_bytes, report.memory_bytes
    );
}

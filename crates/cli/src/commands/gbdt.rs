//! `marquee gbdt train | predict | eval`: the tree engine on any CSV table.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use marquee_model::gbdt::{Ensemble, Objective, Predictor};
use marquee_train::batch_predict::BatchPredictor;
use marquee_train::csv_table::{read_features_csv, read_training_csv, CsvRoles, CsvTable};
use marquee_train::gbdt::{evaluate, train, Metric, Table, TrainParams};
use marquee_train::Validate;
use serde::Serialize;

/// The generic tree-engine commands.
#[derive(clap::Subcommand)]
pub enum GbdtCommand {
    /// Train a model on a CSV table and write it as a Marquee blob.
    Train(TrainArgs),
    /// Write one prediction per line for every row of a CSV table.
    Predict(PredictArgs),
    /// Print a model's metrics on a labelled CSV table.
    Eval(EvalArgs),
}

#[derive(clap::Args)]
pub struct TrainArgs {
    /// The training table (CSV with a header row).
    #[arg(long)]
    csv: PathBuf,
    /// The label column.
    #[arg(long)]
    target: String,
    /// The learning objective.
    #[arg(long, default_value = "reg:squarederror", value_parser = parse_objective)]
    objective: Objective,
    /// The query-group column (required for rank objectives; a group's rows must be consecutive).
    #[arg(long)]
    group: Option<String>,
    /// Integer-coded columns to treat as categorical (comma-separated).
    #[arg(long, value_delimiter = ',')]
    categorical: Vec<String>,
    /// Boosting rounds (trees).
    #[arg(long, default_value_t = TrainParams::default().rounds)]
    rounds: u32,
    /// Maximum tree depth.
    #[arg(long, default_value_t = TrainParams::default().max_depth)]
    max_depth: u32,
    /// Maximum leaves per tree; when set, trees grow loss-guided (best split first).
    #[arg(long, default_value_t = TrainParams::default().max_leaves)]
    max_leaves: u32,
    /// Shrinkage applied to every tree (XGBoost's eta).
    #[arg(long, default_value_t = TrainParams::default().learning_rate)]
    learning_rate: f32,
    /// Histogram bins per feature.
    #[arg(long, default_value_t = TrainParams::default().max_bin)]
    max_bin: u32,
    /// L2 regularisation of leaf weights.
    #[arg(long, default_value_t = TrainParams::default().lambda)]
    lambda: f32,
    /// L1 regularisation of leaf weights.
    #[arg(long, default_value_t = TrainParams::default().alpha)]
    alpha: f32,
    /// Minimum hessian sum in a child.
    #[arg(long, default_value_t = TrainParams::default().min_child_weight)]
    min_child_weight: f32,
    /// Minimum loss reduction to make a split.
    #[arg(long, default_value_t = TrainParams::default().gamma)]
    gamma: f32,
    /// Share of rows each tree sees.
    #[arg(long, default_value_t = TrainParams::default().subsample)]
    subsample: f32,
    /// Share of columns each tree sees.
    #[arg(long, default_value_t = TrainParams::default().colsample)]
    colsample: f32,
    /// Worker threads (0 = all cores).
    #[arg(long, default_value_t = TrainParams::default().threads)]
    threads: usize,
    /// Seed for subsampling.
    #[arg(long, default_value_t = TrainParams::default().seed)]
    seed: u64,
    /// A validation table with the same columns, for early stopping.
    #[arg(long)]
    valid: Option<PathBuf>,
    /// Stop after this many rounds without improvement on --valid.
    #[arg(long, requires = "valid")]
    early_stopping: Option<u32>,
    /// The metric early stopping watches: rmse, logloss, auc or ndcg@K.
    #[arg(long, value_parser = parse_metric)]
    eval_metric: Option<Metric>,
    /// Also score the training table every round (costs a pass over it per round).
    #[arg(long)]
    eval_train: bool,
    /// Where to write the model blob.
    #[arg(long)]
    out: PathBuf,
    /// Print the training summary as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args)]
pub struct PredictArgs {
    /// The model blob.
    #[arg(long)]
    model: PathBuf,
    /// The table to score (its columns are found by the model's feature names).
    #[arg(long)]
    csv: PathBuf,
}

#[derive(clap::Args)]
pub struct EvalArgs {
    /// The model blob.
    #[arg(long)]
    model: PathBuf,
    /// A labelled table.
    #[arg(long)]
    csv: PathBuf,
    /// The label column.
    #[arg(long)]
    target: String,
    /// The query-group column, for ranking metrics.
    #[arg(long)]
    group: Option<String>,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

pub fn run(command: GbdtCommand) -> Result<()> {
    match command {
        GbdtCommand::Train(args) => run_train(args),
        GbdtCommand::Predict(args) => run_predict(args),
        GbdtCommand::Eval(args) => run_eval(args),
    }
}

fn parse_objective(text: &str) -> Result<Objective, String> {
    match text {
        "reg:squarederror" => Ok(Objective::SquaredError),
        "binary:logistic" => Ok(Objective::Logistic),
        "rank:pairwise" => Ok(Objective::RankPairwise),
        "rank:ndcg" => Ok(Objective::RankNdcg),
        other => Err(format!(
            "unknown objective {other:?}: use reg:squarederror, binary:logistic, rank:pairwise or rank:ndcg"
        )),
    }
}

fn parse_metric(text: &str) -> Result<Metric, String> {
    text.parse::<Metric>().map_err(|error| error.to_string())
}

fn into_table(csv: CsvTable) -> Result<Table> {
    let labels = csv.target.context("the table has no target column")?;
    Ok(Table::new(csv.schema, csv.features, labels, csv.groups)?)
}

#[derive(Serialize)]
struct TrainSummary {
    rows: usize,
    features: usize,
    trees: usize,
    best_round: Option<usize>,
    seconds: f64,
    blob_bytes: usize,
    final_metrics: Option<marquee_train::gbdt::RoundMetrics>,
    importance: Vec<(String, f32)>,
}

fn run_train(args: TrainArgs) -> Result<()> {
    let roles = CsvRoles { target: Some(&args.target), group: args.group.as_deref(), categorical: &args.categorical };
    let train_table = into_table(read_training_csv(&args.csv, &roles)?)?;
    let valid_table = match &args.valid {
        Some(path) => Some(into_table(read_features_csv(path, &train_table.schema, &roles)?)?),
        None => None,
    };
    let params = TrainParams {
        objective: args.objective,
        rounds: args.rounds,
        learning_rate: args.learning_rate,
        max_depth: args.max_depth,
        max_leaves: args.max_leaves,
        lambda: args.lambda,
        alpha: args.alpha,
        min_child_weight: args.min_child_weight,
        gamma: args.gamma,
        subsample: args.subsample,
        colsample: args.colsample,
        max_bin: args.max_bin,
        threads: args.threads,
        seed: args.seed,
        early_stopping_rounds: args.early_stopping,
        eval_metric: args.eval_metric,
        eval_train: args.eval_train,
        ..TrainParams::default()
    }
    .validate()?;
    let bar = crate::progress::bar(u64::from(args.rounds), "rounds", args.json);
    let started = std::time::Instant::now();
    let output =
        train(&train_table, valid_table.as_ref(), &params, &mut |round, _| bar.set_position(round as u64 + 1))?;
    bar.finish_and_clear();
    let seconds = started.elapsed().as_secs_f64();
    let blob = output.ensemble.to_blob()?;
    write_file(&args.out, &blob)?;
    let names = output.ensemble.schema.features.iter().map(|feature| feature.name.clone());
    let mut importance: Vec<(String, f32)> = names.zip(output.importance.gain.iter().copied()).collect();
    importance.sort_by(|a, b| b.1.total_cmp(&a.1));
    let summary = TrainSummary {
        rows: train_table.rows(),
        features: train_table.schema.len(),
        trees: output.ensemble.trees.len(),
        best_round: output.best_round,
        seconds,
        blob_bytes: blob.len(),
        final_metrics: output.history.last().cloned(),
        importance,
    };
    if args.json {
        return super::print_json(&summary);
    }
    println!(
        "trained {} trees on {} rows × {} features in {:.2}s; wrote {} ({} bytes)",
        summary.trees,
        summary.rows,
        summary.features,
        seconds,
        args.out.display(),
        summary.blob_bytes
    );
    if let Some(metrics) = &summary.final_metrics {
        println!("last round: {metrics:?}");
    }
    println!("feature importance (total gain):");
    for (name, gain) in summary.importance.iter().take(10) {
        println!("  {name:<24} {gain:.3}");
    }
    Ok(())
}

fn load_model(path: &Path) -> Result<Predictor> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let ensemble =
        Ensemble::from_blob(&bytes).with_context(|| format!("{} is not a valid Marquee model", path.display()))?;
    Ok(Predictor::new(ensemble)?)
}

fn run_predict(args: PredictArgs) -> Result<()> {
    let predictor = load_model(&args.model)?;
    let table = read_features_csv(&args.csv, predictor.schema(), &CsvRoles::default())?;
    let mut predictions = vec![0.0; table.rows];
    BatchPredictor::new(predictor).predict_batch_parallel(&table.features, &mut predictions)?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    for prediction in predictions {
        writeln!(out, "{prediction}")?;
    }
    out.flush()?;
    Ok(())
}

fn run_eval(args: EvalArgs) -> Result<()> {
    let predictor = load_model(&args.model)?;
    let roles = CsvRoles { target: Some(&args.target), group: args.group.as_deref(), ..CsvRoles::default() };
    let table = into_table(read_features_csv(&args.csv, predictor.schema(), &roles)?)?;
    let mut predictions = vec![0.0; table.rows()];
    let objective = predictor.objective();
    BatchPredictor::new(predictor).predict_batch_parallel(&table.features, &mut predictions)?;
    let metrics: Vec<Metric> = match objective {
        Objective::SquaredError => vec![Metric::Rmse],
        Objective::Logistic => vec![Metric::LogLoss, Metric::Auc],
        Objective::RankPairwise | Objective::RankNdcg => {
            if table.groups.is_none() {
                bail!("ranking models are evaluated per query group: pass --group");
            }
            vec![Metric::Ndcg(10), Metric::Ndcg(20)]
        }
    };
    let mut results = serde_json::Map::new();
    for metric in metrics {
        results.insert(metric.to_string(), serde_json::json!(evaluate(metric, &predictions, &table)?));
    }
    if args.json {
        return super::print_json(&results);
    }
    for (name, value) in &results {
        println!("{name:<10} {value}");
    }
    Ok(())
}

/// Writes a file whole, creating its folder.
pub fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(parent) = path.parent().filter(|parent| !parent.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    }
    std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))
}

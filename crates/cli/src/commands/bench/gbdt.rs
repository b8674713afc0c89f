//! `marquee bench gbdt`: Marquee's tree engine against XGBoost and LightGBM on the same data
//! and parameters (200 trees, depth 6, learning rate 0.1, 256 bins, 2 threads), measured in
//! the same run: accuracy, training time, inference time (native and wasm) and model size.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result};
use marquee_data::world::{World, WorldConfig};
use marquee_model::gbdt::{FeatureSchema, Objective, Predictor};
use marquee_model::random::SplitMix64;
use marquee_train::batch_predict::predict_batch_parallel;
use marquee_train::gbdt::{evaluate, train, Metric, Table, TrainParams};
use marquee_train::rating_features::{rating_table, CategoryEncoding};
use marquee_train::Validate;
use serde::Serialize;
use serde_json::Value;

const ROUNDS: u32 = 200;
const DEPTH: u32 = 6;
const LEARNING_RATE: f32 = 0.1;
const BINS: u32 = 256;

#[derive(clap::Args)]
pub struct BenchGbdtArgs {
    /// Rows of the large synthetic tables (training; a tenth more for testing).
    #[arg(long, default_value_t = 1_000_000)]
    rows: usize,
    /// Threads for every engine.
    #[arg(long, default_value_t = 2)]
    threads: usize,
    /// Skip XGBoost and LightGBM (their figures are then absent).
    #[arg(long)]
    no_peers: bool,
    /// Keep the tables handed to the peers (raw f32, see bench/peers_gbdt.py) in this folder.
    #[arg(long)]
    keep_data: Option<PathBuf>,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// One benchmark table, split into train and test.
struct Dataset {
    name: String,
    objective: Objective,
    train: Table,
    test: Table,
}

#[derive(Serialize)]
struct DatasetFigures {
    dataset: String,
    objective: String,
    train_rows: usize,
    test_rows: usize,
    features: usize,
    marquee: EngineFigures,
    /// The peers' own figures as their script printed them, or why they are missing.
    peers: Value,
    /// Marquee relative to XGBoost, each with its goal.
    versus_xgboost: Option<Ratios>,
}

#[derive(Serialize)]
struct EngineFigures {
    train_seconds: f64,
    metrics: serde_json::Map<String, Value>,
    ns_per_row_batch1: f64,
    /// Batches of 1,000 rows shared over `--threads` threads, as XGBoost's nthread does.
    ns_per_row_batch1000: f64,
    /// Batches of 1,000 rows on one thread (what the Worker and the browser get).
    ns_per_row_batch1000_one_thread: f64,
    wasm: Value,
    model_bytes: usize,
}

#[derive(Serialize)]
struct Ratios {
    /// (Marquee − XGBoost) / XGBoost of the main metric (RMSE, or AUC for logistic); goal within ±0.5%.
    accuracy_relative_difference: f64,
    /// Marquee's training time / XGBoost's; must be ≤ 1.0, goal 0.5.
    train_time_ratio: f64,
    /// XGBoost's ns/row / Marquee's at batch 1.
    inference_speedup_batch1: f64,
    /// XGBoost's ns/row / Marquee's at batch 1000; goal ≥ 3.
    inference_speedup_batch1000: f64,
    /// Marquee's wasm ns/row / native on one thread at batch 1000; goal ≤ 2.
    wasm_over_native_batch1000: Option<f64>,
    /// Marquee's blob bytes / XGBoost's UBJSON bytes; goal ≤ 0.33.
    size_ratio: f64,
}

pub fn run(args: BenchGbdtArgs) -> Result<()> {
    let root = super::workspace_root();
    let scratch = tempfile::tempdir()?;
    let data_root = args.keep_data.clone().unwrap_or_else(|| scratch.path().to_path_buf());
    let mut results = Vec::new();
    for dataset in datasets(args.rows)? {
        tracing::info!(dataset = %dataset.name, rows = dataset.train.rows(), "benchmarking");
        let folder = data_root.join(dataset.name.replace(' ', "_"));
        std::fs::create_dir_all(&folder)?;
        let marquee = run_marquee(&dataset, args.threads, &root, &folder)?;
        let peers = if args.no_peers {
            Value::String("skipped (--no-peers)".into())
        } else {
            run_peers(&dataset, args.threads, &root, &folder)
        };
        let versus_xgboost = ratios(&dataset, &marquee, &peers);
        results.push(DatasetFigures {
            dataset: dataset.name.clone(),
            objective: format!("{:?}", dataset.objective),
            train_rows: dataset.train.rows(),
            test_rows: dataset.test.rows(),
            features: dataset.train.schema.len(),
            marquee,
            peers,
            versus_xgboost,
        });
    }
    if args.json {
        return super::super::print_json(&results);
    }
    for figures in &results {
        print_figures(figures);
    }
    Ok(())
}

fn params(objective: Objective, threads: usize) -> Result<marquee_train::gbdt::ValidParams> {
    Ok(TrainParams {
        objective,
        rounds: ROUNDS,
        max_depth: DEPTH,
        learning_rate: LEARNING_RATE,
        max_bin: BINS,
        threads,
        ..TrainParams::default()
    }
    .validate()?)
}

fn run_marquee(dataset: &Dataset, threads: usize, root: &Path, folder: &Path) -> Result<EngineFigures> {
    let params = params(dataset.objective, threads)?;
    let started = Instant::now();
    let output = train(&dataset.train, None, &params, &mut |_, _| {})?;
    let train_seconds = started.elapsed().as_secs_f64();
    let blob = output.ensemble.to_blob()?;
    let predictor = Predictor::new(output.ensemble)?;
    let mut predictions = vec![0.0; dataset.test.rows()];
    predictor.predict_batch(&dataset.test.features, &mut predictions)?;
    let mut metrics = serde_json::Map::new();
    let wanted: &[Metric] = if dataset.objective == Objective::Logistic {
        &[Metric::Rmse, Metric::LogLoss, Metric::Auc]
    } else {
        &[Metric::Rmse]
    };
    for &metric in wanted {
        metrics.insert(metric.to_string(), serde_json::json!(evaluate(metric, &predictions, &dataset.test)?));
    }
    let (ns_per_row_batch1, ns_per_row_batch1000_one_thread) = time_native(&predictor, &dataset.test)?;
    let ns_per_row_batch1000 = time_native_threaded(&predictor, &dataset.test, threads)?;
    let wasm = time_wasm(root, folder, &blob, &dataset.test);
    Ok(EngineFigures {
        train_seconds,
        metrics,
        ns_per_row_batch1,
        ns_per_row_batch1000,
        ns_per_row_batch1000_one_thread,
        wasm,
        model_bytes: blob.len(),
    })
}

/// ns per row for 1,000 single-row calls, and for batches of 1,000 rows repeated.
fn time_native(predictor: &Predictor, test: &Table) -> Result<(f64, f64)> {
    let width = test.schema.len();
    let rows = test.rows().min(1000);
    let sample = &test.features[..rows * width];
    let mut sink = 0.0f32;
    let started = Instant::now();
    for row in sample.chunks(width) {
        sink += predictor.predict(std::hint::black_box(row))?;
    }
    let batch1 = started.elapsed().as_nanos() as f64 / rows as f64;
    let mut out = vec![0.0; rows];
    let repeats = 50;
    let started = Instant::now();
    for _ in 0..repeats {
        predictor.predict_batch(std::hint::black_box(sample), &mut out)?;
        sink += out[0];
    }
    let batch1000 = started.elapsed().as_nanos() as f64 / (repeats * rows) as f64;
    std::hint::black_box(sink);
    Ok((batch1, batch1000))
}

/// ns per row for batches of 1,000 rows shared over `threads` threads.
fn time_native_threaded(predictor: &Predictor, test: &Table, threads: usize) -> Result<f64> {
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build()?;
    let width = test.schema.len();
    let rows = test.rows().min(1000);
    let sample = &test.features[..rows * width];
    let mut out = vec![0.0; rows];
    let repeats = 50;
    pool.install(|| -> Result<f64> {
        predict_batch_parallel(predictor, sample, &mut out)?; // warm the pool's threads
        let started = Instant::now();
        for _ in 0..repeats {
            predict_batch_parallel(predictor, std::hint::black_box(sample), &mut out)?;
        }
        std::hint::black_box(&out);
        Ok(started.elapsed().as_nanos() as f64 / (repeats * rows) as f64)
    })
}

/// The same blob scored by the Worker's wasm build in Node.
fn time_wasm(root: &Path, folder: &Path, blob: &[u8], test: &Table) -> Value {
    let glue = root.join("worker/pkg/marquee_worker.js");
    if !glue.exists() {
        return Value::String("worker/pkg is not built: run `cargo xtask test` (or `cargo xtask demo`) first".into());
    }
    let run = || -> Result<Value> {
        let blob_path = folder.join("model.blob");
        let rows_path = folder.join("wasm_rows.f32");
        std::fs::write(&blob_path, blob)?;
        let rows = test.rows().min(1000) * test.schema.len();
        std::fs::write(&rows_path, f32_bytes(&test.features[..rows]))?;
        let output = Command::new("node")
            .arg(root.join("bench/wasm_predict.mjs"))
            .arg(&blob_path)
            .arg(&rows_path)
            .arg(test.schema.len().to_string())
            .output()
            .context("running node")?;
        anyhow::ensure!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        Ok(serde_json::from_slice(&output.stdout)?)
    };
    run().unwrap_or_else(|error| Value::String(format!("wasm timing failed: {error:#}")))
}

fn run_peers(dataset: &Dataset, threads: usize, root: &Path, folder: &Path) -> Value {
    let python = root.join(".venv/bin/python");
    if !python.exists() {
        return Value::String(
            "no .venv with the peers: run `cargo xtask peers` (creates .venv with xgboost and lightgbm)".into(),
        );
    }
    let run = || -> Result<Value> {
        std::fs::write(
            folder.join("meta.json"),
            serde_json::json!({ "features": dataset.train.schema.len() }).to_string(),
        )?;
        for (split, table) in [("train", &dataset.train), ("test", &dataset.test)] {
            std::fs::write(folder.join(format!("{split}_x.f32")), f32_bytes(&table.features))?;
            std::fs::write(folder.join(format!("{split}_y.f32")), f32_bytes(&table.labels))?;
        }
        let objective = match dataset.objective {
            Objective::Logistic => "binary:logistic",
            _ => "reg:squarederror",
        };
        let output = Command::new(&python)
            .arg(root.join("bench/peers_gbdt.py"))
            .arg(folder)
            .arg(objective)
            .arg(threads.to_string())
            .output()
            .context("running the peers' script")?;
        anyhow::ensure!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        Ok(serde_json::from_slice(&output.stdout)?)
    };
    run().unwrap_or_else(|error| Value::String(format!("the peers failed: {error:#}")))
}

fn f32_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|value| value.to_le_bytes()).collect()
}

fn ratios(dataset: &Dataset, marquee: &EngineFigures, peers: &Value) -> Option<Ratios> {
    let xgboost = peers.get("xgboost")?;
    let number = |value: &Value, key: &str| value.get(key).and_then(Value::as_f64);
    let main_metric = if dataset.objective == Objective::Logistic { "auc" } else { "rmse" };
    let ours = marquee.metrics.get(main_metric).and_then(Value::as_f64)?;
    let theirs = xgboost.get("metrics").and_then(|metrics| number(metrics, main_metric))?;
    let wasm_1000 = number(&marquee.wasm, "ns_per_row_batch1000");
    Some(Ratios {
        accuracy_relative_difference: (ours - theirs) / theirs,
        train_time_ratio: marquee.train_seconds / number(xgboost, "train_seconds")?,
        inference_speedup_batch1: number(xgboost, "ns_per_row_batch1")? / marquee.ns_per_row_batch1,
        inference_speedup_batch1000: number(xgboost, "ns_per_row_batch1000")? / marquee.ns_per_row_batch1000,
        wasm_over_native_batch1000: wasm_1000.map(|wasm| wasm / marquee.ns_per_row_batch1000_one_thread),
        size_ratio: marquee.model_bytes as f64 / number(xgboost, "model_bytes")?,
    })
}

fn print_figures(figures: &DatasetFigures) {
    println!(
        "\n== {} ({}; {} train / {} test rows × {} features)",
        figures.dataset, figures.objective, figures.train_rows, figures.test_rows, figures.features
    );
    let ours = &figures.marquee;
    let wasm = |key: &str| ours.wasm.get(key).and_then(Value::as_f64).map_or("-".to_owned(), |ns| format!("{ns:.0}"));
    println!(
        "{:<10} {:>9} {:>28} {:>11} {:>11} {:>11} {:>11} {:>10}",
        "engine", "train s", "metrics", "ns/row b1", "ns/row b1k", "wasm b1", "wasm b1k", "bytes"
    );
    let metrics = |map: &serde_json::Map<String, Value>| {
        map.iter()
            .map(|(name, value)| format!("{name} {:.4}", value.as_f64().unwrap_or(f64::NAN)))
            .collect::<Vec<_>>()
            .join(" ")
    };
    println!(
        "{:<10} {:>9.2} {:>28} {:>11.0} {:>11.0} {:>11} {:>11} {:>10}",
        "marquee",
        ours.train_seconds,
        metrics(&ours.metrics),
        ours.ns_per_row_batch1,
        ours.ns_per_row_batch1000,
        wasm("ns_per_row_batch1"),
        wasm("ns_per_row_batch1000"),
        ours.model_bytes
    );
    match &figures.peers {
        Value::Object(peers) => {
            for (name, peer) in peers {
                if let Some(missing) = peer.get("missing").and_then(Value::as_str) {
                    println!("{name:<10} {missing}");
                    continue;
                }
                let number = |key: &str| peer.get(key).and_then(Value::as_f64).unwrap_or(f64::NAN);
                let peer_metrics = peer.get("metrics").and_then(Value::as_object).map(metrics).unwrap_or_default();
                println!(
                    "{:<10} {:>9.2} {:>28} {:>11.0} {:>11.0} {:>11} {:>11} {:>10}",
                    name,
                    number("train_seconds"),
                    peer_metrics,
                    number("ns_per_row_batch1"),
                    number("ns_per_row_batch1000"),
                    "",
                    "",
                    number("model_bytes")
                );
            }
        }
        other => println!("peers: {}", other.as_str().unwrap_or("unavailable")),
    }
    println!(
        "(marquee's b1k is shared over the threads, like XGBoost's nthread; on one thread it is {:.0} ns/row)",
        ours.ns_per_row_batch1000_one_thread
    );
    if let Some(ratios) = &figures.versus_xgboost {
        println!(
            "vs XGBoost: accuracy {:+.2}% (goal within ±0.5%), train time ×{:.2} (must be ≤ 1.0, goal 0.5), \
             inference {:.1}× faster at batch 1 and {:.1}× at batch 1000 (goal ≥ 3), wasm/native {} (goal ≤ 2), size ×{:.2} (goal ≤ 0.33)",
            ratios.accuracy_relative_difference * 100.0,
            ratios.train_time_ratio,
            ratios.inference_speedup_batch1,
            ratios.inference_speedup_batch1000,
            ratios.wasm_over_native_batch1000.map_or("-".to_owned(), |ratio| format!("{ratio:.2}")),
            ratios.size_ratio
        );
    }
}

/// The world's ratings with demographic and metadata features, plus two large synthetic
/// tables (regression and logistic).
fn datasets(rows: usize) -> Result<Vec<Dataset>> {
    let mut datasets = vec![world_ratings()?];
    for objective in [Objective::SquaredError, Objective::Logistic] {
        let (train, test) = (synthetic(rows, objective, 1)?, synthetic(rows / 10, objective, 2)?);
        let name = format!("synthetic {}", if objective == Objective::Logistic { "logistic" } else { "regression" });
        datasets.push(Dataset { name, objective, train, test });
    }
    Ok(datasets)
}

fn world_ratings() -> Result<Dataset> {
    let world = World::generate(WorldConfig::default())?;
    let mut ratings = Vec::new();
    world.simulate(|_| {}, |rating| ratings.push(rating.clone()), |_| {});
    // Codes, not categorical features: XGBoost and LightGBM get the same numeric inputs.
    let table = rating_table(&world.users, &world.movies, &ratings, CategoryEncoding::Codes);
    // A deterministic 80/20 split by row hash, so every engine sees the same rows.
    let width = table.schema.len();
    let (mut train, mut test) = ((Vec::new(), Vec::new()), (Vec::new(), Vec::new()));
    for (index, (row, &label)) in table.features.chunks(width).zip(&table.labels).enumerate() {
        let side = if SplitMix64::new(index as u64).next_u64().is_multiple_of(5) { &mut test } else { &mut train };
        side.0.extend_from_slice(row);
        side.1.push(label);
    }
    Ok(Dataset {
        name: "world ratings".into(),
        objective: Objective::SquaredError,
        train: Table::new(table.schema.clone(), train.0, train.1, None)?,
        test: Table::new(table.schema, test.0, test.1, None)?,
    })
}

/// A table with 20 features (some missing, interactions, noise) from a fixed seed.
fn synthetic(rows: usize, objective: Objective, seed: u64) -> Result<Table> {
    const FEATURES: usize = 20;
    let mut random = SplitMix64::new(seed);
    let mut uniform = || random.unit();
    let mut features = Vec::with_capacity(rows * FEATURES);
    let mut labels = Vec::with_capacity(rows);
    let mut row = [0f32; FEATURES];
    for _ in 0..rows {
        for value in &mut row {
            *value = (uniform() * 2.0 - 1.0) as f32;
        }
        let signal = 2.0 * f64::from(row[0]) + (3.0 * f64::from(row[1])).sin() + f64::from(row[2] * row[3]) * 1.5
            - f64::from(row[4]).abs()
            + if row[5] > 0.3 { 1.0 } else { -0.5 }
            + 0.5 * f64::from(row[6]) * f64::from(row[7]);
        let noise = (uniform() + uniform() + uniform() - 1.5) * 0.8;
        if uniform() < 0.05 {
            row[8] = f32::NAN;
        }
        features.extend_from_slice(&row);
        labels.push(match objective {
            Objective::Logistic => f32::from(u8::from(signal + noise > 0.3)),
            _ => (signal + noise) as f32,
        });
    }
    let schema = FeatureSchema::numeric((0..FEATURES).map(|index| format!("x{index}")));
    Ok(Table::new(schema, features, labels, None)?)
}

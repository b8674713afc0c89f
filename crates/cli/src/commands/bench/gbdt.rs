//! `marquee bench gbdt`: Marquee's tree engine against XGBoost and LightGBM on the same data
//! and parameters (200 trees, depth 6, learning rate 0.1, 256 bins, 2 threads), measured in
//! the same run: accuracy, training time, inference time (native and wasm) and model size.
//!
//! Inference is timed in this process for every engine, with the same loop and clock: Marquee
//! through its native [`BatchPredictor`] (sixteen rows per instruction with AVX-512 where the
//! CPU has it) and its portable `Predictor` (the code the Worker and the browser run), the
//! peers through their C APIs ([`super::peer_capi`], the venv's own libxgboost.so and
//! lib_lightgbm.so), so no figure includes a Python call. Batch 1 runs on one thread; batch
//! 1000 on `--threads` and on one thread; each figure says which.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result};
use marquee_data::world::{World, WorldConfig};
use marquee_model::gbdt::{FeatureSchema, Objective, Predictor};
use marquee_model::random::SplitMix64;
use marquee_train::batch_predict::BatchPredictor;
use marquee_train::gbdt::{evaluate, train, Metric, Table, TrainParams};
use marquee_train::rating_features::{rating_table, CategoryEncoding};
use marquee_train::Validate;
use serde::Serialize;
use serde_json::Value;

use super::peer_capi::{array_interface, Lightgbm, Xgboost};

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
    /// A MovieLens folder (the CSV triple `get-movielens.sh` writes, or `u.data`, `u.user`,
    /// `u.item`): adds its ratings with the same demographic and metadata features as the
    /// world's, split 80/20 by row.
    #[arg(long)]
    movielens: Option<PathBuf>,
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
    /// Threads the training used (`--threads`).
    train_threads: usize,
    metrics: serde_json::Map<String, Value>,
    /// One row per call, on one thread.
    ns_per_row_batch1: f64,
    /// Batches of 1,000 rows shared over `--threads` threads, as XGBoost's nthread does.
    ns_per_row_batch1000: f64,
    /// Batches of 1,000 rows on one thread.
    ns_per_row_batch1000_one_thread: f64,
    /// Batches of 1,000 rows on one thread through the model crate's portable batch walk:
    /// the code the Worker and the browser run, compiled natively.
    ns_per_row_batch1000_portable_one_thread: f64,
    /// The loop that scored the native batches (see [`BatchPredictor::engine`]).
    batch_engine: String,
    /// The Worker's wasm build in Node, one thread.
    wasm: Value,
    model_bytes: usize,
}

/// A peer's inference timed through its C API, with the same loops as Marquee's.
#[derive(Serialize)]
struct PeerInference {
    /// One row per call, on one thread.
    ns_per_row_batch1: f64,
    /// Batches of 1,000 rows on `--threads` threads.
    ns_per_row_batch1000: f64,
    /// Batches of 1,000 rows on one thread.
    ns_per_row_batch1000_one_thread: f64,
    /// The largest difference between the C API's predictions and the peer's own Python
    /// predictions on the timed rows: shows the calls compute what the peer does.
    max_abs_difference_from_python: f64,
    /// What each call is.
    api: &'static str,
}

#[derive(Serialize)]
struct Ratios {
    /// (Marquee − XGBoost) / XGBoost of the main metric (RMSE, or AUC for logistic); goal within ±0.5%.
    accuracy_relative_difference: f64,
    /// Marquee's training time / XGBoost's; must be ≤ 1.0, goal 0.5.
    train_time_ratio: f64,
    /// XGBoost's ns/row / Marquee's at batch 1, both on one thread through native calls.
    inference_speedup_batch1: f64,
    /// XGBoost's ns/row / Marquee's at batch 1000, both on `--threads` threads; goal ≥ 3.
    inference_speedup_batch1000: f64,
    /// The same at batch 1000 with both on one thread.
    inference_speedup_batch1000_one_thread: f64,
    /// LightGBM's ns/row / Marquee's at batch 1 (one thread each), when LightGBM ran.
    lightgbm_speedup_batch1: Option<f64>,
    /// Marquee's wasm ns/row / native on one thread at batch 1000, the same portable code on
    /// both sides; goal ≤ 1.5.
    wasm_over_native_batch1000: Option<f64>,
    /// Marquee's wasm ns/row / its fastest native batch loop on one thread at batch 1000.
    wasm_over_fastest_native_batch1000: Option<f64>,
    /// Marquee's blob bytes / XGBoost's UBJSON bytes as `save_model` writes them, training-only
    /// per-tree fields included; goal ≤ 0.33.
    size_ratio: f64,
    /// Marquee's blob bytes / XGBoost's UBJSON with the per-tree fields prediction and
    /// TreeSHAP do not read removed (split gains, node weights, parent links).
    size_ratio_stripped: f64,
}

pub fn run(args: BenchGbdtArgs) -> Result<()> {
    let root = super::workspace_root();
    let scratch = tempfile::tempdir()?;
    let data_root = args.keep_data.clone().unwrap_or_else(|| scratch.path().to_path_buf());
    let mut results = Vec::new();
    for dataset in datasets(args.rows, args.movielens.as_deref())? {
        tracing::info!(dataset = %dataset.name, rows = dataset.train.rows(), "benchmarking");
        let folder = data_root.join(dataset.name.replace(' ', "_"));
        std::fs::create_dir_all(&folder)?;
        let marquee = run_marquee(&dataset, args.threads, &root, &folder)?;
        let peers = if args.no_peers {
            Value::String("skipped (--no-peers)".into())
        } else {
            let mut peers = run_peers(&dataset, args.threads, &root, &folder);
            time_peers(&mut peers, &dataset.test, args.threads);
            peers
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
    let (ns_per_row_batch1, ns_per_row_batch1000_portable_one_thread) = time_native(&predictor, &dataset.test)?;
    let batch = BatchPredictor::new(predictor);
    let ns_per_row_batch1000_one_thread = time_native_threaded(&batch, &dataset.test, 1)?;
    let ns_per_row_batch1000 = time_native_threaded(&batch, &dataset.test, threads)?;
    let wasm = time_wasm(root, folder, &blob, &dataset.test);
    Ok(EngineFigures {
        train_seconds,
        train_threads: threads,
        metrics,
        ns_per_row_batch1,
        ns_per_row_batch1000,
        ns_per_row_batch1000_one_thread,
        ns_per_row_batch1000_portable_one_thread,
        batch_engine: batch.engine().to_string(),
        wasm,
        model_bytes: blob.len(),
    })
}

/// Rows every engine's inference is timed on: the test table's first 1,000.
const TIMED_ROWS: usize = 1000;
/// Timed passes over those rows at batch 1 and at batch 1000.
const PASSES_BATCH1: usize = 5;
const PASSES_BATCH1000: usize = 50;

/// ns per row of `call` over `rows` (row-major, `width` wide) in calls of `batch` rows: one
/// untimed pass to warm caches, then `passes` timed ones. `call` gets the batch's index and
/// rows; the timer covers the calls and nothing else.
fn ns_per_row(
    rows: &[f32],
    width: usize,
    batch: usize,
    passes: usize,
    mut call: impl FnMut(usize, &[f32]) -> Result<()>,
) -> Result<f64> {
    let chunks: Vec<&[f32]> = rows.chunks(width * batch).collect();
    for (index, chunk) in chunks.iter().enumerate() {
        call(index, chunk)?;
    }
    let started = Instant::now();
    for _ in 0..passes {
        for (index, chunk) in chunks.iter().enumerate() {
            call(index, std::hint::black_box(chunk))?;
        }
    }
    Ok(started.elapsed().as_nanos() as f64 / (passes * rows.len() / width) as f64)
}

/// The rows inference is timed on.
fn timed_rows(test: &Table) -> &[f32] {
    &test.features[..test.rows().min(TIMED_ROWS) * test.schema.len()]
}

/// Marquee's portable ns per row on one thread: single-row calls, and batches of 1,000.
fn time_native(predictor: &Predictor, test: &Table) -> Result<(f64, f64)> {
    let (width, sample) = (test.schema.len(), timed_rows(test));
    let mut sink = 0.0f32;
    let batch1 = ns_per_row(sample, width, 1, PASSES_BATCH1, |_, row| {
        sink += predictor.predict(row)?;
        Ok(())
    })?;
    let mut out = vec![0.0; sample.len() / width];
    let batch1000 = ns_per_row(sample, width, TIMED_ROWS, PASSES_BATCH1000, |_, rows| {
        predictor.predict_batch(rows, &mut out[..rows.len() / width])?;
        sink += out[0];
        Ok(())
    })?;
    std::hint::black_box(sink);
    Ok((batch1, batch1000))
}

/// Marquee's native ns per row for batches of 1,000 rows shared over `threads` threads.
fn time_native_threaded(batch: &BatchPredictor, test: &Table, threads: usize) -> Result<f64> {
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build()?;
    let (width, sample) = (test.schema.len(), timed_rows(test));
    let mut out = vec![0.0; sample.len() / width];
    pool.install(|| {
        ns_per_row(sample, width, TIMED_ROWS, PASSES_BATCH1000, |_, rows| {
            batch.predict_batch_parallel(rows, &mut out[..rows.len() / width])?;
            Ok(())
        })
    })
}

/// Times each peer the Python script trained through its C API, adding an `inference`
/// object (or `inference_error`) to its figures.
fn time_peers(peers: &mut Value, test: &Table, threads: usize) {
    let Value::Object(peers) = peers else { return };
    for (name, peer) in peers.iter_mut() {
        let Value::Object(figures) = peer else { continue };
        if figures.contains_key("missing") {
            continue;
        }
        let path = |key: &str| figures.get(key).and_then(Value::as_str).map(PathBuf::from);
        let timed = match (name.as_str(), path("library"), path("model_path")) {
            (engine, Some(library), Some(model)) => {
                let expected = model.with_file_name(format!("{engine}_predictions.f32"));
                time_peer(engine, &library, &model, &expected, test, threads)
            }
            _ => Err(anyhow::anyhow!("the peers' script gave no library or model path")),
        };
        match timed {
            Ok(inference) => figures.insert("inference".into(), serde_json::to_value(inference).unwrap_or_default()),
            Err(error) => figures.insert("inference_error".into(), Value::String(format!("{error:#}"))),
        };
    }
}

fn time_peer(
    engine: &str,
    library: &Path,
    model: &Path,
    expected: &Path,
    test: &Table,
    threads: usize,
) -> Result<PeerInference> {
    let (width, sample) = (test.schema.len(), timed_rows(test));
    let rows = sample.len() / width;
    let python: Vec<f32> = std::fs::read(expected)
        .with_context(|| format!("reading {}", expected.display()))?
        .chunks_exact(4)
        .take(rows)
        .map(|bytes| f32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
        .collect();
    anyhow::ensure!(python.len() == rows, "{} holds {} predictions, not {rows}", expected.display(), python.len());
    let mut out = vec![0.0f32; rows];
    let mut sink = 0.0f64;
    let mut worst = 0.0f64;
    let mut compare = |predicted: &[f32]| {
        for (ours, theirs) in predicted.iter().zip(&python) {
            worst = worst.max(f64::from((ours - theirs).abs()));
        }
    };
    let (batch1, batch1000, batch1000_one_thread, api) = match engine {
        "xgboost" => {
            let xgboost = Xgboost::load(library, model)?;
            // The array-interface strings point at `sample`'s rows and are built before timing.
            let singles: Vec<_> = sample.chunks(width).map(|row| array_interface(row, width)).collect();
            let whole = array_interface(sample, width);
            xgboost.set_threads(1)?;
            let batch1 = ns_per_row(sample, width, 1, PASSES_BATCH1, |index, _| {
                xgboost.predict(&singles[index], &mut out[index..=index])
            })?;
            compare(&out);
            let batch1000_one_thread =
                ns_per_row(sample, width, TIMED_ROWS, PASSES_BATCH1000, |_, _| xgboost.predict(&whole, &mut out))?;
            xgboost.set_threads(threads)?;
            let batch1000 =
                ns_per_row(sample, width, TIMED_ROWS, PASSES_BATCH1000, |_, _| xgboost.predict(&whole, &mut out))?;
            compare(&out);
            (batch1, batch1000, batch1000_one_thread, "XGBoosterPredictFromDense (parses its JSON array interface and config on every call, as its API requires)")
        }
        "lightgbm" => {
            let lightgbm = Lightgbm::load(library, model, width)?;
            let single = lightgbm.single_row(1)?;
            let batch1 = ns_per_row(sample, width, 1, PASSES_BATCH1, |_, row| {
                sink += single.predict(row)?;
                Ok(())
            })?;
            let mut doubles = vec![0.0f64; rows];
            let mut batch = |threads: usize| {
                ns_per_row(sample, width, TIMED_ROWS, PASSES_BATCH1000, |_, rows| {
                    lightgbm.predict(rows, threads, &mut doubles)
                })
            };
            let (batch1000_one_thread, batch1000) = (batch(1)?, batch(threads)?);
            compare(&doubles.iter().map(|&value| value as f32).collect::<Vec<_>>());
            for (index, row) in sample.chunks(width).enumerate() {
                out[index] = single.predict(row)? as f32;
            }
            compare(&out);
            (
                batch1,
                batch1000,
                batch1000_one_thread,
                "LGBM_BoosterPredictForMatSingleRowFast at batch 1, LGBM_BoosterPredictForMat at batch 1000",
            )
        }
        other => anyhow::bail!("no C API timing for {other}"),
    };
    std::hint::black_box(sink);
    let max_abs_difference_from_python = worst;
    anyhow::ensure!(
        max_abs_difference_from_python <= 1e-4,
        "{engine}'s C API predicts up to {max_abs_difference_from_python} away from its Python predictions"
    );
    Ok(PeerInference {
        ns_per_row_batch1: batch1,
        ns_per_row_batch1000: batch1000,
        ns_per_row_batch1000_one_thread: batch1000_one_thread,
        max_abs_difference_from_python,
        api,
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
    let inference = xgboost.get("inference")?;
    let lightgbm_batch1 = peers.get("lightgbm").and_then(|peer| number(peer.get("inference")?, "ns_per_row_batch1"));
    Some(Ratios {
        accuracy_relative_difference: (ours - theirs) / theirs,
        train_time_ratio: marquee.train_seconds / number(xgboost, "train_seconds")?,
        inference_speedup_batch1: number(inference, "ns_per_row_batch1")? / marquee.ns_per_row_batch1,
        inference_speedup_batch1000: number(inference, "ns_per_row_batch1000")? / marquee.ns_per_row_batch1000,
        inference_speedup_batch1000_one_thread: number(inference, "ns_per_row_batch1000_one_thread")?
            / marquee.ns_per_row_batch1000_one_thread,
        lightgbm_speedup_batch1: lightgbm_batch1.map(|ns| ns / marquee.ns_per_row_batch1),
        wasm_over_native_batch1000: wasm_1000.map(|wasm| wasm / marquee.ns_per_row_batch1000_portable_one_thread),
        wasm_over_fastest_native_batch1000: wasm_1000.map(|wasm| wasm / marquee.ns_per_row_batch1000_one_thread),
        size_ratio: marquee.model_bytes as f64 / number(xgboost, "model_bytes")?,
        size_ratio_stripped: marquee.model_bytes as f64 / number(xgboost, "stripped_model_bytes")?,
    })
}

fn print_figures(figures: &DatasetFigures) {
    let threads = figures.marquee.train_threads;
    println!(
        "\n== {} ({}; {} train / {} test rows × {} features)",
        figures.dataset, figures.objective, figures.train_rows, figures.test_rows, figures.features
    );
    let ours = &figures.marquee;
    let wasm = |key: &str| ours.wasm.get(key).and_then(Value::as_f64).map_or("-".to_owned(), |ns| format!("{ns:.0}"));
    println!(
        "{:<10} {:>12} {:>28} {:>12} {:>12} {:>12} {:>12} {:>12} {:>12} {:>10} {:>10}",
        "engine",
        format!("train s ({threads}t)"),
        "metrics",
        "b1 ns (1t)",
        format!("b1k ns ({threads}t)"),
        "b1k ns (1t)",
        "b1k port(1t)",
        "wasm b1 (1t)",
        "wasm b1k(1t)",
        "bytes",
        "stripped"
    );
    let metrics = |map: &serde_json::Map<String, Value>| {
        map.iter()
            .map(|(name, value)| format!("{name} {:.4}", value.as_f64().unwrap_or(f64::NAN)))
            .collect::<Vec<_>>()
            .join(" ")
    };
    println!(
        "{:<10} {:>12.2} {:>28} {:>12.0} {:>12.0} {:>12.0} {:>12.0} {:>12} {:>12} {:>10} {:>10}",
        "marquee",
        ours.train_seconds,
        metrics(&ours.metrics),
        ours.ns_per_row_batch1,
        ours.ns_per_row_batch1000,
        ours.ns_per_row_batch1000_one_thread,
        ours.ns_per_row_batch1000_portable_one_thread,
        wasm("ns_per_row_batch1"),
        wasm("ns_per_row_batch1000"),
        ours.model_bytes,
        ""
    );
    match &figures.peers {
        Value::Object(peers) => {
            for (name, peer) in peers {
                if let Some(missing) = peer.get("missing").and_then(Value::as_str) {
                    println!("{name:<10} {missing}");
                    continue;
                }
                let number = |key: &str| peer.get(key).and_then(Value::as_f64).unwrap_or(f64::NAN);
                let timed =
                    |key: &str| peer.get("inference").and_then(|inference| inference.get(key)).and_then(Value::as_f64);
                let shown = |key: &str| timed(key).map_or("-".to_owned(), |ns| format!("{ns:.0}"));
                let peer_metrics = peer.get("metrics").and_then(Value::as_object).map(metrics).unwrap_or_default();
                println!(
                    "{:<10} {:>12.2} {:>28} {:>12} {:>12} {:>12} {:>12} {:>12} {:>12} {:>10} {:>10}",
                    name,
                    number("train_seconds"),
                    peer_metrics,
                    shown("ns_per_row_batch1"),
                    shown("ns_per_row_batch1000"),
                    shown("ns_per_row_batch1000_one_thread"),
                    "",
                    "",
                    "",
                    number("model_bytes"),
                    peer.get("stripped_model_bytes").and_then(Value::as_u64).map_or(String::new(), |b| b.to_string())
                );
                if let Some(error) = peer.get("inference_error").and_then(Value::as_str) {
                    println!("{:<10} inference not timed: {error}", "");
                }
            }
        }
        other => println!("peers: {}", other.as_str().unwrap_or("unavailable")),
    }
    println!(
        "timers: Rust's Instant in this process around the inference calls only (data already in memory, \
         one untimed warm-up pass, {TIMED_ROWS} test rows, {PASSES_BATCH1} passes at batch 1, {PASSES_BATCH1000} at batch 1000); \
         marquee: Predictor::predict at b1, BatchPredictor::predict_batch_parallel at b1k ({}; rayon over 1 or {threads} \
         threads as shown), Predictor::predict_batch (portable, the Worker's code) at b1k port; \
         xgboost: XGBoosterPredictFromDense, nthread as shown (it parses a JSON array interface and config on every call, \
         as its API requires; the strings are built before the timer); lightgbm: LGBM_BoosterPredictForMatSingleRowFast \
         at batch 1, LGBM_BoosterPredictForMat at batch 1000, num_threads as shown; wasm: the Worker's build in Node \
         (process.hrtime around LoadedModel.predict, JS↔wasm copy included). Training: wall time on {threads} threads, \
         each engine's own API (the peers from Python, around the training call only).",
        ours.batch_engine
    );
    if let Some(ratios) = &figures.versus_xgboost {
        println!(
            "vs XGBoost: accuracy {:+.2}% (goal within ±0.5%), train time ×{:.2} on {threads} threads each (must be ≤ 1.0, goal 0.5), \
             inference {:.1}× faster at batch 1 (1 thread each; LightGBM: {}), {:.1}× at batch 1000 on {threads} threads each (goal ≥ 3) \
             and {:.1}× on 1 thread each, wasm/native {} (1 thread each, portable code on both sides; goal ≤ 1.5; {} against the fastest native loop), size ×{:.2} of XGBoost's UBJSON as saved \
             (goal ≤ 0.33) and ×{:.2} of it without the per-tree loss_changes, base_weights and parents",
            ratios.accuracy_relative_difference * 100.0,
            ratios.train_time_ratio,
            ratios.inference_speedup_batch1,
            ratios.lightgbm_speedup_batch1.map_or("-".to_owned(), |ratio| format!("{ratio:.1}×")),
            ratios.inference_speedup_batch1000,
            ratios.inference_speedup_batch1000_one_thread,
            ratios.wasm_over_native_batch1000.map_or("-".to_owned(), |ratio| format!("{ratio:.2}")),
            ratios.wasm_over_fastest_native_batch1000.map_or("-".to_owned(), |ratio| format!("{ratio:.2}")),
            ratios.size_ratio,
            ratios.size_ratio_stripped
        );
    }
}

/// The world's ratings with demographic and metadata features (and MovieLens's, given a
/// folder), plus two large synthetic tables (regression and logistic).
fn datasets(rows: usize, movielens: Option<&Path>) -> Result<Vec<Dataset>> {
    let mut datasets = vec![world_ratings()?];
    if let Some(folder) = movielens {
        datasets.push(movielens_ratings(folder)?);
    }
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
    rating_split("world ratings", &world.users, &world.movies, &ratings)
}

/// MovieLens's ratings (ML-100K: 80,000 training rows × 29 features).
fn movielens_ratings(folder: &Path) -> Result<Dataset> {
    let dataset = if marquee_data::csv_triple::detect(folder) {
        marquee_data::csv_triple::load(folder)
    } else {
        marquee_data::movielens::load(folder)
    }
    .with_context(|| format!("reading {} as a MovieLens folder", folder.display()))?
    .0;
    anyhow::ensure!(!dataset.ratings.is_empty(), "{} holds no ratings", folder.display());
    rating_split("movielens ratings", &dataset.users, &dataset.movies, &dataset.ratings)
}

/// The rating table of `ratings`, split 80/20 by a deterministic hash of the row, so that
/// every engine sees the same rows.
fn rating_split(
    name: &str,
    users: &[marquee_data::User],
    movies: &[marquee_data::Movie],
    ratings: &[marquee_data::Rating],
) -> Result<Dataset> {
    // Codes, not categorical features: XGBoost and LightGBM get the same numeric inputs.
    let table = rating_table(users, movies, ratings, CategoryEncoding::Codes);
    let width = table.schema.len();
    let (mut train, mut test) = ((Vec::new(), Vec::new()), (Vec::new(), Vec::new()));
    for (index, (row, &label)) in table.features.chunks(width).zip(&table.labels).enumerate() {
        let side = if SplitMix64::new(index as u64).next_u64().is_multiple_of(5) { &mut test } else { &mut train };
        side.0.extend_from_slice(row);
        side.1.push(label);
    }
    Ok(Dataset {
        name: name.into(),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_batch_is_called_once_to_warm_up_then_once_per_pass() {
        let rows: Vec<f32> = (0..30).map(|value| value as f32).collect();
        let mut calls = vec![0usize; 5];
        let mut widths = Vec::new();
        let ns = ns_per_row(&rows, 3, 2, 4, |index, batch| {
            calls[index] += 1;
            widths.push(batch.len());
            Ok(())
        })
        .unwrap();
        assert_eq!(calls, vec![5; 5], "one warm-up call and four timed ones per batch of two rows");
        assert!(widths.iter().all(|&len| len == 6));
        assert!(ns.is_finite() && ns >= 0.0);
    }

    #[test]
    fn a_failing_call_stops_the_timing() {
        let rows = vec![0.0f32; 6];
        assert!(ns_per_row(&rows, 3, 1, 2, |_, _| anyhow::bail!("the peer failed")).is_err());
    }
}

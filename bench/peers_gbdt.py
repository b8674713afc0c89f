"""XGBoost and LightGBM on the same data and parameters as `marquee bench gbdt`.

Called by `marquee bench gbdt` with the .venv made by `cargo xtask peers`:
    python bench/peers_gbdt.py DIR OBJECTIVE THREADS
where DIR holds meta.json ({"features": F}) and raw little-endian f32 files train_x.f32,
train_y.f32, test_x.f32, test_y.f32 (rows row-major, NaN for missing).
Prints one JSON object: per peer, training seconds, test metrics, inference ns/row at
batch 1 and batch 1000 (XGBoost's inplace_predict; LightGBM's predict), and model bytes.
"""
import json
import sys
import tempfile
import time
import os

import numpy as np

ROUNDS, DEPTH, LEARNING_RATE, BINS = 200, 6, 0.1, 256


def load(folder, split, features):
    x = np.fromfile(os.path.join(folder, f"{split}_x.f32"), dtype="<f4").reshape(-1, features)
    y = np.fromfile(os.path.join(folder, f"{split}_y.f32"), dtype="<f4")
    return x, y


def metrics(objective, y, predictions):
    out = {"rmse": float(np.sqrt(np.mean((predictions - y) ** 2)))}
    if objective == "binary:logistic":
        eps = 1e-7
        p = np.clip(predictions, eps, 1 - eps)
        out["logloss"] = float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))
        order = np.argsort(predictions, kind="mergesort")
        ranks = np.empty(len(order))
        ranks[order] = np.arange(1, len(order) + 1)
        # Average ranks over ties, as AUC must.
        _, inverse, counts = np.unique(predictions, return_inverse=True, return_counts=True)
        sums = np.bincount(inverse, weights=ranks)
        ranks = (sums / counts)[inverse]
        positives = y > 0.5
        n_pos, n_neg = positives.sum(), (~positives).sum()
        out["auc"] = float((ranks[positives].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))
    return out


def time_inference(predict_rows, x):
    """ns per row at batch 1 (1,000 single-row calls) and batch 1000 (repeated over the rows)."""
    singles = min(1000, len(x))
    start = time.perf_counter()
    for i in range(singles):
        predict_rows(x[i : i + 1])
    batch1 = (time.perf_counter() - start) / singles * 1e9
    batch = x[:1000]
    repeats = max(1, 20000 // len(batch))
    start = time.perf_counter()
    for _ in range(repeats):
        predict_rows(batch)
    batch1000 = (time.perf_counter() - start) / (repeats * len(batch)) * 1e9
    return batch1, batch1000


def run_xgboost(x, y, xt, yt, objective, threads):
    import xgboost as xgb

    params = {"objective": objective, "tree_method": "hist", "max_depth": DEPTH, "eta": LEARNING_RATE, "max_bin": BINS,
              "nthread": threads, "seed": 0}
    train = xgb.DMatrix(x, label=y, missing=np.nan)
    start = time.perf_counter()
    booster = xgb.train(params, train, ROUNDS)
    seconds = time.perf_counter() - start
    predictions = booster.inplace_predict(xt)
    batch1, batch1000 = time_inference(lambda rows: booster.inplace_predict(rows), xt)
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "model.ubj")
        booster.save_model(path)
        size = os.path.getsize(path)
    return {"version": xgb.__version__, "train_seconds": seconds, "metrics": metrics(objective, yt, predictions),
            "ns_per_row_batch1": batch1, "ns_per_row_batch1000": batch1000, "model_bytes": size, "model_format": "ubj"}


def run_lightgbm(x, y, xt, yt, objective, threads):
    import lightgbm as lgb

    params = {"objective": "regression" if objective == "reg:squarederror" else "binary", "max_depth": DEPTH,
              "num_leaves": 2 ** DEPTH, "learning_rate": LEARNING_RATE, "max_bin": BINS - 1, "num_threads": threads,
              "verbose": -1, "seed": 0, "min_child_weight": 1.0, "min_data_in_leaf": 1, "lambda_l2": 1.0}
    train = lgb.Dataset(x, label=y, params={"max_bin": BINS - 1})
    start = time.perf_counter()
    booster = lgb.train(params, train, ROUNDS)
    seconds = time.perf_counter() - start
    predictions = booster.predict(xt, num_threads=threads)
    batch1, batch1000 = time_inference(lambda rows: booster.predict(rows, num_threads=threads), xt)
    size = len(booster.model_to_string().encode())
    return {"version": lgb.__version__, "train_seconds": seconds, "metrics": metrics(objective, yt, predictions),
            "ns_per_row_batch1": batch1, "ns_per_row_batch1000": batch1000, "model_bytes": size, "model_format": "text"}


def main():
    folder, objective, threads = sys.argv[1:4]
    threads = int(threads)
    with open(os.path.join(folder, "meta.json")) as handle:
        features = json.load(handle)["features"]
    x, y = load(folder, "train", features)
    xt, yt = load(folder, "test", features)
    results = {}
    for name, runner in [("xgboost", run_xgboost), ("lightgbm", run_lightgbm)]:
        try:
            results[name] = runner(x, y, xt, yt, objective, threads)
        except ImportError as error:
            results[name] = {"missing": f"{name} is not installed ({error})"}
    print(json.dumps(results))


if __name__ == "__main__":
    main()

"""XGBoost on the rating tree's table that `marquee bench recommend` wrote, timed the same way.

Usage: peers_rating_tree.py FOLDER FOLDS FEATURES THREADS ROUNDS ETA DEPTH MIN_CHILD_WEIGHT
Reads FOLDER/tree{k}_{train,test}_{x,y}.f32 (raw little-endian f32, row-major, NaN = missing),
fits XGBoost's `hist` regressor with the given parameters on THREADS threads and prints JSON:
per fold, the fit time in seconds and the test RMSE and MAE.
"""

import json
import sys
import time

import numpy as np
import xgboost as xgb


def main():
    folder, folds, features, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    rounds, eta, depth, min_child = int(sys.argv[5]), float(sys.argv[6]), int(sys.argv[7]), float(sys.argv[8])
    results = []
    for fold in range(folds):
        load = lambda name: np.fromfile(f"{folder}/tree{fold}_{name}.f32", dtype="<f4")
        train_x, train_y = load("train_x").reshape(-1, features), load("train_y")
        test_x, test_y = load("test_x").reshape(-1, features), load("test_y")
        params = {
            "tree_method": "hist", "objective": "reg:squarederror", "eta": eta, "max_depth": depth,
            "min_child_weight": min_child, "nthread": threads, "max_bin": 256,
        }
        started = time.perf_counter()
        booster = xgb.train(params, xgb.DMatrix(train_x, label=train_y, missing=np.nan), num_boost_round=rounds)
        seconds = time.perf_counter() - started
        predicted = np.clip(booster.predict(xgb.DMatrix(test_x, missing=np.nan)), 1.0, 5.0)
        errors = predicted - test_y
        results.append({
            "fit_seconds": seconds,
            "rmse": float(np.sqrt(np.mean(errors ** 2))),
            "mae": float(np.mean(np.abs(errors))),
        })
    print(json.dumps({"engine": f"xgboost {xgb.__version__}", "folds": results}))


if __name__ == "__main__":
    main()

"""LightGBM's lambdarank on the hybrid ranker's own rows, the ranking peer of
`marquee compare --lightgbm-peer PYTHON`.

Called as
    python bench/peers_lambdarank.py DIR
where DIR holds meta.json ({"features": F, "names": [...], "categorical": [column, ...],
"rounds": R, "learning_rate": η, "max_depth": D, "ndcg_k": K, "early_stopping_rounds": E,
"threads": T, "seed": S}) and raw little-endian files: fit_x.f32 / fit_y.f32 /
fit_groups.u32 (the ranker's training groups), valid_x.f32 / valid_y.f32 /
valid_groups.u32 (its held-aside groups; absent when there are none) and serve_x.f32 (every
evaluated user's retrieved candidates, rows row-major, NaN for missing).

Trains lambdarank on the fit groups, early-stopped on NDCG@K of the valid groups exactly as
Marquee's ranker is, writes its scores of the serving rows to serve_scores.f32 and prints
one JSON object: the LightGBM version, threads, training seconds (the timer covers
`lightgbm.train` only) and the best iteration.
"""
import json
import os
import sys
import time

import lightgbm
import numpy as np


def load(folder, name, features):
    path = os.path.join(folder, f"{name}_x.f32")
    if not os.path.exists(path):
        return None
    x = np.fromfile(path, dtype="<f4").reshape(-1, features)
    y = np.fromfile(os.path.join(folder, f"{name}_y.f32"), dtype="<f4")
    groups = np.fromfile(os.path.join(folder, f"{name}_groups.u32"), dtype="<u4")
    return x, y, groups


def main():
    folder = sys.argv[1]
    with open(os.path.join(folder, "meta.json")) as file:
        meta = json.load(file)
    features = meta["features"]
    fit_x, fit_y, fit_groups = load(folder, "fit", features)
    valid = load(folder, "valid", features)
    params = {
        "objective": "lambdarank",
        "metric": "ndcg",
        "eval_at": [meta["ndcg_k"]],
        "lambdarank_truncation_level": meta["ndcg_k"],
        "learning_rate": meta["learning_rate"],
        "max_depth": meta["max_depth"],
        # As many leaves as a depth-wise tree of that depth, like Marquee's ranker.
        "num_leaves": 2 ** meta["max_depth"],
        "num_threads": meta["threads"],
        "seed": meta["seed"],
        "deterministic": True,
        "verbose": -1,
    }
    names = meta["names"]
    train_set = lightgbm.Dataset(
        fit_x, fit_y, group=fit_groups, feature_name=names, categorical_feature=meta["categorical"]
    )
    valid_sets, callbacks = [], []
    if valid is not None:
        valid_x, valid_y, valid_groups = valid
        valid_sets.append(lightgbm.Dataset(valid_x, valid_y, group=valid_groups, reference=train_set))
        if meta["early_stopping_rounds"]:
            callbacks.append(lightgbm.early_stopping(meta["early_stopping_rounds"], verbose=False))
    started = time.perf_counter()
    booster = lightgbm.train(
        params, train_set, num_boost_round=meta["rounds"], valid_sets=valid_sets, callbacks=callbacks
    )
    seconds = time.perf_counter() - started
    serve_x = np.fromfile(os.path.join(folder, "serve_x.f32"), dtype="<f4").reshape(-1, features)
    best = booster.best_iteration if booster.best_iteration > 0 else booster.current_iteration()
    scores = booster.predict(serve_x, num_iteration=best, num_threads=meta["threads"]).astype("<f4")
    scores.tofile(os.path.join(folder, "serve_scores.f32"))
    print(
        json.dumps(
            {
                "version": lightgbm.__version__,
                "threads": meta["threads"],
                "train_seconds": seconds,
                "best_iteration": int(best),
            }
        )
    )


if __name__ == "__main__":
    main()

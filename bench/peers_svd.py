"""Surprise's SVD on the folds `marquee bench recommend` wrote, timed the same way.

Usage: peers_svd.py FOLDER FOLDS LOW HIGH
Reads FOLDER/fold{k}_train.tsv and fold{k}_test.tsv (user, item, rating; tab-separated),
fits Surprise's SVD with its defaults (100 factors, 20 epochs, lr 0.005, reg 0.02) and
prints JSON: per fold, the fit time in seconds and the test RMSE and MAE.
"""

import json
import sys
import time

import numpy as np
from surprise import SVD, Dataset, Reader


def main():
    folder, folds, low, high = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
    reader = Reader(line_format="user item rating", sep="\t", rating_scale=(low, high))
    results = []
    for fold in range(folds):
        train = Dataset.load_from_file(f"{folder}/fold{fold}_train.tsv", reader=reader).build_full_trainset()
        with open(f"{folder}/fold{fold}_test.tsv") as handle:
            test = [(u, i, float(r)) for u, i, r in (line.rstrip("\n").split("\t") for line in handle)]
        algo = SVD(random_state=fold)
        started = time.perf_counter()
        algo.fit(train)
        seconds = time.perf_counter() - started
        errors = np.array([algo.predict(u, i, r_ui=r).est - r for u, i, r in test])
        results.append({
            "fit_seconds": seconds,
            "rmse": float(np.sqrt(np.mean(errors ** 2))),
            "mae": float(np.mean(np.abs(errors))),
        })
    import surprise
    print(json.dumps({"engine": f"surprise {surprise.__version__}", "folds": results}))


if __name__ == "__main__":
    main()

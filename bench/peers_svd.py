"""Surprise's SVD (and SVDpp) on the folds `marquee bench recommend` wrote, timed the same way.

Usage: peers_svd.py FOLDER FOLDS LOW HIGH [--svdpp]
Reads FOLDER/fold{k}_train.tsv and fold{k}_test.tsv (user, item, rating; tab-separated),
fits Surprise's SVD with its defaults (100 factors, 20 epochs, lr 0.005, reg 0.02) and, with
--svdpp, Surprise's SVDpp with its defaults (20 factors, 20 epochs, lr 0.007, reg 0.02), and
prints JSON: per fold, the fit time in seconds and the test RMSE and MAE ("folds" for SVD,
"svdpp_folds" for SVDpp). Everything runs on one thread.
"""

import json
import sys
import time

import numpy as np
from surprise import SVD, SVDpp, Dataset, Reader


def score(algo, train, test):
    started = time.perf_counter()
    algo.fit(train)
    seconds = time.perf_counter() - started
    errors = np.array([algo.predict(u, i, r_ui=r).est - r for u, i, r in test])
    return {
        "fit_seconds": seconds,
        "rmse": float(np.sqrt(np.mean(errors ** 2))),
        "mae": float(np.mean(np.abs(errors))),
    }


def main():
    folder, folds, low, high = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
    with_svdpp = "--svdpp" in sys.argv[5:]
    reader = Reader(line_format="user item rating", sep="\t", rating_scale=(low, high))
    results, svdpp_results = [], []
    for fold in range(folds):
        train = Dataset.load_from_file(f"{folder}/fold{fold}_train.tsv", reader=reader).build_full_trainset()
        with open(f"{folder}/fold{fold}_test.tsv") as handle:
            test = [(u, i, float(r)) for u, i, r in (line.rstrip("\n").split("\t") for line in handle)]
        results.append(score(SVD(random_state=fold), train, test))
        if with_svdpp:
            svdpp_results.append(score(SVDpp(random_state=fold), train, test))
    import surprise
    output = {"engine": f"surprise {surprise.__version__}", "folds": results}
    if with_svdpp:
        output["svdpp_folds"] = svdpp_results
    print(json.dumps(output))


if __name__ == "__main__":
    main()

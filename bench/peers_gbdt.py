"""XGBoost and LightGBM trained on the same data and parameters as `marquee bench gbdt`.

Called by `marquee bench gbdt` with the .venv made by `cargo xtask peers`:
    python bench/peers_gbdt.py DIR OBJECTIVE THREADS
where DIR holds meta.json ({"features": F}) and raw little-endian f32 files train_x.f32,
train_y.f32, test_x.f32, test_y.f32 (rows row-major, NaN for missing).

Trains each peer on THREADS threads and writes what `marquee bench gbdt` needs to time its
inference through the peer's C API (no Python in the timed loop): the model file
(xgboost.ubj, lightgbm.txt) and the peer's own predictions on the test rows
(xgboost_predictions.f32, lightgbm_predictions.f32) to check the C-API calls against.
Prints one JSON object: per peer, its version, training seconds, test metrics, library path
and model bytes; for XGBoost also the bytes with training-only fields stripped (see
`strip_training_fields`).
"""
import json
import os
import struct
import sys
import time

import numpy as np

ROUNDS, DEPTH, LEARNING_RATE, BINS = 200, 6, 0.1, 256

# Per-tree fields of XGBoost's model that prediction and TreeSHAP do not read: the split
# gains, every node's weight (a leaf's value is in split_conditions) and the parent links.
# `sum_hessian` (the cover) stays: Marquee's blob keeps each node's cover for TreeSHAP.
XGBOOST_TRAINING_ONLY = ("loss_changes", "base_weights", "parents")


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


# UBJSON as XGBoost writes it: enough to decode its model and encode it again byte for byte.
_SCALARS = {b"i": ">b", b"U": ">B", b"I": ">h", b"l": ">i", b"L": ">q", b"d": ">f", b"D": ">d"}


class _Typed:
    """An optimised array (`[$T#n` and its packed payload), kept as bytes."""

    def __init__(self, marker, count_bytes, payload):
        self.marker, self.count_bytes, self.payload = marker, count_bytes, payload


def _read_int(data, at):
    marker = data[at : at + 1]
    fmt = _SCALARS[marker]
    size = struct.calcsize(fmt)
    return struct.unpack(fmt, data[at + 1 : at + 1 + size])[0], at + 1 + size


def _decode(data, at):
    marker = data[at : at + 1]
    if marker in _SCALARS:
        fmt = _SCALARS[marker]
        size = struct.calcsize(fmt)
        return (marker, data[at + 1 : at + 1 + size]), at + 1 + size
    if marker in (b"T", b"F", b"Z"):
        return (marker, b""), at + 1
    if marker == b"S":
        start = at + 1
        length, at = _read_int(data, start)
        return (marker, data[start:at] + data[at : at + length]), at + length
    if marker == b"{":
        fields, at = [], at + 1
        while data[at : at + 1] != b"}":
            start = at
            length, at = _read_int(data, start)
            key = data[start:at], data[at : at + length].decode()
            value, at = _decode(data, at + length)
            fields.append((key, value))
        return ("object", fields), at + 1
    if marker == b"[":
        if data[at + 1 : at + 2] == b"$":
            element = data[at + 2 : at + 3]
            count_start = at + 4
            count, end = _read_int(data, count_start)
            size = struct.calcsize(_SCALARS[element])
            return ("typed", _Typed(element, data[count_start:end], data[end : end + count * size])), end + count * size
        if data[at + 1 : at + 2] == b"#":
            count, end = _read_int(data, at + 2)
            count_bytes, items, at = data[at + 2 : end], [], end
            for _ in range(count):
                value, at = _decode(data, at)
                items.append(value)
            return ("counted", (count_bytes, items)), at
        items, at = [], at + 1
        while data[at : at + 1] != b"]":
            value, at = _decode(data, at)
            items.append(value)
        return ("array", items), at + 1
    raise ValueError(f"unexpected UBJSON marker {marker!r} at byte {at}")


def _encode(value, out):
    kind, body = value
    if kind == "object":
        out += b"{"
        for (length_bytes, key), field in body:
            out += length_bytes + key.encode()
            _encode(field, out)
        out += b"}"
    elif kind == "array":
        out += b"["
        for item in body:
            _encode(item, out)
        out += b"]"
    elif kind == "counted":
        count_bytes, items = body
        out += b"[#" + count_bytes
        for item in items:
            _encode(item, out)
    elif kind == "typed":
        out += b"[$" + body.marker + b"#" + body.count_bytes + body.payload
    else:
        out += kind + body


def strip_training_fields(ubj):
    """XGBoost's UBJSON model without XGBOOST_TRAINING_ONLY in any tree, and a check that
    decoding and encoding the untouched model gives back XGBoost's bytes exactly."""
    decoded, end = _decode(ubj, 0)
    assert end == len(ubj), "trailing bytes after the model"
    again = bytearray()
    _encode(decoded, again)
    assert bytes(again) == ubj, "the UBJSON round trip does not reproduce XGBoost's bytes"

    def field(obj, name):
        return next(value for (_, key), value in obj[1] if key == name)

    trees = field(field(field(field(decoded, "learner"), "gradient_booster"), "model"), "trees")
    for tree in trees[1][1] if trees[0] == "counted" else trees[1]:
        tree[1][:] = [(key, value) for key, value in tree[1] if key[1] not in XGBOOST_TRAINING_ONLY]
    stripped = bytearray()
    _encode(decoded, stripped)
    return bytes(stripped)


def run_xgboost(x, y, xt, yt, objective, threads, folder):
    import xgboost as xgb

    params = {"objective": objective, "tree_method": "hist", "max_depth": DEPTH, "eta": LEARNING_RATE, "max_bin": BINS,
              "nthread": threads, "seed": 0}
    train = xgb.DMatrix(x, label=y, missing=np.nan)
    start = time.perf_counter()
    booster = xgb.train(params, train, ROUNDS)
    seconds = time.perf_counter() - start
    predictions = booster.inplace_predict(xt)
    predictions.astype("<f4").tofile(os.path.join(folder, "xgboost_predictions.f32"))
    path = os.path.join(folder, "xgboost.ubj")
    booster.save_model(path)
    with open(path, "rb") as handle:
        ubj = handle.read()
    stripped = strip_training_fields(ubj)
    return {"version": xgb.__version__, "train_seconds": seconds, "metrics": metrics(objective, yt, predictions),
            "model_bytes": len(ubj), "model_format": "ubj", "model_path": path,
            "stripped_model_bytes": len(stripped), "stripped_fields": list(XGBOOST_TRAINING_ONLY),
            "library": os.path.join(os.path.dirname(xgb.__file__), "lib", "libxgboost.so")}


def run_lightgbm(x, y, xt, yt, objective, threads, folder):
    import lightgbm as lgb

    params = {"objective": "regression" if objective == "reg:squarederror" else "binary", "max_depth": DEPTH,
              "num_leaves": 2 ** DEPTH, "learning_rate": LEARNING_RATE, "max_bin": BINS - 1, "num_threads": threads,
              "verbose": -1, "seed": 0, "min_child_weight": 1.0, "min_data_in_leaf": 1, "lambda_l2": 1.0}
    train = lgb.Dataset(x, label=y, params={"max_bin": BINS - 1})
    start = time.perf_counter()
    booster = lgb.train(params, train, ROUNDS)
    seconds = time.perf_counter() - start
    predictions = booster.predict(xt, num_threads=threads)
    predictions.astype("<f4").tofile(os.path.join(folder, "lightgbm_predictions.f32"))
    path = os.path.join(folder, "lightgbm.txt")
    booster.save_model(path)
    return {"version": lgb.__version__, "train_seconds": seconds, "metrics": metrics(objective, yt, predictions),
            "model_bytes": os.path.getsize(path), "model_format": "text", "model_path": path,
            "library": os.path.join(os.path.dirname(lgb.__file__), "lib", "lib_lightgbm.so")}


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
            results[name] = runner(x, y, xt, yt, objective, threads, folder)
        except ImportError as error:
            results[name] = {"missing": f"{name} is not installed ({error})"}
    print(json.dumps(results))


if __name__ == "__main__":
    main()

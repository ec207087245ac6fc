"""Which prior estimator and which operating-point rule: EM, EM + BCTS and BBSE, and the binary rules,
on PneumoniaMNIST and BreastMNIST with real models. Writes compare_estimators.{json,md,png} beside this file.

    OMP_NUM_THREADS=1 python benchmarks/decisions/compare_estimators.py   (EDGEKD_DATA defaults to ../shared/data)

Models (the models section below): a pixel logistic regression and three short cnn-small
runs (seeds 0-2) per data set. Every rule is fitted on the validation split (the product's
protocol) unless a protocol says otherwise. Sections, all seeded:

0. calibration: test ECE (15 bins, bootstrap interval) and NLL, raw, with temperature and with BCTS.
1. operating points: test ACC of each rule, fitted on validation, with temperature and with BCTS;
   and how much each rule depends on the luck of its validation set: the rule is refitted on
   VAL_RESAMPLES bootstrap resamples of validation and scored on the fixed test split.
2. prior estimators on the real test split: estimated positive share against the truth, and
   test ACC unadapted (raw arg-max; BCTS at 0.5) against adapted and the hindsight-best threshold.
3. the same on the test split resampled to positive shares PRIORS (TARGET_N images with
   replacement, SEEDS draws), with rules fitted on validation ("val-fitted"), and with rules
   fitted on one stratified half of the test split and the other half resampled ("half-fitted":
   label shift holds by construction, so the estimator alone is measured).

Adapted decisions use the BCTS rule at threshold 0.5 with each estimator's prior, so accuracy
differences between estimators come from their estimates alone. ``bbse`` uses the raw arg-max
as its black-box predictor (no calibration needed).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from benchmarks._lib.provenance import write_outputs  # noqa: E402
from benchmarks.decisions.report import markdown, plot  # noqa: E402
from edgekd.data.spec import stratified_indices  # noqa: E402
from edgekd.decision import decide, estimate_prior, fit_decision_rule, probabilities, with_prior  # noqa: E402
from edgekd.decision.apply import positive_log_odds  # noqa: E402
from edgekd.decision.calibration_metrics import ece_interval, expected_calibration_error, nll  # noqa: E402

# ----------------------------------------------------------------------------- models
# The real models compare_estimators.py decides with: their validation and test logits, cached.
#
# - ``logreg``: scikit-learn LogisticRegression (C = 0.1, lbfgs, max_iter 3000) on raw pixels scaled
#   to [0, 1], one thread; deterministic, about a second per data set.
# - ``cnn-small``: edgekd's own student trained alone (``train_supervised``, no teacher) on one
#   CPU thread with edgekd's training defaults (SGD lr 0.05, cosine schedule, 2-px shifts,
#   checkpoint chosen by validation AUC) and the short schedules in CNN_RECIPES.
#
# Logits go to ``benchmarks/_work/decisions/<dataset>/<model>.npz`` (ignored by git), so a
# rerun only recomputes the analysis.

ROOT = Path(__file__).resolve().parents[2]
WORK = ROOT / "benchmarks" / "_work" / "decisions"
LOGREG_C = 0.1
#: dataset -> TrainConfig overrides of the short cnn-small runs (one CPU thread: a couple of minutes each)
CNN_RECIPES = {"pneumoniamnist": {"epochs": 20}, "breastmnist": {"epochs": 100, "batch_size": 32}}


def _logreg(dataset: str) -> dict:
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_limits

    from edgekd.data.registry import load_split

    splits = {s: load_split(dataset, s, None) for s in ("train", "val", "test")}
    x = {s: d.images.reshape(len(d), -1).astype(np.float64) / 255.0 for s, d in splits.items()}
    with threadpool_limits(1):
        model = LogisticRegression(C=LOGREG_C, max_iter=3000).fit(x["train"], splits["train"].labels)
    out = {}
    for s in ("val", "test"):
        m = model.decision_function(x[s])
        out[f"{s}_logits"] = np.stack([-m / 2, m / 2], axis=1)
    return out


def _cnn(dataset: str, seed: int) -> dict:
    import torch

    from edgekd.data.registry import dataset_info, load_split
    from edgekd.training.batches import TensorSplit
    from edgekd.training.checkpoint import load_model
    from edgekd.training.evaluate import predict_logits
    from edgekd.training.loop import TrainConfig
    from edgekd.training.supervised import train_supervised

    torch.set_num_threads(1)
    run = WORK / dataset / f"cnn-small-s{seed}-run"
    if not (run / "model.pt").is_file():
        cfg = TrainConfig(seed=seed, threads=1, device="cpu", **CNN_RECIPES[dataset])
        train_supervised("cnn-small", dataset, run, cfg, quiet=True)
    model, _ = load_model(run / "model.pt")
    info = dataset_info(dataset)
    return {f"{s}_logits": predict_logits(model, TensorSplit.from_split(load_split(dataset, s, None), info))
            for s in ("val", "test")}


def model_names(seeds: int) -> list[str]:
    return ["logreg"] + [f"cnn-small-s{s}" for s in range(seeds)]


def load_logits(dataset: str, name: str) -> dict:
    """``{"train_prior", "class_names", "val_labels", "val_logits", "test_labels", "test_logits"}``."""
    from edgekd.data.registry import dataset_info, load_split

    path = WORK / dataset / f"{name}.npz"
    if not path.is_file():
        print(f"training {name} on {dataset} ...", file=sys.stderr, flush=True)
        logits = _logreg(dataset) if name == "logreg" else _cnn(dataset, int(name.rsplit("-s", 1)[1]))
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, **logits)
    with np.load(path) as f:
        out = {k: f[k].astype(np.float64) for k in f.files}
    info = dataset_info(dataset)
    train = load_split(dataset, "train", None).labels
    out["train_prior"] = np.bincount(train, minlength=info.num_classes) / len(train)
    out["class_names"] = tuple(info.class_names)
    for s in ("val", "test"):
        out[f"{s}_labels"] = load_split(dataset, s, None).labels.astype(np.int64)
    return out

HERE = Path(__file__).resolve().parent
DATASETS = ("pneumoniamnist", "breastmnist")
CNN_SEEDS = 3
RULES = ("0.5", "accuracy", "youden", "balanced", "youden-shrunk", "accuracy-guarded",
         "sensitivity=0.95", "specificity=0.95")
CALIBRATIONS = ("temperature", "bcts")
#: estimator -> (calibration of the rule it reads, method)
ESTIMATORS = {"em": ("temperature", "em"), "em+bcts": ("bcts", "em"), "bbse": ("none", "bbse")}
PRIORS = (0.1, 0.3, 0.5, 0.7, 0.9)
SEEDS = 10
TARGET_N = 1000
VAL_RESAMPLES = 30


def accuracy(labels, predictions) -> float:
    return float(np.mean(np.asarray(labels) == np.asarray(predictions)))


def hindsight_best(labels, log_odds) -> float:
    """The best test accuracy any threshold on this score could reach (chosen with the labels)."""
    order = np.argsort(-log_odds, kind="mergesort")
    pos = np.asarray(labels)[order] == 1
    correct = np.r_[0, np.cumsum(np.where(pos, 1, -1))] + np.sum(~pos)  # top-j called positive
    return float(correct.max() / len(pos))


def rule_for(d: dict, labels, logits, calibration: str, rule: str = "0.5", seed: int = 0):
    return fit_decision_rule(labels, logits, d["class_names"], d["train_prior"], rule, calibration, seed=seed)


def operating_points(d: dict) -> dict:
    yv, zv, yt, zt = d["val_labels"], d["val_logits"], d["test_labels"], d["test_logits"]
    rows = {"raw_argmax": accuracy(yt, zt.argmax(axis=1))}
    base = rule_for(d, yv, zv, "bcts")
    rows["hindsight_best"] = hindsight_best(yt, positive_log_odds(base, zt, adapted=False))
    rng_idx = np.random.default_rng(0).integers(0, len(yv), size=(VAL_RESAMPLES, len(yv)))
    for cal in CALIBRATIONS:
        for name in RULES:
            r = rule_for(d, yv, zv, cal, name)
            pred = decide(r, zt).predictions
            pos, neg = yt == 1, yt == 0
            boot = []
            for i, idx in enumerate(rng_idx):
                if 0 < yv[idx].sum() < len(idx):
                    boot.append(accuracy(yt, decide(rule_for(d, yv[idx], zv[idx], cal, name, i), zt).predictions))
            rows[f"{cal}/{name}"] = {
                "threshold": r.threshold, "val_accuracy": r.validation.accuracy,
                "val_sensitivity": r.validation.sensitivity, "val_specificity": r.validation.specificity,
                "test_accuracy": accuracy(yt, pred),
                "test_sensitivity": float(np.mean(pred[pos] == 1)), "test_specificity": float(np.mean(pred[neg] == 0)),
                "val_resampled_test_accuracy": {"mean": float(np.mean(boot)), "sd": float(np.std(boot)),
                                                "min": float(np.min(boot))}}
    return rows


def calibration_rows(d: dict) -> dict:
    """Test ECE (with a bootstrap interval) and NLL: raw, temperature, BCTS, each fitted on validation."""
    yv, zv, yt, zt = d["val_labels"], d["val_logits"], d["test_labels"], d["test_logits"]
    out = {}
    for cal in ("none", "temperature", "bcts"):
        r = rule_for(d, yv, zv, cal)
        p = probabilities(r, zt)
        out[cal] = {"temperature": r.temperature, "val_ece": r.validation.ece_after, "val_nll": r.validation.nll_after,
                    "test_ece": expected_calibration_error(yt, p), "test_ece_interval": list(ece_interval(yt, p)),
                    "test_nll": nll(yt, np.log(np.maximum(p, 1e-300)))}
    return out


def estimator_rows(d: dict, yv, zv, yt, zt) -> dict:
    """Estimate, error and adapted ACC of every estimator; rules fitted on (yv, zv), target (yt, zt)."""
    rules = {cal: rule_for(d, yv, zv, cal) for cal in ("temperature", "bcts", "none")}
    truth = float(np.mean(yt == 1))
    out = {"truth": truth, "raw_argmax": accuracy(yt, zt.argmax(axis=1)),
           "bcts_0.5": accuracy(yt, decide(rules["bcts"], zt).predictions),
           "hindsight_best": hindsight_best(yt, positive_log_odds(rules["bcts"], zt, adapted=False))}
    for name, (cal, method) in ESTIMATORS.items():
        q = estimate_prior(rules[cal], zt, method)
        out[name] = {"estimate": float(q[1]), "abs_error": abs(float(q[1]) - truth),
                     "adapted_accuracy": accuracy(yt, decide(with_prior(rules["bcts"], q), zt).predictions)}
    return out


def resample(labels, share: float, n: int, rng, pool=None) -> np.ndarray:
    pool = np.arange(len(labels)) if pool is None else pool
    n_pos = int(round(share * n))
    pos, neg = pool[labels[pool] == 1], pool[labels[pool] == 0]
    return np.r_[rng.choice(pos, n_pos), rng.choice(neg, n - n_pos)]


def shifted(d: dict) -> dict:
    yv, zv, yt, zt = d["val_labels"], d["val_logits"], d["test_labels"], d["test_logits"]
    out = {"val_fitted": {}, "half_fitted": {}}
    for share in PRIORS:
        vf, hf = [], []
        for seed in range(SEEDS):
            rng = np.random.default_rng(1000 * seed + int(share * 100))
            idx = resample(yt, share, TARGET_N, rng)
            vf.append(estimator_rows(d, yv, zv, yt[idx], zt[idx]))
            a, b = stratified_indices(yt, (0.5, 0.5), seed)
            idx = resample(yt, share, TARGET_N, rng, pool=b)
            hf.append(estimator_rows(d, yt[a], zt[a], yt[idx], zt[idx]))
        out["val_fitted"][str(share)], out["half_fitted"][str(share)] = vf, hf
    return out


def rounded(x):
    """Floats to 5 decimals, recursively, so the JSON stays readable (5 decimals is far below any difference read)."""
    if isinstance(x, float):
        return round(x, 5)
    if isinstance(x, dict):
        return {k: rounded(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [rounded(v) for v in x]
    return x


def main() -> None:
    os.environ.setdefault("EDGEKD_DATA", str(HERE.parents[2] / "shared" / "data"))
    report = {"datasets": {}, "settings": {
        "rules": RULES, "calibrations": CALIBRATIONS, "estimators": ESTIMATORS, "priors": PRIORS, "seeds": SEEDS,
        "target_n": TARGET_N, "val_resamples": VAL_RESAMPLES, "threads": 1, "logreg_C": LOGREG_C,
        "cnn_recipes": CNN_RECIPES, "cnn_seeds": list(range(CNN_SEEDS)),
        "models_script": "benchmarks/decisions/compare_estimators.py"}}
    for ds in DATASETS:
        per_model = {}
        for name in model_names(CNN_SEEDS):
            print(f"{ds} {name} ...", file=sys.stderr, flush=True)
            d = load_logits(ds, name)
            per_model[name] = {
                "priors": {"train": float(d["train_prior"][1]), "val": float(np.mean(d["val_labels"] == 1)),
                           "test": float(np.mean(d["test_labels"] == 1))},
                "calibration": calibration_rows(d),
                "operating_points": operating_points(d),
                "real_test": estimator_rows(d, d["val_labels"], d["val_logits"], d["test_labels"], d["test_logits"]),
                "shifted": shifted(d)}
        report["datasets"][ds] = per_model
    write_outputs(HERE / "compare_estimators", rounded(report), markdown, plot)


if __name__ == "__main__":
    main()

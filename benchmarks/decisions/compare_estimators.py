"""Which prior estimator and which operating-point rule: EM, EM + BCTS and BBSE, and the binary rules,
on PneumoniaMNIST and BreastMNIST with real models. Writes compare_estimators.{json,md,png} beside this file.

    OMP_NUM_THREADS=1 python benchmarks/decisions/compare_estimators.py   (EDGEKD_DATA defaults to ../shared/data)

Models (benchmarks/decisions/models.py): a pixel logistic regression and three short cnn-small
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
from benchmarks._lib.outputs import write_outputs  # noqa: E402
from benchmarks.decisions.models import CNN_RECIPES, LOGREG_C, load_logits, model_names  # noqa: E402
from benchmarks.decisions.report import markdown, plot  # noqa: E402
from edgekd.data.spec import stratified_indices  # noqa: E402
from edgekd.decision import decide, estimate_prior, fit_decision_rule, probabilities, with_prior  # noqa: E402
from edgekd.decision.apply import positive_log_odds  # noqa: E402
from edgekd.decision.calibration_metrics import ece_interval, expected_calibration_error, nll  # noqa: E402

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
        "models_script": "benchmarks/decisions/models.py"}}
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

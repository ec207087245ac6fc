"""The real models compare_estimators.py decides with: their validation and test logits, cached.

- ``logreg``: scikit-learn LogisticRegression (C = 0.1, lbfgs, max_iter 3000) on raw pixels scaled
  to [0, 1], one thread; deterministic, about a second per data set.
- ``cnn-small``: edgekd's own student trained alone (``train_supervised``, no teacher) on one
  CPU thread with edgekd's training defaults (SGD lr 0.05, cosine schedule, 2-px shifts,
  checkpoint chosen by validation AUC) and the short schedules in CNN_RECIPES.

Logits go to ``benchmarks/_work/decisions/<dataset>/<model>.npz`` (ignored by git), so a
rerun only recomputes the analysis.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

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

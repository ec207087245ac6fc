"""Real models for the decision tests: logistic regression on raw pixels, one thread, cached per session.

A plain scikit-learn LogisticRegression on PneumoniaMNIST (binary), BreastMNIST (binary) and
digits (10 classes) trains in about a second and gives real, imperfect logits on the real
validation and test splits, which is what calibration, operating points and prior shift act on.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np


@dataclass(frozen=True)
class SplitLogits:
    labels: np.ndarray
    logits: np.ndarray


@dataclass(frozen=True)
class TrainedLogits:
    class_names: tuple[str, ...]
    train_prior: np.ndarray
    val: SplitLogits
    test: SplitLogits


@cache
def trained_logits(dataset: str, C: float = 0.1) -> TrainedLogits:
    """Train LogisticRegression(C) on ``dataset``'s training pixels (scaled to [0, 1]); logits of val and test.

    Binary models give the 2-column logits ``(-m/2, m/2)`` of their margin ``m``, whose
    softmax is the model's own probability.
    """
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_limits

    from edgekd.data.registry import dataset_info, load_split

    splits = {s: load_split(dataset, s, None) for s in ("train", "val", "test")}
    features = {s: d.images.reshape(len(d), -1).astype(np.float64) / 255.0 for s, d in splits.items()}
    with threadpool_limits(1):
        model = LogisticRegression(C=C, max_iter=3000).fit(features["train"], splits["train"].labels)

    def logits(split: str) -> SplitLogits:
        z = model.decision_function(features[split])
        z = np.stack([-z / 2, z / 2], axis=1) if z.ndim == 1 else z
        return SplitLogits(splits[split].labels.astype(np.int64), z)

    info = dataset_info(dataset)
    prior = np.bincount(splits["train"].labels, minlength=info.num_classes) / len(splits["train"])
    return TrainedLogits(tuple(info.class_names), prior, logits("val"), logits("test"))

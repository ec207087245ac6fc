"""Classification metrics in numpy alone (the device side has no torch and no scikit-learn).

ROC AUC is the rank statistic of ``edgekd.bench.metrics.roc_auc`` (Mann-Whitney U with
average ranks for ties, the value of scikit-learn's ``roc_auc_score``); for more than two
classes, the macro average of one-vs-rest AUCs over the classes present.
"""

from __future__ import annotations

import numpy as np

from edgekd.bench.metrics import roc_auc


def accuracy(labels: np.ndarray, predictions: np.ndarray) -> float:
    return float(np.mean(np.asarray(labels) == np.asarray(predictions))) if len(labels) else float("nan")


def binary_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """AUC of ``scores`` for the positive class 1; nan when only one class is present."""
    labels = np.asarray(labels).astype(bool).astype(np.int64)
    if labels.size == 0 or labels.min() == labels.max():
        return float("nan")
    return roc_auc(labels, scores)


def auc(labels: np.ndarray, probabilities: np.ndarray) -> float:
    """Binary AUC from the class-1 probability, or macro one-vs-rest AUC for more classes."""
    probabilities = np.asarray(probabilities)
    if probabilities.shape[1] == 2:
        return binary_auc(labels, probabilities[:, 1])
    values = [binary_auc(labels == c, probabilities[:, c]) for c in range(probabilities.shape[1])
              if 0 < np.sum(labels == c) < len(labels)]
    return float(np.mean(values)) if values else float("nan")


def softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def classification_report(labels: np.ndarray, logits: np.ndarray) -> dict:
    """Accuracy and AUC (binary, or macro one-vs-rest) of logits against labels."""
    probs = softmax(np.asarray(logits, dtype=np.float64))
    return {"accuracy": accuracy(labels, probs.argmax(1)), "auc": auc(labels, probs), "n": int(len(labels))}

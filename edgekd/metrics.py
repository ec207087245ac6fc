"""Classification metrics in numpy alone (the device side has no torch and no scikit-learn).

ROC AUC is the rank statistic (Mann-Whitney U) with average ranks for ties, the same
value as scikit-learn's ``roc_auc_score``; for more than two classes, the macro
average of one-vs-rest AUCs over the classes present.
"""

from __future__ import annotations

import numpy as np


def accuracy(labels: np.ndarray, predictions: np.ndarray) -> float:
    return float(np.mean(np.asarray(labels) == np.asarray(predictions))) if len(labels) else float("nan")


def _average_ranks(values: np.ndarray) -> np.ndarray:
    order = np.argsort(values, kind="mergesort")
    sorted_vals = values[order]
    ranks = np.empty(len(values), dtype=np.float64)
    # boundaries of runs of equal values
    starts = np.flatnonzero(np.r_[True, sorted_vals[1:] != sorted_vals[:-1]])
    ends = np.r_[starts[1:], len(values)]
    for s, e in zip(starts, ends):
        ranks[order[s:e]] = (s + e + 1) / 2.0  # mean of 1-based ranks s+1..e
    return ranks


def binary_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """AUC of ``scores`` for the positive class 1; nan when only one class is present."""
    labels = np.asarray(labels).astype(bool)
    n_pos, n_neg = int(labels.sum()), int((~labels).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = _average_ranks(np.asarray(scores, dtype=np.float64))
    return float((ranks[labels].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


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

"""Classification quality from logits, in numpy only: accuracy and rank-based ROC AUC."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from edgekd.errors import EdgekdError


def accuracy(logits: np.ndarray, labels: Sequence[int] | np.ndarray) -> float:
    """Fraction of rows whose arg-max class equals the label."""
    logits = np.asarray(logits)
    labels = np.asarray(labels).reshape(-1)
    if logits.ndim != 2 or logits.shape[0] != labels.shape[0]:
        raise EdgekdError(
            f"logits of shape {logits.shape} do not match {labels.shape[0]} labels: expected (N, classes)"
        )
    if labels.size == 0:
        raise EdgekdError("no samples to score: the data split is empty")
    return float(np.mean(np.argmax(logits, axis=1) == labels))


def _average_ranks(x: np.ndarray) -> np.ndarray:
    """1-based ranks of ``x`` with ties given the mean of the ranks they span."""
    order = np.argsort(x, kind="mergesort")
    sorted_x = x[order]
    ranks = np.empty(x.size, dtype=np.float64)
    # boundaries of runs of equal values in the sorted array
    starts = np.flatnonzero(np.r_[True, sorted_x[1:] != sorted_x[:-1]])
    ends = np.r_[starts[1:], x.size]
    for s, e in zip(starts, ends):
        ranks[order[s:e]] = (s + 1 + e) / 2.0  # mean of ranks s+1 .. e
    return ranks


def roc_auc(labels: Sequence[int] | np.ndarray, scores: Sequence[float] | np.ndarray) -> float:
    """Area under the ROC curve for binary ``labels`` (0/1) and real ``scores``.

    Computed as the Mann-Whitney U statistic from average ranks, so tied scores count
    one half. Raises :class:`EdgekdError` when only one class is present.
    """
    y = np.asarray(labels).reshape(-1)
    s = np.asarray(scores, dtype=np.float64).reshape(-1)
    if y.shape != s.shape:
        raise EdgekdError(f"{y.size} labels but {s.size} scores: pass one score per sample")
    if not np.all((y == 0) | (y == 1)):
        raise EdgekdError("ROC AUC needs binary labels 0/1")
    n_pos = int(np.sum(y == 1))
    n_neg = y.size - n_pos
    if n_pos == 0 or n_neg == 0:
        raise EdgekdError("ROC AUC needs both classes in the labels: use a larger or different split")
    ranks = _average_ranks(s)
    u = ranks[y == 1].sum() - n_pos * (n_pos + 1) / 2.0
    return float(u / (n_pos * n_neg))


def positive_score(logits: np.ndarray) -> np.ndarray:
    """Score of class 1 for a 2-class model: ``logit1 - logit0`` (monotone in softmax p1)."""
    logits = np.asarray(logits, dtype=np.float64)
    if logits.ndim != 2 or logits.shape[1] != 2:
        raise EdgekdError(f"a binary score needs logits of shape (N, 2), got {logits.shape}")
    return logits[:, 1] - logits[:, 0]

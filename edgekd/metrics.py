"""Classification metrics in numpy alone, the one place eval, bench, the study and explain take them from.

Importable on a device without torch or scikit-learn. Every function takes the **labels
first**, then what the model produced (as scikit-learn's metrics do):

- :func:`accuracy` ``(labels, scores)``: ``scores`` are predicted classes (N) or
  per-class scores (N x K, arg-max taken);
- :func:`roc_auc` ``(labels, scores)``: binary ROC AUC as the Mann-Whitney U statistic
  with average ranks for ties (the value of scikit-learn's ``roc_auc_score``); strict:
  an error when only one class is present;
- :func:`binary_auc`, :func:`auc`: the same, nan instead of an error when a class is
  missing; :func:`auc` is the macro average of one-vs-rest AUCs for more than two
  classes (over the classes present), as ``roc_auc_score(multi_class="ovr")``;
- :func:`classification_report` ``(labels, outputs)``: accuracy, AUC and count from a
  model's outputs, logits or probabilities (:func:`as_probabilities`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from edgekd.errors import EdgekdError

#: how far a row of outputs may be from summing to 1 and still count as probabilities
SIMPLEX_TOL = 1e-3


def accuracy(labels: Sequence[int] | np.ndarray, scores: Sequence | np.ndarray) -> float:
    """Fraction of samples whose predicted class equals the label (nan for no samples).

    ``scores``: predicted classes (N) or per-class scores / logits (N x K, arg-max taken).
    """
    y = np.asarray(labels).reshape(-1)
    s = np.asarray(scores)
    pred = np.argmax(s, axis=1) if s.ndim == 2 else s.reshape(-1)
    if s.ndim > 2 or pred.shape[0] != y.shape[0]:
        raise EdgekdError(f"scores of shape {s.shape} do not match {y.shape[0]} labels: "
                          "expected (N,) classes or (N, classes) scores")
    return float(np.mean(pred == y)) if y.size else float("nan")


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


def binary_auc(labels: Sequence | np.ndarray, scores: Sequence | np.ndarray) -> float:
    """AUC of ``scores`` for the positive class (label true / 1); nan when only one class is present."""
    y = np.asarray(labels).astype(bool).astype(np.int64)
    if y.size == 0 or y.min() == y.max():
        return float("nan")
    return roc_auc(y, scores)


def auc(labels: Sequence[int] | np.ndarray, probabilities: np.ndarray) -> float:
    """Binary AUC from the class-1 column, or macro one-vs-rest AUC for more classes (nan if undefined)."""
    y = np.asarray(labels).reshape(-1)
    p = np.asarray(probabilities)
    if p.ndim != 2 or p.shape[0] != y.shape[0]:
        raise EdgekdError(f"probabilities of shape {p.shape} do not match {y.shape[0]} labels")
    if p.shape[1] == 2:
        return binary_auc(y == 1, p[:, 1])
    values = [binary_auc(y == c, p[:, c]) for c in range(p.shape[1]) if 0 < np.sum(y == c) < len(y)]
    return float(np.mean(values)) if values else float("nan")


def positive_score(logits: np.ndarray) -> np.ndarray:
    """Score of class 1 for a 2-class model: ``logit1 - logit0`` (monotone in softmax p1)."""
    logits = np.asarray(logits, dtype=np.float64)
    if logits.ndim != 2 or logits.shape[1] != 2:
        raise EdgekdError(f"a binary score needs logits of shape (N, 2), got {logits.shape}")
    return logits[:, 1] - logits[:, 0]


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax, shifted by the row maximum so large logits do not overflow."""
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def as_probabilities(outputs: np.ndarray) -> np.ndarray:
    """Outputs as class probabilities (float64): taken as they are when every row already is
    a distribution (non-negative, sums to 1 within :data:`SIMPLEX_TOL`, e.g. a model exported
    with its softmax, as Ultralytics classifiers are), else ``softmax(outputs)``.

    A second softmax would not change the arg-max, but it would reorder one-vs-rest scores
    across samples and so change a multi-class AUC.
    """
    z = np.asarray(outputs, dtype=np.float64)
    if z.ndim == 2 and z.size and z.min() >= 0.0 and np.all(np.abs(z.sum(axis=1) - 1.0) <= SIMPLEX_TOL):
        return z
    return softmax(z)


def classification_report(labels: Sequence[int] | np.ndarray, outputs: np.ndarray,
                          columns: Sequence[int] | None = None) -> dict:
    """``{"accuracy", "auc", "n"}`` of a model's ``outputs`` (logits or probabilities, N x K).

    ``columns`` picks and orders the output columns that stand for the data set's classes
    0..C-1 (a class-index mapping for a model trained with other class indices); the
    AUC is binary for 2 classes, else macro one-vs-rest, nan where undefined.
    """
    probs = as_probabilities(outputs)
    if columns is not None:
        probs = probs[:, list(columns)]
    return {"accuracy": accuracy(labels, probs), "auc": auc(labels, probs), "n": int(len(probs))}

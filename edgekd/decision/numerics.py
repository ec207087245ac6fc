"""Numerically safe building blocks shared by the decision modules: input checks, log-softmax, logit.

Everything works in log space so that logits of any size (±1e4 included) give finite
probabilities, log-probabilities and losses.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from edgekd.errors import EdgekdError

#: probability thresholds are kept inside [PROB_FLOOR, 1 - PROB_FLOOR] so their log-odds stay finite
PROB_FLOOR = 1e-9
#: smallest probability a prior may give a class in logs (a zero prior would make log(0) = -inf)
PRIOR_FLOOR = 1e-12


def as_logits(logits, what: str = "logits") -> np.ndarray:
    """``logits`` as a finite float64 N x K array (K >= 2), or a one-line error naming the problem."""
    z = np.asarray(logits, dtype=np.float64)
    if z.ndim != 2 or z.shape[1] < 2:
        raise EdgekdError(f"{what} must be an N x K array with K >= 2 classes, got shape {z.shape}")
    if not np.all(np.isfinite(z)):
        raise EdgekdError(f"{what} hold NaN or infinite values: check the model's outputs")
    return z


def as_labels(labels, n: int, num_classes: int) -> np.ndarray:
    """``labels`` as int64 of length ``n`` in 0..num_classes-1, or a one-line error."""
    y = np.asarray(labels).reshape(-1)
    if y.shape[0] != n:
        raise EdgekdError(f"{y.shape[0]} labels for {n} rows of logits: pass one label per sample")
    if n and (not np.issubdtype(y.dtype, np.integer) or y.min() < 0 or y.max() >= num_classes):
        raise EdgekdError(f"labels must be integers in 0..{num_classes - 1}")
    return y.astype(np.int64)


def as_prior(prior: Sequence[float] | np.ndarray, num_classes: int, what: str = "prior") -> np.ndarray:
    """A class prior (fractions or counts) as a float64 distribution over ``num_classes`` classes.

    Counts are normalised; every class must have a positive share (a class the model never
    saw in training has no prior to adapt from).
    """
    p = np.asarray(prior, dtype=np.float64).reshape(-1)
    if p.shape[0] != num_classes:
        raise EdgekdError(f"{what} has {p.shape[0]} entries for {num_classes} classes: give one per class")
    if not np.all(np.isfinite(p)) or np.any(p < 0) or p.sum() <= 0:
        raise EdgekdError(f"{what} {p.tolist()} is not a distribution: give non-negative class frequencies")
    return p / p.sum()


def log_softmax(z: np.ndarray) -> np.ndarray:
    """Row-wise log-softmax, shifted by the row maximum (finite for finite input)."""
    shifted = z - z.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def logit(p: float | np.ndarray) -> float | np.ndarray:
    """log(p / (1 - p)) with p kept inside [PROB_FLOOR, 1 - PROB_FLOOR]."""
    q = np.clip(p, PROB_FLOOR, 1.0 - PROB_FLOOR)
    return np.log(q) - np.log1p(-q)


def sigmoid(x: float | np.ndarray) -> float | np.ndarray:
    """1 / (1 + exp(-x)) without overflow for large |x|."""
    x = np.asarray(x, dtype=np.float64)
    out = np.exp(-np.logaddexp(0.0, -x))
    return float(out) if out.ndim == 0 else out


def log_prior_ratio(target: np.ndarray, source: np.ndarray) -> np.ndarray:
    """log(target / source) per class, with zero shares floored at :data:`PRIOR_FLOOR`."""
    return np.log(np.maximum(target, PRIOR_FLOOR)) - np.log(np.maximum(source, PRIOR_FLOOR))


def class_prior(labels, num_classes: int) -> np.ndarray:
    """Class frequencies of ``labels`` (e.g. the training split) as a distribution."""
    y = np.asarray(labels).reshape(-1).astype(np.int64)
    counts = np.bincount(y, minlength=num_classes).astype(np.float64)
    if counts.sum() == 0:
        raise EdgekdError("no labels to count a class prior from")
    return counts / counts.sum()

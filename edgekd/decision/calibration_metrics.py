"""How well probabilities match outcomes: ECE, NLL, Brier score, reliability-diagram bins.

ECE follows Guo et al. (ICML 2017): top-label confidence (the largest class probability),
:data:`ECE_BINS` equal-width bins on [0, 1] (each bin is (lower, upper], the first also takes
0), and the count-weighted mean of |accuracy - mean confidence| over the bins.
:func:`ece_interval` adds a bootstrap interval around it, which a small test set needs.

Arguments are labels first, then the model's probabilities (N x K); :func:`nll` takes logits
or log-probabilities, so that extreme logits never turn into log(0).
"""

from __future__ import annotations

import numpy as np

from edgekd.decision.bootstrap import bootstrap_values, interval_tails
from edgekd.decision.numerics import as_labels, as_logits, log_softmax
from edgekd.errors import EdgekdError

#: number of equal-width confidence bins of ECE and the reliability diagram
ECE_BINS = 15


def _probabilities(probabilities, n_labels: int) -> np.ndarray:
    p = np.asarray(probabilities, dtype=np.float64)
    if p.ndim != 2 or p.shape[0] != n_labels or p.shape[1] < 2:
        raise EdgekdError(f"probabilities of shape {p.shape} do not match {n_labels} labels: expected N x K")
    if not np.all(np.isfinite(p)) or p.min() < 0 or np.any(np.abs(p.sum(axis=1) - 1.0) > 1e-6):
        raise EdgekdError("probabilities must be finite, non-negative and sum to 1 per row: apply softmax first")
    return p


def reliability_bins(labels, probabilities, bins: int = ECE_BINS) -> list[dict]:
    """One dict per bin: ``lower``, ``upper``, ``count``, ``confidence`` and ``accuracy`` (None when empty)."""
    y = np.asarray(labels).reshape(-1)
    p = _probabilities(probabilities, len(y))
    conf = p.max(axis=1)
    correct = p.argmax(axis=1) == y
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.searchsorted(edges, conf, side="left") - 1, 0, bins - 1)
    rows = []
    for b in range(bins):
        mask = which == b
        count = int(mask.sum())
        rows.append({"lower": float(edges[b]), "upper": float(edges[b + 1]), "count": count,
                     "confidence": float(conf[mask].mean()) if count else None,
                     "accuracy": float(correct[mask].mean()) if count else None})
    return rows


def expected_calibration_error(labels, probabilities, bins: int = ECE_BINS) -> float:
    """Top-label ECE with ``bins`` equal-width bins (0 = perfectly calibrated; nan for no samples)."""
    rows = reliability_bins(labels, probabilities, bins)
    n = sum(r["count"] for r in rows)
    if n == 0:
        return float("nan")
    return float(sum(r["count"] * abs(r["accuracy"] - r["confidence"]) for r in rows if r["count"]) / n)


def ece_interval(labels, probabilities, bins: int = ECE_BINS, n_boot: int = 1000, level: float = 0.95,
                 seed: int = 0) -> tuple[float, float]:
    """How far ECE moves between test sets of this size: the bootstrap spread, placed around the measured ECE.

    ECE is biased upward on small sets (each bin's |accuracy - confidence| is positive even
    for a calibrated model), and a resample, which repeats images, is smaller in effect and
    more biased still: raw bootstrap percentiles sit above the measured figure and may not
    contain it. The interval is therefore ``ECE + (q_low - m, q_high - m)`` with ``m`` the mean
    and ``q`` the percentiles of the resampled ECEs, clipped at 0.
    """
    y = np.asarray(labels).reshape(-1)
    p = _probabilities(probabilities, len(y))
    point = expected_calibration_error(y, p, bins)
    values = bootstrap_values(lambda idx: expected_calibration_error(y[idx], p[idx], bins), len(y), n_boot, seed)
    low, high = np.quantile(values, interval_tails(level)) - values.mean() + point
    return max(0.0, float(low)), float(high)


def nll(labels, logits) -> float:
    """Mean negative log-likelihood of the labels; ``logits`` may be logits or log-probabilities."""
    z = as_logits(logits)
    y = as_labels(labels, z.shape[0], z.shape[1])
    if len(y) == 0:
        return float("nan")
    return float(-np.mean(log_softmax(z)[np.arange(len(y)), y]))


def brier(labels, probabilities) -> float:
    """Multi-class Brier score: mean over samples of the squared distance to the one-hot label (0..2)."""
    y = np.asarray(labels).reshape(-1)
    p = _probabilities(probabilities, len(y))
    if len(y) == 0:
        return float("nan")
    y = as_labels(y, len(y), p.shape[1])
    return float(np.mean(((p - np.eye(p.shape[1])[y]) ** 2).sum(axis=1)))

"""Latency statistics from an array of timings: percentiles, spread, outliers, throughput.

Everything here is plain numpy and takes durations in **seconds**; results are in
milliseconds (``*_ms`` keys) because that is the unit a person reads for one inference.

Outliers follow Tukey's 1.5 IQR rule: a timing is an outlier when it lies below
``Q1 - 1.5*IQR`` or above ``Q3 + 1.5*IQR`` (quartiles by numpy's default linear
interpolation). Outliers are counted and listed, never dropped: every statistic is
computed over all timings, so a noisy machine shows as a wide p90/p99, not as a hidden
cut.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from edgekd.errors import EdgekdError

#: the most outlier values a record lists (the count is always exact)
MAX_LISTED_OUTLIERS = 50


def _as_seconds(times: Sequence[float] | np.ndarray) -> np.ndarray:
    arr = np.asarray(times, dtype=np.float64).ravel()
    if arr.size == 0:
        raise EdgekdError("no timings to summarise: run at least one timed iteration (--iters 1 or more)")
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise EdgekdError("timings must be finite and non-negative seconds: check the timer")
    return arr


def outliers_iqr(times: Sequence[float] | np.ndarray, k: float = 1.5) -> dict[str, Any]:
    """Tukey's rule on ``times`` (seconds): fences, outlier count and values (ms, ascending)."""
    arr = _as_seconds(times)
    q1, q3 = np.percentile(arr, [25.0, 75.0])
    iqr = q3 - q1
    low, high = q1 - k * iqr, q3 + k * iqr
    mask = (arr < low) | (arr > high)
    values = np.sort(arr[mask]) * 1e3
    return {
        "count": int(mask.sum()),
        "low_fence_ms": float(low * 1e3),
        "high_fence_ms": float(high * 1e3),
        "values_ms": [float(v) for v in values[:MAX_LISTED_OUTLIERS]],
    }


def latency_stats(times: Sequence[float] | np.ndarray) -> dict[str, Any]:
    """Summarise per-run durations in seconds.

    Returns ``count, min_ms, mean_ms, std_ms, p50_ms, p90_ms, p99_ms, max_ms`` and
    ``outliers`` (see :func:`outliers_iqr`). ``std_ms`` is the sample standard
    deviation (ddof=1; 0 for a single timing). Percentiles use linear interpolation.
    """
    arr = _as_seconds(times)
    p50, p90, p99 = np.percentile(arr, [50.0, 90.0, 99.0])
    std = float(np.std(arr, ddof=1)) if arr.size > 1 else 0.0
    return {
        "count": int(arr.size),
        "min_ms": float(arr.min() * 1e3),
        "mean_ms": float(arr.mean() * 1e3),
        "std_ms": std * 1e3,
        "p50_ms": float(p50 * 1e3),
        "p90_ms": float(p90 * 1e3),
        "p99_ms": float(p99 * 1e3),
        "max_ms": float(arr.max() * 1e3),
        "outliers": outliers_iqr(arr),
    }


def throughput(times: Sequence[float] | np.ndarray, batch: int) -> float:
    """Images per second at ``batch`` images per run: total images / total time."""
    arr = _as_seconds(times)
    if batch < 1:
        raise EdgekdError(f"batch must be at least 1, got {batch}")
    total = float(arr.sum())
    if total <= 0.0:
        raise EdgekdError("total measured time is zero: the timer resolution is too coarse for this model")
    return batch * arr.size / total

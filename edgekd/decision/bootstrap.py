"""Bootstrap resampling: percentile intervals for any statistic of one sample set.

Small test sets (BreastMNIST has 156 test images) make a single figure such as ECE or an
estimated prior say little by itself; the interval says how much. Resampling is seeded,
so the same inputs always give the same interval.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from edgekd.errors import EdgekdError


def resample_indices(n: int, n_boot: int, seed: int) -> np.ndarray:
    """``n_boot`` x ``n`` row indices drawn with replacement (one bootstrap sample per row)."""
    if n <= 0:
        raise EdgekdError("cannot bootstrap an empty set")
    return np.random.default_rng(seed).integers(0, n, size=(n_boot, n))


def bootstrap_values(statistic: Callable[[np.ndarray], float | np.ndarray], n: int, n_boot: int = 1000,
                     seed: int = 0) -> np.ndarray:
    """``statistic(indices)`` on each of ``n_boot`` resamples of ``n`` samples (n_boot x ... array).

    ``statistic`` takes an index array into the caller's data and returns a number or a
    vector (e.g. a class prior).
    """
    return np.asarray([statistic(idx) for idx in resample_indices(n, n_boot, seed)], dtype=np.float64)


def interval_tails(level: float) -> tuple[float, float]:
    """The lower and upper quantiles of a two-sided ``level`` interval."""
    if not 0.0 < level < 1.0:
        raise EdgekdError(f"interval level {level} must lie between 0 and 1")
    tail = (1.0 - level) / 2.0
    return tail, 1.0 - tail


def bootstrap_interval(statistic: Callable[[np.ndarray], float | np.ndarray], n: int, n_boot: int = 1000,
                       level: float = 0.95, seed: int = 0) -> tuple[np.ndarray | float, np.ndarray | float]:
    """Percentile interval ``(low, high)`` of ``statistic`` over bootstrap resamples (per entry for a vector)."""
    tails = interval_tails(level)
    low, high = np.quantile(bootstrap_values(statistic, n, n_boot, seed), tails, axis=0)
    if low.ndim == 0:
        return float(low), float(high)
    return low, high

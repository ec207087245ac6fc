"""Interleaved latency rounds: every (file, batch) once per round, in a fresh process each
(``edgekd bench``'s :func:`~edgekd.benchmarking.child.measure_in_child`), rounds repeated.

On a shared machine a load spike slows whatever runs at that moment; running every model once
per round, in a shuffled order, spreads the spikes over all of them, and a ratio taken within
one round (int8 p50 / fp32 p50 of the same round) cancels most of the slow-down. The summary
per file is the median over rounds of its p50, and per pair the median of the per-round ratios.
The 1-minute load average before each round is recorded beside it.
"""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

import numpy as np

from edgekd.benchmarking.child import measure_in_child


def rounds(files: dict[str, tuple[Path, int]], n_rounds: int, min_time: float, threads: int = 1, seed: int = 0
           ) -> dict[str, Any]:
    """``files``: key -> (model file, batch). Returns per-round p50 / p90 (ms) and load averages."""
    rng = random.Random(seed)
    p50: dict[str, list[float]] = {k: [] for k in files}
    p90: dict[str, list[float]] = {k: [] for k in files}
    load = []
    for r in range(n_rounds):
        load.append(os.getloadavg()[0])
        order = list(files)
        rng.shuffle(order)
        for key in order:
            path, batch = files[key]
            rec = measure_in_child({"model": str(path), "runtime": "auto", "threads": threads, "batch": batch,
                                    "warmup": 20, "iters": 100, "min_time": min_time, "peak": False}, timeout=900)
            p50[key].append(rec["latency"]["p50_ms"])
            p90[key].append(rec["latency"]["p90_ms"])
        print(f"  round {r + 1}/{n_rounds} done (load average {load[-1]:.2f})", flush=True)
    return {"p50": p50, "p90": p90, "load_average": load, "rounds": n_rounds, "min_time": min_time,
            "threads": threads}


def summary(timed: dict[str, Any], key: str) -> dict[str, float]:
    """Median over rounds of one file's p50 and p90 (ms)."""
    return {"p50_ms": float(np.median(timed["p50"][key])), "p90_ms": float(np.median(timed["p90"][key]))}


def ratio(timed: dict[str, Any], key: str, reference: str) -> dict[str, float]:
    """Median and range over rounds of ``key``'s p50 / ``reference``'s p50 in the same round."""
    r = np.asarray(timed["p50"][key]) / np.asarray(timed["p50"][reference])
    return {"median": float(np.median(r)), "min": float(r.min()), "max": float(r.max())}


def peak(threads: int = 1, tries: int = 5) -> dict[str, Any]:
    """The MatMul peak measured ``tries`` times now (no cache): the best, and every try."""
    from edgekd.benchmarking.peak import measure_peak

    values = [measure_peak(threads)["gflops"] for _ in range(tries)]
    return {"gflops": max(values), "tries": values, "threads": threads}

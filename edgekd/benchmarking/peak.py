"""The machine's matrix-multiply peak, measured with the runtime's own kernels, and how close a model gets.

The peak is the best GFLOP/s of an ``n x n @ n x n`` float32 MatMul built in memory with
``onnx.helper`` and run by onnxruntime at the benchmark's thread count (numpy's matmul
when onnx/onnxruntime are not installed, noted as ``backend``). It is measured once per
machine, thread count, backend and size, and cached in ``peak_gflops.json`` under
``$EDGEKD_CACHE`` or ``~/.cache/edgekd/``.

``achieved GFLOP/s = 2 * MACs * batch / latency``; its fraction of the peak says how
much of the hardware a small CNN really uses (usually little: memory and dispatch
bound, which is why latency rather than MACs is the number to trust).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from edgekd.benchmarking.machine import fingerprint
from edgekd.errors import EdgekdError
from edgekd.fileio import atomic_write_json

CACHE_FILE = "peak_gflops.json"


def cache_dir() -> Path:
    """``$EDGEKD_CACHE`` when set, else ``~/.cache/edgekd``."""
    env = os.environ.get("EDGEKD_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "edgekd"


def _onnx_matmul(n: int, threads: int | None) -> Callable[[], Any] | None:
    """A zero-argument callable running one n x n MatMul in onnxruntime, or None."""
    try:
        import onnxruntime as ort
        from onnx import TensorProto, helper, numpy_helper
    except ImportError:
        return None
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = numpy_helper.from_array(rng.standard_normal((n, n), dtype=np.float32), name="b")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["a", "b"], ["c"])],
        "edgekd_peak",
        [helper.make_tensor_value_info("a", TensorProto.FLOAT, [n, n])],
        [helper.make_tensor_value_info("c", TensorProto.FLOAT, [n, n])],
        initializer=[b],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = min(model.ir_version, 8)
    opts = ort.SessionOptions()
    if threads:
        opts.intra_op_num_threads = int(threads)
    opts.inter_op_num_threads = 1
    sess = ort.InferenceSession(model.SerializeToString(), sess_options=opts, providers=["CPUExecutionProvider"])
    feed = {"a": a}
    return lambda: sess.run(["c"], feed)


def measure_peak(threads: int | None = None, size: int = 512, min_time: float = 0.25) -> dict[str, Any]:
    """Measure (no cache) the best MatMul GFLOP/s: at least 3 runs and ``min_time`` seconds."""
    if size < 1:
        raise EdgekdError(f"peak matrix size must be positive, got {size}")
    fn = _onnx_matmul(size, threads)
    backend = "onnxruntime"
    if fn is None:
        rng = np.random.default_rng(0)
        a = rng.standard_normal((size, size), dtype=np.float32)
        b = rng.standard_normal((size, size), dtype=np.float32)
        fn, backend = (lambda: a @ b), "numpy"
    fn()  # warm-up
    best, runs, start = float("inf"), 0, time.perf_counter()
    while runs < 3 or time.perf_counter() - start < min_time:
        t0 = time.perf_counter_ns()
        fn()
        best = min(best, (time.perf_counter_ns() - t0) * 1e-9)
        runs += 1
    best = max(best, 1e-9)
    return {
        "gflops": 2.0 * size**3 / best / 1e9,
        "backend": backend,
        "size": size,
        "threads": threads,
        "runs": runs,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def peak_gflops(threads: int | None = None, size: int = 512, use_cache: bool = True) -> dict[str, Any]:
    """The cached peak for this machine and ``threads`` (measured on a miss); adds ``cached``."""
    backend = "onnxruntime" if _has_onnx() else "numpy"
    key = f"{fingerprint()}|threads={threads or 'default'}|{backend}|n={size}"
    path = cache_dir() / CACHE_FILE
    cache: dict[str, Any] = {}
    if use_cache and path.is_file():
        try:
            import json

            cache = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            cache = {}  # a corrupt cache is re-measured, not fatal
        if isinstance(cache.get(key), dict) and cache[key].get("gflops", 0) > 0:
            return {**cache[key], "cached": True}
    result = measure_peak(threads, size)
    if use_cache:
        cache[key] = result
        try:
            atomic_write_json(path, cache)
        except OSError:
            pass  # read-only home: the peak is still reported, just not cached
    return {**result, "cached": False}


def _has_onnx() -> bool:
    from edgekd.model_files import installed

    return installed("onnx") and installed("onnxruntime")


def efficiency(macs: int | None, batch: int, latency_s: float, peak: float | None) -> dict[str, float | None]:
    """``achieved_gflops = 2*macs*batch/latency`` and ``peak_fraction`` (None when unknown)."""
    if not macs or latency_s <= 0:
        return {"achieved_gflops": None, "peak_fraction": None}
    achieved = 2.0 * macs * batch / latency_s / 1e9
    frac = achieved / peak if peak else None
    return {"achieved_gflops": achieved, "peak_fraction": frac}

"""Per-node profile of an ONNX model in onnxruntime (its own profiler; :mod:`edgekd.benchmarking.profile`).

The session is built as edgekd's runner builds it (threads, sequential execution, the exact
int8 mode only where :func:`~edgekd.runtime.onnxruntime_runner.needs_exact_int8` says) plus
``enable_profiling``, so the nodes are those of the graph onnxruntime really runs after its
optimizations. Each node's time is the median of its ``*_kernel_time`` events over ``runs``
runs; the profiler's own bookkeeping adds about a microsecond per node, so the sum of the
node times runs above the unprofiled latency ``run_us`` (timed here too, without profiling).
Pre-packed weights leave the profiler's shape records, so the shapes (for each node's MACs)
come from one more profiled run with ``session.disable_prepacking``.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from edgekd.benchmarking.profile_ops import INT8_OPS, kind, summarize
from edgekd.errors import EdgekdError
from edgekd.model_files import missing
from edgekd.runtime.onnxruntime_runner import session_options

FAST_PATH = ("onnxruntime fast paths: MLAS integer kernels (QLinearConv, QGemm, QLinearAdd...) for int8 nodes, "
             "MLAS's blocked NCHWc kernels for float convolutions")


def _shape(entry: Any) -> list[int]:
    """``{"float": [1, 12, 28, 28]}`` (a profiler shape record) -> [1, 12, 28, 28]."""
    return list(next(iter(entry.values()))) if isinstance(entry, dict) and entry else []


def node_macs(op: str, inputs: list[list[int]], outputs: list[list[int]]) -> int | None:
    """Multiply-accumulates of a convolution or matrix product from its profiled shapes."""
    name = op.lower()
    weight = {"conv": 1, "fusedconv": 1, "convinteger": 1, "qlinearconv": 3, "gemm": 1, "fusedgemm": 1,
              "qgemm": 3, "matmul": 1, "matmulinteger": 1, "qlinearmatmul": 3}.get(name)
    if weight is None or len(inputs) <= weight or not outputs or not outputs[0]:
        return None
    w, y = inputs[weight], outputs[0]
    if "conv" in name:
        return int(np.prod(y)) * int(np.prod(w[1:])) if len(w) == 4 else None
    return int(np.prod(y)) * int(inputs[0][-1]) if inputs[0] else None  # M x N outputs, K each


def path_of(op: str, node: str) -> str:
    """The kernel family a compute node ran on (see :mod:`edgekd.benchmarking.profile`)."""
    if op.lower() in INT8_OPS:
        return "int8"
    return "float-nchwc" if node.endswith("_nchwc") else "float"


def profile_onnx(path: Path, threads: int | None, batch: int = 1, runs: int = 200) -> dict[str, Any]:
    """The profile record of ``path`` (see :func:`edgekd.benchmarking.profile.profile_model`)."""
    try:
        import onnxruntime as ort
    except ImportError:
        raise missing("onnxruntime") from None
    from edgekd.runtime.onnxruntime_runner import OnnxRuntimeRunner

    runner = OnnxRuntimeRunner()
    runner.load(path, threads)
    notes = []
    shape = list(runner.input_shape)
    if shape[0] not in (None, batch):
        notes.append(f"the model has a fixed batch of {shape[0]}: profiled at batch {shape[0]}")
        batch = int(shape[0])
    x = np.random.default_rng(0).standard_normal((batch, *shape[1:]), dtype=np.float32)
    for _ in range(10):
        runner.run(x)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter_ns()
        runner.run(x)
        times.append(time.perf_counter_ns() - t0)
    run_us = float(np.median(times)) / 1e3
    exact = runner.exact_int8
    runner.close()
    feed = x.transpose(0, 2, 3, 1).copy() if runner._nhwc else x
    events = _events(ort, path, threads, exact, feed, runs, prepack=True)
    shapes = _events(ort, path, threads, exact, feed, 1, prepack=False)
    ops = _nodes(events, runs, shapes)
    if not ops:
        raise EdgekdError(f"onnxruntime's profiler recorded no nodes for {path}")
    if exact:
        notes.append("exact int8 mode (session.x64quantprecision): weights may use 8 bits, so onnxruntime runs "
                     "its slower U8U8 kernels on x86 without VNNI")
    return {"runtime": "onnxruntime", "runtime_version": ort.__version__, "threads": threads, "batch": batch,
            "runs": runs, "ops": ops, "summary": summarize(ops, run_us), "fast_path": FAST_PATH, "notes": notes}


def _events(ort: Any, path: Path, threads: int | None, exact: bool, x: np.ndarray, runs: int,
            prepack: bool) -> list[dict[str, Any]]:
    """The profiler's events over ``runs`` runs of ``x`` in a session built as the runner builds it."""
    with tempfile.TemporaryDirectory(prefix="edgekd-profile-") as tmp:
        opts = session_options(ort, threads)
        opts.enable_profiling = True
        opts.profile_file_prefix = str(Path(tmp) / "ort")
        if exact:
            opts.add_session_config_entry("session.x64quantprecision", "1")
        if not prepack:
            opts.add_session_config_entry("session.disable_prepacking", "1")
        session = ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])
        feed = {session.get_inputs()[0].name: x}
        for _ in range(runs):
            session.run(None, feed)
        return json.loads(Path(session.end_profiling()).read_text())


def _kernel_events(events: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any], float]]:
    """(node name, args, microseconds) of each node execution event."""
    return [(e["name"][:-len("_kernel_time")], e.get("args", {}), float(e.get("dur", 0))) for e in events
            if e.get("cat") == "Node" and e.get("name", "").endswith("_kernel_time")]


def _nodes(events: list[dict[str, Any]], runs: int, shape_events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One record per node, in execution order: median time and the shape-derived MACs."""
    shapes = {node: args for node, args, _ in _kernel_events(shape_events)}
    seen: dict[str, dict[str, Any]] = {}
    for node, args, dur in _kernel_events(events):
        rec = seen.get(node)
        if rec is None:
            op = args.get("op_name", "?")
            shaped = shapes.get(node, args)
            inputs = [_shape(e) for e in shaped.get("input_type_shape", [])]
            outputs = [_shape(e) for e in shaped.get("output_type_shape", [])]
            rec = seen[node] = {"name": node, "op": op, "kind": kind(op), "path": None, "durs": [],
                                "macs": node_macs(op, inputs, outputs), "output_shape": outputs[0] if outputs else None}
            if rec["kind"] == "compute":
                rec["path"] = path_of(op, node)
        rec["durs"].append(dur)
    ops = []
    for rec in seen.values():
        durs = rec.pop("durs")
        rec["us"] = float(np.median(durs)) if durs else None
        rec["calls_per_run"] = round(len(durs) / runs, 2)
        ops.append(rec)
    return ops

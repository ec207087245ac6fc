"""Per-op profile of a TFLite model in LiteRT, one op at a time (:mod:`edgekd.benchmarking.profile`).

ai-edge-litert's Python interpreter has no op profiler, so each operator of subgraph 0 is cut
out into a model of its own (its non-constant inputs become the model's inputs, its outputs
the outputs; constants, weights included, stay) and timed alone: same runtime, same thread
count, XNNPACK on as in a real run, random inputs of each tensor's type. Whether XNNPACK took
the op is read from that one-op interpreter (a delegate node is appended when it did); the
whole model's partitions (XNNPACK subgraphs) from the full interpreter's nodes. Timing each op
alone leaves out what a fused run shares (an op's output still in cache for the next), so
``run_us`` (the whole model, timed here) against the sum of the op times shows that effect
and the per-invoke cost. Needs the ``flatbuffers`` package, which ai-edge-litert installs.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from edgekd.benchmarking.profile_ops import kind, summarize
from edgekd.errors import EdgekdError
from edgekd.model_files import missing

FAST_PATH = "LiteRT fast path: the XNNPACK delegate (QS8 kernels for int8 ops, F32 for float ops)"
DTYPES = {0: np.float32, 1: np.float16, 2: np.int32, 3: np.uint8, 4: np.int64, 9: np.int8, 7: np.int16}


def _interpreter(runtime: str) -> Any:
    try:
        if runtime == "tflite-runtime":
            from tflite_runtime.interpreter import Interpreter
        else:
            from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        raise missing(runtime) from None
    return Interpreter


def _median_us(interp: Any, runs: int) -> float:
    """Median microseconds of ``invoke`` after a short warm-up (inputs already set)."""
    for _ in range(5):
        interp.invoke()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter_ns()
        interp.invoke()
        times.append(time.perf_counter_ns() - t0)
    return float(np.median(times)) / 1e3


def _fill(interp: Any, rng: np.random.Generator) -> None:
    """Random inputs of each input's shape and type (ints over their whole range)."""
    for detail in interp.get_input_details():
        dtype = np.dtype(detail["dtype"])
        if dtype.kind == "f":
            value = rng.standard_normal(detail["shape"]).astype(dtype)
        else:
            info = np.iinfo(dtype)
            value = rng.integers(max(info.min, -128), min(info.max, 127) + 1, detail["shape"]).astype(dtype)
        interp.set_tensor(detail["index"], value)


def op_macs(name: str, weight: list[int] | None, output: list[int]) -> int | None:
    """Multiply-accumulates of a convolution or fully connected op from its weight and output shapes."""
    if not weight or not output:
        return None
    out = int(np.prod(output))
    if name == "CONV_2D" and len(weight) == 4:  # weight [Cout, kh, kw, Cin], output [N, H, W, Cout]
        return out * int(np.prod(weight[1:]))
    if name == "DEPTHWISE_CONV_2D" and len(weight) == 4:  # weight [1, kh, kw, C * multiplier]
        return out * int(weight[1] * weight[2])
    if name == "FULLY_CONNECTED" and len(weight) == 2:  # weight [N, K]
        return out * int(weight[1])
    return None


def profile_litert(path: Path, threads: int | None, runs: int = 200, runtime: str = "litert") -> dict[str, Any]:
    """The profile record of ``path`` (see :func:`edgekd.benchmarking.profile.profile_model`)."""
    Interpreter = _interpreter(runtime)
    try:
        from ai_edge_litert import schema_py_generated as schema
        from ai_edge_litert.tools import flatbuffer_utils
    except ImportError:
        raise missing("litert") from None
    from edgekd.runtime.litert_runner import op_names

    data = Path(path).read_bytes()
    rng = np.random.default_rng(0)
    full = Interpreter(model_content=data, num_threads=threads or None)
    full.allocate_tensors()
    _fill(full, rng)
    run_us = _median_us(full, runs)
    model = flatbuffer_utils.read_model_from_bytearray(bytearray(data))
    graph = model.subgraphs[0]
    names = op_names(model)
    wrapper = full._interpreter
    partitions = max(wrapper.NumNodes() - len(graph.operators), 0)
    constant = {t for t, tensor in enumerate(graph.tensors)
                if tensor.buffer and model.buffers[tensor.buffer].data is not None}
    whole = (list(graph.operators), list(graph.inputs), list(graph.outputs), model.signatureDefs)
    ops, notes = [], []
    try:
        for k, (op, name) in enumerate(zip(whole[0], names)):
            graph.operators = [op]
            graph.inputs = [t for t in op.inputs if t >= 0 and t not in constant]
            graph.outputs = list(op.outputs)
            model.signatureDefs = []
            rec = _one_op(Interpreter, bytes(flatbuffer_utils.convert_object_to_bytearray(model)), threads, runs, rng)
            tensors = [graph.tensors[t] for t in op.inputs if t >= 0]
            int8_in = any(t.type == schema.TensorType.INT8 for t in tensors if t not in constant)
            weight = next((list(graph.tensors[t].shape) for t in op.inputs[1:2] if t in constant), None)
            rec.update({"name": f"#{k}", "op": name, "kind": kind(name),
                        "macs": op_macs(name, weight, list(graph.tensors[op.outputs[0]].shape)),
                        "output_shape": list(graph.tensors[op.outputs[0]].shape)})
            rec["path"] = ("int8" if int8_in else "float") if rec["kind"] == "compute" else None
            if rec["us"] is None:
                notes.append(f"op #{k} {name} could not run alone ({rec.pop('error')}): left untimed")
            rec.pop("error", None)
            ops.append(rec)
    finally:
        graph.operators, graph.inputs, graph.outputs, model.signatureDefs = whole
    if not ops:
        raise EdgekdError(f"{path} has no operators to profile")
    delegated = sum(op["delegated"] for op in ops)
    summary = {**summarize(ops, run_us), "delegated_ops": delegated, "partitions": partitions}
    notes.insert(0, f"XNNPACK took {delegated} of {len(ops)} ops (each tried alone); the whole model runs as "
                    f"{partitions} delegate partition(s) and {len(ops) - delegated} op(s) outside XNNPACK")
    return {"runtime": runtime, "threads": threads, "batch": 1, "runs": runs, "ops": ops, "summary": summary,
            "fast_path": FAST_PATH, "notes": notes}


def _one_op(Interpreter: Any, content: bytes, threads: int | None, runs: int, rng: np.random.Generator
            ) -> dict[str, Any]:
    """Time one single-op model; ``delegated``: whether XNNPACK replaced its node."""
    try:
        interp = Interpreter(model_content=content, num_threads=threads or None)
        interp.allocate_tensors()
        _fill(interp, rng)
        delegated = interp._interpreter.NumNodes() > 1
        return {"us": _median_us(interp, runs), "delegated": bool(delegated)}
    except Exception as exc:  # noqa: BLE001 - an op that needs its real inputs (a shape tensor) is reported
        return {"us": None, "delegated": False, "error": str(exc).splitlines()[0][:120] if str(exc) else "error"}

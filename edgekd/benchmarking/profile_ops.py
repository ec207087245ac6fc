"""The op classes a profile sorts ops into (compute, quantize, layout, other) and its summary;
shared by the onnxruntime and LiteRT profilers (:mod:`edgekd.benchmarking.profile`)."""

from __future__ import annotations

from typing import Any

COMPUTE = {"conv", "conv_2d", "depthwise_conv_2d", "qlinearconv", "convinteger", "gemm", "qgemm", "matmul",
           "matmulinteger", "qlinearmatmul", "fully_connected", "batch_matmul", "add", "qlinearadd", "mul",
           "qlinearmul", "mean", "reducemean", "globalaveragepool", "qlinearglobalaveragepool", "average_pool_2d",
           "averagepool", "max_pool_2d", "maxpool", "relu", "sigmoid", "logistic", "softmax", "div", "sub",
           "fusedconv", "fusedgemm", "dynamicquantizematmul", "reducemax", "reduce_max", "sum", "sqrt", "clip"}
QUANTIZE = {"quantizelinear", "dequantizelinear", "quantize", "dequantize", "dynamicquantizelinear"}
LAYOUT = {"transpose", "reshape", "pad", "squeeze", "unsqueeze", "concat", "concatenation", "shape", "flatten",
          "reorderinput", "reorderoutput", "slice", "strided_slice", "gather", "cast", "expand", "identity"}
INT8_OPS = {"qlinearconv", "qgemm", "qlinearmatmul", "qlinearadd", "qlinearmul", "convinteger", "matmulinteger",
            "dynamicquantizematmul", "qlinearglobalaveragepool"}


def kind(op: str) -> str:
    """``compute``, ``quantize``, ``layout`` or ``other`` for an op type (either runtime's spelling)."""
    name = op.lower()
    if name in QUANTIZE:
        return "quantize"
    if name in LAYOUT:
        return "layout"
    return "compute" if name in COMPUTE else "other"


def summarize(ops: list[dict[str, Any]], run_us: float | None) -> dict[str, Any]:
    """Counts and time per kind, compute ops per path, and what running them one by one costs."""
    by_kind: dict[str, dict[str, float]] = {}
    for op in ops:
        entry = by_kind.setdefault(op["kind"], {"ops": 0, "us": 0.0})
        entry["ops"] += 1
        entry["us"] += op["us"] or 0.0
    compute = [op for op in ops if op["kind"] == "compute"]
    op_us = sum(op["us"] or 0.0 for op in ops)
    paths: dict[str, int] = {}
    for op in compute:
        paths[op["path"]] = paths.get(op["path"], 0) + 1
    return {"ops": len(ops), "compute_ops": len(compute), "int8_compute_ops": paths.get("int8", 0),
            "paths": paths, "by_kind": by_kind, "op_us": op_us, "run_us": run_us,
            "macs": sum(op.get("macs") or 0 for op in ops) or None}

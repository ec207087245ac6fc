"""The files the quantization benchmark times: each model in float32 and in every int8 scheme, ONNX
(a batch-1 file for batch 1, a dynamic-batch one for batch 32) and TFLite (batch 1; batch 32 runs
it image by image, as ``edgekd bench`` does), no attention head, through the real parity gate.

A scheme the gate refuses is exported again with ``--accept-accuracy-drop 100`` so that its
speed is still measured; its row says it was refused and by how much.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from edgekd.errors import EdgekdError
from edgekd.exporters.exporter import ExportOptions, export, refused_path
from edgekd.int8_schemes import scheme_names

FORMATS = ("onnx", "tflite")


def _export(ckpt: Path, out: Path, fmt: str, quantize: str, dynamic: bool, reuse: dict) -> dict[str, Any]:
    opts = dict(format=fmt, quantize=quantize, head="none", out=out, force=True, dynamic_batch=dynamic, reuse=reuse)
    refused = None
    try:
        result = export(ckpt, ExportOptions(**opts))
    except EdgekdError as exc:
        if not refused_path(out).is_file():
            raise
        import json

        refused = {"reason": str(exc).split("; ways forward")[0],
                   "record": json.loads(refused_path(out).read_text())}
        result = export(ckpt, ExportOptions(**opts, accept_drop=100.0))
    parity = refused["record"] if refused else result.parity
    return {"path": str(out), "format": fmt, "quantize": quantize, "dynamic_batch": dynamic,
            "bytes": out.stat().st_size, "name_bytes": name_bytes(out), "refused": refused is not None,
            "refused_because": "; ".join(refused["record"].get("failures", [])) if refused else None,
            "parity": {k: parity.get(k) for k in ("top1_agreement", "accuracy_torch", "accuracy_artifact", "flips",
                                                  "max_abs_logits", "passed")}}


def name_bytes(path: Path) -> int:
    """Bytes of tensor names in the file (the same in every precision; long in litert-torch's files)."""
    if path.suffix == ".tflite":
        from ai_edge_litert.tools import flatbuffer_utils

        model = flatbuffer_utils.read_model_from_bytearray(bytearray(path.read_bytes()))
        return sum(len(t.name or b"") for g in model.subgraphs for t in g.tensors)
    import onnx

    graph = onnx.load(str(path)).graph
    return sum(len(n) for node in graph.node for n in (*node.input, *node.output)) + \
        sum(len(i.name) for i in graph.initializer)


def export_all(ckpt: Path, work: Path, role: str) -> dict[str, dict[str, Any]]:
    """``"<role> <format> <quantize>[ dyn]"`` -> export record, for float32 and every int8 scheme."""
    work.mkdir(parents=True, exist_ok=True)
    files: dict[str, dict[str, Any]] = {}
    reuse: dict = {}
    for fmt in FORMATS:
        for quantize in ("none", *scheme_names(fmt)):
            for dynamic in ((False, True) if fmt == "onnx" else (False,)):
                key = f"{role} {fmt} {quantize}" + (" dyn" if dynamic else "")
                out = work / (key.replace(" ", "_") + (".onnx" if fmt == "onnx" else ".tflite"))
                print(f"  export {key}", flush=True)
                files[key] = _export(ckpt, out, fmt, quantize, dynamic, reuse)
    return files


def timing_plan(files: dict[str, dict[str, Any]]) -> dict[str, tuple[Path, int]]:
    """Timed runs: every file at batch 1 (batch-1 files) and at batch 32 (dynamic ONNX, TFLite)."""
    plan = {}
    for key, rec in files.items():
        path = Path(rec["path"])
        if rec["format"] == "tflite":
            plan[f"{key} b1"] = (path, 1)
            plan[f"{key} b32"] = (path, 32)
        else:
            plan[f"{key.removesuffix(' dyn')} b32" if rec["dynamic_batch"] else f"{key} b1"] = (path, 32 if
                                                                                               rec["dynamic_batch"] else 1)
    return plan

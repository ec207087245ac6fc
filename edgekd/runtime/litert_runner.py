"""TFLite models on LiteRT (``ai-edge-litert``), or the legacy ``tflite-runtime``.

LiteRT's interpreter uses the XNNPACK delegate by default; ``threads`` is its
``num_threads``. edgekd's TFLite exports are batch-1, so a larger batch runs sample by
sample. The input layout comes from the metadata (``layout: "NHWC"`` -> the NCHW batch
is transposed); without metadata it is inferred from the input tensor's shape.

``tflite-runtime`` is a fallback only (it needs numpy<2, lacks newer op versions and
gave wrong logits on one dynamic-range model): the runner adds a note a report must show.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from edgekd.errors import EdgekdError
from edgekd.model_files import RUNTIMES, missing
from edgekd.runtime.base import Runner, name_outputs, stack_runs
from edgekd.runtime.metadata import first_line, read_metadata
from edgekd.runtime.quiet import filtered_stderr

FALLBACK_NOTE = (
    "tflite-runtime is a legacy fallback: it may lack newer op versions and has given wrong "
    "results on some models; prefer ai-edge-litert"
)


def _interpreter_class(module: str) -> Any:
    if module == "ai_edge_litert":
        from ai_edge_litert.interpreter import Interpreter
    else:
        from tflite_runtime.interpreter import Interpreter
    return Interpreter


def _quantize(x: np.ndarray, detail: dict[str, Any]) -> np.ndarray:
    """float32 -> the input tensor's dtype, with its (scale, zero point) when integer."""
    dtype = np.dtype(detail["dtype"])
    if dtype == np.float32:
        return x
    if dtype.kind in "iu":
        scale, zero = detail.get("quantization", (0.0, 0))
        if not scale:
            raise EdgekdError(f"TFLite input is {dtype.name} without quantisation parameters: re-export it")
        info = np.iinfo(dtype)
        return np.clip(np.round(x / scale) + zero, info.min, info.max).astype(dtype)
    return x.astype(dtype)


def _dequantize(y: np.ndarray, detail: dict[str, Any]) -> np.ndarray:
    """An output tensor as float32, undoing integer quantisation."""
    if y.dtype.kind in "iu":
        scale, zero = detail.get("quantization", (0.0, 0))
        if scale:
            return ((y.astype(np.float32) - zero) * scale).astype(np.float32)
    return np.asarray(y, dtype=np.float32)


def _model_order(outputs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Outputs in the PyTorch model's order: litert-torch names them ``..._output_<k>...``."""
    keys = [re.search(r"output_(\d+)", o["name"]) for o in outputs]
    if all(keys):
        return [o for _, o in sorted(zip((int(k.group(1)) for k in keys), outputs), key=lambda t: t[0])]
    return list(outputs)


class LiteRTRunner(Runner):
    """A ``.tflite`` model through ai-edge-litert's interpreter."""

    name = "litert"

    def __init__(self) -> None:
        super().__init__()
        self.spec = RUNTIMES[self.name]
        self._interp: Any = None
        self._in: dict[str, Any] = {}
        self._outs: list[dict[str, Any]] = []
        self._nhwc = False

    def load(self, path: str | Path, threads: int | None = None) -> None:
        try:
            Interpreter = _interpreter_class(self.spec.module)
        except ImportError:
            raise missing(self.name) from None
        path = Path(path)
        if self.spec.module == "tflite_runtime":
            self.notes.append(FALLBACK_NOTE)
        try:
            with filtered_stderr():  # the XNNPACK "INFO: Created ... delegate" line (edgekd/runtime/quiet.py)
                self._interp = Interpreter(model_path=str(path), num_threads=threads or None)
                self._interp.allocate_tensors()
        except Exception as exc:
            raise EdgekdError(f"{path} is not a valid TFLite model ({first_line(exc)}): re-export it") from None
        self.path, self.threads = path, threads
        self.metadata = read_metadata(path)
        inputs = self._interp.get_input_details()
        if len(inputs) != 1:
            raise EdgekdError(f"{path} has {len(inputs)} inputs; edgekd models have one input named 'input'")
        self._in = inputs[0]
        self._outs = _model_order(self._interp.get_output_details())
        self._out_shapes = [tuple(int(d) for d in o["shape"]) for o in self._outs]
        self._names = name_outputs([o["name"] for o in self._outs], self._out_shapes)
        shape = tuple(int(d) for d in self._in["shape"])
        self._nhwc = self._input_is_nhwc(shape)
        if self._nhwc:
            shape = (shape[0], shape[3], shape[1], shape[2])
        self._shape = shape

    @property
    def version(self) -> str:
        from importlib import metadata

        try:
            return metadata.version(self.spec.dist)
        except metadata.PackageNotFoundError:
            return "unknown"

    def _run_one(self, x: np.ndarray) -> dict[str, np.ndarray]:
        self._interp.set_tensor(self._in["index"], x)
        self._interp.invoke()
        return {n: _dequantize(self._interp.get_tensor(o["index"]), o) for n, o in zip(self._names, self._outs)}

    def run(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        if self._interp is None:
            raise EdgekdError("litert runner: call load() before run()")
        x = self._check_batch(batch)
        if self._nhwc:
            x = np.ascontiguousarray(x.transpose(0, 2, 3, 1))
        x = _quantize(x, self._in)
        fixed = self._shape[0]
        if fixed == x.shape[0]:
            return self._run_one(x)
        if fixed == 1:
            return stack_runs([self._run_one(x[i:i + 1]) for i in range(x.shape[0])])
        raise EdgekdError(f"{self.path} has a fixed batch of {fixed} but got {x.shape[0]}: use --batch {fixed}")

    def close(self) -> None:
        self._interp = None


class TFLiteRuntimeRunner(LiteRTRunner):
    """The same through the legacy tflite-runtime package (``auto`` uses it only without ai-edge-litert)."""

    name = "tflite-runtime"


def op_names(model: Any) -> list[str]:
    """The builtin op name (``CONV_2D``...) of each operator in subgraph 0 of a flatbuffer object
    (``ai_edge_litert.tools.flatbuffer_utils.read_model_from_bytearray``); needs ``flatbuffers``,
    which ai-edge-litert installs. Shared by the exporter's int8 recipes and ``bench --profile``."""
    from ai_edge_litert import schema_py_generated as schema

    by_code = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    codes = [max(c.builtinCode, c.deprecatedBuiltinCode) for c in model.operatorCodes]
    return [by_code.get(codes[op.opcodeIndex], "CUSTOM") for op in model.subgraphs[0].operators]

"""TFLite export with litert-torch (no TensorFlow), quantized with ai-edge-quantizer.

- Conversion: ``litert_torch.convert(wrapper, sample_kwargs={"input": x})`` at batch 1
  (a dynamic batch fails to convert or to run, DESIGN.md), so the signature input is
  named ``input``. ``--nhwc``: the wrapper permutes a B x H x W x C input to NCHW first.
- Quantization, on the float32 flatbuffer, with ai-edge-quantizer recipes (they ran
  here; litert-torch's PT2E path needs the model re-traced per mode):
  ``fp16``: weight-only float16 (``FLOAT_CASTING``, 16 bits; float32 compute);
  int8 schemes (:mod:`edgekd.int8_schemes`, recipes in :mod:`edgekd.exporters.tflite_int8`):
  static int8 weights and activations (activation ranges are the min / max over the
  calibration images, see :func:`calibrate`), per channel or per tensor, the first
  convolution float unless ``int8-all`` / ``int8-io``; float input and outputs (quantized
  inside the graph) except ``int8-io``, whose int8 tensors edgekd's LiteRT runner scales;
  ``dynamic``: ``weight_only_wi8_afp32`` (int8 weights, float compute).
- Metadata: embedded as the flatbuffer's ``edgekd`` metadata buffer
  (:func:`edgekd.runtime.metadata.embed_tflite_metadata`); the exporter also writes
  the ``<file>.json`` sidecar once the artifact has its final name.
"""

from __future__ import annotations

import contextlib
import io
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from edgekd.errors import EdgekdError, MissingDependency
from edgekd.exporters.head import ExportHead, sample_input
from edgekd.exporters.tflite_int8 import float_io, int8_recipe
from edgekd.int8_schemes import INT8_SCHEMES
from edgekd.runtime.metadata import embed_tflite_metadata, first_line

SIGNATURE = "serving_default"


def convert(wrapper: ExportHead, input_size, nhwc: bool) -> bytes:
    """The float32 flatbuffer of ``wrapper`` (batch 1)."""
    os.environ.setdefault("LITERT_TORCH_SHOW_PROGRESS", "n")
    try:
        import litert_torch
    except ImportError:
        raise MissingDependency("litert-torch", "tflite") from None
    x = sample_input(tuple(input_size), batch=1, nhwc=nhwc)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            edge = litert_torch.convert(wrapper, sample_kwargs={"input": x})
        return bytes(edge.model_content())
    except Exception as exc:
        raise EdgekdError(f"litert-torch could not convert the model ({first_line(exc)}): "
                          f"try --format onnx, or report the model name") from None


def _recipe(mode: str, data: bytes) -> Any:
    from ai_edge_quantizer import recipe
    from ai_edge_quantizer.algorithm_manager import AlgorithmName
    from ai_edge_quantizer.qtyping import TFLOperationName
    from ai_edge_quantizer.recipe_manager import RecipeManager

    if mode in INT8_SCHEMES:
        return int8_recipe(INT8_SCHEMES[mode], data)
    if mode == "dynamic":
        return recipe.weight_only_wi8_afp32()
    if mode == "fp16":
        manager = RecipeManager()
        manager.add_weight_only_config(regex=".*", operation_name=TFLOperationName.ALL_SUPPORTED, num_bits=16,
                                       algorithm_key=AlgorithmName.FLOAT_CASTING)
        return manager.get_quantization_recipe()
    raise EdgekdError(f"unknown TFLite quantization {mode!r}")


def unshare_constants(data: bytes) -> bytes:
    """Give every consumer of a shared float constant its own copy (a CAM head gathers rows of
    the classifier weight that the FULLY_CONNECTED also reads, and the converter merges them).

    Why: ai-edge-quantizer 0.10 duplicates such a tensor itself, but names the copy with a
    ``str`` where the rest of it uses ``bytes``, and then fails in ``insert_dequant``
    ("can only concatenate str (not 'bytes') to str"). Copies made here carry bytes names.
    """
    from ai_edge_litert import schema_py_generated as schema
    from ai_edge_litert.tools import flatbuffer_utils

    model = flatbuffer_utils.read_model_from_bytearray(bytearray(data))
    changed = False
    for graph in model.subgraphs:
        seen: set[int] = set()
        for op in graph.operators:
            for k, t in enumerate(op.inputs):
                tensor = graph.tensors[t] if t >= 0 else None
                buf = model.buffers[tensor.buffer] if tensor is not None else None
                if buf is None or buf.data is None or tensor.type != schema.TensorType.FLOAT32:
                    continue
                if t not in seen:
                    seen.add(t)
                    continue
                copy_buf = schema.BufferT()
                copy_buf.data = np.array(buf.data, copy=True)
                model.buffers.append(copy_buf)
                twin = schema.TensorT()
                twin.shape, twin.type, twin.buffer = list(tensor.shape), tensor.type, len(model.buffers) - 1
                name = tensor.name if isinstance(tensor.name, bytes) else str(tensor.name).encode()
                twin.name = name + b"_copy%d" % len(graph.tensors)
                graph.tensors.append(twin)
                op.inputs[k] = len(graph.tensors) - 1
                changed = True
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model)) if changed else data


def calibrate(data: bytes, mode: str, images: np.ndarray) -> dict:
    """Activation ranges of ``data`` over ``images`` (batch-1 samples): the min of the mins and
    the max of the maxes.

    Why not ``Quantizer.calibrate``: it merges samples with a 0.95 moving average, which
    for batch-1 samples tracks a typical image's range, not the extremes, so larger values
    clip (measured on PneumoniaMNIST: the int8 logits clipped at +-4 while they reach +-9,
    max logit error 4.9; with min/max 0.23). ai-edge-quantizer's own ``Calibrator`` takes
    the update rule as an argument; ``qsv_utils.min_max_update`` is its min/max rule.
    """
    from ai_edge_quantizer import calibrator, recipe_manager
    from ai_edge_quantizer.utils import qsv_utils

    manager = recipe_manager.RecipeManager()
    manager.load_quantization_recipe(_recipe(mode, data))
    cal = calibrator.Calibrator(bytearray(data), num_threads=1, qsv_update_func=qsv_utils.min_max_update)
    samples = [{"input": np.ascontiguousarray(images[i:i + 1])} for i in range(len(images))]
    cal.calibrate({SIGNATURE: samples}, manager)
    return cal.get_model_qsvs()


def quantize(data: bytes, mode: str, calib: np.ndarray | None, nhwc: bool) -> bytes:
    """``data`` (float32 flatbuffer) quantized in ``mode``; ``calib`` NCHW images for int8."""
    try:
        from ai_edge_quantizer import quantizer
    except ImportError:
        raise MissingDependency("ai-edge-quantizer", "tflite") from None
    data = unshare_constants(data)
    qt = quantizer.Quantizer(bytearray(data), _recipe(mode, data))
    result = None
    try:
        with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()), \
                warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the calibrator's own "preserve all tensors" debug warning
            if qt.need_calibration:
                if calib is None or len(calib) == 0:
                    raise EdgekdError(f"--quantize {mode} needs calibration images: give --calib-samples N > 0")
                result = calibrate(data, mode, calib.transpose(0, 2, 3, 1) if nhwc else calib)
            quantized = qt.quantize(result, enable_progress_report=False).quantized_model
    except EdgekdError:
        raise
    except Exception as exc:
        raise EdgekdError(f"ai-edge-quantizer could not quantize to {mode} ({first_line(exc)}): "
                          f"try another --quantize mode") from None
    if mode in INT8_SCHEMES and INT8_SCHEMES[mode].float_io:
        return float_io(bytes(quantized))
    return bytes(quantized)


def export_tflite(wrapper: ExportHead, path: Path, meta: dict[str, Any], *, quantize_mode: str = "none",
                  calib: np.ndarray | None = None, reuse: dict | None = None, reuse_key: tuple = ()) -> list[str]:
    """Write the TFLite artifact to ``path`` (the caller's temporary name); returns notes. ``reuse``:
    a dict that keeps the float32 flatbuffer under ``reuse_key``, so one model exported in many
    quantization modes is converted by litert-torch once."""
    try:
        import ai_edge_litert  # noqa: F401 - embed_tflite_metadata and the parity gate need it
    except ImportError:
        raise MissingDependency("ai-edge-litert", "tflite") from None
    if reuse is not None and reuse_key in reuse:
        data = reuse[reuse_key]
    else:
        data = convert(wrapper, meta["input_size"], meta["layout"] == "NHWC")
        if reuse is not None:
            reuse[reuse_key] = data
    notes: list[str] = []
    if quantize_mode != "none":
        data = quantize(data, quantize_mode, calib, meta["layout"] == "NHWC")
        if quantize_mode in INT8_SCHEMES and not INT8_SCHEMES[quantize_mode].float_io:
            notes.append(f"{quantize_mode} TFLite: input and outputs are int8 tensors with scale / zero point "
                         "(edgekd's LiteRT runner converts)")
    path.write_bytes(embed_tflite_metadata(data, meta))
    return notes

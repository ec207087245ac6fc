"""The one table of export formats, read by option validation, the exporters, bench and tests.

Each row says what a format can do; :func:`validate` turns every combination the table
rules out into a one-line :class:`~edgekd.errors.EdgekdError` *before* any work is done
(in the spirit of Ultralytics' ``export_formats()``, with named fields, not indices).

Quantization modes (``--quantize``):

==========  =====================================================================
``none``    float32
``fp16``    ONNX: float16 weights and backbone (attention head kept in float32: its
            min-max eps, 1e-8, is 0 in float16); TFLite: float16 weights, float32
            compute; TensorRT: the FP16 builder flag
``int8``    static int8 with calibration on real images (``--calib-dataset``)
``dynamic`` ONNX: onnxruntime dynamic quantization (int8 weights, activations quantized
            at run time); TFLite: weight-only int8 (float compute, so every runtime
            gives the same answer; dynamic-range kernels gave wrong logits on one
            runtime, see DESIGN.md). TensorRT has no such mode.
==========  =====================================================================
"""

from __future__ import annotations

import difflib
import importlib.util
from dataclasses import dataclass

from edgekd.attention import registry
from edgekd.errors import EdgekdError

QUANTIZE_MODES = ("none", "fp16", "int8", "dynamic")
DEFAULT_OPSET = 18  # onnx and tensorrt exports
HEADS = ("none", *registry.exportable_names())  # attention heads: the exportable combiners
CALIBRATED = ("int8",)  # modes that need calibration images
CALIBRATIONS = {  # --calibration: how int8 activation ranges are set from the calibration images
    "minmax": ("onnx", "tflite", "tensorrt"),  # the observed min / max (TensorRT: its entropy calibrator)
    "percentile": ("onnx",),  # onnxruntime: the 99.999th percentile of |x|
}
# onnxruntime's Entropy method gave scales identical to MinMax on both students measured
# (benchmarks/export_matrix.md, int8 settings), so it is not offered.


@dataclass(frozen=True)
class ExportFormat:
    """One row of the format table."""

    name: str  # --format value
    suffix: str  # artifact file suffix
    quantize: tuple[str, ...]  # allowed --quantize modes
    dynamic_batch: bool  # --dynamic-batch allowed
    needs_gpu: bool  # must be built on the target GPU (TensorRT)
    attention_head: bool  # can carry the "attention" output
    layouts: tuple[str, ...]  # allowed input layouts
    runtime: str  # edgekd.runtime name that runs the artifact (parity gate, bench)
    build_module: str  # module needed to *write* the artifact
    extra: str  # pip extra that installs it
    description: str


FORMATS: dict[str, ExportFormat] = {
    f.name: f
    for f in (
        ExportFormat("onnx", ".onnx", QUANTIZE_MODES, True, False, True, ("NCHW",), "onnxruntime",
                     "onnxscript", "onnx", "ONNX via torch.onnx (dynamo), run by onnxruntime / TensorRT"),
        ExportFormat("tflite", ".tflite", QUANTIZE_MODES, False, False, True, ("NCHW", "NHWC"), "litert",
                     "litert_torch", "tflite", "TFLite via litert-torch, run by ai-edge-litert (batch 1)"),
        ExportFormat("tensorrt", ".engine", ("none", "fp16", "int8"), True, True, True, ("NCHW",), "tensorrt",
                     "tensorrt", "tensorrt", "TensorRT 10 engine built from the ONNX on the target GPU"),
    )
}


def export_formats() -> list[dict]:
    """The table as rows of plain values (for ``edgekd`` listings and reports)."""
    return [{"format": f.name, "suffix": f.suffix, "quantize": list(f.quantize), "dynamic_batch": f.dynamic_batch,
             "needs_gpu": f.needs_gpu, "attention_head": f.attention_head, "layouts": list(f.layouts),
             "runtime": f.runtime, "extra": f.extra, "description": f.description} for f in FORMATS.values()]


def get_format(name: str) -> ExportFormat:
    """The format row for ``name``; unknown names fail with the known ones and a close match."""
    if name in FORMATS:
        return FORMATS[name]
    close = difflib.get_close_matches(name, FORMATS, n=1)
    hint = f" (did you mean {close[0]}?)" if close else ""
    raise EdgekdError(f"unknown export format {name!r}{hint}: choose one of {', '.join(FORMATS)}")


def format_for_suffix(suffix: str) -> ExportFormat | None:
    """The format whose artifacts end in ``suffix`` (``.onnx``...), None when none does."""
    return next((f for f in FORMATS.values() if f.suffix == suffix.lower()), None)


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a parent package missing, or a module without a spec
        return False


def validate(fmt: str, quantize: str = "none", head: str = "none", dynamic_batch: bool = False,
             nhwc: bool = False, calib_samples: int | None = None, opset: int | None = None,
             check_installed: bool = True, calibration: str = "minmax") -> ExportFormat:
    """Check one export request against the table; the format row, or a one-line EdgekdError.

    ``calib_samples`` is the number of calibration images that will be used (``0`` or
    ``None`` with ``int8``: refused). ``check_installed`` also refuses a format whose
    build module is missing (TensorRT: build on the device, see deploy/jetson/).
    """
    f = get_format(fmt)
    if quantize not in QUANTIZE_MODES:
        raise EdgekdError(f"unknown quantization {quantize!r}: choose one of {', '.join(QUANTIZE_MODES)}")
    if quantize not in f.quantize:
        raise EdgekdError(f"{f.name} does not support --quantize {quantize}: choose one of {', '.join(f.quantize)}")
    if head not in HEADS:
        raise EdgekdError(f"unknown attention head {head!r}: choose one of {', '.join(HEADS)}")
    if head != "none" and not f.attention_head:
        raise EdgekdError(f"{f.name} cannot carry an attention head: use --attention-head none")
    if dynamic_batch and not f.dynamic_batch:
        raise EdgekdError(f"{f.name} exports have a fixed batch of 1 (a dynamic batch fails to convert or run): "
                          f"drop --dynamic-batch")
    layout = "NHWC" if nhwc else "NCHW"
    if layout not in f.layouts:
        raise EdgekdError(f"{f.name} takes {' or '.join(f.layouts)} input, not {layout}: drop --nhwc")
    if quantize in CALIBRATED and not calib_samples:
        raise EdgekdError(f"--quantize {quantize} needs calibration images: give --calib-samples N > 0 "
                          f"(and --calib-dataset NAME if the checkpoint's data set is not available)")
    if calibration not in CALIBRATIONS:
        raise EdgekdError(f"unknown --calibration {calibration!r}: choose one of {', '.join(CALIBRATIONS)}")
    if calibration != "minmax" and (quantize not in CALIBRATED or f.name not in CALIBRATIONS[calibration]):
        raise EdgekdError(f"--calibration {calibration} applies to --quantize int8 with "
                          f"{' / '.join(CALIBRATIONS[calibration])} only: drop it")
    if calib_samples is not None and calib_samples < 0:
        raise EdgekdError(f"--calib-samples must be >= 0, got {calib_samples}")
    if opset is not None and f.name == "tflite":
        raise EdgekdError("--opset applies to onnx and tensorrt exports only: drop it for tflite")
    if opset is not None and not 13 <= opset <= 23:
        raise EdgekdError(f"--opset {opset} is outside 13..23: use 17 or 18")
    if check_installed and not _installed(f.build_module):
        if f.needs_gpu:
            raise EdgekdError(f"{f.name} is not installed here: a {f.name} engine must be built on the target "
                              f"device (its GPU and {f.name} version); see deploy/jetson/")
        raise EdgekdError(f"{f.build_module} is not installed: pip install \"edgekd[{f.extra}]\"")
    return f

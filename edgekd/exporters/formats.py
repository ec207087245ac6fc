"""Export option validation against the model-file table (:mod:`edgekd.model_files`).

:func:`validate` turns every combination the table rules out into a one-line
:class:`~edgekd.errors.EdgekdError` *before* any work is done (in the spirit of
Ultralytics' ``export_formats()``, with named fields, not indices). The formats,
suffixes, runtimes and quantization modes themselves live in :mod:`edgekd.model_files`;
this module adds what only export needs: the attention heads (the exportable rows of
:mod:`edgekd.attention.registry`), the calibration methods and the opset.
"""

from __future__ import annotations

from edgekd.attention import registry
from edgekd.errors import EdgekdError
from edgekd.int8_schemes import scheme_names
from edgekd.model_files import FORMATS, QUANTIZE_MODES, ExportFormat, format_for_suffix, installed
from edgekd.suggest import unknown

__all__ = ["CALIBRATED", "CALIBRATIONS", "DEFAULT_OPSET", "FORMATS", "HEADS", "QUANTIZE_MODES", "ExportFormat",
           "export_formats", "format_for_suffix", "get_format", "validate"]

DEFAULT_OPSET = 18  # onnx and tensorrt exports
HEADS = ("none", *registry.exportable_names())  # attention heads: the exportable combiners
CALIBRATED = scheme_names()  # modes that need calibration images: every int8 scheme
CALIBRATIONS = {  # --calibration: how int8 activation ranges are set from the calibration images
    "minmax": ("onnx", "tflite", "tensorrt"),  # the observed min / max (TensorRT: its entropy calibrator)
    "percentile": ("onnx",),  # onnxruntime: the 99.999th percentile of |x|
}
# onnxruntime's Entropy method gave scales identical to MinMax on both students measured
# (benchmarks/export_matrix/export_matrix.md, int8 settings), so it is not offered.


def export_formats() -> list[dict]:
    """The table as rows of plain values (for ``edgekd`` listings and reports)."""
    return [{"format": f.name, "suffix": f.suffix, "suffixes": list(f.suffixes), "quantize": list(f.quantize),
             "dynamic_batch": f.dynamic_batch, "needs_gpu": f.needs_gpu, "attention_head": f.attention_head,
             "layouts": list(f.layouts), "opset": f.opset, "runtime": f.runtime, "extra": f.extra, "description": f.description}
            for f in FORMATS.values()]


def get_format(name: str) -> ExportFormat:
    """The format row for ``name``; unknown names fail with the known ones and a close match."""
    if name in FORMATS:
        return FORMATS[name]
    raise unknown("export format", name, FORMATS)


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
        raise unknown("quantization", quantize, QUANTIZE_MODES)
    if quantize not in f.quantize:
        raise EdgekdError(f"{f.name} does not support --quantize {quantize}: choose one of {', '.join(f.quantize)}")
    if head not in HEADS:
        raise unknown("attention head", head, HEADS)
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
        raise unknown("--calibration", calibration, CALIBRATIONS)
    if calibration != "minmax" and (quantize not in CALIBRATED or f.name not in CALIBRATIONS[calibration]):
        raise EdgekdError(f"--calibration {calibration} applies to the int8 schemes (--quantize int8...) with "
                          f"{' / '.join(CALIBRATIONS[calibration])} only: drop it")
    if calib_samples is not None and calib_samples < 0:
        raise EdgekdError(f"--calib-samples must be >= 0, got {calib_samples}")
    if opset is not None and not f.opset:
        takes = " and ".join(g.name for g in FORMATS.values() if g.opset)
        raise EdgekdError(f"--opset applies to {takes} exports only: drop it for {f.name}")
    if opset is not None and not 13 <= opset <= 23:
        raise EdgekdError(f"--opset {opset} is outside 13..23: use 17 or 18")
    if check_installed and not installed(f.build_module):
        if f.needs_gpu:
            raise EdgekdError(f"{f.name} is not installed here: a {f.name} engine must be built on the target "
                              f"device (its GPU and {f.name} version); see deploy/jetson/")
        raise EdgekdError(f"{f.build_module} is not installed: pip install \"edgekd[{f.extra}]\"")
    return f

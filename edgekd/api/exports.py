"""``export`` and ``qat``: a checkpoint as an edge artifact, checked by the parity gate; and its
quantisation-aware fine-tuning before an int8 export.

``export`` of an exported .onnx (-> a TensorRT engine on a Jetson) imports no torch; a checkpoint
and ``qat`` need it. Heavy imports happen inside the functions.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from edgekd.api.results import QatResult
from edgekd.exporters.records import ExportResult
from edgekd.exporters.spec import ExportSpec
from edgekd.quant.spec import QatSpec

__all__ = ["export", "qat"]


def export(spec: ExportSpec, console: Any = None) -> ExportResult:
    """Export ``spec.checkpoint`` (format None: onnx for a checkpoint, tensorrt for an .onnx; head
    auto: cam where the model's CAM is not constant, else none; an .onnx keeps its own head).
    ``console`` (a rich Console) shows a refused artifact's parity table and the warnings.
    The result's first note says which head ``auto`` chose."""
    from edgekd.exporters.exporter import export as run_export
    from edgekd.model_files import file_format

    spec.check()
    onnx_input = file_format(spec.checkpoint) == "onnx"
    fmt = spec.format or ("tensorrt" if onnx_input else "onnx")
    auto = spec.head == "auto" and not onnx_input
    head = spec.head
    if head == "auto" and onnx_input:
        head = "none"
    elif head == "auto":
        from edgekd.exporters.head import default_head  # torch: only for a checkpoint

        head = default_head(spec.checkpoint)
    result = run_export(spec.checkpoint, spec.replace(format=fmt, head=head).to_options(), console=console)
    if auto:  # said only after success, so a failure stays one line
        result = replace(result, notes=[f"attention head {head} (the default, auto: cam where it is not constant)",
                                        *result.notes])
    return result


def qat(spec: QatSpec, console: Any = None) -> QatResult:
    """Fine-tune ``spec.run``'s model with fake quantisation into ``spec.target`` and export it in
    int8 through the parity gate (a refused export is in the result, not raised: see
    :attr:`QatResult.failed`). ``console``: progress bar and export tables (None, or ``spec.quiet``: silent)."""
    from edgekd.errors import EdgekdError
    from edgekd.quant.qat import qat as run_qat

    spec.check()
    if not spec.run.exists():
        raise EdgekdError(f"run {spec.run} does not exist: give a run folder or its model.pt")
    target = spec.target
    metrics = run_qat(spec.run, target, spec.to_config(), spec.teacher, spec.data_dir and str(spec.data_dir),
                      spec.force, None if spec.quiet else console)
    return QatResult(out=target, metrics=metrics)

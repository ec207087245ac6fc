"""What an export is asked (:class:`ExportOptions`), what it gives (:class:`ExportResult`) and
the records it leaves beside the artifact: the sidecar, ``<artifact>.parity.json`` and, when the
parity gate refuses it, ``<artifact>.refused.parity.json``.

Shared by the checkpoint route (:mod:`edgekd.exporters.exporter`) and the torch-free ONNX ->
TensorRT route (:mod:`edgekd.exporters.onnx_engine`); imports no torch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgekd.errors import EdgekdError
from edgekd.exporters import formats
from edgekd.exporters.tensorrt_export import DEFAULT_MAX_BATCH, DEFAULT_WORKSPACE_MB

DEFAULT_CALIB_SAMPLES = 256
DEFAULT_PARITY_SAMPLES = 64


@dataclass
class ExportOptions:
    format: str = "onnx"
    head: str = "none"
    quantize: str = "none"
    calib_dataset: str | None = None  # default: the checkpoint's data set (train split)
    calib_samples: int = DEFAULT_CALIB_SAMPLES
    opset: int | None = None  # default DEFAULT_OPSET (onnx, tensorrt)
    dynamic_batch: bool = False
    nhwc: bool = False
    out: Path | None = None
    force: bool = False
    verify: bool = True
    data_dir: str | Path | None = None
    parity_samples: int = DEFAULT_PARITY_SAMPLES
    workspace_mb: int = DEFAULT_WORKSPACE_MB  # tensorrt
    dla_core: int | None = None  # tensorrt on Jetson
    max_batch: int = DEFAULT_MAX_BATCH  # tensorrt --dynamic-batch profile
    calibration: str = "minmax"  # int8 activation ranges: minmax, or percentile (ONNX)
    reduce_range: bool = True  # ONNX int8: 7-bit weights (onnx_export module doc); False: full 8 bits
    accept_drop: float | None = None  # --accept-accuracy-drop, in points of test accuracy
    verbose: bool = False  # let the converters' own logs through
    reuse: dict | None = None  # float graphs kept across exports of one checkpoint (bench --all-formats)


@dataclass
class ExportResult:
    path: Path
    metadata: dict[str, Any]
    parity: dict[str, Any] | None
    seconds: float
    verify_seconds: float
    notes: list[str] = field(default_factory=list)


def sidecar_paths(path: Path) -> tuple[Path, Path]:
    """(``<artifact>.json`` metadata sidecar, ``<artifact>.parity.json``)."""
    return path.with_name(path.name + ".json"), path.with_name(path.name + ".parity.json")


def refused_path(path: Path) -> Path:
    """``<artifact>.refused.parity.json``: the gate's figures for an artifact it refused to write."""
    return path.with_name(path.name + ".refused.parity.json")


def check_output(path: Path, fmt: formats.ExportFormat, force: bool) -> None:
    if path.suffix.lower() not in fmt.suffixes:
        raise EdgekdError(f"--out {path} must end in {' or '.join(fmt.suffixes)} for --format {fmt.name}")
    if path.is_dir():
        raise EdgekdError(f"--out {path} is a folder: give a file name")
    if path.exists() and not force:
        raise EdgekdError(f"{path} already exists: pass --force to overwrite it, or choose another --out")


def write_records(out: Path, fmt: formats.ExportFormat, meta: dict[str, Any], parity: dict[str, Any] | None,
                  export_s: float, notes: list[str], export_settings: dict[str, Any]) -> None:
    """Beside the artifact: the ``<artifact>.json`` metadata sidecar (TFLite, TensorRT) and
    ``<artifact>.parity.json`` (the gate's figures, or why it was skipped)."""
    from edgekd.fileio import atomic_write_json, atomic_write_text
    from edgekd.runtime.metadata import metadata_json

    side, parity_path = sidecar_paths(out)
    if fmt.name != "onnx":
        atomic_write_text(side, metadata_json(meta) + "\n")
    refused_path(out).unlink(missing_ok=True)  # an earlier refusal no longer describes this name
    record = {"artifact": out.name, "written": True, "refused": False, **export_settings, "layout": meta["layout"],
              "bytes": out.stat().st_size, "export_seconds": round(export_s, 3), "notes": notes}
    if parity is None:
        record.update({"verified": False, "reason": "--no-verify: the parity gate was skipped"})
    else:
        record.update({"verified": True, **parity, "notes": notes + list(parity.get("notes") or [])})
    atomic_write_json(parity_path, record)


def settings(opts: ExportOptions) -> dict[str, Any]:
    """The export settings a parity record names (so a refused one says what to change)."""
    calibrated = opts.quantize in formats.CALIBRATED
    return {"format": opts.format, "head": opts.head, "quantize_setting": opts.quantize,
            "calibration": opts.calibration if calibrated else None,
            "reduce_range": opts.reduce_range if calibrated and opts.format == "onnx" else None,
            "calib_samples": opts.calib_samples if calibrated else None,
            "calib_dataset": opts.calib_dataset if calibrated else None}


def gate(path: Path, reference: Any, opts: ExportOptions, test: tuple, runtime: str, what: str,
         record: Path | None = None, console: Any = None, quantize: str | None = None,
         export_settings: dict[str, Any] | None = None) -> dict:
    """The parity report of ``path`` against ``reference()`` (the outputs it must match); when
    refused, the table is printed, ``record`` (:func:`refused_path`) written, and it raises."""
    from edgekd.exporters.verify import check_parity_against, print_report, verdict_error, ways_forward
    from edgekd.fileio import atomic_write_json

    quantize = quantize or opts.quantize
    accept = None if opts.accept_drop is None else opts.accept_drop / 100
    rep = check_parity_against(path, reference, quantize, test[0], test[1], opts.parity_samples, runtime, accept)
    if not rep["passed"]:
        if console is not None:
            print_report(rep, f"parity (refused): {what} in {rep['runtime']}", console)
        if record is not None:
            atomic_write_json(record, {"artifact": record.name[:-len(".refused.parity.json")], "written": False,
                                       "refused": True, "verified": True, **(export_settings or settings(opts)),
                                       **rep, "ways_forward": ways_forward(quantize)})
        raise verdict_error(rep, what, record)
    return rep

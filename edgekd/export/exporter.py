"""``export()``: checkpoint -> artifact, with validation first and the parity gate last.

Order, so that bad requests cost nothing and failures leave nothing behind:

1. the option combination against the format table (:func:`formats.validate`);
2. the output path: refused if it exists (unless ``force``) or has the wrong suffix;
3. the checkpoint (safe load, SHA-256), the head (e.g. a CAM needs a spatial last
   stage) and the data: calibration images (int8) and the test split (parity gate);
4. the export itself, into a temporary file beside the output (``atomic_path``);
5. the parity gate on that temporary file in the real runtime: a failure prints the
   parity table, writes ``<artifact>.refused.parity.json`` (marked ``refused``, with the ways
   forward), deletes the temporary file and raises; the output name is never created, and
   an artifact already there (``--force``) keeps its file, sidecar and ``<artifact>.parity.json``:
   the parity record always describes the file beside it;
6. rename into place, then the ``<artifact>.json`` sidecar (TFLite, TensorRT) and
   ``<artifact>.parity.json``; a refusal record of an earlier attempt is removed.

An exported ``.onnx`` given instead of a checkpoint becomes a TensorRT engine without
torch (:mod:`edgekd.export.onnx_engine`, the Jetson route). This module imports no torch
at import time, so that route works on a device.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgekd.errors import EdgekdError
from edgekd.export import formats
from edgekd.export.tensorrt_export import DEFAULT_MAX_BATCH, DEFAULT_WORKSPACE_MB
from edgekd.model_files import file_format, installed

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


def default_output(checkpoint: Path, opts: ExportOptions) -> Path:
    """Beside the checkpoint: ``<stem>[-head][-quantize][-nhwc][-dynbatch]<suffix>``."""
    parts = [Path(checkpoint).stem]
    parts += [v for v in (opts.head, opts.quantize) if v != "none"]
    parts += ["nhwc"] if opts.nhwc else []
    parts += ["dynbatch"] if opts.dynamic_batch else []
    return Path(checkpoint).with_name("-".join(parts) + formats.get_format(opts.format).suffix)


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


def _metadata(content: dict[str, Any], wrapper: Any, fmt: formats.ExportFormat, opts: ExportOptions,
              opset: int | None) -> dict[str, Any]:
    from edgekd.train.checkpoint import artifact_metadata

    meta = artifact_metadata(content)
    meta.update({"attention_head": opts.head, "attention": wrapper.description(),
                 "attention_layers": list(wrapper.layers), "layout": "NHWC" if opts.nhwc else "NCHW",
                 "format": fmt.name, "quantize": opts.quantize, "dynamic_batch": bool(opts.dynamic_batch),
                 "outputs": wrapper.output_names, "input": "input"})
    if opts.quantize in formats.CALIBRATED and fmt.name in ("onnx", "tflite"):
        meta["int8_scheme"] = int8_record(fmt.name, opts)
    if wrapper.attention_output:
        meta["attention_output"] = wrapper.attention_output
    if opset is not None:
        meta["opset"] = opset
    return meta


def int8_record(fmt: str, opts: ExportOptions) -> dict[str, Any]:
    """The int8 scheme as the metadata records it: its fields, weight bits and calibration."""
    from edgekd.quant.schemes import get_scheme

    bits = 7 if fmt == "onnx" and opts.reduce_range else 8
    return {**get_scheme(opts.quantize).describe(fmt), "weight_bits": bits, "calibration": opts.calibration,
            "calib_samples": opts.calib_samples, "calib_dataset": opts.calib_dataset}


def export(checkpoint: str | Path, opts: ExportOptions, console: Any = None) -> ExportResult:
    """Export ``checkpoint`` as ``opts`` asks; see the module doc for the order of checks."""
    from edgekd.fileio import removed_if_left_empty

    checkpoint = Path(checkpoint)
    if file_format(checkpoint) == "onnx":
        from edgekd.export.onnx_engine import engine_from_onnx

        with removed_if_left_empty((Path(opts.out) if opts.out else checkpoint).parent):
            return engine_from_onnx(checkpoint, opts, console)
    out = Path(opts.out) if opts.out else default_output(checkpoint, opts)
    with removed_if_left_empty(out.parent):  # a refused export leaves no new empty folder
        return _export(checkpoint, out, opts, console)


def _export(checkpoint: Path, out: Path, opts: ExportOptions, console: Any) -> ExportResult:
    from edgekd.attention.stages import trained_layers
    from edgekd.export.data import calibration_images, test_images
    from edgekd.export.head import ExportHead, head_layers
    from edgekd.export.quiet import converter_output
    from edgekd.fileio import atomic_path
    from edgekd.train.checkpoint import build_model, load_checkpoint

    calib_n = opts.calib_samples if opts.quantize in formats.CALIBRATED else None
    fmt = formats.validate(opts.format, opts.quantize, opts.head, opts.dynamic_batch, opts.nhwc, calib_n,
                           opts.opset, calibration=opts.calibration)
    if not opts.reduce_range and (fmt.name != "onnx" or opts.quantize not in formats.CALIBRATED):
        raise EdgekdError("--full-range applies to --format onnx with an int8 scheme (--quantize int8...) only: "
                          "drop it")
    if opts.accept_drop is not None and not 0 <= opts.accept_drop <= 100:
        raise EdgekdError(f"--accept-accuracy-drop is in points of test accuracy (0..100), got {opts.accept_drop:g}")
    opset = (opts.opset or formats.DEFAULT_OPSET) if fmt.opset else None
    check_output(out, fmt, opts.force)
    content = load_checkpoint(checkpoint)
    model = build_model(content)
    input_size = (content["data"]["channels"], content["data"]["size"], content["data"]["size"])
    layers = head_layers(model, opts.head, input_size, trained_layers(content.get("distill")))
    with ExportHead(model, opts.head, input_size, nhwc=opts.nhwc, layers=layers) as wrapper:
        meta = _metadata(content, wrapper, fmt, opts, opset)
        calib = None
        if calib_n:
            calib = calibration_images(opts.calib_dataset or meta["dataset"], calib_n, meta, opts.data_dir)
        test = test_images(meta, opts.data_dir) if opts.verify else None
        t0 = time.perf_counter()
        notes: list[str] = []
        parity: dict[str, Any] | None = None
        verify_s = 0.0
        reuse_key = (content.get("sha256"), str(checkpoint), fmt.name, opts.head, opts.nhwc, opts.dynamic_batch, opset)
        with atomic_path(out) as tmp:
            with converter_output(opts.verbose):  # the converters' logs, shown with --verbose
                if fmt.name == "onnx":
                    from edgekd.export.onnx_export import export_onnx

                    notes += export_onnx(wrapper, tmp, meta, opset=opset, dynamic_batch=opts.dynamic_batch,
                                         quantize_mode=opts.quantize, calib=calib, calibration=opts.calibration,
                                         reduce_range=opts.reduce_range, reuse=opts.reuse, reuse_key=reuse_key)
                elif fmt.name == "tflite":
                    from edgekd.export.tflite_export import export_tflite

                    notes += export_tflite(wrapper, tmp, meta, quantize_mode=opts.quantize, calib=calib,
                                           reuse=opts.reuse, reuse_key=reuse_key)
                else:
                    build = _tensorrt(wrapper, tmp, meta, opts, opset, calib, test, notes)
                    meta.update(build)
            export_s = time.perf_counter() - t0
            if opts.verify:
                t1 = time.perf_counter()
                reference = torch_reference(wrapper, test[0])
                if opts.reuse is not None:  # PyTorch's outputs do not depend on the format or quantization
                    reference = _kept(opts.reuse, ("reference", *reuse_key[:2], opts.head, opts.nhwc), reference)
                parity = gate(tmp, reference, opts, test, fmt.runtime,
                              f"{fmt.name} {opts.quantize} ({opts.head} head)", refused_path(out), console)
                verify_s = time.perf_counter() - t1
    write_records(out, fmt, meta, parity, export_s, notes, settings(opts))
    if parity is None and console is not None:
        console.print("[yellow]warning:[/yellow] --no-verify: the artifact was not checked against PyTorch")
    return ExportResult(out, meta, parity, export_s, verify_s, notes)


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
        record.update({"verified": True, **parity})
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
    from edgekd.export.verify import check_parity_against, print_report, verdict_error, ways_forward
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


def _kept(store: dict, key: tuple, compute: Any) -> Any:
    """``compute`` as a callable whose result is kept in ``store[key]`` (computed at most once)."""
    def get() -> Any:
        if key not in store:
            store[key] = compute()
        return store[key]
    return get


def torch_reference(wrapper: Any, x: Any) -> Any:
    """``reference()`` for :func:`gate`: the PyTorch wrapper's outputs on ``x``."""
    from edgekd.export.verify import torch_outputs

    return lambda: torch_outputs(wrapper, x)


def _tensorrt(wrapper: Any, tmp: Path, meta: dict, opts: ExportOptions, opset: int, calib: Any,
              test: tuple | None, notes: list[str]) -> dict[str, Any]:
    """ONNX (float32, gated in onnxruntime when installed) -> engine at ``tmp``."""
    import onnx

    from edgekd.export.onnx_export import export_onnx, head_nodes
    from edgekd.export.tensorrt_export import build_engine, import_tensorrt

    import_tensorrt()  # fail before the ONNX work when TensorRT is missing
    with tempfile.TemporaryDirectory(prefix="edgekd-trt-") as work:
        source = Path(work) / "model.onnx"
        notes += export_onnx(wrapper, source, meta, opset=opset, dynamic_batch=opts.dynamic_batch)
        if test is not None and installed("onnxruntime"):
            gate(source, torch_reference(wrapper, test[0]), opts, test, "onnxruntime", "the engine's ONNX source",
                 quantize="none")
            notes.append("the engine's ONNX source passed the float32 parity gate in onnxruntime")
        heads = head_nodes(onnx.load(str(source)))
        return build_engine(source, tmp, meta["input_size"], quantize=opts.quantize, calib=calib,
                            dynamic_batch=opts.dynamic_batch, max_batch=opts.max_batch,
                            workspace_mb=opts.workspace_mb, dla_core=opts.dla_core, head_nodes=heads)

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
torch (:mod:`edgekd.exporters.onnx_engine`, the Jetson route). This module imports no torch
at import time, so that route works on a device.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from edgekd.errors import EdgekdError
from edgekd.exporters import formats
from edgekd.exporters.records import (
    DEFAULT_CALIB_SAMPLES,
    DEFAULT_PARITY_SAMPLES,
    ExportOptions,
    ExportResult,
    check_output,
    gate,
    refused_path,
    settings,
    sidecar_paths,
    write_records,
)
from edgekd.model_files import file_format, installed

__all__ = ["DEFAULT_CALIB_SAMPLES", "DEFAULT_PARITY_SAMPLES", "ExportOptions", "ExportResult", "check_output",
           "default_output", "export", "gate", "refused_path", "settings", "sidecar_paths", "write_records"]

def default_output(checkpoint: Path, opts: ExportOptions) -> Path:
    """Beside the checkpoint: ``<stem>[-head][-quantize][-nhwc][-dynbatch]<suffix>``."""
    parts = [Path(checkpoint).stem]
    parts += [v for v in (opts.head, opts.quantize) if v != "none"]
    parts += ["nhwc"] if opts.nhwc else []
    parts += ["dynbatch"] if opts.dynamic_batch else []
    return Path(checkpoint).with_name("-".join(parts) + formats.get_format(opts.format).suffix)


def _metadata(content: dict[str, Any], wrapper: Any, fmt: formats.ExportFormat, opts: ExportOptions,
              opset: int | None) -> dict[str, Any]:
    from edgekd.training.checkpoint import artifact_metadata

    meta = artifact_metadata(content)
    meta.update({"attention_head": opts.head, "attention": wrapper.description(),
                 "attention_layers": list(wrapper.layers), "layout": "NHWC" if opts.nhwc else "NCHW",
                 "format": fmt.name, "quantize": opts.quantize, "dynamic_batch": bool(opts.dynamic_batch),
                 "outputs": wrapper.output_names, "input": "input"})
    if opts.quantize in formats.CALIBRATED and fmt.name in ("onnx", "tflite"):
        meta["int8_scheme"] = int8_record(fmt.name, opts)
    if wrapper.attention_output:
        meta["attention_output"] = wrapper.attention_output
        from edgekd.attention.stages import map_grid

        meta["attention_grid"] = list(map_grid(wrapper.model, opts.head, wrapper.layers, wrapper.input_size))
    if opset is not None:
        meta["opset"] = opset
    return meta


def int8_record(fmt: str, opts: ExportOptions) -> dict[str, Any]:
    """The int8 scheme as the metadata records it: its fields, weight bits and calibration."""
    from edgekd.int8_schemes import get_scheme

    bits = 7 if fmt == "onnx" and opts.reduce_range else 8
    return {**get_scheme(opts.quantize).describe(fmt), "weight_bits": bits, "calibration": opts.calibration,
            "calib_samples": opts.calib_samples, "calib_dataset": opts.calib_dataset}


def export(checkpoint: str | Path, opts: ExportOptions, console: Any = None) -> ExportResult:
    """Export ``checkpoint`` as ``opts`` asks; see the module doc for the order of checks."""
    from edgekd.fileio import removed_if_left_empty

    checkpoint = Path(checkpoint)
    if file_format(checkpoint) == "onnx":
        from edgekd.exporters.onnx_engine import engine_from_onnx

        with removed_if_left_empty((Path(opts.out) if opts.out else checkpoint).parent):
            return engine_from_onnx(checkpoint, opts, console)
    out = Path(opts.out) if opts.out else default_output(checkpoint, opts)
    with removed_if_left_empty(out.parent):  # a refused export leaves no new empty folder
        return _export(checkpoint, out, opts, console)


def _export(checkpoint: Path, out: Path, opts: ExportOptions, console: Any) -> ExportResult:
    from edgekd.attention.stages import trained_layers
    from edgekd.exporters.data import calibration_images, parity_split, test_images
    from edgekd.exporters.head import ExportHead, head_layers
    from edgekd.exporters.quiet import converter_output
    from edgekd.fileio import atomic_path
    from edgekd.runtime.attention import coarse_grid_note
    from edgekd.training.checkpoint import build_model, load_checkpoint

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
        if opts.verify and parity_split(meta) != "test":
            notes.append("the data set has no test split: the parity gate ran on the validation split (its "
                         "'test accuracy' rows are validation accuracy)")
        parity: dict[str, Any] | None = None
        verify_s = 0.0
        reuse_key = (content.get("sha256"), str(checkpoint), fmt.name, opts.head, opts.nhwc, opts.dynamic_batch, opset)
        with atomic_path(out) as tmp:
            with converter_output(opts.verbose):  # the converters' logs, shown with --verbose
                if fmt.name == "onnx":
                    from edgekd.exporters.onnx_export import export_onnx

                    notes += export_onnx(wrapper, tmp, meta, opset=opset, dynamic_batch=opts.dynamic_batch,
                                         quantize_mode=opts.quantize, calib=calib, calibration=opts.calibration,
                                         reduce_range=opts.reduce_range, reuse=opts.reuse, reuse_key=reuse_key)
                elif fmt.name == "tflite":
                    from edgekd.exporters.tflite_export import export_tflite

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
    grid = coarse_grid_note(meta["attention_grid"], input_size) if meta.get("attention_grid") else None
    if grid:
        notes.append(grid)
    write_records(out, fmt, meta, parity, export_s, notes, settings(opts))
    if grid and console is not None:
        console.print(f"[yellow]warning:[/yellow] {grid}")
    if parity is None and console is not None:
        console.print("[yellow]warning:[/yellow] --no-verify: the artifact was not checked against PyTorch")
    return ExportResult(out, meta, parity, export_s, verify_s, notes)


def _kept(store: dict, key: tuple, compute: Any) -> Any:
    """``compute`` as a callable whose result is kept in ``store[key]`` (computed at most once)."""
    def get() -> Any:
        if key not in store:
            store[key] = compute()
        return store[key]
    return get


def torch_reference(wrapper: Any, x: Any) -> Any:
    """``reference()`` for :func:`gate`: the PyTorch wrapper's outputs on ``x``."""
    from edgekd.exporters.verify import torch_outputs

    return lambda: torch_outputs(wrapper, x)


def _tensorrt(wrapper: Any, tmp: Path, meta: dict, opts: ExportOptions, opset: int, calib: Any,
              test: tuple | None, notes: list[str]) -> dict[str, Any]:
    """ONNX (float32, gated in onnxruntime when installed) -> engine at ``tmp``."""
    import onnx

    from edgekd.exporters.onnx_export import export_onnx, head_nodes
    from edgekd.exporters.tensorrt_export import build_engine, import_tensorrt

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

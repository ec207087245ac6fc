"""Export one checkpoint in every format x quantization x attention head (``bench --all-formats``).

The host half of the bench matrix (it needs torch); :mod:`edgekd.benchmarking.matrix` is the device
half, which benchmarks a folder of exported files without torch. Every cell goes through
:func:`edgekd.exporters.exporter.export` and its parity gate, and a cell that fails does not stop
the others: a refused export leaves its ``<file>.refused.parity.json`` (the gate's figures), an
export that fails for another reason is recorded with its one-line reason in the folder's
``matrix.json``, which lists every cell with its status.

Cells: formats ``onnx`` and ``tflite`` (``tensorrt`` where TensorRT is installed), each with
``none``, ``fp16``, every int8 scheme of the format and ``dynamic``; heads ``none`` and the
default one (``cam`` where the model's CAM is not constant). File names:
``<checkpoint stem>-<format>-<quantize>-<head><suffix>``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from edgekd.errors import EdgekdError
from edgekd.exporters import formats
from edgekd.fileio import atomic_write_json
from edgekd.model_files import installed

MANIFEST = "matrix.json"


def default_formats() -> tuple[str, ...]:
    """onnx and tflite, and tensorrt where its builder is installed (a Jetson)."""
    return ("onnx", "tflite") + (("tensorrt",) if installed("tensorrt") else ())


def cell_name(stem: str, fmt: str, quantize: str, head: str) -> str:
    return f"{stem}-{fmt}-{quantize}-{head}{formats.get_format(fmt).suffix}"


def plan(fmts: Sequence[str], heads: Sequence[str], modes: Sequence[str] | None = None) -> list[tuple[str, str, str]]:
    """(format, quantize, head) of every cell, in table order."""
    cells = []
    for fmt in fmts:
        row = formats.get_format(fmt)
        for quantize in (q for q in row.quantize if modes is None or q in modes):
            cells += [(fmt, quantize, head) for head in heads if head == "none" or row.attention_head]
    return cells


def export_matrix(checkpoint: Path, folder: Path, fmts: Sequence[str] | None = None, heads: Sequence[str] | None = None,
                  modes: Sequence[str] | None = None, calib_samples: int = 256, data_dir: str | None = None,
                  console: Any = None) -> dict[str, Any]:
    """Export every cell of ``checkpoint`` into ``folder``; returns (and writes) the manifest."""
    from edgekd.exporters.exporter import ExportOptions, export, refused_path

    if heads is None:
        from edgekd.exporters.head import default_head

        heads = tuple(dict.fromkeys(("none", default_head(checkpoint))))
    cells = plan(fmts or default_formats(), heads, modes)
    if not cells:
        raise EdgekdError("no export cell left: check the formats, heads and quantization modes asked for")
    folder.mkdir(parents=True, exist_ok=True)
    records = []
    reuse: dict = {}  # one torch trace per (format, head): the quantized cells start from the same float graph
    for i, (fmt, quantize, head) in enumerate(cells, 1):
        out = folder / cell_name(checkpoint.stem, fmt, quantize, head)
        rec: dict[str, Any] = {"format": fmt, "quantize": quantize, "head": head, "file": out.name}
        if console is not None:
            console.print(f"[bold]export[/bold] {i}/{len(cells)} {fmt} {quantize} ({head} head)")
        opts = ExportOptions(format=fmt, head=head, quantize=quantize, out=out, force=True, data_dir=data_dir,
                             calib_samples=calib_samples, reuse=reuse)
        t0 = time.perf_counter()
        try:
            export(checkpoint, opts)
            rec["status"] = "ok"
        except EdgekdError as exc:
            rec["status"] = "refused" if refused_path(out).is_file() else "failed"
            rec["reason"] = str(exc).split("; ways forward")[0]
            if rec["status"] == "refused":  # an older file of the cell stays; the manifest says it is not this run's
                rec["record"] = refused_path(out).name
        rec["seconds"] = round(time.perf_counter() - t0, 2)
        records.append(rec)
    manifest = {"checkpoint": str(checkpoint), "calib_samples": calib_samples, "cells": records}
    atomic_write_json(folder / MANIFEST, manifest)
    return manifest

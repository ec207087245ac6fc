"""``edgekd export student.onnx --format tensorrt``: an engine from an exported ONNX, without torch.

This is the Jetson route: the host exports the float32 ONNX (``edgekd export model.pt
--format onnx [--attention-head ...]``), the board builds the engine for its own GPU and
TensorRT version. Everything the engine needs is read from the ONNX's own edgekd
metadata: class names, input size, normalisation, the attention head and output names.
Only numpy, onnxruntime, tensorrt (+ cuda-python for int8) and, for fp16 / int8 with an
attention head, the ``onnx`` package are imported.

Order (as :func:`edgekd.exporters.exporter.export`): the request against the format table,
the source's metadata, the output path, the data (int8 calibration images from
``--calib-dataset``: a data set name, ``folder:PATH``, or a folder of image files; the
test split for the gate), then the build into a temporary file and the **parity gate**:
the engine against onnxruntime running the same ONNX on the test split, with the
tolerances of :mod:`edgekd.exporters.verify`. A failure leaves nothing behind.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from edgekd.errors import EdgekdError, MissingDependency
from edgekd.exporters import formats
from edgekd.images import IMAGE_SUFFIXES, load_image_file


def _check_request(source: Path, opts: Any) -> formats.ExportFormat:
    if opts.format != "tensorrt":
        raise EdgekdError(f"{source.name} is an exported ONNX: it can only become a TensorRT engine "
                          f"(--format tensorrt); export {opts.format} from the checkpoint (.pt)")
    if opts.head != "none":
        raise EdgekdError("the attention head of an engine is the ONNX's own (see its metadata): drop --attention-head")
    if opts.opset is not None:
        raise EdgekdError("--opset applies when exporting from a checkpoint: drop it for an .onnx input")
    calib_n = opts.calib_samples if opts.quantize in formats.CALIBRATED else None
    return formats.validate("tensorrt", opts.quantize, "none", opts.dynamic_batch, opts.nhwc, calib_n)


def source_metadata(source: Path) -> dict[str, Any]:
    """The edgekd metadata of ``source``, refused when absent, quantized or not NCHW."""
    from edgekd.runtime.metadata import check_metadata, read_metadata

    meta = read_metadata(source)
    if not meta:
        raise EdgekdError(f"{source} carries no edgekd metadata (class names, normalisation): export it with "
                          f"`edgekd export model.pt --format onnx`, or build it with trtexec")
    check_metadata(meta)
    if meta.get("quantize", "none") != "none":
        raise EdgekdError(f"{source} is a {meta['quantize']} ONNX: build the engine from the float32 export "
                          f"(edgekd export model.pt --format onnx) and choose --quantize here")
    if meta.get("layout", "NCHW") != "NCHW":
        raise EdgekdError(f"{source} takes {meta['layout']} input: TensorRT engines are built from NCHW exports")
    return meta


def default_engine_path(source: Path, quantize: str) -> Path:
    """``student.onnx`` -> ``student.engine`` / ``student-fp16.engine``."""
    return source.with_name(source.stem + ("" if quantize == "none" else f"-{quantize}")
                           + formats.FORMATS["tensorrt"].suffix)


def folder_images(folder: Path, n: int, meta: dict[str, Any]) -> tuple[np.ndarray, str]:
    """Up to ``n`` image files under ``folder`` (sorted), as the model's C x H x W uint8, and a note."""
    from edgekd.exporters.data import subset

    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if not files:
        raise EdgekdError(f"--calib-dataset {folder} holds no image files ({', '.join(sorted(IMAGE_SUFFIXES))})")
    c, h, w = (int(v) for v in meta["input_size"])
    picked = [files[i] for i in subset(len(files), n)]
    loaded = [load_image_file(p, c, (h, w), resize=True, preprocess=meta.get("preprocess")) for p in picked]
    images = np.stack([image for image, _ in loaded])
    converted = sum(change is not None for _, change in loaded)
    mode = "grey" if c == 1 else "RGB"
    return images, (f"{len(picked)} calibration images from {folder}"
                    + (f", {converted} converted to {mode} {h}x{w}" if converted else ""))


def calibration(name: str, n: int, meta: dict[str, Any], data_dir: Any) -> tuple[np.ndarray, str]:
    """``n`` preprocessed float32 calibration images: a folder of image files, or a data set's train split."""
    from edgekd.data.spec import preprocess
    from edgekd.exporters.data import calibration_images

    path = Path(name).expanduser()
    if not name.startswith("folder:") and path.is_dir():
        images, note = folder_images(path, n, meta)
        return preprocess(images, meta["mean"], meta["std"]), note
    return calibration_images(name, n, meta, data_dir), f"{n} calibration images from {name} (train split)"


def head_nodes(model: Any, logits: str = "logits") -> list[str]:
    """Names of the nodes of an ONNX graph (``onnx.ModelProto``) that the ``logits`` output does not
    depend on: the attention head. Used here and by the ONNX exporter on the host."""
    producer = {out: node for node in model.graph.node for out in node.output}
    needed: set[str] = set()
    stack = [logits]
    while stack:
        node = producer.get(stack.pop())
        if node is None or node.name in needed:
            continue
        needed.add(node.name)
        stack.extend(node.input)
    return [n.name for n in model.graph.node if n.name not in needed]


def attention_nodes(source: Path, meta: dict[str, Any], quantize: str) -> list[str]:
    """ONNX node names of the attention head, pinned to float32 in fp16 / int8 engines."""
    if quantize == "none" or meta.get("attention_head", "none") == "none":
        return []
    try:
        import onnx
    except ImportError:
        raise MissingDependency("onnx", "jetson") from None
    return head_nodes(onnx.load(str(source)))


def onnxruntime_outputs(source: Path, x: np.ndarray) -> dict[str, np.ndarray]:
    """The source ONNX's outputs on ``x`` in onnxruntime: the reference the engine must match."""
    from edgekd.runtime.registry import create_runner

    runner = create_runner(source, "onnxruntime")
    try:
        return runner.run(x)
    finally:
        runner.close()


def engine_from_onnx(source: str | Path, opts: Any, console: Any = None) -> Any:
    """Build, gate and write the engine for ``source`` as ``opts`` (an ExportOptions) asks."""
    from edgekd.exporters.data import test_images
    from edgekd.exporters.records import ExportResult, check_output, gate, refused_path, settings, write_records
    from edgekd.exporters.tensorrt_export import build_engine
    from edgekd.fileio import atomic_path, file_digest

    source = Path(source)
    fmt = _check_request(source, opts)
    meta = source_metadata(source)
    if opts.dynamic_batch and not meta.get("dynamic_batch"):
        raise EdgekdError(f"{source} has a fixed batch of 1: re-export it with --dynamic-batch, or drop it here")
    out = Path(opts.out) if opts.out else default_engine_path(source, opts.quantize)
    check_output(out, fmt, opts.force)
    notes: list[str] = []
    calib = None
    if opts.quantize in formats.CALIBRATED:
        calib, note = calibration(opts.calib_dataset or meta["dataset"], opts.calib_samples, meta, opts.data_dir)
        notes.append(note)
    test = test_images(meta, opts.data_dir) if opts.verify else None
    heads = attention_nodes(source, meta, opts.quantize)
    meta = {**meta, "format": "tensorrt", "quantize": opts.quantize, "dynamic_batch": bool(opts.dynamic_batch),
            "source_onnx": source.name, "source_onnx_sha256": file_digest(source)}
    parity, verify_s = None, 0.0
    export_settings = {**settings(opts), "head": meta["attention_head"], "source_onnx": source.name}
    t0 = time.perf_counter()
    with atomic_path(out) as tmp:
        meta.update(build_engine(source, tmp, meta["input_size"], quantize=opts.quantize, calib=calib,
                                 dynamic_batch=opts.dynamic_batch, max_batch=opts.max_batch,
                                 workspace_mb=opts.workspace_mb, dla_core=opts.dla_core, head_nodes=heads))
        export_s = time.perf_counter() - t0
        if test is not None:
            t1 = time.perf_counter()
            parity = gate(tmp, lambda: onnxruntime_outputs(source, test[0]), opts, test, "tensorrt",
                          f"tensorrt {opts.quantize} built from {source.name}", refused_path(out), console,
                          export_settings=export_settings)
            parity["reference"] = f"onnxruntime on {source.name}"
            verify_s = time.perf_counter() - t1
    write_records(out, fmt, meta, parity, export_s, notes, export_settings)
    if parity is None and console is not None:
        console.print("[yellow]warning:[/yellow] --no-verify: the engine was not checked against onnxruntime")
    return ExportResult(out, meta, parity, export_s, verify_s, notes)

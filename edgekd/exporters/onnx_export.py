"""ONNX export: ``torch.onnx.export(dynamo=True)``, then fp16 / int8 / dynamic quantization.

Steps (each into a temporary folder; the caller renames the final file into place):

1. ``torch.onnx.export(wrapper, dynamo=True, external_data=False, optimize=False)``,
   input ``input``, outputs ``logits`` (and ``attention``), batch axis dynamic on request.
   If the dynamo exporter fails, the legacy TorchScript exporter (opset <= 17) is used
   and a note says so.
2. Constant folding with onnxscript's ``fold_constants`` and dead-node removal only.
   Why not ``optimize=True``: onnxscript 0.7.2's rewrite rules treat ``x + 1e-8`` as an
   ``Add`` of zero (its pattern matcher compares constants with ``abs_tol=1e-8``) and
   delete it, so the min-max eps of the attention maps vanishes and a constant map
   becomes 0 / 0 = NaN in onnxruntime (measured). Folding alone keeps every op.
3. ``fp16``: step 1 on a float16 copy of the student (:meth:`ExportHead.half`): input
   and logits stay float32 (casts in the graph), the attention head computes in float32
   as edgekd.attention does. Why not onnxruntime's ``float16`` converter with the head's
   nodes blocked: it keeps *every tensor between* blocked nodes in float16 (a Cast pair
   around each blocked node), so the min-max eps (1e-8 -> 0) is lost and a constant map
   is 0/0 = NaN; it also mistyped the classifier weight a CAM head shares (checker error).
   Measured with onnxruntime 1.32; onnxconverter-common is not installed here.
   int8 schemes (:mod:`edgekd.int8_schemes`): onnxruntime's ``quantize_static``, calibrated on
   real images through a ``CalibrationDataReader``; signed symmetric per-channel (or per-tensor)
   weights, activations uint8 (``int8``: MLAS's x86 U8S8 path) or int8 (``int8-s8``,
   ``int8-sym``), QDQ or QOperator, the first convolution and the classifier left in float32
   unless ``int8-all`` (their weights stay float initializers: a QDQ pair around them would be
   dequantized at every run). Weights are 7-bit (``reduce_range``) by default: onnxruntime's x86 kernels without
   VNNI can saturate the int16 sums of u8 x s8 products, and on a cnn-small PneumoniaMNIST
   student full-range per-channel weights flipped 17 % of the test decisions (83.0 %
   agreement, accuracy 87.7 -> 74.2 %) where 7-bit weights flipped 0.3 % with unchanged
   accuracy (benchmarks/export_matrix/export_matrix.md); ``--full-range`` keeps 8-bit weights;
   ``dynamic``: ``quantize_dynamic`` (int8 weights). The attention head's own nodes (every
   node the ``logits`` output does not depend on) are excluded from quantization: the map's
   value range is set per image, which static ranges cannot follow.
4. ``metadata_props["edgekd"]`` (edgekd/runtime/metadata.py) and ``onnx.checker``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from edgekd.errors import EdgekdError, MissingDependency
from edgekd.exporters.formats import DEFAULT_OPSET
from edgekd.exporters.head import ExportHead, sample_input
from edgekd.exporters.onnx_engine import head_nodes
from edgekd.exporters.quiet import python_quiet
from edgekd.int8_schemes import INT8_SCHEMES, Int8Scheme
from edgekd.runtime.metadata import METADATA_KEY, first_line, metadata_json

LEGACY_MAX_OPSET = 17


def _imports() -> tuple[Any, Any]:
    try:
        import onnx
        import onnxruntime
    except ImportError as exc:
        raise MissingDependency(exc.name or "onnx", "onnx") from None
    return onnx, onnxruntime


def torch_to_onnx(wrapper: ExportHead, path: Path, input_size, opset: int, dynamic_batch: bool) -> list[str]:
    """Step 1: the float32 graph at ``path``; returns notes (legacy fallback)."""
    import torch

    names = wrapper.output_names
    x = sample_input(tuple(input_size), batch=2 if dynamic_batch else 1)
    try:
        with python_quiet(), torch.no_grad():
            dyn = {"input": {0: torch.export.Dim("batch")}} if dynamic_batch else None
            torch.onnx.export(wrapper, (x,), str(path), dynamo=True, external_data=False, optimize=False,
                              opset_version=opset, input_names=["input"], output_names=names,
                              dynamic_shapes=dyn, verbose=False, report=False)
        return []
    except Exception as exc:  # the dynamo exporter raises many types; the legacy one is the fallback
        reason = first_line(exc)
    legacy_opset = min(opset, LEGACY_MAX_OPSET)
    axes = {n: {0: "batch"} for n in ["input", *names]} if dynamic_batch else None
    try:
        with python_quiet(), torch.no_grad():
            torch.onnx.export(wrapper, (x,), str(path), dynamo=False, opset_version=legacy_opset,
                              input_names=["input"], output_names=names, dynamic_axes=axes)
    except Exception as exc:
        raise EdgekdError(f"ONNX export failed with both exporters (dynamo: {reason}; legacy: {first_line(exc)}): "
                          f"report the model name with this message") from None
    return [f"dynamo exporter failed ({reason}); used the legacy exporter at opset {legacy_opset}"]


def fold(path: Path) -> None:
    """Step 2, in place: constant folding and removal of unused nodes (no rewrite rules)."""
    import onnx_ir as ir
    import onnx_ir.passes.common as common
    from onnxscript.optimizer import fold_constants

    model = ir.load(str(path))
    fold_constants(model)
    common.RemoveUnusedNodesPass()(model)
    ir.save(model, str(path))


def name_nodes(model: Any) -> None:
    """Give every unnamed node a unique name (quantizer exclusion lists match by name)."""
    seen = {n.name for n in model.graph.node if n.name}
    for i, node in enumerate(model.graph.node):
        if not node.name:
            name = f"{node.op_type}_{i}"
            while name in seen:
                name += "_"
            node.name = name
            seen.add(name)


def unshare_head_initializers(model: Any) -> None:
    """Give the head nodes their own copy of initializers the backbone also reads (the
    classifier weight a CAM head gathers from), so quantizing the backbone's weights
    leaves the float32 head reading the exact float weights."""
    from onnx import numpy_helper

    heads = set(head_nodes(model))
    inits = {i.name: i for i in model.graph.initializer}
    backbone = {name for n in model.graph.node if n.name not in heads for name in n.input}
    for node in model.graph.node:
        if node.name not in heads:
            continue
        for k, name in enumerate(node.input):
            if name in inits and name in backbone:
                copy = numpy_helper.from_array(numpy_helper.to_array(inits[name]), f"{name}__head")
                if copy.name not in inits:
                    model.graph.initializer.append(copy)
                    inits[copy.name] = copy
                node.input[k] = copy.name


def calibration_reader(images: np.ndarray) -> Any:
    """An onnxruntime ``CalibrationDataReader`` over real images, one sample per call."""
    from onnxruntime.quantization import CalibrationDataReader

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.i = 0

        def get_next(self) -> dict[str, np.ndarray] | None:
            if self.i >= len(images):
                return None
            self.i += 1
            return {"input": images[self.i - 1:self.i]}

        def rewind(self) -> None:
            self.i = 0

    return Reader()


def first_conv(model: Any) -> list[str]:
    """The name of the first Conv node (graph order is topological), as a one-item list, or []."""
    return next(([n.name] for n in model.graph.node if n.op_type == "Conv"), [])


def classifier(model: Any) -> list[str]:
    """The Gemm / MatMul node (and its bias Add) that writes the ``logits`` output, or []."""
    producer = {out: n for n in model.graph.node for out in n.output}
    node, names = producer.get("logits"), []
    while node is not None and node.op_type in ("Gemm", "MatMul", "Add", "Reshape", "Flatten"):
        names.append(node.name)
        if node.op_type in ("Gemm", "MatMul"):
            return names
        node = producer.get(node.input[0])
    return []


def static_options(scheme: Int8Scheme, reduce_range: bool) -> dict[str, Any]:
    """``quantize_static`` keyword arguments for an int8 scheme (the module doc says why each)."""
    from onnxruntime.quantization import QuantFormat, QuantType

    activation = QuantType.QUInt8 if scheme.activations == "u8" else QuantType.QInt8
    return {"quant_format": QuantFormat.QOperator if scheme.onnx_format == "QOperator" else QuantFormat.QDQ,
            "per_channel": scheme.per_channel, "activation_type": activation, "weight_type": QuantType.QInt8,
            "reduce_range": reduce_range,
            "extra_options": {"WeightSymmetric": True, "ActivationSymmetric": scheme.activations == "s8-symmetric"}}


def quantize(src: Path, dst: Path, mode: str, calib: np.ndarray | None, work: Path,
             calibration: str = "minmax", reduce_range: bool = True) -> None:
    """Step 3: ``src`` (float32) -> ``dst`` in ``mode`` (an int8 scheme, or dynamic); ``calibration``:
    minmax or percentile (onnxruntime's ``CalibrationMethod``) for int8 activation ranges;
    ``reduce_range``: 7-bit weights (onnxruntime's ``reduce_range``, see the module doc)."""
    onnx, _ = _imports()
    from onnxruntime.quantization import CalibrationMethod, QuantType, quantize_dynamic, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    pre = work / "pre.onnx"
    with python_quiet():  # shape inference and onnxruntime's basic fusions (Conv+BN) before quantizing
        quant_pre_process(str(src), str(pre), skip_symbolic_shape=True)
    model = onnx.load(str(pre))
    name_nodes(model)
    unshare_head_initializers(model)
    onnx.save(model, str(pre))
    exclude = head_nodes(model)
    with python_quiet():
        if mode in INT8_SCHEMES:
            scheme = INT8_SCHEMES[mode]
            method = {"minmax": CalibrationMethod.MinMax, "percentile": CalibrationMethod.Percentile}[calibration]
            exclude = exclude + (first_conv(model) if scheme.float_first else []) + \
                (classifier(model) if scheme.float_last else [])
            quantize_static(str(pre), str(dst), calibration_reader(calib), nodes_to_exclude=exclude,
                            calibrate_method=method, **static_options(scheme, reduce_range))
        elif mode == "dynamic":
            quantize_dynamic(str(pre), str(dst), weight_type=QuantType.QInt8, nodes_to_exclude=exclude)
        else:
            raise EdgekdError(f"unknown ONNX quantization {mode!r}")


def write_metadata(path: Path, meta: dict[str, Any]) -> None:
    """Step 4: store the metadata and check the model (full check, with shape inference)."""
    onnx, _ = _imports()
    model = onnx.load(str(path))
    name_nodes(model)  # stable names: TensorRT names its layers after them
    del model.metadata_props[:]
    onnx.helper.set_model_props(model, {METADATA_KEY: metadata_json(meta)})
    try:
        onnx.checker.check_model(model, full_check=True)
    except Exception as exc:
        raise EdgekdError(f"the exported ONNX fails onnx.checker ({first_line(exc)}): report this model") from None
    onnx.save(model, str(path))


def export_onnx(wrapper: ExportHead, path: Path, meta: dict[str, Any], *, opset: int = DEFAULT_OPSET,
                dynamic_batch: bool = False, quantize_mode: str = "none",
                calib: np.ndarray | None = None, calibration: str = "minmax", reduce_range: bool = True,
                reuse: dict | None = None, reuse_key: tuple = ()) -> list[str]:
    """Write the ONNX artifact to ``path`` (the caller's temporary name); returns notes. ``quantize_mode``:
    none, fp16, dynamic or an int8 scheme (:mod:`edgekd.int8_schemes`). ``reuse``: a dict that keeps
    the folded float graph (and its notes) under ``reuse_key`` + its precision, so the exports of one
    model in many quantization modes (``bench --all-formats``) trace it with torch.onnx once."""
    _imports()
    key = (*reuse_key, "fp16" if quantize_mode == "fp16" else "fp32")
    with tempfile.TemporaryDirectory(prefix="edgekd-onnx-") as tmp:
        work = Path(tmp)
        fp32 = work / "model.onnx"
        if reuse is not None and key in reuse:
            graph, notes = reuse[key]
            fp32.write_bytes(graph)
            notes = list(notes)
        else:
            if quantize_mode == "fp16":
                with wrapper.half() as half:
                    notes = torch_to_onnx(half, fp32, meta["input_size"], opset, dynamic_batch)
            else:
                notes = torch_to_onnx(wrapper, fp32, meta["input_size"], opset, dynamic_batch)
            try:
                fold(fp32)
            except Exception as exc:  # folding is an optimisation; the unfolded graph is valid
                notes.append(f"constant folding skipped ({first_line(exc)})")
            if reuse is not None:
                reuse[key] = (fp32.read_bytes(), list(notes))
        if quantize_mode in ("none", "fp16"):
            path.write_bytes(fp32.read_bytes())
        else:
            quantize(fp32, path, quantize_mode, calib, work, calibration, reduce_range)
    write_metadata(path, meta)
    return notes

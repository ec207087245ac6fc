"""The one table of model files: suffixes, export formats, the runtimes that read them,
quantization modes and the pip extras that install each piece (torch-free).

Export (:mod:`edgekd.exporters.formats` validates options against :data:`FORMATS` and names
outputs with their suffix), the runtimes (:mod:`edgekd.runtime.registry` picks a runner
from :data:`AUTO_ORDER`) and bench / explain (option help, refusals) all read this module,
so a suffix, a runtime or a mode is added here once and nowhere else.

Runtimes (``--runtime``), in the order ``auto`` tries them for a suffix several read:

==================  ======================  =====================  ===============
runtime             reads                   module                 extra
==================  ======================  =====================  ===============
``onnxruntime``     ``.onnx``               onnxruntime            runtime
``litert``          ``.tflite``             ai_edge_litert         runtime
``tflite-runtime``  ``.tflite``             tflite_runtime         (none: pip install tflite-runtime)
``tensorrt``        ``.engine``, ``.plan``  tensorrt               tensorrt
``torch``           ``.pt`` (checkpoint)    torch                  train
==================  ======================  =====================  ===============

``auto`` uses tflite-runtime only when ai-edge-litert is absent, with a note the bench
report shows. An export format is written as its runtime's first suffix.

Quantization modes (``--quantize``):

==========  =====================================================================
``none``    float32
``fp16``    ONNX: float16 weights and backbone (attention head kept in float32: its
            min-max eps, 1e-8, is 0 in float16); TFLite: float16 weights, float32
            compute; TensorRT: the FP16 builder flag
``int8``    static int8 with calibration on real images (``--calib-dataset``): the
            scheme measured fastest per format; ``int8-all``, ``int8-pt``, ``int8-io``,
            ``int8-s8``, ``int8-sym``, ``int8-qop`` are the other named schemes
            (:mod:`edgekd.int8_schemes`)
``dynamic`` ONNX: onnxruntime dynamic quantization (int8 weights, activations quantized
            at run time); TFLite: weight-only int8 (float compute, so every runtime
            gives the same answer; dynamic-range kernels gave wrong logits on one
            runtime, see DESIGN.md). TensorRT has no such mode.
==========  =====================================================================
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

from edgekd.errors import MissingDependency
from edgekd.int8_schemes import scheme_names

__all__ = ["AUTO_ORDER", "CHECKPOINT_SUFFIXES", "FORMATS", "MODEL_SUFFIXES", "QUANTIZE_MODES", "RUNTIMES",
           "ExportFormat", "RuntimeSpec", "file_format", "format_for_suffix", "installed", "is_checkpoint", "missing",
           "suffix_list"]

QUANTIZE_MODES = ("none", "fp16", *scheme_names(), "dynamic")


@dataclass(frozen=True)
class RuntimeSpec:
    """One runtime: its ``--runtime`` name, what installs it, the suffixes it reads."""

    name: str
    module: str  # import name, looked up with find_spec (never imported to check)
    dist: str  # pip distribution named in the "not installed" message
    extra: str  # edgekd extra that installs it ("": none does, pip install the distribution itself)
    suffixes: tuple[str, ...]  # the first is what an export to this runtime writes
    runner: str  # "module:Class" of its edgekd.runtime.base.Runner, imported only when used


RUNTIMES: dict[str, RuntimeSpec] = {
    s.name: s
    for s in (
        RuntimeSpec("onnxruntime", "onnxruntime", "onnxruntime", "runtime", (".onnx",),
                    "edgekd.runtime.onnxruntime_runner:OnnxRuntimeRunner"),
        RuntimeSpec("litert", "ai_edge_litert", "ai-edge-litert", "runtime", (".tflite",),
                    "edgekd.runtime.litert_runner:LiteRTRunner"),
        RuntimeSpec("tflite-runtime", "tflite_runtime", "tflite-runtime", "", (".tflite",),
                    "edgekd.runtime.litert_runner:TFLiteRuntimeRunner"),
        RuntimeSpec("tensorrt", "tensorrt", "tensorrt", "tensorrt", (".engine", ".plan"),
                    "edgekd.runtime.tensorrt_runner:TensorRTRunner"),
        RuntimeSpec("torch", "torch", "torch", "train", (".pt",), "edgekd.training.torch_runner:TorchRunner"),
    )
}


@dataclass(frozen=True)
class ExportFormat:
    """One export format (``--format``); its files are read by ``runtime`` (the parity gate, bench)."""

    name: str  # --format value
    quantize: tuple[str, ...]  # allowed --quantize modes
    dynamic_batch: bool  # --dynamic-batch allowed
    needs_gpu: bool  # must be built on the target GPU (TensorRT)
    attention_head: bool  # can carry the "attention" output
    layouts: tuple[str, ...]  # allowed input layouts
    opset: bool  # built through ONNX, so --opset applies
    runtime: str  # the RUNTIMES row that runs the artifact
    build_module: str  # module needed to *write* the artifact
    extra: str  # pip extra that installs it
    description: str

    @property
    def suffixes(self) -> tuple[str, ...]:
        """The suffixes an output may end in: those its runtime reads."""
        return RUNTIMES[self.runtime].suffixes

    @property
    def suffix(self) -> str:
        """The suffix a default output name gets."""
        return self.suffixes[0]


FORMATS: dict[str, ExportFormat] = {
    f.name: f
    for f in (
        ExportFormat("onnx", ("none", "fp16", *scheme_names("onnx"), "dynamic"), True, False, True, ("NCHW",), True,
                     "onnxruntime",
                     "onnxscript", "onnx", "ONNX via torch.onnx (dynamo), run by onnxruntime / TensorRT"),
        ExportFormat("tflite", ("none", "fp16", *scheme_names("tflite"), "dynamic"), False, False, True,
                     ("NCHW", "NHWC"), False, "litert",
                     "litert_torch", "tflite", "TFLite via litert-torch, run by ai-edge-litert (batch 1)"),
        ExportFormat("tensorrt", ("none", "fp16", *scheme_names("tensorrt")), True, True, True, ("NCHW",), True, "tensorrt",
                     "tensorrt", "tensorrt", "TensorRT 10 engine built from the ONNX on the target GPU"),
    )
}


def _auto_order() -> dict[str, tuple[str, ...]]:
    order: dict[str, tuple[str, ...]] = {}
    for spec in RUNTIMES.values():
        for suffix in spec.suffixes:
            order[suffix] = (*order.get(suffix, ()), spec.name)
    return order


#: suffix -> the runtimes ``--runtime auto`` tries, in order (derived from RUNTIMES)
AUTO_ORDER: dict[str, tuple[str, ...]] = _auto_order()
#: every suffix a runtime reads, in table order
MODEL_SUFFIXES: tuple[str, ...] = tuple(AUTO_ORDER)
#: edgekd checkpoints (read by the torch runtime, explained with any combiner)
CHECKPOINT_SUFFIXES: tuple[str, ...] = RUNTIMES["torch"].suffixes


def suffix_list(suffixes: tuple[str, ...] = MODEL_SUFFIXES) -> str:
    """``".onnx, .tflite, ..."`` for messages and option help."""
    return ", ".join(suffixes)


def format_for_suffix(suffix: str) -> ExportFormat | None:
    """The export format whose files end in ``suffix`` (``.onnx``...), None when none does."""
    return next((f for f in FORMATS.values() if suffix.lower() in f.suffixes), None)


def file_format(path: str | Path) -> str | None:
    """The export format name of the file at ``path`` by its suffix (``"onnx"``...), or None."""
    fmt = format_for_suffix(Path(path).suffix)
    return fmt.name if fmt else None


def is_checkpoint(path: str | Path) -> bool:
    """Whether ``path`` is named like an edgekd checkpoint (``.pt``)."""
    return Path(path).suffix.lower() in CHECKPOINT_SUFFIXES


def missing(runtime: str) -> MissingDependency:
    """The error (to raise) for runtime ``runtime`` not installed: its distribution and extra."""
    spec = RUNTIMES[runtime]
    return MissingDependency(spec.dist, spec.extra)


def installed(module: str) -> bool:
    """Whether ``module`` can be imported, checked without importing it."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a parent package missing, or a module without a spec
        return False

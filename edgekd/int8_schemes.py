"""Named int8 schemes: how weights, activations, input / output and the first layer are quantized.

``--quantize int8`` is the scheme measured fastest per format on CPUs (benchmarks/quantization/);
the others are selectable by name to trade speed, portability and accuracy. Every scheme keeps
the weights signed and symmetric (zero point 0), the form the fast int8 kernels take (XNNPACK's
QS8, onnxruntime's MLAS U8S8 / S8S8), and calibrates activation ranges on real training images.

==============  ===========  ===========  =================  ======  ===============  =========
scheme          formats      weights      activations        I/O     float layers     ONNX file
==============  ===========  ===========  =================  ======  ===============  =========
``int8``        onnx tflite  per-channel  u8 (ONNX) / s8     float   first, classif.  QDQ
``int8-all``    onnx tflite  per-channel  u8 (ONNX) / s8     float   none             QDQ
``int8-pt``     onnx tflite  per-tensor   u8 (ONNX) / s8     float   first, classif.  QDQ
``int8-io``     tflite       per-channel  s8                 int8    none             -
``int8-s8``     onnx         per-channel  s8                 float   first, classif.  QDQ
``int8-sym``    onnx         per-channel  s8 symmetric       float   first, classif.  QDQ
``int8-qop``    onnx         per-channel  u8                 float   first, classif.  QOperator
==============  ===========  ===========  =================  ======  ===============  =========

Why these choices (measured on an x86 CPU with AVX2, no VNNI; benchmarks/quantization/):

- *First conv in float*: a first convolution over a 1- or 3-channel image has a tiny inner
  dimension (9 or 27 products per output), where the int8 kernels' fixed costs dominate: in
  both runtimes it took 3-5x longer in int8 than in float32, more than every other layer
  gained. It holds under 1 % of a student's weights, so the file size barely changes.
- *Classifier in float*: the logits are the output a decision is read from; an int8 classifier
  rounds them to steps of (range / 255) and flips near-tied images, a float one (a few hundred
  weights after global pooling) only sees its int8 input.
- *ONNX activations u8*: onnxruntime on x86 runs QDQ models with signed int8 activations through
  slower paths (on a ResNet-20 it fused 9 of 22 convolutions into QLinearConv and ran the rest
  in float between Quantize / Dequantize pairs); with uint8 activations all 22 ran as
  QLinearConv (MLAS U8S8). ARM's MLAS runs s8 natively: ``int8-s8`` is that scheme.
- *ONNX weights 7-bit* (``reduce_range``, unless ``--full-range``): u8 x s8 pairs then cannot
  saturate the 16-bit sums of x86's fast U8S8 kernels, so the runner needs no slower exact mode
  (:mod:`edgekd.runtime.onnxruntime_runner`) and every machine computes the same integers.
- *Symmetric activations* (``int8-sym``) keep a ReLU's zero point in mid-range, so onnxruntime
  cannot fold the ReLU into the convolution: a separate Relu and a Quantize / Dequantize pair
  run after each layer.
- *TFLite float I/O*: the model quantizes its input and dequantizes its outputs inside the
  graph (XNNPACK runs both), so a caller never handles scales; ``int8-io`` keeps int8 tensors
  at the boundary for integer-only accelerators.

This module is torch-free: the runtimes and bench read scheme names from model metadata.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["BEST", "INT8_SCHEMES", "Int8Scheme", "get_scheme", "is_int8", "precision", "scheme_names"]


@dataclass(frozen=True)
class Int8Scheme:
    """One int8 scheme; what each field means for each format is in the module table."""

    name: str
    formats: tuple[str, ...]
    per_channel: bool = True
    activations: str = "u8"  # ONNX activation type: "u8", "s8" or "s8-symmetric"; TFLite is always s8
    float_io: bool = True  # TFLite: float input / output tensors (quantize / dequantize in the graph)
    float_first: bool = True  # the first convolution stays float32
    float_last: bool = True  # the classifier (the layer giving the logits) stays float32
    onnx_format: str = "QDQ"  # or "QOperator"
    summary: str = ""

    def describe(self, fmt: str) -> dict[str, Any]:
        """The scheme as the metadata records it for an artifact of format ``fmt``."""
        d = asdict(self)
        d.pop("formats")
        d["activations"] = "s8" if fmt == "tflite" else self.activations
        if fmt != "tflite":
            d.pop("float_io")
        if fmt != "onnx":
            d.pop("onnx_format")
        return d


INT8_SCHEMES: dict[str, Int8Scheme] = {
    s.name: s
    for s in (
        Int8Scheme("int8", ("onnx", "tflite", "tensorrt"), summary="the measured fastest: per-channel weights, "
                   "first conv and classifier float, float I/O (ONNX: uint8 activations)"),
        Int8Scheme("int8-all", ("onnx", "tflite"), float_first=False, float_last=False,
                   summary="every layer int8, the first conv and the classifier too"),
        Int8Scheme("int8-pt", ("onnx", "tflite"), per_channel=False, summary="per-tensor weights"),
        Int8Scheme("int8-io", ("tflite",), float_io=False, float_first=False, float_last=False,
                   summary="int8 input and output tensors (integer-only accelerators)"),
        Int8Scheme("int8-s8", ("onnx",), activations="s8", summary="signed int8 activations (ARM's native MLAS path)"),
        Int8Scheme("int8-sym", ("onnx",), activations="s8-symmetric", summary="signed symmetric int8 activations"),
        Int8Scheme("int8-qop", ("onnx",), onnx_format="QOperator", summary="QOperator file (QLinearConv ops) "
                   "instead of QDQ"),
    )
}

#: what ``--quantize int8`` is, per format (the measured fastest; benchmarks/quantization/)
BEST = {"onnx": "int8", "tflite": "int8", "tensorrt": "int8"}


def scheme_names(fmt: str | None = None) -> tuple[str, ...]:
    """The int8 scheme names, those a format supports when ``fmt`` is given."""
    return tuple(n for n, s in INT8_SCHEMES.items() if fmt is None or fmt in s.formats)


def is_int8(quantize: str | None) -> bool:
    """Whether a ``--quantize`` value is one of the int8 schemes (static, calibrated)."""
    return quantize in INT8_SCHEMES


def precision(quantize: str | None) -> str:
    """``int8`` for every int8 scheme, else the mode itself (``none``, ``fp16``, ``dynamic``)."""
    return "int8" if is_int8(quantize) else str(quantize or "none")


def get_scheme(name: str) -> Int8Scheme:
    """The scheme called ``name`` (a KeyError for a non-int8 mode: validate first)."""
    return INT8_SCHEMES[name]

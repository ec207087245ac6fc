"""The exported graph: the student's logits and, when asked, its attention map.

:class:`ExportHead` wraps a trained student without editing it. Its forward runs the
student once and returns ``logits`` (B x K), or ``(logits, attention)`` with
``attention`` B x 1 x H x W in [0, 1] at the input's H x W, computed by the very
functions training uses (the attention registry's row for the head, through
``edgekd.attention.compute.combiner_map``) on stage outputs captured by forward hooks.

How the features reach the graph: an :class:`~edgekd.attention.capture.ATCam` is
entered when the wrapper is built (outside the traced forward), so ``torch.export``
(ONNX dynamo, litert-torch) traces through the hooks and the maps become graph ops.
The hooks stay on the student until :meth:`ExportHead.close` (or the ``with`` block
ends); the student's own stage list is respected, so any registered model works.

Which layers (``edgekd/attention/stages.py``, the rule the explain commands share):
- ``fma`` / ``mip``: the stages the student was distilled with when its checkpoint records
  them (``--student-layers``), else its default captured stages, minus those whose output is
  1 x 1 at the export input size (a constant map that rounding would turn into noise).
  If every default stage is 1 x 1 there is no map to export.
- ``cam``: the last stage (the one the classifier pools) through one 1 x 1 convolution
  with the classifier weight: the raw CAM of *every* class at that stage's resolution
  (B x K x h x w, metadata ``attention_output: class-maps``). The host picks the
  predicted class, resizes and normalises only when it draws the map
  (:func:`edgekd.runtime.attention.attention_map`), which keeps the head to one graph op.
  Refused when that stage is 1 x 1 at the export input size (the CAM is then a constant).
- ``nhwc``: the wrapper takes B x H x W x C and permutes to NCHW first (TFLite).
- :meth:`ExportHead.half`: a float16 copy of the student for the ONNX fp16 export. The
  input is cast to float16 inside the graph and the logits back to float32; the maps
  stay float32 because edgekd.attention computes them in float32 (``.float()``), so the
  1e-8 eps of the min-max survives (it is 0 in float16).
"""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import Tensor, nn

from edgekd.attention import registry
from edgekd.attention.cam import class_maps, classifier_of
from edgekd.attention.capture import ATCam
from edgekd.attention.compute import combiner_map
from edgekd.attention.stages import ConstantMapError, map_stages
from edgekd.errors import EdgekdError
from edgekd.exporters.formats import HEADS
from edgekd.runtime.attention import CLASS_MAPS, MAP


def head_layers(model: nn.Module, head: str, input_size: tuple[int, int, int],
                trained: list[str] | None = None) -> list[str]:
    """The stages the ``head`` map is computed from at ``input_size``: for fma / mip the
    ``trained`` layers when the checkpoint records them (see module doc)."""
    if head not in HEADS:
        raise EdgekdError(f"unknown attention head {head!r}: choose one of {', '.join(HEADS)}")
    if head == "none":
        return []
    if head == "cam":
        classifier_of(model)  # one-line error when the model has no final nn.Linear
    try:
        return map_stages(model, head, input_size, trained)
    except ConstantMapError as exc:
        advice = "export an fma or mip head instead" if head == "cam" else "export without an attention head"
        raise EdgekdError(f"{exc}: {advice}") from None


def describe_head(head: str, layers: list[str], size: tuple[int, int]) -> str:
    """One line for the artifact metadata: what the ``attention`` output is."""
    h, w = size
    if head == "none":
        return "none: the model outputs logits only"
    if head == "cam":
        return (f"cam: raw class activation maps of every class (1x1 convolution of stage {layers[0]!r} with "
                f"the classifier weight), output B x classes x h x w at the stage's resolution; to draw: take "
                f"the predicted class's map, bilinear (align_corners=False) to {h}x{w}, per-sample min-max")
    across = "mean" if head == "fma" else "max"
    return (f"{head}: per stage {layers} mean_c|A|, bilinear to {h}x{w}, per-sample min-max; {across} across "
            f"stages, min-max again; output B x 1 x {h} x {w} in [0, 1]")


class ExportHead(nn.Module):
    """``forward(input)`` -> ``logits`` or ``(logits, attention)``; see the module doc.

    Use as a context manager (or call :meth:`close`) so the capture hooks are removed
    from the student afterwards.
    """

    def __init__(self, model: nn.Module, head: str, input_size: tuple[int, int, int], nhwc: bool = False,
                 layers: list[str] | None = None):
        super().__init__()
        self.model = model.eval()
        self.eval()
        self.head = head
        self.nhwc = bool(nhwc)
        self.input_size = tuple(int(v) for v in input_size)
        self.size = (self.input_size[1], self.input_size[2])
        self.layers = list(layers) if layers is not None else head_layers(model, head, self.input_size)
        self.dtype = next(model.parameters()).dtype
        self._capture: ATCam | None = None
        if self.layers:
            self._capture = ATCam(model, self.layers)
            self._capture.__enter__()

    @property
    def attention_output(self) -> str | None:
        """What the ``attention`` output holds (``edgekd.runtime.attention``): None without a head."""
        if self.head == "none":
            return None
        return CLASS_MAPS if self.head == "cam" else MAP

    @property
    def output_names(self) -> list[str]:
        return ["logits"] if self.head == "none" else ["logits", "attention"]

    def description(self) -> str:
        return describe_head(self.head, self.layers, self.size)

    def half(self) -> ExportHead:
        """A new wrapper around a float16 copy of the student (same head, layers, layout).

        The copy's forward hooks are cleared first: deepcopy would copy this wrapper's
        capture hooks too, and they would write into this wrapper's capture.
        """
        twin = copy.deepcopy(self.model)
        for module in twin.modules():
            module._forward_hooks.clear()
        return ExportHead(twin.half(), self.head, self.input_size, self.nhwc, self.layers)

    def forward(self, input: Tensor) -> Any:  # noqa: A002 - the exported input is named "input"
        x = input.permute(0, 3, 1, 2) if self.nhwc else input
        logits = self.model(x.to(self.dtype)).float()
        if self._capture is None:
            return logits
        if self.attention_output == CLASS_MAPS:
            return logits, class_maps(self._capture.features[-1], classifier_of(self.model).weight).float()
        attention = combiner_map(registry.get(self.head), self.model, self._capture.features, self.size, logits)
        return logits, attention.unsqueeze(1)

    def close(self) -> None:
        """Remove the capture hooks from the student (idempotent)."""
        if self._capture is not None:
            self._capture.remove()
            self._capture.clear()

    def __enter__(self) -> ExportHead:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def sample_input(input_size: tuple[int, int, int], batch: int = 1, nhwc: bool = False) -> Tensor:
    """A deterministic tracing input of the export layout."""
    c, h, w = input_size
    shape = (batch, h, w, c) if nhwc else (batch, c, h, w)
    return torch.rand(shape, generator=torch.Generator().manual_seed(0))


def default_head(checkpoint: Any) -> str:
    """``cam`` when the checkpoint's model gives a non-constant CAM at its input size, else ``none``
    (``export --attention-head auto``, and the head cells of ``bench --all-formats``)."""
    from edgekd.attention.cam import classifier_of
    from edgekd.attention.stages import map_stages
    from edgekd.errors import EdgekdError
    from edgekd.training.checkpoint import load_model

    model, meta = load_model(checkpoint)  # a missing or corrupt file fails here with its one-line error
    try:
        classifier_of(model)
        map_stages(model, "cam", meta["input_size"])
    except EdgekdError:
        return "none"
    return "cam"

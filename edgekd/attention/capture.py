"""ATCam, the attention capture module: stage outputs of a model by forward hooks.

Why hooks: the method (METHOD.md, "ATCam") captures feature maps without editing any
model, so every zoo model, torchvision model or user model that names its stages can
be distilled as it is. Hooks are registered on entering the context and always removed
on leaving it, also when an exception is raised inside, so no hook leaks into a later
export or a later training step.

The model contract: ``model.stages`` is a list of submodule names in forward order (the
outputs of the main conv blocks) and ``model.classifier`` names the final ``nn.Linear``,
applied to the global-average-pooled output of the last stage.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import TracebackType
from typing import NamedTuple

import torch
from torch import Tensor, nn

from edgekd.errors import EdgekdError
from edgekd.models.unwrap import unwrap

__all__ = [
    "ATCam",
    "Attention",
    "at_default_layers",
    "default_layers",
    "run_with_features",
    "stages_of",
]


class Attention(NamedTuple):
    """What one combiner computes from one forward pass of one model.

    ``logits``: B x K, from the same forward pass (so no second forward is needed).
    ``map``: B x H x W attention map in [0, 1], or ``None`` for AT (whose loss compares
    per-layer maps, not one map). ``features``: the captured stage outputs, in layer order.
    """

    logits: Tensor
    map: Tensor | None
    features: list[Tensor]


def stages_of(model: nn.Module) -> list[str]:
    """``model.stages`` of the unwrapped model, or a one-line EdgekdError if it has none."""
    inner = unwrap(model)
    stages = getattr(inner, "stages", None)
    if not stages or not all(isinstance(s, str) for s in stages):
        raise EdgekdError(
            f"{type(inner).__name__} has no 'stages' list of submodule names: "
            "add one, or pass explicit layer names"
        )
    return list(stages)


def default_layers(model: nn.Module, k: int | None = None) -> list[str]:
    """The first ``k`` and last ``k`` stages (METHOD.md), deduplicated, in forward order.

    ``k`` defaults to 1 for models with <= 4 stages and 2 otherwise: early stages carry
    edges and textures, late stages the discriminative parts, and the middle is skipped.
    """
    stages = stages_of(model)
    if k is None:
        k = 1 if len(stages) <= 4 else 2
    if k < 1:
        raise EdgekdError(f"k must be >= 1 (got {k}): pass a positive number of stages")
    picked = stages[:k] + stages[-k:]
    return list(dict.fromkeys(picked))


def at_default_layers(model: nn.Module) -> list[str]:
    """Layers for Zagoruyko-Komodakis attention transfer: every stage after the first.

    Their code and RepDistiller's take the output of each residual group and skip the
    stem; a model with a single stage uses that stage.
    """
    stages = stages_of(model)
    return stages[1:] if len(stages) > 1 else stages


def _check_layers(model: nn.Module, layers: Sequence[str]) -> None:
    if isinstance(layers, str) or not layers:
        raise EdgekdError(f"layers must be a non-empty list of submodule names, got {layers!r}")
    names = {name for name, _ in model.named_modules()}
    unknown = [name for name in layers if name not in names]
    if unknown:
        valid = getattr(model, "stages", None) or sorted(n for n in names if n)[:20]
        raise EdgekdError(
            f"unknown layer(s) {unknown} in {type(model).__name__}: valid stages are "
            f"{list(valid)} (any name from model.named_modules() is accepted)"
        )


class ATCam:
    """Context manager that captures the outputs of ``layers`` of ``model``.

    >>> with ATCam(model, ["stem", "layer3"]) as cam:
    ...     logits = model(x)
    >>> a_stem, a_last = cam.features

    ``layers`` defaults to :func:`default_layers`. Unknown names raise EdgekdError when
    the ATCam is built. ``features`` holds the outputs of the latest forward pass in the
    given layer order (a module that runs twice in one pass keeps its last output); it
    stays readable after the ``with`` block. The model is never modified: only forward
    hooks are added, and they are removed on exit.
    """

    def __init__(self, model: nn.Module, layers: Sequence[str] | None = None):
        self.model = unwrap(model)
        self.layers = list(layers) if layers is not None else default_layers(self.model)
        _check_layers(self.model, self.layers)
        self._outputs: dict[str, Tensor] = {}
        self._handles: list[torch.utils.hooks.RemovableHandle] = []

    def _hook(self, name: str):
        def hook(module: nn.Module, args: object, output: object) -> None:
            if isinstance(output, (tuple, list)) and output:
                output = output[0]
            if not isinstance(output, Tensor):
                raise EdgekdError(
                    f"layer {name!r} returned {type(output).__name__}, not a tensor: "
                    "capture a module that outputs a feature map"
                )
            self._outputs[name] = output

        return hook

    def __enter__(self) -> ATCam:
        self._outputs = {}
        try:
            for name in dict.fromkeys(self.layers):
                module = self.model.get_submodule(name)
                self._handles.append(module.register_forward_hook(self._hook(name)))
        except BaseException:
            self.remove()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.remove()

    def remove(self) -> None:
        """Remove every hook this ATCam added (idempotent)."""
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def clear(self) -> None:
        """Forget the captured outputs (they hold activations and their graph)."""
        self._outputs = {}

    @property
    def features(self) -> list[Tensor]:
        """Captured outputs in ``layers`` order; EdgekdError if a layer has not run."""
        missing = [name for name in self.layers if name not in self._outputs]
        if missing:
            raise EdgekdError(
                f"layer(s) {missing} produced no output: run a forward pass inside the "
                "ATCam 'with' block, through the model that owns these layers"
            )
        return [self._outputs[name] for name in self.layers]


def run_with_features(
    model: nn.Module, x: Tensor, layers: Sequence[str]
) -> tuple[Tensor, list[Tensor]]:
    """One forward pass of ``model`` on ``x``: (logits, captured features of ``layers``)."""
    with ATCam(model, layers) as cam:
        logits = model(x)
    return logits, cam.features

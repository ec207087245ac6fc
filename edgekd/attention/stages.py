"""Which stages an explanation map is computed from at a given input size: one rule for
the explain commands (``edgekd/explain/layers.py``) and the exported attention head
(``edgekd/export/head.py``), so the map of a checkpoint and the head of its export agree.

FMA / MIP: the default stages (``default_layers``: first and last ``k``) minus every
stage whose output is 1 x 1 at that input size. CAM: the last stage, refused when it is
1 x 1. Why: a 1 x 1 stage's map is a constant, so in exact arithmetic it contributes
nothing after min-max normalisation, but in floating point the bilinear upsampling of a
1 x 1 map is not bit-constant (measured: 3 distinct values), and min-max then blows that
1e-7 rounding up into an arbitrary [0, 1] pattern that no other runtime reproduces (seen
on digits, 8 x 8 inputs, cnn-small's last stage). A clinician must never be shown that
noise as "where the model looked".
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from edgekd.attention.capture import ATCam, default_layers, stages_of
from edgekd.errors import EdgekdError

__all__ = ["ConstantMapError", "map_stages", "stage_sizes"]


class ConstantMapError(EdgekdError):
    """The map asked for is a constant at this input size (its stages are 1 x 1); callers
    add what to do instead, which differs between explaining and exporting."""


def stage_sizes(model: nn.Module, layers: Sequence[str], input_shape: Sequence[int]) -> dict[str, tuple[int, ...]]:
    """Spatial output size of each of ``layers`` for one zero input of ``input_shape`` (C, H, W),
    in eval mode (the model's mode is restored)."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), ATCam(model, list(layers)) as cam:
            model(torch.zeros(1, *(int(v) for v in input_shape)))
    finally:
        model.train(was_training)
    return {name: tuple(f.shape[-2:]) for name, f in zip(layers, cam.features, strict=True)}


def map_stages(model: nn.Module, kind: str, input_shape: Sequence[int]) -> list[str]:
    """The stages a ``kind`` map (``fma``, ``mip`` or ``cam``) is computed from at
    ``input_shape`` (C, H, W); :class:`ConstantMapError` when that map would be constant."""
    h, w = int(input_shape[-2]), int(input_shape[-1])
    if kind == "cam":
        last = stages_of(model)[-1]
        if stage_sizes(model, [last], input_shape)[last] == (1, 1):
            raise ConstantMapError(f"the CAM of this model is constant at {h}x{w} inputs (its last stage {last!r} "
                                   "is 1x1)")
        return [last]
    picked = default_layers(model)
    sizes = stage_sizes(model, picked, input_shape)
    kept = [name for name in picked if sizes[name] != (1, 1)]
    if not kept:
        raise ConstantMapError(f"every default stage {picked} is 1x1 at {h}x{w} inputs, so the {kind} map is "
                               "constant")
    return kept

"""Which stages a checkpoint's explanation map is computed from: the exported head's rule.

The default stages (``default_layers``: first and last ``k``) minus every stage whose
output is 1 x 1 at the model's input size; CAM uses the last stage and is refused when
that stage is 1 x 1. Why: a 1 x 1 stage's map is a constant, so in exact arithmetic it
contributes nothing after min-max normalisation, but in floating point the bilinear
upsampling of a 1 x 1 map is not bit-constant, and min-max then blows that 1e-7 rounding
up into an arbitrary [0, 1] pattern (seen on digits, 8 x 8 inputs, cnn-small's last
stage). A clinician must never be shown that noise as "where the model looked". The
exporter (``edgekd/export/head.py``) drops the same stages, so the map of a checkpoint
and the head of its export agree. Explicit ``layers`` are used as given.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from edgekd.attention.capture import ATCam, default_layers, stages_of
from edgekd.errors import EdgekdError


def stage_sizes(model: nn.Module, layers: Sequence[str], input_shape: Sequence[int]) -> dict[str, tuple[int, ...]]:
    """Spatial output size of each of ``layers`` for one zero input of ``input_shape`` (C, H, W)."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), ATCam(model, list(layers)) as cam:
            model(torch.zeros(1, *(int(v) for v in input_shape)))
    finally:
        model.train(was_training)
    return {name: tuple(f.shape[-2:]) for name, f in zip(layers, cam.features, strict=True)}


def map_layers(model: nn.Module, map_name: str, input_shape: Sequence[int],
               layers: Sequence[str] | None = None) -> list[str] | None:
    """The layers to pass to the registry's ``compute`` for ``map_name`` (None: SALS needs none)."""
    if layers:
        return list(layers)
    if map_name == "sals":
        return None
    h, w = int(input_shape[-2]), int(input_shape[-1])
    if map_name == "cam":
        last = stages_of(model)[-1]
        if stage_sizes(model, [last], input_shape)[last] == (1, 1):
            raise EdgekdError(f"the CAM of this model is constant at {h}x{w} inputs (its last stage {last!r} "
                              "is 1x1): use --map fma, mip or sals")
        return [last]
    picked = default_layers(model)
    sizes = stage_sizes(model, picked, input_shape)
    kept = [name for name in picked if sizes[name] != (1, 1)]
    if not kept:
        raise EdgekdError(f"every default stage {picked} is 1x1 at {h}x{w} inputs, so the {map_name} map is "
                          "constant: use --map sals, or pass --layers")
    return kept

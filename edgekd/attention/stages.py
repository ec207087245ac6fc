"""Which stages an explanation map is computed from at a given input size: one rule for
the explain commands (``edgekd/explain/layers.py``) and the exported attention head
(``edgekd/exporters/head.py``), so the map of a checkpoint and the head of its export agree.

FMA / MIP: the default stages (``default_layers``: first and last ``k``), or the layers a
distilled student was trained on when its checkpoint records them, minus every stage
whose output is 1 x 1 at that input size. CAM: the last stage, refused when it is 1 x 1.
Why: a 1 x 1 stage's map is a constant, so in exact arithmetic it contributes nothing
after min-max normalisation, but in floating point the bilinear upsampling of a 1 x 1
map is not bit-constant (measured: 3 distinct values), and min-max then blows that 1e-7
rounding up into an arbitrary [0, 1] pattern that no other runtime reproduces (seen on
digits, 8 x 8 inputs, cnn-small's last stage). A clinician must never be shown that
noise as "where the model looked".
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from edgekd.attention import registry
from edgekd.attention.capture import ATCam, stages_of
from edgekd.attention.compute import rule_layers
from edgekd.errors import EdgekdError

__all__ = ["ConstantMapError", "all_one_by_one", "map_stages", "stage_sizes", "trained_layers"]


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
            param = next(model.parameters(), None)
            model(torch.zeros(1, *(int(v) for v in input_shape), device=param.device if param is not None else None))
    finally:
        model.train(was_training)
    return {name: tuple(f.shape[-2:]) for name, f in zip(layers, cam.features, strict=True)}


def map_grid(model: nn.Module, head: str, layers: Sequence[str], input_shape: Sequence[int]) -> tuple[int, int]:
    """The grid an exported map really has: the last stage's resolution for a CAM, the finest
    captured stage's for fma / mip (the map is upsampled to the input size, not refined)."""
    sizes = stage_sizes(model, layers, input_shape)
    if head == "cam":
        return tuple(sizes[layers[-1]])
    return max((tuple(v) for v in sizes.values()), key=lambda hw: hw[0] * hw[1])


def trained_layers(distill_record: dict | None) -> list[str] | None:
    """The student layers a checkpoint's map was trained on, from its ``distill`` record:
    recorded only for methods that train a captured map with the ``first-last`` rule (fma,
    mip), which the fma / mip maps of explain and the export head then reuse. None
    otherwise (the default stages apply)."""
    record = distill_record or {}
    layers, method = record.get("student_layers"), record.get("method")
    if not layers or method not in registry.names() or registry.get(method).layers != "first-last":
        return None
    return [str(name) for name in layers]


def map_stages(model: nn.Module, kind: str, input_shape: Sequence[int],
               trained: Sequence[str] | None = None) -> list[str]:
    """The stages a ``kind`` map (a capture combiner: ``fma``, ``mip``, ``cam``) is computed
    from at ``input_shape`` (C, H, W): the combiner's layer rule, or for the ``first-last``
    rule the ``trained`` layers when given (what the student learned, see
    :func:`trained_layers`), minus 1 x 1 stages. :class:`ConstantMapError` when the map
    would be constant."""
    h, w = int(input_shape[-2]), int(input_shape[-1])
    combiner = registry.get(kind)
    if combiner.layers == "last":
        last = stages_of(model)[-1]
        if stage_sizes(model, [last], input_shape)[last] == (1, 1):
            raise ConstantMapError(f"the {kind.upper()} of this model is constant at {h}x{w} inputs (its last "
                                   f"stage {last!r} is 1x1)")
        return [last]
    picked = list(trained) if trained else rule_layers(combiner, model)
    sizes = stage_sizes(model, picked, input_shape)
    kept = [name for name in picked if sizes[name] != (1, 1)]
    if not kept:
        which = "captured" if trained else "default"
        raise ConstantMapError(f"every {which} stage {picked} is 1x1 at {h}x{w} inputs, so the {kind} map is "
                               "constant")
    return kept


def all_one_by_one(model: nn.Module, layers: Sequence[str], input_shape: Sequence[int]) -> bool:
    """Whether every one of ``layers`` outputs 1 x 1 at ``input_shape`` (C, H, W): a map of
    them is all zeros, so an attention loss on it gives no training signal."""
    return all(hw == (1, 1) for hw in stage_sizes(model, layers, input_shape).values())

"""FMA and MIP attention maps: the method's two forward-only combiners (METHOD.md).

For each captured layer ``l`` with output ``A_l`` (B x C_l x H_l x W_l):

1. intralayer reduction ``m_l = mean_c |A_l|``               -> B x H_l x W_l
2. bilinear resize (align_corners=False) to one common size  -> B x H x W
   (default: the input's H x W)
3. per-sample min-max normalisation to [0, 1], eps 1e-8
4. interlayer reduction: element-wise mean (FMA, feature map accumulation) or
   element-wise max (MIP, maximum intensity projection) across layers
5. a final per-sample min-max normalisation.

Why this shape of code: the same functions build the attention head of exported
students, so they must trace with ``torch.onnx.export`` (dynamo) and litert-torch.
Hence amin / amax over the flattened spatial dims, ``F.interpolate`` with an explicit
integer size, and no Python branching on tensor values. The eps keeps a constant map
(for example a constant input) at 0 instead of NaN.

Maps are computed in float32 even under autocast: in float16, 1e-8 rounds to 0 and a
constant map would divide 0 by 0.

Note: MIP >= FMA holds element-wise before step 5 (a max is never below a mean), but
not after it, because each map is rescaled by its own range.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from edgekd.errors import EdgekdError

__all__ = [
    "EPS",
    "combine",
    "fma",
    "layer_map",
    "layer_maps",
    "minmax",
    "mip",
    "resize",
]

EPS = 1e-8


def minmax(m: Tensor, eps: float = EPS) -> Tensor:
    """Per-sample min-max normalisation of a B x H x W map to [0, 1]."""
    flat = m.flatten(1)
    lo = flat.amin(dim=1)[:, None, None]
    hi = flat.amax(dim=1)[:, None, None]
    return (m - lo) / (hi - lo + eps)


def resize(m: Tensor, size: tuple[int, int]) -> Tensor:
    """Bilinear resize (align_corners=False) of a B x h x w map to B x size[0] x size[1].
    A map already at that size is returned as is: the resize would be the identity, and in
    an exported attention head it would still cost a Resize op per call."""
    if tuple(m.shape[-2:]) == (int(size[0]), int(size[1])):
        return m
    out = F.interpolate(
        m.unsqueeze(1), size=(int(size[0]), int(size[1])), mode="bilinear", align_corners=False
    )
    return out.squeeze(1)


def layer_map(a: Tensor) -> Tensor:
    """Intralayer reduction of one B x C x h x w feature map: ``mean_c |A|``, float32."""
    if a.dim() != 4:
        raise EdgekdError(
            f"attention needs B x C x H x W feature maps, got shape {tuple(a.shape)}: "
            "capture convolutional stages"
        )
    return a.float().abs().mean(dim=1)


def layer_maps(features: Sequence[Tensor], size: tuple[int, int]) -> list[Tensor]:
    """Steps 1-3 for every layer: reduced, resized, normalised B x H x W maps.

    A 1 x 1 layer (a small input through a deep net, e.g. 8 x 8 digits) has no spatial
    information: in exact arithmetic its map is constant and adds nothing, but the
    bilinear upsampling of a 1 x 1 map is not bit-constant, and min-max would blow that
    rounding up into an arbitrary pattern. Such layers are left out (a decision on
    shapes, so it traces); when every layer is 1 x 1 the map is all zeros.
    """
    if len(features) == 0:
        raise EdgekdError("no feature maps to combine: capture at least one layer")
    spatial = [a for a in features if a.shape[-2] * a.shape[-1] > 1]
    if not spatial:
        a = features[0]
        return [a.new_zeros((a.shape[0], int(size[0]), int(size[1])), dtype=torch.float32)]
    return [minmax(resize(layer_map(a), size)) for a in spatial]


def combine(features: Sequence[Tensor], size: tuple[int, int], reduce: str) -> Tensor:
    """Steps 1-5 with ``reduce`` = ``"mean"`` (FMA) or ``"max"`` (MIP): B x H x W in [0, 1]."""
    stacked = torch.stack(layer_maps(features, size), dim=0)
    if reduce == "mean":
        fused = stacked.mean(dim=0)
    elif reduce == "max":
        fused = stacked.amax(dim=0)
    else:
        raise EdgekdError(f"unknown interlayer reduction {reduce!r}: use 'mean' or 'max'")
    return minmax(fused)


def fma(features: Sequence[Tensor], size: tuple[int, int]) -> Tensor:
    """Feature map accumulation: mean across layers of the normalised layer maps."""
    return combine(features, size, "mean")


def mip(features: Sequence[Tensor], size: tuple[int, int]) -> Tensor:
    """Maximum intensity projection: max across layers of the normalised layer maps."""
    return combine(features, size, "max")

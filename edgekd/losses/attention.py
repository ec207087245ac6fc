"""Attention ("segmentation") losses between a student map and the teacher's map.

Both maps are B x H x W in [0, 1]; the teacher's map is the soft target mask.

- ``mse``: mean squared error over all pixels and samples (the default).
- ``bce``: soft binary cross-entropy ``-(t log s + (1 - t) log(1 - s))``, mean over
  pixels and samples. The student map is clamped to [1e-6, 1 - 1e-6] so the per-sample
  min-max normalisation (which puts one pixel at exactly 0 and one at exactly 1) never
  yields log(0). Written out instead of ``F.binary_cross_entropy``, which refuses to
  run under autocast.
- ``dice``: soft Dice per sample, ``1 - (2 sum(s t) + eps) / (sum s + sum t + eps)``,
  then the mean over the batch. The eps (1e-6) in numerator and denominator is the
  usual smoothing: two all-zero maps (a constant input) agree, with loss 0, not NaN.
- ``centred``: MSE between the maps after subtracting each one's batch mean map, so only
  the part of the teacher's map that is *specific to the image* is a target. Plain MSE
  is met most cheaply by the teacher's average map (a central blob on chest X-rays):
  benchmarks/faithfulness/faithfulness.md found distilled students learn mostly that shared prior.
  The batch mean stands in for the data set's mean map; a batch of one has no
  image-specific part and gives 0.

All four are computed in float32.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from edgekd.errors import EdgekdError

__all__ = ["ATT_LOSSES", "attention_loss", "bce_loss", "centred_loss", "cosine_loss", "dice_loss", "mse_loss"]

ATT_LOSSES = ("mse", "bce", "dice", "centred", "cosine")
EPS = 1e-6


def mse_loss(m_s: Tensor, m_t: Tensor) -> Tensor:
    """Mean squared error between the maps."""
    return F.mse_loss(m_s.float(), m_t.float())


def bce_loss(m_s: Tensor, m_t: Tensor, eps: float = EPS) -> Tensor:
    """Soft binary cross-entropy of student map ``m_s`` against target map ``m_t``."""
    s = m_s.float().clamp(eps, 1.0 - eps)
    t = m_t.float()
    return -(t * torch.log(s) + (1.0 - t) * torch.log1p(-s)).mean()


def dice_loss(m_s: Tensor, m_t: Tensor, eps: float = EPS) -> Tensor:
    """Soft Dice loss per sample, averaged over the batch."""
    s = m_s.float().flatten(1)
    t = m_t.float().flatten(1)
    inter = (s * t).sum(dim=1)
    total = s.sum(dim=1) + t.sum(dim=1)
    return (1.0 - (2.0 * inter + eps) / (total + eps)).mean()


def centred_loss(m_s: Tensor, m_t: Tensor) -> Tensor:
    """MSE between the maps' deviations from their batch mean maps (image-specific parts)."""
    s = m_s.float()
    t = m_t.float()
    return F.mse_loss(s - s.mean(dim=0, keepdim=True), t - t.mean(dim=0, keepdim=True))


def cosine_loss(m_s: Tensor, m_t: Tensor, eps: float = EPS) -> Tensor:
    """1 - cosine similarity of each student map with its teacher map, averaged over the batch:
    the explanation term of e2KD (Parchami-Araghi et al., ECCV 2024), which matches where the
    models look whatever the maps' scale (``--method cam --att-loss cosine``)."""
    return (1.0 - F.cosine_similarity(m_s.float().flatten(1), m_t.float().flatten(1), dim=1, eps=eps)).mean()


_LOSSES = {"mse": mse_loss, "bce": bce_loss, "dice": dice_loss, "centred": centred_loss, "cosine": cosine_loss}


def attention_loss(m_s: Tensor, m_t: Tensor, kind: str = "mse") -> Tensor:
    """Scalar attention loss of kind ``mse`` | ``bce`` | ``dice`` | ``centred`` | ``cosine`` between equal-shape maps."""
    if kind not in _LOSSES:
        raise EdgekdError(f"unknown attention loss {kind!r}: choose one of {list(ATT_LOSSES)}")
    if m_s.shape != m_t.shape:
        raise EdgekdError(
            f"student map {tuple(m_s.shape)} and teacher map {tuple(m_t.shape)} differ: "
            "compute both at the same attention size"
        )
    return _LOSSES[kind](m_s, m_t)

"""How alike two attention maps are.

Library functions for ``edgekd attention-agreement`` and for the study; numpy only
(torch is used only when the caller passes torch tensors, and then imported lazily),
so they also run where torch is absent.

* :func:`pearson` -- per-image Pearson correlation of two maps (1: same up to an affine
  rescale, -1: negated). A constant map has no correlation: that image gets ``nan``.
* :func:`topk_iou` -- per-image intersection over union of the ``fraction`` (default 20 %)
  most-attended pixels of each map. Ties are broken by pixel index, so identical maps
  always select identical regions (IoU 1).

Faithfulness (is a map true to its model?) lives in :mod:`edgekd.explain.faithfulness`.
Maps are N x H x W (or one H x W) arrays or tensors.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from edgekd.errors import EdgekdError

__all__ = ["pearson", "to_numpy", "topk_iou"]


def to_numpy(a: Any) -> np.ndarray:
    """A numpy copy of an array or a (possibly attached, possibly GPU) torch tensor."""
    if hasattr(a, "detach"):
        a = a.detach().float().cpu().numpy()
    return np.asarray(a)


def _flat_pair(a: Any, b: Any) -> tuple[np.ndarray, np.ndarray]:
    a, b = to_numpy(a).astype(np.float64), to_numpy(b).astype(np.float64)
    if a.shape != b.shape:
        raise EdgekdError(f"maps have different shapes {a.shape} and {b.shape}: compute both at one size")
    if a.ndim == 2:
        a, b = a[None], b[None]
    if a.ndim != 3:
        raise EdgekdError(f"maps must be N x H x W or H x W, got shape {a.shape}")
    return a.reshape(len(a), -1), b.reshape(len(b), -1)


def pearson(a: Any, b: Any) -> np.ndarray:
    """Per-image Pearson correlation of maps ``a`` and ``b``: float64 array of N values.

    ``nan`` where either map of an image is constant (or not finite): the correlation is
    undefined there; average with ``np.nanmean`` and report how many were undefined.
    """
    fa, fb = _flat_pair(a, b)
    ca = fa - fa.mean(axis=1, keepdims=True)
    cb = fb - fb.mean(axis=1, keepdims=True)
    denom = np.sqrt((ca * ca).sum(axis=1) * (cb * cb).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (ca * cb).sum(axis=1) / denom
    r[~(denom > 0) | ~np.isfinite(denom)] = np.nan
    return np.clip(r, -1.0, 1.0)


def _top_mask(flat: np.ndarray, k: int) -> np.ndarray:
    """Boolean N x P mask of the ``k`` largest values per row, ties to the lower index."""
    order = np.argsort(-np.nan_to_num(flat, nan=-np.inf), axis=1, kind="stable")[:, :k]
    mask = np.zeros(flat.shape, dtype=bool)
    np.put_along_axis(mask, order, True, axis=1)
    return mask


def topk_iou(a: Any, b: Any, fraction: float = 0.2) -> np.ndarray:
    """Per-image IoU of the top ``fraction`` of pixels of ``a`` and of ``b`` (N values in [0, 1])."""
    if not 0 < fraction <= 1:
        raise EdgekdError(f"the top-region fraction must be in (0, 1], got {fraction}")
    fa, fb = _flat_pair(a, b)
    k = max(1, int(round(fraction * fa.shape[1])))
    ma, mb = _top_mask(fa, k), _top_mask(fb, k)
    return (ma & mb).sum(axis=1) / (ma | mb).sum(axis=1)

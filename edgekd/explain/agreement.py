"""How alike two attention maps are, and how faithful a map is to its model.

Library functions for ``edgekd attention-agreement`` and for the study; numpy only
(torch is used only when the caller passes torch tensors, and then imported lazily),
so they also run where torch is absent.

* :func:`pearson` -- per-image Pearson correlation of two maps (1: same up to an affine
  rescale, -1: negated). A constant map has no correlation: that image gets ``nan``.
* :func:`topk_iou` -- per-image intersection over union of the ``fraction`` (default 20 %)
  most-attended pixels of each map. Ties are broken by pixel index, so identical maps
  always select identical regions (IoU 1).
* :func:`deletion_curve` -- faithfulness (Petsiuk et al. 2018, "RISE", deletion metric):
  accuracy of a model as the most-attended pixels of each image are removed in
  ``steps`` equal steps (all channels set to ``fill``; 0 is the data set's mean after
  normalisation, so a removed pixel carries no signal). :func:`curve_auc` is the area
  under that curve over the removed fraction in [0, 1]: lower means the map found the
  pixels the model relies on. Ties within a map are broken in a seeded random order, so
  a constant map behaves like a random one instead of deleting in raster order.
* :func:`random_maps` -- the baseline: uniform random maps from a fixed seed; a map no
  better than these carries no information about the model's decision.

Maps are N x H x W (or one H x W) arrays or tensors; deletion needs them at the input's
H x W (the registry computes maps at the input size by default).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from edgekd.errors import EdgekdError
from edgekd.metrics import accuracy

__all__ = ["curve_auc", "deletion_curve", "pearson", "random_maps", "to_numpy", "topk_iou"]


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


def random_maps(n: int, height: int, width: int, seed: int = 0) -> np.ndarray:
    """``n`` uniform random H x W maps in [0, 1) (float32) from ``seed``: the deletion baseline."""
    return np.random.default_rng(seed).random((n, height, width), dtype=np.float32)


def _ranks(maps: np.ndarray, seed: int) -> np.ndarray:
    """N x P rank of every pixel, 0 = most attended; ties in seeded random order."""
    flat = np.nan_to_num(maps.reshape(len(maps), -1).astype(np.float64), nan=-np.inf)
    jitter = np.random.default_rng(seed).random(flat.shape)
    ranks = np.empty(flat.shape, dtype=np.int64)
    for i in range(len(flat)):  # lexsort: last key is primary (descending map), jitter breaks ties
        order = np.lexsort((jitter[i], -flat[i]))
        ranks[i, order] = np.arange(flat.shape[1])
    return ranks


def _predict(model: Callable[[Any], Any], x: Any, batch_size: int) -> np.ndarray:
    """argmax predictions of ``model`` over ``x`` in batches (no gradients for torch)."""
    is_torch = type(x).__module__.startswith("torch")
    preds = []
    if is_torch:
        import torch

        with torch.no_grad():
            for s in range(0, len(x), batch_size):
                preds.append(to_numpy(model(x[s:s + batch_size])).argmax(1))
    else:
        for s in range(0, len(x), batch_size):
            preds.append(to_numpy(model(x[s:s + batch_size])).argmax(1))
    return np.concatenate(preds)


def deletion_curve(model: Callable[[Any], Any], x: Any, y: Any, maps: Any, steps: int = 10,
                   fill: float = 0.0, batch_size: int = 256, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(fractions removed, accuracy at each) for ``steps + 1`` points from 0 to 1.

    ``model``: a callable from a batch of ``x`` (N x C x H x W, torch tensor or numpy,
    normalised) to logits; an ``nn.Module`` in eval mode works as it is. ``y``: labels.
    ``maps``: N x H x W, most attended = highest. At step ``k`` the
    ``round(k / steps * H * W)`` most attended pixels of each image are set to ``fill``
    in every channel.
    """
    if steps < 1:
        raise EdgekdError(f"deletion needs at least one step, got {steps}")
    m, labels = to_numpy(maps), to_numpy(y).astype(np.int64)
    if m.ndim != 3 or len(m) != len(x) or tuple(m.shape[1:]) != tuple(x.shape[-2:]):
        raise EdgekdError(f"deletion needs one map per image at the input size: maps {tuple(m.shape)}, "
                          f"images {tuple(x.shape)}")
    n, _, h, w = x.shape
    ranks = _ranks(m, seed).reshape(n, 1, h, w)
    fractions = np.linspace(0.0, 1.0, steps + 1)
    accuracies = []
    is_torch = type(x).__module__.startswith("torch")
    for frac in fractions:
        mask = ranks < int(round(frac * h * w))
        if is_torch:
            import torch

            removed = torch.where(torch.from_numpy(mask).to(x.device), torch.full_like(x, fill), x)
        else:
            removed = np.where(mask, np.asarray(fill, dtype=x.dtype), x)
        accuracies.append(accuracy(labels, _predict(model, removed, batch_size)))
    return fractions, np.asarray(accuracies)


def curve_auc(fractions: Any, curve: Any) -> float:
    """Area under a deletion curve (trapezoid rule over the removed fraction)."""
    f, c = np.asarray(fractions, dtype=np.float64), np.asarray(curve, dtype=np.float64)
    return float(np.sum((f[1:] - f[:-1]) * (c[1:] + c[:-1]) / 2.0))

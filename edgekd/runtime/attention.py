"""The map to draw from an exported model's ``attention`` output (numpy only, no torch).

An artifact's metadata key ``attention_output`` says what that output holds:

``map``         B x 1 x H x W in [0, 1] at the input size: the fma / mip heads (and every
                file exported before ``class-maps`` existed, whose metadata lacks the key).
                Drawn as it is.
``class-maps``  B x K x h x w: the raw class activation map of every class at the last
                stage's own resolution (the cam head: one 1 x 1 convolution in the graph).
                The map drawn is the predicted class's (argmax of the logits), resized
                bilinearly with half-pixel centres (PyTorch's ``align_corners=False``) to
                the input H x W, then min-max normalised with eps 1e-8: what
                :func:`edgekd.attention.cam.cam_map` computes in PyTorch.

Why: selecting, resizing and normalising on the host, only when a map is drawn, keeps an
exported CAM head to one graph op (``benchmarks/edge_latency/edge_latency.md``).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from edgekd.errors import EdgekdError

MAP = "map"
CLASS_MAPS = "class-maps"
OUTPUT_KINDS = (MAP, CLASS_MAPS)
EPS = 1e-8  # edgekd.attention.maps.EPS


def output_kind(metadata: Mapping[str, Any]) -> str:
    """``map`` or ``class-maps`` (see the module doc); files without the key hold a ``map``."""
    kind = metadata.get("attention_output", MAP)
    if kind not in OUTPUT_KINDS:
        raise EdgekdError(f"metadata attention_output {kind!r} is not one of {OUTPUT_KINDS}: re-export the model")
    return kind


@functools.lru_cache(maxsize=32)
def bilinear_matrix(n_in: int, n_out: int) -> np.ndarray:
    """n_out x n_in weights of a 1-D bilinear resize with half-pixel centres (PyTorch's
    ``align_corners=False`` for a given output size: source index clamped at 0)."""
    src = np.maximum((np.arange(n_out) + 0.5) * (n_in / n_out) - 0.5, 0.0)
    lo = np.floor(src).astype(int)
    hi = np.minimum(lo + 1, n_in - 1)
    frac = src - lo
    weights = np.zeros((n_out, n_in), dtype=np.float64)
    np.add.at(weights, (np.arange(n_out), lo), 1.0 - frac)
    np.add.at(weights, (np.arange(n_out), hi), frac)
    weights.setflags(write=False)  # cached: shared by every call
    return weights


def resize(maps: np.ndarray, size: Sequence[int]) -> np.ndarray:
    """Bilinear resize of B x h x w maps to B x size[0] x size[1] (identity at that size)."""
    h, w = maps.shape[-2:]
    if (h, w) == (int(size[0]), int(size[1])):
        return maps
    rows, cols = bilinear_matrix(h, int(size[0])), bilinear_matrix(w, int(size[1]))
    return rows @ maps.astype(np.float64) @ cols.T


def minmax(maps: np.ndarray) -> np.ndarray:
    """Per-sample min-max normalisation of B x H x W maps to [0, 1]."""
    lo = maps.min(axis=(1, 2), keepdims=True)
    hi = maps.max(axis=(1, 2), keepdims=True)
    return (maps - lo) / (hi - lo + EPS)


def attention_map(outputs: Mapping[str, np.ndarray], metadata: Mapping[str, Any]) -> np.ndarray:
    """The B x H x W float32 map in [0, 1] to draw from a run's ``outputs`` (see the module doc)."""
    att = np.asarray(outputs["attention"])
    if output_kind(metadata) == MAP:
        return np.asarray(att[:, 0] if att.ndim == 4 else att, dtype=np.float32)
    logits = np.asarray(outputs["logits"])
    if att.ndim != 4 or att.shape[:2] != logits.shape:
        raise EdgekdError(f"class-map attention output {att.shape} does not match the logits {logits.shape}: "
                          "re-export the model")
    size = metadata.get("input_size")
    if not size or len(size) != 3:
        raise EdgekdError("the model's metadata has no input_size to draw its class maps at: re-export it")
    chosen = att[np.arange(len(att)), logits.argmax(axis=1)]
    return minmax(resize(chosen, size[1:])).astype(np.float32)


MIN_GRID = 4  # an attention map coarser than this many cells a side says little about where a model looked


def coarse_grid_note(grid: Sequence[int], input_shape: Sequence[int]) -> str | None:
    """A warning when ``grid`` is coarser than MIN_GRID x MIN_GRID, naming the input size that
    gives an 8 x 8 grid; None when it is fine."""
    h, w = int(grid[0]), int(grid[1])
    if min(h, w) >= MIN_GRID:
        return None
    height, width = int(input_shape[-2]), int(input_shape[-1])
    size = int(round(8 * height / h))
    return (f"the attention map is a {h}x{w} grid at {height}x{width} inputs (coarser than {MIN_GRID}x{MIN_GRID}), "
            f"too coarse to show where the model looked: inputs of {size}x{size} give an 8x8 grid "
            f"(--image-size {size} for a folder:PATH set)")

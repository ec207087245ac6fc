"""Is a map faithful to its model? Insertion minus deletion, with controls and paired intervals.

numpy only (the model is any callable from a normalised N x C x H x W batch to class
probabilities), so the measure is the same whoever computes the maps.

* :func:`ins_del` -- for every image, the softmax probability of the class the model
  predicts on the intact image, as the map's most-attended pixels are *deleted*
  (replaced by a fill) and as they are *inserted* into the fully-filled image, in
  ``steps`` equal steps (Petsiuk et al. 2018, RISE). The score of an image is the area
  under the insertion curve minus the area under the deletion curve (trapezoid rule over
  the fraction of pixels in [0, 1]): positive when the map ranks first the pixels the
  decision rests on. Why ins−del and not deletion alone: deleting a *scattered* set of
  pixels hurts a small CNN more than deleting any smooth region, so "deletion beats a
  random map" is confounded by the mask's shape; for any map whose ordering is random
  (uniform or smooth noise) insertion and deletion are the same experiment mirrored,
  so their expected ins−del is 0 whatever the model.
* Pixels are ranked by the map, most attended first; ties (a constant map, the zeros
  of a ReLU'd GradCAM) are broken in a seeded random order, never in raster order.
* :func:`fill_images` -- what a removed pixel becomes: ``mean`` (0 after normalisation,
  the data set mean) or ``blur`` (the image blurred with a Gaussian of sigma = H / 8).
  :func:`choose_fill` picks the one whose fully-removed image leaves the model least
  decisive (lowest mean top-class probability): on PneumoniaMNIST every model calls a
  blank image "pneumonia" with p ~ 1, so deletion cannot lower p for images predicted
  pneumonia; the fill that carries less class evidence measures more.
* :func:`informative` -- the images where the fully-removed image is *not* given the
  predicted class: the only ones where deletion can move p at all on a binary set.
* :func:`control_maps` -- the four controls every table shows beside the maps: uniform
  ``random``, ``smooth random`` (uniform noise at H/4 x W/4, bilinearly upsampled),
  a ``centre`` Gaussian (sigma = H / 4, the same for every image: the data set prior of
  "look at the middle") and ``brightness`` (the image's own intensity).
* :func:`paired_interval` -- mean and 95 % t-interval of per-image differences (a map
  against a control on the same images, or one model against another).
* :func:`agreement_gain` -- per image, Pearson r of a student's map with the teacher's
  map of the *same* image minus r with the teacher's map of *another* image (a fixed
  derangement): the part of the agreement that is image-specific, not the shared
  average map.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from edgekd.errors import EdgekdError
from edgekd.explain.agreement import pearson, to_numpy

__all__ = ["CONTROLS", "FILLS", "agreement_gain", "choose_fill", "control_maps", "derangement", "fill_images", "format_interval",
           "informative", "ins_del", "paired_interval", "pixel_ranks", "t_quantile"]

FILLS = ("mean", "blur")
CONTROLS = ("random", "smooth random", "centre", "brightness")


def pixel_ranks(maps: np.ndarray, seed: int) -> np.ndarray:
    """N x P rank of every pixel, 0 = most attended; ties in a seeded random order."""
    flat = np.nan_to_num(np.asarray(maps, dtype=np.float64).reshape(len(maps), -1), nan=-np.inf)
    jitter = np.random.default_rng(seed).random(flat.shape)
    ranks = np.empty(flat.shape, dtype=np.int64)
    for i in range(len(flat)):  # lexsort: last key is primary (descending map), jitter breaks ties
        order = np.lexsort((jitter[i], -flat[i]))
        ranks[i, order] = np.arange(flat.shape[1])
    return ranks


def _gaussian_kernel(sigma: float) -> np.ndarray:
    radius = max(1, int(np.ceil(3 * sigma)))
    k = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    return k / k.sum()


def _blur(x: np.ndarray, sigma: float) -> np.ndarray:
    """Separable Gaussian blur of N x C x H x W over H and W (reflected borders)."""
    k = _gaussian_kernel(sigma)
    r = len(k) // 2
    out = x.astype(np.float64)
    for axis in (2, 3):
        pad = [(0, 0)] * 4
        pad[axis] = (r, r)
        p = np.pad(out, pad, mode="reflect" if out.shape[axis] > r else "edge")
        n = out.shape[axis]
        out = sum(k[j] * np.take(p, np.arange(j, j + n), axis=axis) for j in range(len(k)))
    return out.astype(x.dtype)


def fill_images(x: np.ndarray, fill: str) -> np.ndarray:
    """The fully-removed version of every image: ``mean`` (zeros: the data set mean after
    normalisation) or ``blur`` (Gaussian, sigma = H / 8)."""
    if fill == "mean":
        return np.zeros_like(x)
    if fill == "blur":
        return _blur(x, x.shape[-2] / 8.0)
    raise EdgekdError(f"unknown fill {fill!r}: choose one of {', '.join(FILLS)} (or auto)")


def _probs(prob_fn: Callable[[np.ndarray], np.ndarray], x: np.ndarray, batch_size: int) -> np.ndarray:
    return np.concatenate([np.asarray(prob_fn(x[s:s + batch_size]), dtype=np.float64)
                           for s in range(0, len(x), batch_size)])


def choose_fill(prob_fn: Callable[[np.ndarray], np.ndarray], x: np.ndarray,
                batch_size: int = 256) -> tuple[str, dict[str, float]]:
    """(the fill whose fully-removed images get the lowest mean top-class probability,
    that mean for every fill)."""
    decisiveness = {f: float(_probs(prob_fn, fill_images(x, f), batch_size).max(axis=1).mean()) for f in FILLS}
    return min(decisiveness, key=decisiveness.get), decisiveness


def _trapezoid(curves: np.ndarray, fractions: np.ndarray) -> np.ndarray:
    return ((fractions[1:] - fractions[:-1]) * (curves[:, 1:] + curves[:, :-1]) / 2.0).sum(axis=1)


def ins_del(prob_fn: Callable[[np.ndarray], np.ndarray], x: np.ndarray, maps: np.ndarray, filled: np.ndarray,
            target: np.ndarray, steps: int = 10, seed: int = 0, batch_size: int = 256) -> dict[str, np.ndarray]:
    """Per-image deletion and insertion curves of p(``target``) and their ins−del score.

    ``prob_fn``: normalised N x C x H x W float32 -> N x K probabilities. ``maps``: N x H x W,
    most attended = highest. ``filled``: the fully-removed images (:func:`fill_images`).
    At step k the ``round(k / steps * H * W)`` top pixels are removed (deletion) or
    revealed on the filled image (insertion), in every channel.
    Returns ``fractions`` (steps + 1), ``deletion`` and ``insertion`` (N x steps + 1),
    ``ins_del`` (N).
    """
    if steps < 1:
        raise EdgekdError(f"insertion / deletion need at least one step, got {steps}")
    x, filled, m = np.asarray(x), np.asarray(filled, dtype=np.asarray(x).dtype), to_numpy(maps)
    if m.ndim != 3 or len(m) != len(x) or tuple(m.shape[1:]) != tuple(x.shape[-2:]):
        raise EdgekdError(f"faithfulness needs one map per image at the input size: maps {tuple(m.shape)}, "
                          f"images {tuple(x.shape)}")
    n, _, h, w = x.shape
    ranks = pixel_ranks(m, seed).reshape(n, 1, h, w)
    fractions = np.linspace(0.0, 1.0, steps + 1)
    rows = np.arange(n)
    curves = {"deletion": [], "insertion": []}
    for frac in fractions:
        top = ranks < int(round(frac * h * w))
        for key, img in (("deletion", np.where(top, filled, x)), ("insertion", np.where(top, x, filled))):
            curves[key].append(_probs(prob_fn, img, batch_size)[rows, target])
    dele, ins = np.stack(curves["deletion"], 1), np.stack(curves["insertion"], 1)
    return {"fractions": fractions, "deletion": dele, "insertion": ins,
            "ins_del": _trapezoid(ins, fractions) - _trapezoid(dele, fractions)}


def informative(prob_fn: Callable[[np.ndarray], np.ndarray], filled: np.ndarray, target: np.ndarray,
                batch_size: int = 256) -> np.ndarray:
    """Boolean N: the fully-removed image is *not* given the ``target`` (predicted) class."""
    return _probs(prob_fn, filled, batch_size).argmax(axis=1) != np.asarray(target)


def _upsample(low: np.ndarray, h: int, w: int) -> np.ndarray:
    """Bilinear resize (align_corners=False, edges clamped) of N x h0 x w0 to N x h x w."""
    def axis_weights(n_in: int, n_out: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        pos = np.clip((np.arange(n_out) + 0.5) * n_in / n_out - 0.5, 0, n_in - 1)
        lo = np.floor(pos).astype(int)
        return lo, np.minimum(lo + 1, n_in - 1), pos - lo

    r0, r1, fr = axis_weights(low.shape[1], h)
    c0, c1, fc = axis_weights(low.shape[2], w)
    rows = low[:, r0] * (1 - fr)[None, :, None] + low[:, r1] * fr[None, :, None]
    return rows[:, :, c0] * (1 - fc) + rows[:, :, c1] * fc


def control_maps(x: np.ndarray, seed: int = 0, mean: Any = None, std: Any = None) -> dict[str, np.ndarray]:
    """The four controls for normalised images ``x`` (N x C x H x W), each N x H x W.

    ``mean`` / ``std``: the per-channel normalisation, to rank pixels by the image's own
    brightness in [0, 1] units (without them the normalised channels are averaged).
    """
    n, c, h, w = x.shape
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    sigma = min(h, w) / 4.0
    centre = np.exp(-(((yy - (h - 1) / 2) ** 2 + (xx - (w - 1) / 2) ** 2) / (2 * sigma ** 2)))
    raw = np.asarray(x, dtype=np.float64)
    if mean is not None and std is not None:
        raw = raw * np.asarray(std, dtype=np.float64).reshape(1, -1, 1, 1) + np.asarray(mean).reshape(1, -1, 1, 1)
    return {"random": rng.random((n, h, w)),
            "smooth random": _upsample(rng.random((n, max(2, h // 4), max(2, w // 4))), h, w),
            "centre": np.broadcast_to(centre, (n, h, w)).copy(),
            "brightness": raw.mean(axis=1)}


def t_quantile(df: int, q: float = 0.975) -> float:
    """Student's t quantile (scipy; the normal 1.96 when scipy is absent and df is large)."""
    try:
        from scipy import stats
    except ImportError:  # pragma: no cover - scipy comes with scikit-learn (the train extra)
        return 1.959964
    return float(stats.t.ppf(q, df))


def paired_interval(a: Any, b: Any = None) -> dict[str, Any]:
    """Mean of ``a - b`` per image (``b`` omitted: of ``a``) and its 95 % t-interval.

    Non-finite pairs are left out and counted. With fewer than 2 pairs the interval is None.
    """
    d = np.asarray(a, dtype=np.float64) - (0.0 if b is None else np.asarray(b, dtype=np.float64))
    d = np.atleast_1d(d)
    ok = d[np.isfinite(d)]
    out: dict[str, Any] = {"mean": float(ok.mean()) if len(ok) else None, "n": int(len(ok)),
                           "undefined": int(len(d) - len(ok)), "low": None, "high": None}
    if len(ok) >= 2:
        half = t_quantile(len(ok) - 1) * ok.std(ddof=1) / np.sqrt(len(ok))
        out.update(low=float(ok.mean() - half), high=float(ok.mean() + half))
    return out


def format_interval(iv: dict[str, Any] | None) -> str:
    """``+0.123 [+0.100, +0.146]`` (``-`` when undefined, the mean alone without an interval)."""
    if not iv or iv.get("mean") is None:
        return "-"
    if iv.get("low") is None:
        return f"{iv['mean']:+.3f}"
    return f"{iv['mean']:+.3f} [{iv['low']:+.3f}, {iv['high']:+.3f}]"


def derangement(n: int, seed: int = 0) -> np.ndarray:
    """A fixed permutation of range(n) with no fixed point (a seeded single cycle); n >= 2."""
    if n < 2:
        raise EdgekdError(f"a shuffled-pair baseline needs at least 2 images, got {n}")
    order = np.random.default_rng(seed).permutation(n)
    perm = np.empty(n, dtype=np.int64)
    perm[order] = np.roll(order, -1)
    return perm


def agreement_gain(student: Any, teacher: Any, perm: np.ndarray) -> dict[str, np.ndarray]:
    """Per image: r with the teacher's map of the same image, r with the teacher's map of
    image ``perm[i]``, and their difference (``nan`` where a map is constant)."""
    s, t = to_numpy(student), to_numpy(teacher)
    r, r_shuffled = pearson(s, t), pearson(s, t[perm])
    return {"r": r, "r_shuffled": r_shuffled, "gain": r - r_shuffled}

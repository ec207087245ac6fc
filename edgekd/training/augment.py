"""Seeded augmentation whose every view is a pure function of (seed, image, view).

Why pure functions rather than a generator drawn per batch: the teacher cache
(``edgekd/distillation/cache.py``) stores the teacher's outputs for K augmented *views* of each
training image, and the student must train on exactly the view whose outputs it reads
("A good teacher is patient and consistent", Beyer et al. 2022; FKD, Shen & Xing 2022).
So the augmentation of image ``i`` in view ``v`` depends only on ``(seed, i, v)``, and the
view used at epoch ``e`` only on ``(seed, i, e)``: any batch order, rank count or resume
gives the same pixels, and the cache can be built view by view ahead of training.

* :class:`AugmentPolicy`: the kinds and ranges (what a cache's identity records). The
  default is the one edgekd has always used: shifts of up to 2 px with zero padding (zero
  in normalised units, as before), no flip, no rotation. Optional: a horizontal flip with
  probability 1/2 (only where the data set allows it, :func:`edgekd.data.registry.flip_allowed`)
  and a rotation by an angle drawn uniformly from [-rotate, +rotate] degrees (bilinear,
  about the centre, applied before the shift).
* :class:`Views`: the policy, the seed and K. ``K = None`` (training without a cache):
  the view of epoch ``e`` is ``e`` itself, a fresh draw every epoch. ``K`` given: epoch ``e``
  uses view ``perm[e mod K]`` of a random permutation of the K views drawn per image and per
  block of K epochs, so every view is used once in every K epochs (a plain ``hash mod K``
  would leave some of the cached views unused over short schedules).

Randomness is a SplitMix64 hash of the integers (numpy uint64, wrapping), the same on every
platform and independent of torch's generators.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from edgekd.errors import EdgekdError

__all__ = ["AugmentPolicy", "MAX_ROTATE", "MAX_SHIFT", "MAX_VIEWS", "Views"]

MAX_SHIFT = 2  # px: the shift edgekd has always used
MAX_ROTATE = 30.0  # degrees: "small" rotations; beyond this a digit 6 starts to look like a 9
MAX_VIEWS = 256

# field tags: which random number of a view is drawn
_VIEW, _DX, _DY, _FLIP, _ANGLE = 1, 2, 3, 4, 5


def _splitmix(h: np.ndarray) -> np.ndarray:
    h = h + np.uint64(0x9E3779B97F4A7C15)
    h = (h ^ (h >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    h = (h ^ (h >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return h ^ (h >> np.uint64(31))


def hash_u64(*parts) -> np.ndarray:
    """SplitMix64 of a sequence of integers / integer arrays (broadcast), as uint64."""
    with np.errstate(over="ignore"):
        h = np.zeros((), dtype=np.uint64)
        for p in parts:
            p = np.asarray(p)
            p = p.astype(np.int64).astype(np.uint64) if p.dtype != np.uint64 else p  # negatives wrap
            h = _splitmix(h ^ p)
        return h


def uniform(*parts) -> np.ndarray:
    """A float64 in [0, 1) per broadcast element of ``parts`` (53 bits of the hash)."""
    return (hash_u64(*parts) >> np.uint64(11)).astype(np.float64) * 2.0 ** -53


@dataclass(frozen=True)
class AugmentPolicy:
    """Kinds and ranges of the augmentation: shifts up to ``shift`` px, an optional
    horizontal ``flip`` (p = 1/2), rotations up to ``rotate`` degrees either way."""

    shift: int = MAX_SHIFT
    flip: bool = False
    rotate: float = 0.0

    def __post_init__(self) -> None:
        if not 0 <= self.shift <= 8:
            raise EdgekdError(f"shift must be 0..8 px (got {self.shift})")
        if not 0.0 <= self.rotate <= MAX_ROTATE:
            raise EdgekdError(f"--rotate must be 0..{MAX_ROTATE:g} degrees (got {self.rotate:g}): small rotations only")

    def identity(self) -> dict:
        """What a teacher cache records of the policy (kinds and ranges)."""
        return {"shift": self.shift, "flip": self.flip, "rotate": float(self.rotate)}

    def params(self, seed: int, idx: np.ndarray, view: np.ndarray) -> dict[str, np.ndarray]:
        """The parameters of view ``view`` of images ``idx`` (arrays of equal length)."""
        n = 2 * self.shift + 1
        out = {"dx": np.minimum((uniform(seed, _DX, idx, view) * n).astype(np.int64), n - 1),
               "dy": np.minimum((uniform(seed, _DY, idx, view) * n).astype(np.int64), n - 1)}
        out["flip"] = (uniform(seed, _FLIP, idx, view) < 0.5) if self.flip else np.zeros(len(idx), dtype=bool)
        out["angle"] = ((uniform(seed, _ANGLE, idx, view) * 2 - 1) * self.rotate if self.rotate
                        else np.zeros(len(idx)))
        return out

    def apply(self, x: torch.Tensor, p: dict[str, np.ndarray]) -> torch.Tensor:
        """``x`` (B x C x H x W, normalised) transformed by the parameters ``p`` of each image."""
        if self.rotate:
            x = _rotate(x, p["angle"])
        b, _, h, w = x.shape
        if self.shift:
            s = self.shift
            padded = F.pad(x, (s,) * 4)
            x = torch.stack([padded[i, :, p["dy"][i]:p["dy"][i] + h, p["dx"][i]:p["dx"][i] + w] for i in range(b)])
        if self.flip and p["flip"].any():
            mask = torch.from_numpy(p["flip"])
            x = x.clone()
            x[mask] = x[mask].flip(-1)
        return x


def _rotate(x: torch.Tensor, degrees: np.ndarray) -> torch.Tensor:
    """Rotate each image about its centre (bilinear, zeros outside; float64 grid math so the
    result does not depend on the batch it is computed in)."""
    rad = torch.from_numpy(np.deg2rad(degrees))
    cos, sin, zero = torch.cos(rad), torch.sin(rad), torch.zeros_like(rad)
    theta = torch.stack([torch.stack([cos, -sin, zero], 1), torch.stack([sin, cos, zero], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False).to(x.dtype)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


@dataclass(frozen=True)
class Views:
    """Which view of each image an epoch uses, and its pixels. ``policy`` None: no augmentation."""

    policy: AugmentPolicy | None
    seed: int
    k: int | None = None  # None: a fresh view every epoch (no cache); else K views per image

    def __post_init__(self) -> None:
        if self.k is not None and not 1 <= self.k <= MAX_VIEWS:
            raise EdgekdError(f"--cache-views must be 1..{MAX_VIEWS} (got {self.k})")
        if self.policy is None and self.k not in (None, 1):
            raise EdgekdError(f"--cache-views {self.k} needs augmentation: without it every view is the same "
                              "image; drop --no-augment or use --cache-views 1")

    def view(self, idx: torch.Tensor | np.ndarray, epoch: int) -> np.ndarray:
        """The view index (int64) of images ``idx`` at ``epoch``: a pure function of (seed, i, epoch)."""
        idx = np.asarray(idx, dtype=np.int64)
        if self.policy is None:
            return np.zeros(len(idx), dtype=np.int64)
        if self.k is None:
            return np.full(len(idx), epoch, dtype=np.int64)
        block, slot = divmod(epoch, self.k)
        keys = hash_u64(self.seed, _VIEW, idx[:, None], block, np.arange(self.k)[None, :])
        return np.argsort(keys, axis=1, kind="stable")[:, slot].astype(np.int64)

    def images(self, x: torch.Tensor, idx: torch.Tensor | np.ndarray, view: np.ndarray) -> torch.Tensor:
        """Images ``x`` (of training positions ``idx``) as they look in views ``view``."""
        if self.policy is None:
            return x
        return self.policy.apply(x, self.policy.params(self.seed, np.asarray(idx, dtype=np.int64), view))

    def batch(self, x: torch.Tensor, idx: torch.Tensor, epoch: int) -> tuple[torch.Tensor, np.ndarray]:
        """The augmented batch of epoch ``epoch`` and its view indices."""
        view = self.view(idx, epoch)
        return self.images(x, idx, view), view

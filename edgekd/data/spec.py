"""What a data set is, independent of how it is stored: shape, classes, normalisation.

``DatasetInfo`` travels with every checkpoint and exported artifact, so the device side
can preprocess images exactly like training did without knowing the source.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class DatasetInfo:
    """Static facts of a data set: ``size`` is H = W in pixels, ``mean``/``std`` per channel in [0, 1] units."""

    name: str
    num_classes: int
    channels: int
    size: int
    class_names: tuple[str, ...]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    splits: dict[str, int] = field(default_factory=dict)
    source: str = ""
    fingerprint: str = ""  # folder:PATH sets: SHA-256 of layout, files and labels (edgekd/data/folder_scan.py)
    preprocess: dict | None = None  # folder:PATH sets: how a file becomes the input (edgekd/images.py)

    @property
    def has_test(self) -> bool:
        """False for a set without a test split (a train/ + val/ folder): nothing may be reported as test."""
        return not self.splits or "test" in self.splits

    @property
    def binary(self) -> bool:
        return self.num_classes == 2

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return (self.channels, self.size, self.size)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["class_names"] = list(self.class_names)
        d["mean"] = list(self.mean)
        d["std"] = list(self.std)
        if d["preprocess"] is None:
            del d["preprocess"]  # built-in sets: records stay as before
        return d


@dataclass
class Split:
    """One split as arrays: images uint8 N x C x H x W, labels int64 N."""

    images: np.ndarray
    labels: np.ndarray

    def __len__(self) -> int:
        return int(self.labels.shape[0])


def default_data_dir(data_dir: str | Path | None = None) -> Path:
    """``--data-dir`` wins, then ``$EDGEKD_DATA``, then ``~/.cache/edgekd/data``."""
    if data_dir:
        return Path(data_dir).expanduser()
    env = os.environ.get("EDGEKD_DATA")
    if env:
        return Path(env).expanduser()
    return Path.home() / ".cache" / "edgekd" / "data"


def preprocess(images: np.ndarray, mean, std) -> np.ndarray:
    """uint8 N x C x H x W -> float32, scaled to [0, 1] then normalised per channel."""
    x = images.astype(np.float32) / 255.0
    m = np.asarray(mean, dtype=np.float32).reshape(1, -1, 1, 1)
    s = np.asarray(std, dtype=np.float32).reshape(1, -1, 1, 1)
    return (x - m) / s


def stratified_indices(labels: np.ndarray, fractions: tuple[float, ...], seed: int) -> list[np.ndarray]:
    """Split indices into len(fractions) disjoint, class-stratified parts, deterministically.

    Used for the digits split, MNIST's validation hold-out, one-folder image sets and the
    low-data regime (a 10 % label subset). The last part takes the remainder of each class.
    """
    rng = np.random.default_rng(seed)
    classes, counts = np.unique(labels, return_counts=True)
    # per-class sizes by largest remainder, so every part's total is exactly round(frac * N)
    sizes = np.zeros((len(fractions), len(classes)), dtype=np.int64)
    for i, frac in enumerate(fractions[:-1]):
        exact = frac * counts
        sizes[i] = np.floor(exact).astype(np.int64)
        short = int(round(frac * len(labels))) - int(sizes[i].sum())
        order = np.argsort(-(exact - sizes[i]), kind="stable")
        sizes[i, order[:max(short, 0)]] += 1
    sizes[-1] = counts - sizes[:-1].sum(axis=0)
    parts: list[list[np.ndarray]] = [[] for _ in fractions]
    for c, cls in enumerate(classes):
        idx = np.flatnonzero(labels == cls)
        rng.shuffle(idx)
        bounds = np.concatenate([[0], np.cumsum(sizes[:, c])])
        for i in range(len(fractions)):
            parts[i].append(idx[bounds[i]:bounds[i + 1]])
    return [np.sort(np.concatenate(p)) for p in parts]

"""scikit-learn's handwritten digits (UCI, 1797 images of 8x8): the embedded default data set.

It needs no file, so the demo and most tests run anywhere. Pixel values 0..16 are
scaled to uint8 0..255. Splits are a deterministic stratified 60/20/20 from a fixed seed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edgekd.data.spec import DatasetInfo, Split, stratified_indices
from edgekd.errors import MissingDependency

SPLIT_SEED = 0
FRACTIONS = (0.6, 0.2, 0.2)


class DigitsSource:
    """The digits data set, split train/val/test = 1078/359/360."""

    name = "digits"
    info = DatasetInfo(
        name="digits", num_classes=10, channels=1, size=8, class_names=tuple(str(i) for i in range(10)),
        mean=(0.305,), std=(0.376,), splits={"train": 1078, "val": 359, "test": 360},
        source="scikit-learn load_digits (UCI), stratified 60/20/20 split, seed 0",
    )

    def present(self, root: Path) -> bool:
        return True

    def load(self, split: str, root: Path, download_ok: bool = False) -> Split:
        try:
            from sklearn.datasets import load_digits
        except ImportError:
            raise MissingDependency("scikit-learn", "train") from None
        bunch = load_digits()
        images = np.round(bunch.images * (255.0 / 16.0)).astype(np.uint8)[:, None]
        labels = bunch.target.astype(np.int64)
        parts = dict(zip(("train", "val", "test"), stratified_indices(labels, FRACTIONS, SPLIT_SEED)))
        keep = parts[split]
        return Split(np.ascontiguousarray(images[keep]), labels[keep])

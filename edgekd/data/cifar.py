"""CIFAR-10 / CIFAR-100 through torchvision's dataset classes (download only with --download).

Files live in ``<data_dir>/<name>/`` in torchvision's own layout. The validation split
is a stratified 5000-image hold-out of the training set (fixed seed).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edgekd.data.spec import DatasetInfo, Split, stratified_indices
from edgekd.errors import EdgekdError, MissingDependency

VAL_HOLDOUT = 5000
NORM = {
    "cifar10": ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)),
    "cifar100": ((0.5071, 0.4865, 0.4409), (0.2673, 0.2564, 0.2762)),
}
FOLDER = {"cifar10": "cifar-10-batches-py", "cifar100": "cifar-100-python"}
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


class CifarSource:
    def __init__(self, name: str):
        self.name = name
        classes = CIFAR10_CLASSES if name == "cifar10" else tuple(f"class_{i}" for i in range(100))
        mean, std = NORM[name]
        self.info = DatasetInfo(
            name=name, num_classes=len(classes), channels=3, size=32, class_names=classes, mean=mean, std=std,
            splits={"train": 50000 - VAL_HOLDOUT, "val": VAL_HOLDOUT, "test": 10000},
            source=f"torchvision {name}; val = stratified {VAL_HOLDOUT}-image hold-out of train (seed 0)",
        )

    def present(self, root: Path) -> bool:
        return (root / self.name / FOLDER[self.name]).is_dir()

    def load(self, split: str, root: Path, download_ok: bool = False) -> Split:
        try:
            import torchvision.datasets as tvd
        except ImportError:
            raise MissingDependency("torchvision", "train") from None
        if not download_ok and not self.present(root):
            raise EdgekdError(f"{self.name} not found in {root / self.name}; run with --download "
                              f"or set --data-dir / EDGEKD_DATA to the folder that holds it")
        cls = tvd.CIFAR10 if self.name == "cifar10" else tvd.CIFAR100
        try:
            ds = cls(str(root / self.name), train=split != "test", download=download_ok)
        except Exception as exc:
            raise EdgekdError(f"could not load {self.name} from {root / self.name} ({type(exc).__name__}); "
                              f"delete the folder and rerun with --download") from None
        if self.name == "cifar100":
            self.info = DatasetInfo(**{**self.info.__dict__, "class_names": tuple(ds.classes)})
        images = np.asarray(ds.data, dtype=np.uint8).transpose(0, 3, 1, 2)
        labels = np.asarray(ds.targets, dtype=np.int64)
        if split != "test":
            frac = VAL_HOLDOUT / len(labels)
            val_idx, train_idx = stratified_indices(labels, (frac, 1 - frac), 0)
            keep = train_idx if split == "train" else val_idx
            images, labels = images[keep], labels[keep]
        return Split(np.ascontiguousarray(images), labels)

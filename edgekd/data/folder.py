"""A user's own images: ``folder:PATH`` in the ImageFolder convention (one subfolder per class).

``PATH`` holds either ``train/``, ``val/`` and ``test/`` subfolders, each with one
folder per class, or the class folders directly, which are then split 70/15/15,
stratified, with a fixed seed. Classes are the sorted folder names (as torchvision's
ImageFolder does). Images are read with Pillow, so no torch is needed; all are resized
to the size of the first training image (square) and kept grey when every image is grey.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edgekd.data.spec import DatasetInfo, Split, stratified_indices
from edgekd.errors import EdgekdError, MissingDependency

EXTENSIONS = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".pgm", ".ppm"}
FRACTIONS = (0.7, 0.15, 0.15)


def _class_files(folder: Path) -> tuple[list[str], list[tuple[Path, int]]]:
    classes = sorted(p.name for p in folder.iterdir() if p.is_dir())
    files = [(f, i) for i, c in enumerate(classes) for f in sorted((folder / c).rglob("*"))
             if f.suffix.lower() in EXTENSIONS]
    return classes, files


class FolderSource:
    def __init__(self, path: str):
        self.path = Path(path).expanduser()
        self.name = f"folder:{path}"
        if not self.path.is_dir():
            raise EdgekdError(f"image folder {self.path} does not exist; give folder:PATH with one subfolder per class")
        self.has_splits = all((self.path / s).is_dir() for s in ("train", "val", "test"))
        classes, files = _class_files(self.path / "train" if self.has_splits else self.path)
        if not files:
            raise EdgekdError(f"no images found in {self.path}; expected class subfolders of .png/.jpg files")
        self._cache: dict[str, Split] = {}
        first = self._open(files[0][0])
        size = min(first.size)
        grey = all(self._open(f).mode in ("L", "1", "I;16", "I") for f, _ in files[:64])
        channels = 1 if grey else 3
        self.info = DatasetInfo(
            name=self.name, num_classes=len(classes), channels=channels, size=size, class_names=tuple(classes),
            mean=(0.5,) * channels, std=(0.5,) * channels, splits={}, source=f"image folder {self.path}",
        )

    @staticmethod
    def _open(path: Path):
        try:
            from PIL import Image
        except ImportError:
            raise MissingDependency("Pillow", "runtime") from None
        try:
            return Image.open(path)
        except Exception:
            raise EdgekdError(f"{path} is not a readable image; remove it from the folder") from None

    def present(self, root: Path) -> bool:
        return True

    def _read(self, files: list[tuple[Path, int]]) -> Split:
        mode = "L" if self.info.channels == 1 else "RGB"
        size = self.info.size
        if not files:  # a split with no images: load_split reports it as empty
            return Split(np.zeros((0, self.info.channels, size, size), np.uint8), np.zeros(0, np.int64))
        arrays = [np.asarray(self._open(f).convert(mode).resize((size, size))) for f, _ in files]
        images = np.stack(arrays).reshape(len(files), size, size, -1).transpose(0, 3, 1, 2)
        labels = np.array([label for _, label in files], dtype=np.int64)
        return Split(np.ascontiguousarray(images, dtype=np.uint8), labels)

    def load(self, split: str, root: Path, download_ok: bool = False) -> Split:
        if split in self._cache:
            return self._cache[split]
        if self.has_splits:
            classes, files = _class_files(self.path / split)
            if list(classes) != list(self.info.class_names):
                raise EdgekdError(f"{self.path / split} has classes {classes}, train has "
                                  f"{list(self.info.class_names)}; use the same class folders in every split")
            result = self._read(files)
        else:
            _, files = _class_files(self.path)
            labels = np.array([label for _, label in files])
            parts = dict(zip(("train", "val", "test"), stratified_indices(labels, FRACTIONS, 0)))
            result = self._read([files[i] for i in parts[split]])
        self._cache[split] = result
        return result

"""A user's own images: ``folder:PATH`` (ImageFolder convention, one subfolder per class).

The layouts accepted, the ones refused and the conversion rules are in
:mod:`edgekd.data.folder_scan`, which reads the folder before any pixel is decoded.
Classes are the sorted class-folder names (as torchvision's ImageFolder does). Images are
read with Pillow, so no torch is needed: converted to ``L`` (every image grey) or ``RGB``
and resized to S x S (S: the shorter side of the most common image size).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edgekd.data.folder_scan import FolderScan, scan
from edgekd.data.spec import DatasetInfo, Split
from edgekd.errors import EdgekdError


class FolderSource:
    def __init__(self, path: str):
        self.name = f"folder:{path}"
        self.scan: FolderScan = scan(path)
        self.path = self.scan.root
        self._cache: dict[str, Split] = {}
        s = self.scan
        self.info = DatasetInfo(
            name=self.name, num_classes=len(s.classes), channels=s.channels, size=s.size,
            class_names=tuple(s.classes), mean=(0.5,) * s.channels, std=(0.5,) * s.channels,
            splits={k: len(v) for k, v in s.splits.items()},
            source=f"image folder {self.path}, layout {s.layout}" + (f"; {s.note}" if s.note else ""),
            fingerprint=s.fingerprint,
        )

    def present(self, root: Path) -> bool:
        return True

    def _read(self, files: list[tuple[Path, int]]) -> Split:
        from PIL import Image

        mode = "L" if self.info.channels == 1 else "RGB"
        size = self.info.size
        arrays = []
        for f, _ in files:
            try:
                with Image.open(f) as img:
                    arrays.append(np.asarray(img.convert(mode).resize((size, size))))
            except Exception:
                raise EdgekdError(f"{f} is not a readable image; remove it from the folder or replace it") from None
        images = np.stack(arrays).reshape(len(files), size, size, -1).transpose(0, 3, 1, 2)
        labels = np.array([label for _, label in files], dtype=np.int64)
        return Split(np.ascontiguousarray(images, dtype=np.uint8), labels)

    def load(self, split: str, root: Path, download_ok: bool = False) -> Split:
        if split not in self._cache:
            self._cache[split] = self._read(self.scan.splits[split])
        return self._cache[split]

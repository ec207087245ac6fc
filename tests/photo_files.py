"""Real photo folders for the tests: real X-rays (PneumoniaMNIST) written as JPEGs of varied sizes.

Every image is a real PneumoniaMNIST image (the shared data), upscaled with Pillow to a
random size and aspect ratio and encoded as a real JPEG; "bad" files are real JPEGs cut
short (a truncated download) or a file that is not an image under an image's name.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from conftest import SHARED_DATA

PNEUMONIA = SHARED_DATA / "medmnist" / "pneumoniamnist.npz"
CLASSES = ("normal", "pneumonia")


def xrays(split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    with np.load(PNEUMONIA) as npz:
        return npz[f"{split}_images"], npz[f"{split}_labels"].reshape(-1)


def save_jpeg(pixels: np.ndarray, path: Path, size: tuple[int, int], colour: bool = False, quality: int = 90) -> Path:
    """A 28 x 28 uint8 image upscaled to ``size`` (w, h) and written as a JPEG (grey or RGB)."""
    from PIL import Image

    img = Image.fromarray(pixels).resize(size, Image.BICUBIC)
    if colour:  # a colour photo of the same content: channels differ (gamma), so RGB -> grey is not trivial
        g = np.asarray(img, dtype=np.float32) / 255
        img = Image.fromarray((np.stack([g, g ** 0.8, g ** 1.3], -1) * 255).round().astype(np.uint8), "RGB")
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, quality=quality)
    return path


def photo_folder(root: Path, counts: dict[str, int], seed: int = 0, sizes: tuple[int, int] = (60, 160),
                 colour: bool = False) -> Path:
    """``root/<split>/<class>/*.jpg``: ``counts`` images per class and split ('' for class folders
    at the top), real X-rays at random sizes in ``sizes`` (w and h drawn apart: varied aspect ratios)."""
    rng = np.random.default_rng(seed)
    pools = {}
    for i, (split, n) in enumerate(counts.items()):
        source = "test" if split == "test" else ("val" if split == "val" else "train")
        if source not in pools:
            pools[source] = xrays(source)
        images, labels = pools[source]
        for label, cls in enumerate(CLASSES):
            pick = np.flatnonzero(labels == label)[i * 50:i * 50 + n]
            for j, k in enumerate(pick):
                w, h = (int(v) for v in rng.integers(sizes[0], sizes[1], 2))
                save_jpeg(images[k], root / split / cls / f"{cls}_{j}.jpg", (w, h), colour)
    return root


def truncate(path: Path, keep: float = 0.5) -> Path:
    """Cut a file short, as an interrupted copy leaves it."""
    data = path.read_bytes()
    path.write_bytes(data[:int(len(data) * keep)])
    return path

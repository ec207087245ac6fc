"""The photo folders of benchmarks/own_data/, built from data this project already has.

- ``pneumonia/``: every PneumoniaMNIST image (real chest X-rays, 4708 / 524 / 624) as a JPEG
  (quality 90) upscaled (bicubic) to a random width and height, each drawn from 150..449 px
  apart (varied aspect ratios), laid out ``train/ val/ test/<class>/``;
- ``breast/``: BreastMNIST the same way, ``train/ val/ test/``; ``breast_trainval/`` holds
  links to its ``train/`` and ``val/`` only (the layout with no test split);
- ``pneumonia_planted/``: links to every file of ``pneumonia/`` plus planted bad files (real
  JPEGs cut short, an empty file and a text file under image names, a thumbnail the 64 px
  policy would enlarge more than 2x), listed in ``planted.json``;
- ``colour/``: real colour photographs from scikit-image's ``skimage.data`` (public domain or
  permissive, as the package states), cut into random crops of random sizes: class
  ``living`` (astronaut, chelsea the cat, and two crops of the grey ``camera`` photo, which
  edgekd repeats to RGB) and ``object`` (coffee, rocket, plus the RGBA ``logo``, whose alpha
  edgekd drops); a flat ``<class>/`` layout (edgekd splits it); ``colour_new/``: other crops
  of the same photos, a user's "new" photos for classify.py.

Everything goes under ``benchmarks/_work/own_data/`` (ignored by git). Seeded, so a rebuild
writes the same files.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
WORK = ROOT / "benchmarks" / "_work" / "own_data"
DATA = ROOT.parent / "shared" / "data" / "medmnist"
SIZES = (150, 450)
SPLITS = ("train", "val", "test")


def _jpeg(pixels: np.ndarray, path: Path, size: tuple[int, int], quality: int = 90) -> None:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).resize(size, Image.BICUBIC).save(path, quality=quality)


def medmnist_folder(name: str, out: Path, seed: int) -> dict:
    """Every image of ``name``'s npz as a JPEG at a random size; returns the counts written."""
    from edgekd.data.medmnist import MEDMNIST

    classes = MEDMNIST[name][2]
    rng = np.random.default_rng(seed)
    counts = {}
    with np.load(DATA / f"{name}.npz") as npz:
        for split in SPLITS:
            images, labels = npz[f"{split}_images"], npz[f"{split}_labels"].reshape(-1)
            for i, (img, lab) in enumerate(zip(images, labels)):
                w, h = (int(v) for v in rng.integers(*SIZES, 2))
                _jpeg(img, out / split / classes[int(lab)] / f"{split}_{i:05d}.jpg", (w, h))
            counts[split] = len(labels)
    return counts


def link_tree(src: Path, dst: Path, parts: tuple[str, ...] | None = None) -> None:
    for f in sorted(src.rglob("*")):
        rel = f.relative_to(src)
        if f.is_file() and (parts is None or rel.parts[0] in parts):
            (dst / rel).parent.mkdir(parents=True, exist_ok=True)
            os.link(f, dst / rel)


def plant(folder: Path) -> list[dict]:
    """Bad files a user's folder may hold; returns what was planted and why."""
    good = sorted((folder / "train" / "normal").glob("*.jpg"))[:3]
    planted = []

    def add(path: Path, data: bytes, why: str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        planted.append({"path": path.relative_to(folder).as_posix(), "why": why})

    for k, (src, keep, where) in enumerate(zip(good, (0.4, 0.8, 0.95), ("train/normal", "val/pneumonia", "test/normal"))):
        data = src.read_bytes()
        add(folder / where / f"zz_truncated_{k}.jpg", data[:int(len(data) * keep)], f"JPEG cut at {keep:.0%}")
    add(folder / "train" / "pneumonia" / "zz_empty.jpg", b"", "empty file")
    add(folder / "test" / "pneumonia" / "zz_notes.jpg", b"radiologist notes, not a picture\n", "text file")
    from PIL import Image

    thumb = folder / "train" / "pneumonia" / "zz_thumbnail.jpg"
    Image.open(good[0]).resize((20, 30)).save(thumb, quality=90)
    planted.append({"path": thumb.relative_to(folder).as_posix(), "why": "20x30: enlarged 3.2x at 64 px"})
    return planted


def colour_folders(out: Path, new: Path, per_photo: int = 40, seed: int = 0) -> dict:
    import skimage
    from PIL import Image
    from skimage import data

    sources = {"living": ["astronaut", "chelsea"], "object": ["coffee", "rocket"]}
    rng = np.random.default_rng(seed)
    written = {"skimage": skimage.__version__, "classes": sources, "per_photo": per_photo}
    for folder, n in ((out, per_photo), (new, 5)):
        for cls, names in sources.items():
            for name in names:
                photo = Image.fromarray(getattr(data, name)())
                for i in range(n):
                    cw, ch = (int(v) for v in rng.integers(photo.width // 3, photo.width, 2))
                    ch = min(ch, photo.height)
                    x, y = int(rng.integers(0, photo.width - cw + 1)), int(rng.integers(0, photo.height - ch + 1))
                    w, h = (int(v) for v in rng.integers(*SIZES, 2))
                    crop = photo.crop((x, y, x + cw, y + ch)).resize((w, h), Image.BICUBIC)
                    (folder / cls).mkdir(parents=True, exist_ok=True)
                    crop.save(folder / cls / f"{name}_{i:03d}.jpg", quality=90)
    camera = Image.fromarray(data.camera())  # grey: repeated to RGB (2 of 162 images, under the 5 % limit)
    for i, box in enumerate(((0, 0, 300, 400), (200, 100, 512, 512))):
        camera.crop(box).save(out / "living" / f"camera_{i}.jpg", quality=90)
    Image.fromarray(data.logo()).save(out / "object" / "logo.png")  # RGBA: alpha dropped
    return written


def build() -> dict:
    """Build every folder (skipping those already there); returns the manifest."""
    manifest_path = WORK / "manifest.json"
    if manifest_path.is_file():
        return json.loads(manifest_path.read_text())
    WORK.mkdir(parents=True, exist_ok=True)
    manifest = {"pneumonia": medmnist_folder("pneumoniamnist", WORK / "pneumonia", 0),
                "breast": medmnist_folder("breastmnist", WORK / "breast", 1)}
    link_tree(WORK / "breast", WORK / "breast_trainval", ("train", "val"))
    link_tree(WORK / "pneumonia", WORK / "pneumonia_planted")
    manifest["planted"] = plant(WORK / "pneumonia_planted")
    manifest["colour"] = colour_folders(WORK / "colour", WORK / "colour_new")
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


if __name__ == "__main__":
    print(json.dumps(build(), indent=2))

"""The images a site command runs on: image files and folders of them, read as the model was
trained (its stored preprocessing), or the split of a data set. Torch-free."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgekd.errors import EdgekdError
from edgekd.images import IMAGE_SUFFIXES, load_image_file


@dataclass
class SiteImages:
    """uint8 images N x C x H x W, a name per image, and labels (-1 where unknown: image files)."""

    images: np.ndarray
    names: list[str]
    labels: np.ndarray
    skipped: list[tuple[str, str]]  # (file, why) of the files that could not be read


def image_files(items: list[str | Path]) -> list[Path]:
    """The files named, and every image file under the folders named (sorted)."""
    files: list[Path] = []
    for item in items:
        path = Path(item).expanduser()
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
            if not found:
                raise EdgekdError(f"{path} holds no image files ({', '.join(sorted(IMAGE_SUFFIXES))}): give a folder "
                                  "of images")
            files += found
        elif path.is_file():
            files.append(path)
        else:
            raise EdgekdError(f"{path} does not exist: give image files, folders of them, or --dataset NAME")
    return files


def read_inputs(items: list[str | Path], meta: dict, dataset: str | None = None, split: str = "test",
                data_dir: str | Path | None = None, resize: bool = False, skip_unreadable: bool = False) -> SiteImages:
    """The images of ``items`` (files and folders) or of ``dataset``'s ``split``, as the model
    whose metadata is ``meta`` takes them. A file that is not a readable image, or (for a model
    without stored preprocessing) not of its size and channels, is a one-line error naming it,
    unless ``resize`` converts it / ``skip_unreadable`` leaves it out and lists it."""
    c, h, w = (int(v) for v in meta["input_size"])
    if dataset is not None:
        if items:
            raise EdgekdError("give image files or --dataset, not both")
        from edgekd.data.registry import load_split, source_for_record

        source = source_for_record(dataset, meta)
        if source.info.input_shape != (c, h, w):
            raise EdgekdError(f"{dataset} images are {'x'.join(map(str, source.info.input_shape))} but the model "
                              f"takes {c}x{h}x{w}: give the data set it was trained on")
        data = load_split(dataset, split, data_dir, source=source)
        return SiteImages(data.images, [f"{dataset}/{split}#{i}" for i in range(len(data.labels))],
                          np.asarray(data.labels).reshape(-1).astype(np.int64), [])
    files = image_files(items)
    if not files:
        raise EdgekdError("no images given: name image files, folders of them, or --dataset NAME")
    images, names, skipped = [], [], []
    for path in files:
        try:
            image, _ = load_image_file(path, c, (h, w), resize, meta.get("preprocess"))
        except EdgekdError as exc:
            if not skip_unreadable:
                raise
            skipped.append((str(path), str(exc)))
            continue
        images.append(image)
        names.append(str(path))
    if not images:
        raise EdgekdError(f"none of the {len(files)} files could be read (first: {skipped[0][1]})")
    return SiteImages(np.stack(images), names, np.full(len(images), -1, dtype=np.int64), skipped)


def model_input(images: np.ndarray, meta: dict) -> np.ndarray:
    """uint8 N x C x H x W -> the model's float32 input ((u8 / 255 - mean) / std)."""
    mean = np.asarray(meta["mean"], dtype=np.float32).reshape(1, -1, 1, 1)
    std = np.asarray(meta["std"], dtype=np.float32).reshape(1, -1, 1, 1)
    return np.ascontiguousarray((images.astype(np.float32) / 255.0 - mean) / std)

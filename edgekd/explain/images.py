"""What ``edgekd explain`` looks at: image files, or the first N images of a data set split.

Torch-free (numpy, Pillow, the data registry), so explaining an exported model on a
device needs no torch. A model trained on image files (``folder:PATH``) stores how a file
becomes its input (metadata ``preprocess``): any image file is then read exactly so, with
:func:`edgekd.images.read_image`, the function training used, and a data set
input is read at the model's image size. Otherwise an image file must already fit the model, as eval, bench and
distill require of their data: its size is the model's H x W, and it is grey for a
1-channel model, colour for a 3-channel one (alpha and palettes are converted, which
changes nothing the model sees). A mismatch is refused unless ``resize`` (``--resize``)
asks for the conversion; then it is converted to the model's channels (``L`` or ``RGB``)
and resized with Pillow's default filter and no crop (the treatment ``folder:PATH``
training data gets), and each converted image says so. A data set's images must already
have the model's shape; a mismatch is a wrong data set, not something to resize away.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgekd.errors import EdgekdError
from edgekd.images import IMAGE_SUFFIXES, load_image_file


@dataclass
class Inputs:
    """uint8 images N x C x H x W, labels (-1 where unknown), a source and a file stem per image."""

    images: np.ndarray
    labels: np.ndarray
    sources: list[str]
    stems: list[str]
    conversions: list[str | None] | None = None  # per image: what --resize changed, None when nothing


def slug(text: str, limit: int = 40) -> str:
    """A file-name-safe form of ``text`` (class names may hold spaces and commas)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-")[:limit] or "x"


def spread_over_classes(labels: np.ndarray, n: int) -> np.ndarray:
    """Indices of ``n`` samples taken round-robin over classes, each class in split order.

    The first image of every class, then the second of every class, and so on, so a
    small ``n`` still shows every class (the first N of a split are often one class).
    """
    queues = [np.flatnonzero(labels == c).tolist() for c in np.unique(labels)]
    picked: list[int] = []
    depth = 0
    while len(picked) < n and any(depth < len(q) for q in queues):
        picked.extend(q[depth] for q in queues if depth < len(q))
        depth += 1
    return np.asarray(picked[:n], dtype=np.int64)


def looks_like_path(text: str) -> bool:
    return Path(text).suffix.lower() in IMAGE_SUFFIXES or "/" in text or "\\" in text


def resolve_inputs(inputs: list[str], input_size: tuple[int, int, int], class_names: list[str],
                   split: str = "test", n: int = 8, data_dir: str | Path | None = None,
                   resize: bool = False, preprocess: dict | None = None) -> Inputs:
    """Image files and data set names in ``inputs`` -> one :class:`Inputs` in the given order.

    ``input_size`` is the model's [C, H, W]. An existing file is an image; text that looks
    like a path but names no file is an error; anything else is a data set name (first
    ``n`` images of ``split``, spread over classes). ``resize``: convert image files that
    do not fit the model (:func:`load_image_file`). ``preprocess``: the model's stored one.
    """
    from edgekd.data.registry import load_split, source_for_record

    if not inputs:
        raise EdgekdError("nothing to explain: give image files or a data set name")
    if n < 1:
        raise EdgekdError(f"--n must be at least 1, got {n}")
    c, h, w = (int(v) for v in input_size)
    images, labels, sources, stems, conversions = [], [], [], [], []
    for item in inputs:
        path = Path(item).expanduser()
        if path.is_file():
            image, converted = load_image_file(path, c, (h, w), resize, preprocess)
            images.append(image[None])
            conversions.append(converted)
            labels.append(np.array([-1]))
            sources.append(str(path))
            stems.append(slug(path.stem))
            continue
        if path.is_dir():
            raise EdgekdError(f"{path} is a folder: give image files (e.g. {path}/*.png) or a data set name")
        if looks_like_path(item) and not item.startswith("folder:"):
            raise EdgekdError(f"image file {path} does not exist: check the path")
        source = source_for_record(item, {"preprocess": preprocess})
        info = source.info
        if info.input_shape != (c, h, w):
            raise EdgekdError(f"{item} images are {info.channels}x{info.size}x{info.size} but the model expects "
                              f"{c}x{h}x{w}: explain the data set the model was trained on, or image files")
        if len(info.class_names) != len(class_names):
            raise EdgekdError(f"{item} has {info.num_classes} classes but the model has {len(class_names)}: "
                              "explain the data set the model was trained on")
        data = load_split(item, split, data_dir, source=source)
        pick = spread_over_classes(data.labels, n)
        images.append(data.images[pick])
        labels.append(data.labels[pick])
        for i in pick:
            conversions.append(None)
            true = info.class_names[int(data.labels[i])]
            sources.append(f"{item}/{split}#{int(i)}")
            stems.append(f"{slug(item)}-{split}{int(i)}-true-{slug(true, 20)}")
    return Inputs(np.concatenate(images).astype(np.uint8), np.concatenate(labels).astype(np.int64), sources, stems,
                  conversions)


def normalise(images: np.ndarray, mean: list[float], std: list[float]) -> np.ndarray:
    """uint8 N x C x H x W -> float32 model input ((u8 / 255 - mean) / std), as in training."""
    from edgekd.data.spec import preprocess

    return np.ascontiguousarray(preprocess(images, mean, std), dtype=np.float32)

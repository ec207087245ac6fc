"""Evaluation data for a benchmark, torch-free: load a split once, share it with child processes.

A data set is either a name known to ``edgekd.data.registry.load_split`` (the data
registry; it returns a ``Split`` with ``.images`` / ``.labels``, or a tuple) or a path to
an ``.npz`` file holding ``<split>_images`` / ``<split>_labels``
(the MedMNIST layout) or ``images`` / ``labels``. Images are uint8, returned as
N x C x H x W; labels int64 N.

The parent saves the split once as ``.npy`` files (:func:`save_shared`); each child
memory-maps them (:func:`open_shared`), so a model's peak RSS measured during timing
does not include the data set, and only the pages the evaluation touches are read.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import numpy as np

from edgekd.errors import EdgekdError


def to_nchw(images: np.ndarray) -> np.ndarray:
    """N x H x W -> N x 1 x H x W; N x H x W x C (C in 1, 3) -> N x C x H x W; NCHW unchanged."""
    if images.ndim == 3:
        return images[:, None, :, :]
    if images.ndim == 4 and images.shape[-1] in (1, 3) and images.shape[1] not in (1, 3):
        return np.ascontiguousarray(images.transpose(0, 3, 1, 2))
    if images.ndim == 4:
        return images
    raise EdgekdError(f"images of shape {images.shape} are not N x C x H x W or N x H x W: check the data set")


def _load_npz(path: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as npz:
            for ik, lk in ((f"{split}_images", f"{split}_labels"), ("images", "labels")):
                if ik in npz.files and lk in npz.files:
                    return npz[ik], npz[lk]
    except Exception as exc:  # noqa: BLE001 - truncated zip, bad CRC, pickled objects, not an npz at all
        raise EdgekdError(f"{path} is not a readable .npz ({type(exc).__name__}): copy or build it again") from None
    raise EdgekdError(f"{path} has no {split}_images/{split}_labels (or images/labels) arrays: pick another --split")


@functools.lru_cache(maxsize=4)
def _source(dataset: str, preprocess: str):
    from edgekd.data.registry import source_for_record

    return source_for_record(dataset, {"preprocess": json.loads(preprocess)})


def registry_source(dataset: str, preprocess: dict | None = None):
    """The registry's source of ``dataset``, a ``folder:PATH`` set read at the model's stored
    ``preprocess`` (once per process: a folder is scanned and decoded once)."""
    return _source(dataset, json.dumps(preprocess, sort_keys=True))


def load_data(dataset: str, split: str = "test", data_dir: str | Path | None = None,
              preprocess: dict | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(uint8 N x C x H x W images, int64 N labels) of ``split`` of ``dataset``; a ``folder:PATH``
    set is read with ``preprocess`` (an edgekd model's stored one), so any photo folder fits the model."""
    if dataset.endswith(".npz"):
        path = Path(dataset).expanduser()
        if not path.is_file():
            raise EdgekdError(f"data file {path} does not exist: check --dataset")
        images, labels = _load_npz(path, split)
    else:
        try:
            from edgekd.data.registry import load_split
        except ImportError as exc:
            raise EdgekdError(f"cannot load data set {dataset!r}: edgekd.data is unavailable ({exc})") from None
        data = load_split(dataset, split, data_dir=data_dir, source=registry_source(dataset, preprocess))
        images, labels = (data.images, data.labels) if hasattr(data, "images") else data
    images = to_nchw(np.asarray(images))
    labels = np.asarray(labels).reshape(-1).astype(np.int64)
    if images.dtype != np.uint8:
        raise EdgekdError(f"data set {dataset!r} gave {images.dtype} images; edgekd expects uint8")
    if images.shape[0] != labels.shape[0]:
        raise EdgekdError(f"data set {dataset!r}: {images.shape[0]} images but {labels.shape[0]} labels")
    return images, labels


def save_shared(images: np.ndarray, labels: np.ndarray, folder: str | Path) -> dict[str, str]:
    """Save a split as .npy files in ``folder`` for children; returns their paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {"images": str(folder / "images.npy"), "labels": str(folder / "labels.npy")}
    np.save(paths["images"], np.ascontiguousarray(images))
    np.save(paths["labels"], np.ascontiguousarray(labels))
    return paths


def open_shared(paths: dict[str, str]) -> tuple[np.ndarray, np.ndarray]:
    """Memory-map the arrays written by :func:`save_shared`."""
    try:
        return np.load(paths["images"], mmap_mode="r"), np.load(paths["labels"], mmap_mode="r")
    except (OSError, KeyError, ValueError) as exc:
        raise EdgekdError(f"cannot open the shared evaluation data ({exc}): rerun the benchmark") from None

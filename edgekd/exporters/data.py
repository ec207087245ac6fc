"""Real images for calibration (int8) and for the parity gate, preprocessed as in training.

Images are normalised with the *checkpoint's* mean / std (what the exported model
expects), whatever data set they come from; a data set whose image shape differs from
the checkpoint's input fails with a one-line error before any export work.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import numpy as np

from edgekd.data.registry import load_split, source_for_record
from edgekd.data.spec import preprocess
from edgekd.errors import EdgekdError

#: seed of the fixed random subset used for calibration and for the parity samples
SEED = 0


@functools.lru_cache(maxsize=4)
def _source(name: str, preprocess: str):
    """One source per data set and preprocessing in a process (a folder set is scanned once)."""
    return source_for_record(name, {"preprocess": json.loads(preprocess)})


def check_matches(name: str, meta: dict[str, Any]):
    """The source of ``name`` read as the model expects (a folder set at the model's stored
    ``preprocess``); refused when its images are not the checkpoint's C x H x W."""
    source = _source(name, json.dumps(meta.get("preprocess"), sort_keys=True))
    info = source.info
    want = tuple(meta["input_size"])
    if info.input_shape != want:
        raise EdgekdError(f"{name} images are {'x'.join(map(str, info.input_shape))} but the model takes "
                          f"{'x'.join(map(str, want))}: pick a matching --calib-dataset")
    return source


def subset(n_total: int, n: int, seed: int = SEED) -> np.ndarray:
    """``n`` distinct indices out of ``n_total``, fixed by ``seed`` (all of them if n >= n_total)."""
    if n >= n_total:
        return np.arange(n_total)
    return np.sort(np.random.default_rng(seed).choice(n_total, size=n, replace=False))


def calibration_images(name: str, n: int, meta: dict[str, Any], data_dir: str | Path | None = None) -> np.ndarray:
    """``n`` preprocessed float32 N x C x H x W images from the train split of ``name``."""
    source = check_matches(name, meta)
    split = load_split(name, "train", data_dir, source=source)
    idx = subset(len(split), n)
    return preprocess(split.images[idx], meta["mean"], meta["std"])


def parity_split(meta: dict[str, Any]) -> str:
    """The split the parity gate runs on: test, or validation for a set without a test split."""
    return "test" if check_matches(meta["dataset"], meta).info.has_test else "val"


def test_images(meta: dict[str, Any], data_dir: str | Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The checkpoint's data set, full test split (validation when it has none, see
    :func:`parity_split`): (float32 images, int64 labels)."""
    name = meta["dataset"]
    source = check_matches(name, meta)
    split = load_split(name, parity_split(meta), data_dir, source=source)
    return preprocess(split.images, meta["mean"], meta["std"]), split.labels.astype(np.int64)

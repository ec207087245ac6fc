"""The data registry on the real shared data sets, digits, a user image folder, and bad files."""

from __future__ import annotations

import gzip
import shutil

import numpy as np
import pytest

from edgekd.data.registry import dataset_info, describe, get_source, load_split
from edgekd.data.spec import preprocess, stratified_indices
from edgekd.errors import EdgekdError
from tests.conftest import SHARED_DATA, needs_shared


def sizes(name, data_dir=None):
    return tuple(len(load_split(name, s, data_dir)) for s in ("train", "val", "test"))


@needs_shared
@pytest.mark.parametrize("name,expected", [("pneumoniamnist", (4708, 524, 624)), ("breastmnist", (546, 78, 156))])
def test_medmnist_official_splits(name, expected):
    assert sizes(name) == expected
    data = load_split(name, "test")
    assert data.images.dtype == np.uint8 and data.images.shape[1:] == (1, 28, 28)
    assert set(np.unique(data.labels)) == {0, 1}


@needs_shared
def test_mnist_sizes_and_validation_holdout():
    train, val, test = (load_split("mnist", s) for s in ("train", "val", "test"))
    assert len(train) + len(val) == 60000 and len(test) == 10000 and len(val) == 5000
    # the hold-out is stratified: every digit is in it in about its share
    assert np.bincount(val.labels).min() > 400


def test_digits_split_is_deterministic_and_disjoint():
    a, b = load_split("digits", "train"), load_split("digits", "train")
    assert np.array_equal(a.images, b.images) and sizes("digits") == (1078, 359, 360)
    idx = stratified_indices(np.repeat(np.arange(10), 50), (0.6, 0.2, 0.2), 0)
    assert sum(len(i) for i in idx) == 500 and not set(idx[0]) & set(idx[1])


@needs_shared
def test_corrupted_medmnist_is_refused(tmp_path):
    (tmp_path / "medmnist").mkdir()
    bad = tmp_path / "medmnist" / "breastmnist.npz"
    data = bytearray((SHARED_DATA / "medmnist" / "breastmnist.npz").read_bytes())
    data[len(data) // 2] ^= 0xFF
    bad.write_bytes(bytes(data))
    with pytest.raises(EdgekdError, match="corrupted"):
        load_split("breastmnist", "test", tmp_path)


@needs_shared
def test_corrupted_mnist_gz_is_refused(tmp_path):
    (tmp_path / "mnist").mkdir()
    for f in (SHARED_DATA / "mnist").iterdir():
        shutil.copy(f, tmp_path / "mnist" / f.name)
    labels = tmp_path / "mnist" / "t10k-labels-idx1-ubyte.gz"
    raw = bytearray(gzip.decompress(labels.read_bytes()))
    raw[100] = (raw[100] + 1) % 10
    labels.write_bytes(gzip.compress(bytes(raw)))
    with pytest.raises(EdgekdError, match="corrupted"):
        load_split("mnist", "test", tmp_path)


def test_missing_file_names_where_and_how(tmp_path):
    with pytest.raises(EdgekdError) as err:
        load_split("pneumoniamnist", "test", tmp_path)
    msg = str(err.value)
    assert "pneumoniamnist.npz" in msg and str(tmp_path) in msg and "--download" in msg and "\n" not in msg


def test_unknown_dataset_suggests_close_match():
    with pytest.raises(EdgekdError, match="did you mean pneumoniamnist"):
        get_source("pneumonimnist")


def test_image_folder_with_and_without_splits(tmp_path):
    from PIL import Image

    rng = np.random.default_rng(0)
    for layout in ("flat", "split"):
        root = tmp_path / layout
        for split in (("train", "val", "test") if layout == "split" else ("",)):
            for cls in ("cat", "dog"):
                folder = root / split / cls
                folder.mkdir(parents=True)
                for i in range(10):
                    pixels = rng.integers(0, 255, (12, 12, 3), dtype=np.uint8)
                    Image.fromarray(pixels).save(folder / f"{i}.png")
        info = dataset_info(f"folder:{root}")
        assert info.class_names == ("cat", "dog") and info.channels == 3 and info.size == 12
        parts = [load_split(f"folder:{root}", s) for s in ("train", "val", "test")]
        assert parts[0].images.shape[1:] == (3, 12, 12)
        assert sum(len(p) for p in parts) == (60 if layout == "split" else 20)


def test_preprocess_normalises_per_channel():
    x = np.full((1, 2, 1, 1), 255, dtype=np.uint8)
    out = preprocess(x, (0.5, 0.0), (0.5, 1.0))
    assert out.dtype == np.float32 and np.allclose(out.ravel(), [1.0, 1.0])


def test_describe_lists_presence(tmp_path):
    rows = {r["name"]: r for r in describe(tmp_path)}
    assert rows["digits"]["present"] and not rows["pneumoniamnist"]["present"]
    assert rows["breastmnist"]["splits"] == "546/78/156"

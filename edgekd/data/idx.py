"""MNIST and Fashion-MNIST from their official IDX files, read with numpy alone.

Reading IDX directly (instead of through torchvision) keeps accuracy checks torch-free
on a Raspberry Pi. ``--download`` uses torchvision's dataset classes, which fetch the
official files and check their md5; they land in ``<data_dir>/<Class>/raw`` where
these readers look too. Neither set has a validation split: a stratified hold-out of
the training set (fixed seed) plays that part.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

from edgekd.data.download import verify_md5
from edgekd.data.spec import DatasetInfo, Split, stratified_indices
from edgekd.errors import EdgekdError

FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}

# Official md5 of each .gz file; for MNIST's training images also the md5 of the
# uncompressed bytes, since a lossless re-pack changes the gz but not the content.
MD5 = {
    "mnist": {
        "train-images-idx3-ubyte": ("f68b3c2dcbeaaa9fbdd348bbdeb94873", "6bbc9ace898e44ae57da46a324031adb"),
        "train-labels-idx1-ubyte": ("d53e105ee54ea40749a09fcbcd1e9432",),
        "t10k-images-idx3-ubyte": ("9fb629c4189551a2d022fa330f9573f3",),
        "t10k-labels-idx1-ubyte": ("ec29112dd5afa0611ce80d1b7f02629c",),
    },
    "fashion-mnist": {
        "train-images-idx3-ubyte": ("8d4fb7e6c68d591d4c3dfef9ec88bf0d",),
        "train-labels-idx1-ubyte": ("25c81989df183df01b3e8a0aad5dffbe",),
        "t10k-images-idx3-ubyte": ("bef4ecab320f06d8554ea6380940ec79",),
        "t10k-labels-idx1-ubyte": ("bb300cfdad3c16e7a12a480ee83cd310",),
    },
}

CLASSES = {
    "mnist": tuple(str(i) for i in range(10)),
    "fashion-mnist": ("t-shirt/top", "trouser", "pullover", "dress", "coat",
                      "sandal", "shirt", "sneaker", "bag", "ankle boot"),
}
NORM = {"mnist": (0.1307, 0.3081), "fashion-mnist": (0.2860, 0.3530)}
TV_CLASS = {"mnist": "MNIST", "fashion-mnist": "FashionMNIST"}
VAL_HOLDOUT = 5000
SPLIT_SEED = 0


def parse_idx(data: bytes, path: Path) -> np.ndarray:
    """Parse IDX bytes (magic 0x0000 0x08 ndim, big-endian dims, uint8 payload)."""
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08 or data[3] not in (1, 3):
        raise EdgekdError(f"{path} is not an IDX file of unsigned bytes; delete it and download it again")
    ndim = data[3]
    header = 4 + 4 * ndim
    dims = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    if len(data) != header + int(np.prod(dims)):
        raise EdgekdError(f"{path} is truncated ({len(data)} bytes for shape {dims}); download it again")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(dims)


class IdxSource:
    """MNIST or Fashion-MNIST from IDX files under ``<root>/<name>`` or ``<root>/<Class>/raw``."""

    def __init__(self, name: str):
        self.name = name
        mean, std = NORM[name]
        self.info = DatasetInfo(
            name=name, num_classes=10, channels=1, size=28, class_names=CLASSES[name],
            mean=(mean,), std=(std,),
            splits={"train": 60000 - VAL_HOLDOUT, "val": VAL_HOLDOUT, "test": 10000},
            source=f"official IDX files; val = stratified {VAL_HOLDOUT}-image hold-out of train (seed {SPLIT_SEED})",
        )

    def folders(self, root: Path) -> list[Path]:
        return [root / self.name, root / TV_CLASS[self.name] / "raw", root]

    def _find(self, root: Path, stem: str) -> Path | None:
        for folder in self.folders(root):
            for name in (stem + ".gz", stem):
                if (folder / name).is_file():
                    return folder / name
        return None

    def present(self, root: Path) -> bool:
        return all(self._find(root, stem) for pair in FILES.values() for stem in pair)

    def _read(self, root: Path, stem: str) -> np.ndarray:
        path = self._find(root, stem)
        if path is None:
            raise EdgekdError(
                f"{stem}.gz not found in {root}/{self.name}; run with --download, "
                f"or set --data-dir / EDGEKD_DATA to the folder that holds {self.name}/"
            )
        raw = path.read_bytes()
        accepted = MD5[self.name][stem]
        if path.suffix == ".gz":
            try:
                verify_md5(path, accepted[:1], "download it again")
                data = gzip.decompress(raw)
            except EdgekdError:
                data = self._gunzip(raw, path)
                _check_content_md5(data, accepted[1:], path)
        else:
            data = raw
            if accepted[1:]:
                _check_content_md5(data, accepted[1:], path)
        return parse_idx(data, path)

    @staticmethod
    def _gunzip(raw: bytes, path: Path) -> bytes:
        try:
            return gzip.decompress(raw)
        except Exception:
            raise EdgekdError(f"{path} is not a valid gzip file; delete it and download it again") from None

    def _download(self, root: Path) -> None:
        try:
            import torchvision.datasets as tvd
        except ImportError:
            from edgekd.errors import MissingDependency
            raise MissingDependency("torchvision", "train") from None
        cls = getattr(tvd, TV_CLASS[self.name])
        for train in (True, False):
            try:
                cls(str(root), train=train, download=True)
            except Exception as exc:
                raise EdgekdError(f"could not download {self.name} ({type(exc).__name__}); "
                                  f"without a network, copy the IDX .gz files to {root}/{self.name}") from None

    def load(self, split: str, root: Path, download_ok: bool = False) -> Split:
        if download_ok and not self.present(root):
            self._download(root)
        images_stem, labels_stem = FILES["test" if split == "test" else "train"]
        images = self._read(root, images_stem)[:, None]
        labels = self._read(root, labels_stem).astype(np.int64)
        if len(images) != len(labels):
            raise EdgekdError(f"{self.name}: {len(images)} images but {len(labels)} labels; download it again")
        if split != "test":
            frac = VAL_HOLDOUT / len(labels)
            val_idx, train_idx = stratified_indices(labels, (frac, 1 - frac), SPLIT_SEED)
            keep = train_idx if split == "train" else val_idx
            images, labels = images[keep], labels[keep]
        return Split(np.ascontiguousarray(images), labels)


def _check_content_md5(data: bytes, accepted: tuple[str, ...], path: Path) -> None:
    import hashlib

    if not accepted:
        raise EdgekdError(f"{path} does not match the official md5; delete it and download it again")
    if hashlib.md5(data).hexdigest() not in accepted:
        raise EdgekdError(f"{path} is corrupted (content md5 differs from the official release); download it again")

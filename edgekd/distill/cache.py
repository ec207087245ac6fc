"""Reusable teacher outputs: the teacher's logits and maps, computed once per training set.

METHOD.md: "the attention maps of the teacher can be reused to train models of various
sizes". A cache folder holds ``cache.json`` (what the outputs are valid for: data set,
a SHA-256 of the exact training images and labels, normalisation, teacher checkpoint
hash) and one ``.npy`` file per output, read memory-mapped: ``logits`` in fp32 (a few bytes
per image; fp16 logits moved the KD term by ~1e-4, more than float summation order does),
the maps of fma / mip / sals (``map-fma-28x28-<layers>``, ...) in fp16 (values in [0, 1],
fp16's 5e-4 step is far below what the map losses resolve), and AT's per-layer teacher
maps (``at-<layer>-<h>x<w>``, at each pair's common size) in fp32, since AT's loss
compares small differences of unit vectors and may be weighted by up to beta = 1000. It is valid
only when every epoch sees the same input, so random augmentation is refused, and so is
a cache built for other data, normalisation or teacher. A new kind of map for the same
data and teacher is added to the same folder.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import torch

from edgekd.errors import EdgekdError
from edgekd.fileio import atomic_path, atomic_write_json
from edgekd.progress import progress_bar
from edgekd.train.batches import TensorSplit

FORMAT = "edgekd-teacher-cache/2"  # /2: logits in fp32 (were fp16)


def data_fingerprint(train: TensorSplit) -> str:
    """SHA-256 of the normalised training tensors and labels (covers subsets and transforms)."""
    h = hashlib.sha256()
    h.update(train.x.numpy().tobytes())
    h.update(train.y.numpy().tobytes())
    return h.hexdigest()


class TeacherCache:
    """Teacher outputs for one training set, indexed by sample position in that set."""

    def __init__(self, folder: Path, identity: dict, arrays: dict[str, np.ndarray]):
        self.folder, self.identity, self.arrays = folder, identity, arrays  # arrays: {output key: array}

    @classmethod
    def open_or_build(cls, folder: Path, distiller, train: TensorSplit, identity: dict, augment: bool,
                      batch_size: int = 256, quiet: bool = False) -> TeacherCache:
        """Reuse what the folder holds (after checking it is valid), compute what is missing."""
        if augment:
            raise EdgekdError("--teacher-cache needs the same input every epoch; add --no-augment "
                              "or drop --teacher-cache")
        folder.mkdir(parents=True, exist_ok=True)
        meta_path = folder / "cache.json"
        identity = {"format": FORMAT, **identity}
        if meta_path.exists():
            try:
                stored = json.loads(meta_path.read_text())
            except (json.JSONDecodeError, UnicodeDecodeError):
                raise EdgekdError(f"{meta_path} is corrupted; delete {folder} and rerun") from None
            for key, value in identity.items():
                if stored.get(key) != value:
                    raise EdgekdError(f"teacher cache {folder} is stale: its {key} differs from this run's; "
                                      f"delete it or give another --teacher-cache folder")
        else:
            atomic_write_json(meta_path, identity)
        device = next(distiller.student.parameters()).device
        files = distiller.cache_files(train.x[:1].to(device))
        missing = {k: stem for k, stem in files.items() if not (folder / f"{stem}.npy").exists()}
        if missing:
            cls._compute(folder, distiller, train, missing, batch_size, quiet)
        arrays = {}
        for key, stem in files.items():
            try:
                arrays[key] = np.load(folder / f"{stem}.npy", mmap_mode="r")
            except (ValueError, OSError):
                raise EdgekdError(f"{folder / stem}.npy is corrupted; delete it and rerun") from None
            if arrays[key].shape[0] != len(train):
                raise EdgekdError(f"teacher cache {folder} holds {arrays[key].shape[0]} samples, "
                                  f"the training set {len(train)}; delete it and rerun")
        return cls(folder, identity, arrays)

    @staticmethod
    def _compute(folder: Path, distiller, train: TensorSplit, files: dict[str, str], batch_size: int,
                 quiet: bool) -> None:
        device = next(distiller.student.parameters()).device
        chunks: dict[str, list[np.ndarray]] = {k: [] for k in files}
        with progress_bar("img", disable=quiet) as bar:
            task = bar.add_task("teacher cache", total=len(train), status="")
            for start in range(0, len(train), batch_size):
                x = train.x[start:start + batch_size].to(device)
                y = train.y[start:start + batch_size].to(device)
                out = distiller.teacher_targets(x, y)
                for key in files:
                    dtype = np.float16 if key == "map" else np.float32
                    chunks[key].append(out[key].float().cpu().numpy().astype(dtype))
                bar.update(task, advance=len(x))
        for key, stem in files.items():
            with atomic_path(folder / f"{stem}.npy") as tmp:
                with open(tmp, "wb") as handle:
                    np.save(handle, np.concatenate(chunks[key]))

    def lookup(self, idx: torch.Tensor) -> dict[str, torch.Tensor]:
        """The cached teacher outputs of the samples at positions ``idx``, as float32 tensors."""
        positions = idx.cpu().numpy()
        return {key: torch.from_numpy(np.asarray(array[positions], dtype=np.float32))
                for key, array in self.arrays.items()}

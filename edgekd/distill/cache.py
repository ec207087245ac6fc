"""Reusable teacher outputs: the teacher's logits and maps, computed once per training set.

METHOD.md: "the attention maps of the teacher can be reused to train models of various
sizes". A cache folder holds ``cache.json`` (what the outputs are valid for: data set,
a SHA-256 of the exact training images and labels, normalisation, teacher checkpoint
hash) and one fp16 ``.npy`` file per output (``logits``, ``map-fma-28x28-<layers>``, ...),
read memory-mapped. It is valid only when every epoch sees the same input, so random
augmentation is refused, and so is a cache built for other data, normalisation or
teacher. A new kind of map for the same data and teacher is added to the same folder.
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

FORMAT = "edgekd-teacher-cache/1"


def data_fingerprint(train: TensorSplit) -> str:
    """SHA-256 of the normalised training tensors and labels (covers subsets and transforms)."""
    h = hashlib.sha256()
    h.update(train.x.numpy().tobytes())
    h.update(train.y.numpy().tobytes())
    return h.hexdigest()


def map_key(distiller) -> str | None:
    """The file stem of the map this distiller needs, or None when it needs no cached map."""
    if not distiller.use_att:
        return None
    if distiller.method == "at":
        raise EdgekdError("AT needs the teacher's features, which are not cached; drop --teacher-cache for AT")
    layers = "-".join(distiller.teacher_layers or ["input"]).replace(".", "_")
    size = "x".join(str(s) for s in distiller.att_size) if distiller.att_size else "input"
    return f"map-{distiller.method}-{size}-{layers}"


class TeacherCache:
    """Teacher outputs for one training set, indexed by sample position in that set."""

    def __init__(self, folder: Path, identity: dict, arrays: dict[str, np.ndarray]):
        self.folder, self.identity, self.arrays = folder, identity, arrays

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
        wanted = ["logits"] + ([k] if (k := map_key(distiller)) else [])
        missing = [k for k in wanted if not (folder / f"{k}.npy").exists()]
        if missing:
            cls._compute(folder, distiller, train, missing, batch_size, quiet)
        arrays = {}
        for key in wanted:
            try:
                arrays[key] = np.load(folder / f"{key}.npy", mmap_mode="r")
            except (ValueError, OSError):
                raise EdgekdError(f"{folder / key}.npy is corrupted; delete it and rerun") from None
            if arrays[key].shape[0] != len(train):
                raise EdgekdError(f"teacher cache {folder} holds {arrays[key].shape[0]} samples, "
                                  f"the training set {len(train)}; delete it and rerun")
        return cls(folder, identity, arrays)

    @staticmethod
    def _compute(folder: Path, distiller, train: TensorSplit, keys: list[str], batch_size: int, quiet: bool) -> None:
        device = next(distiller.student.parameters()).device
        chunks: dict[str, list[np.ndarray]] = {k: [] for k in keys}
        with progress_bar("img", disable=quiet) as bar:
            task = bar.add_task("teacher cache", total=len(train), status="")
            for start in range(0, len(train), batch_size):
                x = train.x[start:start + batch_size].to(device)
                y = train.y[start:start + batch_size].to(device)
                out = distiller.teacher_targets(x, y)
                for key in keys:
                    value = out["logits" if key == "logits" else "map"]
                    chunks[key].append(value.float().cpu().numpy().astype(np.float16))
                bar.update(task, advance=len(x))
        for key in keys:
            with atomic_path(folder / f"{key}.npy") as tmp:
                with open(tmp, "wb") as handle:
                    np.save(handle, np.concatenate(chunks[key]))

    def lookup(self, idx: torch.Tensor) -> dict[str, torch.Tensor]:
        """The cached teacher outputs of the samples at positions ``idx``, as float32 tensors."""
        positions = idx.cpu().numpy()
        out = {"logits": torch.from_numpy(np.asarray(self.arrays["logits"][positions], dtype=np.float32))}
        maps = [k for k in self.arrays if k.startswith("map-")]
        if maps:
            out["map"] = torch.from_numpy(np.asarray(self.arrays[maps[0]][positions], dtype=np.float32))
        return out

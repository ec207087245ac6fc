"""Reusable teacher outputs: the teacher's logits and maps for K views of each training image.

METHOD.md: "the attention maps of the teacher can be reused to train models of various
sizes". A cache folder holds ``cache.json`` (what the outputs are valid for: data set,
a SHA-256 of the exact training images and labels, normalisation, teacher checkpoint
hash, and the augmentation: policy (kinds and ranges), seed and K) and one ``.npy`` file
per output, read memory-mapped, of ``K x N`` rows (row ``v * N + i``: view ``v`` of
training image ``i``). With augmentation on, the views are the seeded views of
``edgekd/training/augment.py`` (view ``v`` of image ``i`` a pure function of seed, i and v;
the view of epoch ``e`` a pure function of seed, i and e): the training loop gives the
student exactly the augmented image whose teacher outputs :meth:`TeacherCache.lookup`
returns (FKD, Shen & Xing 2022; "consistent" teaching, Beyer et al. 2022). With
``--no-augment`` K is 1 and the seed is not part of the identity (every seed sees the
same images, so students of several seeds share one cache). Outputs: ``logits`` in fp32 (a few bytes
per image; fp16 logits moved the KD term by ~1e-4, more than float summation order does),
the maps of fma / mip / sals (``map-fma-28x28-<layers>``, ...) in fp16 (values in [0, 1],
fp16's 5e-4 step is far below what the map losses resolve), and AT's per-layer teacher
maps (``at-<layer>-<h>x<w>``, at each pair's common size) in fp32, since AT's loss
compares small differences of unit vectors and may be weighted by up to beta = 1000. A
cache built for other data, normalisation, teacher, augmentation policy, seed or K is
refused (one-line error naming what differs). A new kind of map for the same identity is
added to the same folder. Each file is written view by view into a memory-mapped temporary
file and renamed into place when complete, so the build holds one batch in memory and an
interrupted build leaves no half-written file.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from pathlib import Path

import numpy as np
import torch

from edgekd.errors import EdgekdError
from edgekd.fileio import atomic_path, atomic_write_json
from edgekd.progress import progress_bar
from edgekd.training.augment import Views
from edgekd.training.batches import TensorSplit

DEFAULT_VIEWS = 8  # K with augmentation: each view is used once every 8 epochs (FKD stores more crops of larger images)
FORMAT = "edgekd-teacher-cache/3"  # /2: logits in fp32 (were fp16); /3: K views per image, augmentation identity


def data_fingerprint(train: TensorSplit) -> str:
    """SHA-256 of the normalised training tensors and labels (covers subsets and transforms)."""
    h = hashlib.sha256()
    h.update(memoryview(train.x.contiguous().numpy()).cast("B"))  # no copy of the (maybe large) tensor
    h.update(memoryview(train.y.contiguous().numpy()).cast("B"))
    return h.hexdigest()


def view_identity(views: Views) -> dict:
    """The augmentation part of a cache's identity: policy, seed (only with augmentation) and K."""
    if views.policy is None:
        return {"augment": None, "views": 1}
    return {"augment": views.policy.identity(), "seed": views.seed, "views": views.k}


class TeacherCache:
    """Teacher outputs for one training set, indexed by (view, sample position in that set)."""

    def __init__(self, folder: Path, identity: dict, arrays: dict[str, np.ndarray], n: int, k: int):
        self.folder, self.identity, self.arrays = folder, identity, arrays  # arrays: {output key: K*N rows}
        self.n, self.k = n, k

    @classmethod
    def open_or_build(cls, folder: Path, distiller, train: TensorSplit, identity: dict, views: Views,
                      batch_size: int = 256, quiet: bool = False) -> TeacherCache:
        """Reuse what the folder holds (after checking it is valid), compute what is missing.
        ``views``: the run's augmentation; with a policy it must have a K (the loop's views)."""
        if views.policy is not None and views.k is None:
            raise EdgekdError("a teacher cache with augmentation needs a number of views: pass --cache-views K")
        k = 1 if views.policy is None else int(views.k)
        folder.mkdir(parents=True, exist_ok=True)
        meta_path = folder / "cache.json"
        identity = {"format": FORMAT, **identity, **view_identity(views)}
        if meta_path.exists():
            try:
                stored = json.loads(meta_path.read_text())
            except (json.JSONDecodeError, UnicodeDecodeError):
                raise EdgekdError(f"{meta_path} is corrupted; delete {folder} and rerun") from None
            for key, value in identity.items():
                if stored.get(key) != value:
                    raise EdgekdError(f"teacher cache {folder} is stale: its {key} differs from this run's "
                                      f"({_shown(stored.get(key))} there, {_shown(value)} here); delete it or give "
                                      "another --teacher-cache folder")
        else:
            atomic_write_json(meta_path, identity)
        device = next(distiller.student.parameters()).device
        files = distiller.cache_files(train.x[:1].to(device))
        missing = {k: stem for k, stem in files.items() if not (folder / f"{stem}.npy").exists()}
        if missing:
            cls._compute(folder, distiller, train, views, k, missing, batch_size, quiet)
        arrays = {}
        for key, stem in files.items():
            try:
                arrays[key] = np.load(folder / f"{stem}.npy", mmap_mode="r")
            except (ValueError, OSError):
                raise EdgekdError(f"{folder / stem}.npy is corrupted; delete it and rerun") from None
            if arrays[key].shape[0] != k * len(train):
                raise EdgekdError(f"teacher cache {folder} holds {arrays[key].shape[0]} rows, {k} views of the "
                                  f"training set {k * len(train)}; delete it and rerun")
        return cls(folder, identity, arrays, len(train), k)

    @staticmethod
    def _compute(folder: Path, distiller, train: TensorSplit, views: Views, k: int, files: dict[str, str],
                 batch_size: int, quiet: bool) -> None:
        device = next(distiller.student.parameters()).device
        n = len(train)
        with contextlib.ExitStack() as stack, progress_bar("img", disable=quiet) as bar:
            task = bar.add_task("teacher cache" + (f" ({k} views)" if k > 1 else ""), total=k * n, status="")
            tmps = {key: stack.enter_context(atomic_path(folder / f"{stem}.npy")) for key, stem in files.items()}
            out_arrays: dict[str, np.ndarray] = {}
            for v in range(k):
                for start in range(0, n, batch_size):
                    idx = np.arange(start, min(start + batch_size, n), dtype=np.int64)
                    x = views.images(train.x[start:start + len(idx)], idx, np.full(len(idx), v, dtype=np.int64))
                    out = distiller.teacher_targets(x.to(device), train.y[start:start + len(idx)].to(device))
                    for key in files:
                        value = out[key].float().cpu().numpy()
                        if key not in out_arrays:
                            dtype = np.float16 if key == "map" else np.float32
                            out_arrays[key] = np.lib.format.open_memmap(tmps[key], mode="w+", dtype=dtype,
                                                                        shape=(k * n, *value.shape[1:]))
                        out_arrays[key][v * n + start:v * n + start + len(idx)] = value
                    bar.update(task, advance=len(idx))
            for array in out_arrays.values():
                array.flush()
            out_arrays.clear()  # close the maps before atomic_path renames the files

    def rows(self, idx: torch.Tensor | np.ndarray, view: np.ndarray | None) -> np.ndarray:
        """The file rows of images ``idx`` in views ``view`` (None: view 0, a one-view cache)."""
        positions = np.asarray(idx.cpu() if isinstance(idx, torch.Tensor) else idx, dtype=np.int64)
        if view is None:
            return positions
        view = np.asarray(view, dtype=np.int64)
        if view.size and (view.min() < 0 or view.max() >= self.k):
            raise EdgekdError(f"view {int(view.max())} asked of a {self.k}-view teacher cache: rebuild it with this "
                              "run's --cache-views")
        return view * self.n + positions

    def lookup(self, idx: torch.Tensor, view: np.ndarray | None = None) -> dict[str, torch.Tensor]:
        """The cached teacher outputs of the samples at positions ``idx`` in views ``view``, as
        float32 tensors."""
        rows = self.rows(idx, view)
        return {key: torch.from_numpy(np.asarray(array[rows], dtype=np.float32))
                for key, array in self.arrays.items()}

    def nbytes(self) -> int:
        """Bytes of the arrays this cache reads (its disk size, and its memory once all paged in)."""
        return int(sum(a.nbytes for a in self.arrays.values()))


def _shown(value) -> str:
    text = json.dumps(value) if not isinstance(value, str) else value
    return text if len(text) <= 60 else text[:57] + "..."

"""Decoding a scanned image set once: resized uint8 arrays, every unreadable file, a cache on disk.

Every usable file is read with :func:`edgekd.images.read_image` (the function the
device side uses too) straight into one preallocated uint8 N x C x S x S array per split,
so a set of thousands of photos never holds full-size decoded copies: one photo at a time
is decoded, resized and dropped. A file that fails to decode (truncated, corrupt) is
collected with its reason, never raised alone.

The arrays are cached as ``.npy`` files under ``$EDGEKD_CACHE/folders/<key>/`` (default
``~/.cache/edgekd/folders``; key: the set's fingerprint, which covers every file's bytes,
and the preprocessing), written atomically (a temporary folder renamed into place) and
memory-mapped when read back, so a second run (another seed, the distillation after the
teacher) starts at once. Delete the folder to reclaim the space; a cache that cannot be
written (read-only home) is skipped with a note.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgekd.data.folder_scan import FolderScan
from edgekd.data.spec import SPLITS
from edgekd.images import decode_file, decode_reason

CACHE_VERSION = "edgekd-folder-cache/1"


@dataclass
class Decoded:
    """The usable images of every split, and the files that failed to decode."""

    images: dict[str, np.ndarray]  # split -> uint8 N x C x S x S (memory-mapped when cached)
    labels: dict[str, np.ndarray]  # split -> int64 N
    files: dict[str, list[Path]]  # split -> the file of each row
    bad: list[tuple[Path, str]]  # (file, why) of every file that failed to decode
    cache: Path | None = None  # where the arrays are cached, None when not


def cache_root() -> Path:
    env = os.environ.get("EDGEKD_CACHE")
    return (Path(env).expanduser() if env else Path.home() / ".cache" / "edgekd") / "folders"


def cache_key(scan: FolderScan) -> str:
    text = json.dumps([CACHE_VERSION, scan.fingerprint, scan.preprocess.to_dict(),
                       sorted(scan.rel(f) for f, _ in scan.problems)], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def _usable(scan: FolderScan) -> dict[str, list[tuple[Path, int]]]:
    problem = {f for f, _ in scan.problems}
    return {s: [(f, lab) for f, lab in files if f not in problem] for s, files in scan.splits.items()}


def _load_cached(folder: Path, scan: FolderScan) -> Decoded | None:
    try:
        index = json.loads((folder / "index.json").read_text())
        if index.get("fingerprint") != scan.fingerprint or index.get("preprocess") != scan.preprocess.to_dict():
            return None
        images = {s: np.load(folder / f"{s}.npy", mmap_mode="r") for s in index["files"]}
        labels = {s: np.load(folder / f"{s}_labels.npy") for s in index["files"]}
    except (OSError, ValueError, KeyError):
        return None
    files = {s: [scan.root / r for r in rels] for s, rels in index["files"].items()}
    bad = [(scan.root / r, why) for r, why in index["bad"]]
    return Decoded(images, labels, files, bad, folder)


def _write_cache(folder: Path, decoded: Decoded, scan: FolderScan) -> Path | None:
    """Save the arrays atomically (temporary folder, then rename); None when it cannot be written."""
    tmp = None
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
        for s, arr in decoded.images.items():
            np.save(tmp / f"{s}.npy", arr)
            np.save(tmp / f"{s}_labels.npy", decoded.labels[s])
        index = {"format": CACHE_VERSION, "fingerprint": scan.fingerprint, "preprocess": scan.preprocess.to_dict(),
                 "root": str(scan.root), "files": {s: [scan.rel(f) for f in fs] for s, fs in decoded.files.items()},
                 "bad": [[scan.rel(f), why] for f, why in decoded.bad]}
        (tmp / "index.json").write_text(json.dumps(index))
        os.replace(tmp, folder)
        return folder
    except OSError as exc:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
        if folder.is_dir():  # another process wrote the same cache first: use it
            return folder
        sys.stderr.write(f"note: resized images not cached ({exc.strerror or exc}); set EDGEKD_CACHE to a writable "
                         "folder to reuse them\n")
        return None


def _decode_split(files: list[tuple[Path, int]], scan: FolderScan, bad: list, advance) -> tuple[np.ndarray, np.ndarray,
                                                                                               list[Path]]:
    pre = scan.preprocess
    out = np.empty((len(files), pre.channels, pre.image_size, pre.image_size), dtype=np.uint8)
    keep = np.ones(len(files), dtype=bool)
    for i, (f, _) in enumerate(files):
        try:
            out[i] = decode_file(f, pre)
        except Exception as exc:  # noqa: BLE001 - truncated, corrupt, not an image: listed, never raised alone
            keep[i] = False
            bad.append((f, f"unreadable ({decode_reason(exc, f)})"))
        advance()
    labels = np.array([lab for _, lab in files], dtype=np.int64)
    kept = [f for (f, _), k in zip(files, keep) if k]
    if not keep.all():
        out, labels = out[keep], labels[keep]
    return out, labels, kept


def decode(scan: FolderScan, quiet: bool = False, use_cache: bool = True) -> Decoded:
    """Every usable image of ``scan`` at its preprocessing, from the cache when it holds them."""
    folder = cache_root() / cache_key(scan)
    if use_cache:
        cached = _load_cached(folder, scan)
        if cached is not None:
            return cached
    usable = _usable(scan)
    total = sum(len(v) for v in usable.values())
    images, labels, files, bad = {}, {}, {}, []
    from edgekd.progress import progress_bar

    with progress_bar("img", disable=quiet) as bar:
        task = bar.add_task(f"reading images at {scan.preprocess.image_size} px", total=total, status="")
        for s in [s for s in SPLITS if s in usable]:
            images[s], labels[s], files[s] = _decode_split(usable[s], scan, bad, lambda: bar.advance(task))
    decoded = Decoded(images, labels, files, bad)
    if use_cache and _write_cache(folder, decoded, scan) is not None:
        return _load_cached(folder, scan) or decoded  # memory-mapped: the decoded copies are released
    return decoded

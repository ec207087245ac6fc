"""Reading a ``folder:PATH`` image set's layout before any pixel is decoded, right or refused.

Accepted layouts (``PATH`` is the folder given after ``folder:``):

- **class folders**: ``PATH/<class>/*.png`` -> split 70/15/15 per class (stratified, seed 0);
- **train + test**: ``PATH/train/<class>/``, ``PATH/test/<class>/`` -> validation carved
  from ``train/`` (15 % of each class, stratified, seed 0), ``test/`` kept as given;
- **train + val + test**: ``PATH/{train,val,test}/<class>/`` -> used as given.

Refused, each with one line saying what was found and what to do: a folder named like a
split (train, training, val, valid, validation, dev, test, testing) among class folders,
or any other set of split folders (e.g. only ``train/`` and ``val/``); split folders with
different classes; fewer than two classes; a class with too few images for every split
to hold one; images edgekd would have to distort (the rules below); an unreadable image.

Conversion rules (stated in ``edgekd datasets --help`` and the README):

- channels: every image grey -> 1 channel; otherwise 3 (RGB; alpha dropped, palettes
  expanded). Grey images may make up at most 5 % of a colour set (they are repeated to
  three channels, which loses nothing); a larger mix is refused.
- size: every image is resized to S x S, S the shorter side of the most common size.
  Refused: an aspect ratio more than 10 % away from the most common one (it would be
  distorted unlike the rest) or a shorter side below S / 2 (upscaled more than 2x).

Files that are hidden, not images (by suffix) or not inside a class folder are skipped
and listed. The fingerprint is a SHA-256 over the layout and every used file's relative
path, label, split and bytes, as the built-in sets are identified by their files' digests.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from edgekd.data.spec import SPLITS, stratified_indices
from edgekd.errors import EdgekdError, MissingDependency
from edgekd.images import GREY_MODES

EXTENSIONS = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".pgm", ".ppm"}
SPLIT_LIKE = {"train", "training", "val", "valid", "validation", "dev", "test", "testing"}
CLASS_FOLDERS, TRAIN_TEST, TRAIN_VAL_TEST = "class folders", "train/ + test/", "train/ + val/ + test/"
FRACTIONS = (0.7, 0.15, 0.15)  # class folders -> train / val / test
VAL_FRACTION = 0.15  # of train/, for the train + test layout
SEED = 0
MAX_GREY_SHARE = 0.05
MAX_ASPECT_CHANGE = 0.10
MAX_UPSCALE = 2.0


@dataclass
class FolderScan:
    """What edgekd will train on: layout, classes, files per split, target shape, what was skipped."""

    root: Path
    layout: str
    classes: list[str]
    splits: dict[str, list[tuple[Path, int]]]  # split -> [(file, label)]
    channels: int
    size: int
    common_size: tuple[int, int]  # (width, height) most images have
    resized: int  # images whose size is not size x size
    grey_to_rgb: int  # grey images repeated to three channels
    skipped: list[tuple[Path, str]] = field(default_factory=list)
    fingerprint: str = ""
    note: str = ""

    def counts(self) -> dict[str, list[int]]:
        """Images per class in every split."""
        return {s: np.bincount([lab for _, lab in files], minlength=len(self.classes)).tolist()
                for s, files in self.splits.items()}


def _pillow():
    try:
        from PIL import Image
    except ImportError:
        raise MissingDependency("Pillow", "runtime") from None
    return Image


def _dirs(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def _names(paths) -> str:
    return ", ".join(f"{p.name}/" for p in paths)


def _layout(root: Path) -> tuple[str, dict[str, Path | None]]:
    """The layout of ``root`` and the folder of every split (None: carved from another)."""
    dirs = _dirs(root)
    split_like = [d for d in dirs if d.name.lower() in SPLIT_LIKE]
    if not split_like:
        return CLASS_FOLDERS, {s: None for s in SPLITS}
    others = [d for d in dirs if d not in split_like]
    if others:
        raise EdgekdError(f"{root} holds {_names(split_like)} next to class folders ({_names(others[:4])}): "
                          f"put every class folder inside train/ and test/ (optionally val/), or rename "
                          f"{_names(split_like)} if it is a class")
    names = {d.name for d in dirs}
    if names == {"train", "val", "test"}:
        return TRAIN_VAL_TEST, {s: root / s for s in SPLITS}
    if names == {"train", "test"}:
        return TRAIN_TEST, {"train": root / "train", "val": None, "test": root / "test"}
    hint = ("add a test/ folder with the same class folders" if names <= {"train", "val", "valid", "validation"}
            else "name them train/ and test/ (optionally val/)")
    raise EdgekdError(f"{root} has the split folders {_names(dirs)}; edgekd accepts train/ + test/ or "
                      f"train/ + val/ + test/ (each with one folder per class): {hint}")


def _class_files(folder: Path, classes: list[str], skipped: list) -> list[tuple[Path, int]]:
    files = []
    for f in sorted(folder.iterdir()):
        if f.is_file():
            skipped.append((f, "not inside a class folder"))
    for label, name in enumerate(classes):
        for f in sorted((folder / name).rglob("*")):
            if not f.is_file():
                continue
            if any(part.startswith(".") for part in f.relative_to(folder).parts):
                skipped.append((f, "hidden file"))
            elif f.suffix.lower() not in EXTENSIONS:
                skipped.append((f, f"not an image ({f.suffix or 'no suffix'})"))
            else:
                files.append((f, label))
    return files


def _classes(root: Path, folders: dict[str, Path | None]) -> list[str]:
    per_split = {s: [d.name for d in _dirs(f)] for s, f in folders.items() if f is not None}
    if not per_split:
        per_split = {"": [d.name for d in _dirs(root)]}
    for s, names in per_split.items():
        bad = [n for n in names if n.lower() in SPLIT_LIKE]
        if bad:
            where = f"{root / s}" if s else str(root)
            raise EdgekdError(f"{where} holds a class folder named like a split ({', '.join(bad)}): nest splits "
                              f"only once (PATH/train/<class>/...), or rename the class")
    reference = per_split.get("train", next(iter(per_split.values())))
    for s, names in per_split.items():
        if names != reference:
            lacks, extra = sorted(set(reference) - set(names)), sorted(set(names) - set(reference))
            what = "; ".join(x for x in (f"lacks {', '.join(lacks)}" if lacks else "",
                                         f"has {', '.join(extra)} that train/ lacks" if extra else "") if x)
            raise EdgekdError(f"split folders have different classes: {s}/ {what}; use the same class folders "
                              f"in every split")
    if len(reference) < 2:
        found = f"one class folder ({reference[0]}/)" if reference else "no class folders"
        raise EdgekdError(f"{root} has {found}: a classifier needs at least two classes, one folder of images "
                          f"per class")
    return reference


def min_per_class(fractions: tuple[float, ...]) -> int:
    """The fewest images a class needs so that every stratified part surely gets one.

    :func:`~edgekd.data.spec.stratified_indices` may give each part but the last one
    image more than ``floor(f * n)`` (largest remainder), so the last part is sure to get
    one only when ``n - sum(ceil(f * n))`` is at least one.
    """
    n = 1
    while (any(int(np.floor(f * n)) < 1 for f in fractions[:-1])
           or n - sum(int(np.ceil(f * n)) for f in fractions[:-1]) < 1):
        n += 1
    return n


def _split(layout: str, files: dict[str, list], classes: list[str], root: Path) -> tuple[dict, str]:
    """Carve the splits the layout does not give; refuse a class some split would miss."""
    note = ""
    if layout == CLASS_FOLDERS:
        fractions, source, what = FRACTIONS, files[""], "70/15/15 split"
        note = "split 70/15/15 per class (stratified, seed 0)"
    elif layout == TRAIN_TEST:
        fractions, source, what = (1 - VAL_FRACTION, VAL_FRACTION), files["train"], "validation carved from train/"
        note = f"validation carved from train/ ({VAL_FRACTION:.0%} of each class, stratified, seed 0); test/ as given"
    else:
        source = None
    out = dict(files)
    if source is not None:
        counts = np.bincount([lab for _, lab in source], minlength=len(classes))
        need = min_per_class(fractions)
        short = [i for i, c in enumerate(counts) if c < need]
        if short:
            i = short[0]
            where = "train/" if layout == TRAIN_TEST else ""
            raise EdgekdError(f"class {classes[i]!r} has {counts[i]} images in {root / where}; the {what} needs at "
                              f"least {need} per class: add images to it (or give train/ val/ test/ folders)")
        labels = np.array([lab for _, lab in source])
        parts = stratified_indices(labels, fractions, SEED)
        names = SPLITS if layout == CLASS_FOLDERS else ("train", "val")
        for name, idx in zip(names, parts):
            out[name] = [source[i] for i in idx]
        out.pop("", None)
    for s in SPLITS:
        counts = np.bincount([lab for _, lab in out[s]], minlength=len(classes))
        if (counts == 0).any():
            cls = classes[int(np.flatnonzero(counts == 0)[0])]
            raise EdgekdError(f"class {cls!r} has no images in {root / s}: every split needs every class; "
                              f"add images to {root / s / cls}")
    return {s: out[s] for s in SPLITS}, note


def _headers(files: list[tuple[Path, int]]) -> list[tuple[tuple[int, int], bool]]:
    """(size (w, h), is grey) of every file, from its header only."""
    image = _pillow()
    out = []
    for f, _ in files:
        try:
            with image.open(f) as img:
                out.append((img.size, img.mode in GREY_MODES))
        except Exception:
            raise EdgekdError(f"{f} is not a readable image; remove it from the folder or replace it") from None
    return out


def _shape(files: list[tuple[Path, int]]) -> tuple[int, int, tuple[int, int], int, int]:
    """(channels, size S, the most common (w, h), images resized, grey images made RGB), or refused."""
    heads = _headers(files)
    grey = [g for _, g in heads]
    n_grey = sum(grey)
    channels = 1 if n_grey == len(files) else 3
    if channels == 3 and n_grey > MAX_GREY_SHARE * len(files):
        g, c = files[grey.index(True)][0], files[grey.index(False)][0]
        raise EdgekdError(f"{n_grey} grey and {len(files) - n_grey} colour images are mixed (e.g. {g} and {c}); "
                          f"edgekd takes all grey, all colour, or colour with at most {MAX_GREY_SHARE:.0%} grey "
                          f"images: convert the images to one kind")
    (w0, h0), _ = Counter(size for size, _ in heads).most_common(1)[0]
    size = min(w0, h0)
    for (w, h), (f, _) in zip((s for s, _ in heads), files):
        if abs((w / h) / (w0 / h0) - 1) > MAX_ASPECT_CHANGE:
            raise EdgekdError(f"{f} is {w}x{h} but most images are {w0}x{h0}: its aspect ratio differs by more "
                              f"than {MAX_ASPECT_CHANGE:.0%}, resizing would distort it; crop or pad it to "
                              f"{w0}:{h0}, or remove it")
        if min(w, h) * MAX_UPSCALE < size:
            raise EdgekdError(f"{f} is {w}x{h} but images are resized to {size}x{size}: it would be upscaled "
                              f"more than {MAX_UPSCALE:g}x; remove it or give a larger image")
    resized = sum(1 for s, _ in heads if s != (size, size))
    return channels, size, (w0, h0), resized, (n_grey if channels == 3 else 0)


def _fingerprint(root: Path, layout: str, splits: dict[str, list[tuple[Path, int]]]) -> str:
    h = hashlib.sha256(f"edgekd-folder/1|{layout}".encode())
    for s in SPLITS:
        for f, label in sorted(splits[s]):
            h.update(f"|{s}|{label}|{f.relative_to(root).as_posix()}|".encode())
            h.update(f.read_bytes())
    return h.hexdigest()


def scan(root: str | Path) -> FolderScan:
    """Read the layout, classes, files and image headers of ``root``; refuse what edgekd would get wrong."""
    root = Path(root).expanduser()
    if not root.is_dir():
        raise EdgekdError(f"image folder {root} does not exist; give folder:PATH with one subfolder per class "
                          f"(or train/ and test/ folders of class folders)")
    layout, folders = _layout(root)
    classes = _classes(root, folders)
    skipped: list[tuple[Path, str]] = []
    if layout == CLASS_FOLDERS:
        files = {"": _class_files(root, classes, skipped)}
    else:
        files = {s: _class_files(f, classes, skipped) for s, f in folders.items() if f is not None}
        skipped += [(f, "not inside a split folder") for f in sorted(root.iterdir()) if f.is_file()]
    splits, note = _split(layout, files, classes, root)
    everything = [item for s in SPLITS for item in splits[s]]
    channels, size, common, resized, grey_to_rgb = _shape(everything)
    return FolderScan(root, layout, classes, splits, channels, size, common, resized, grey_to_rgb, skipped,
                      _fingerprint(root, layout, splits), note)

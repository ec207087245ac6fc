"""Which files of a user's image set are train, validation and test: the layout, read before any pixel.

``folder:PATH`` names a folder or a CSV file. Accepted (PATH is the folder):

- **class folders**: ``PATH/<class>/*.jpg`` -> split 70/15/15 per class (stratified, seed 0);
- **train + test**: ``PATH/train/<class>/``, ``PATH/test/<class>/`` -> validation carved
  from ``train/`` (15 % of each class, stratified, seed 0), ``test/`` as given;
- **train + val**: ``PATH/train/<class>/``, ``PATH/val/<class>/`` -> used as given, and
  there is **no test split**: every report says so and none calls validation "test";
- **train + val + test**: ``PATH/{train,val,test}/<class>/`` -> used as given;
- **a CSV file** (``folder:labels.csv``): rows ``path,label[,split]`` (a header row naming
  the columns is optional; paths relative to the CSV's folder); with a split column the
  rows' splits follow the folder rules above (train + val + test, train + test, train + val),
  without one the 70/15/15 rule.

Refused, with a line saying what was found: a split-named folder (train, training, val,
valid, validation, dev, test, testing) among class folders, any other set of split folders,
split folders with different classes, fewer than two classes, a class some split would
lack. Hidden files, non-image files and files outside class folders are skipped and listed.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from edgekd.data.spec import SPLITS, stratified_indices
from edgekd.errors import EdgekdError

EXTENSIONS = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".pgm", ".ppm"}
SPLIT_LIKE = {"train", "training", "val", "valid", "validation", "dev", "test", "testing"}
CLASS_FOLDERS, TRAIN_TEST, TRAIN_VAL, TRAIN_VAL_TEST = ("class folders", "train/ + test/", "train/ + val/",
                                                       "train/ + val/ + test/")
CSV_FILE = "CSV file"
FRACTIONS = (0.7, 0.15, 0.15)  # one pool -> train / val / test
VAL_FRACTION = 0.15  # of train, when only train and test are given
SEED = 0

Files = list[tuple[Path, int]]


@dataclass
class Layout:
    """The files of every split (test may be absent), and how the splits were decided."""

    root: Path  # the folder paths are shown relative to (the CSV's folder for a CSV)
    kind: str  # one of the layout names above
    classes: list[str]
    splits: dict[str, Files]  # "train", "val" and, unless the layout has none, "test"
    rule: str  # how validation and test were chosen, in words
    skipped: list[tuple[Path, str]] = field(default_factory=list)
    missing: list[tuple[Path, str]] = field(default_factory=list)  # CSV rows naming no file

    @property
    def has_test(self) -> bool:
        return "test" in self.splits


def _dirs(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def _names(paths) -> str:
    return ", ".join(f"{p.name}/" for p in paths)


def _split_folders(root: Path) -> dict[str, Path] | None:
    """{split: folder} when ``root`` holds split folders, None when it holds class folders."""
    dirs = _dirs(root)
    split_like = [d for d in dirs if d.name.lower() in SPLIT_LIKE]
    if not split_like:
        return None
    others = [d for d in dirs if d not in split_like]
    if others:
        raise EdgekdError(f"{root} holds {_names(split_like)} next to class folders ({_names(others[:4])}): "
                          f"put every class folder inside train/ and val/ or test/, or rename "
                          f"{_names(split_like)} if it is a class")
    names = {d.name for d in dirs}
    if names in ({"train", "val", "test"}, {"train", "test"}, {"train", "val"}):
        return {d.name: d for d in dirs}
    raise EdgekdError(f"{root} has the split folders {_names(dirs)}; edgekd accepts train/ + val/ + test/, "
                      f"train/ + test/ or train/ + val/ (each with one folder per class): rename them")


def _class_files(folder: Path, classes: list[str], skipped: list) -> Files:
    files = []
    skipped += [(f, "not inside a class folder") for f in sorted(folder.iterdir()) if f.is_file()]
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


def _classes(root: Path, folders: dict[str, Path]) -> list[str]:
    per_split = {s: [d.name for d in _dirs(f)] for s, f in folders.items()}
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
    check_classes(reference, root)
    return reference


def check_classes(classes: list[str], root: Path) -> None:
    if len(classes) < 2:
        found = f"one class ({classes[0]})" if classes else "no classes"
        raise EdgekdError(f"{root} has {found}: a classifier needs at least two classes (one folder of images "
                          f"per class, or two labels in the CSV)")


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


def carve(given: dict[str, Files], classes: list[str], where: Path) -> tuple[str, dict[str, Files], str]:
    """(layout kind, the three or two splits, the rule in words) from the parts ``given``
    ("" for one pool without splits); refuse a class some split would lack."""
    names = set(given)
    if names == {""}:
        kind, source, fractions, parts = CLASS_FOLDERS, given[""], FRACTIONS, SPLITS
        rule = "split 70/15/15 per class (stratified, seed 0): validation and test carved by edgekd"
    elif names == {"train", "test"}:
        kind, source, fractions, parts = TRAIN_TEST, given["train"], (1 - VAL_FRACTION, VAL_FRACTION), ("train", "val")
        rule = (f"validation carved from train ({VAL_FRACTION:.0%} of each class, stratified, seed 0); "
                "test as given")
    elif names == {"train", "val", "test"}:
        kind, source, rule = TRAIN_VAL_TEST, None, "train, validation and test as given"
    elif names == {"train", "val"}:
        kind, source, rule = TRAIN_VAL, None, "train and validation as given; NO test split"
    else:
        raise EdgekdError(f"{where} gives the splits {', '.join(sorted(names))}; edgekd accepts train + val + test, "
                          "train + test or train + val")
    out = dict(given)
    if source is not None:
        counts = np.bincount([lab for _, lab in source], minlength=len(classes))
        need = min_per_class(fractions)
        short = [i for i, c in enumerate(counts) if c < need]
        if short:
            i, part = short[0], " (train)" if kind == TRAIN_TEST else ""
            raise EdgekdError(f"class {classes[i]!r} has {counts[i]} images in {where}{part}; carving "
                              f"{'validation and test' if kind == CLASS_FOLDERS else 'validation'} needs at least "
                              f"{need} per class: add images to it (or give train, val and test splits)")
        idx_parts = stratified_indices(np.array([lab for _, lab in source]), fractions, SEED)
        for name, idx in zip(parts, idx_parts):
            out[name] = [source[i] for i in idx]
        out.pop("", None)
    for s in [s for s in SPLITS if s in out]:
        counts = np.bincount([lab for _, lab in out[s]], minlength=len(classes))
        if (counts == 0).any():
            cls = classes[int(np.flatnonzero(counts == 0)[0])]
            raise EdgekdError(f"class {cls!r} has no images in the {s} split of {where}: every split needs every "
                              f"class; add some")
    return kind, {s: out[s] for s in SPLITS if s in out}, rule


def folder_layout(root: Path) -> Layout:
    """The layout of an image folder (class folders, or split folders of class folders)."""
    folders = _split_folders(root)
    skipped: list[tuple[Path, str]] = []
    if folders is None:
        classes = _classes(root, {"": root})
        given = {"": _class_files(root, classes, skipped)}
    else:
        classes = _classes(root, folders)
        given = {s: _class_files(f, classes, skipped) for s, f in folders.items()}
        skipped += [(f, "not inside a split folder") for f in sorted(root.iterdir()) if f.is_file()]
    kind, splits, rule = carve(given, classes, root)
    return Layout(root, kind, classes, splits, rule, skipped)


def _rows(path: Path) -> list[list[str]]:
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            rows = [[c.strip() for c in row] for row in csv.reader(handle) if any(c.strip() for c in row)]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise EdgekdError(f"{path} could not be read as a CSV file ({exc}): give UTF-8 rows path,label[,split]") from None
    if rows and [c.lower() for c in rows[0][:2]] == ["path", "label"]:
        rows = rows[1:]
    if not rows:
        raise EdgekdError(f"{path} has no rows: give one row path,label[,split] per image")
    widths = {len(r) for r in rows}
    if not widths <= {2, 3} or len(widths) > 1:
        bad = next(i for i, r in enumerate(rows) if len(r) not in (2, 3) or len(r) != len(rows[0]))
        raise EdgekdError(f"{path} row {bad + 1} has {len(rows[bad])} columns: every row must be path,label or "
                          f"path,label,split")
    return rows


def csv_layout(path: Path) -> Layout:
    """The layout of a CSV of ``path,label[,split]`` rows (paths relative to the CSV's folder)."""
    rows, root = _rows(path), path.parent
    classes = sorted({r[1] for r in rows})
    check_classes(classes, path)
    label = {c: i for i, c in enumerate(classes)}
    given: dict[str, Files] = {}
    skipped: list[tuple[Path, str]] = []
    missing: list[tuple[Path, str]] = []
    for i, row in enumerate(rows):
        f = Path(row[0]).expanduser()
        f = f if f.is_absolute() else root / f
        split = row[2].lower() if len(row) == 3 else ""
        if len(row) == 3 and split not in SPLITS:
            raise EdgekdError(f"{path} row {i + 1} has split {row[2]!r}: use train, val or test")
        if f.suffix.lower() not in EXTENSIONS:
            skipped.append((f, f"not an image ({f.suffix or 'no suffix'})"))
        elif not f.is_file():
            missing.append((f, "listed in the CSV but not found"))
        else:
            given.setdefault(split, []).append((f, label[row[1]]))
    kind, splits, rule = carve(given, classes, path)
    return Layout(root, f"{CSV_FILE} ({kind})", classes, splits, rule, skipped, missing)


def read_layout(path: Path) -> Layout:
    if path.is_file() and path.suffix.lower() == ".csv":
        return csv_layout(path)
    if not path.is_dir():
        raise EdgekdError(f"image folder {path} does not exist; give folder:PATH with one subfolder per class "
                          f"(or train/ and val/ or test/ folders of class folders), or folder:FILE.csv")
    return folder_layout(path)

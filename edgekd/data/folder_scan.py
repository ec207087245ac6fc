"""Reading a ``folder:PATH`` image set before any pixel is decoded: layout, headers, target shape, problems.

The layout (which files are train, validation and test) is :mod:`edgekd.data.folder_layout`.
This module reads every file's header (size and mode, no pixels) and its bytes (a SHA-256
per file: duplicates across splits, and the set's fingerprint), and decides the shape:

- channels: every image grey -> 1 channel; otherwise 3 (RGB; alpha dropped, palettes
  expanded). Grey images may make up at most 5 % of a colour set (they are repeated to
  three channels, which loses nothing); a larger mix is refused.
- size: ``--image-size N`` when given, else the median shorter side of the images (a set of
  one size: its shorter side); each image is brought to N x N by the ``--resize`` policy
  (:mod:`edgekd.images`, default ``shorter-crop``).

Problems are collected, never raised one at a time, so a user sees all of them at once:
a file whose header cannot be read, a CSV row naming no file, and **off-policy** files,
which the policy would enlarge more than 2x (an image far smaller than the rest). Full
decoding (which also finds truncated files) is :mod:`edgekd.data.folder_read`.

The fingerprint is a SHA-256 over the layout and every used file's relative path, label,
split and content, as the built-in sets are identified by their files' digests.
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from edgekd.data.folder_layout import Files, Layout, read_layout
from edgekd.data.spec import SPLITS
from edgekd.errors import EdgekdError
from edgekd.images import (
    DEFAULT_RESIZE,
    GREY_MODES,  # noqa: F401  (read here by the folder modules)
    Preprocess,
    check_resize,
    decode_reason,
    pillow,
    upscale,
)

MAX_GREY_SHARE = 0.05
MAX_UPSCALE = 2.0


@dataclass
class FileFacts:
    """What the header pass learned of one file: (w, h) and mode, or why it is unreadable."""

    size: tuple[int, int] | None
    mode: str | None
    sha256: str
    error: str | None = None


@dataclass
class FolderScan:
    """What edgekd will train on: layout, classes, files per split, target shape, problems."""

    root: Path
    layout: str
    classes: list[str]
    splits: dict[str, Files]  # split -> [(file, label)]; no "test" in a train + val layout
    preprocess: Preprocess
    common_size: tuple[int, int]  # (width, height) most images have
    image_size_given: bool  # --image-size given (else the median shorter side)
    resized: int  # images whose size is not N x N
    grey_to_rgb: int  # grey images repeated to three channels
    note: str = ""  # how validation and test were chosen
    skipped: list[tuple[Path, str]] = field(default_factory=list)  # not images: never part of the set
    problems: list[tuple[Path, str]] = field(default_factory=list)  # unreadable or off-policy images
    facts: dict[Path, FileFacts] = field(default_factory=dict)
    fingerprint: str = ""

    @property
    def channels(self) -> int:
        return self.preprocess.channels

    @property
    def size(self) -> int:
        return self.preprocess.image_size

    @property
    def has_test(self) -> bool:
        return "test" in self.splits

    def counts(self) -> dict[str, list[int]]:
        """Images per class in every split."""
        return {s: np.bincount([lab for _, lab in files], minlength=len(self.classes)).tolist()
                for s, files in self.splits.items()}

    def rel(self, path: Path) -> str:
        try:
            return path.relative_to(self.root).as_posix()
        except ValueError:
            return os.path.relpath(path, self.root)


def _facts(f: Path) -> FileFacts:
    image = pillow()
    try:
        digest = hashlib.sha256(f.read_bytes()).hexdigest()
    except OSError as exc:
        return FileFacts(None, None, "", exc.strerror or type(exc).__name__)
    try:
        with image.open(f) as img:
            return FileFacts(img.size, img.mode, digest)
    except Exception as exc:  # noqa: BLE001 - not an image, unknown format, corrupt header
        return FileFacts(None, None, digest, decode_reason(exc, f))


def _channels(facts: list[FileFacts], files: list[Path]) -> tuple[int, int]:
    """(channels, grey images made RGB), or refused for a mix of grey and colour."""
    grey = [f.mode in GREY_MODES for f in facts]
    n_grey = sum(grey)
    if n_grey == len(facts):
        return 1, 0
    if n_grey > MAX_GREY_SHARE * len(facts):
        g, c = files[grey.index(True)], files[grey.index(False)]
        raise EdgekdError(f"{n_grey} grey and {len(facts) - n_grey} colour images are mixed (e.g. {g} and {c}); "
                          f"edgekd takes all grey, all colour, or colour with at most {MAX_GREY_SHARE:.0%} grey "
                          f"images: convert the images to one kind")
    return 3, n_grey


def _fingerprint(layout: Layout, facts: dict[Path, FileFacts], rel) -> str:
    h = hashlib.sha256(f"edgekd-folder/2|{layout.kind}".encode())
    for s in SPLITS:
        for f, label in sorted(layout.splits.get(s, [])):
            h.update(f"|{s}|{label}|{rel(f)}|{facts[f].sha256}".encode())
    return h.hexdigest()


def scan(path: str | Path, image_size: int | None = None, resize: str = DEFAULT_RESIZE) -> FolderScan:
    """Read the layout, classes, headers and digests of the set at ``path``; collect its problems."""
    check_resize(resize)
    layout = read_layout(Path(path).expanduser())
    files = [f for s in SPLITS for f, _ in layout.splits.get(s, [])]
    facts = {f: _facts(f) for f in files}
    problems = list(layout.missing)
    problems += [(f, f"unreadable ({facts[f].error})") for f in files if facts[f].error]
    good = [f for f in files if not facts[f].error]
    if not good:
        raise EdgekdError(f"{layout.root} holds no readable image ({len(problems)} unreadable): check the files")
    channels, grey_to_rgb = _channels([facts[f] for f in good], good)
    w0, h0 = Counter(facts[f].size for f in good).most_common(1)[0][0]
    sides = sorted(min(facts[f].size) for f in good)
    pre = Preprocess(image_size or max(8, sides[(len(sides) - 1) // 2]), channels, resize)
    for f in good:
        w, h = facts[f].size
        factor = upscale(w, h, pre)
        if factor > MAX_UPSCALE:
            problems.append((f, f"off-policy: {w}x{h} would be enlarged {factor:.1f}x to {pre.image_size}x"
                                f"{pre.image_size} ({resize}); at most {MAX_UPSCALE:g}x"))
    resized = sum(1 for f in good if facts[f].size != (pre.image_size, pre.image_size))
    out = FolderScan(layout.root, layout.kind, layout.classes, layout.splits, pre, (w0, h0), image_size is not None,
                     resized, grey_to_rgb, layout.rule, layout.skipped, problems, facts)
    out.fingerprint = _fingerprint(layout, facts, out.rel)
    return out

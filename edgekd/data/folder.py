"""A user's own images: ``folder:PATH`` (a folder of class folders, split folders, or a CSV file).

:mod:`edgekd.data.folder_layout` decides which files are train, validation and test,
:mod:`edgekd.data.folder_scan` reads their headers and the target shape,
:mod:`edgekd.data.folder_read` decodes them once with the preprocessing the device side
uses (:mod:`edgekd.images`). Classes are the sorted class-folder names (as
torchvision's ImageFolder does) or the CSV's sorted labels. No torch is needed.

Unreadable and off-policy images are all listed at once: training refuses the set with
the list (written to ``<PATH>-bad-files.txt`` beside the folder) unless ``skip_bad``
(``--skip-bad``), which trains without them and says how many it left out.
"""

from __future__ import annotations

import dataclasses
import sys
import tempfile
from pathlib import Path

from edgekd.data.folder_read import Decoded, decode
from edgekd.data.folder_scan import FolderScan, scan
from edgekd.data.spec import DatasetInfo, Split
from edgekd.errors import EdgekdError
from edgekd.images import DEFAULT_RESIZE

SHOWN = 3  # problems named in the one-line refusal (all of them are in the written list)


def problem_list_path(root: Path, suffix: str) -> Path:
    """``<folder>-<suffix>.txt`` beside the folder (or the CSV), else in the temporary folder."""
    target = root.parent / f"{root.name}-{suffix}.txt"
    try:
        with open(target, "a"):
            pass
        return target
    except OSError:
        return Path(tempfile.gettempdir()) / target.name


def write_problem_list(path: Path, problems: list[tuple[Path, str]], scan_: FolderScan) -> None:
    from edgekd.fileio import atomic_write_text

    lines = [f"# {len(problems)} unreadable or off-policy images in {scan_.root} (one per line: path<TAB>why)"]
    lines += [f"{scan_.rel(f)}\t{why}" for f, why in problems]
    atomic_write_text(path, "\n".join(lines) + "\n")


class FolderSource:
    def __init__(self, path: str, image_size: int | None = None, resize: str = DEFAULT_RESIZE,
                 skip_bad: bool = False, quiet: bool = False):
        self.name = f"folder:{path}"
        self.scan: FolderScan = scan(path, image_size, resize)
        self.path = self.scan.root
        self.skip_bad, self.quiet = skip_bad, quiet
        self._decoded: Decoded | None = None
        self.skipped_bad = 0
        s = self.scan
        problem = {f for f, _ in s.problems}
        self.info = DatasetInfo(
            name=self.name, num_classes=len(s.classes), channels=s.channels, size=s.size,
            class_names=tuple(s.classes), mean=(0.5,) * s.channels, std=(0.5,) * s.channels,
            splits={k: sum(f not in problem for f, _ in v) for k, v in s.splits.items()},
            source=self._source(), fingerprint=s.fingerprint, preprocess=s.preprocess.to_dict(),
        )

    def _source(self, skipped: int = 0) -> str:
        s = self.scan
        text = f"image folder {s.root}, layout {s.layout}; {s.note}; read {s.preprocess.describe()}"
        return text + (f"; {skipped} unreadable or off-policy images skipped (--skip-bad)" if skipped else "")

    def present(self, root: Path) -> bool:
        return True

    def decoded(self) -> Decoded:
        """Every split decoded once; refused with the full problem list unless ``skip_bad``."""
        if self._decoded is not None:
            return self._decoded
        s = self.scan
        decoded = decode(s, quiet=self.quiet)
        problems = s.problems + decoded.bad
        if problems:
            where = problem_list_path(s.root, "bad-files")
            write_problem_list(where, problems, s)
            first = "; ".join(f"{s.rel(f)}: {why}" for f, why in problems[:SHOWN])
            total = sum(len(v) for v in s.splits.values())
            if not self.skip_bad:
                raise EdgekdError(f"{len(problems)} of {total} images in {s.root} are unreadable or off-policy "
                                  f"(all listed in {where}; first: {first}): fix or remove them, or pass --skip-bad "
                                  f"to go on without them")
            sys.stderr.write(f"skipped {len(problems)} of {total} images (unreadable or off-policy, --skip-bad); "
                             f"list: {where}\n")
            self._check_classes(decoded)
        self.skipped_bad = len(problems)
        self.info = dataclasses.replace(self.info, splits={k: len(v) for k, v in decoded.files.items()},
                                        source=self._source(len(problems)))
        self._decoded = decoded
        return decoded

    def _check_classes(self, decoded: Decoded) -> None:
        import numpy as np

        for split, labels in decoded.labels.items():
            counts = np.bincount(labels, minlength=len(self.scan.classes))
            if (counts == 0).any():
                cls = self.scan.classes[int(np.flatnonzero(counts == 0)[0])]
                raise EdgekdError(f"without the skipped images, class {cls!r} has none left in the {split} split "
                                  f"of {self.scan.root}: replace the bad files")

    def load(self, split: str, root: Path, download_ok: bool = False) -> Split:
        if split not in self.scan.splits:
            raise EdgekdError(f"{self.name} has no {split} split (layout {self.scan.layout}): use "
                              f"{' or '.join(self.scan.splits)}, or add a {split}/ folder of class folders")
        d = self.decoded()
        return Split(d.images[split], d.labels[split])

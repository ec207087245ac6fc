"""The run folder as ``edgekd report`` reads it: its files (two folders deep), and JSON and
PNG readers that leave a note instead of raising for a file that cannot be read.

Kept apart from the HTML sections (:mod:`edgekd.explain.report_sections`) so that what
is *found* in a run and how it is *shown* change independently. Torch-free.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from edgekd.explain.html import figure

MAX_JSON_BYTES = 20_000_000


class RunFolder:
    """The run folder's files, read once; ``used`` tracks figures already placed."""

    def __init__(self, root: Path):
        self.root = root
        self.notes: list[str] = []
        self.used: set[Path] = set()
        self.files = sorted(p for p in _walk(root, 2) if p.is_file())

    def json(self, path: Path) -> Any:
        try:
            if path.stat().st_size > MAX_JSON_BYTES:
                raise ValueError(f"larger than {MAX_JSON_BYTES // 1_000_000} MB")
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError, UnicodeDecodeError) as exc:
            self.notes.append(f"{self.rel(path)} could not be read ({str(exc).splitlines()[0][:120]})")
            return None

    def png(self, path: Path, caption: str, width: int | None = None) -> str:
        self.used.add(path)
        try:
            data = path.read_bytes()
        except OSError as exc:
            self.notes.append(f"{self.rel(path)} could not be read ({exc.strerror})")
            return ""
        if not data.startswith(b"\x89PNG"):
            self.notes.append(f"{self.rel(path)} is not a PNG file; left out")
            return ""
        return figure(data, caption, width)

    def rel(self, path: Path) -> str:
        try:
            return str(path.relative_to(self.root))
        except ValueError:  # a file given from outside the run folder (report --bench)
            return str(path)

    def named(self, pattern: str) -> list[Path]:
        return [p for p in self.files if p.match(pattern)]


def _walk(root: Path, depth: int) -> Iterator[Path]:
    for p in sorted(root.iterdir()):
        yield p
        if p.is_dir() and depth > 1 and not p.is_symlink():
            yield from _walk(p, depth - 1)

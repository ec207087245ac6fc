"""Where a benchmark's results go: ``<out>.json`` (the figures), ``<out>.md`` (the tables
people read) and ``<out>.png`` (the plot), written atomically beside one another."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from edgekd.fileio import atomic_write_json, atomic_write_text


def write_outputs(out: Path, report: dict, markdown: Callable[[dict], str],
                  plot: Callable[[dict, Path], None]) -> None:
    """Write the report's JSON, its markdown and its plot; print the markdown."""
    atomic_write_json(out.with_suffix(".json"), report)
    atomic_write_text(out.with_suffix(".md"), markdown(report))
    plot(report, out.with_suffix(".png"))
    print(markdown(report))

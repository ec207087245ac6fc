"""One progress style for long work: a live bar on a terminal, periodic plain lines elsewhere.

On a terminal (stderr is a TTY) :func:`progress_bar` is a rich bar: description, bar, count,
rate, elapsed, ETA, live fields. Written to a file or a pipe (a log, CI, ``nohup``), a live
bar would leave cursor-control sequences in the log, so it becomes :class:`PlainProgress`:
one plain line at every further tenth of the work (at most one per ``MIN_GAP_S`` seconds,
and at least one per ``MAX_GAP_S`` seconds while work goes on), and one when it ends;
work done within ``MIN_GAP_S`` seconds prints nothing.
Both take the same calls: ``add_task``, ``update``, ``advance``, used as a context manager.
"""

from __future__ import annotations

import sys
import time
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

console = Console(stderr=True)
MIN_GAP_S, MAX_GAP_S = 2.0, 60.0


class RateColumn(ProgressColumn):
    """Items per second, or '-' before the first update."""

    def __init__(self, unit: str = "it"):
        super().__init__()
        self.unit = unit

    def render(self, task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:,.1f} {self.unit}/s" if speed else f"- {self.unit}/s", style="cyan")


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


class PlainProgress:
    """Periodic plain lines on stderr, with the calls of a rich ``Progress`` that edgekd uses."""

    def __init__(self, unit: str = "it", disable: bool = False):
        self.unit, self.disable = unit, disable
        self.tasks: dict[int, dict[str, Any]] = {}

    def __enter__(self) -> PlainProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        for task_id, task in self.tasks.items():  # the last line, unless the work was too short to report
            long = task["printed_at"] or time.monotonic() - task["start"] >= MIN_GAP_S
            if task["done"] and task["printed_at"] != task["done"] and long:
                self._line(task_id)

    def add_task(self, description: str, total: float | None = None, **fields: Any) -> int:
        task_id = len(self.tasks)
        self.tasks[task_id] = {"description": description, "total": total, "done": 0, "fields": fields,
                               "start": time.monotonic(), "last": 0.0, "printed_at": 0, "next_tenth": 1}
        return task_id

    def advance(self, task_id: int, advance: float = 1) -> None:
        self.update(task_id, advance=advance)

    def update(self, task_id: int, advance: float | None = None, completed: float | None = None, **fields: Any) -> None:
        task = self.tasks[task_id]
        if completed is not None:
            task["done"] = completed
        if advance:
            task["done"] += advance
        task["fields"].update({k: v for k, v in fields.items() if k not in ("description", "total")})
        now = time.monotonic() - task["start"]
        total = task["total"]
        crossed = bool(total) and task["done"] >= task["next_tenth"] * total / 10
        if (crossed and now - task["last"] >= MIN_GAP_S) or now - task["last"] >= MAX_GAP_S:
            self._line(task_id)

    def _line(self, task_id: int) -> None:
        if self.disable:
            return
        task = self.tasks[task_id]
        elapsed = time.monotonic() - task["start"]
        done, total = task["done"], task["total"]
        rate = done / elapsed if elapsed > 0 else 0.0
        parts = [f"{task['description']}: {done:,.0f}" + (f"/{total:,.0f} ({100 * done / total:.0f}%)" if total else "")]
        parts.append(f"{rate:,.1f} {self.unit}/s, elapsed {_clock(elapsed)}")
        if total and rate > 0 and done < total:
            parts.append(f"ETA {_clock((total - done) / rate)}")
        status = task["fields"].get("status")
        if status:
            parts.append(str(status))
        sys.stderr.write(", ".join(parts) + "\n")
        sys.stderr.flush()
        task["last"], task["printed_at"] = elapsed, done
        if total:
            task["next_tenth"] = int(10 * done / total) + 1


def progress_bar(unit: str = "it", disable: bool = False) -> Progress | PlainProgress:
    """A live bar on a terminal, else :class:`PlainProgress` (module doc)."""
    if not console.is_terminal:
        return PlainProgress(unit, disable)
    return Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), RateColumn(unit),
        TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(), TextColumn("{task.fields[status]}"),
        console=console, disable=disable, transient=False,
    )

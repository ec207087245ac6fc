"""The end-to-end demo on scikit-learn's digits (no file needed): ``python -m edgekd.demo``.

Trains a teacher with ``edgekd train`` and prints a summary table. Each step is the
real CLI command, run in-process, so the demo shows exactly what a user would type.
"""

from __future__ import annotations

import shlex
import sys
import time
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from edgekd.cli.app import app

console = Console()


def run(cmd: str) -> float:
    """Run one edgekd command line in-process; stop the demo if it fails. Returns seconds taken."""
    console.rule(f"[bold]$ edgekd {cmd}")
    start = time.perf_counter()
    try:
        app(shlex.split(cmd), standalone_mode=False)
    except SystemExit as exc:
        if exc.code:
            console.print(f"[red]demo step failed with exit code {exc.code}")
            sys.exit(exc.code)
    return time.perf_counter() - start


def main(out: Path = typer.Option(Path("runs/demo"), help="Folder for every artifact of the demo."),
         epochs: int = typer.Option(20, help="Teacher epochs.")) -> None:
    import json

    teacher = out / "teacher"
    rows = []
    seconds = run(f"train --model resnet20 --dataset digits --epochs {epochs} --out {teacher} --force --quiet")
    test = json.loads((teacher / "test.json").read_text())["test"]
    rows.append(("teacher resnet20 (train)", f"{test['accuracy']:.4f}", f"{test['auc']:.4f}", f"{seconds:.1f}"))
    table = Table(title="edgekd demo on digits (test split)")
    for col in ("step", "accuracy", "AUC", "seconds"):
        table.add_column(col)
    for row in rows:
        table.add_row(*row)
    console.print(table)
    console.print(f"artifacts in {out}/")


if __name__ == "__main__":
    typer.run(main)

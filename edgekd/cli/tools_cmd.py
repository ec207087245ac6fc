"""``edgekd report`` (one self-contained HTML page for a run folder, offline in any browser) and
``edgekd import-teacher`` (a teacher trained elsewhere, torchvision architecture + state dict, as a model.pt)."""

from __future__ import annotations

import typer

from edgekd.api import ImportTeacherSpec, ReportSpec


def report(spec: ReportSpec) -> None:
    from edgekd.api import report

    path = report(spec)
    typer.echo(f"report: {path} ({path.stat().st_size / 1e3:.0f} kB, self-contained)")


def import_teacher(spec: ImportTeacherSpec) -> None:
    from edgekd.api import import_teacher

    result = import_teacher(spec)
    test = result["test"]
    scores = f": test accuracy {test['accuracy']:.4f}" if test else " (no data set: not evaluated)"
    typer.echo(f"{result['model']} ({result['params']:,} params){scores} -> {result['out']} "
               f"(sha256 {result['sha256'][:12]})")

"""``edgekd report``: one self-contained HTML page for a run folder (opens offline in any browser)."""

from __future__ import annotations

import typer

from edgekd.api import ReportSpec


def run(spec: ReportSpec) -> None:
    from edgekd.api import report

    path = report(spec)
    typer.echo(f"report: {path} ({path.stat().st_size / 1e3:.0f} kB, self-contained)")

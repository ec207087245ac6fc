"""``edgekd report``: one self-contained HTML page for a run folder (opens offline in any browser).

Thin wrapper over :mod:`edgekd.explain.report`. Register with ``app.command("report")(report)``.
"""

from __future__ import annotations

from pathlib import Path

import typer

from edgekd.cli.common import handle_errors


@handle_errors
def report(
    run_dir: Path = typer.Argument(..., help="Run folder (the --out of train or distill)."),
    out: Path | None = typer.Option(None, "--out", "-o", help="HTML file to write (default: RUN_DIR/report.html)."),
    bench: list[Path] | None = typer.Option(
        None, "--bench", help="A JSON written by edgekd bench --json to include (repeatable); bench JSON inside "
        "RUN_DIR (two folders deep) is found without it."),
) -> None:
    """Write an HTML report of a run: config, curves, metrics, test results, attention, parity, benchmarks."""
    from edgekd.explain.report import write_report

    path = write_report(run_dir, out, bench or ())
    typer.echo(f"report: {path} ({path.stat().st_size / 1e3:.0f} kB, self-contained)")

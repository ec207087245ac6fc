"""``edgekd bench``: latency, memory, size and accuracy of model files on this machine.

Printing only: the work is :func:`edgekd.api.bench` (each model in its own child process,
``--all-formats`` by :mod:`edgekd.api.matrix`). Torch-free; heavy imports happen inside the
command. Registered in :mod:`edgekd.cli.app` with ``register(app, BenchSpec, bench)``.
"""

from __future__ import annotations

from edgekd.api import BenchSpec


def bench(spec: BenchSpec) -> None:
    """Print the comparison tables, the notes and the profiles of the report (edgekd.api.bench)."""
    from rich.console import Console

    from edgekd.api import bench as run
    from edgekd.api.printing import profile_sections, rich_tables, table_lines

    console = Console(stderr=True)
    report = run(spec, console=console)
    if spec.all_formats:
        for result in report["models"]:
            Console().print("\n".join(table_lines(result)), markup=False, highlight=False)
        return
    for table in rich_tables(report):
        Console().print(table)
    for row in report["rows"]:
        for note in row["notes"]:
            console.print(f"[yellow]note[/yellow] {row['name']}: {note}")
    if spec.profile:
        Console().print("\n".join(profile_sections(report)), markup=False, highlight=False)

"""``edgekd datasets`` and ``edgekd models``: what the registries hold."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from edgekd.cli.common import DataDir, handle_errors


@handle_errors
def datasets(data_dir: DataDir = None) -> None:
    """List data sets: classes, channels, size, split sizes and whether the files are present locally."""
    from edgekd.data.registry import describe
    from edgekd.data.spec import default_data_dir

    table = Table(title=f"data sets (data dir: {default_data_dir(data_dir)})")
    for col in ("name", "classes", "channels", "size", "train/val/test", "present"):
        table.add_column(col)
    for row in describe(data_dir):
        table.add_row(row["name"], str(row["classes"]), str(row["channels"]), f"{row['size']}x{row['size']}",
                      row["splits"], "yes" if row["present"] else "no")
    Console(width=120).print(table)
    typer.echo("also: folder:PATH for your own images (one subfolder per class, optional train/val/test)")


@handle_errors
def models(
    size: int = typer.Option(28, help="Input size (pixels) for the MACs column."),
    channels: int = typer.Option(1, help="Input channels."),
    num_classes: int = typer.Option(2, "--num-classes", help="Output classes."),
    role: str | None = typer.Option(None, help="Show only teacher or student models."),
) -> None:
    """List models: role, parameters and multiply-accumulates at the given input size."""
    from edgekd.models.registry import create_model, model_entries
    from edgekd.models.stats import count_macs, count_params

    table = Table(title=f"models at {channels}x{size}x{size}, {num_classes} classes")
    for col in ("name", "role", "params", "MACs", "stages", "description"):
        table.add_column(col)
    for entry in model_entries(role):
        model = create_model(entry.name, channels, num_classes)
        table.add_row(entry.name, entry.role, f"{count_params(model):,}",
                      f"{count_macs(model, (channels, size, size)) / 1e6:.2f}M", str(len(model.stages)), entry.description)
    Console(width=140).print(table)
    typer.echo("also: tv:NAME for any torchvision classifier (random init)")

"""``edgekd datasets`` and ``edgekd models``: what the registries hold."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from edgekd.api import ModelsSpec
from edgekd.cli.common import DataDir, handle_errors

LAYOUT_HELP = (  # `edgekd datasets --help`: the folder layouts (edgekd/data/folder_scan.py has the rules)
    "List data sets, or check one before training: edgekd datasets folder:PATH.\n\n"
    "[bold]Your own images, folder:PATH[/bold] (one folder per class; layouts accepted):\n\n"
    "- PATH/<class>/*.png: split 70/15/15 per class (stratified, seed 0; >= 10 images a class);\n\n"
    "- PATH/train/<class>/ and PATH/test/<class>/: validation carved from train/ (15 % of each class, "
    "stratified, seed 0; >= 7 training images a class), test/ as given;\n\n"
    "- PATH/train/, PATH/val/, PATH/test/ (each with the same class folders): used as given.\n\n"
    "Refused with one error line: split-named folders among class folders or any other set of split "
    "folders (e.g. train/ + val/ only), splits with different classes, fewer than two classes, a class "
    "missing from a split, unreadable images, and images that would be distorted. Conversion: all grey -> "
    "1 channel, else RGB (grey images at most 5 % of a colour set); every image resized to S x S, S = the "
    "shorter side of the most common size, refusing aspect ratios more than 10 % off it and images "
    "smaller than S / 2. Hidden files, non-image files and files outside class folders are skipped and "
    "listed."
)


@handle_errors
def datasets(
    name: str | None = typer.Argument(None, metavar="[NAME]", help="A data set to check (folder:PATH or a name): "
                                      "layout, classes, images per class and split, shape, skipped files."),
    data_dir: DataDir = None,
) -> None:
    from edgekd.data.registry import describe, get_source
    from edgekd.data.spec import default_data_dir

    if name is not None:
        source = get_source(name)
        if hasattr(source, "scan"):
            print_folder_check(source.scan, source.name)
        else:
            info = source.info
            typer.echo(f"{name}: {info.num_classes} classes ({', '.join(info.class_names)}), "
                       f"{info.channels}x{info.size}x{info.size}, train/val/test "
                       f"{'/'.join(str(info.splits.get(s, '?')) for s in ('train', 'val', 'test'))}; {info.source}")
        return
    table = Table(title=f"data sets (data dir: {default_data_dir(data_dir)})")
    for col in ("name", "classes", "channels", "size", "train/val/test", "present"):
        table.add_column(col)
    for row in describe(data_dir):
        table.add_row(row["name"], str(row["classes"]), str(row["channels"]), f"{row['size']}x{row['size']}",
                      row["splits"], "yes" if row["present"] else "no")
    Console(width=120).print(table)
    typer.echo("also: folder:PATH for your own images; check one with: edgekd datasets folder:PATH "
               "(layouts: edgekd datasets --help)")


datasets.__doc__ = LAYOUT_HELP


def print_folder_check(scan, name: str, show_skipped: int = 10) -> None:
    """What edgekd will train on from a folder set: layout, classes and counts, shape, skipped files."""
    typer.echo(f"{name}: layout {scan.layout}" + (f"; {scan.note}" if scan.note else ""))
    kind = "grey, 1 channel" if scan.channels == 1 else "RGB, 3 channels"
    w, h = scan.common_size
    shape = f"images: {scan.channels}x{scan.size}x{scan.size} after conversion ({kind}); most are {w}x{h}"
    shape += f", {scan.resized} resized" if scan.resized else ", none resized"
    if scan.grey_to_rgb:
        shape += f", {scan.grey_to_rgb} grey images repeated to RGB"
    typer.echo(shape)
    counts = scan.counts()
    table = Table(show_header=True)
    for col in ("class", "train", "val", "test", "total"):
        table.add_column(col, justify="left" if col == "class" else "right")
    for i, cls in enumerate(scan.classes):
        row = [counts[s][i] for s in ("train", "val", "test")]
        table.add_row(cls, *map(str, row), str(sum(row)))
    totals = [sum(counts[s]) for s in ("train", "val", "test")]
    table.add_row("all", *map(str, totals), str(sum(totals)))
    Console(width=120).print(table)
    if scan.skipped:
        typer.echo(f"skipped {len(scan.skipped)} files:")
        for path, why in scan.skipped[:show_skipped]:
            typer.echo(f"  {path.relative_to(scan.root)}: {why}")
        if len(scan.skipped) > show_skipped:
            typer.echo(f"  ... and {len(scan.skipped) - show_skipped} more")
    else:
        typer.echo("skipped: none")
    typer.echo(f"fingerprint: sha256 {scan.fingerprint}")


def models(spec: ModelsSpec) -> None:
    """Print the model table (edgekd.api.list_models)."""
    from edgekd.api import list_models

    table = Table(title=f"models at {spec.channels}x{spec.size}x{spec.size}, {spec.num_classes} classes")
    for col in ("name", "role", "params", "MACs", "stages", "description"):
        table.add_column(col)
    for row in list_models(spec):
        table.add_row(row["name"], row["role"], f"{row['params']:,}", f"{row['macs'] / 1e6:.2f}M", str(row["stages"]),
                      row["description"])
    Console(width=140).print(table)
    typer.echo("also: tv:NAME for any torchvision classifier (random init)")

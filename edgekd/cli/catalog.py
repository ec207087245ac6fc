"""``edgekd datasets``, ``edgekd models`` and ``edgekd import-teacher``: what the registries hold, and a
teacher trained elsewhere (torchvision architecture + state dict) as a model.pt."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from edgekd.api import DatasetsSpec, ImportTeacherSpec, ModelsSpec

LAYOUT_HELP = (  # `edgekd datasets --help`: the layouts (edgekd/data/folder_layout.py has the rules)
    "List data sets, check one (edgekd datasets folder:PATH), or audit one: edgekd datasets --check PATH "
    "decodes every image and lists every problem.\n\n"
    "[bold]Your own images, folder:PATH[/bold] (layouts accepted):\n\n"
    "- PATH/<class>/*.jpg: split 70/15/15 per class (stratified, seed 0; >= 10 images a class);\n\n"
    "- PATH/train/<class>/ and PATH/test/<class>/: validation carved from train/ (15 % of each class, "
    "stratified, seed 0; >= 7 training images a class), test/ as given;\n\n"
    "- PATH/train/ and PATH/val/: used as given, with NO test split (reports say so);\n\n"
    "- PATH/train/, PATH/val/, PATH/test/ (each with the same class folders): used as given;\n\n"
    "- folder:FILE.csv: rows path,label[,split] (paths relative to the CSV), split by the rules above.\n\n"
    "Refused with one error line: split-named folders among class folders or any other set of split "
    "folders, splits with different classes, fewer than two classes, a class missing from a split. "
    "Images are read at --image-size N (default: the median shorter side of the images) by the "
    "--resize policy (shorter-crop, letterbox, stretch); all grey -> 1 channel, else RGB (grey images at most "
    "5 % of a colour set). Unreadable images and off-policy ones (enlarged more than 2x) are listed, all of "
    "them; training refuses them unless --skip-bad. Hidden files, non-image files and files outside class "
    "folders are skipped and listed."
)


def datasets(spec: DatasetsSpec) -> None:
    """Print the data set list, one set's check, or a folder's audit (edgekd.api.datasets)."""
    from edgekd.api import datasets as run

    answer = run(spec)
    if answer.audit is not None:
        print_audit(spec.audit, answer)
    elif answer.source is not None:
        source = answer.source
        if hasattr(source, "scan"):
            print_folder_check(source.scan, source.name)
        else:
            info = source.info
            typer.echo(f"{spec.name}: {info.num_classes} classes ({', '.join(info.class_names)}), "
                       f"{info.channels}x{info.size}x{info.size}, train/val/test "
                       f"{'/'.join(str(info.splits.get(s, '?')) for s in ('train', 'val', 'test'))}; {info.source}")
    else:
        table = Table(title=f"data sets (data dir: {answer.data_dir})")
        for col in ("name", "classes", "channels", "size", "train/val/test", "present"):
            table.add_column(col)
        for row in answer.rows:
            table.add_row(row["name"], str(row["classes"]), str(row["channels"]), f"{row['size']}x{row['size']}",
                          row["splits"], "yes" if row["present"] else "no")
        Console(width=120).print(table)
        typer.echo("also: folder:PATH for your own images; check one with: edgekd datasets folder:PATH, audit one "
                   "with edgekd datasets --check PATH (layouts: edgekd datasets --help)")


def print_audit(name: str, answer) -> None:
    """The audit's summary and where its full list is; exit code 1 when it found problems."""
    typer.echo(name)
    for line in answer.audit_lines:
        typer.echo(line)
    typer.echo(f"full report: {answer.report}")
    if not answer.audit.ok:
        typer.echo(f"{len(answer.audit.problems)} unreadable or off-policy images: training refuses this set until "
                   "they are fixed or removed, or with --skip-bad goes on without them", err=True)
        raise typer.Exit(1)


def print_folder_check(scan, name: str, show: int = 10) -> None:
    """What edgekd will train on from a folder set (headers only): layout, counts, shape, problems, skipped files."""
    typer.echo(f"{name}: layout {scan.layout}; {scan.note}")
    w, h = scan.common_size
    shape = (f"images: {scan.channels}x{scan.size}x{scan.size} after conversion ({scan.preprocess.describe()}); "
             f"most are {w}x{h}")
    shape += f", {scan.resized} resized" if scan.resized else ", none resized"
    if scan.grey_to_rgb:
        shape += f", {scan.grey_to_rgb} grey images repeated to RGB"
    typer.echo(shape)
    counts = scan.counts()
    names = list(counts)
    table = Table(show_header=True)
    for col in ("class", *names, "total"):
        table.add_column(col, justify="left" if col == "class" else "right")
    for i, cls in enumerate(scan.classes):
        row = [counts[s][i] for s in names]
        table.add_row(cls, *map(str, row), str(sum(row)))
    totals = [sum(counts[s]) for s in names]
    table.add_row("all", *map(str, totals), str(sum(totals)))
    Console(width=120).print(table)
    if not scan.has_test:
        typer.echo("no test split: reports of a model trained on it give validation figures and say so")
    for title, items in (("unreadable or off-policy (from headers; --check decodes every file)", scan.problems),
                         ("skipped", scan.skipped)):
        if not items:
            typer.echo(f"{title.split(' (')[0]}: none")
            continue
        typer.echo(f"{title}: {len(items)} files")
        for path, why in items[:show]:
            typer.echo(f"  {scan.rel(path)}: {why}")
        if len(items) > show:
            typer.echo(f"  ... and {len(items) - show} more")
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


def import_teacher(spec: ImportTeacherSpec) -> None:
    """Print the imported teacher's test accuracy and where it is (edgekd.api.import_teacher)."""
    from edgekd.api import import_teacher as run

    result = run(spec)
    test = result["test"]
    scores = f": test accuracy {test['accuracy']:.4f}" if test else " (no data set: not evaluated)"
    typer.echo(f"{result['model']} ({result['params']:,} params){scores} -> {result['out']} "
               f"(sha256 {result['sha256'][:12]})")

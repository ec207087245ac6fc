"""``edgekd import-teacher``: a teacher trained elsewhere (torchvision architecture + state dict) as a model.pt."""

from __future__ import annotations

from pathlib import Path

import typer

from edgekd.cli.common import DataDir, Download, handle_errors


def _floats(value: str | None, flag: str) -> list[float] | None:
    if not value:
        return None
    from edgekd.errors import EdgekdError

    try:
        return [float(v) for v in value.split(",") if v.strip()]
    except ValueError:
        raise EdgekdError(f"{flag} takes comma-separated numbers, got {value!r}") from None


@handle_errors
def import_teacher(
    arch: str = typer.Option(..., "--arch", "-a", help="torchvision architecture, e.g. resnet18, mobilenet_v3_small "
                             "(or tv:NAME)."),
    weights: Path = typer.Option(..., "--weights", "-w", help="Plain state-dict file (.pt / .pth), read with "
                                 "torch.load(weights_only=True)."),
    dataset: str | None = typer.Option(None, "--dataset", "-d", help="Data set it was trained for: gives channels, "
                                       "size, classes and normalisation, and the test split it is evaluated on."),
    classes: str | None = typer.Option(None, "--classes", help="Without --dataset: comma-separated class names."),
    mean: str | None = typer.Option(None, "--mean", help="Without --dataset: per-channel mean, e.g. 0.5 or "
                                    "0.485,0.456,0.406."),
    std: str | None = typer.Option(None, "--std", help="Without --dataset: per-channel std."),
    size: int | None = typer.Option(None, "--size", help="Without --dataset: input height = width in pixels."),
    data_dir: DataDir = None,
    download: Download = False,
    out: Path = typer.Option(Path("teacher.pt"), "--out", "-o", help="The model.pt to write (use it as --teacher)."),
    force: bool = typer.Option(False, "--force", help="Replace --out if it exists."),
) -> None:
    """Turn a torchvision classifier trained elsewhere into a checkpoint that distill takes as --teacher."""
    from edgekd.training.outside import import_torchvision

    names = [c.strip() for c in classes.split(",") if c.strip()] if classes else None
    result = import_torchvision(arch, weights, out, dataset, data_dir and str(data_dir), download, names,
                                _floats(mean, "--mean"), _floats(std, "--std"), size, force)
    test = result["test"]
    scores = f": test accuracy {test['accuracy']:.4f}" if test else " (no data set: not evaluated)"
    typer.echo(f"{result['model']} ({result['params']:,} params){scores} -> {result['out']} "
               f"(sha256 {result['sha256'][:12]})")

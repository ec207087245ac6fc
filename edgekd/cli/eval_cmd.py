"""``edgekd eval``: accuracy (and AUC) of a checkpoint on a split."""

from __future__ import annotations

from pathlib import Path

import typer

from edgekd.cli import train_options as opt
from edgekd.cli.common import DataDir, Download, handle_errors


@handle_errors
def eval_checkpoint(
    checkpoint: Path = typer.Argument(..., help="A model.pt written by train or distill."),
    dataset: str | None = typer.Option(None, "--dataset", "-d", help="Data set (default: the checkpoint's own)."),
    split: str = typer.Option("test", help="train, val or test."),
    data_dir: DataDir = None,
    download: Download = False,
    device: str = typer.Option("auto", help="auto, cpu or cuda."),
    json_path: Path | None = typer.Option(None, "--json", help="Also write the result as JSON here."),
    image_size: opt.ImageSize = None,
    resize: opt.Resize = None,
    skip_bad: opt.SkipBad = False,
) -> None:
    """Evaluate a checkpoint: accuracy, AUC (binary: class-1 probability; else macro one-vs-rest).
    A folder:PATH set is read as the checkpoint was trained (its --image-size and --resize) unless told otherwise."""
    from edgekd.data.registry import get_source, load_split
    from edgekd.errors import EdgekdError
    from edgekd.fileio import atomic_write_json
    from edgekd.train.batches import TensorSplit
    from edgekd.train.checkpoint import build_model, load_checkpoint
    from edgekd.train.evaluate import evaluate
    from edgekd.train.loop import resolve_device

    options = opt.data_options(image_size, resize, skip_bad)
    content = load_checkpoint(checkpoint)
    name = dataset or content["data"]["name"]
    stored = content["data"].get("preprocess") or {} if name.startswith("folder:") else {}
    source = get_source(name, options.image_size or stored.get("image_size"), options.resize or stored.get("resize"),
                        skip_bad)
    info = source.info
    if split not in info.splits:
        raise EdgekdError(f"{name} has no {split} split (it has {', '.join(info.splits)}): pass --split "
                          f"{'val' if 'val' in info.splits else 'train'}, or add a {split}/ folder of class folders")
    want = content["data"]
    if (info.channels, info.size) != (want["channels"], want["size"]) or info.num_classes != want["num_classes"]:
        raise EdgekdError(f"{name} has {info.channels}x{info.size}x{info.size} inputs and {info.num_classes} classes, "
                          f"the checkpoint expects {want['channels']}x{want['size']}x{want['size']} and "
                          f"{want['num_classes']}; evaluate on a matching data set")
    data = TensorSplit.from_split(load_split(name, split, data_dir, download, source=source), info)
    dev = resolve_device(device)
    result = {"checkpoint": str(checkpoint), "dataset": name, "split": split,
              **evaluate(build_model(content).to(dev), data, device=dev)}
    auc = f"  AUC {result['auc']:.4f}" if result["auc"] == result["auc"] else ""
    if info.preprocess:
        result["preprocess"] = info.preprocess
    typer.echo(f"{name} {split} (n={result['n']}): accuracy {result['accuracy']:.4f}{auc}")
    if json_path:
        atomic_write_json(json_path, result)

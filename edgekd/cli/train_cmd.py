"""``edgekd train``: supervised training from scratch (teachers and baseline students)."""

from __future__ import annotations

from pathlib import Path

import typer

from edgekd.cli import train_options as opt
from edgekd.cli.common import DataDir, Dataset, Download, handle_errors
from edgekd.cli.config_file import ConfigOption, save_run_config


@handle_errors
def train(
    ctx: typer.Context,
    model: str = typer.Option("resnet20", "--model", "-m", help="Model name (edgekd models) or tv:NAME."),
    dataset: Dataset = "digits",
    data_dir: DataDir = None,
    download: Download = False,
    epochs: opt.Epochs = 30,
    batch_size: opt.BatchSize = 128,
    lr: opt.Lr = 0.05,
    optimizer: opt.Optimizer = "sgd",
    schedule: opt.Schedule = "cosine",
    weight_decay: opt.WeightDecay = 5e-4,
    augment: opt.Augment = True,
    flip: opt.Flip = False,
    rotate: opt.Rotate = 0.0,
    seed: opt.Seed = 0,
    device: opt.Device = "auto",
    select: opt.Select = "auto",
    label_fraction: opt.LabelFraction = 1.0,
    image_size: opt.ImageSize = None,
    resize: opt.Resize = None,
    skip_bad: opt.SkipBad = False,
    model_arg: opt.ModelArg = None,
    out: Path = typer.Option(Path("runs/train"), "--out", "-o", help="Run folder."),
    resume: opt.Resume = False,
    force: opt.Force = False,
    compile: opt.Compile = False,
    deterministic: opt.Deterministic = True,
    threads: opt.Threads = "auto",
    quiet: opt.Quiet = False,
    config: ConfigOption = None,
) -> None:
    """Train a model from scratch with cross-entropy; keeps the best epoch on the validation split."""
    from edgekd.train.supervised import parse_model_args, train_supervised

    cfg = opt.train_config(epochs, batch_size, lr, optimizer, schedule, weight_decay, augment, seed, device, select,
                       label_fraction, compile, deterministic, threads, flip=flip, rotate=rotate)
    result = train_supervised(model, dataset, out, cfg, data_dir and str(data_dir), parse_model_args(model_arg),
                              resume, force, download, quiet, opt.data_options(image_size, resize, skip_bad))
    if result.get("best_epoch"):
        save_run_config(ctx, out, {"threads": cfg.threads, **opt.resolved_data(out)})
        print_result(f"{model} on {dataset}", result)


def print_result(title: str, result: dict) -> None:
    """The selected checkpoint's test figures; without a test split, validation's, named as such."""
    test = result["test"] if result.get("test") is not None else result["val"]
    what = "test" if result.get("test") is not None else "validation (no test split)"
    auc = f", AUC {test['auc']:.4f}" if test.get("auc") == test.get("auc") and test.get("auc") is not None else ""
    typer.echo(f"{title}: {what} accuracy {test['accuracy']:.4f}{auc} (best epoch {result['best_epoch']}, "
               f"{result['params']:,} params, {result['macs'] / 1e6:.2f}M MACs) -> {result['out']}/model.pt")

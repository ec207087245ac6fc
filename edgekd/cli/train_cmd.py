"""``edgekd train``: supervised training from scratch (teachers and baseline students)."""

from __future__ import annotations

from pathlib import Path

import typer

from edgekd.cli.common import DataDir, Dataset, Download, handle_errors


@handle_errors
def train(
    model: str = typer.Option("resnet20", "--model", "-m", help="Model name (edgekd models) or tv:NAME."),
    dataset: Dataset = "digits",
    data_dir: DataDir = None,
    download: Download = False,
    epochs: int = typer.Option(30, help="Training epochs."),
    batch_size: int = typer.Option(128, "--batch-size", help="Batch size (global)."),
    lr: float = typer.Option(0.05, help="Peak learning rate."),
    optimizer: str = typer.Option("sgd", help="sgd (momentum 0.9, Nesterov) or adamw."),
    schedule: str = typer.Option("cosine", help="cosine or step (x0.1 at 50% and 75%)."),
    weight_decay: float = typer.Option(5e-4, "--weight-decay", help="Weight decay."),
    augment: bool = typer.Option(True, "--augment/--no-augment", help="Random shifts of up to 2 px."),
    seed: int = typer.Option(0, help="Seed for initialisation, order and augmentation."),
    device: str = typer.Option("auto", help="auto, cpu or cuda (AMP on cuda)."),
    select: str = typer.Option("auto", help="Validation metric that picks the best epoch: auto (AUC for two "
                               "classes, else accuracy), accuracy or auc."),
    label_fraction: float = typer.Option(1.0, "--label-fraction", help="Train on this stratified fraction of the labels."),
    model_arg: list[str] | None = typer.Option(None, "--model-arg", help="Model argument name=value (repeatable)."),
    out: Path = typer.Option(Path("runs/train"), "--out", "-o", help="Run folder."),
    resume: bool = typer.Option(False, help="Continue the run in --out from its last complete epoch."),
    force: bool = typer.Option(False, help="Start over in an --out that already holds a run."),
    compile: bool = typer.Option(False, "--compile", help="torch.compile the trained model (GPU runs)."),
    quiet: bool = typer.Option(False, help="No progress bar."),
) -> None:
    """Train a model from scratch with cross-entropy; keeps the best epoch on the validation split."""
    from edgekd.train.loop import TrainConfig
    from edgekd.train.supervised import parse_model_args, train_supervised

    cfg = TrainConfig(epochs=epochs, batch_size=batch_size, lr=lr, optimizer=optimizer, schedule=schedule,
                      weight_decay=weight_decay, augment=augment, seed=seed, device=device, select=select,
                      label_fraction=label_fraction, compile=compile)
    result = train_supervised(model, dataset, out, cfg, data_dir and str(data_dir), parse_model_args(model_arg),
                              resume, force, download, quiet)
    if result.get("test"):
        print_result(f"{model} on {dataset}", result)


def print_result(title: str, result: dict) -> None:
    test = result["test"]
    auc = f", AUC {test['auc']:.4f}" if test.get("auc") == test.get("auc") else ""
    typer.echo(f"{title}: test accuracy {test['accuracy']:.4f}{auc} (best epoch {result['best_epoch']}, "
               f"{result['params']:,} params, {result['macs'] / 1e6:.2f}M MACs) -> {result['out']}/model.pt")

"""The training options ``train`` and ``distill`` share: defined once, so both commands
take the same flags with the same defaults and help, and build the same TrainConfig."""

from __future__ import annotations

from typing import Annotated

import typer

Epochs = Annotated[int, typer.Option(help="Training epochs.")]
BatchSize = Annotated[int, typer.Option("--batch-size", help="Batch size (global).")]
Lr = Annotated[float, typer.Option(help="Peak learning rate.")]
Optimizer = Annotated[str, typer.Option(help="sgd (momentum 0.9, Nesterov) or adamw.")]
Schedule = Annotated[str, typer.Option(help="cosine or step (x0.1 at 50% and 75%).")]
WeightDecay = Annotated[float, typer.Option("--weight-decay", help="Weight decay.")]
Augment = Annotated[bool, typer.Option("--augment/--no-augment", help="Random shifts of up to 2 px (each image's "
                                       "shift a pure function of seed, image and view).")]
Flip = Annotated[bool, typer.Option("--flip", help="Also mirror left-right with probability 1/2; only data sets "
                                    "whose classes survive a mirror (not digits, MNIST, chest X-rays, organ CT).")]
Rotate = Annotated[float, typer.Option(help="Also rotate by up to this many degrees either way (0..30; 0: off).")]
Seed = Annotated[int, typer.Option(help="Seed for initialisation, order and augmentation.")]
Device = Annotated[str, typer.Option(help="auto, cpu or cuda (AMP on cuda).")]
Select = Annotated[str, typer.Option(help="Validation metric that picks the best epoch: accuracy or auc.")]
LabelFraction = Annotated[float, typer.Option("--label-fraction", help="Train on this stratified fraction of the "
                                                                       "labels.")]
ModelArg = Annotated[list[str] | None, typer.Option("--model-arg", help="Model argument name=value (repeatable).")]
Resume = Annotated[bool, typer.Option(help="Continue the run in --out from its last complete epoch.")]
Force = Annotated[bool, typer.Option(help="Start over in an --out that already holds a run.")]
Compile = Annotated[bool, typer.Option("--compile", help="torch.compile the trained model (GPU runs).")]
Quiet = Annotated[bool, typer.Option(help="No progress bar.")]
Deterministic = Annotated[bool, typer.Option(
    "--deterministic/--no-deterministic",
    help="torch's deterministic algorithms: the same seed gives bitwise-identical weights and metrics "
         "(on the same machine, threads and versions). It costs about 3-5% per epoch on the CPU (1.03x: a "
         "PneumoniaMNIST distillation epoch, 1 thread, median of 7 interleaved pairs on a quiet machine; "
         "benchmarks/determinism.md); --no-deterministic saves that and gives up bitwise repeats.")]
ImageSize = Annotated[int | None, typer.Option(
    "--image-size", help="folder:PATH sets: read every image at N x N pixels (default: the median shorter side of "
                         "the images). Stored with the model and applied by the device side.")]
Resize = Annotated[str | None, typer.Option(
    "--resize", help="folder:PATH sets: how an image becomes N x N: shorter-crop (the shorter side to N, then the "
                     "centre crop; the default, as torchvision's Resize + CenterCrop), letterbox (the whole image, "
                     "padded with black) or stretch (the whole image, distorted).")]
SkipBad = Annotated[bool, typer.Option(
    "--skip-bad", help="folder:PATH sets: go on without the unreadable and off-policy images (all listed in "
                       "<PATH>-bad-files.txt) instead of refusing the set.")]
Threads = Annotated[str, typer.Option(
    help="CPU threads for torch: a positive number, or auto (OMP_NUM_THREADS when set, else the physical "
         "cores; edgekd/train/threads.py). The resolved count is saved in the run's config.toml.")]


def data_options(image_size: int | None, resize: str | None, skip_bad: bool = False):
    """How a folder set is read, checked (an unknown policy, an impossible size) before any work."""
    from edgekd.data.image_file import check_image_size, check_resize
    from edgekd.train.run import DataOptions

    if image_size is not None:
        check_image_size(image_size)
    if resize is not None:
        check_resize(resize)
    return DataOptions(image_size, resize, skip_bad)


def resolved_data(out) -> dict:
    """The image size and resize policy a folder run settled on (for config.toml), {} otherwise."""
    from edgekd.train.checkpoint import load_checkpoint

    pre = load_checkpoint(out / "model.pt")["data"].get("preprocess")
    return {"image_size": pre["image_size"], "resize": pre["resize"]} if pre else {}


def train_config(epochs: int, batch_size: int, lr: float, optimizer: str, schedule: str, weight_decay: float,
                 augment: bool, seed: int, device: str, select: str, label_fraction: float, compile: bool,
                 deterministic: bool = True, threads: str | int = "auto", flip: bool = False, rotate: float = 0.0,
                 views: int | None = None):
    """The TrainConfig both commands build from these options (``--threads auto`` resolved
    to a count here, once, so the run and its saved config agree)."""
    from edgekd.train.loop import TrainConfig
    from edgekd.train.threads import parse_threads

    return TrainConfig(epochs=epochs, batch_size=batch_size, lr=lr, optimizer=optimizer, schedule=schedule,
                       weight_decay=weight_decay, augment=augment, seed=seed, device=device, select=select,
                       label_fraction=label_fraction, compile=compile, deterministic=deterministic,
                       threads=parse_threads(threads), flip=flip, rotate=rotate, views=views)

"""The specs of ``edgekd train`` and ``edgekd eval`` (see :mod:`edgekd.spec`). Torch-free."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from edgekd.data.options import ReadOptions
from edgekd.spec import REQUIRED, Spec, option, option_of
from edgekd.training.config import TrainConfig

__all__ = ["DATA_DIR_HELP", "DATASET_HELP", "DOWNLOAD_HELP", "CalibrateSpec", "EvalSpec", "ImportTeacherSpec", "TrainSpec"]

DATASET_HELP = "Data set name (edgekd datasets) or folder:PATH."
DATA_DIR_HELP = "Data root (default: $EDGEKD_DATA or ~/.cache/edgekd/data)."
DOWNLOAD_HELP = "Fetch the official files when missing (needs a network)."


@dataclass(kw_only=True)
class TrainSpec(TrainConfig, ReadOptions):
    """Train a model from scratch with cross-entropy; keeps the best epoch on the validation split."""

    command = "train"
    lead = ("model", "dataset", "data_dir", "download", "image_size", "resize", "skip_bad")

    model: str = option("resnet20", "Model name (edgekd models) or tv:NAME.", "-m")
    dataset: str = option("digits", DATASET_HELP, "-d")
    data_dir: Path | None = option(None, DATA_DIR_HELP)
    download: bool = option(False, DOWNLOAD_HELP, negatable=False)
    epochs: int | str = option(30, "Training epochs, or auto (by the training set's size, as distill: "
                                   "edgekd/training/schedule.py). 30 by default: benchmarks/teachers/teachers.md.")
    model_arg: list[str] = option([], "Model argument name=value (repeatable).")
    threads: int | str | None = option_of(TrainConfig, "threads", "auto")
    out: Path = option(Path("runs/train"), "Run folder.", "-o", record=False)
    resume: bool = option(False, "Continue the run in --out from its last complete epoch.", negatable=False,
                          record=False)
    force: bool = option(False, "Start over in an --out that already holds a run.", negatable=False, record=False)
    quiet: bool = option(False, "No progress bar.", negatable=False, record=False)

    def model_kwargs(self) -> dict:
        """``--model-arg`` as keyword arguments of the model's builder."""
        from edgekd.models.args import parse_model_args

        return parse_model_args(self.model_arg)


@dataclass(kw_only=True)
class EvalSpec(ReadOptions):
    """Evaluate a checkpoint on a split: accuracy and AUC (binary: class-1 probability; else macro one-vs-rest)."""

    command = "eval"

    checkpoint: Path = option(REQUIRED, "A model.pt written by train or distill.", argument=True)
    dataset: str | None = option(None, "Data set (default: the checkpoint's own).", "-d")
    split: str = option("test", "train, val or test.", choices=("train", "val", "test"))
    data_dir: Path | None = option(None, DATA_DIR_HELP)
    download: bool = option(False, DOWNLOAD_HELP, negatable=False)
    device: str = option("auto", "auto, cpu or cuda.")
    json: Path | None = option(None, "Also write the result as JSON here.", record=False)
    reliability: Path | None = option(None, "The reliability diagram PNG (before / after calibration; default: "
                                            "reliability-<split>.png beside the checkpoint).", record=False)


@dataclass(kw_only=True)
class CalibrateSpec(Spec):
    """Fit a checkpoint's calibration and operating point again on its validation split and store them in it."""

    command = "calibrate"

    checkpoint: Path = option(REQUIRED, "A model.pt written by train or distill (rewritten in place, atomically).",
                              argument=True)
    operating_point: str = option_of(TrainConfig, "operating_point")
    calibration: str = option_of(TrainConfig, "calibration")
    data_dir: Path | None = option(None, DATA_DIR_HELP)
    download: bool = option(False, DOWNLOAD_HELP, negatable=False)
    device: str = option("auto", "auto, cpu or cuda.")

    def check(self) -> None:
        from edgekd.decision.operating_point import canonical_name

        super().check()
        canonical_name(self.operating_point)


@dataclass(kw_only=True)
class ImportTeacherSpec(Spec):
    """Turn a torchvision classifier trained elsewhere into a checkpoint that distill takes as --teacher."""

    command = "import-teacher"

    arch: str = option(REQUIRED, "torchvision architecture, e.g. resnet18, mobilenet_v3_small (or tv:NAME).", "-a")
    weights: Path = option(REQUIRED, "Plain state-dict file (.pt / .pth), read with torch.load(weights_only=True).",
                           "-w")
    dataset: str | None = option(None, "Data set it was trained for: gives channels, size, classes and "
                                       "normalisation, and the test split it is evaluated on.", "-d")
    classes: str | None = option(None, "Without --dataset: comma-separated class names.")
    mean: str | None = option(None, "Without --dataset: per-channel mean, e.g. 0.5 or 0.485,0.456,0.406.")
    std: str | None = option(None, "Without --dataset: per-channel std.")
    size: int | None = option(None, "Without --dataset: input height = width in pixels.")
    data_dir: Path | None = option(None, DATA_DIR_HELP)
    download: bool = option(False, DOWNLOAD_HELP, negatable=False)
    out: Path = option(Path("teacher.pt"), "The model.pt to write (use it as --teacher).", "-o", record=False)
    force: bool = option(False, "Replace --out if it exists.", negatable=False, record=False)

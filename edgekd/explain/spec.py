"""The specs of ``edgekd report`` and ``edgekd attention-agreement`` (see :mod:`edgekd.spec`).
Torch-free."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from edgekd.spec import REQUIRED, Spec, option

__all__ = ["AgreementSpec", "ExplainSpec", "ReportSpec"]

MAP_NAMES = ("fma", "mip", "cam", "sals", "gradcam")


@dataclass(kw_only=True)
class ReportSpec(Spec):
    """Write an HTML report of a run: config, curves, metrics, test results, attention, parity, benchmarks."""

    command = "report"

    run_dir: Path = option(REQUIRED, "Run folder (the --out of train or distill).", argument=True)
    out: Path | None = option(None, "HTML file to write (default: RUN_DIR/report.html).", "-o", record=False)
    bench: list[Path] = option([], "A JSON written by edgekd bench --json to include (repeatable); bench JSON inside "
                                   "RUN_DIR (two folders deep) is found without it.")


@dataclass(kw_only=True)
class AgreementSpec(Spec):
    """Faithfulness of every map (ins−del vs four controls) and image-specific agreement with the teacher."""

    command = "attention-agreement"

    teacher: Path = option(REQUIRED, "Teacher checkpoint (.pt).", "-t")
    student: list[Path] = option(REQUIRED, "Student checkpoint (.pt); repeat for more.", "-s")
    dataset: str | None = option(None, "Data set (default: the teacher's own).", "-d")
    split: str = option("test", "Split to compare on.", choices=("train", "val", "test"))
    map: list[str] = option([], "Map to score; repeat for more. Default: all (gradcam where pytorch-grad-cam is "
                                "installed).", choices=MAP_NAMES)
    out: Path = option(Path("agreement"), "Folder for agreement.json and the figures.", "-o", record=False)
    data_dir: Path | None = option(None, "Data root (default: $EDGEKD_DATA or ~/.cache/edgekd/data).")
    limit: int | None = option(None, "Use only the first N images of the split (>= 300 for intervals worth reading).")
    steps: int = option(10, "Insertion / deletion steps (10: 10 % of the pixels each).")
    fill: str = option("auto", "What a removed pixel becomes: mean, blur, or auto (the one that leaves the teacher "
                               "least decisive on the fully-removed image).", choices=("auto", "mean", "blur"))
    seed: int = option(0, "Seed of the controls, of tie-breaking and of the shuffled pairs.")
    quiet: bool = option(False, "No progress bar.", negatable=False, record=False)


@dataclass(kw_only=True)
class ExplainSpec(Spec):
    """Overlay the attention map on each image, with the predicted class and its probability."""

    command = "explain"

    model: Path = option(REQUIRED, "Checkpoint (.pt), or exported model (.onnx, .tflite, .engine) with an attention "
                                   "head.", argument=True)
    inputs: list[str] = option(REQUIRED, "Image files (.png, .jpg) and/or data set names (edgekd datasets).",
                               argument=True)
    map: str | None = option(None, "fma | mip | cam | sals (checkpoint) or head (exported model). Default: head for an "
                                   "export, fma for a checkpoint.")
    out: Path = option(Path("explain"), "Folder for the overlay PNGs and explain.json.", "-o", record=False)
    split: str = option("test", "Split of a data set input.", choices=("train", "val", "test"))
    n: int = option(8, "Images per data set input, spread over classes.", "-n")
    data_dir: Path | None = option(None, "Data root (default: $EDGEKD_DATA or ~/.cache/edgekd/data).")
    runtime: str = option("auto", "Runtime for an exported model (edgekd bench --help).", "-r")
    layers: list[str] = option([], "Checkpoint only: module names (comma-separated or repeated).")
    resize: bool = option(False, "Resize and convert (grey / colour) image files that do not fit the model's input; "
                                 "without it they are refused. Each conversion is reported.", negatable=False)

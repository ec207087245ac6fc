"""The spec of ``edgekd bench`` (see :mod:`edgekd.spec`). Torch-free: a Raspberry Pi reads it
with numpy and a runtime installed, nothing more."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from edgekd.benchmarking.options import LAYOUT_CHOICES, NORM_PRESETS, FeedOptions
from edgekd.errors import EdgekdError
from edgekd.model_files import RUNTIMES, suffix_list
from edgekd.spec import REQUIRED, Spec, option

__all__ = ["BenchSpec"]

RUNTIME_HELP = f"auto (by suffix), or one of {', '.join(RUNTIMES)}"
FEED = "Models without edgekd metadata:"


@dataclass(kw_only=True)
class BenchSpec(Spec):
    """Benchmark model files, one fresh process each, and compare them to the first.

    Any ONNX / TFLite classifier can be compared with edgekd's: without edgekd metadata it is
    timed on random input of its own shape (latency and memory only), or scored on --dataset
    when the options below say how to feed it.
    """

    command = "bench"

    models: list[Path] = option(REQUIRED, f"Model files ({suffix_list()}); the first is the reference row.",
                                argument=True)
    runtime: str = option("auto", RUNTIME_HELP, "-r")
    threads: int | None = option(None, "CPU threads (default: the runtime's).", at_least=1)
    batch: int = option(1, "Images per run.", "-b", at_least=1)
    warmup: int = option(10, "Untimed runs before timing.", at_least=0)
    iters: int = option(100, "Timed runs.", "-n", at_least=1)
    min_time: float | None = option(None, "Time for S seconds instead of --iters runs.", at_least=0.001)
    dataset: str | None = option(None, "Data set name or .npz file for accuracy (default: none, noise input).", "-d")
    split: str = option("test", "Data split to evaluate.")
    data_dir: Path | None = option(None, "Data cache folder.")
    json: Path | None = option(None, "Write the full report as JSON.", record=False)
    md: Path | None = option(None, "Write the comparison as Markdown.", record=False)
    plot: Path | None = option(None, "Write a PNG bar chart (needs matplotlib).", record=False)
    limit: int | None = option(None, "Evaluate only the first N samples.", at_least=1)
    peak: bool = option(True, "Measure the MatMul peak and the fraction a model reaches.")
    timeout: float = option(600.0, "Seconds allowed per model.", at_least=1.0)
    input_size: str | None = option(None, f"{FEED} resize data set images to N or HxW (bilinear; only when given).")
    channels: int | None = option(None, f"{FEED} convert data set images to 1 (grey) or 3 (RGB) channels.",
                                   at_least=1, at_most=3)
    norm: str | None = option(None, f"{FEED} normalisation preset: unit ([0, 1], the default), symmetric ([-1, 1]), "
                                    "imagenet, dataset (the data set's own mean/std).")
    mean: str | None = option(None, f"{FEED} per-channel mean, e.g. 0.5 or 0.485,0.456,0.406.")
    std: str | None = option(None, f"{FEED} per-channel std, e.g. 0.5 or 0.229,0.224,0.225.")
    layout: str | None = option(None, f"{FEED} input layout nchw or nhwc (default: inferred from the input shape).")
    class_map: str | None = option(None, f"{FEED} model output -> data set class, e.g. 0=normal,1=pneumonia, or a file "
                                         "(one class per line in output order, or JSON); default: outputs in the data "
                                         "set's class order.")
    profile: bool = option(False, "Also profile each model op by op (time per op, int8 vs float kernels, XNNPACK / "
                                  "MLAS fast paths taken); printed after the tables and kept in --json / --md.",
                           negatable=False)
    all_formats: bool = option(False, "Export each MODEL.pt in every format x quantization (each int8 scheme) x "
                                      "attention head (needs torch), or take a folder of exported files (torch-free), "
                                      "and benchmark every cell: one table per model with refused and failed cells "
                                      "reported, not dropped.", negatable=False)
    floor: float | None = option(None, "With --all-formats: mark rows whose test accuracy is below ACC (0.85 or 85).",
                                 metavar="ACC")
    matrix_dir: Path | None = option(None, "With --all-formats: folder for the exported cells (default: <MODEL "
                                           "stem>-all-formats beside the checkpoint).")
    labels: list[str] = option([], "Row name of each model, in order (default: from its metadata, e.g. 'cnn-small "
                                   "fma+kd (onnx int8)'; the file name without metadata).", flag="--label")
    estimate_prior: bool = option(False, "Also estimate the class prior of the images each model ran on (EM on its "
                                         "calibrated probabilities, no labels used; edgekd models with a decision "
                                         "rule).", negatable=False)

    def check(self) -> None:
        """The checks that need no file (model files, a class-map file: :func:`edgekd.api.bench`)."""
        super().check()
        if not self.models:
            raise EdgekdError("give at least one model file")
        if self.all_formats:  # each cell is checked by the matrix (edgekd.api.matrix)
            return
        if self.floor is not None or self.matrix_dir is not None:
            raise EdgekdError("--floor and --matrix-dir go with --all-formats: add it, or drop them")
        from edgekd.runtime.registry import check_runtime

        check_runtime(self.runtime)
        if self.labels and len(self.labels) != len(self.models):
            raise EdgekdError(f"{len(self.labels)} --label for {len(self.models)} models: give one per model, in "
                              "order")
        if self.layout is not None and self.layout.lower() not in LAYOUT_CHOICES:
            raise EdgekdError(f"--layout {self.layout!r}: choose nchw or nhwc")
        if self.norm is not None and self.norm not in NORM_PRESETS:
            raise EdgekdError(f"unknown --norm {self.norm!r}: choose one of {', '.join(NORM_PRESETS)}")
        if not self.dataset and any(v is not None for v in (self.norm, self.mean, self.std, self.class_map)):
            raise EdgekdError("--norm/--mean/--std/--class-map say how to feed --dataset: give --dataset too "
                              "(without it models are timed on random input)")

    def feed(self) -> FeedOptions:
        """How a data set is fed to models without edgekd metadata (``--class-map`` may name a file)."""
        from edgekd.benchmarking.options import parse_class_map, parse_floats, parse_size

        return FeedOptions(parse_size(self.input_size), self.channels, parse_floats(self.mean, "--mean"),
                           parse_floats(self.std, "--std"), self.norm, self.layout.lower() if self.layout else None,
                           parse_class_map(self.class_map))

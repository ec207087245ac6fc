"""The specs of ``edgekd classify`` and ``edgekd adapt`` (see :mod:`edgekd.spec`). Torch-free."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from edgekd.model_files import RUNTIMES
from edgekd.spec import REQUIRED, Spec, option

__all__ = ["AdaptSpec", "ClassifySpec", "ESTIMATORS"]

#: prior estimators (edgekd.decision.prior_shift), the default first (benchmarks/decisions)
ESTIMATORS = ("em", "bbse")


@dataclass(kw_only=True)
class SiteSpec(Spec):
    """What both site commands read: a model file and images (files, folders, or a data set split)."""

    model: Path = option(REQUIRED, "An .onnx or .tflite exported by edgekd export (it carries its decision rule).",
                         argument=True)
    images: list[Path] = option([], "Image files or folders of them (read as the model was trained).", argument=True,
                                metavar="IMAGES...")
    dataset: str | None = option(None, "Instead of image files: a data set (edgekd datasets) and its --split.", "-d")
    split: str = option("test", "Split of --dataset.", choices=("train", "val", "test"))
    data_dir: Path | None = option(None, "Data root (default: $EDGEKD_DATA or ~/.cache/edgekd/data).")
    resize: bool = option(False, "For a model trained on arrays: resize and convert image files that do not fit it "
                                 "(without it they are refused).", negatable=False)
    runtime: str = option("auto", "auto (by suffix), or a runtime.", "-r", choices=("auto", *RUNTIMES))
    threads: int | None = option(None, "CPU threads (default: the runtime's).")


@dataclass(kw_only=True)
class ClassifySpec(SiteSpec):
    """One decision per image, with its calibrated probability, by the model's validated rule, to CSV."""

    command = "classify"

    out: Path | None = option(Path("decisions.csv"), "The CSV to write (one row per image).", "-o", record=False)
    adapted: bool = option(True, "Decide under the site prior of <model>.adapt.json (edgekd adapt) when there is one.")
    estimate_prior: bool = option(False, "Also estimate the class prior of these images (EM, no labels used).",
                                  negatable=False)
    skip_unreadable: bool = option(False, "Leave out files that are not readable images (listed) instead of "
                                          "refusing.", negatable=False)


@dataclass(kw_only=True)
class AdaptSpec(SiteSpec):
    """Estimate a site's class balance from its unlabelled images and adapt the model's decisions to it."""

    command = "adapt"

    estimator: str = option("em", "em (Saerens et al. 2002, on the calibrated probabilities) or bbse (Lipton et al. "
                                  "2018, from the validation confusion matrix).", choices=ESTIMATORS)
    bootstrap: int = option(200, "Bootstrap resamples for the interval.")
    seed: int = option(0, "Seed of the bootstrap.")

    def check(self) -> None:
        from edgekd.errors import EdgekdError

        super().check()
        if self.bootstrap < 20:
            raise EdgekdError(f"--bootstrap {self.bootstrap}: give at least 20 resamples")

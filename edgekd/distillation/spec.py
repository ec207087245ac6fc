"""The spec of ``edgekd distill`` (see :mod:`edgekd.spec`): the training recipe, the method
options and what distillation adds (teacher, student, cache). Torch-free."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from edgekd.data.options import ReadOptions
from edgekd.distillation.config import DistillConfig
from edgekd.spec import REQUIRED, option, option_of
from edgekd.training.config import AUTO_EPOCHS_HELP, TrainConfig
from edgekd.training.spec import DATA_DIR_HELP, DOWNLOAD_HELP

__all__ = ["DistillSpec"]


@dataclass(kw_only=True)
class DistillSpec(TrainConfig, DistillConfig, ReadOptions):
    """Distill a student from a frozen teacher: CE, Hinton KD, AT, or attention-guided (FMA / MIP / SALS / CAM)."""

    command = "distill"
    lead = ("teacher", "student", "method", "dataset", "data_dir", "download", "alpha", "temperature", "beta")

    teacher: list[Path] = option(REQUIRED, "Teacher checkpoint (model.pt from edgekd train or import-teacher). Repeat "
                                           "it for an ensemble teacher: mean of the members' logits and of their "
                                           "attention maps (not with --method at).", "-t")
    student: str = option("cnn-small", "Student model name (edgekd models).", "-s")
    dataset: str | None = option(None, "Data set (default: the teacher's own).", "-d")
    data_dir: Path | None = option(None, DATA_DIR_HELP)
    download: bool = option(False, DOWNLOAD_HELP, negatable=False)
    teacher_cache: Path | None = option(None, "Folder of reusable teacher outputs (logits and maps), built on first use "
                                              "and shared by later students with the same data, teacher and "
                                              "augmentation (policy, seed, views).")
    cache_views: int | None = option(None, "K augmented views per training image: the cache stores the teacher's "
                                           "outputs for each, and each epoch the student trains on one of them (every "
                                           "view once per K epochs). Default 8 with --teacher-cache and augmentation, "
                                           "1 with --no-augment; without --teacher-cache the live teacher sees the "
                                           "same K views.")
    baseline: str = option("auto", "Also train the student alone with the same recipe, seed and views (into "
                                   "OUT/baseline), report the gap recovery, and warn when the teacher is not better "
                                   "than the student alone: on, off, or auto (on up to 1,000 training images, where "
                                   "runs take minutes and a teacher most often fails to help).",
                           choices=("auto", "on", "off"))
    epochs: int | str = option("auto", AUTO_EPOCHS_HELP)
    model_arg: list[str] = option([], "Student model argument name=value (repeatable).")
    threads: int | str | None = option_of(TrainConfig, "threads", "auto")
    out: Path = option(Path("runs/distill"), "Run folder.", "-o", record=False)
    resume: bool = option(False, "Continue the run in --out from its last complete epoch.", negatable=False,
                          record=False)
    force: bool = option(False, "Start over in an --out that already holds a run.", negatable=False, record=False)
    quiet: bool = option(False, "No progress bar.", negatable=False, record=False)

    def __post_init__(self) -> None:
        super().__post_init__()
        from edgekd.models.args import parse_model_args

        self.model_kwargs = parse_model_args(self.model_arg)

"""``train``, ``distill`` and ``evaluate``: the training side of the Python API.

Each takes its command's spec (the same object the CLI builds from its options), checks it,
runs, saves the run's resolved options as ``out/config.toml`` and returns a result object.
Heavy imports (torch) happen inside the functions.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from edgekd.api.results import EvalResult, RunResult
from edgekd.distillation.baseline import wants_baseline
from edgekd.distillation.spec import DistillSpec
from edgekd.spec.files import write_run_config
from edgekd.training.spec import CalibrateSpec, EvalSpec, TrainSpec

__all__ = ["calibrate", "distill", "evaluate", "train"]


def _data_dir(path: Path | None) -> str | None:
    return str(path) if path is not None else None


def _result(raw: dict, out: Path) -> RunResult | None:
    """The result of a finished run, after writing its config.toml (None on a distributed
    run's other ranks, which write nothing). ``test`` is None for a set without a test split."""
    if not raw.get("best_epoch"):
        return None
    spec = raw["resolved"]
    write_run_config(spec, out)
    return RunResult(out=Path(out), spec=spec, best_epoch=raw["best_epoch"], val=raw["val"], test=raw["test"],
                     params=raw["params"], macs=raw["macs"], teacher=raw.get("teacher"))


def train(spec: TrainSpec) -> RunResult | None:
    """Train ``spec.model`` on ``spec.dataset`` from scratch (a teacher, or a student alone)."""
    from edgekd.training.supervised import train_supervised

    spec.check()
    raw = train_supervised(spec.model, spec.dataset, spec.out, spec, _data_dir(spec.data_dir), spec.model_kwargs(),
                           spec.resume, spec.force, spec.download, spec.quiet, data_options=spec)
    return _result(raw, spec.out)


def distill(spec: DistillSpec) -> RunResult | None:
    """Distill ``spec.student`` from ``spec.teacher`` (one checkpoint, or several: an ensemble)."""
    from edgekd.distillation.run import distill as run_distill
    from edgekd.training.checkpoint import load_checkpoint

    spec.check()
    if spec.dataset is None:  # the teacher's own data set
        spec = spec.replace(dataset=load_checkpoint(spec.teacher[0])["data"]["name"])
    raw = run_distill(spec.teacher, spec.student, spec.dataset, spec.out, spec, spec, _data_dir(spec.data_dir),
                      spec.teacher_cache, spec.resume, spec.force, spec.download, spec.quiet, data_options=spec)
    result = _result(raw, spec.out)
    if result is None or not wants_baseline(spec.baseline, raw["n_train"]):
        return result
    return replace(result, baseline=_baseline(result, raw["num_classes"]))


def _baseline(result: RunResult, num_classes: int) -> dict:
    """Train the student alone with the distilled run's resolved recipe (same seed, same views)
    into ``out/baseline`` and write ``out/baseline.json``: the three models and the gap recovery."""
    from edgekd.distillation.baseline import baseline_report
    from edgekd.distillation.run import distill as run_distill
    from edgekd.fileio import atomic_write_json

    done = spec = result.spec
    alone = spec.replace(method="none", alpha=0.0, beta=0.0, teacher_cache=None, baseline="off",
                         out=result.out / "baseline", resume=False, force=True)
    raw = run_distill(alone.teacher, alone.student, alone.dataset, alone.out, alone, alone,
                      _data_dir(alone.data_dir), None, False, True, alone.download, done.quiet,
                      figure_images=0, data_options=alone)
    write_run_config(raw["resolved"], alone.out)
    report = baseline_report(result.teacher or {}, raw, {"val": result.val, "test": result.test},
                             spec.selection_metric(num_classes))
    report["alone_run"] = str(alone.out)
    atomic_write_json(result.out / "baseline.json", report)
    return report


def evaluate(spec: EvalSpec) -> EvalResult:
    """A checkpoint's accuracy and AUC on one split, and what its decision rule achieves there
    (with the reliability diagram PNG written beside the checkpoint unless ``spec.reliability``
    names another place)."""
    from edgekd.training.evaluate import evaluate_checkpoint

    spec.check()
    plot = spec.reliability or Path(spec.checkpoint).with_name(f"reliability-{spec.split}.png")
    metrics = evaluate_checkpoint(spec.checkpoint, spec.dataset, spec.split, _data_dir(spec.data_dir), spec.download,
                                  spec.device, reliability=plot, options=spec)
    return EvalResult(spec.checkpoint, metrics["dataset"], spec.split, metrics,
                      plot if metrics["decision"] is not None else None)


def calibrate(spec: CalibrateSpec):
    """Fit the checkpoint's calibration and operating point on its validation split again and
    store them in it; returns the :class:`~edgekd.decision.DecisionRule`."""
    from edgekd.training.decide import calibrate_checkpoint

    spec.check()
    return calibrate_checkpoint(spec.checkpoint, spec.operating_point, spec.calibration, _data_dir(spec.data_dir),
                                spec.download, spec.device)

"""The student alone, trained with the distilled student's own recipe, and what distillation
added over it: gap recovery, and a warning when the teacher is no better than the student alone.

Gap recovery = (distilled - alone) / (teacher - alone) on the selection metric (AUC for two
classes, else accuracy): 100 % means the student closed the whole gap between training alone
and its teacher; it is not defined when the teacher is not above the student alone, and then
distillation cannot help (a better teacher, an ensemble teacher or more data can).
"""

from __future__ import annotations

from typing import Any

__all__ = ["BASELINE_MAX_IMAGES", "baseline_report", "teacher_warning", "wants_baseline"]

#: ``--baseline auto`` trains the student alone beside the distilled one up to this many training
#: images: there a run takes minutes, and small data is where a teacher most often does not help
BASELINE_MAX_IMAGES = 1_000


def wants_baseline(setting: str, n_train: int) -> bool:
    """Whether ``--baseline`` (auto / on / off) asks for the student alone on ``n_train`` images."""
    return setting == "on" or (setting == "auto" and n_train <= BASELINE_MAX_IMAGES)


def _metric(figures: dict | None, metric: str) -> float | None:
    value = (figures or {}).get(metric)
    return None if value is None or value != value else float(value)


def teacher_warning(teacher_val: dict | None, alone_val: dict, metric: str) -> str | None:
    """The one-line warning when the teacher is not better than the student alone on validation."""
    t, a = _metric(teacher_val, metric), _metric(alone_val, metric)
    if t is None or a is None or t > a:
        return None
    return (f"distillation cannot help here: the teacher's validation {metric} {t:.4f} is not above the student "
            f"alone's {a:.4f}; try a stronger teacher (edgekd train --model resnet56 or a longer --epochs), an "
            "ensemble (repeat --teacher), or more labelled data")


def baseline_report(teacher: dict, alone: dict, student: dict, metric: str) -> dict[str, Any]:
    """The three models' figures on validation and test and the gap recovery on each split."""
    report: dict[str, Any] = {"metric": metric}
    for split in ("val", "test"):
        t, a, s = (_metric(r.get(split), metric) for r in (teacher, alone, student))
        gap = None if None in (t, a, s) or t <= a else (s - a) / (t - a)
        report[split] = {"teacher": t, "alone": a, "distilled": s, "gap_recovery": gap}
    report["warning"] = teacher_warning(teacher.get("val"), alone.get("val") or {}, metric)
    return report

"""The study's cost on this machine, projected from the ``--quick`` runs' recorded times."""

from __future__ import annotations

from pathlib import Path

from benchmarks.study.lib import records
from benchmarks.study.lib.plan import plan
from benchmarks.study.lib.stats import read_run


def _run_cost(profile: dict, out: Path) -> tuple[float, float] | None:
    """(wall seconds of the whole run, mean seconds per epoch) of a finished run of ``profile``
    (from its record), else None."""
    record = records.record_of(profile, out)
    r = read_run(record)
    if r is None or not r["s_per_epoch"] or "study_run" not in record:
        return None
    wall = record["study_run"].get("wall_s")
    return (float(wall), r["s_per_epoch"]) if wall else None


def projected_seconds(spec: dict, quick: dict, full: dict) -> float | None:
    """One full run's cost from its quick counterpart (same data set, regime, student and
    method; the quick profile's seed): the quick run's wall time (setup, teacher cache, one
    epoch, test) plus (epochs - 1) times its seconds per epoch.  None if it has not run (or
    ``spec`` is not a run of ``full``)."""
    if not spec["out"].is_relative_to(records.runs_dir(full)):
        return None
    rel = spec["out"].relative_to(records.runs_dir(full))
    if spec["kind"] == "student":
        rel = rel.parent / f"s{quick['datasets'][spec['dataset']]['seeds'][0]}"
    cost = _run_cost(quick, records.runs_dir(quick) / rel)
    return None if cost is None else cost[0] + (spec["train"].epochs - 1) * cost[1]


def projection(quick: dict, full: dict, jobs: int = 2, specs: list[dict] | None = None) -> dict:
    """The cost on this machine of the full study (or of ``specs``), from the quick runs
    (:func:`projected_seconds`).  ``wall_h`` assumes ``jobs`` runs at a time: the teachers
    packed longest-first, then the students spread evenly (many short runs)."""
    teacher_s, student_s, missing = [], 0.0, 0
    by_dataset: dict[str, float] = {}
    for spec in plan(full) if specs is None else specs:
        seconds = projected_seconds(spec, quick, full)
        if seconds is None:
            missing += 1
            continue
        by_dataset[spec["dataset"]] = by_dataset.get(spec["dataset"], 0.0) + seconds
        if spec["kind"] == "teacher":
            teacher_s.append(seconds)
        else:
            student_s += seconds
    lanes = [0.0] * max(jobs, 1)
    for seconds in sorted(teacher_s, reverse=True):
        lanes[lanes.index(min(lanes))] += seconds
    wall = max(lanes) + student_s / max(jobs, 1)
    return {"runs_missing": missing, "jobs": jobs, "cpu_h": (sum(teacher_s) + student_s) / 3600,
            "teachers_h": sum(teacher_s) / 3600, "wall_h": wall / 3600,
            "by_dataset_h": {k: v / 3600 for k, v in by_dataset.items()}}


def cost_markdown(proj: dict, last_run: dict | None) -> list[str]:
    L = ["## Cost on this machine", ""]
    if last_run:
        L.append(f"This --quick run: {last_run['wall_s'] / 60:.1f} min wall for {last_run['runs']} runs "
                 f"(--jobs {last_run['jobs']}, {last_run['threads']} torch thread(s) each, "
                 f"{last_run['cores']} cores, load average {last_run['load_before']:.1f} before it started).")
    L.append(f"Projected full study (from these runs' wall time + (epochs - 1) x their s/epoch): "
             f"{proj['cpu_h']:.2f} h of single-thread run time, teachers {proj['teachers_h']:.2f} h of it; "
             f"about **{proj['wall_h']:.2f} h** wall with --jobs {proj['jobs']}"
             + (f" ({proj['runs_missing']} runs had no quick counterpart)" if proj["runs_missing"] else "") + ".")
    L.append("By data set (single-thread hours): "
             + ", ".join(f"{k} {v:.2f}" for k, v in proj["by_dataset_h"].items()) + ".")
    return L + [""]

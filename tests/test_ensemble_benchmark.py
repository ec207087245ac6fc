"""benchmarks/ensemble/ensemble.py: the ensemble students pair with the v2 study's single-teacher runs, and
the study's runner distils from several member teachers (tiny digits runs)."""

from __future__ import annotations

import json
from dataclasses import asdict

import pytest
import torch

from benchmarks.ensemble import ensemble
from benchmarks.study.lib import plan, runner


def test_ensemble_students_differ_from_the_single_teacher_runs_only_in_the_teacher():
    specs = ensemble.student_specs(3, [0, 1])
    assert [(s["seed"], s["method"]) for s in specs] == [(0, "kd-ens3"), (0, "mip+kd-ens3"),
                                                         (1, "kd-ens3"), (1, "mip+kd-ens3")]
    members = [s["out"] / "model.pt" for s in ensemble.member_specs(3)]
    assert len(set(members)) == 3 and members[0] == plan.PROFILES["v2"]["root"] / "runs/breastmnist/teacher/model.pt"
    for spec in specs:
        single = plan.student_spec(plan.PROFILES["v2"], "breastmnist", "full", "cnn-small",
                                   spec["method"].removesuffix("-ens3"), spec["seed"])
        assert spec["teacher"] == members
        assert asdict(spec["train"]) == asdict(single["train"]) and spec["distill"] == single["distill"]
        assert spec["out"] != single["out"] and spec["cache"] != single["cache"]  # never reuse the single teacher's cache
        assert spec["out"].parent.name == spec["method"]


def test_runner_distils_from_member_teachers(tmp_path):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        prof = {"root": tmp_path, "datasets": {"digits": {"binary": False, "seeds": [0], "full_fraction": 1.0,
                                                          "batch": 64, "teacher_epochs": 1, "teacher_batch": 64,
                                                          "epochs": {"full": 1}}},
                "regimes": {"full": 1.0}, "students": ["cnn-tiny"], "methods": ["kd"], "teacher": "cnn-small",
                "lr": 0.05, "teacher_lr": 0.05}
        members = [plan.teacher_spec(prof, "digits", seed) for seed in (0, 1)]
        assert [m["out"].name for m in members] == ["teacher", "teacher-s1"]
        student = plan.student_spec(prof, "digits", "full", "cnn-tiny", "kd", 0)
        student["teacher"] = [m["out"] / "model.pt" for m in members]
        assert runner.run_plan(members + [student], log=lambda s: None) == {"new": 3}
    finally:
        torch.set_num_threads(threads)
    seeds = [json.loads((m["out"] / "metrics.json").read_text())["config"]["seed"] for m in members]
    assert seeds == [0, 1]
    record = json.loads((student["out"] / "test.json").read_text())["teacher"]
    assert len(record["members"]) == 2 and record["model"].startswith("ensemble(")
    assert len(json.loads((student["out"] / "study_run.json").read_text())["teacher"]) == 2


@pytest.mark.parametrize("best, verdicts", [(0.905, ("met", "missed")), (0.925, ("met", "met")),
                                            (0.880, ("missed", "missed"))])
def test_report_marks_the_targets(best, verdicts):
    ms = {"mean": best, "sd": 0.01, "n": 5}
    row = {"n": 5, "val_auc": ms, "auc": {"single": ms, "ensemble": ms, "delta": {"n": 1, "mean": 0.0}},
           "acc": {"single": ms, "ensemble": ms, "delta": {"n": 1, "mean": 0.0}}}
    res = {"members": 5, "seeds": [0, 1, 2, 3, 4], "teachers": [], "old_alone_auc": 0.85,
           "recipe": {"teacher_epochs": 60, "epochs": 100, "views": 8},
           "ensemble_teacher": {"auc": 0.92, "accuracy": 0.88}, "methods": {"kd": row}}
    lines = [ln for ln in ensemble.markdown(res).splitlines() if ln.startswith("- ") and "AUC" in ln]
    assert len(lines) == 2 and all(f"{100 * best:.1f}" in ln for ln in lines)
    assert [ln.endswith("**met**") or "**met**," in ln for ln in lines] == [v == "met" for v in verdicts]

"""distill --baseline: the same-recipe student alone beside the distilled one, the gap recovery,
and the warning when the teacher is not better than the student alone."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from edgekd.cli.app import app
from edgekd.distillation.baseline import baseline_report, wants_baseline
from tests.conftest import needs_shared

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_gap_recovery_and_when_baseline_is_on():
    report = baseline_report({"val": {"auc": 0.9}, "test": {"auc": 0.8}}, {"val": {"auc": 0.7}, "test": {"auc": 0.8}},
                             {"val": {"auc": 0.85}, "test": {"auc": 0.79}}, "auc")
    assert abs(report["val"]["gap_recovery"] - 0.75) < 1e-12
    assert report["test"]["gap_recovery"] is None and report["warning"] is None  # no test gap to recover
    assert wants_baseline("auto", 546) and not wants_baseline("auto", 4708)
    assert wants_baseline("on", 60000) and not wants_baseline("off", 10)


@needs_shared
def test_a_teacher_worse_than_the_student_alone_is_named(tmp_path):
    """A teacher stopped after one epoch at a tiny learning rate is worse than a student trained
    alone for a few epochs: distill must say so in one warning line, and record both runs."""
    teacher = tmp_path / "teacher"
    result = invoke("train", "-m", "cnn-tiny", "-d", "breastmnist", "--epochs", "1", "--lr", "0.0001", "--seed", "3",
                    "--threads", "1", "--quiet", "--out", teacher)
    assert result.exit_code == 0, result.output
    out = tmp_path / "student"
    result = invoke("distill", "-t", teacher / "model.pt", "-s", "cnn-tiny", "--epochs", "6", "--batch-size", "64",
                    "--threads", "1", "--quiet", "--out", out)  # BreastMNIST's 546 images: --baseline auto is on
    assert result.exit_code == 0, result.output
    report = json.loads((out / "baseline.json").read_text())
    assert report["metric"] == "auc" and report["val"]["teacher"] <= report["val"]["alone"]
    assert "warning: distillation cannot help here" in result.output
    assert (out / "baseline" / "model.pt").is_file() and (out / "baseline" / "config.toml").is_file()
    alone = json.loads((out / "baseline" / "metrics.json").read_text())
    assert alone["distill"]["method"] == "none" and alone["distill"]["alpha"] == 0.0
    assert alone["config"]["seed"] == 0 and alone["config"]["epochs"] == 6  # the distilled run's own recipe

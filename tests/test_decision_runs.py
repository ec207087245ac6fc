"""Every trained model ships with its decision rule: fitted on validation after train / distill,
stored in model.pt, metrics.json and config.toml, reported by eval, refitted by calibrate."""

from __future__ import annotations

import json
import tomllib

import pytest
from typer.testing import CliRunner

from edgekd.cli.app import app
from edgekd.decision import DecisionRule
from edgekd.training.checkpoint import load_checkpoint
from tests.conftest import assert_one_line_error, needs_shared

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def breast_run(tmp_path_factory):
    """A short real run on BreastMNIST (malignant = the class a screening decision looks for)."""
    out = tmp_path_factory.mktemp("breast") / "run"
    result = invoke("train", "--model", "cnn-tiny", "--dataset", "breastmnist", "--epochs", "4", "--batch-size", "64",
                    "--operating-point", "sensitivity=0.9", "--threads", "1", "--quiet", "--out", out)
    assert result.exit_code == 0, result.output
    return out


@needs_shared
def test_a_binary_run_stores_its_operating_point_everywhere(breast_run):
    content = load_checkpoint(breast_run / "model.pt")  # the SHA-256 still verifies after the rule was added
    rule = DecisionRule.from_dict(content["decision"])
    assert rule.rule == "sensitivity=0.9" and rule.positive_class == 0 and rule.class_names[0] == "malignant"
    assert rule.validation.sensitivity >= 0.9  # the rule's contract, on the split it was chosen on
    assert abs(sum(rule.train_prior) - 1) < 1e-9 and 0.2 < rule.train_prior[0] < 0.3  # 27 % malignant in train
    assert json.loads((breast_run / "metrics.json").read_text())["decision"] == content["decision"]
    assert tomllib.loads((breast_run / "config.toml").read_text())["operating_point"] == "sensitivity=0.9"
    test = json.loads((breast_run / "test.json").read_text())["test"]
    assert test["decision"]["n"] == 156 and test["decision"]["accuracy_at_half"] == pytest.approx(test["accuracy"])


@needs_shared
def test_eval_reports_both_decisions_and_draws_the_reliability_diagram(breast_run, tmp_path):
    result = invoke("eval", breast_run / "model.pt", "--json", tmp_path / "e.json")
    assert result.exit_code == 0, result.output
    assert "accuracy at 0.5" in result.output and "at the operating point" in result.output
    assert "ECE" in result.output and "sensitivity" in result.output
    assert (breast_run / "reliability-test.png").stat().st_size > 5000
    saved = json.loads((tmp_path / "e.json").read_text())
    confusion = saved["decision"]["confusion"]
    assert sum(map(sum, confusion)) == saved["n"] == 156


@needs_shared
def test_calibrate_refits_in_place_and_refuses_bad_rules(breast_run, tmp_path):
    before = (breast_run / "model.pt").read_bytes()
    assert_one_line_error(invoke("calibrate", breast_run / "model.pt", "--operating-point", "sensitivity=2"),
                          "sensitivity")
    assert (breast_run / "model.pt").read_bytes() == before  # a refusal leaves the file as it was
    result = invoke("calibrate", breast_run / "model.pt", "--operating-point", "specificity=0.95")
    assert result.exit_code == 0, result.output
    rule = DecisionRule.from_dict(load_checkpoint(breast_run / "model.pt")["decision"])
    assert rule.rule == "specificity=0.95" and rule.validation.specificity >= 0.95


def test_multi_class_runs_decide_by_calibrated_argmax(trained_digits_run):
    rule = DecisionRule.from_dict(load_checkpoint(trained_digits_run / "model.pt")["decision"])
    assert rule.rule == "argmax" and rule.threshold is None and len(rule.class_names) == 10
    assert rule.validation.nll_after <= rule.validation.nll_before + 1e-9  # temperature fitted by NLL

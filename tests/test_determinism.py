"""--deterministic / --no-deterministic on train and distill: bitwise-identical repeats, and
the non-deterministic mode reaching torch and the run's record."""

from __future__ import annotations

import json
import tomllib

import torch
from typer.testing import CliRunner

from edgekd.cli.app import app

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def _epochs(out):
    return [{k: v for k, v in e.items() if k != "time_s"} for e in json.loads((out / "metrics.json").read_text())["epochs"]]


def test_two_deterministic_runs_are_bitwise_identical(trained_digits_run, tmp_path):
    outs = [tmp_path / "a", tmp_path / "b"]
    for out in outs:
        result = invoke("distill", "--teacher", trained_digits_run / "model.pt", "--student", "cnn-tiny", "--method",
                        "kd", "--epochs", "2", "--batch-size", "64", "--deterministic", "--out", out, "--quiet")
        assert result.exit_code == 0, result.output
    assert torch.are_deterministic_algorithms_enabled()
    assert _epochs(outs[0]) == _epochs(outs[1])
    wa, wb = (torch.load(out / "model.pt", weights_only=True)["state_dict"] for out in outs)
    assert wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)
    assert tomllib.loads((outs[0] / "config.toml").read_text())["deterministic"] is True


def test_no_deterministic_runs_and_is_recorded(trained_digits_run, tmp_path):
    try:
        for command, args in (("train", ("--model", "cnn-tiny")),
                              ("distill", ("--teacher", trained_digits_run / "model.pt", "--student", "cnn-tiny"))):
            out = tmp_path / command
            result = invoke(command, *args, "--epochs", "1", "--no-deterministic", "--out", out, "--quiet")
            assert result.exit_code == 0, result.output
            assert not torch.are_deterministic_algorithms_enabled()  # the option reached torch
            assert tomllib.loads((out / "config.toml").read_text())["deterministic"] is False
            assert json.loads((out / "metrics.json").read_text())["config"]["deterministic"] is False
            assert torch.load(out / "model.pt", weights_only=True)["config"]["deterministic"] is False
    finally:
        torch.use_deterministic_algorithms(True, warn_only=True)  # the process-wide default other tests expect

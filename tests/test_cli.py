"""Every command through Typer's CliRunner: output, exit codes, one-line errors."""

from __future__ import annotations

import json
import re

from typer.testing import CliRunner

from edgekd import __version__
from edgekd.cli.app import app
from tests.conftest import assert_one_line_error

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_version_and_help():
    assert invoke("--version").output.strip() == f"edgekd {__version__}"
    assert "distill" in invoke("--help").output or "train" in invoke("--help").output


def test_datasets_and_models_list():
    out = invoke("datasets").output
    assert "pneumoniamnist" in out and "digits" in out and "folder:PATH" in out
    out = invoke("models", "--role", "student").output
    assert "cnn-tiny" in out and "resnet20" not in out
    assert_one_line_error(invoke("models", "--role", "teachr"), "unknown --role value 'teachr'", "did you mean teacher")
    # short flags mean one thing: -m is the model (train); explain's --map has no short flag
    short_m = re.compile(r"(?<![-\w])-m\b")
    assert short_m.search(invoke("train", "--help").output)
    assert not short_m.search(invoke("explain", "--help").output)


def test_train_and_eval_through_the_cli(tmp_path):
    out = tmp_path / "run"
    result = invoke("train", "--model", "cnn-tiny", "--epochs", "2", "--out", out, "--quiet")
    assert result.exit_code == 0, result.output
    assert "test accuracy" in result.output and (out / "model.pt").exists()
    result = invoke("eval", out / "model.pt", "--split", "val", "--json", tmp_path / "e.json")
    assert result.exit_code == 0 and "accuracy" in result.output
    assert json.loads((tmp_path / "e.json").read_text())["n"] == 359


def test_bad_inputs_are_one_line_errors(tmp_path):
    assert_one_line_error(invoke("train", "--model", "resnet21", "--out", tmp_path / "x"), "resnet21")
    assert_one_line_error(invoke("train", "--dataset", "nope", "--out", tmp_path / "x"), "nope")
    assert_one_line_error(invoke("train", "--optimizer", "adam", "--out", tmp_path / "x"), "adam")
    assert_one_line_error(invoke("eval", tmp_path / "missing.pt"), "does not exist")
    (tmp_path / "junk.pt").write_text("not a checkpoint")
    assert_one_line_error(invoke("eval", tmp_path / "junk.pt"), "junk.pt")
    assert_one_line_error(invoke("train", "--dataset", "pneumoniamnist", "--data-dir", tmp_path, "--out",
                                 tmp_path / "y"), "pneumoniamnist.npz")


def test_distill_through_the_cli(trained_digits_run, tmp_path):
    result = invoke("distill", "--teacher", trained_digits_run / "model.pt", "--student", "cnn-tiny", "--method",
                    "mip", "--epochs", "1", "--out", tmp_path / "d", "--quiet")
    assert result.exit_code == 0, result.output
    assert "cnn-tiny (mip) on digits" in result.output and (tmp_path / "d" / "attention.png").exists()
    assert_one_line_error(invoke("distill", "--teacher", trained_digits_run / "model.pt", "--method", "fmaa",
                                 "--out", tmp_path / "e"), "fma")
    assert_one_line_error(invoke("distill", "--teacher", trained_digits_run / "model.pt", "--flip",
                                 "--out", tmp_path / "f"), "--flip is not allowed on digits")

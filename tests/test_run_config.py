"""Runs described by a file: --config for train and distill, the config.toml every run saves,
replaying a run from it, the command line overriding the file, and one-line errors."""

from __future__ import annotations

import json
import math
import tomllib

import pytest
import torch
from typer.testing import CliRunner

from edgekd.cli.app import app
from edgekd.tomlflat import dumps, loads
from tests.conftest import assert_one_line_error

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_flat_toml_writer_round_trips_through_tomllib():
    values = {"text": 'quote " back \\ slash\nnew line\ttab \x7f é 😀', "empty": "", "int": -12345678901234,
              "float": 0.1, "tiny": 1e-05, "whole": 1.0, "big": 1.5e300, "inf": float("inf"), "ninf": float("-inf"),
              "yes": True, "no": False, "list": ["a", "b,c"], "nums": [1, 2.5], "none_inside": [],
              "key with space": 1, "batch-size": 64}
    text = dumps(values, ["a comment", "another"])
    assert text.startswith("# a comment\n# another\n")
    assert tomllib.loads(text) == values
    assert math.isnan(loads(dumps({"x": float("nan")}))["x"])
    for bad in ({"x": None}, {"x": {"y": 1}}, {"x": [[1]]}, {"x": [None]}):
        with pytest.raises(TypeError):
            dumps(bad)


def test_command_line_overrides_the_file_and_the_run_saves_its_resolved_options(tmp_path):
    (tmp_path / "run.toml").write_text('epochs = 3\nmodel = "cnn-tiny"\nbatch-size = 64\nseed = 4\n')
    out = tmp_path / "run"
    result = invoke("train", "--config", tmp_path / "run.toml", "--epochs", "1", "--out", out, "--quiet")
    assert result.exit_code == 0, result.output
    metrics = json.loads((out / "metrics.json").read_text())
    assert len(metrics["epochs"]) == 1  # the command line's 1, not the file's 3
    saved = tomllib.loads((out / "config.toml").read_text())
    assert saved["epochs"] == 1 and saved["batch_size"] == 64 and saved["seed"] == 4 and saved["model"] == "cnn-tiny"
    assert metrics["config"]["batch_size"] == 64 and metrics["model"]["name"] == "cnn-tiny"
    # every option's final value, defaults included; --threads auto resolved to a count
    assert saved["lr"] == 0.05 and saved["optimizer"] == "sgd" and saved["augment"] is True
    assert saved["deterministic"] is True and isinstance(saved["threads"], int) and saved["threads"] >= 1
    # how it was invoked is not replayed
    assert not {"out", "resume", "force", "quiet", "config"} & set(saved)


def test_distill_replays_from_its_saved_config(trained_digits_run, tmp_path, monkeypatch):
    first = tmp_path / "first"
    result = invoke("distill", "--teacher", trained_digits_run / "model.pt", "--student", "cnn-tiny", "--epochs", "2",
                    "--batch-size", "64", "--seed", "3", "--out", first, "--quiet")
    assert result.exit_code == 0, result.output
    saved = tomllib.loads((first / "config.toml").read_text())
    # the defaults the run resolved are written out: the teacher's data set, the method's alpha and beta
    assert saved["dataset"] == "digits" and saved["alpha"] == 0.9 and saved["beta"] == 1.0
    assert saved["method"] == "mip" and saved["epochs"] == 2 and saved["seed"] == 3
    assert saved["teacher"] == [str((trained_digits_run / "model.pt").absolute())]  # repeatable: an ensemble

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # the saved paths are absolute: a replay works from any folder
    replay = tmp_path / "replay"
    result = invoke("distill", "--config", first / "config.toml", "--out", replay, "--quiet")
    assert result.exit_code == 0, result.output
    a, b = (json.loads((d / "metrics.json").read_text()) for d in (first, replay))
    strip = [{k: v for k, v in e.items() if k != "time_s"} for e in a["epochs"]]
    assert strip == [{k: v for k, v in e.items() if k != "time_s"} for e in b["epochs"]]
    assert json.loads((first / "test.json").read_text()) == json.loads((replay / "test.json").read_text())
    wa, wb = (torch.load(d / "model.pt", weights_only=True)["state_dict"] for d in (first, replay))
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    assert tomllib.loads((replay / "config.toml").read_text()) == saved


@pytest.mark.parametrize("text, words", [
    ("epoch = 3\n", ("bad.toml: unknown option 'epoch'", "did you mean epochs?")),
    ("batch_size = \"3\"\n", ("bad.toml: batch_size must be a whole number", '"3"')),
    ("epochs = \"ten\"\n", ("--epochs must be a positive whole number or auto", "'ten'")),
    ("lr = \"fast\"\n", ("bad.toml: lr must be a number",)),
    ("augment = 1\n", ("bad.toml: augment must be true or false",)),
    ("model = 3\n", ("bad.toml: model must be a string",)),
    ("model_arg = [1]\n", ("bad.toml: model_arg must be a string or a list of them",)),
    ("threads = 1.5\n", ("bad.toml: threads must be a whole number or a string",)),
    ("threads = 0\n", ("--threads must be a positive whole number or auto",)),
    ("[train]\nepochs = 3\n", ("bad.toml: [train] is a table",)),
    ("epochs = [\n", ("bad.toml is not valid TOML",)),
    ("config = \"y.toml\"\n", ("bad.toml: unknown option 'config'",)),
])
def test_bad_files_are_one_line_errors_before_anything_runs(tmp_path, text, words):
    (tmp_path / "bad.toml").write_text(text)
    out = tmp_path / "run"
    assert_one_line_error(invoke("train", "--config", tmp_path / "bad.toml", "--out", out), *words)
    assert not out.exists()


def test_distill_file_errors_name_distill_options(trained_digits_run, tmp_path):
    (tmp_path / "d.toml").write_text("alpah = 0.5\n")
    assert_one_line_error(invoke("distill", "--teacher", trained_digits_run / "model.pt", "--config",
                                 tmp_path / "d.toml", "--out", tmp_path / "d"), "did you mean alpha?")
    assert_one_line_error(invoke("train", "--config", tmp_path / "missing.toml"), "missing.toml does not exist")
    # train has no --alpha: a distill file given to train is refused, not half-applied
    (tmp_path / "t.toml").write_text("alpha = 0.5\nepochs = 1\n")
    assert_one_line_error(invoke("train", "--config", tmp_path / "t.toml", "--out", tmp_path / "t"), "'alpha'")
    assert not (tmp_path / "t").exists() and not (tmp_path / "d").exists()


def test_alpha_help_relates_edgekd_to_torchdistill():
    text = " ".join(invoke("distill", "--help").output.replace("│", " ").split())
    assert "torchdistill" in text and "alpha 0.1" in text and "(1-alpha) CE" in text

"""One spec per command: CLI options -> spec -> saved run -> spec, the same; strict records;
the Python API runs what the CLI runs."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from edgekd.api import DistillSpec, EvalSpec, TrainSpec
from edgekd.cli.spec_command import register
from edgekd.errors import EdgekdError
from edgekd.spec.files import write_run_config

SPECS = (TrainSpec, DistillSpec, EvalSpec)


def parsed(spec_cls, args: list[str]):
    """The spec a command line parses into (the command's runner only keeps it)."""
    app, seen = typer.Typer(), []
    register(app, spec_cls, seen.append)
    register(app, EvalSpec, seen.append, name="unused")  # two commands: typer keeps the command name
    result = CliRunner().invoke(app, [spec_cls.command, *args])
    assert result.exit_code == 0, result.output
    return seen[0]


def test_cli_options_spec_saved_run_and_back_are_the_same(tmp_path):
    teacher = tmp_path / "t.pt"
    args = ["--teacher", str(teacher), "-t", str(tmp_path / "u.pt"), "--method", "fma", "--alpha", "0.5",
            "--teacher-layers", "layer1,layer3", "--epochs", "7", "--threads", "2", "--no-augment",
            "--model-arg", "width=8", "--batch-size", "64", "--out", str(tmp_path / "run")]
    spec = parsed(DistillSpec, args)
    assert spec.teacher == [teacher, tmp_path / "u.pt"] and spec.epochs == 7 and spec.threads == 2
    assert spec.teacher_layers == ["layer1", "layer3"] and spec.model_kwargs == {"width": 8}
    assert spec.augment is False and spec.alpha == 0.5 and spec.out == tmp_path / "run"
    (tmp_path / "run").mkdir()
    saved = tomllib.loads(write_run_config(spec, tmp_path / "run").read_text())
    assert "out" not in saved and saved["teacher_layers"] == ["layer1", "layer3"]
    assert DistillSpec.from_record(saved, out=tmp_path / "run") == spec
    # and the file replays through --config: the same spec again
    assert parsed(DistillSpec, ["--config", str(tmp_path / "run" / "config.toml"), "--out", str(tmp_path / "run")]
                  ) == spec


@pytest.mark.parametrize("spec_cls", SPECS)
def test_defaults_round_trip_for_every_spec(spec_cls, tmp_path):
    required = {"teacher": [tmp_path / "t.pt"]} if spec_cls is DistillSpec else {}
    if spec_cls is EvalSpec:
        required = {"checkpoint": tmp_path / "m.pt"}
    spec = spec_cls(**required)
    record = spec.record()
    invocation = {o.name: getattr(spec, o.name) for o in spec.options() if not o.cli.record}
    assert spec_cls.from_record(json.loads(json.dumps(record)), **invocation) == spec


def test_records_refuse_unknown_keys_and_wrong_kinds_in_one_line():
    with pytest.raises(EdgekdError, match=r"unknown option 'batch_sise' \(did you mean batch_size\?\)"):
        TrainSpec.from_record({"batch_sise": 3})
    with pytest.raises(EdgekdError, match="lr must be a number"):
        TrainSpec.from_record({"lr": "fast"})
    with pytest.raises(EdgekdError, match="unknown option 'out'"):  # how a run was invoked is not a record
        TrainSpec.from_record({"out": "x"})


def test_choices_come_from_the_registries():
    from edgekd.distillation import methods

    spec = DistillSpec(teacher=[Path("t.pt")], method="mipp")
    with pytest.raises(EdgekdError, match=r"unknown --method value 'mipp' \(did you mean mip\?\)"):
        spec.check()
    method = {o.name: o for o in DistillSpec.options()}["method"]
    assert method.cli.choice_list() == list(methods.METHODS)
    app = typer.Typer()
    register(app, DistillSpec, print)
    register(app, EvalSpec, print, name="unused")
    text = " ".join(CliRunner().invoke(app, ["distill", "--help"]).output.replace("│", " ").split())
    assert "Choices: " + ", ".join(methods.METHODS) in text


def test_api_trains_and_distills_what_the_cli_would(tmp_path):
    import edgekd

    teacher = edgekd.train(edgekd.TrainSpec(model="cnn-small", dataset="digits", epochs=2, batch_size=64,
                                            out=tmp_path / "t", quiet=True, threads=1))
    assert teacher.checkpoint.is_file() and teacher.test["accuracy"] > 0.3 and teacher.spec.threads == 1
    student = edgekd.distill(edgekd.DistillSpec(teacher=[teacher.checkpoint], student="cnn-tiny", epochs=2,
                                                batch_size=64, out=tmp_path / "s", quiet=True, threads=1))
    # the defaults the run resolved: the teacher's data set, the method's alpha and beta
    assert student.spec.dataset == "digits" and student.spec.alpha == 0.9 and student.spec.beta == 1.0
    saved = tomllib.loads((tmp_path / "s" / "config.toml").read_text())
    assert DistillSpec.from_record(saved, out=tmp_path / "s", quiet=True) == student.spec
    metrics = json.loads((tmp_path / "s" / "metrics.json").read_text())
    assert metrics["spec"] == {"command": "distill", "options": saved}
    result = edgekd.evaluate(edgekd.EvalSpec(checkpoint=student.checkpoint))
    assert result.metrics["accuracy"] == pytest.approx(student.test["accuracy"])

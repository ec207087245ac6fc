"""Nothing a user had is overwritten by a failure: a refused export, a refused or crashed train or distill."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import assert_one_line_error
from typer.testing import CliRunner

from edgekd.cli.app import app
from edgekd.errors import EdgekdError
from edgekd.exporters.exporter import ExportOptions, export

runner = CliRunner()


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_refused_force_export_leaves_the_earlier_export_and_its_records(trained_digits_run, tmp_path, monkeypatch):
    from edgekd.exporters import verify

    ckpt, out = trained_digits_run / "model.pt", tmp_path / "m.tflite"
    export(ckpt, ExportOptions(format="tflite", quantize="dynamic", out=out))
    before = snapshot(tmp_path)
    assert set(before) == {"m.tflite", "m.tflite.json", "m.tflite.parity.json"}
    monkeypatch.setitem(verify.TOLERANCES, "dynamic", verify.Tolerance(None, None, 1.01, None))  # a gate no model passes
    with pytest.raises(EdgekdError, match="parity check failed") as info:
        export(ckpt, ExportOptions(format="tflite", quantize="dynamic", out=out, force=True))
    assert "m.tflite.refused.parity.json" in str(info.value)
    after = snapshot(tmp_path)
    assert {k: after[k] for k in before} == before  # the good export, its sidecar and its parity record, byte for byte
    assert set(after) - set(before) == {"m.tflite.refused.parity.json"}  # no temporary file left either
    assert json.loads(after["m.tflite.refused.parity.json"])["refused"] is True
    monkeypatch.undo()
    export(ckpt, ExportOptions(format="tflite", quantize="dynamic", out=out, force=True))  # a passing re-export
    assert set(snapshot(tmp_path)) == set(before)  # replaces the files; the stale refusal record is gone


def train(out: Path, *extra: str):
    return runner.invoke(app, ["train", "-m", "cnn-tiny", "-d", "digits", "--epochs", "1", "--batch-size", "64",
                               "--device", "cpu", "--quiet", "--out", str(out), *extra])


def test_a_refused_or_crashed_force_run_leaves_the_earlier_run(tmp_path):
    out = tmp_path / "run"
    assert train(out).exit_code == 0
    (out / "student.onnx").write_bytes(b"an export the user made")  # not the run's own file: never touched
    before = snapshot(out)
    assert_one_line_error(train(out, "--force", "--model-arg", "width=0"), "bad arguments for model")
    assert snapshot(out) == before  # refused before the folder was touched
    crashed = train(out, "--force", "--lr", "1e30")  # the loss overflows in the first epoch: a real crash
    assert crashed.exit_code == 2 and "loss became" in crashed.output
    assert "the earlier run in" in crashed.output and "is back in place" in crashed.output
    kept = {k: v for k, v in snapshot(out).items() if not k.startswith("failed-run/")}
    assert kept == before  # the crashed run's own files, if any, are in failed-run/
    assert not (out / ".previous-run").exists()
    assert train(out, "--force").exit_code == 0  # a run that succeeds replaces it
    assert (out / "student.onnx").read_bytes() == b"an export the user made"


def test_a_refused_distill_leaves_the_earlier_run(trained_digits_run, tmp_path):
    out = tmp_path / "student"
    args = ["distill", "-t", str(trained_digits_run / "model.pt"), "-s", "cnn-tiny", "--method", "kd", "--epochs", "1",
            "--device", "cpu", "--quiet", "--out", str(out)]
    assert runner.invoke(app, args).exit_code == 0
    before = snapshot(out)
    refused = runner.invoke(app, [*args, "--force", "-d", "breastmnist"])  # the teacher was not trained on it
    assert_one_line_error(refused, "teacher")
    assert snapshot(out) == before

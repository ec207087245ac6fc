"""``edgekd export`` through Typer's CliRunner: a real export, and bad inputs as one-line errors.

The command is registered on a local Typer app here (the lead registers it in
edgekd/cli/app.py), so these tests do not depend on that file.
"""

from __future__ import annotations

import json
import shutil

import typer
from typer.testing import CliRunner

from edgekd.cli.export_cmd import export
from tests.conftest import assert_one_line_error

app = typer.Typer()
app.command("export")(export)
app.command("noop", hidden=True)(lambda: None)  # two commands: "export" stays a subcommand
runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, ["export", *[str(a) for a in args]])


def test_export_through_the_cli(trained_digits_run, tmp_path):
    ckpt = tmp_path / "model.pt"
    shutil.copy(trained_digits_run / "model.pt", ckpt)
    result = invoke(ckpt, "--format", "onnx", "--attention-head", "mip", "--dynamic-batch")
    assert result.exit_code == 0, result.output
    out = tmp_path / "model-mip-dynbatch.onnx"  # default name, beside the checkpoint
    assert out.is_file() and f"exported {out}" in result.output
    assert "top-1 agreement" in result.output and "pass" in result.output
    parity = json.loads((tmp_path / "model-mip-dynbatch.onnx.parity.json").read_text())
    assert parity["passed"] and parity["max_abs_logits"] <= 1e-4 and parity["head"] == "mip"
    assert_one_line_error(invoke(ckpt, "--attention-head", "mip", "--dynamic-batch"), "already exists", "--force")
    assert invoke(ckpt, "--attention-head", "mip", "--dynamic-batch", "--force", "--no-verify").exit_code == 0


def test_bad_inputs_are_one_line_errors(trained_digits_run, tmp_path):
    ckpt = trained_digits_run / "model.pt"
    out = tmp_path / "m.onnx"
    assert_one_line_error(invoke(ckpt, "--format", "onxx", "--out", out), "onxx", "did you mean onnx")
    assert_one_line_error(invoke(tmp_path / "missing.pt", "--out", out), "does not exist")
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(ckpt.read_bytes()[:-200])
    assert_one_line_error(invoke(corrupt, "--out", out), "corrupt.pt")
    (tmp_path / "junk.pt").write_text("not a checkpoint")
    assert_one_line_error(invoke(tmp_path / "junk.pt", "--out", out), "junk.pt")
    assert_one_line_error(invoke(ckpt, "--quantize", "int8", "--calib-samples", "0", "--out", out),
                          "calibration images")
    assert_one_line_error(invoke(ckpt, "--quantize", "int8", "--calib-dataset", "pneumoniamnist", "--out", out),
                          "pneumoniamnist", "1x28x28")
    assert_one_line_error(invoke(ckpt, "--format", "tflite", "--dynamic-batch", "--out", tmp_path / "m.tflite"),
                          "--dynamic-batch")
    assert_one_line_error(invoke(ckpt, "--format", "onnx", "--nhwc", "--out", out), "NHWC")
    assert_one_line_error(invoke(ckpt, "--attention-head", "cam", "--out", out), "CAM", "constant")
    assert_one_line_error(invoke(ckpt, "--out", tmp_path / "m.tflite"), ".onnx")
    assert_one_line_error(invoke(ckpt, "--format", "tensorrt", "--out", tmp_path / "m.engine"), "deploy/jetson/")
    out.write_bytes(b"keep me")
    assert_one_line_error(invoke(ckpt, "--out", out), "already exists")
    assert out.read_bytes() == b"keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["corrupt.pt", "junk.pt", "m.onnx"]  # nothing written

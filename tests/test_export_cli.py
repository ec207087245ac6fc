"""``edgekd export`` through Typer's CliRunner: a real export, and bad inputs as one-line errors.

The command is registered from its spec on a local Typer app here, as edgekd/cli/app.py
registers it, so these tests do not depend on that file.
"""

from __future__ import annotations

import json
import shutil

import typer
from typer.testing import CliRunner

from edgekd.api import ExportSpec
from edgekd.cli import export_cmd
from edgekd.cli.spec_command import register
from tests.conftest import assert_one_line_error

app = typer.Typer()
register(app, ExportSpec, export_cmd.export, help=export_cmd.HELP)
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
    assert_one_line_error(invoke(ckpt, "--calibration", "percentile", "--out", out), "applies to the int8 schemes")
    assert_one_line_error(invoke(ckpt, "--format", "tflite", "--quantize", "int8", "--calibration", "entropy",
                                 "--out", tmp_path / "m.tflite"), "unknown --calibration")
    assert_one_line_error(invoke(ckpt, "--format", "tflite", "--quantize", "int8", "--full-range", "--out",
                                 tmp_path / "m.tflite"), "--full-range applies to --format onnx with an int8 scheme")
    assert_one_line_error(invoke(ckpt, "--quantize", "int8", "--accept-accuracy-drop", "-1", "--out", out),
                          "points of test accuracy")
    assert_one_line_error(invoke(ckpt, "--attention-head", "cam", "--out", out), "CAM", "constant")
    assert_one_line_error(invoke(ckpt, "--out", tmp_path / "m.tflite"), ".onnx")
    assert_one_line_error(invoke(ckpt, "--format", "tensorrt", "--out", tmp_path / "m.engine"), "deploy/jetson/")
    out.write_bytes(b"keep me")
    assert_one_line_error(invoke(ckpt, "--out", out), "already exists")
    assert out.read_bytes() == b"keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["corrupt.pt", "junk.pt", "m.onnx"]  # nothing written


def test_a_refused_int8_export_prints_its_table_keeps_the_record_and_writes_no_model(tmp_path):
    """An undertrained student calibrated on one image: int8 flips far more than 1 % of the test
    decisions (measured 72 % agreement), so the gate refuses it; the refusal explains itself."""
    from edgekd.cli.app import app
    from edgekd.training.loop import TrainConfig
    from edgekd.training.supervised import train_supervised

    run = tmp_path / "tiny"
    train_supervised("cnn-tiny", "digits", run, TrainConfig(epochs=1, batch_size=32, seed=0, device="cpu"), quiet=True)
    target = tmp_path / "new_folder" / "tiny-int8.onnx"
    args = ["export", str(run / "model.pt"), "--format", "onnx", "--quantize", "int8", "--calib-samples", "1",
            "--out", str(target)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert lines[-1].startswith("error: parity check failed") and "--accept-accuracy-drop" in lines[-1]
    assert sum(line.startswith("error:") for line in lines) == 1 and "Traceback" not in result.output
    assert "top-1 agreement" in result.output and "near ties" in result.output and "FAIL" in result.output
    assert not target.exists()
    record = json.loads(target.with_name(target.name + ".refused.parity.json").read_text())
    assert record["refused"] and not record["written"] and not record["passed"]
    assert record["top1_agreement"] < 0.99 and record["flips"] >= 1 and 0 <= record["flips_near_tie"] <= record["flips"]
    assert "--accept-accuracy-drop" in record["ways_forward"] and record["calib_samples"] == 1
    # the stated trade: any accuracy loss up to 100 points is accepted, recorded, and the file is written
    kept = CliRunner().invoke(app, [*args, "--accept-accuracy-drop", "100", "--force"])
    assert kept.exit_code == 0, kept.output
    record = json.loads(target.with_name(target.name + ".parity.json").read_text())
    assert target.exists() and record["written"] and record["accepted_accuracy_drop"] == 1.0
    assert not target.with_name(target.name + ".refused.parity.json").exists()  # the refusal no longer applies


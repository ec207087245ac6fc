"""--image-size, --resize and --skip-bad on distill and eval: read as the checkpoint was trained unless told."""

from __future__ import annotations

import json

from conftest import assert_one_line_error, needs_shared
from photo_files import photo_folder, truncate
from typer.testing import CliRunner

from edgekd.cli.app import app
from edgekd.training.checkpoint import load_checkpoint

runner = CliRunner()
pytestmark = needs_shared
FAST = ["--epochs", "1", "--batch-size", "8", "--device", "cpu", "--quiet"]


def test_distill_and_eval_read_a_folder_as_the_checkpoint_was_trained(tmp_path):
    root = photo_folder(tmp_path / "set", {"train": 10, "val": 4, "test": 4})
    teacher = tmp_path / "teacher"
    assert runner.invoke(app, ["train", "-m", "cnn-small", "-d", f"folder:{root}", "--image-size", "20", *FAST,
                               "--out", str(teacher)]).exit_code == 0
    student = tmp_path / "student"
    result = runner.invoke(app, ["distill", "-t", str(teacher / "model.pt"), "-s", "cnn-tiny", "--method", "kd", *FAST,
                                 "--out", str(student)])
    assert result.exit_code == 0, result.output
    assert load_checkpoint(student / "model.pt")["data"]["preprocess"]["image_size"] == 20  # the teacher's size
    assert_one_line_error(runner.invoke(app, ["distill", "-t", str(teacher / "model.pt"), "-s", "cnn-tiny", "--resize",
                                              "letterbox", *FAST, "--out", str(tmp_path / "s2")]),
                          "saw its images through --resize shorter-crop", "pass --resize shorter-crop")
    assert_one_line_error(runner.invoke(app, ["distill", "-t", str(teacher / "model.pt"), "-s", "cnn-tiny",
                                              "--image-size", "24", *FAST, "--out", str(tmp_path / "s3")]),
                          "takes 1x20x20 inputs")

    report = tmp_path / "eval.json"
    evaluated = runner.invoke(app, ["eval", str(student / "model.pt"), "--resize", "letterbox", "--json", str(report)])
    assert evaluated.exit_code == 0, evaluated.output
    assert json.loads(report.read_text())["preprocess"]["resize"] == "letterbox"  # told otherwise: said in the record
    assert_one_line_error(runner.invoke(app, ["eval", str(student / "model.pt"), "--image-size", "24"]),
                          "1x24x24 inputs", "the checkpoint expects 1x20x20")
    truncate(root / "test" / "normal" / "normal_0.jpg")
    assert_one_line_error(runner.invoke(app, ["eval", str(student / "model.pt")]), "unreadable or off-policy")
    skipped = runner.invoke(app, ["eval", str(student / "model.pt"), "--skip-bad"])
    assert skipped.exit_code == 0 and "test (n=7)" in skipped.output

"""``edgekd datasets --check``: every file decoded, every problem listed at once (real truncated JPEGs).

Also --image-size, --resize and --skip-bad on distill and eval: read as the checkpoint was trained unless told.
"""

from __future__ import annotations

import json
import shutil

from conftest import assert_one_line_error, needs_shared
from photo_files import photo_folder, save_jpeg, truncate, xrays
from typer.testing import CliRunner

from edgekd.cli.app import app
from edgekd.training.checkpoint import load_checkpoint

runner = CliRunner()
pytestmark = needs_shared


def planted(tmp_path):
    """A train/ val/ test/ folder of real JPEGs with 12 bad files and one duplicate across splits."""
    root = photo_folder(tmp_path / "xrays", {"train": 12, "val": 4, "test": 4}, sizes=(64, 120))
    bad = [truncate(root / "train" / cls / f"{cls}_{i}.jpg", keep) for cls in ("normal", "pneumonia")
           for i, keep in zip(range(5), (0.3, 0.5, 0.7, 0.9, 0.95))]
    (root / "val" / "normal" / "notes.jpg").write_text("not a picture")  # an image's name, no image inside
    bad.append(root / "val" / "normal" / "notes.jpg")
    bad.append(save_jpeg(xrays("train")[0][0], root / "test" / "pneumonia" / "thumb.jpg", (10, 12)))  # 3.2x up
    shutil.copy(root / "train" / "normal" / "normal_9.jpg", root / "test" / "normal" / "copy.jpg")
    return root, {p.relative_to(root).as_posix() for p in bad}


def listed(path) -> set[str]:
    return {line.split("\t")[0] for line in path.read_text().splitlines() if line and not line.startswith("#")}


def test_check_lists_every_problem_once_and_training_refuses_with_the_same_list(tmp_path):
    root, bad = planted(tmp_path)
    result = runner.invoke(app, ["datasets", "--check", str(root), "--image-size", "32"])
    assert result.exit_code == 1, result.output
    text = result.output
    assert "unreadable or off-policy images: 12" in text and "... and 2 more" in text  # 10 on screen
    assert "shorter side:" in text and "aspect ratio (width / height):" in text and "modes: L " in text
    assert "duplicates: 1 groups of identical files across splits" in text
    assert "train:train/normal/normal_9.jpg = test:test/normal/copy.jpg" in text
    report = tmp_path / "xrays-audit.txt"
    body = report.read_text()
    problems = {line.split(": ")[0].strip() for line in body.splitlines() if ": unreadable" in line or ": off-policy" in line}
    assert problems == bad  # every planted file, found in one run, nothing else
    assert "thumb.jpg: off-policy: 10x12 would be enlarged 3.2x to 32x32" in body
    assert "image file is truncated" in body
    custom = tmp_path / "elsewhere" / "audit.txt"
    assert runner.invoke(app, ["datasets", "--check", f"folder:{root}", "--image-size", "32",
                               "--report", str(custom)]).exit_code == 1
    assert custom.read_text().count(": unreadable") == 11

    refusal = runner.invoke(app, ["train", "-m", "cnn-tiny", "-d", f"folder:{root}", "--image-size", "32", "--epochs",
                                  "1", "--quiet", "--out", str(tmp_path / "run")])
    assert_one_line_error(refusal, "12 of 43 images", "unreadable or off-policy", "--skip-bad")
    assert listed(tmp_path / "xrays-bad-files.txt") == bad
    assert not (tmp_path / "run").exists()


def test_a_clean_folder_passes_and_the_check_fills_the_cache_training_reuses(tmp_path):
    from edgekd.data.folder import FolderSource

    root = photo_folder(tmp_path / "clean", {"train": 6, "val": 3, "test": 3})
    result = runner.invoke(app, ["datasets", "--check", str(root), "--image-size", "24", "--resize", "letterbox"])
    assert result.exit_code == 0, result.output
    assert "read as letterbox to 24x24 (bilinear, grey)" in result.output
    assert "unreadable or off-policy images: 0" in result.output
    decoded = FolderSource(str(root), 24, "letterbox", quiet=True).decoded()
    assert decoded.cache is not None and decoded.images["train"].shape == (12, 1, 24, 24)
    assert type(decoded.images["train"]).__name__ == "memmap"  # read back from the cache, not decoded again


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

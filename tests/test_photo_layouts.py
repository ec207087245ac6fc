"""Layouts a user has: train/ + val/ (no test split, said everywhere), a CSV of path,label, a flat
folder split by a saved seeded rule; the built-in arrays refuse --image-size."""

from __future__ import annotations

import csv
import json

import pytest
from conftest import assert_one_line_error, needs_shared
from photo_files import photo_folder, truncate
from typer.testing import CliRunner

from edgekd.cli.app import app
from edgekd.data.folder_layout import CSV_FILE, TRAIN_VAL
from edgekd.data.folder_scan import scan
from edgekd.data.registry import get_source
from edgekd.training.checkpoint import load_checkpoint

runner = CliRunner()
pytestmark = needs_shared
TRAIN = ["-m", "cnn-tiny", "--image-size", "16", "--epochs", "1", "--batch-size", "8", "--device", "cpu", "--quiet"]


def test_train_and_val_folders_train_and_never_report_validation_as_test(tmp_path):
    root = photo_folder(tmp_path / "tv", {"train": 10, "val": 4})
    s = scan(root, 16)
    assert s.layout == TRAIN_VAL and not s.has_test and "NO test split" in s.note
    run = tmp_path / "run"
    result = runner.invoke(app, ["train", "-d", f"folder:{root}", *TRAIN, "--out", str(run)])
    assert result.exit_code == 0, result.output
    assert "validation (no test split) accuracy" in result.output and "test accuracy" not in result.output
    assert "no test split: the figures reported are on validation" in result.output  # stderr, mixed in by CliRunner
    record = json.loads((run / "test.json").read_text())
    assert record["test"] is None and "no test split" in record["no_test"]
    assert json.loads((run / "metrics.json").read_text())  # the run itself is complete
    assert_one_line_error(runner.invoke(app, ["eval", str(run / "model.pt")]), "has no test split", "--split val")
    evaluated = runner.invoke(app, ["eval", str(run / "model.pt"), "--split", "val"])
    assert evaluated.exit_code == 0 and "val (n=8)" in evaluated.output
    onnx = tmp_path / "m.onnx"
    exported = runner.invoke(app, ["export", str(run / "model.pt"), "--attention-head", "none", "--out", str(onnx)])
    assert exported.exit_code == 0, exported.output
    notes = json.loads((tmp_path / "m.onnx.parity.json").read_text())["notes"]
    assert any("no test split: the parity gate ran on the validation split" in n for n in notes)


def test_csv_of_paths_and_labels_with_and_without_a_split_column(tmp_path):
    root = photo_folder(tmp_path / "photos", {"": 12})
    files = sorted(root.rglob("*.jpg"))
    plain = tmp_path / "labels.csv"
    with open(plain, "w", newline="") as handle:
        w = csv.writer(handle)
        w.writerow(["path", "label"])
        for f in files:
            w.writerow([f.relative_to(tmp_path).as_posix(), "sick" if f.parent.name == "pneumonia" else "well"])
        w.writerow(["photos/gone.jpg", "well"])  # a row naming no file: listed with the unreadable ones
    s = scan(plain, 16)
    assert s.layout == f"{CSV_FILE} (class folders)" and s.classes == ["sick", "well"]
    counts = s.counts()  # 70/15/15 of the 12 + 12 found, per class (largest remainder)
    assert [sum(counts[k]) for k in ("train", "val", "test")] == [17, 4, 3] and min(min(c) for c in counts.values()) > 0
    assert [(p.name, why) for p, why in s.problems] == [("gone.jpg", "listed in the CSV but not found")]
    assert_one_line_error(runner.invoke(app, ["train", "-d", f"folder:{plain}", *TRAIN, "--out", str(tmp_path / "r")]),
                          "1 of 24 images", "gone.jpg: listed in the CSV but not found", "--skip-bad")
    split = tmp_path / "split.csv"
    rows = [(f.relative_to(tmp_path).as_posix(), f.parent.name, "test" if int(f.stem.split("_")[1]) < 3 else "train")
            for f in files]
    split.write_text("\n".join(",".join(r) for r in rows) + "\n")  # no header row; split column: train + test
    s = scan(split, 16)
    assert s.layout == f"{CSV_FILE} (train/ + test/)" and s.counts()["test"] == [3, 3]
    assert sum(s.counts()["val"]) == 3  # 15 % of the 18 train rows carved as validation (stratified)
    bad = tmp_path / "bad.csv"
    bad.write_text("a.jpg,well,holdout\nb.jpg,sick,train\n")
    with pytest.raises(Exception, match="split 'holdout': use train, val or test"):
        scan(bad)


def test_flat_folder_split_is_seeded_printed_and_saved_with_the_run(tmp_path):
    root = photo_folder(tmp_path / "flat", {"": 12})
    run = tmp_path / "run"
    result = runner.invoke(app, ["train", "-d", f"folder:{root}", *TRAIN[:-1], "--out", str(run)])  # not --quiet
    assert result.exit_code == 0, result.output
    assert "split 70/15/15 per class (stratified, seed 0)" in result.output
    with open(run / "splits.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    s = scan(root, 16)
    saved = {(r["path"], r["label"], r["split"]) for r in rows}
    assert saved == {(s.rel(f), s.classes[lab], split) for split, files in s.splits.items() for f, lab in files}
    assert scan(root, 16).splits == s.splits  # the same split on every read (seed 0)
    config = (run / "config.toml").read_text()  # the settled size and policy, for a replay with --config
    assert "image_size = 16" in config and 'resize = "shorter-crop"' in config


def test_skip_bad_trains_without_the_bad_files_and_says_how_many(tmp_path):
    root = photo_folder(tmp_path / "set", {"train": 10, "val": 4, "test": 4})
    truncate(root / "train" / "normal" / "normal_3.jpg")
    run = tmp_path / "run"
    result = runner.invoke(app, ["train", "-d", f"folder:{root}", *TRAIN, "--skip-bad", "--out", str(run)])
    assert result.exit_code == 0, result.output
    assert "skipped 1 of 36 images (unreadable or off-policy, --skip-bad)" in result.output
    data = load_checkpoint(run / "model.pt")["data"]
    assert data["splits"] == {"train": 19, "val": 8, "test": 8} and "1 unreadable or off-policy" in data["source"]


def test_built_in_arrays_refuse_a_size_or_resize_policy():
    with pytest.raises(Exception, match="--image-size 64 applies to folder:PATH image sets; digits is stored as 8x8"):
        get_source("digits", 64)
    assert get_source("digits", 8).info.size == 8  # its own size is no change
    assert_one_line_error(runner.invoke(app, ["train", "-d", "digits", "--resize", "letterbox", "--quiet"]),
                          "--resize applies to folder:PATH image sets")
    assert_one_line_error(runner.invoke(app, ["train", "-d", "digits", "--resize", "crop", "--quiet"]),
                          "unknown --resize value 'crop'")

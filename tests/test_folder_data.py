"""folder:PATH image sets: each accepted layout, each refusal, the check command, training on one.

The photo-specific parts (the shared preprocessing, CSV and train/ + val/ layouts, the audit,
the cost estimate) have their own files: tests/test_photo_*.py."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import assert_one_line_error
from typer.testing import CliRunner

from edgekd.cli.app import app
from edgekd.data.folder_scan import scan
from edgekd.data.registry import dataset_info, load_split
from edgekd.errors import EdgekdError

runner = CliRunner()


def write_images(folder: Path, n: int, size=(12, 12), mode: str = "RGB", level: int | None = None, seed: int = 0):
    """``n`` PNGs in ``folder``: random pixels, or all near ``level`` (a class anyone can tell apart)."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    shape = (size[1], size[0]) + ((3,) if mode == "RGB" else ())
    for i in range(n):
        pixels = rng.integers(0, 256, shape) if level is None else np.clip(level + rng.integers(-20, 21, shape), 0, 255)
        Image.fromarray(pixels.astype(np.uint8), mode).save(folder / f"{i}.png")


def make(root: Path, layout: dict[str, dict[str, int]], **kw) -> Path:
    """``layout``: {split folder ('' for none): {class: images}}."""
    for i, (split, classes) in enumerate(layout.items()):
        for j, (cls, n) in enumerate(classes.items()):
            write_images(root / split / cls, n, seed=100 * i + j, **kw)
    return root


def refused(root: Path, *words: str) -> str:
    with pytest.raises(EdgekdError) as err:
        scan(root)
    message = str(err.value)
    assert "\n" not in message
    for w in words:
        assert w in message, message
    return message


def test_class_folders_are_split_70_15_15_per_class(tmp_path):
    s = scan(make(tmp_path / "set", {"": {"cat": 20, "dog": 40}}))
    assert s.layout == "class folders" and s.classes == ["cat", "dog"]
    assert s.counts() == {"train": [14, 28], "val": [3, 6], "test": [3, 6]}
    assert (s.channels, s.size, s.resized) == (3, 12, 0)


def test_train_and_test_folders_carve_validation_from_train(tmp_path):
    root = make(tmp_path / "set", {"train": {"cat": 20, "dog": 40}, "test": {"cat": 5, "dog": 7}})
    s = scan(root)
    assert s.layout == "train/ + test/" and s.classes == ["cat", "dog"]
    assert s.counts() == {"train": [17, 34], "val": [3, 6], "test": [5, 7]}
    assert "validation carved from train" in s.note
    train_files = {f for f, _ in s.splits["train"] + s.splits["val"]}
    assert all(f.parent.parent.name == "train" for f in train_files) and len(train_files) == 60
    assert all(f.parent.parent.name == "test" for f, _ in s.splits["test"])
    info = dataset_info(f"folder:{root}")
    assert info.class_names == ("cat", "dog") and info.splits == {"train": 51, "val": 9, "test": 12}
    test = load_split(f"folder:{root}", "test")
    assert test.images.shape == (12, 3, 12, 12) and test.labels.tolist() == [0] * 5 + [1] * 7


def test_train_val_test_folders_are_used_as_given(tmp_path):
    s = scan(make(tmp_path / "set", {"train": {"a": 4, "b": 5}, "val": {"a": 1, "b": 2}, "test": {"a": 2, "b": 1}}))
    assert s.layout == "train/ + val/ + test/" and s.counts() == {"train": [4, 5], "val": [1, 2], "test": [2, 1]}


def test_split_named_folders_that_are_not_a_layout_are_refused(tmp_path):
    refused(make(tmp_path / "tv", {"train": {"a": 8, "b": 8}, "dev": {"a": 2, "b": 2}}), "dev/, train/",
            "train/ + val/ + test/, train/ + test/ or train/ + val/")
    refused(make(tmp_path / "mixed", {"": {"a": 8, "b": 8, "test": 8}}), "test/ next to class folders", "a/, b/")
    refused(make(tmp_path / "long", {"training": {"a": 8, "b": 8}, "testing": {"a": 2, "b": 2}}),
            "testing/, training/", "rename them")
    refused(make(tmp_path / "nested", {"train": {"train": 8, "b": 8}, "test": {"train": 2, "b": 2}}),
            "class folder named like a split (train)")


def test_split_folders_with_different_classes_are_refused(tmp_path):
    refused(make(tmp_path / "s", {"train": {"a": 8, "b": 8}, "test": {"a": 2, "c": 2}}),
            "different classes", "test/ lacks b", "has c that train/ lacks")


def test_fewer_than_two_classes_are_refused(tmp_path):
    refused(make(tmp_path / "one", {"": {"only": 30}}), "one class (only)", "at least two classes")
    (tmp_path / "none").mkdir()
    refused(tmp_path / "none", "no classes")


def test_a_class_too_small_for_the_splits_is_refused(tmp_path):
    refused(make(tmp_path / "flat", {"": {"a": 30, "b": 9}}), "class 'b' has 9 images", "at least 10 per class")
    refused(make(tmp_path / "tt", {"train": {"a": 30, "b": 5}, "test": {"a": 3, "b": 3}}), "class 'b' has 5",
            "carving validation needs at least 7")
    refused(make(tmp_path / "tvt", {"train": {"a": 3, "b": 3}, "val": {"a": 1, "b": 0}, "test": {"a": 1, "b": 1}}),
            "class 'b' has no images in the val split")


def test_channel_and_size_rules(tmp_path):
    root = make(tmp_path / "grey", {"": {"a": 10, "b": 10}}, mode="L")
    assert scan(root).channels == 1
    write_images(root / "a", 1, mode="RGB", seed=5)  # overwrites a/0.png with a colour image: 1 of 20 is colour
    refused(root, "19 grey and 1 colour images are mixed", "convert the images to one kind")
    rgb = make(tmp_path / "rgb", {"": {"a": 30, "b": 30}})
    write_images(rgb / "b", 1, mode="L", seed=6)  # 1 grey of 60 (<= 5 %): repeated to RGB
    s = scan(rgb)
    assert s.channels == 3 and s.grey_to_rgb == 1
    write_images(rgb / "a", 1, size=(24, 24), seed=7)  # larger: resized down, accepted
    assert scan(rgb).resized == 1 and scan(rgb).size == 12
    write_images(rgb / "a", 1, size=(20, 12), seed=8)  # another aspect ratio: shorter side to 12, centre crop
    assert scan(rgb).problems == [] and load_split(f"folder:{rgb}", "train").images.shape[1:] == (3, 12, 12)
    write_images(rgb / "a", 1, size=(5, 5), seed=9)  # would be enlarged 2.4x: listed as off-policy, not raised
    (problem, why), = scan(rgb).problems
    assert problem.name == "0.png" and "off-policy: 5x5 would be enlarged 2.4x to 12x12" in why


def test_skipped_files_are_listed_and_do_not_change_the_fingerprint(tmp_path):
    root = make(tmp_path / "set", {"": {"a": 10, "b": 10}})
    before = scan(root).fingerprint
    (root / "a" / "notes.txt").write_text("labels by hand")
    (root / "a" / ".DS_Store").write_bytes(b"\0")
    (root / "README.md").write_text("my set")
    s = scan(root)
    assert {(p.name, why) for p, why in s.skipped} == {("notes.txt", "not an image (.txt)"),
                                                      (".DS_Store", "hidden file"),
                                                      ("README.md", "not inside a class folder")}
    assert s.fingerprint == before and sum(sum(c) for c in s.counts().values()) == 20
    write_images(root / "b", 1, level=128)  # one image rewritten: another data set
    assert scan(root).fingerprint != before


def test_unreadable_image_is_listed_and_refused_when_loaded(tmp_path):
    root = make(tmp_path / "set", {"": {"a": 10, "b": 10}})
    (root / "b" / "broken.png").write_bytes(b"not a png")
    assert [p.name for p, _ in scan(root).problems] == ["broken.png"]
    with pytest.raises(EdgekdError, match="1 of 21 images .* unreadable or off-policy .* b/broken.png: unreadable"):
        load_split(f"folder:{root}", "train")


def test_datasets_command_shows_the_layout_and_refuses_one_class(tmp_path):
    root = make(tmp_path / "set", {"train": {"cat": 20, "dog": 40}, "test": {"cat": 5, "dog": 7}})
    (root / "train" / "cat" / "notes.txt").write_text("x")
    out = runner.invoke(app, ["datasets", f"folder:{root}"])
    assert out.exit_code == 0, out.output
    text = out.output
    assert "layout train/ + test/" in text and "validation carved from train" in text
    assert "3x12x12 after conversion" in text and "train/cat/notes.txt: not an image (.txt)" in text
    rows = {line.split("│")[1].strip(): [c.strip() for c in line.split("│")[2:6]]
            for line in text.splitlines() if line.startswith("│")}
    assert rows["cat"] == ["17", "3", "5", "25"] and rows["dog"] == ["34", "6", "7", "47"]
    one = make(tmp_path / "one", {"": {"only": 12}})
    assert_one_line_error(runner.invoke(app, ["datasets", f"folder:{one}"]), "one class (only)")
    help_text = " ".join(runner.invoke(app, ["datasets", "--help"]).output.split())
    assert "validation carved from train/" in help_text and "PATH/train/, PATH/val/, PATH/test/" in help_text
    assert "PATH/train/ and PATH/val/: used as given, with NO test split" in help_text


def test_train_on_a_train_test_folder_learns_its_labels(tmp_path):
    from edgekd.training.checkpoint import load_checkpoint

    root = tmp_path / "set"
    for split, n in (("train", 24), ("test", 6)):
        write_images(root / split / "dark", n, mode="L", level=40, seed=1)
        write_images(root / split / "light", n, mode="L", level=210, seed=2)
    out = tmp_path / "run"
    result = runner.invoke(app, ["train", "--model", "cnn-tiny", "--dataset", f"folder:{root}", "--epochs", "3",
                                 "--batch-size", "8", "--lr", "0.05", "--device", "cpu", "--quiet", "--out", str(out)])
    assert result.exit_code == 0, result.output
    ckpt = load_checkpoint(out / "model.pt")
    assert ckpt["data"]["class_names"] == ["dark", "light"]
    assert ckpt["data"]["splits"] == {"train": 41, "val": 7, "test": 12}
    assert ckpt["data"]["fingerprint"] == scan(root).fingerprint
    assert "test accuracy 1.0000" in result.output  # dark vs light: the labels followed the folders


def test_a_failed_run_removes_the_run_folder_it_created_but_never_a_users(tmp_path):
    one = make(tmp_path / "one", {"": {"only": 12}})
    args = ["train", "--model", "cnn-tiny", "--dataset", f"folder:{one}", "--epochs", "1", "--quiet", "--device", "cpu"]
    new = tmp_path / "runs" / "new"
    assert_one_line_error(runner.invoke(app, [*args, "--out", str(new)]), "one class (only)")
    assert not (tmp_path / "runs").exists()  # created by the run (parents too), empty after the failure: removed
    mine = tmp_path / "mine"
    mine.mkdir()
    assert_one_line_error(runner.invoke(app, [*args, "--out", str(mine)]), "one class (only)")
    assert mine.is_dir()  # the user's own (empty) folder stays


def test_written_files_follow_the_umask(tmp_path):
    import os

    from edgekd.fileio import atomic_write_bytes

    old = os.umask(0o027)
    try:
        atomic_write_bytes(tmp_path / "a.bin", b"x")
        os.umask(0o002)
        atomic_write_bytes(tmp_path / "b.bin", b"x")
    finally:
        os.umask(old)
    assert (tmp_path / "a.bin").stat().st_mode & 0o777 == 0o640
    assert (tmp_path / "b.bin").stat().st_mode & 0o777 == 0o664

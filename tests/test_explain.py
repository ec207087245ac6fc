"""edgekd explain on checkpoints: every map on real images (digits, PneumoniaMNIST), files, the CLI, bad inputs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from edgekd.cli.app import app
from edgekd.errors import EdgekdError
from edgekd.explain.images import spread_over_classes
from edgekd.explain.overlay import map_stats, title_for
from edgekd.explain.run import explain
from edgekd.training.loop import TrainConfig
from tests.conftest import assert_one_line_error, needs_shared

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def train_once(tmp_path_factory, key: str, model: str, dataset: str, cfg: TrainConfig) -> Path:
    """Train once per test session, shared across test modules (fixtures are per module)."""
    from edgekd.training.supervised import train_supervised

    out = tmp_path_factory.getbasetemp() / key
    if not (out / "model.pt").exists():
        train_supervised(model, dataset, out, cfg, quiet=True, force=True)
    return out / "model.pt"


@pytest.fixture(scope="session")
def digits_tiny(tmp_path_factory) -> Path:
    """cnn-tiny on digits: stages 8x8, 4x4, 2x2, so every map (CAM included) is defined."""
    return train_once(tmp_path_factory, "explain_digits_tiny", "cnn-tiny", "digits",
                      TrainConfig(epochs=4, batch_size=32, lr=0.1))


@pytest.fixture(scope="session")
def pneumonia_tiny(tmp_path_factory) -> Path:
    """cnn-tiny briefly trained on PneumoniaMNIST (28 x 28 grey chest X-rays, 2 classes)."""
    return train_once(tmp_path_factory, "explain_pneumonia_tiny", "cnn-tiny", "pneumoniamnist",
                      TrainConfig(epochs=1, batch_size=64, lr=0.05, label_fraction=0.3))


def _check_result(result: dict, out: Path, n: int, map_name: str) -> None:
    assert result["n"] == n and result["map"] == map_name and result["source"] == "checkpoint"
    assert json.loads((out / "explain.json").read_text()) == json.loads(json.dumps(result))
    for rec in result["images"]:
        png = out / rec["file"]
        assert png.read_bytes().startswith(b"\x89PNG") and png.stat().st_size > 8_000
        probs = rec["probabilities"]
        assert rec["probability"] == pytest.approx(max(probs.values()))
        assert rec["predicted_class"] == max(probs, key=probs.get)
        assert sum(probs.values()) == pytest.approx(1.0)
        stats = rec["map_stats"]
        assert stats["finite"] and 0.0 <= stats["min"] <= stats["mean"] <= stats["max"] <= 1.0 + 1e-6
        assert stats["max"] > 0.99  # min-max normalised: the peak is 1


@pytest.mark.parametrize("map_name", ["fma", "mip", "cam", "sals"])
def test_overlays_for_every_map_on_digits(map_name, digits_tiny, tmp_path):
    result = explain(digits_tiny, ["digits"], map_name, tmp_path, split="test", n=10)
    _check_result(result, tmp_path, 10, map_name)
    assert sorted(r["true_class"] for r in result["images"]) == [str(i) for i in range(10)]  # spread over classes
    assert result["map_shape"] == [8, 8] and result["map_label"].startswith(map_name.upper())
    accuracy = np.mean([r["correct"] for r in result["images"]])
    assert accuracy >= 0.5  # a trained model, not noise


@needs_shared
@pytest.mark.parametrize("map_name", ["fma", "sals"])
def test_pneumonia_image_files_are_converted_and_explained(map_name, pneumonia_tiny, tmp_path):
    from PIL import Image

    from edgekd.data.registry import load_split

    test = load_split("pneumoniamnist", "test")
    files = []
    for i, (suffix, mode, size) in enumerate([(".png", "RGB", 96), (".jpg", "RGB", 64), (".png", "L", 28)]):
        path = tmp_path / f"xray{i}{suffix}"
        Image.fromarray(test.images[i, 0]).convert(mode).resize((size, size)).save(path)
        files.append(str(path))
    out = tmp_path / "out"
    with pytest.raises(EdgekdError, match="96x96 colour but the model takes 1x28x28"):
        explain(pneumonia_tiny, files[:1], map_name, out)  # eval, bench and distill refuse such inputs too
    result = explain(pneumonia_tiny, [*files, "pneumoniamnist"], map_name, out, n=4, resize=True)
    _check_result(result, out, 7, map_name)
    assert [r["converted"] for r in result["images"][:4]] == [
        "96x96 colour converted to 1x28x28", "64x64 colour converted to 1x28x28", None, None]
    assert result["map_shape"] == [28, 28] and result["class_names"] == ["normal", "pneumonia"]
    first = result["images"][0]
    assert first["source"] == files[0] and first["true_class"] is None and first["correct"] is None
    assert first["file"] == "000_xray0.png"
    assert [r["true_class"] for r in result["images"][3:]] == ["normal", "pneumonia", "normal", "pneumonia"]
    # the 28 px grey PNG is the test image itself: its explanation equals the data set's
    same = explain(pneumonia_tiny, [files[2]], map_name, tmp_path / "same")["images"][0]
    assert same["probability"] == pytest.approx(result["images"][2]["probability"], abs=1e-6)


def test_checkpoint_maps_skip_1x1_stages_like_the_exported_head(trained_digits_run, tmp_path):
    from edgekd.explain.layers import map_layers
    from edgekd.training.checkpoint import load_model

    model, _ = load_model(trained_digits_run / "model.pt")  # cnn-small: block3 is 1x1 at 8x8
    assert map_layers(model, "fma", (1, 8, 8)) == ["block0"]
    assert map_layers(model, "sals", (1, 8, 8)) is None
    assert map_layers(model, "mip", (1, 8, 8), ["block1", "block3"]) == ["block1", "block3"]
    with pytest.raises(EdgekdError, match="1x1"):
        map_layers(model, "cam", (1, 8, 8))
    result = explain(trained_digits_run / "model.pt", ["digits"], "fma", tmp_path, n=3)
    assert all(r["map_stats"]["finite"] for r in result["images"])


def test_helpers():
    labels = np.array([1, 1, 1, 0, 2, 0, 2, 1])
    assert spread_over_classes(labels, 5).tolist() == [3, 0, 4, 5, 1]
    assert spread_over_classes(labels, 100).tolist() == [3, 0, 4, 5, 1, 6, 2, 7]
    assert title_for("pneumonia", 0.93212, "normal", "a.png") == "predicted: pneumonia (p = 0.932) | true: normal  " \
                                                                   "[WRONG]\na.png"
    stats = map_stats(np.array([[0.0, 1.0], [0.25, 0.5]]))
    assert stats["peak"] == [0, 1] and stats["area_ge_0.5"] == 0.5 and stats["mean"] == pytest.approx(0.4375)
    assert map_stats(np.array([[np.nan, 1.0]]))["finite"] is False


def test_explain_command(digits_tiny, tmp_path):
    result = invoke("explain", digits_tiny, "digits", "--map", "mip", "--n", "3", "--out", tmp_path / "o")
    assert result.exit_code == 0, result.output
    assert "3 overlays of MIP (computed from the checkpoint)" in result.output
    assert len(list((tmp_path / "o").glob("*.png"))) == 3


def test_explain_bad_inputs(digits_tiny, tmp_path):
    assert_one_line_error(invoke("explain", tmp_path / "none.pt", "digits"), "does not exist")
    assert_one_line_error(invoke("explain", digits_tiny, tmp_path / "missing.png"), "does not exist")
    assert_one_line_error(invoke("explain", digits_tiny, "digitz"), "unknown data set", "digits")
    assert_one_line_error(invoke("explain", digits_tiny, "mnist", "--data-dir", tmp_path), "8x8")
    assert_one_line_error(invoke("explain", digits_tiny, "digits", "--map", "head", "--out", tmp_path / "o"),
                          "no exported head")
    assert_one_line_error(invoke("explain", digits_tiny, "digits", "--map", "at", "--out", tmp_path / "o"),
                          "unknown map")
    assert_one_line_error(invoke("explain", digits_tiny, "digits", "--n", "0", "--out", tmp_path / "o"), "--n")
    assert_one_line_error(invoke("explain", digits_tiny, "digits", "--split", "dev", "--out", tmp_path / "o"),
                          "unknown --split value")
    (tmp_path / "notes.png").write_text("not an image")
    assert_one_line_error(invoke("explain", digits_tiny, tmp_path / "notes.png", "--out", tmp_path / "o"),
                          "not a readable image")
    assert_one_line_error(invoke("explain", digits_tiny, "digits", "--out", tmp_path / "notes.png"), "is a file")
    assert_one_line_error(invoke("explain", digits_tiny, tmp_path), "is a folder")


def test_explain_refuses_an_image_that_does_not_fit_unless_resize(digits_tiny, tmp_path):
    from PIL import Image

    Image.fromarray(np.full((16, 16), 200, np.uint8)).save(tmp_path / "big.png")
    Image.fromarray(np.full((8, 8, 3), 200, np.uint8)).save(tmp_path / "rgb.png")
    assert_one_line_error(invoke("explain", digits_tiny, tmp_path / "big.png", "--out", tmp_path / "o"),
                          "big.png is 16x16 grey but the model takes 1x8x8", "--resize")
    assert_one_line_error(invoke("explain", digits_tiny, tmp_path / "rgb.png", "--out", tmp_path / "o"),
                          "8x8 colour", "--resize")
    result = invoke("explain", digits_tiny, tmp_path / "big.png", tmp_path / "rgb.png", "--resize", "--out",
                    tmp_path / "o")
    assert result.exit_code == 0, result.output
    assert "[--resize: 16x16 grey converted to 1x8x8]" in result.output
    assert "[--resize: 8x8 colour converted to 1x8x8]" in result.output

"""At the site, torch-free: the exported model decides as eval does with torch, and adapt finds a
site's class balance from unlabelled images."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from edgekd.cli.app import app
from tests.conftest import assert_one_line_error, needs_shared

runner = CliRunner()
pytestmark = needs_shared


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def pneumonia_model(tmp_path_factory) -> dict[str, Path]:
    """A short real cnn-tiny on PneumoniaMNIST, its decision rule fitted (BCTS: probabilities
    calibrated class by class, which moving them to another prior needs), exported to ONNX and TFLite."""
    from edgekd.exporters.exporter import ExportOptions, export

    root = tmp_path_factory.mktemp("site")
    result = invoke("train", "-m", "cnn-tiny", "-d", "pneumoniamnist", "--epochs", "2", "--threads", "1", "--quiet",
                    "--calibration", "bcts",
                    "--out", root / "run")
    assert result.exit_code == 0, result.output
    files = {"pt": root / "run" / "model.pt"}
    for fmt, suffix in (("onnx", ".onnx"), ("tflite", ".tflite")):
        files[fmt] = export(files["pt"], ExportOptions(format=fmt, head="none", out=root / f"model{suffix}")).path
    return files


def torch_decisions(checkpoint: Path) -> tuple[np.ndarray, np.ndarray]:
    """eval's decisions on the test split (torch logits through the checkpoint's rule) and their
    distance from the threshold in log-odds."""
    from edgekd.data.registry import get_source, load_split
    from edgekd.decision import DecisionRule, decide
    from edgekd.decision.apply import positive_log_odds
    from edgekd.training.batches import TensorSplit
    from edgekd.training.checkpoint import build_model, load_checkpoint
    from edgekd.training.evaluate import predict_logits

    content = load_checkpoint(checkpoint)
    source = get_source("pneumoniamnist")
    logits = predict_logits(build_model(content), TensorSplit.from_split(load_split("pneumoniamnist", "test", None),
                                                                         source.info))
    rule = DecisionRule.from_dict(content["decision"])
    t = rule.threshold
    margin = np.abs(positive_log_odds(rule, logits) - np.log(t / (1 - t)))
    return decide(rule, logits).predictions, margin


@pytest.mark.parametrize("fmt", ["onnx", "tflite"])
def test_the_exported_model_decides_as_eval_does(pneumonia_model, tmp_path, fmt):
    out = tmp_path / "decisions.csv"
    result = invoke("classify", pneumonia_model[fmt], "--dataset", "pneumoniamnist", "--out", out)
    assert result.exit_code == 0, result.output
    assert "decided by operating point" in result.output
    rows = out.read_text().splitlines()
    header, rows = rows[0].split(","), [r.split(",") for r in rows[1:]]
    assert header[:3] == ["image", "decision", "probability"] and len(rows) == 624
    names = ["normal", "pneumonia"]
    device = np.array([names.index(r[1]) for r in rows])
    reference, margin = torch_decisions(pneumonia_model["pt"])
    # float32 exports match PyTorch to ~1e-5 in the logits: only an image that close to the
    # threshold could be decided otherwise
    sure = margin > 1e-3
    assert sure.sum() > 600 and np.array_equal(device[sure], reference[sure])


def test_adapt_recovers_known_class_balances_from_unlabelled_files(pneumonia_model, tmp_path):
    """Validation images (the split the rule was calibrated on, so only the class balance
    changes) resampled to 30 / 50 / 90 % pneumonia and written as PNG files: adapt finds each
    within 0.05, and the adapted decisions are not less accurate than the unadapted ones."""
    from PIL import Image

    from edgekd.data.registry import load_split

    val = load_split("pneumoniamnist", "val", None)
    labels = val.labels.reshape(-1)
    rng = np.random.default_rng(0)
    model = pneumonia_model["onnx"]
    for share in (0.3, 0.5, 0.9):
        n_pos = int(round(1200 * share))
        pick = np.r_[rng.choice(np.flatnonzero(labels == 1), n_pos), rng.choice(np.flatnonzero(labels == 0), 1200 - n_pos)]
        folder = tmp_path / f"site{share}"
        folder.mkdir()
        truth = {}
        for j, i in enumerate(pick):
            name = folder / f"{j:04d}.png"
            Image.fromarray(val.images[i, 0]).save(name)
            truth[str(name)] = ["normal", "pneumonia"][int(labels[i])]
        result = invoke("adapt", model, folder, "--bootstrap", "50")
        assert result.exit_code == 0, result.output
        record = json.loads(Path(str(model) + ".adapt.json").read_text())
        assert abs(record["prior"][1] - share) <= 0.05, (share, record["prior"])
        accuracy = {}
        for adapted in ("--adapted", "--no-adapted"):
            out = tmp_path / f"{share}{adapted}.csv"
            assert invoke("classify", model, folder, adapted, "--out", out).exit_code == 0
            rows = [r.split(",") for r in out.read_text().splitlines()[1:]]
            accuracy[adapted] = np.mean([truth[r[0]] == r[1] for r in rows])
        assert accuracy["--adapted"] >= accuracy["--no-adapted"], (share, accuracy)


def test_site_commands_refuse_bad_input_in_one_line(pneumonia_model, tmp_path, trained_digits_run):
    model = pneumonia_model["onnx"]
    (tmp_path / "empty").mkdir()
    assert_one_line_error(invoke("adapt", model, tmp_path / "empty"), "holds no image files")
    from PIL import Image

    Image.new("RGB", (40, 30)).save(tmp_path / "colour.png")
    assert_one_line_error(invoke("adapt", model, tmp_path / "colour.png"), "colour.png is 40x30 colour")
    (tmp_path / "broken.png").write_bytes(b"not an image")
    assert_one_line_error(invoke("classify", model, tmp_path / "broken.png"), "not a readable image")
    # a model exported without a decision rule (an older checkpoint)
    from edgekd.runtime.metadata import read_metadata

    assert read_metadata(model)["decision"]["rule"] == "0.5"
    stale = tmp_path / "stale.onnx"
    _without_rule(model, stale)
    Image.new("L", (28, 28)).save(tmp_path / "grey.png")
    assert_one_line_error(invoke("adapt", stale, tmp_path / "grey.png"), "no decision rule")


def _without_rule(model: Path, out: Path) -> None:
    import onnx

    proto = onnx.load(str(model))
    for prop in proto.metadata_props:
        if prop.key == "edgekd":
            meta = json.loads(prop.value)
            meta.pop("decision")
            prop.value = json.dumps(meta)
    onnx.save(proto, str(out))


def test_bench_reports_the_shipped_decision_and_the_site_prior(pneumonia_model, tmp_path):
    """bench on the device side: the rule's accuracy equals eval's decisions (up to images within
    float32 noise of the threshold), and its prior estimate is the one adapt makes from the same images."""
    import shutil

    from edgekd.benchmarking.machine import machine_info
    from edgekd.benchmarking.measure import measure
    from edgekd.benchmarking.report import build_report, to_markdown
    from edgekd.data.registry import load_split

    model = tmp_path / "copy.onnx"  # no <model>.adapt.json from another test beside it
    shutil.copy(pneumonia_model["onnx"], model)
    record = measure(model, dataset="pneumoniamnist", iters=3, warmup=0, estimate_prior=True)
    decision = record["decision"]
    labels = load_split("pneumoniamnist", "test", None).labels.reshape(-1)
    reference, margin = torch_decisions(pneumonia_model["pt"])
    unsure = int((margin <= 1e-3).sum())
    assert abs(decision["accuracy"] - np.mean(reference == labels)) <= unsure / len(labels) + 1e-12
    assert decision["n"] == 624 and decision["adapted_to"] is None and 0 <= decision["ece_after"] <= 1
    result = invoke("adapt", model, "--dataset", "pneumoniamnist", "--bootstrap", "20")
    assert result.exit_code == 0, result.output
    adapted = json.loads(Path(str(model) + ".adapt.json").read_text())
    # the same EM on the same float32 logits, in another process: equal to float precision
    assert np.allclose(decision["estimated_prior"], adapted["prior"], atol=1e-6)
    again_record = measure(model, dataset="pneumoniamnist", iters=3, warmup=0)
    again = again_record["decision"]
    # adapt and bench feed the images through their own code: an image on the threshold may tip
    assert again["adapted_to"] == adapted["prior"]
    assert abs(again["accuracy"] - decision["accuracy_at_estimated_prior"]) <= 1 / 624 + 1e-12
    text = to_markdown(build_report([record, again_record], machine_info(), {"dataset": "pneumoniamnist"}))
    assert "| point |" in text and " site |" in text and "| adapted |" in text

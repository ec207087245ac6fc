"""Real distillation runs on digits with every method, the teacher cache, and the figure.

Also distill --baseline: the same-recipe student alone beside the distilled one, the gap
recovery, and the warning when the teacher is not better than the student alone.
"""

from __future__ import annotations

import json

import pytest
import torch
from typer.testing import CliRunner

from edgekd.cli.app import app
from edgekd.distillation.baseline import baseline_report, wants_baseline
from edgekd.distillation.cache import TeacherCache, data_fingerprint
from edgekd.distillation.distiller import Distiller
from edgekd.distillation.run import DistillConfig, distill
from edgekd.errors import EdgekdError
from edgekd.models.registry import create_model
from edgekd.training.augment import AugmentPolicy, Views
from edgekd.training.checkpoint import build_model, load_checkpoint
from edgekd.training.loop import TrainConfig
from edgekd.training.run import load_run_data
from tests.conftest import needs_shared

FAST = dict(epochs=2, batch_size=64, lr=0.05, seed=0)
NO_AUG = Views(None, 0)  # --no-augment: one view


@pytest.mark.parametrize("method", ["none", "kd", "at", "fma", "mip", "sals", "cam"])
def test_each_method_runs_and_records_itself(method, trained_digits_run, tmp_path):
    teacher = trained_digits_run / "model.pt"
    result = distill(teacher, "cnn-tiny", "digits", tmp_path, TrainConfig(**FAST), DistillConfig(method=method),
                     quiet=True, figure_images=2 if method in ("fma", "sals") else 0)
    assert 0.0 <= result["test"]["accuracy"] <= 1.0 and result["teacher"]["test"]["accuracy"] >= 0.85
    content = load_checkpoint(tmp_path / "model.pt")
    record = content["distill"]
    assert record["method"] == method and record["teacher"]["model"] == "cnn-small"
    assert record["teacher"]["sha256"] == load_checkpoint(teacher)["checkpoint_sha256"]
    terms = json.loads((tmp_path / "metrics.json").read_text())["epochs"][0]["terms"]
    expected = {"none": {"ce"}, "kd": {"ce", "kd"}}.get(method, {"ce", "kd", "att"})  # + KD by default
    assert set(terms) == expected
    if method in ("fma", "sals"):
        assert (tmp_path / "attention.png").stat().st_size > 2000


def test_distillation_beats_chance_clearly(trained_digits_run, tmp_path):
    cfg = TrainConfig(epochs=6, batch_size=32, lr=0.1, seed=0)
    result = distill(trained_digits_run / "model.pt", "cnn-small", "digits", tmp_path, cfg,
                     DistillConfig(method="fma", alpha=0.5), quiet=True, figure_images=0)
    assert result["test"]["accuracy"] >= 0.85


def _setup(trained_digits_run, method="fma"):
    data = load_run_data("digits", None)
    teacher = build_model(load_checkpoint(trained_digits_run / "model.pt"))
    torch.manual_seed(0)
    student = create_model("cnn-tiny", 1, 10)
    return data, Distiller(teacher, student, method, alpha=0.5)


# Each cached term is checked at the precision it is stored in. Logits and AT maps are fp32:
# live and cached differ only by float summation order (batch 256 vs 64), ~1e-6 relative.
# FMA maps are fp16 in [0, 1] (rounding step <= 2**-11 = 4.9e-4), so an MSE of two such maps
# moves by at most ~2 * 4.9e-4 (beta = 1): 2e-3 for the attention term only.
@pytest.mark.parametrize(("method", "att_tol"), [("fma", 2e-3), ("at", 1e-5)])
def test_cached_teacher_gives_the_live_loss(trained_digits_run, tmp_path, method, att_tol):
    data, distiller = _setup(trained_digits_run, method)
    identity = {"dataset": "digits", "train_sha256": data_fingerprint(data.train), "teacher_sha256": "t"}
    cache = TeacherCache.open_or_build(tmp_path, distiller, data.train, identity, views=NO_AUG, quiet=True)
    idx = torch.arange(10, 74)
    x, y = data.train.x[idx], data.train.y[idx]
    distiller.eval()
    _, live = distiller.forward_train(x, y)
    _, cached = distiller.forward_train(x, y, cache.lookup(idx))
    assert set(live) == set(cached)
    for key in live:
        tol = 1e-5 if key in ("ce", "kd") else att_tol
        assert torch.allclose(live[key], cached[key], rtol=tol, atol=tol), (key, live[key], cached[key])
    assert len(list(tmp_path.glob("at-*.npy" if method == "at" else "map-fma-*.npy"))) >= 1
    # a second student reads the same files: nothing is recomputed
    mtime = (tmp_path / "logits.npy").stat().st_mtime_ns
    TeacherCache.open_or_build(tmp_path, distiller, data.train, identity, views=NO_AUG, quiet=True)
    assert (tmp_path / "logits.npy").stat().st_mtime_ns == mtime


def test_stale_cache_is_refused(trained_digits_run, tmp_path):
    data, distiller = _setup(trained_digits_run)
    identity = {"dataset": "digits", "train_sha256": data_fingerprint(data.train), "teacher_sha256": "t"}
    TeacherCache.open_or_build(tmp_path, distiller, data.train, identity, views=NO_AUG, quiet=True)
    with pytest.raises(EdgekdError, match="stale: its teacher_sha256"):
        TeacherCache.open_or_build(tmp_path, distiller, data.train, {**identity, "teacher_sha256": "other"},
                                   views=NO_AUG, quiet=True)
    with pytest.raises(EdgekdError, match="--cache-views K"):  # augmentation without a number of views
        TeacherCache.open_or_build(tmp_path, distiller, data.train, identity, views=Views(AugmentPolicy(), 0),
                                   quiet=True)
    with pytest.raises(EdgekdError, match=r"stale: its augment differs from this run's \(null there"):
        TeacherCache.open_or_build(tmp_path, distiller, data.train, identity, views=Views(AugmentPolicy(), 0, 2),
                                   quiet=True)


def test_distill_with_cache_matches_live_run(trained_digits_run, tmp_path):
    cfg = TrainConfig(**{**FAST, "augment": False})
    live = distill(trained_digits_run / "model.pt", "cnn-tiny", "digits", tmp_path / "live", cfg,
                   DistillConfig(method="kd"), quiet=True, figure_images=0)
    cached = distill(trained_digits_run / "model.pt", "cnn-tiny", "digits", tmp_path / "cached", cfg,
                     DistillConfig(method="kd"), teacher_cache=tmp_path / "cache", quiet=True, figure_images=0)
    assert abs(live["test"]["accuracy"] - cached["test"]["accuracy"]) <= 0.02


def test_mismatched_teacher_is_refused(trained_digits_run, tmp_path):
    with pytest.raises(EdgekdError, match="takes 1x8x8 inputs"):
        distill(trained_digits_run / "model.pt", "cnn-tiny", "breastmnist", tmp_path, TrainConfig(**FAST),
                DistillConfig(method="kd"), quiet=True)


def test_constant_maps_warn_and_the_export_head_uses_the_trained_layers(trained_digits_run, tmp_path):
    """A student distilled with --student-layers exports (and explains) the map it learned;
    all-1x1 captured layers (cnn-small's block3 at 8x8) are named in a warning."""
    from edgekd.distillation.run import constant_map_notes
    from edgekd.exporters.exporter import ExportOptions, export

    teacher = build_model(load_checkpoint(trained_digits_run / "model.pt"))
    student = create_model("cnn-small", 1, 10)
    notes = constant_map_notes(Distiller(teacher, student, "fma", teacher_layers=["block3"],
                                         student_layers=["block3"]), (1, 8, 8))
    assert [n.split(" layer")[0] for n in notes] == ["every captured teacher", "every captured student"]
    assert "--student-layers" in notes[1]
    assert constant_map_notes(Distiller(teacher, student, "fma"), (1, 8, 8)) == []
    assert constant_map_notes(Distiller(teacher, student, "kd"), (1, 8, 8)) == []
    distill(trained_digits_run / "model.pt", "cnn-tiny", "digits", tmp_path / "d", TrainConfig(epochs=1, batch_size=64),
            DistillConfig(method="mip", student_layers=["block1"]), quiet=True, figure_images=0)
    ckpt = tmp_path / "d" / "model.pt"
    assert load_checkpoint(ckpt)["distill"]["student_layers"] == ["block1"]
    result = export(ckpt, ExportOptions(format="onnx", head="mip", out=tmp_path / "s.onnx"))
    assert result.metadata["attention_layers"] == ["block1"]  # the default would be block0 + block2
    assert result.parity["passed"]


def test_double_backprop_is_refused_under_float16_autocast(trained_digits_run):
    """SALS's inner input gradient is not loss-scaled by GradScaler: float16 AMP is refused
    with one line; bfloat16 and float32 run, and methods without a gradient term are not affected."""
    from edgekd.distillation.run import check_precision

    teacher = build_model(load_checkpoint(trained_digits_run / "model.pt"))
    sals = Distiller(teacher, create_model("cnn-tiny", 1, 10), "sals")
    with pytest.raises(EdgekdError, match="float16 autocast"):
        check_precision(sals, torch.float16)
    for dtype in (torch.bfloat16, None):
        check_precision(sals, dtype)
    check_precision(Distiller(teacher, create_model("cnn-tiny", 1, 10), "fma"), torch.float16)
    check_precision(Distiller(teacher, create_model("cnn-tiny", 1, 10), "sals", beta=0.0), torch.float16)


runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_gap_recovery_and_when_baseline_is_on():
    report = baseline_report({"val": {"auc": 0.9}, "test": {"auc": 0.8}}, {"val": {"auc": 0.7}, "test": {"auc": 0.8}},
                             {"val": {"auc": 0.85}, "test": {"auc": 0.79}}, "auc")
    assert abs(report["val"]["gap_recovery"] - 0.75) < 1e-12
    assert report["test"]["gap_recovery"] is None and report["warning"] is None  # no test gap to recover
    assert wants_baseline("auto", 546) and not wants_baseline("auto", 4708)
    assert wants_baseline("on", 60000) and not wants_baseline("off", 10)


@needs_shared
def test_a_teacher_worse_than_the_student_alone_is_named(tmp_path):
    """A teacher stopped after one epoch at a tiny learning rate is worse than a student trained
    alone for a few epochs: distill must say so in one warning line, and record both runs."""
    teacher = tmp_path / "teacher"
    result = invoke("train", "-m", "cnn-tiny", "-d", "breastmnist", "--epochs", "1", "--lr", "0.0001", "--seed", "3",
                    "--threads", "1", "--quiet", "--out", teacher)
    assert result.exit_code == 0, result.output
    out = tmp_path / "student"
    result = invoke("distill", "-t", teacher / "model.pt", "-s", "cnn-tiny", "--epochs", "6", "--batch-size", "64",
                    "--threads", "1", "--quiet", "--out", out)  # BreastMNIST's 546 images: --baseline auto is on
    assert result.exit_code == 0, result.output
    report = json.loads((out / "baseline.json").read_text())
    assert report["metric"] == "auc" and report["val"]["teacher"] <= report["val"]["alone"]
    assert "warning: distillation cannot help here" in result.output
    assert (out / "baseline" / "model.pt").is_file() and (out / "baseline" / "config.toml").is_file()
    alone = json.loads((out / "baseline" / "metrics.json").read_text())
    assert alone["distill"]["method"] == "none" and alone["distill"]["alpha"] == 0.0
    assert alone["config"]["seed"] == 0 and alone["config"]["epochs"] == 6  # the distilled run's own recipe

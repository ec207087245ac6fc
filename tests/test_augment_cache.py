"""Augmentation views and the K-view teacher cache: real teachers and students on digits.

What must hold (issue 14 item 2): view v of image i is a pure function of (seed, i, v) and
the view of epoch e of (seed, i, e); the student trains on exactly the view whose teacher
outputs it reads (cached loss == live loss on the same augmented batch); a stale cache
(policy, seed, K) is refused; two cached runs with the same seed are identical.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from edgekd.cli.app import app
from edgekd.data.registry import flip_allowed
from edgekd.distillation.cache import TeacherCache, data_fingerprint
from edgekd.distillation.distiller import Distiller
from edgekd.errors import EdgekdError
from edgekd.models.registry import create_model
from edgekd.training.augment import AugmentPolicy, Views
from edgekd.training.checkpoint import build_model, load_checkpoint
from edgekd.training.loop import TrainConfig
from edgekd.training.run import load_run_data
from tests.conftest import assert_one_line_error

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_views_are_pure_functions_and_each_is_used_once_per_k_epochs():
    views = Views(AugmentPolicy(rotate=15.0), seed=5, k=4)
    idx = np.arange(200)
    seen = np.stack([views.view(idx, e) for e in range(8)])  # epochs 0..7: two blocks of K = 4
    for block in (seen[:4], seen[4:]):
        assert (np.sort(block, axis=0) == np.arange(4)[:, None]).all()  # every view once per block
    assert not (seen[:4] == seen[4:]).all()  # a new order in the next block
    # the view of image i at epoch e does not depend on the batch it comes in
    assert (views.view(idx[[7, 3, 150]], 6) == seen[6][[7, 3, 150]]).all()
    x = torch.randn(200, 1, 8, 8)
    full, view = views.batch(x, torch.from_numpy(idx), 6)
    part = views.images(x[[150, 7]], [150, 7], view[[150, 7]])
    assert torch.equal(part, full[[150, 7]])
    # another seed draws other views and other shifts
    other = Views(AugmentPolicy(rotate=15.0), seed=6, k=4)
    assert not (other.view(idx, 6) == seen[6]).all()
    assert not torch.equal(other.images(x, idx, view), full)
    # without a K, every epoch is a fresh view; without augmentation, the image itself
    assert (Views(AugmentPolicy(), 5).view(idx, 9) == 9).all()
    assert torch.equal(Views(None, 5).images(x, idx, np.zeros(200, dtype=np.int64)), x)


def test_each_kind_does_what_it_says():
    x = torch.arange(64, dtype=torch.float32).reshape(1, 1, 8, 8) + 1
    p = {"dx": np.array([3]), "dy": np.array([1]), "flip": np.array([True]), "angle": np.array([0.0])}
    shifted = AugmentPolicy().apply(x, p)  # dx 3, dy 1 of 0..4 (2 = none): content 1 px left and 1 px down
    assert torch.equal(shifted[0, 0, 1:, :7], x[0, 0, :7, 1:])
    assert (shifted[0, 0, 0] == 0).all() and (shifted[0, 0, :, 7] == 0).all()  # zero padding where it came from
    flipped = AugmentPolicy(flip=True).apply(x, p)
    assert torch.equal(flipped, shifted.flip(-1))
    # a quarter turn samples pixel centres exactly: the same as rot90 up to float rounding
    turned = AugmentPolicy(shift=0, rotate=30.0).apply(x, {**p, "angle": np.array([90.0]), "flip": np.array([False])})
    assert torch.allclose(turned, torch.rot90(x, 1, (2, 3)), atol=1e-4) or \
        torch.allclose(turned, torch.rot90(x, -1, (2, 3)), atol=1e-4)
    # drawn parameters: shifts uniform over 0..4, angles within the range, flips about half
    params = AugmentPolicy(flip=True, rotate=10.0).params(0, np.arange(5000), np.zeros(5000, dtype=np.int64))
    counts = np.bincount(params["dx"], minlength=5)
    assert len(counts) == 5 and counts.min() > 850  # 1000 each; 5 sigma is ~140
    assert np.abs(params["angle"]).max() <= 10.0 and np.abs(params["angle"]).max() > 9.5
    assert 2300 < params["flip"].sum() < 2700


def _distiller(trained_digits_run, method):
    teacher = build_model(load_checkpoint(trained_digits_run / "model.pt"))
    torch.manual_seed(0)
    return Distiller(teacher, create_model("cnn-tiny", 1, 10), method, alpha=0.5)


# Tolerances from storage precision (as in test_distill.py): fp32 logits differ from live ones by
# float summation order only (batch 256 vs 64), ~1e-6; fp16 maps in [0, 1] (step <= 4.9e-4)
# move an MSE of two maps by at most ~2 * 4.9e-4.
@pytest.mark.parametrize(("method", "att_tol"), [("fma", 2e-3), ("at", 1e-5)])
def test_k_view_cache_gives_the_live_loss_on_the_same_augmented_batch(trained_digits_run, tmp_path, method, att_tol):
    data = load_run_data("digits", None)
    distiller = _distiller(trained_digits_run, method)
    views = Views(AugmentPolicy(rotate=10.0), seed=3, k=3)
    identity = {"dataset": "digits", "train_sha256": data_fingerprint(data.train), "teacher_sha256": "t"}
    cache = TeacherCache.open_or_build(tmp_path, distiller, data.train, identity, views, quiet=True)
    assert json.loads((tmp_path / "cache.json").read_text())["views"] == 3
    assert cache.arrays["logits"].shape == (3 * len(data.train), 10)
    distiller.eval()
    idx = torch.arange(100, 164)
    for epoch in (1, 5):
        x, view = views.batch(data.train.x[idx], idx, epoch)
        assert len(set(view.tolist())) == 3  # the batch mixes views
        y = data.train.y[idx]
        _, live = distiller.forward_train(x, y)
        _, cached = distiller.forward_train(x, y, cache.lookup(idx, view))
        assert set(live) == set(cached) and {"kd", "att"} <= set(live)
        for key in live:
            tol = 1e-5 if key in ("ce", "kd") else att_tol
            assert torch.allclose(live[key], cached[key], rtol=tol, atol=tol), (key, live[key], cached[key])
    # the views really differ: the teacher's logits for two views of one image are not the same
    logits = [cache.lookup(idx, np.full(64, v))["logits"] for v in range(3)]
    assert (logits[0] - logits[1]).abs().max() > 1e-2
    with pytest.raises(EdgekdError, match="3-view teacher cache"):
        cache.lookup(idx, np.full(64, 3))


def test_a_cache_for_another_policy_seed_or_k_is_stale(trained_digits_run, tmp_path):
    data = load_run_data("digits", None)
    distiller = _distiller(trained_digits_run, "kd")
    identity = {"dataset": "digits", "train_sha256": data_fingerprint(data.train), "teacher_sha256": "t"}
    TeacherCache.open_or_build(tmp_path, distiller, data.train, identity, Views(AugmentPolicy(), 1, 2), quiet=True)
    mtime = (tmp_path / "logits.npy").stat().st_mtime_ns
    TeacherCache.open_or_build(tmp_path, distiller, data.train, identity, Views(AugmentPolicy(), 1, 2), quiet=True)
    assert (tmp_path / "logits.npy").stat().st_mtime_ns == mtime  # reused, not rebuilt
    for views, key in ((Views(AugmentPolicy(rotate=5.0), 1, 2), "augment"), (Views(AugmentPolicy(), 2, 2), "seed"),
                       (Views(AugmentPolicy(), 1, 3), "views"), (Views(None, 1), "augment")):
        with pytest.raises(EdgekdError, match=f"stale: its {key} differs"):
            TeacherCache.open_or_build(tmp_path, distiller, data.train, identity, views, quiet=True)
    assert not list(tmp_path.glob(".*.tmp*"))  # nothing half-written left behind


def _cli_distill(teacher, out, *extra):
    result = invoke("distill", "--teacher", teacher, "--student", "cnn-tiny", "--epochs", 2, "--batch-size", 64,
                    "--threads", 1, "--seed", 4, "--out", out, "--quiet", *extra)
    assert result.exit_code == 0, result.output
    epochs = json.loads((out / "metrics.json").read_text())["epochs"]
    return [{k: v for k, v in e.items() if k != "time_s"} for e in epochs], \
        [json.loads(line) for line in (out / "steps.jsonl").read_text().splitlines()]


def test_cached_runs_with_augmentation_repeat_exactly_and_match_the_live_teacher(trained_digits_run, tmp_path):
    teacher = trained_digits_run / "model.pt"
    first, steps = _cli_distill(teacher, tmp_path / "a", "--teacher-cache", tmp_path / "cache")
    second, _ = _cli_distill(teacher, tmp_path / "b", "--teacher-cache", tmp_path / "cache")
    assert first == second  # same seed, same cache: identical metrics, losses and validation
    stored = json.loads((tmp_path / "cache" / "cache.json").read_text())
    assert stored["views"] == 8 and stored["seed"] == 4 and stored["augment"] == {"shift": 2, "flip": False,
                                                                                  "rotate": 0.0}
    assert "cache_views = 8" in (tmp_path / "a" / "config.toml").read_text()
    # the live teacher with the same 8 views: the same first step (same init, same pixels);
    # fp32 logits from the cache vs live differ by summation order only
    _, live_steps = _cli_distill(teacher, tmp_path / "live", "--cache-views", 8)
    for key in ("ce", "kd", "att"):
        assert abs(live_steps[0][key] - steps[0][key]) <= (2e-3 if key == "att" else 1e-5), key
    assert len(live_steps) == len(steps)


def test_bad_augmentation_options_are_one_line_errors(trained_digits_run, tmp_path):
    teacher = trained_digits_run / "model.pt"
    assert_one_line_error(invoke("distill", "-t", teacher, "--teacher-cache", tmp_path / "c", "--cache-views", 4,
                                 "--no-augment", "--out", tmp_path / "a"), "--cache-views 4 needs augmentation")
    assert_one_line_error(invoke("distill", "-t", teacher, "--rotate", 90, "--out", tmp_path / "b"), "--rotate")
    assert_one_line_error(invoke("distill", "-t", teacher, "--cache-views", 0, "--out", tmp_path / "c"),
                          "--cache-views must be")
    assert_one_line_error(invoke("train", "--flip", "--no-augment", "--out", tmp_path / "d"), "--no-augment")
    assert_one_line_error(invoke("train", "--dataset", "mnist", "--flip", "--out", tmp_path / "e"),
                          "--flip is not allowed on mnist")
    assert not any((tmp_path / n).exists() for n in "abcde")
    assert flip_allowed("breastmnist") and flip_allowed("folder:/x") and not flip_allowed("pneumoniamnist")
    TrainConfig(flip=True).check_data("breastmnist")  # allowed: no error

"""Agreement and faithfulness (ins−del) metrics on hand-made cases and a trained model, then the
attention-agreement command on real models."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from edgekd.cli.app import app
from edgekd.errors import EdgekdError
from edgekd.explain import faithfulness as fa
from edgekd.explain.agreement import pearson, topk_iou
from tests.conftest import assert_one_line_error

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


# --- pearson and top-region IoU -------------------------------------------------------

def test_identical_maps_agree_perfectly_and_negated_maps_anticorrelate():
    maps = np.random.default_rng(0).random((5, 8, 8))
    assert np.allclose(pearson(maps, maps), 1.0)
    assert np.allclose(topk_iou(maps, maps), 1.0)
    assert np.allclose(pearson(maps, -maps), -1.0)
    assert np.allclose(topk_iou(maps, -maps), 0.0)  # 13 top pixels vs the 13 lowest: disjoint
    assert np.allclose(pearson(maps, 3 * maps + 2), 1.0)  # invariant to an affine rescale
    assert np.allclose(pearson(torch.from_numpy(maps), maps), 1.0)  # tensors work too


def test_topk_iou_hand_count():
    a = np.array([[5, 4, 3, 2, 1, 0, 0, 0, 0, 0]], dtype=float).reshape(1, 2, 5)
    b = np.array([[0, 0, 3, 4, 5, 0, 0, 0, 0, 0]], dtype=float).reshape(1, 2, 5)
    # top 30 % = 3 pixels: a -> {0, 1, 2}, b -> {4, 3, 2}; intersection 1, union 5
    assert topk_iou(a, b, fraction=0.3)[0] == pytest.approx(1 / 5)
    assert topk_iou(a, b, fraction=1.0)[0] == 1.0


def test_constant_map_has_no_correlation_and_bad_shapes_fail():
    a = np.random.default_rng(1).random((2, 4, 4))
    b = a.copy()
    b[1] = 0.5
    r = pearson(a, b)
    assert r[0] == pytest.approx(1.0) and np.isnan(r[1])
    with pytest.raises(EdgekdError, match="different shapes"):
        pearson(a, a[:, :2])
    with pytest.raises(EdgekdError, match="fraction"):
        topk_iou(a, a, fraction=0)


# --- insertion / deletion (ins−del) ----------------------------------------------------

def _pixel_probs(x: np.ndarray) -> np.ndarray:
    """p(class 1) = sigmoid(10 * (pixel (0, 0) - 0.5)): the whole decision sits in one pixel."""
    p1 = 1 / (1 + np.exp(-10 * (x[:, 0, 0, 0].astype(np.float64) - 0.5)))
    return np.stack([1 - p1, p1], axis=1)


def test_ins_del_of_the_decisive_pixel_first_is_high_and_last_is_low():
    n = 40
    x = np.full((n, 1, 4, 4), 0.1, dtype=np.float32)
    x[:, 0, 0, 0] = 1.0
    filled = fa.fill_images(x, "mean")
    target = np.ones(n, dtype=np.int64)
    good = np.zeros((n, 4, 4))
    good[:, 0, 0] = 1.0
    r = fa.ins_del(_pixel_probs, x, good, filled, target, steps=4)
    p_on, p_off = 1 / (1 + np.exp(-5.0)), 1 / (1 + np.exp(5.0))
    assert r["fractions"].tolist() == [0, 0.25, 0.5, 0.75, 1.0]
    assert np.allclose(r["deletion"], [p_on, p_off, p_off, p_off, p_off])
    assert np.allclose(r["insertion"], [p_off, p_on, p_on, p_on, p_on])
    # trapezoids: ins = 0.875 p_on + 0.125 p_off, del = the mirror image
    assert np.allclose(r["ins_del"], 0.75 * (p_on - p_off))
    bad = fa.ins_del(_pixel_probs, x, 1.0 - good, filled, target, steps=4)  # the decisive pixel last
    assert np.allclose(bad["ins_del"], -0.75 * (p_on - p_off))
    assert fa.informative(_pixel_probs, filled, target).all()  # a blank image is class 0
    with pytest.raises(EdgekdError, match="input size"):
        fa.ins_del(_pixel_probs, x, good[:, :2], filled, target)


def test_controls_derangement_and_intervals_hand_cases():
    x = np.random.default_rng(0).normal(size=(6, 3, 8, 8)).astype(np.float32)
    c = fa.control_maps(x, seed=1, mean=(0.5, 0.5, 0.5), std=(0.2, 0.2, 0.2))
    assert set(c) == set(fa.CONTROLS) and all(m.shape == (6, 8, 8) for m in c.values())
    assert np.allclose(c["brightness"], 0.2 * x.mean(1) + 0.5)
    assert c["centre"][0].argmax() in (27, 28, 35, 36) and np.allclose(c["centre"][0], c["centre"][5])
    perm = fa.derangement(7, seed=3)
    assert sorted(perm.tolist()) == list(range(7)) and not np.any(perm == np.arange(7))
    iv = fa.paired_interval([1.0, 2.0, 3.0], [0.0, 0.0, 0.0])
    half = fa.t_quantile(2) * 1.0 / np.sqrt(3)  # sd of 1, 2, 3 is 1
    assert iv["mean"] == 2.0 and iv["low"] == pytest.approx(2 - half) and iv["high"] == pytest.approx(2 + half)
    maps = np.random.default_rng(2).random((7, 5, 5))
    g = fa.agreement_gain(maps, maps, perm)
    assert np.allclose(g["r"], 1.0) and np.all(g["gain"] > 0.5)  # independent noise maps: r_shuffled ~ 0
    assert fa.fill_images(x, "blur").std() < x.std() and not fa.fill_images(x, "mean").any()


def test_ins_del_controls_on_a_trained_model(trained_digits_run):
    """Random orderings score 0 by construction; a map from the model's own input gradient beats them."""
    from edgekd.data.registry import dataset_info, load_split
    from edgekd.explain.model_maps import model_map, probabilities
    from edgekd.training.batches import TensorSplit
    from edgekd.training.checkpoint import load_model

    model, _ = load_model(trained_digits_run / "model.pt")
    data = TensorSplit.from_split(load_split("digits", "test"), dataset_info("digits"))
    x = data.x.numpy()
    n = len(x)

    def prob(b):
        return probabilities(model, b)

    pred = prob(x).argmax(1)
    filled = fa.fill_images(x, "mean")
    controls = fa.control_maps(x, seed=0)
    scores = {name: fa.ins_del(prob, x, controls[name], filled, pred, seed=0)["ins_del"]
              for name in ("random", "smooth random")}
    for name, s in scores.items():  # zero within 3 standard errors of the mean of n = 360 images
        assert abs(s.mean()) <= 3 * s.std(ddof=1) / np.sqrt(n), (name, s.mean())
    sals = fa.ins_del(prob, x, model_map(model, x, "sals"), filled, pred, seed=0)["ins_del"]
    iv = fa.paired_interval(sals, scores["random"])
    assert iv["n"] == n and iv["low"] > 0, iv


# --- the command on real models -------------------------------------------------------

@pytest.fixture(scope="session")
def digits_student(trained_digits_run, tmp_path_factory):
    from edgekd.distillation.run import DistillConfig, distill
    from edgekd.training.loop import TrainConfig

    out = tmp_path_factory.mktemp("agreement_student")
    distill(trained_digits_run / "model.pt", "cnn-tiny", "digits", out, TrainConfig(epochs=2, batch_size=64, lr=0.05),
            DistillConfig(method="fma"), quiet=True, figure_images=0)
    return out / "model.pt"


def test_attention_agreement_command(trained_digits_run, digits_student, tmp_path):
    teacher = trained_digits_run / "model.pt"
    out = tmp_path / "agree"
    result = invoke("attention-agreement", "--teacher", teacher, "--student", digits_student, "--student", teacher,
                    "--map", "mip", "--map", "sals", "--map", "cam", "--limit", "120", "--out", out, "--quiet")
    assert result.exit_code == 0, result.output
    assert "ins−del" in result.output and "r - r_shuffled" in result.output
    data = json.loads((out / "agreement.json").read_text())
    assert data["n"] == 120 and data["maps"] == ["mip", "sals", "cam"] and data["dataset"] == "digits"
    assert len(data["students"]) == 2 and data["fill"] in ("mean", "blur")
    assert data["fill"] == min(data["fill_decisiveness"], key=data["fill_decisiveness"].get)
    t, same = data["teacher"], data["students"][1]  # the teacher compared with itself
    assert "cam" in t["unavailable"] and "1x1" in t["unavailable"]["cam"]  # cnn-small's last stage on 8x8
    assert same["agreement"]["mip"]["r"]["mean"] == pytest.approx(1.0)
    assert same["maps"]["sals"]["ins_del"]["mean"] == pytest.approx(t["maps"]["sals"]["ins_del"]["mean"])
    for rec in (t, *data["students"]):
        assert set(rec["controls"]) == {"random", "smooth random", "centre", "brightness"}
        for m in (*rec["maps"].values(), *rec["controls"].values()):
            assert len(m["deletion"]) == len(m["insertion"]) == 11 and len(m["per_image"]) == 120
            assert -1 <= m["ins_del"]["mean"] <= 1 and m["ins_del"]["low"] <= m["ins_del"]["high"]
        assert rec["maps"]["mip"]["nonfinite"] == 0 and set(rec["maps"]["mip"]["vs"]) == set(rec["controls"])
        assert rec["maps"]["mip"]["deletion"][0] == pytest.approx(rec["maps"]["mip"]["insertion"][-1])
    for png in ("faithfulness.png", "curves.png"):
        assert (out / png).read_bytes().startswith(b"\x89PNG") and (out / png).stat().st_size > 10_000


def test_attention_agreement_bad_inputs(trained_digits_run, digits_student, tmp_path):
    teacher = trained_digits_run / "model.pt"
    assert_one_line_error(invoke("attention-agreement", "--teacher", tmp_path / "no.pt", "--student", digits_student),
                          "does not exist")
    assert_one_line_error(invoke("attention-agreement", "--teacher", teacher, "--student", digits_student, "--map",
                                 "at", "--out", tmp_path / "o"), "unknown --map value")
    assert_one_line_error(invoke("attention-agreement", "--teacher", teacher, "--student", digits_student,
                                 "--dataset", "pneumoniamnist", "--out", tmp_path / "o"), "same data set")
    assert_one_line_error(invoke("attention-agreement", "--teacher", teacher, "--student", digits_student,
                                 "--fill", "zero", "--out", tmp_path / "o"), "unknown --fill value")
    (tmp_path / "file").write_text("x")
    assert_one_line_error(invoke("attention-agreement", "--teacher", teacher, "--student", digits_student,
                                 "--limit", "5", "--out", tmp_path / "file"), "is a file")

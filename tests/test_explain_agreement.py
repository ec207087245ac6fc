"""Agreement and faithfulness metrics on hand-made cases, then the attention-agreement command on real models."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import typer
from typer.testing import CliRunner

from edgekd.cli.explain_cmd import attention_agreement
from edgekd.errors import EdgekdError
from edgekd.explain.agreement import curve_auc, deletion_curve, pearson, random_maps, topk_iou
from tests.conftest import assert_one_line_error

runner = CliRunner()


def _app() -> typer.Typer:
    app = typer.Typer()
    app.command("attention-agreement")(attention_agreement)
    app.command("unused")(lambda: None)  # two commands: Typer then keeps the command name
    return app


def invoke(*args):
    return runner.invoke(_app(), [str(a) for a in args])


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


# --- deletion -------------------------------------------------------------------------

def _pixel_model(x: np.ndarray) -> np.ndarray:
    """Class 1 iff pixel (0, 0) is positive: the whole decision sits in one pixel."""
    s = x[:, 0, 0, 0]
    return np.stack([-s, s], axis=1)


def test_deletion_of_the_decisive_pixel_first_drops_accuracy_at_once():
    n = 40
    x = np.full((n, 1, 4, 4), 0.1, dtype=np.float32)
    x[:, 0, 0, 0] = 1.0
    y = np.ones(n, dtype=np.int64)
    good = np.zeros((n, 4, 4))
    good[:, 0, 0] = 1.0
    f, acc = deletion_curve(_pixel_model, x, y, good, steps=4)
    assert f.tolist() == [0, 0.25, 0.5, 0.75, 1.0]
    assert acc.tolist() == [1.0, 0.0, 0.0, 0.0, 0.0]
    bad = 1.0 - good  # the decisive pixel last
    _, acc_bad = deletion_curve(_pixel_model, x, y, bad, steps=4)
    assert acc_bad.tolist() == [1.0, 1.0, 1.0, 1.0, 0.0]
    _, acc_rand = deletion_curve(_pixel_model, x, y, random_maps(n, 4, 4, seed=3), steps=4)
    assert curve_auc(f, acc) < curve_auc(f, acc_rand) < curve_auc(f, acc_bad)
    assert curve_auc(f, acc) == pytest.approx(0.125) and curve_auc(f, acc_bad) == pytest.approx(0.875)


def test_deletion_with_torch_matches_numpy_and_constant_maps_are_random_order():
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, 2))
    torch.manual_seed(0)
    x = torch.randn(30, 1, 4, 4)
    y = torch.randint(0, 2, (30,))
    maps = torch.rand(30, 4, 4)
    f_t, a_t = deletion_curve(model, x, y, maps, steps=5)
    f_n, a_n = deletion_curve(lambda b: model(torch.from_numpy(b)).detach().numpy(), x.numpy(), y.numpy(),
                              maps.numpy(), steps=5)
    assert np.array_equal(f_t, f_n) and np.allclose(a_t, a_n)
    assert a_t[-1] == float(np.mean(model(torch.zeros(1, 1, 4, 4)).argmax(1).item() == y.numpy()))
    with pytest.raises(EdgekdError, match="input size"):
        deletion_curve(model, x, y, maps[:, :2], steps=5)


def test_curve_auc_hand_values():
    f = np.linspace(0, 1, 11)
    assert curve_auc(f, np.ones(11)) == pytest.approx(1.0)
    assert curve_auc(f, 1 - f) == pytest.approx(0.5)


def test_a_random_maps_deletion_curve_sits_near_the_random_baseline(trained_digits_run):
    from edgekd.data.registry import dataset_info, load_split
    from edgekd.train.batches import TensorSplit
    from edgekd.train.checkpoint import load_model

    model, _ = load_model(trained_digits_run / "model.pt")
    data = TensorSplit.from_split(load_split("digits", "test"), dataset_info("digits"))
    f, base = deletion_curve(model, data.x, data.y, random_maps(len(data), 8, 8, seed=0), seed=0)
    _, other = deletion_curve(model, data.x, data.y, random_maps(len(data), 8, 8, seed=123), seed=7)
    assert abs(curve_auc(f, base) - curve_auc(f, other)) < 0.05
    assert np.max(np.abs(base - other)) < 0.12  # point by point too, n = 360
    assert base[0] > 0.9 and base[-1] < 0.3  # from the trained accuracy down to a blank image


# --- the command on real models -------------------------------------------------------

@pytest.fixture(scope="session")
def digits_student(trained_digits_run, tmp_path_factory):
    from edgekd.distill.run import DistillConfig, distill
    from edgekd.train.loop import TrainConfig

    out = tmp_path_factory.mktemp("agreement_student")
    distill(trained_digits_run / "model.pt", "cnn-tiny", "digits", out, TrainConfig(epochs=2, batch_size=64, lr=0.05),
            DistillConfig(method="fma"), quiet=True, figure_images=0)
    return out / "model.pt"


def test_attention_agreement_command(trained_digits_run, digits_student, tmp_path):
    teacher = trained_digits_run / "model.pt"
    out = tmp_path / "agree"
    result = invoke("attention-agreement", "--teacher", teacher, "--student", digits_student, "--student", teacher,
                    "--map", "mip", "--limit", "120", "--out", out)
    assert result.exit_code == 0, result.output
    assert "deletion AUC" in result.output and "Pearson r" in result.output
    data = json.loads((out / "agreement.json").read_text())
    assert data["n"] == 120 and data["map"] == "mip" and data["dataset"] == "digits" and len(data["students"]) == 2
    same = data["students"][1]  # the teacher compared with itself
    assert same["pearson"]["mean"] == pytest.approx(1.0) and same["iou"]["mean"] == pytest.approx(1.0)
    assert same["deletion"]["auc"] == pytest.approx(data["teacher"]["deletion"]["auc"])
    student = data["students"][0]
    assert -1 <= student["pearson"]["mean"] <= 1 and 0 <= student["iou"]["mean"] <= 1
    for rec in (data["teacher"], *data["students"]):
        assert len(rec["deletion"]["accuracy"]) == 11 and len(rec["random"]["accuracy"]) == 11
        assert 0 <= rec["deletion"]["auc"] <= 1 and rec["deletion"]["accuracy"][0] == pytest.approx(rec["accuracy"])
        assert rec["nonfinite_maps"] == 0
    for png in ("deletion.png", "agreement.png"):
        assert (out / png).read_bytes().startswith(b"\x89PNG") and (out / png).stat().st_size > 10_000


def test_saliency_is_more_faithful_than_random_on_the_trained_teacher(trained_digits_run, digits_student, tmp_path):
    from edgekd.explain.study import attention_agreement as run

    data = run(trained_digits_run / "model.pt", [digits_student], map_name="sals", out=tmp_path)
    teacher = data["teacher"]
    assert teacher["deletion"]["auc"] < teacher["random"]["auc"]


def test_attention_agreement_bad_inputs(trained_digits_run, digits_student, tmp_path):
    teacher = trained_digits_run / "model.pt"
    assert_one_line_error(invoke("attention-agreement", "--teacher", tmp_path / "no.pt", "--student", digits_student),
                          "does not exist")
    assert_one_line_error(invoke("attention-agreement", "--teacher", teacher, "--student", digits_student, "--map",
                                 "at", "--out", tmp_path / "o"), "unknown map")
    assert_one_line_error(invoke("attention-agreement", "--teacher", teacher, "--student", digits_student,
                                 "--dataset", "pneumoniamnist", "--out", tmp_path / "o"), "same data set")
    assert_one_line_error(invoke("attention-agreement", "--teacher", teacher, "--student", digits_student,
                                 "--map", "cam", "--out", tmp_path / "o"), "1x1")  # cnn-small's last stage on 8x8
    (tmp_path / "file").write_text("x")
    assert_one_line_error(invoke("attention-agreement", "--teacher", teacher, "--student", digits_student,
                                 "--limit", "5", "--out", tmp_path / "file"), "is a file")

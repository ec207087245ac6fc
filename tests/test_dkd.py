"""DKD: the decomposition of KD it rests on, and a short real distillation with it."""

from __future__ import annotations

import json

import pytest
import torch

from edgekd.distillation import methods
from edgekd.distillation.methods.dkd import dkd_loss
from edgekd.losses.kd import kd_loss


def test_dkd_is_kd_when_its_parts_are_weighed_as_kd_weighs_them():
    """Zhao et al.'s eq. 1: KD = TCKD + (1 - p_t(target)) NCKD, per sample."""
    g = torch.Generator().manual_seed(0)
    for _ in range(5):
        s, t = torch.randn(1, 6, generator=g) * 3, torch.randn(1, 6, generator=g) * 3
        y = torch.randint(0, 6, (1,), generator=g)
        rest = 1 - torch.softmax(t / 4.0, dim=1)[0, y].item()
        assert dkd_loss(s, t, y, 4.0, 1.0, rest).item() == pytest.approx(kd_loss(s, t, 4.0).item(), rel=1e-4)


def test_dkd_is_zero_for_the_teachers_own_logits_and_positive_otherwise():
    t = torch.tensor([[2.0, -1.0, 0.5], [0.0, 3.0, -2.0]])
    y = torch.tensor([0, 1])
    assert dkd_loss(t, t, y).item() == pytest.approx(0.0, abs=1e-6)
    assert dkd_loss(t.flip(1), t, y).item() > 0.1
    assert torch.isfinite(dkd_loss(t * 1e4, -t * 1e4, y))


def test_dkd_is_registered_from_its_file_and_distills_on_digits(trained_digits_run, tmp_path):
    from typer.testing import CliRunner

    from edgekd.cli.app import app

    assert "dkd" in methods.METHODS and methods.get("dkd").default_alpha == 0.0
    out = tmp_path / "dkd"
    result = CliRunner().invoke(app, ["distill", "-t", str(trained_digits_run / "model.pt"), "--student", "cnn-tiny",
                                      "--method", "dkd", "--epochs", "2", "--batch-size", "64", "--teacher-cache",
                                      str(tmp_path / "cache"), "--quiet", "--out", str(out)])
    assert result.exit_code == 0, result.output
    metrics = json.loads((out / "metrics.json").read_text())
    terms = metrics["epochs"][-1]["terms"]
    assert set(terms) == {"ce", "dkd"} and terms["dkd"] > 0  # CE + DKD, no Hinton KD beside it
    assert metrics["distill"]["method"] == "dkd" and metrics["distill"]["alpha"] == 0.0


def test_logit_standardisation_ignores_the_logits_scale_and_shift():
    from edgekd.losses.kd import standardize

    g = torch.Generator().manual_seed(1)
    s, t = torch.randn(4, 5, generator=g), torch.randn(4, 5, generator=g)
    plain = kd_loss(s, t, 4.0, standardized=True)
    # a student whose logits are the teacher's scaled and shifted is already perfect once standardised
    assert kd_loss(3 * t + 2, t, 4.0, standardized=True).item() == pytest.approx(0.0, abs=1e-6)
    assert kd_loss(3 * t + 2, t, 4.0).item() > 0.05
    assert kd_loss(5 * s - 1, t, 4.0, standardized=True).item() == pytest.approx(plain.item(), rel=1e-5)
    z = standardize(s)
    assert torch.allclose(z.mean(1), torch.zeros(4), atol=1e-6) and torch.allclose(z.std(1), torch.ones(4), atol=1e-5)


def test_the_cosine_map_loss_ignores_the_maps_scale():
    from edgekd.losses.attention import attention_loss

    m = torch.rand(3, 7, 7)
    assert attention_loss(m, 4 * m, "cosine").item() == pytest.approx(0.0, abs=1e-6)
    assert attention_loss(m, 1 - m, "cosine").item() > 0.1

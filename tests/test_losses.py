"""KD, DKD and attention losses against values derived by hand (DKD: the decomposition of KD it
rests on), and a short real distillation with DKD."""

from __future__ import annotations

import json
import math

import pytest
import torch

from edgekd.distillation import methods
from edgekd.distillation.methods.dkd import dkd_loss
from edgekd.errors import EdgekdError
from edgekd.losses.attention import attention_loss
from edgekd.losses.kd import kd_loss


def t(rows: list) -> torch.Tensor:
    return torch.tensor(rows, dtype=torch.float32)


def test_kd_hand_computed_direction_temperature_and_batchmean() -> None:
    # sample 1: z_T / T = [ln 3, 0] -> p_T = [3/4, 1/4]; z_S = [0, 0] -> p_S = [1/2, 1/2]
    #   KL(p_T || p_S) = 3/4 ln(3/2) + 1/4 ln(1/2); sample 2: identical logits, KL 0.
    # batchmean halves the sum; T^2 = 4 -> 2 * KL_1.   (The reverse KL would be
    #   1/2 ln(4/3) = 0.1438, not 0.1308.)
    z_t = t([[2 * math.log(3), 0], [1.0, -1.0]])
    z_s = t([[0, 0], [1.0, -1.0]])
    kl1 = 0.75 * math.log(1.5) + 0.25 * math.log(0.5)
    assert kd_loss(z_s, z_t, temperature=2.0).item() == pytest.approx(2 * kl1, abs=1e-6)
    # T = 1 on sample 1 alone: z_T = [ln 3, 0]
    one = kd_loss(t([[0, 0]]), t([[math.log(3), 0]]), temperature=1.0)
    assert one.item() == pytest.approx(kl1, abs=1e-6)


def test_kd_zero_when_equal_and_gradient_only_to_student() -> None:
    z = torch.randn(4, 5)
    assert kd_loss(z, z.clone()).item() == pytest.approx(0.0, abs=1e-6)
    z_s = torch.randn(4, 5, requires_grad=True)
    kd_loss(z_s, torch.randn(4, 5)).backward()
    assert z_s.grad is not None and z_s.grad.abs().sum() > 0


def test_kd_errors() -> None:
    with pytest.raises(EdgekdError, match="temperature"):
        kd_loss(torch.zeros(1, 2), torch.zeros(1, 2), temperature=0)
    with pytest.raises(EdgekdError, match="share the classes"):
        kd_loss(torch.zeros(1, 2), torch.zeros(1, 3))


def test_mse_hand_computed() -> None:
    # diffs [-1, 0, .5, 0] -> squares [1, 0, .25, 0] -> mean .3125
    m_s, m_t = t([[[0, 1], [0.5, 0.5]]]), t([[[1, 1], [0, 0.5]]])
    assert attention_loss(m_s, m_t, "mse").item() == pytest.approx(0.3125)


def test_bce_hand_computed_soft_targets() -> None:
    # s = [.5, .25, .5], t = [1, 0, .5]: -ln .5, -ln .75, -(.5 ln .5 + .5 ln .5)
    m_s, m_t = t([[[0.5, 0.25, 0.5]]]), t([[[1, 0, 0.5]]])
    expected = (2 * math.log(2) + math.log(4 / 3)) / 3
    assert attention_loss(m_s, m_t, "bce").item() == pytest.approx(expected, abs=1e-6)


def test_bce_clamped_at_0_and_1() -> None:
    # student 0 where the target is 1: clamp to 1e-6 -> -ln(1e-6) on 1 of 2 pixels;
    # student 1 where the target is 1: clamp to 1 - 1e-6 -> ~1e-6
    m_s = t([[[0.0, 1.0]]]).requires_grad_(True)
    loss = attention_loss(m_s, t([[[1.0, 1.0]]]), "bce")
    assert torch.isfinite(loss)
    assert loss.item() == pytest.approx(-math.log(1e-6) / 2, rel=1e-4)
    loss.backward()
    assert torch.isfinite(m_s.grad).all()


def test_dice_hand_computed_per_sample_then_mean() -> None:
    # sample 1: sum(st) = 1.25, sum s = 2, sum t = 2.5 -> 1 - 2.5/4.5 = 4/9
    # sample 2: identical one-hot maps -> 0. Mean 2/9 (a pooled Dice would give 4/13).
    m_s = t([[[1, 0], [0.5, 0.5]], [[1, 0], [0, 0]]])
    m_t = t([[[1, 1], [0, 0.5]], [[1, 0], [0, 0]]])
    assert attention_loss(m_s, m_t, "dice").item() == pytest.approx(2 / 9, abs=1e-6)


def test_dice_all_zero_maps_no_nan() -> None:
    z = torch.zeros(2, 3, 3, requires_grad=True)
    loss = attention_loss(z, torch.zeros(2, 3, 3), "dice")
    assert loss.item() == pytest.approx(0.0, abs=1e-6)
    loss.backward()
    assert torch.isfinite(z.grad).all()


def test_centred_ignores_the_shared_map_and_scores_the_image_specific_part() -> None:
    shared = torch.rand(4, 4, generator=torch.Generator().manual_seed(0))
    specific = torch.zeros(2, 4, 4)
    specific[0, 0, 0], specific[1, 3, 3] = 0.5, 0.5  # each image's own spot
    teacher = shared + specific
    # a student that learned only the teacher's average map: plain MSE small, centred loss not
    average_only = teacher.mean(dim=0, keepdim=True).expand(2, 4, 4)
    assert attention_loss(average_only, teacher, "centred").item() == pytest.approx(2 * 0.25**2 / 16)
    # a student with the image-specific part on another shared map: centred loss 0
    assert attention_loss(torch.rand(4, 4) + specific, teacher, "centred").item() == pytest.approx(0.0, abs=1e-7)
    # a batch of one has no image-specific part
    assert attention_loss(teacher[:1], average_only[:1], "centred").item() == 0.0


@pytest.mark.parametrize("kind", ["mse", "bce", "dice"])
def test_attention_loss_gradient_reaches_student_map(kind: str) -> None:
    torch.manual_seed(0)
    m_s = torch.rand(2, 4, 4).mul(0.8).add(0.1).requires_grad_(True)
    attention_loss(m_s, torch.rand(2, 4, 4), kind).backward()
    assert m_s.grad is not None and (m_s.grad != 0).all()


def test_attention_loss_errors() -> None:
    with pytest.raises(EdgekdError, match=r"\['mse', 'bce', 'dice', 'centred', 'cosine'\]"):
        attention_loss(torch.zeros(1, 2, 2), torch.zeros(1, 2, 2), "l1")
    with pytest.raises(EdgekdError, match="same attention size"):
        attention_loss(torch.zeros(1, 2, 2), torch.zeros(1, 3, 3))


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
    m = torch.rand(3, 7, 7)
    assert attention_loss(m, 4 * m, "cosine").item() == pytest.approx(0.0, abs=1e-6)
    assert attention_loss(m, 1 - m, "cosine").item() > 0.1

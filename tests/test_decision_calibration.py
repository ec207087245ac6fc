"""Temperature and bias-corrected temperature scaling, and the calibration metrics, on real logits.

Logits come from logistic regressions trained here on the real PneumoniaMNIST, BreastMNIST
and digits training splits (tests/decision_models.py).
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import needs_shared
from decision_models import trained_logits

from edgekd.decision.calibration import T_MAX, T_MIN, fit_bcts, fit_temperature
from edgekd.decision.calibration_metrics import (
    brier,
    ece_interval,
    expected_calibration_error,
    nll,
    reliability_bins,
)
from edgekd.decision.numerics import log_softmax
from edgekd.errors import EdgekdError
from edgekd.metrics import softmax

pytestmark = needs_shared
DATASETS = ("pneumoniamnist", "breastmnist", "digits")


@pytest.mark.parametrize("dataset", DATASETS)
@pytest.mark.parametrize("scale", [4.0, 0.25])
def test_temperature_lowers_validation_nll_and_test_ece_of_a_miscalibrated_model(dataset, scale):
    m = trained_logits(dataset)
    zv, zt = m.val.logits * scale, m.test.logits * scale     # made over- (x4) or under-confident (x0.25)
    t = fit_temperature(m.val.labels, zv)
    assert nll(m.val.labels, zv / t) < nll(m.val.labels, zv)
    assert expected_calibration_error(m.test.labels, softmax(zt / t)) < expected_calibration_error(
        m.test.labels, softmax(zt))
    # the fitted scale is a minimum: nudging T either way does not lower the validation NLL
    for nudge in (0.98, 1.02):
        assert nll(m.val.labels, zv / (t * nudge)) >= nll(m.val.labels, zv / t) - 1e-12


@pytest.mark.parametrize("dataset,factor", [("pneumoniamnist", 3.0), ("digits", 0.4)])
def test_temperature_recovers_a_known_scale_within_its_standard_error(dataset, factor):
    """Labels drawn from the calibrated softmax of real logits make those logits calibrated by
    construction; dividing them by ``factor`` must give back T = 1 / factor. The tolerance is
    4 standard errors of the maximum-likelihood scale, 1 / sqrt(n * Fisher information), where
    the information is the mean variance of the logits under the model's probabilities."""
    m = trained_logits(dataset)
    z = np.concatenate([m.val.logits, m.test.logits])
    z = z / fit_temperature(np.concatenate([m.val.labels, m.test.labels]), z)
    rng = np.random.default_rng(0)
    p = softmax(z)
    labels = np.array([rng.choice(p.shape[1], p=row) for row in p])
    t = fit_temperature(labels, z / factor)
    info = np.mean((p * z * z).sum(axis=1) - (p * z).sum(axis=1) ** 2)   # per-sample Fisher information of beta
    se_beta = 1.0 / np.sqrt(len(z) * info)                               # on beta = 1 / T of the unscaled logits
    assert abs(1.0 / (t * factor) - 1.0) < 4 * se_beta, (t, 1 / factor, se_beta)


def test_temperature_is_exactly_equivariant_to_the_scale_of_the_logits():
    m = trained_logits("pneumoniamnist")
    t1 = fit_temperature(m.val.labels, m.val.logits)
    assert fit_temperature(m.val.labels, 7.0 * m.val.logits) == pytest.approx(7.0 * t1, rel=1e-9)


@pytest.mark.parametrize("dataset", DATASETS)
def test_bcts_fits_at_least_as_well_as_temperature_and_reaches_a_stationary_point(dataset):
    m = trained_logits(dataset)
    y, z = m.val.labels, m.val.logits
    t, b = fit_bcts(y, z)
    assert abs(b.sum()) < 1e-9                                     # centred (softmax ignores a common shift)
    assert nll(y, z / t + b) <= nll(y, z / fit_temperature(y, z)) + 1e-12
    p = np.exp(log_softmax(z / t + b))
    # at the optimum the bias gradient vanishes: mean probabilities equal class frequencies (up to the ridge)
    freq = np.bincount(y, minlength=z.shape[1]) / len(y)
    assert np.max(np.abs(p.mean(axis=0) - freq)) < 1e-3


def test_fits_stay_finite_and_bounded_on_extreme_logits():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 200)
    z = rng.choice([-1e4, 1e4], size=(200, 3))
    z[np.arange(200), y] = 1e4                                     # right with huge margins, sometimes tied
    for fitted in (fit_temperature(y, z), fit_bcts(y, z)[0]):
        assert T_MIN <= fitted <= T_MAX and np.isfinite(fitted)
    t, b = fit_bcts(y, z)
    assert np.all(np.isfinite(b)) and np.isfinite(nll(y, z / t + b))
    assert np.isfinite(nll(y, z)) and np.isfinite(expected_calibration_error(y, softmax(z)))
    wrong = (y + 1) % 3                                             # confidently wrong: NLL huge but finite
    assert np.isfinite(nll(wrong, z)) and nll(wrong, z) > 1e3
    assert fit_temperature(wrong, z) == T_MAX                       # no better than chance: the largest T


def test_ece_bins_and_brier_by_hand():
    labels = np.array([0, 0, 1, 1])
    probs = np.array([[0.9, 0.1], [0.6, 0.4], [0.3, 0.7], [0.45, 0.55]])
    # top-label confidences 0.9, 0.6, 0.7, 0.55; correct: yes, yes, yes, yes -> ECE = mean(1 - conf)
    assert expected_calibration_error(labels, probs) == pytest.approx(np.mean([0.1, 0.4, 0.3, 0.45]))
    rows = reliability_bins(labels, probs)
    assert len(rows) == 15 and sum(r["count"] for r in rows) == 4
    (nine,) = [r for r in rows if r["lower"] < 0.9 <= r["upper"]]  # bins are (lower, upper]
    assert nine["count"] == 1 and nine["accuracy"] == 1.0
    assert brier(labels, probs) == pytest.approx(np.mean([2 * 0.1**2, 2 * 0.4**2, 2 * 0.3**2, 2 * 0.45**2]))
    with pytest.raises(EdgekdError, match="sum to 1"):
        expected_calibration_error(labels, probs * 2)


def test_ece_interval_on_the_small_breastmnist_test_split():
    m = trained_logits("breastmnist")
    for t in (1.0, fit_temperature(m.val.labels, m.val.logits)):
        p = softmax(m.test.logits / t)
        point = expected_calibration_error(m.test.labels, p)
        low, high = ece_interval(m.test.labels, p, n_boot=300)
        # around the measured figure even where resampling inflates ECE above it; 156 images: wide
        assert 0.0 <= low < point < high and high - low > 0.02, (low, point, high)
        assert ece_interval(m.test.labels, p, n_boot=300) == (low, high)   # seeded: the same every time


def test_reliability_diagram_png(tmp_path):
    from PIL import Image

    from edgekd.decision.plots import plot_reliability

    m = trained_logits("digits")
    t = fit_temperature(m.val.labels, m.val.logits)
    out = tmp_path / "reliability.png"
    plot_reliability(m.test.labels, {"T = 1": softmax(m.test.logits), f"T = {t:.2f}": softmax(m.test.logits / t)},
                     out, title="digits test")
    with Image.open(out) as img:
        assert img.format == "PNG" and img.size[0] > 300 and img.size[1] > 300
    assert [p.name for p in tmp_path.iterdir()] == ["reliability.png"]   # written atomically, no leftovers

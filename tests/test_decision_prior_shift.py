"""Prior-shift estimation on real data: known priors recovered, adaptation never costs accuracy.

Label shift means the classes' frequencies change while each class's images do not.
PneumoniaMNIST's test split differs from its validation split by more than that (the same
model's specificity falls from about 0.9 on validation to under 0.6 on test), so a rule fitted
on validation cannot recover a test prior by any label-shift method
(benchmarks/decisions/compare_estimators.md shows by how much). The known-prior test
therefore fits the rule on the test split itself and resamples that same split to each
prior: label shift holds exactly, and what is tested is the estimator. Held-out label shift
is tested on digits, whose validation and test splits come from one distribution.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import needs_shared
from decision_models import trained_logits

from edgekd.decision import adapt, decide, estimate_prior, fit_decision_rule, prior_interval
from edgekd.decision.prior_shift import DEFAULT_ESTIMATOR, bbse_prior, em_prior
from edgekd.errors import EdgekdError

pytestmark = needs_shared
#: images per resampled set: the estimator's sampling error (about 0.01 here) stays far below the 0.05 asked
N_RESAMPLED = 3000


def _resample(labels: np.ndarray, prior, n: int, seed: int) -> np.ndarray:
    """Indices of ``n`` images drawn with replacement so that class c makes up exactly round(n * prior[c])."""
    rng = np.random.default_rng(seed)
    counts = np.round(np.asarray(prior) * n).astype(int)
    return np.concatenate([rng.choice(np.flatnonzero(labels == c), k) for c, k in enumerate(counts)])


@pytest.mark.parametrize("positive_share", [0.3, 0.5, 0.9])
def test_default_estimator_recovers_known_priors_of_the_resampled_pneumonia_test_split(positive_share):
    m = trained_logits("pneumoniamnist")
    y, z = m.test.labels, m.test.logits
    rule = fit_decision_rule(y, z, m.class_names, m.train_prior, "0.5", "bcts")
    idx = _resample(y, [1 - positive_share, positive_share], N_RESAMPLED, seed=int(positive_share * 10))
    truth = np.mean(y[idx] == 1)
    estimate = estimate_prior(rule, z[idx], DEFAULT_ESTIMATOR)
    assert abs(estimate[1] - truth) <= 0.05, (estimate, truth)
    before = np.mean(decide(rule, z[idx]).predictions == y[idx])
    after = np.mean(decide(adapt(rule, z[idx], DEFAULT_ESTIMATOR), z[idx]).predictions == y[idx])
    assert after >= before, (before, after)
    low, high = prior_interval(rule, z[idx], DEFAULT_ESTIMATOR, n_boot=100)
    assert low[1] <= estimate[1] <= high[1] and high[1] - low[1] < 0.1


def test_temperature_alone_is_not_enough_for_em_far_from_the_training_prior():
    """Why a rule decided with temperature still carries a BCTS calibration for EM: the same test at
    90 % fails on the temperature-calibrated probabilities and passes with the estimation calibration."""
    from dataclasses import replace

    m = trained_logits("pneumoniamnist")
    y, z = m.test.labels, m.test.logits
    rule = fit_decision_rule(y, z, m.class_names, m.train_prior, "0.5", "temperature")
    idx = _resample(y, [0.1, 0.9], N_RESAMPLED, seed=9)
    assert rule.estimation_temperature is not None and rule.bias is None
    assert abs(estimate_prior(rule, z[idx], "em")[1] - 0.9) <= 0.05
    temperature_only = replace(rule, estimation_temperature=None, estimation_bias=None)
    assert abs(estimate_prior(temperature_only, z[idx], "em")[1] - 0.9) > 0.05


@pytest.mark.parametrize("method", ["em", "bbse"])
@pytest.mark.parametrize("name,prior", [("rising", np.arange(1, 11) / 55), ("uniform", np.full(10, 0.1))])
def test_em_and_bbse_find_a_held_out_digits_prior(method, name, prior):
    m = trained_logits("digits")
    rule = fit_decision_rule(m.val.labels, m.val.logits, m.class_names, m.train_prior)
    idx = _resample(m.test.labels, prior, N_RESAMPLED, seed=1)
    truth = np.bincount(m.test.labels[idx], minlength=10) / len(idx)
    assert np.max(np.abs(estimate_prior(rule, m.test.logits[idx], method) - truth)) <= 0.05


def test_em_on_bcts_probabilities_returns_the_calibration_sets_own_prior():
    """BCTS's bias makes the mean calibrated probability equal the calibration set's class frequencies,
    which is EM's fixed point; fitted on the test split (62.5 % pneumonia, trained at 74.2 %), EM on
    that split must give back 62.5 % although the rule states its probabilities under the training prior."""
    m = trained_logits("pneumoniamnist")
    y, z = m.test.labels, m.test.logits
    rule = fit_decision_rule(y, z, m.class_names, m.train_prior, "0.5", "bcts")
    assert abs(estimate_prior(rule, z, "em")[1] - np.mean(y == 1)) < 1e-3


def test_estimators_by_hand():
    # two classes, perfectly separated log-probabilities: EM counts the classes
    lp = np.log(np.array([[1 - 1e-9, 1e-9]] * 3 + [[1e-9, 1 - 1e-9]]))
    assert em_prior(lp, [0.5, 0.5]) == pytest.approx([0.75, 0.25], abs=1e-6)
    # BBSE: validation decided right 90 % / 80 %; deployment decides class 1 for 41 % of images
    confusion = [[90, 10], [20, 80]]                        # rows true, columns decided
    decided = np.r_[np.zeros(59), np.ones(41)]
    # P(decide 1) = 0.1 (1 - q) + 0.8 q = 0.41  ->  q = 0.443 (adjusted count)
    assert bbse_prior(confusion, decided)[1] == pytest.approx(0.31 / 0.7)


def test_bad_inputs_are_one_line_errors():
    m = trained_logits("digits")
    rule = fit_decision_rule(m.val.labels, m.val.logits, m.class_names, m.train_prior)
    with pytest.raises(EdgekdError, match="did you mean em"):
        estimate_prior(rule, m.test.logits, "emm")
    with pytest.raises(EdgekdError, match="at least one image"):
        estimate_prior(rule, np.zeros((0, 10)), "em")
    from dataclasses import replace
    with pytest.raises(EdgekdError, match="validation confusion"):
        estimate_prior(replace(rule, validation=None), m.test.logits, "bbse")
